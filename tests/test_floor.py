"""engine/floor.py: the bound any plan respects, worked by hand, never above a proven optimum, and
the gap a solve reports when HiGHS stops with no bound of its own."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from placement.engine import optimizer
from placement.engine.costing import estimates
from placement.engine.floor import lower_bound
from placement.engine.optimizer import SolveSettings, optimize
from placement.engine.start import cost, greedy_start
from placement.inputs.models import Catalog, Portfolio
from tests.conftest import HPM, ONE_INSTANCE, inference, make_catalog, make_portfolio, option, training


def solved(portfolio: Portfolio, catalog: Catalog) -> tuple[float, float]:
    """(the bound, the proven optimum) of the portfolio's model."""
    model, solution = optimize(portfolio, catalog, estimates(portfolio, catalog), SolveSettings())
    assert solution.status == "optimal"
    return lower_bound(model), solution.objective


def committed() -> dict[str, Any]:
    return option("A", usd_per_hour=10.0, one_year_usd_per_hour=6.0)


@pytest.mark.parametrize("months", range(1, 13))
def test_one_instance_for_some_months_is_bounded_at_the_cheapest_rate_an_hour_can_have(months: int) -> None:
    """One instance for `months` of 12 at $10/h on demand or $6/h for a year.  The model offers the
    commitment only where it can beat on demand (8 months or more: 12 · 6 < 8 · 10); then an
    hour costs at least $6 (the year's $52,560 over its 8,760 hours), else $10.  The optimum pays
    the idle months of the year, which the bound leaves out."""
    portfolio = make_portfolio([inference("svc", tokens_per_month=ONE_INSTANCE, end_month=months)])
    bound, optimum = solved(portfolio, make_catalog([committed()]))
    if months >= 8:
        assert bound == pytest.approx(6.0 * HPM * months)
        assert optimum == pytest.approx(6.0 * HPM * 12)
    else:
        assert bound == pytest.approx(10.0 * HPM * months)
        assert optimum == pytest.approx(bound)


def test_a_service_needing_a_quarter_of_an_instance_pays_a_whole_one() -> None:
    """0.25 instances on A ($10/h) or 0.5 on B ($4/h; B serves half as fast): at least one whole
    instance of the cheaper B, 12 · 730 · 4 = $35,040, which is the optimum too."""
    catalog = make_catalog([option("A"), option("B", usd_per_hour=4.0, hbm_tb_per_s=0.5)])
    portfolio = make_portfolio([inference("svc", tokens_per_month=ONE_INSTANCE / 4)])
    bound, optimum = solved(portfolio, catalog)
    assert bound == pytest.approx(4.0 * HPM * 12)
    assert optimum == pytest.approx(bound)


def test_a_run_pays_its_instance_hours_at_its_cheapest_option() -> None:
    """A run of 3.6e9 tokens at a measured 1,000 tokens/s is 1,000 instance-hours: $10,000 on A at
    $10/h, $8,000 on B at $8/h, so at least $8,000."""
    measured = {"A": {"tokens_per_second": 1000}, "B": {"tokens_per_second": 1000}}
    catalog = make_catalog([option("A"), option("B", usd_per_hour=8.0)])
    portfolio = make_portfolio([training("pre", tokens=3.6e9, deadline_days=25, measured=measured)])
    bound, optimum = solved(portfolio, catalog)
    assert bound == pytest.approx(8_000.0)
    assert optimum == pytest.approx(8_000.0)


@pytest.mark.parametrize("seed", range(12))
def test_never_above_the_proven_optimum(seed: int) -> None:
    """Random small time-phased portfolios (services that start, end and grow, runs with windows,
    two options with commitments, Capacity Blocks and little capacity): the bound is at most the
    optimum HiGHS proves."""
    rng = random.Random(seed)
    measured = {o: {"tokens_per_second": rng.choice([500, 1000, 2000])} for o in ("A", "B")}
    catalog = make_catalog(
        [
            option(
                "A",
                usd_per_hour=10.0,
                one_year_usd_per_hour=rng.choice([5.0, 7.0, 9.0]),
                capacity_instances=rng.choice([5, 6, 8]),
            ),
            option(
                "B",
                usd_per_hour=rng.choice([8.0, 12.0]),
                capacity_block_usd_per_hour=rng.choice([6.0, 9.0]),
                capacity_instances=rng.choice([5, 6, 8]),
            ),
        ]
    )
    workloads = [
        inference(
            f"s{i}",
            tokens_per_month=ONE_INSTANCE * rng.choice([0.3, 1.0, 1.7]),
            start_month=rng.choice([1, 2]),
            end_month=rng.choice([3, 4]),
            growth_per_month=rng.choice([0.0, 0.2]),
        )
        for i in range(2)
    ] + [
        training(
            "run",
            tokens=rng.choice([1e8, 5e8]) * 3.6,
            deadline_days=rng.choice([20, 40]),
            earliest_month=rng.choice([1, 2]),
            measured=measured,
        )
    ]
    portfolio = make_portfolio(
        workloads,
        horizon_months=4,
        purchase={"allow": ["on-demand", "1-year", "capacity-block"], "beyond_horizon": "horizon-only"},
    )
    bound, optimum = solved(portfolio, catalog)
    assert 0 < bound <= optimum * (1 + 1e-7)  # (HiGHS's own tolerance)


def test_a_solve_with_no_bound_of_its_own_is_measured_against_this_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HiGHS stopped before any bound (simulated: its start is the plan, against $0), 9 months of
    just under one instance: the start commits the year ($52,560).  With the year's price spread
    evenly over its hours the bound is 9 · 730 · $6 = $39,420 (a 25% gap); spread over the 9
    months it is used, an hour costs $8, still below on demand's $10, so the bound is $52,560:
    the start is proven optimal (on demand would be $65,700), not left at 100%."""
    portfolio = make_portfolio([inference("svc", tokens_per_month=0.99 * ONE_INSTANCE, end_month=9)])
    catalog = make_catalog([committed()])
    model, _ = optimize(portfolio, catalog, estimates(portfolio, catalog), SolveSettings())
    start = greedy_start(model)
    assert start is not None and cost(model.problem, start) == pytest.approx(52_560.0)

    def stopped(problem: Any, settings: Any, begin: Any, *rest: Any, **kw: Any) -> optimizer.Run:
        return optimizer._the_start(problem, begin, "time_limit", -math.inf)

    monkeypatch.setattr(optimizer, "run_highs", stopped)
    solution = optimizer.solve(model, SolveSettings(gap=0.01), start)
    assert solution.objective == pytest.approx(52_560.0)
    assert lower_bound(model) == pytest.approx(39_420.0)  # every price at 0
    assert solution.gap == pytest.approx(0.0, abs=1e-9)
    assert solution.status == "optimal"


def bound_and_optimum(portfolio: Portfolio, catalog: Catalog) -> tuple[float, float, float]:
    """(the bound without prices, the bound with them, the proven optimum)."""
    model, solution = optimize(portfolio, catalog, estimates(portfolio, catalog), SolveSettings())
    assert solution.status == "optimal"
    return lower_bound(model), lower_bound(model, solution.objective), solution.objective


def test_a_full_cheap_option_is_priced_until_the_bound_is_the_optimum() -> None:
    """A service needing exactly 2 instances; A costs $10/h and has room for 1, B $30/h.  Each
    month the plan holds 1 A and 1 B: (10 + 30) · 730 = $29,200, $350,400 a year.  Without a
    price on A's room the bound is 2 A a month, $175,200.  With one: each month pays
    max(min((7,300 + λ) · 2, 21,900 · 2), ...) − λ · 1, which is 14,600 + λ up to λ = 14,600:
    the year's $350,400 at λ = $14,600 a month (one step of the search reaches it)."""
    catalog = make_catalog([option("A", capacity_instances=1), option("B", usd_per_hour=30.0)])
    portfolio = make_portfolio([inference("svc", tokens_per_month=2 * ONE_INSTANCE)])
    plain, priced, optimum = bound_and_optimum(portfolio, catalog)
    assert optimum == pytest.approx(40.0 * HPM * 12)
    assert plain == pytest.approx(20.0 * HPM * 12)
    assert priced == pytest.approx(optimum)


def test_a_binding_family_share_is_priced_until_the_bound_is_the_optimum() -> None:
    """Two one-instance services; A (trainium) is $10/h list and $5/h committed for the year, B
    (gpu) $10/h.  A share cap of 50% counts list spend, so one service goes to each: $43,800 +
    $87,600 = $131,400.  Without a price on the share both sit on A: $87,600.  Priced (μ = 0.5 on
    trainium's row, so A's spend pays +25% and B's −25% of $87,600) each service pays $65,700
    either way: the bound is the optimum."""
    catalog = make_catalog([option("A", family="trainium", one_year_usd_per_hour=5.0), option("B")])
    portfolio = make_portfolio(
        [inference(f"s{i}", tokens_per_month=ONE_INSTANCE) for i in (1, 2)],
        policy={"max_family_share": 0.5},
    )
    plain, priced, optimum = bound_and_optimum(portfolio, catalog)
    assert optimum == pytest.approx((5.0 + 10.0) * HPM * 12)
    assert plain == pytest.approx(2 * 5.0 * HPM * 12)
    assert priced == pytest.approx(optimum, rel=1e-4)


def test_a_run_pays_for_the_room_it_takes_in_the_months_it_runs() -> None:
    """A run of 1,460 instance-hours on one instance (two months of 730 h) in a window of months
    1-2, and a service holding 1 instance all year; A ($10/h) has room for 1 instance, B costs
    $25/h.  The plan: the run on A and the service on B in months 1-2 ($14,600 + $36,500), the
    service on A in months 3-12 ($73,000): $124,100.  Without prices: $14,600 + $87,600 =
    $102,200; priced, the room in months 1-2 is worth the service's $10,950 a month more on B."""
    measured = {"A": {"tokens_per_second": 1000}, "B": {"tokens_per_second": 1000}}
    catalog = make_catalog([option("A", capacity_instances=1), option("B", usd_per_hour=25.0)])
    portfolio = make_portfolio(
        [
            training("pre", tokens=1000 * 3600 * 1460.0, deadline_days=61, latest_month=2, measured=measured),
            inference("svc", tokens_per_month=ONE_INSTANCE),
        ]
    )
    plain, priced, optimum = bound_and_optimum(portfolio, catalog)
    assert optimum == pytest.approx(14_600.0 + 36_500.0 + 73_000.0)
    assert plain == pytest.approx(14_600.0 + 87_600.0)
    assert priced == pytest.approx(optimum, rel=1e-3)


def test_the_block_quota_is_priced_until_the_bound_is_the_optimum() -> None:
    """A service needing exactly 2 instances all year on A: $10/h on demand, $6/h in Capacity
    Blocks, and an account quota of 1 instance in blocks.  The plan: 1 in a block, 1 on demand,
    $16 · 730 · 12 = $140,160.  Without a price on the quota both hours are at $6: $105,120.  At
    ν = $2,920 a month (the $4/h saved, over 730 h) a block instance costs what one on demand
    does, and each month pays 2 · 7,300 − 2,920: the optimum."""
    catalog = make_catalog([option("A", capacity_block_usd_per_hour=6.0)])
    settings = catalog.settings.model_copy(update={"capacity_block_account_instances": 1})
    catalog = catalog.model_copy(update={"settings": settings})
    portfolio = make_portfolio(
        [inference("svc", tokens_per_month=2 * ONE_INSTANCE)],
        purchase={"allow": ["on-demand", "capacity-block"]},
    )
    plain, priced, optimum = bound_and_optimum(portfolio, catalog)
    assert optimum == pytest.approx(16.0 * HPM * 12)
    assert plain == pytest.approx(12.0 * HPM * 12)
    assert priced == pytest.approx(optimum, rel=1e-4)


def _tight(rng: random.Random) -> tuple[Portfolio, Catalog]:
    """A random small portfolio with little room, sometimes under a family-share cap."""
    measured = {o: {"tokens_per_second": rng.choice([500, 1000, 2000])} for o in ("A", "B", "C")}
    a_usd, a_room = rng.choice([4.0, 6.0]), rng.choice([1, 2, 3])
    b_usd, b_room = rng.choice([5.0, 8.0]), rng.choice([1, 2, 4])
    catalog = make_catalog(
        [
            option("A", "trainium", usd_per_hour=a_usd, capacity_instances=a_room),
            option("B", "inferentia", usd_per_hour=b_usd, capacity_instances=b_room),
            option("C", usd_per_hour=rng.choice([10.0, 14.0]), one_year_usd_per_hour=rng.choice([7.0, 9.0])),
        ]
    )
    workloads = [
        inference(
            f"s{i}",
            tokens_per_month=ONE_INSTANCE * rng.choice([0.4, 1.0, 1.6, 2.5]),
            growth_per_month=rng.choice([0.0, 0.3]),
            start_month=rng.choice([1, 2]),
        )
        for i in range(3)
    ] + [
        training(
            "run",
            tokens=rng.choice([1e9, 3e9]) * 3.6,
            deadline_days=rng.choice([20, 40]),
            latest_month=rng.choice([2, 3]),
            measured=measured,
        )
    ]
    policy = {"max_family_share": rng.choice([0.5, 0.7])} if rng.random() < 0.5 else {}
    purchase = {"beyond_horizon": "horizon-only"}  # a year's term within 3 months can pay
    return make_portfolio(workloads, horizon_months=3, policy=policy, purchase=purchase), catalog


@pytest.mark.parametrize("seed", range(12))
def test_priced_never_above_the_proven_optimum(seed: int) -> None:
    """Random small portfolios with little room, half under a family-share cap (draws with no
    plan are drawn again): the priced bound is at least the unpriced one and at most the
    optimum HiGHS proves."""
    rng = random.Random(100 + seed)
    while True:
        portfolio, catalog = _tight(rng)
        model, solution = optimize(portfolio, catalog, estimates(portfolio, catalog), SolveSettings())
        if solution.status != "infeasible":
            break
    assert solution.status == "optimal"
    plain, priced = lower_bound(model), lower_bound(model, solution.objective)
    assert plain <= priced * (1 + 1e-9)
    assert 0 < priced <= solution.objective * (1 + 1e-7)
