"""Reserved-capacity advice against savings worked out by hand."""

from __future__ import annotations

import pytest

from placement.engine.planner import make_plan
from tests.conftest import inference, make_catalog, make_portfolio, option, training

# Post-hoc advice is for a one-period plan bought on demand (the plan before the time axis).
OLD = {"periods": "single", "purchase": {"allow": ["on-demand"]}}


def _catalog():  # type: ignore[no-untyped-def]
    return make_catalog([option("a", one_year_usd_per_hour=6.0, capacity_block_usd_per_hour=8.0)])


def test_commit_the_base_load_and_burst_training_into_capacity_blocks() -> None:
    # 1B params on option a: t = max(2e9/(1e12·0.5), 8·2e9/(1e14·0.5)) = 4 ms → 8/0.004 = 2,000 tok/s.
    # Peak 6,000 tok/s (average 3,000 × 2) → 3 instances at peak; steady ceil(3/2) = 2 committed.
    # H = 12 · 730 = 8,760 h. All on demand: 3 · $10 · 8,760 = $262,800.
    # With commitments: 2 · $6 · 8,760 + 1 · $10 · 8,760 = $192,720 → saving $70,080.
    # Training: 6·1e9·1e10 / (1e14·0.5·3600) = 333.3 h < H, so nothing committed; Capacity Blocks at
    # $8 instead of $10 save 333.3 · $2 = $666.67.
    portfolio = make_portfolio(
        [
            inference("i", tokens_per_month=3000 * 730 * 3600, peak_to_average=2),
            training("t"),
        ],
        **OLD,
    )
    plan = make_plan(portfolio, _catalog(), "x")
    [r] = plan.reservations
    assert (r.term, r.committed_instances, r.on_demand_instances) == ("1-year", 2, 1)
    assert r.burst_tier == "Capacity Blocks"
    assert r.burst_instance_hours == pytest.approx(1000 / 3)
    assert r.on_demand_usd == pytest.approx(262_800 + 10_000 / 3)
    assert r.on_demand_usd == pytest.approx(plan.compute_usd)
    assert r.saving_usd == pytest.approx(70_080 + 2_000 / 3)


def test_no_commitment_shorter_than_its_term() -> None:
    portfolio = make_portfolio(
        [inference("i", tokens_per_month=3000 * 730 * 3600, peak_to_average=2)], horizon_months=6, **OLD
    )
    [r] = make_plan(portfolio, _catalog(), "x").reservations
    assert (r.term, r.committed_instances, r.saving_usd) == ("none", 0, 0)


def test_training_busy_all_horizon_is_committed() -> None:
    # 30 runs · 333.3 h = 10,000 h over 8,760 h → 1 instance committed all year, 1,240 h in blocks.
    portfolio = make_portfolio([training("t", runs=30)], **OLD)
    [r] = make_plan(portfolio, _catalog(), "x").reservations
    assert r.committed_instances == 1
    assert r.burst_instance_hours == pytest.approx(10_000 - 8_760)
    assert r.reserved_usd == pytest.approx(8_760 * 6 + 1_240 * 8)


def test_buying_inside_the_optimization_never_costs_more_than_the_advice() -> None:
    """The same case planned over time with its purchases decided inside the MILP.  The plan holds
    its 3 peak instances all year (instances are sized for the peak), so all 3 are committed:
    3 · $6 · 8,760 = $157,680, where the advice keeps the third on demand ($87,600 instead of
    $52,560); the training burst goes to a Capacity Block as in the advice (333.3 h · $8)."""
    workloads = [inference("i", tokens_per_month=3000 * 730 * 3600, peak_to_average=2), training("t")]
    advice = make_plan(make_portfolio(workloads, **OLD), _catalog(), "x")
    [r] = advice.reservations
    plan = make_plan(make_portfolio(workloads), _catalog(), "x")
    assert plan.compute_usd <= r.reserved_usd + 1e-6
    assert plan.compute_usd == pytest.approx(3 * 6.0 * 8760 + 1000 / 3 * 8.0)
    assert r.reserved_usd == pytest.approx(2 * 6.0 * 8760 + 10.0 * 8760 + 1000 / 3 * 8.0)
