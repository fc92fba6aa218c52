"""Committed recourse: each stress shock re-planned with the base plan's commitments already bought.

The planner's side (`make_plan(..., bought=...)`) is stood in for by a wrapper around the real one
that adds a purchase schedule and monthly use, so the wiring and the arithmetic are checked by hand;
the tests after it run the real planner with `bought`.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from typing import Any

import pytest

from placement.analyses import scenarios
from placement.analyses.fanout import LocalPool, Task
from placement.analyses.scenarios import (
    committed_recourse,
    kept_purchases,
    plan_scenario,
    shock_month,
    stranded,
    stress,
)
from placement.engine.optimizer import SolveSettings
from placement.engine.plan import MonthUse, Period, Plan, Purchase
from placement.engine.planner import make_plan
from placement.inputs.models import MonthWindow, Scenario
from placement.render.compare_report import render_stress, render_stress_json
from tests.conftest import inference, make_catalog, make_portfolio, option

SETTINGS = SolveSettings()
HOURS = 730.0
# The base plan below commits to 2 instances of "gpu" for a year ($6/h) and books a Capacity Block
# on "gpu" for months 5-6.
COMMITMENT = Purchase(1, "gpu", "test", "1-year", 2, 12, 2 * HOURS * 12, 2 * HOURS * 12 * 6.0, 0.0, "")
BLOCK = Purchase(5, "gpu", "test", "capacity-block", 1, 2, 2 * HOURS, 2 * HOURS * 12.0, 0.0, "")
PERIODS = tuple(Period(m, f"M{m}", 1.0, HOURS) for m in range(1, 13))
IDLE_EXTRA = 12 * HOURS * 6.0  # the fake kept plan leaves one committed instance idle all year


def _catalog() -> Any:
    return make_catalog(
        [
            option("gpu", one_year_usd_per_hour=6.0, capacity_block_usd_per_hour=12.0),
            option("trn", family="trainium", usd_per_hour=20.0),
        ]
    )


def _portfolio() -> Any:
    # One instance serves 2,000 tokens/s · 730 h · 3,600 s = 5.256e9 tokens a month: 4e9 needs one,
    # twice that needs two.
    return make_portfolio([inference("i", tokens_per_month=4e9)], horizon_months=12)


def _fake(calls: list[tuple[str, tuple[Purchase, ...]]]) -> Any:
    real = make_plan

    def fake(
        portfolio: Any,
        catalog: Any,
        name: str,
        settings: Any = None,
        ests: Any = None,
        bought: Any = (),
        prefer: Any = None,
    ) -> Plan:
        plan = real(portfolio, catalog, name, settings, ests)
        calls.append((name, tuple(bought)))
        if not bought:  # base and from-scratch plans: the schedule of the base
            return dataclasses.replace(plan, periods=PERIODS, purchases=(COMMITMENT, BLOCK))
        # with commitments kept: one of the two committed instances carries work, one idles
        monthly = tuple(
            MonthUse(m, "gpu", "test", "gpu", 1, 0, 0.0, 2, 2 * HOURS, HOURS, 0.0, 0, 0.0, 100, 0.0)
            for m in range(1, 13)
        )
        return dataclasses.replace(
            plan,
            periods=PERIODS,
            purchases=tuple(bought),
            monthly=monthly,
            compute_usd=plan.compute_usd + IDLE_EXTRA,
        )

    return fake


def test_every_shock_is_replanned_with_the_base_commitments_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, tuple[Purchase, ...]]] = []
    monkeypatch.setattr(scenarios, "make_plan", _fake(calls))
    base, results = stress(_portfolio(), _catalog(), "x", SETTINGS)
    assert base.plan is not None
    by_name = {r.scenario.name: r for r in results}
    assert list(by_name) == [
        "trainium capacity unavailable",
        "trainium capacity halved",
        "trainium capacity gone in months 4-6",
        "inference demand ×2",
        "inference demand ×2 from month 7",
        "gpu removed (most-used option)",
        "gpu unavailable in months 5-6 (its Capacity Block would start then)",
    ]
    # What each shock keeps: the commitment always; the block (month 5) only when the shock hits later.
    kept = {name: r.recourse.kept for name, r in by_name.items() if r.recourse is not None}
    assert kept["inference demand ×2 from month 7"] == (COMMITMENT, BLOCK)
    assert kept["trainium capacity gone in months 4-6"] == (COMMITMENT,)
    assert kept["inference demand ×2"] == (COMMITMENT,)
    assert kept["gpu unavailable in months 5-6 (its Capacity Block would start then)"] == (COMMITMENT,)
    # The planner received those purchases as bought (none where the shock removes their option).
    received = sorted(b for _, b in calls if b)
    assert received == sorted([(COMMITMENT,)] * 5 + [(COMMITMENT, BLOCK)])

    figures = {f.shock: f for f in committed_recourse(results)}
    f = figures["trainium capacity gone in months 4-6"]
    assert f.scratch_usd == pytest.approx(base.plan.total_usd)  # trn was not used: nothing moves
    assert f.kept_usd == pytest.approx(base.plan.total_usd + IDLE_EXTRA)
    assert f.signing_first_usd == pytest.approx(IDLE_EXTRA)
    # 2 committed instances × 730 h × 12 months paid, 730 h a month used: 8,760 h idle × $6 = $52,560
    assert f.stranded_hours == pytest.approx(8760.0) and f.stranded_usd == pytest.approx(52_560.0)

    # gpu removed: the commitment on it is paid and of no use, all 17,520 h; the plan moves to trn.
    removed = by_name["gpu removed (most-used option)"].recourse
    assert removed is not None and removed.kept == (COMMITMENT,)
    assert removed.lost_usd == pytest.approx(COMMITMENT.usd)  # 17,520 h × $6 = $105,120
    assert removed.stranded_hours == pytest.approx(17_520.0)
    assert removed.stranded_usd == pytest.approx(105_120.0)
    g = figures["gpu removed (most-used option)"]
    assert g.kept_usd == pytest.approx(g.scratch_usd + 105_120.0)  # type: ignore[operator]

    text = render_stress(base, results, True, "Stress")
    assert "## Committed recourse: the shocks with the base plan's commitments already bought" in text
    row = next(
        line
        for line in text.split("## Committed recourse")[1].splitlines()
        if line.startswith("| trainium capacity gone in months 4-6 ")
    )
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3:] == ["+$52,560", "$52,560 (8,760 h)"]
    data = json.loads(render_stress_json(base, results))
    shock = next(s for s in data["shocks"] if s["shock"] == "inference demand ×2 from month 7")
    assert shock["committed_recourse"]["stranded_usd"] == 52_560.0
    assert [k["instrument"] for k in shock["committed_recourse"]["kept"]] == ["1-year", "capacity-block"]


def test_a_base_that_commits_to_nothing_keeps_nothing() -> None:
    catalog = make_catalog(
        [option("gpu"), option("trn", family="trainium", usd_per_hour=20.0)]
    )  # on demand only
    base, results = stress(_portfolio(), catalog, "x", SETTINGS)
    assert base.plan is not None and all(p.instrument == "on-demand" for p in base.plan.purchases)
    assert all(r.recourse is None for r in results)
    for f in committed_recourse(results):
        assert f.kept_usd == f.scratch_usd and f.signing_first_usd == 0 and f.stranded_usd == 0
    assert "The base plan commits to nothing" in render_stress(base, results, True, "Stress")


def test_kept_purchases_are_commitments_and_blocks_started_before_the_shock() -> None:
    on_demand = Purchase(1, "gpu", "test", "on-demand", 3, 12, 100.0, 1000.0, 0.0, "")
    plan = dataclasses.replace(
        make_plan(_portfolio(), _catalog(), "x"), periods=PERIODS, purchases=(COMMITMENT, BLOCK, on_demand)
    )
    assert kept_purchases(plan, _portfolio(), 1) == (COMMITMENT,)
    assert kept_purchases(plan, _portfolio(), 5) == (COMMITMENT,)
    assert kept_purchases(plan, _portfolio(), 6) == (COMMITMENT, BLOCK)


def test_bought_purchases_travel_to_pool_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Purchases are plain frozen data: they pickle to the same value, and a recourse task
    # gives the same answer in a worker process as here.
    assert pickle.loads(pickle.dumps(COMMITMENT)) == COMMITMENT
    scenario = scenarios.shocks(_catalog(), None, _portfolio())[0]
    task = Task(plan_scenario, (scenario, _portfolio(), _catalog(), "x", SETTINGS))
    here = task.fn(*task.args)
    there = LocalPool(2).run([task, task])
    assert [o.plan for o, _ in there] == [here[0].plan, here[0].plan]
    assert pickle.loads(pickle.dumps(Task(plan_scenario, (*task.args, (COMMITMENT, BLOCK))))).args[-1] == (
        COMMITMENT,
        BLOCK,
    )


def test_committed_recourse_end_to_end() -> None:
    # The real planner.  Base: one gpu instance all year, on a 1-year commitment: 8,760 h × $6 = $52,560
    # (on demand would be $87,600).
    catalog, portfolio = _catalog(), _portfolio()
    base, results = stress(portfolio, catalog, "x", SETTINGS)
    assert base.plan is not None and base.plan.total_usd == pytest.approx(52_560.0)
    assert [(p.instrument, p.instances, p.period) for p in base.plan.purchases] == [("1-year", 1, 1)]
    figures = {f.shock: f for f in committed_recourse(results)}
    assert all(r.recourse is not None and len(r.recourse.kept) == 1 for r in results)

    # Demand ×2 from month 7: a second instance for months 7-12, on demand (6 × 730 h × $10 = $43,800
    # is less than a year's commitment); the commitment stays busy, signing first costs nothing.
    demand = figures["inference demand ×2 from month 7"]
    assert demand.scratch_usd == pytest.approx(52_560.0 + 43_800.0)
    assert demand.kept_usd == pytest.approx(demand.scratch_usd)
    assert demand.stranded_usd == pytest.approx(0.0, abs=0.01)

    # gpu gone: trn all year (8,760 h × $20 = $175,200); the commitment is paid and of no use.
    gone = figures["gpu removed (most-used option)"]
    assert gone.scratch_usd == pytest.approx(175_200.0)
    assert gone.kept_usd == pytest.approx(175_200.0 + 52_560.0)
    assert gone.signing_first_usd == pytest.approx(52_560.0)
    assert (gone.stranded_hours, gone.stranded_usd) == pytest.approx((8_760.0, 52_560.0))

    # gpu unavailable in months 4-6: trn then (3 × 730 h × $20 = $43,800); from scratch the 1-year
    # commitment still beats 9 months on demand ($52,560 < $65,700), so keeping it costs nothing,
    # though 2,190 of its hours idle ($13,140).
    window = figures["gpu unavailable in months 4-6 (sells Capacity Blocks)"]
    assert window.scratch_usd == pytest.approx(52_560.0 + 43_800.0)
    assert window.kept_usd == pytest.approx(window.scratch_usd)
    assert (window.stranded_hours, window.stranded_usd) == pytest.approx((2_190.0, 13_140.0))


def test_signing_first_costs_when_a_shock_makes_the_commitment_a_bad_buy() -> None:
    # gpu unavailable in months 4-9: from scratch, 6 months of gpu on demand ($43,800) beat the
    # 1-year commitment ($52,560); trn covers months 4-9 ($87,600) either way.
    catalog, portfolio = _catalog(), _portfolio()
    base = make_plan(portfolio, catalog, "x")
    scenario = Scenario(name="gpu gone", remove_options=("gpu",), months=MonthWindow(first=4, last=9))
    kept = kept_purchases(base, portfolio, shock_month(scenario))
    scratch, _ = plan_scenario(scenario, portfolio, catalog, "x", SETTINGS)
    committed, shocked = plan_scenario(scenario, portfolio, catalog, "x", SETTINGS, kept)
    assert scratch.plan is not None and committed.plan is not None
    assert scratch.plan.total_usd == pytest.approx(43_800.0 + 87_600.0)
    assert committed.plan.total_usd == pytest.approx(52_560.0 + 87_600.0)  # signing first: +$8,760
    lost, hours, usd = stranded(committed.plan, kept, catalog, shocked.option_ids)
    assert (lost, hours, usd) == pytest.approx((0.0, 4_380.0, 26_280.0))  # 6 × 730 h idle × $6


def test_keeping_the_base_plans_own_blocks_under_no_shock_reproduces_it() -> None:
    """Blocks handed over as bought are used like the ones the plan books itself: bursts may run on
    them, and a block over several months counts in each of them."""
    from placement.inputs.loading import load_catalog, load_portfolio
    from tests.conftest import ROOT

    catalog = load_catalog(None)
    portfolio = load_portfolio(ROOT / "examples" / "frontier-lab.yaml", catalog)
    base = make_plan(portfolio, catalog, "lab")
    blocks = tuple(p for p in base.purchases if p.instrument == "capacity-block")
    assert blocks  # the lab books blocks
    assert make_plan(portfolio, catalog, "lab", bought=blocks).total_usd == pytest.approx(base.total_usd)


def test_kept_replans_start_from_the_base_plans_placement() -> None:
    # 2,000 tokens/s per instance (tests/conftest.py): 1.314e10 tokens a month need 2.5 instances.
    # "a" ($10/h) has room for 1 of them, so "b" ($20/h) carries the other 1.5 on 2 instances:
    # b carries most of it, and that is where a re-plan with commitments kept starts it.
    catalog = make_catalog([option("a", capacity_instances=1), option("b", usd_per_hour=20.0)])
    portfolio = make_portfolio([inference("i", tokens_per_month=1.314e10)])
    plan = make_plan(portfolio, catalog, "x", SETTINGS)
    assert {p.option: p.instances for p in plan.placements} == {"a": 1, "b": 2}
    assert plan.main_options() == {"i": "b"}
    calls: list[tuple[Any, ...]] = []

    class Recorder:
        def run(self, tasks: list[Task], progress: Any = None) -> list[Any]:
            calls.extend(t.args for t in tasks)
            return [t.fn(*t.args) for t in tasks]

    signed = dataclasses.replace(COMMITMENT, option="b", instances=1)
    base = dataclasses.replace(plan, periods=PERIODS, purchases=(signed,))
    scenarios.shocks_for(base, portfolio, catalog, "x", SETTINGS, Recorder())
    kept = [args for args in calls if len(args) > 5]
    assert kept and all(args[5] == (signed,) and args[6] == {"i": "b"} for args in kept)


def test_a_negative_cost_of_signing_first_says_the_scratch_plan_stopped_short() -> None:
    from placement.analyses.scenarios import RecourseFigures
    from placement.render.compare_report import recourse_row

    # kept $1,000 below from scratch: the kept plan is one the plan from scratch could buy too
    below = RecourseFigures("shock", 101_000.0, 100_000.0, 730.0, 1_460.0, 1)
    assert recourse_row(below) == [
        "shock",
        "$101,000",
        "$100,000",
        "-$1,000 (from scratch stopped within its gap)",
        "$1,460 (730 h)",
    ]
    above = RecourseFigures("shock", 100_000.0, 102_500.0, 0.0, 0.0, 1)
    assert recourse_row(above)[3] == "+$2,500"
    assert recourse_row(RecourseFigures("shock", None, 1.0, 0.0, 0.0, 1))[1:4] == ["no plan", "$1", "-"]


def test_dollars_that_round_to_zero_print_as_zero() -> None:
    from placement.render.text import usd, usd_signed

    # a regret of -$0.30 (solver tolerance) printed "$-0" in the risk report
    values = (-0.3, -0.5, -0.6, 0.0, 0.49, 1_234.4)
    assert [usd(x) for x in values] == ["$0", "$0", "-$1", "$0", "$0", "$1,234"]
    assert [usd_signed(x) for x in (-0.3, 0.3, 2.0, -2.0)] == ["$0", "$0", "+$2", "-$2"]
