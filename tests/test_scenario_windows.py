"""Scenarios that hold in a window of months: capacity calendars and monthly demand, edited by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from placement.analyses.scenarios import apply_scenario, shock_month
from placement.engine import timeline
from placement.errors import InputError
from placement.inputs.loading import load_catalog, load_portfolio, load_scenario
from placement.inputs.models import Change, MonthWindow, Scenario
from tests.conftest import ROOT, inference, make_catalog, make_portfolio, option, training

ENTERPRISE = ROOT / "examples" / "enterprise.yaml"


def calendar(data: dict[str, Any], months: dict[int, int]) -> dict[str, Any]:
    """A test option with a capacity calendar (sourced, like its other figures)."""
    return {**data, "capacity_by_month": months, "sources": {**data["sources"], "capacity_by_month": "test"}}


def test_capacity_gone_in_months_4_to_6_edits_the_calendar_and_restores_it() -> None:
    catalog = make_catalog([option("gpu"), option("trn", family="trainium", capacity_instances=8)])
    portfolio = make_portfolio([training("t")], horizon_months=12)
    scenario = Scenario(
        name="trn gone",
        options={"trn": {"capacity_instances": Change(value=0)}},
        months=MonthWindow(first=4, last=6),
    )
    _, new = apply_scenario(scenario, portfolio, catalog)
    trn = new.option("trn")
    assert trn.capacity_instances == 8 and trn.capacity_by_month == {4: 0, 7: 8}
    assert [trn.capacity_in(m) for m in range(1, 13)] == [8, 8, 8, 0, 0, 0, 8, 8, 8, 8, 8, 8]
    assert "capacity_instances" not in trn.estimates  # unchanged outside the window
    assert trn.estimates["capacity_by_month"] == (
        "what-if: scenario 'trn gone' set to 0 in months 4-6: 8, 0 from month 4, 8 from month 7 (was 8)"
    )
    assert new.option("gpu") == catalog.option("gpu")


def test_a_window_over_a_calendar_step_keeps_the_steps_outside_it() -> None:
    # Calendar: 8, then 6 from month 5, then 12 from month 10.  Halved in months 4-6:
    # month 4 → 4 (half of 8), month 5 → 3 (half of 6), month 7 → 6 again, month 10 → 12 as before.
    catalog = make_catalog(
        [
            option("gpu"),
            calendar(option("trn", family="trainium", capacity_instances=8), {5: 6, 10: 12}),
        ]
    )
    portfolio = make_portfolio([training("t")], horizon_months=12)
    change = Change(factor=0.5, months=MonthWindow(first=4, last=6))
    _, new = apply_scenario(
        Scenario(name="half", options={"trn": {"capacity_instances": change}}), portfolio, catalog
    )
    trn = new.option("trn")
    assert trn.capacity_by_month == {4: 4, 5: 3, 7: 6, 10: 12}
    assert [trn.capacity_in(m) for m in range(1, 13)] == [8, 8, 8, 4, 3, 3, 6, 6, 6, 12, 12, 12]


def test_a_whole_horizon_capacity_change_scales_the_calendar_too() -> None:
    catalog = make_catalog(
        [option("gpu"), calendar(option("trn", family="trainium", capacity_instances=8), {5: 6})]
    )
    portfolio = make_portfolio([training("t")])
    scenario = Scenario(name="half", options={"trn": {"capacity_instances": Change(factor=0.5)}})
    _, new = apply_scenario(scenario, portfolio, catalog)
    assert new.option("trn").capacity_instances == 4 and new.option("trn").capacity_by_month == {5: 3}
    # without a calendar the change and its note are as before the time axis
    plain = make_catalog([option("gpu"), option("trn", family="trainium", capacity_instances=8)])
    _, new = apply_scenario(scenario, portfolio, plain)
    assert new.option("trn").capacity_instances == 4 and new.option("trn").capacity_by_month == {}
    assert new.option("trn").estimates["capacity_instances"] == "what-if: scenario 'half' × 0.5 (was 8)"


def test_an_option_removed_in_a_window_has_no_capacity_then_and_stays_in_the_catalog() -> None:
    catalog = make_catalog([option("gpu"), option("blocks", capacity_instances=16)])
    portfolio = make_portfolio([training("t")], horizon_months=12)
    scenario = Scenario(name="no block", remove_options=("blocks",), months=MonthWindow(first=5, last=5))
    _, new = apply_scenario(scenario, portfolio, catalog)
    assert new.option("blocks").capacity_by_month == {5: 0, 6: 16}
    assert shock_month(scenario) == 5
    assert shock_month(Scenario(name="gone", remove_options=("blocks",))) == 1


def test_demand_doubled_from_month_7_writes_the_growth_out_month_by_month() -> None:
    # 1e9 tokens from month 2, growing 10% a month: month m carries 1e9 · 1.1^(m-2); from month 7 on ×2.
    catalog = make_catalog([option("gpu")])
    w = inference("i", tokens_per_month=1e9, start_month=2, growth_per_month=0.1)
    portfolio = make_portfolio([w, training("t")], horizon_months=12)
    scenario = Scenario(name="x2", demand_growth=2.0, months=MonthWindow(first=7))
    new, _ = apply_scenario(scenario, portfolio, catalog)
    i = new.workloads[0]
    expected = [1e9 * 1.1 ** (m - 2) * (2 if m >= 7 else 1) for m in range(2, 13)]
    assert i.monthly_tokens == pytest.approx(expected)
    assert i.growth_per_month is None and i.start_month == 2
    assert i.tokens_per_month == pytest.approx(2e9 * 1.1**10)  # the largest month, month 12
    tokens = [i.tokens_per_month * f for f in timeline.demand(new, i)]  # what the engine will see
    assert tokens == pytest.approx([0.0, *expected])
    assert new.workloads[1] == portfolio.workloads[1]  # training is not demand
    assert shock_month(scenario) == 7


def test_whole_horizon_growth_scales_an_explicit_monthly_series() -> None:
    catalog = make_catalog([option("gpu")])
    w = inference("i", tokens_per_month=None, monthly_tokens=[1e9, 2e9, 3e9])  # level: the largest, 3e9
    portfolio = make_portfolio([w], horizon_months=3)
    new, _ = apply_scenario(Scenario(name="x2", demand_growth=2.0), portfolio, catalog)
    assert new.workloads[0].tokens_per_month == 6e9
    assert new.workloads[0].monthly_tokens == (2e9, 4e9, 6e9)


def test_a_windowed_tokens_per_month_change_on_one_workload() -> None:
    catalog = make_catalog([option("gpu")])
    portfolio = make_portfolio([inference("i"), inference("j")], horizon_months=4)
    change = Change(percent=50, months=MonthWindow(first=2, last=3))
    new, _ = apply_scenario(
        Scenario(name="peak", workloads={"i": {"tokens_per_month": change}}), portfolio, catalog
    )
    assert new.workloads[0].monthly_tokens == (1e9, 1.5e9, 1.5e9, 1e9)
    assert new.workloads[0].tokens_per_month == 1.5e9
    assert new.workloads[1] == portfolio.workloads[1]


def _load(tmp_path: Path, text: str) -> list[str]:
    catalog = load_catalog(None)
    portfolio = load_portfolio(ENTERPRISE, catalog)  # a 12-month horizon
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_scenario(path, portfolio, catalog)
    return [str(p).removeprefix(f"{path}:") for p in info.value.problems]


def test_month_windows_are_checked_against_the_horizon_and_the_field(tmp_path: Path) -> None:
    assert _load(tmp_path, "name: x\nmonths: {first: 13}\ndemand_growth: 2\n") == [
        "2: months.first: month 13 is after the horizon's last month (12: horizon_months 12)"
    ]
    assert _load(
        tmp_path,
        "name: x\noptions:\n  trn1.32xlarge:\n"
        "    capacity_instances: {value: 0, months: {first: 4, last: 14}}\n",
    ) == [
        "4: options['trn1.32xlarge'].capacity_instances.months.last: month 14 is after the horizon's last "
        "month (12: horizon_months 12)"
    ]
    assert _load(
        tmp_path,
        "name: x\noptions:\n  trn1.32xlarge:\n"
        "    usd_per_hour:\n      percent: 10\n      months: {first: 4}\n",
    ) == [
        "6: options['trn1.32xlarge'].usd_per_hour.months: usd_per_hour holds for the whole horizon; a month "
        "window applies to capacity_instances and tokens_per_month only"
    ]
    assert _load(
        tmp_path, "name: x\nmonths: {first: 4, last: 6}\noptions:\n  trn1.32xlarge: {usd_per_hour: 20}\n"
    ) == [
        "4: options['trn1.32xlarge'].usd_per_hour: usd_per_hour holds for the whole horizon, and this "
        "scenario holds in months 4-6 only: a month window applies to capacity_instances, remove_options, "
        "demand_growth and tokens_per_month; put this change in a scenario of its own"
    ]
    assert _load(
        tmp_path,
        "name: x\nmonths: {first: 4}\noptions:\n  trn1.32xlarge:\n"
        "    capacity_instances: {value: 0, months: {first: 5}}\n",
    ) == [
        "5: options['trn1.32xlarge'].capacity_instances.months: the scenario gives months already; give the "
        "window once"
    ]
    assert _load(tmp_path, "name: x\nmonths: {first: 6, last: 4}\ndemand_growth: 2\n") == [
        "2: months.last: month 4 is before first month 6"
    ]


def test_the_shipped_windowed_scenario() -> None:
    catalog = load_catalog(None)
    portfolio = load_portfolio(ENTERPRISE, catalog)
    scenario = load_scenario(ROOT / "examples" / "scenarios" / "trainium-gap.yaml", portfolio, catalog)
    _, new = apply_scenario(scenario, portfolio, catalog)
    for o in new.options:
        if o.family == "trainium":  # Trn3's own calendar has none before month 4, 2 from then
            before = [catalog.option(o.id).capacity_in(m) for m in range(1, 13)]
            assert [o.capacity_in(m) for m in range(1, 13)] == before[:3] + [0] * 3 + before[6:]
        else:
            assert o == catalog.option(o.id)
