"""Sensitivity figures against re-plans done by hand."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from placement.analyses.sensitivity import break_even, price_of_portability, shadow_prices, vendor_claims
from placement.cli import app
from placement.engine.optimizer import SolveSettings
from placement.engine.planner import make_plan
from placement.inputs.loading import load_catalog
from tests.conftest import ROOT, inference, make_catalog, make_portfolio, option, training
from tests.test_scenario_windows import calendar

SETTINGS = SolveSettings()


def _options_used(portfolio, catalog) -> set[str]:  # type: ignore[no-untyped-def]
    return {p.option for p in make_plan(portfolio, catalog, "x").placements}


def test_break_even_flips_when_crossed_and_not_before() -> None:
    # trn has twice the TFLOPS of gpu ($10/h): the same run costs h/2 · price on trn, h · $10 on gpu,
    # so trn stops being chosen at $20/h.
    def catalog(trn_price: float):  # type: ignore[no-untyped-def]
        return make_catalog(
            [option("gpu"), option("trn", family="trainium", bf16_tflops=200.0, usd_per_hour=trn_price)]
        )

    portfolio = make_portfolio([training("t")])
    result = break_even("trn", "t", True, portfolio, catalog(12.0), SETTINGS)
    assert result.break_even_usd_per_hour == pytest.approx(20.0, rel=1e-3)
    edge = result.break_even_usd_per_hour
    assert edge is not None
    assert _options_used(portfolio, catalog(edge * 0.995)) == {"trn"}
    assert _options_used(portfolio, catalog(edge * 1.005)) == {"gpu"}


def test_break_even_for_a_runner_up_moving_on() -> None:
    cat = make_catalog([option("gpu"), option("trn", family="trainium", usd_per_hour=15.0)])
    portfolio = make_portfolio([training("t")])
    result = break_even("trn", "t", False, portfolio, cat, SETTINGS)
    assert result.direction == "moves onto below"
    assert result.break_even_usd_per_hour == pytest.approx(10.0, rel=1e-3)


def test_shadow_price_equals_a_replan_with_one_more_instance() -> None:
    # Runs need 2 instances at once (see test_optimizer); cheap holds 2, so one run is on "dear".
    def catalog(capacity: int):  # type: ignore[no-untyped-def]
        return make_catalog([option("cheap", usd_per_hour=5.0, capacity_instances=capacity), option("dear")])

    portfolio = make_portfolio([training(f"t{i}", deadline_days=7) for i in range(2)])
    base = make_plan(portfolio, catalog(2), "x")
    [price] = shadow_prices(base, portfolio, catalog(2), SETTINGS)
    assert price.option == "cheap" and price.saving_one_usd == pytest.approx(0.0)  # 3 cannot hold a run
    by_hand = make_plan(portfolio, catalog(3), "x").total_usd
    assert base.total_usd - by_hand == pytest.approx(price.saving_one_usd)
    # +25% of 2 is 1 instance too; with 4 both runs fit: saving = one run's price difference
    four = make_plan(portfolio, catalog(4), "x").total_usd
    assert base.total_usd - four == pytest.approx(base.compute_usd / 3, rel=1e-6)  # (10-5)/(10+5)


def test_price_of_portability_is_the_difference_of_two_plans() -> None:
    cat = make_catalog(
        [option("gpu", usd_per_hour=10.0), option("inf", family="inferentia", usd_per_hour=12.0)]
    )
    portfolio = make_portfolio(
        [inference("a"), inference("b", portability="gpu-only")], policy={"max_family_share": 0.6}
    )
    prices = {p.label: p for p in price_of_portability(portfolio, cat, SETTINGS)}
    assert prices["without both"].total_usd == pytest.approx(
        make_plan(make_portfolio([inference("a"), inference("b")]), cat, "x").total_usd
    )
    assert prices["as written"].total_usd is not None
    assert prices["as written"].total_usd > prices["without both"].total_usd  # type: ignore[operator]


def test_vendor_claim_arithmetic_by_hand() -> None:
    # Llama 3.1 70B (80 layers, hidden 8192) at sequence 8,192: FLOPs per token
    # = 6 · 70.55e9 + 12 · 80 · 8192 · 8192 = 4.233e11 + 6.442e10 = 4.877e11; × 1e12 tokens.
    # Trn2: FLOPs / (16 · 667e12 · mfu_trn2 · 3600) h · $35.76; H100: FLOPs / (8 · 989e12 · mfu_h100 · 3600) h · $55.04
    catalog = load_catalog(None)
    trn2, p5 = catalog.option("trn2.48xlarge@us-east-2"), catalog.option("p5.48xlarge")
    arch = catalog.models["llama-3.1-70b"]
    flops = (6 * arch.params_b * 1e9 + 12 * arch.layers * arch.hidden_size * 8192) * 1e12
    assert trn2.training_mfu is not None and p5.training_mfu is not None
    ours = flops / (16 * 667e12 * trn2.training_mfu * 3600) * trn2.usd_per_hour
    theirs = flops / (8 * 989e12 * p5.training_mfu * 3600) * p5.usd_per_hour
    claims = vendor_claims(catalog)
    assert claims[0].implied_advantage == pytest.approx(1 - ours / theirs)
    advantage = 1 - ours / theirs
    expected = (
        "agrees"
        if abs(advantage - 0.30) <= 0.1
        else "catalog more favourable than the claim"
        if advantage > 0.30
        else "catalog less favourable than the claim"
    )
    assert claims[0].verdict == expected
    assert claims[3].verdict == "disagrees"  # Inferentia per-token cost, with the calibrated efficiencies
    assert claims[3].previous_verdict is None  # the same verdict as before the calibration


def test_sensitivity_cli(update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # the smallest example with every section (break-evens by bisection, a tie, portability, claims):
    # a sweep there is a few dozen solves of seconds, where the startup example's take minutes
    monkeypatch.chdir(ROOT)
    example = "examples/waits-for-capacity.yaml"
    result = CliRunner().invoke(app, ["sensitivity", example, "-f", "markdown"])
    assert result.exit_code == 0, result.stderr
    golden = ROOT / "tests" / "golden" / "sensitivity-waits-for-capacity.md"
    if update_golden:
        golden.write_text(result.stdout)
    assert result.stdout == golden.read_text()
    refused = CliRunner().invoke(app, ["sensitivity", example, "-f", "csv"])
    assert refused.exit_code == 2


# A portfolio on the time axis: a service that starts in month 5, a training run that must happen
# between months 3 and 8; trn trains at twice gpu's TFLOPS for $12/h, and holds 1 instance in
# every month but 4 to 6 (its capacity calendar): the run fits it exactly, so its capacity binds.
TIMED = [
    inference("svc", tokens_per_month=4e9, start_month=5),
    training("run", deadline_days=7, earliest_month=3, latest_month=8),
]


def _timed_catalog(**trn: object):  # type: ignore[no-untyped-def]
    return make_catalog(
        [
            option("gpu"),
            calendar(
                option(
                    "trn",
                    family="trainium",
                    bf16_tflops=200.0,
                    usd_per_hour=12.0,
                    capacity_instances=1,
                    **trn,
                ),
                {4: 0, 7: 1},
            ),
        ]
    )


def test_sensitivity_on_a_time_phased_portfolio() -> None:
    from placement.analyses.sensitivity import _more_capacity, analyse

    catalog = _timed_catalog()
    portfolio = make_portfolio(TIMED, horizon_months=12)
    result = analyse(portfolio, catalog, "timed", SETTINGS)
    base = make_plan(portfolio, catalog, "timed")
    # svc: months 5-12 on gpu, 8 × 730 h × $10 = $58,400; the run: 166.7 h on trn × $12 = $2,000
    assert result.base.total_usd == pytest.approx(base.total_usd) == pytest.approx(60_400.0)
    assert [x.option for x in result.shadow_prices] == ["trn"]
    for x in result.shadow_prices:  # +1 instance in every month of the calendar, re-planned by hand
        more = _more_capacity(catalog, x.option, 1)
        assert more.option(x.option).capacity_by_month == {
            m: v + 1 for m, v in catalog.option(x.option).capacity_by_month.items()
        }
        assert x.saving_one_usd == pytest.approx(base.total_usd - make_plan(portfolio, more, "x").total_usd)
    trn = next(b for b in result.break_evens if b.option == "trn")
    assert trn.break_even_usd_per_hour == pytest.approx(20.0, rel=1e-3)  # as without the time axis
    for b in result.break_evens:  # a flip found is a flip: both sides re-planned
        if b.break_even_usd_per_hour is None:
            continue
        assert _options_used_at(portfolio, b.option, b.break_even_usd_per_hour * 0.99, b.workload) == (
            b.direction == "leaves above"
        )
    labels = [p.label for p in result.portability]
    assert labels[0] == "as written" and result.portability[0].total_usd == pytest.approx(base.total_usd)


def _options_used_at(portfolio, option_id: str, price: float, workload: str) -> bool:  # type: ignore[no-untyped-def]
    from placement.analyses.sensitivity import _plan_at

    plan = _plan_at(price, option_id, portfolio, _timed_catalog(), SETTINGS)
    assert plan is not None
    return any(p.option == option_id for p in plan.placements if p.workload == workload)


def test_break_even_probes_move_commitment_prices_in_proportion() -> None:
    from placement.analyses.scenarios import apply_scenario
    from placement.analyses.sensitivity import _priced
    from placement.inputs.models import Scenario

    catalog = _timed_catalog(one_year_usd_per_hour=9.0, capacity_block_usd_per_hour=6.0)
    portfolio = make_portfolio(TIMED, horizon_months=12)
    # on-demand $12 → $18 (×1.5): the 1-year $9 → $13.50, the block $6 → $9; gpu untouched
    _, probed = apply_scenario(
        Scenario(name="p", options={"trn": _priced(catalog, "trn", 18.0)}), portfolio, catalog
    )
    trn = probed.option("trn")
    assert (trn.usd_per_hour, trn.one_year_usd_per_hour, trn.capacity_block_usd_per_hour) == pytest.approx(
        (18.0, 13.5, 9.0)
    )
    assert trn.three_year_usd_per_hour is None and probed.option("gpu") == catalog.option("gpu")


def test_break_even_probes_start_from_the_base_plan_and_find_the_same_price(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each probe's first plan is built from the base plan's placement (`prefer`); the price it
    finds is the one a search whose probes start from scratch finds."""
    from placement.engine import optimizer

    catalog = _timed_catalog(one_year_usd_per_hour=9.0)
    portfolio = make_portfolio(TIMED, horizon_months=12)
    base = make_plan(portfolio, catalog, "timed")
    scratch = break_even("trn", "run", True, portfolio, catalog, SETTINGS)
    guides: list[object] = []
    real = optimizer.greedy_start

    def seen(model, first=None):  # type: ignore[no-untyped-def]
        guides.append(first)
        return real(model, first)

    monkeypatch.setattr(optimizer, "greedy_start", seen)
    preferred = break_even("trn", "run", True, portfolio, catalog, SETTINGS, base.main_options())
    assert guides and all(g == base.main_options() for g in guides)  # every probe, from the base plan
    assert preferred == scratch
    assert preferred.break_even_usd_per_hour == pytest.approx(20.0, rel=1e-3)
