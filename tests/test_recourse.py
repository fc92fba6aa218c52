"""Committed recourse: each stress shock re-planned with the base plan's commitments already bought.

The planner's side (`make_plan(..., bought=...)`) is stood in for by a wrapper around the real one
that adds a purchase schedule and monthly use, so the wiring and the arithmetic are checked by hand;
`test_committed_recourse_end_to_end` runs the real planner once it takes `bought`.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import pickle
from typing import Any

import pytest

from placement.analyses import scenarios
from placement.analyses.fanout import LocalPool, Task
from placement.analyses.scenarios import committed_recourse, kept_purchases, plan_scenario, stress
from placement.engine.optimizer import SolveSettings
from placement.engine.plan import MonthUse, Period, Plan, Purchase
from placement.engine.planner import make_plan
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
    return make_portfolio([inference("i", tokens_per_month=1e9)], horizon_months=12)


def _fake(calls: list[tuple[str, tuple[Purchase, ...]]]) -> Any:
    real = make_plan

    def fake(
        portfolio: Any, catalog: Any, name: str, settings: Any = None, ests: Any = None, bought: Any = ()
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
        "gpu unavailable in months 5-6 (when its Capacity Block is booked)",
    ]
    # What each shock keeps: the commitment always; the block (month 5) only when the shock hits later.
    kept = {name: r.recourse.kept for name, r in by_name.items() if r.recourse is not None}
    assert kept["inference demand ×2 from month 7"] == (COMMITMENT, BLOCK)
    assert kept["trainium capacity gone in months 4-6"] == (COMMITMENT,)
    assert kept["inference demand ×2"] == (COMMITMENT,)
    assert kept["gpu unavailable in months 5-6 (when its Capacity Block is booked)"] == (COMMITMENT,)
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
    base, results = stress(_portfolio(), _catalog(), "x", SETTINGS)
    assert base.plan is not None
    if base.plan.purchases and any(p.instrument != "on-demand" for p in base.plan.purchases):
        pytest.skip("this planner buys commitments here")
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


@pytest.mark.skipif(
    "bought" not in inspect.signature(make_plan).parameters,
    reason="make_plan takes `bought` once the time-phased planner lands",
)
def test_committed_recourse_end_to_end() -> None:
    # The real planner: a 12-month service on gpu, where a 1-year commitment at $6/h beats on-demand
    # at $10/h; capacity halved from month 7 onwards is not a shock to gpu, demand ×2 from month 7 is.
    catalog = _catalog()
    portfolio = _portfolio()
    base, results = stress(portfolio, catalog, "x", SETTINGS)
    assert base.plan is not None
    assert any(p.instrument == "1-year" for p in base.plan.purchases)
    figures = {f.shock: f for f in committed_recourse(results)}
    for r in results:
        assert r.recourse is not None  # the base commits, so every shock keeps something
        f = figures[r.scenario.name]
        if f.scratch_usd is not None and f.kept_usd is not None:
            # keeping what is bought can only cost more than choosing afresh
            assert f.kept_usd >= f.scratch_usd - 0.01
            assert f.stranded_usd >= 0
    demand = figures["inference demand ×2 from month 7"]
    assert demand.stranded_usd == pytest.approx(0.0, abs=0.01)  # more demand idles no commitment
    gone = figures["gpu removed (most-used option)"]
    assert gone.stranded_usd > 0 and gone.signing_first_usd is not None and gone.signing_first_usd > 0
