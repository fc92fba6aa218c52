"""Decisions under uncertainty: the two-stage model against hand arithmetic, CVaR of known
distributions, a degenerate distribution reproducing the deterministic plan, and the same results
whatever the workers."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from placement.analyses.fanout import IN_PROCESS, DaskCluster, LocalPool
from placement.analyses.hedge import hedge, interval, t975
from placement.analyses.risk import assess, cvar, quantile, spread
from placement.engine.costing import estimates
from placement.engine.formulation import FirstStage
from placement.engine.optimizer import SolveSettings, feasible_pairs
from placement.engine.planner import make_plan
from placement.engine.stochastic import Future, Shape, first_stage, recourse, shape, solve_stochastic
from placement.inputs.models import Catalog, Portfolio
from tests.conftest import HPM, ONE_INSTANCE, inference, make_catalog, make_portfolio, option

YEAR = 12 * HPM
EXACT = SolveSettings(1e-6, 60)


def committed_catalog() -> Catalog:
    """One option: $10/h on demand, $6/h committed for a year."""
    return make_catalog([option("A", usd_per_hour=10.0, one_year_usd_per_hour=6.0)])


def one_service(instances: float, **top: Any) -> Portfolio:
    return make_portfolio([inference("svc", tokens_per_month=instances * ONE_INSTANCE)], **top)


def as_future(portfolio: Portfolio, catalog: Catalog) -> Future:
    return Future(portfolio, catalog, feasible_pairs(portfolio, estimates(portfolio, catalog), catalog))


# --------------------------------------------------------------------------- the two-stage model by hand


def test_two_futures_commit_less_than_the_deterministic_plan_by_a_computed_amount() -> None:
    """Demand of 2 or 10 instances all year, equally likely; the deterministic plan sees the likely
    8 and commits 8.  Committing c (2 ≤ c ≤ 10) costs per hour 6c + ½·10·(10 − c) = 50 + c (the
    low future needs no on demand), so 2 is best: 52 $/h against 58 $/h for the plan's 8.  Over a
    year: 52 · 8,760 = $455,520 against $508,080, $52,560 less."""
    catalog = committed_catalog()
    plan = make_plan(one_service(8), catalog, "likely")
    det = first_stage(plan, one_service(8))
    assert det.commits == (("A", "1-year", 1, 8),)
    futures = [as_future(one_service(2), catalog), as_future(one_service(10), catalog)]
    common = shape(futures)
    kept = [recourse(f, det, common, EXACT) for f in futures]
    assert [k.cost for k in kept] == pytest.approx([(6 * 8 + 0) * YEAR, (6 * 8 + 10 * 2) * YEAR])
    deterministic = sum(k.cost for k in kept) / 2
    assert deterministic == pytest.approx(58 * YEAR)

    result = solve_stochastic(futures, common, "expected", 0.9, EXACT)
    assert result.first.commits == (("A", "1-year", 1, 2),)
    assert result.objective == pytest.approx(52 * YEAR)
    assert deterministic - result.objective == pytest.approx(52_560.0)
    assert result.costs == pytest.approx([12 * YEAR, (12 + 80) * YEAR])
    assert result.bound <= result.objective + 1e-6


def test_cvar_of_the_worse_half_commits_for_the_high_future() -> None:
    """CVaR at 50% of two equally likely futures is the worse one's cost: 6c + 10·(10 − c) falls
    with c, so all 10 are committed (60 $/h in the high future, every hour of the year)."""
    catalog = committed_catalog()
    futures = [as_future(one_service(2), catalog), as_future(one_service(10), catalog)]
    result = solve_stochastic(futures, shape(futures), "cvar", 0.5, EXACT)
    assert result.first.commits == (("A", "1-year", 1, 10),)
    assert result.objective == pytest.approx(60 * YEAR)


def test_the_extensive_form_started_from_a_first_stage_keeps_its_cost() -> None:
    """Each future's recourse under a first stage is a feasible start of the extensive form with
    the same variable names: HiGHS accepts it and can only improve on it."""
    catalog = committed_catalog()
    futures = [as_future(one_service(n), catalog) for n in (2, 10)]
    common = shape(futures)
    det = FirstStage((("A", "1-year", 1, 8),), ())
    starts = [recourse(f, det, common, EXACT, tag=f"f{i}_") for i, f in enumerate(futures)]
    result = solve_stochastic(futures, common, "expected", 0.9, EXACT, (det, starts))
    assert result.objective == pytest.approx(52 * YEAR)


def test_a_first_stage_on_demand_nobody_has_is_paid_idle() -> None:
    """Commitments signed for a future with no demand at all are paid in full."""
    catalog = committed_catalog()
    idle = as_future(one_service(1, horizon_months=12), catalog)
    signed = FirstStage((("A", "1-year", 1, 3),), ())
    result = recourse(idle, signed, Shape((), signed.months), EXACT)
    assert result.cost == pytest.approx(3 * 6 * YEAR)  # the one instance rides on the commitment


# --------------------------------------------------------------------------- statistics


def test_cvar_of_a_known_discrete_distribution() -> None:
    """Ten equally likely costs 1..10: the worst 10% is 10; the worst 25% is (10 + 9 + ½·8)/2.5."""
    costs = [float(c) for c in range(1, 11)]
    assert cvar(costs, 0.9) == pytest.approx(10.0)
    assert cvar(costs, 0.75) == pytest.approx((10 + 9 + 0.5 * 8) / 2.5)
    assert cvar(costs, 0.0) == pytest.approx(5.5)  # the whole distribution: the mean
    assert quantile(costs, 0.5) == pytest.approx(5.5)
    assert quantile(costs, 0.1) == pytest.approx(1.9)
    summary = spread(costs)
    assert summary is not None and (summary.p10, summary.p50, summary.p90) == pytest.approx((1.9, 5.5, 9.1))


def test_interval_uses_student_t_for_small_samples() -> None:
    """Values 1, 2, 3: mean 2, standard deviation 1, t(2) = 4.303: 2 ± 4.303/√3."""
    result = interval([1.0, 2.0, 3.0])
    assert result is not None
    assert (result.low, result.high) == pytest.approx((2 - 4.303 / math.sqrt(3), 2 + 4.303 / math.sqrt(3)))
    assert t975(100) == 1.96


# --------------------------------------------------------------------------- risk over sampled futures


DEGENERATE = {"demand": {"low": 1, "likely": 1, "high": 1}, "port_weeks": {"low": 1, "likely": 1, "high": 1}}


def test_a_degenerate_distribution_reproduces_the_deterministic_plan() -> None:
    catalog = committed_catalog()
    portfolio = one_service(8, uncertainty=DEGENERATE)
    plan = make_plan(portfolio, catalog, "case")
    report = assess(plan, portfolio, catalog, 3, 1, EXACT)
    assert report.cost is not None
    assert (report.cost.p10, report.cost.p90) == pytest.approx((plan.total_usd, plan.total_usd))
    assert report.regret is not None and report.regret.p90 == pytest.approx(0.0, abs=1e-3 * plan.total_usd)
    assert report.unserved == 0
    assert report.drivers == ()  # nothing varies
    assert [(s.workload, s.same_option) for s in report.stability] == [("svc", 1.0)]


def uncertain_demand() -> Portfolio:
    """8 instances at the likely demand, anything from 2 to 10 alike."""
    return one_service(
        8,
        uncertainty={
            "demand": {"low": 0.25, "likely": 1.0, "high": 1.25, "distribution": "uniform"},
            "port_weeks": {"low": 1, "likely": 1, "high": 1},
        },
    )


def test_risk_samples_the_demand_and_attributes_the_spread_to_it() -> None:
    catalog = committed_catalog()
    portfolio = uncertain_demand()
    plan = make_plan(portfolio, catalog, "case")
    report = assess(plan, portfolio, catalog, 12, 3, EXACT)
    assert report.cost is not None and report.samples == 12
    # the 8 committed instances are paid in every future: at least 8 · 6 $/h all year
    assert report.cost.p10 >= 48 * YEAR - 1
    assert report.cost.p90 <= (48 + 10 * 2) * YEAR + 1  # at most 2 on demand on top
    # the only input that varies; its effect is linear only above 8 instances (the commitment
    # absorbs less), so the linear share is well above half but below 1
    (demand,) = report.drivers
    assert demand.name == "demand" and demand.swing_usd > 0
    assert 0.5 < demand.variance_share < 1
    assert report.linear_share == pytest.approx(demand.variance_share)  # one input: R² = r²


def test_the_risk_aware_plan_commits_less_when_demand_may_fall_short() -> None:
    """Demand uniform on 2..10 instances: the newsvendor's answer commits about 10 − 0.6 · 8 ≈ 5
    (commit while P(demand > c) > 6/10), fewer than the deterministic 8, and expects to pay less."""
    catalog = committed_catalog()
    portfolio = uncertain_demand()
    plan = make_plan(portfolio, catalog, "case")
    report = hedge(plan, portfolio, catalog, 12, 5, EXACT, evaluation=12)
    (det,) = report.deterministic.first.commits
    (chosen,) = report.chosen.first.commits
    assert det[3] == 8
    assert 3 <= chosen[3] <= 7
    assert report.chosen.objective < report.deterministic.objective
    assert report.lower_bound <= report.chosen.objective + 1e-6
    assert 0 <= report.gap < 0.2
    assert report.vss is not None and report.vss.mean > 0


# --------------------------------------------------------------------------- workers


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local.scheduler_address


def test_risk_is_the_same_on_one_worker_two_workers_and_a_local_cluster(cluster: str) -> None:
    catalog = committed_catalog()
    portfolio = uncertain_demand()
    plan = make_plan(portfolio, catalog, "case")
    reports = [
        assess(plan, portfolio, catalog, 6, 11, EXACT, runner)
        for runner in (IN_PROCESS, LocalPool(2), DaskCluster(cluster))
    ]
    assert reports[0] == reports[1] == reports[2]
    assert len({r.plan_usd for r in reports[0].sample_rows}) > 1  # the futures do differ
