"""The time-phased plan against hand arithmetic and brute force on tiny cases."""

from __future__ import annotations

import itertools
import json
import math
import random
from typing import Any

import pytest

from placement.engine.costing import estimates
from placement.engine.optimizer import SolveSettings, optimize, read_solution
from placement.engine.planner import make_plan
from placement.engine.verify import verify
from placement.errors import InfeasibleError
from placement.render.report import render_json
from tests.conftest import HPM, ONE_INSTANCE, inference, make_catalog, make_portfolio, option, training

# PLAIN_1B serves 2,000 tokens/s per instance; this many tokens a month need exactly one instance.


def committed(od: float = 10.0, one_year: float = 6.0, **more: Any) -> dict[str, Any]:
    return option("A", usd_per_hour=od, one_year_usd_per_hour=one_year, **more)


@pytest.mark.parametrize("months", range(1, 13))
def test_a_commitment_is_bought_exactly_from_its_break_even_utilisation(months: int) -> None:
    """One instance needed for `months` of 12: a 1-year commitment at $6/h against $10/h on demand
    pays off once months · 10 > 12 · 6, i.e. from 8 months (7.2 is the break-even)."""
    catalog = make_catalog([committed()])
    portfolio = make_portfolio([inference("svc", tokens_per_month=ONE_INSTANCE, end_month=months)])
    plan = make_plan(portfolio, catalog, "case")
    bought = [p for p in plan.purchases if p.instrument == "1-year"]
    if months >= 8:
        assert [(p.period, p.instances, p.option) for p in bought] == [(1, 1, "A")]
        assert plan.compute_usd == pytest.approx(6.0 * HPM * 12)
        assert plan.unused_commitment_usd == pytest.approx(6.0 * HPM * (12 - months))
    else:
        assert bought == []
        assert plan.compute_usd == pytest.approx(10.0 * HPM * months)


def test_a_term_past_the_horizon_is_charged_by_the_chosen_rule() -> None:
    """Six months of one instance: the 1-year term charged in full (12 · 6 = 72 instance-dollars
    per hour-month) loses to on demand (6 · 10 = 60); charged only inside the horizon (6 · 6 = 36)
    it wins, and the other six months are reported as committed spend beyond the horizon."""
    catalog = make_catalog([committed()])
    workloads = [inference("svc", tokens_per_month=ONE_INSTANCE)]
    full = make_plan(make_portfolio(workloads, horizon_months=6), catalog, "full")
    assert full.compute_usd == pytest.approx(10.0 * HPM * 6)
    assert not [p for p in full.purchases if p.instrument == "1-year"]
    inside = make_plan(
        make_portfolio(workloads, horizon_months=6, purchase={"beyond_horizon": "horizon-only"}),
        catalog,
        "in",
    )
    assert inside.compute_usd == pytest.approx(6.0 * HPM * 6)
    assert inside.committed_beyond_usd == pytest.approx(6.0 * HPM * 6)
    (term,) = [p for p in inside.purchases if p.instrument == "1-year"]
    assert term.usd_beyond_horizon == pytest.approx(6.0 * HPM * 6)


def test_demand_that_starts_later_is_bought_only_from_then() -> None:
    catalog = make_catalog([option("A")])
    portfolio = make_portfolio([inference("svc", tokens_per_month=2 * ONE_INSTANCE, start_month=5)])
    plan = make_plan(portfolio, catalog, "case")
    held = {m.period: m.inference_instances for m in plan.monthly}
    assert held == {m: 2 for m in range(5, 13)}
    assert plan.compute_usd == pytest.approx(2 * 10.0 * HPM * 8)
    (result,) = plan.workloads
    assert result.usd_per_million_tokens == pytest.approx(plan.compute_usd / (2 * ONE_INSTANCE * 8 / 1e6))


def test_a_port_that_takes_three_months_keeps_its_workloads_off_the_family_until_month_4() -> None:
    """13 engineer-weeks with one engineer: ⌈13 / (730/168)⌉ = 3 months, ready at the start of month 4."""
    catalog = make_catalog(
        [option("G", usd_per_hour=10.0), option("T", family="trainium", usd_per_hour=1.0)],
        weeks={"pytorch": {"trainium": 13}},
    )
    portfolio = make_portfolio(
        [inference("svc", tokens_per_month=ONE_INSTANCE)],
        porting={"engineers": 1},
        purchase={"allow": ["on-demand"]},
    )
    plan = make_plan(portfolio, catalog, "case")
    use = {(m.option, m.period) for m in plan.monthly if m.inference_instances}
    assert use == {("G", 1), ("G", 2), ("G", 3), *{("T", m) for m in range(4, 13)}}
    (port,) = plan.ports
    assert (port.codebase, port.family, port.start, port.ready, port.engineers) == (
        "svc",
        "trainium",
        1,
        4,
        1,
    )
    assert plan.total_usd == pytest.approx(HPM * (3 * 10.0 + 9 * 1.0) + 13 * 1000.0)


def test_a_run_window_the_capacity_calendar_cannot_meet_is_explained() -> None:
    """The only option has no instances before month 7; the run must finish by month 5."""
    catalog = make_catalog([option("A", capacity_instances=0, capacity_by_month={7: 4})])
    portfolio = make_portfolio([training("pretrain", latest_month=5)])
    with pytest.raises(InfeasibleError) as caught:
        make_plan(portfolio, catalog, "case")
    text = " ".join([str(caught.value), *caught.value.reasons])
    assert "pretrain" in text and "M1–M5" in text and "A" in text


def test_a_run_waits_for_capacity_that_arrives_later() -> None:
    catalog = make_catalog([option("A", capacity_instances=0, capacity_by_month={7: 4})])
    plan = make_plan(make_portfolio([training("pretrain")]), catalog, "case")
    (run,) = plan.runs
    assert min(m.period for m in run.months) >= 7
    assert sum(m.instance_hours for m in run.months) == pytest.approx(plan.compute_usd / 10.0)


def test_a_fine_tune_runs_only_after_its_pre_train() -> None:
    catalog = make_catalog([option("A", capacity_instances=1)])
    portfolio = make_portfolio(
        [training("pre", tokens=6e10), training("tune", tokens=1e10, after=["pre"])], horizon_months=6
    )
    plan = make_plan(portfolio, catalog, "case")
    months = {r.workload: [m.period for m in r.months] for r in plan.runs}
    assert max(months["pre"]) < min(months["tune"])


def test_one_period_on_demand_is_the_plan_before_the_time_axis() -> None:
    """`periods: single` with on-demand only: every instance for the whole horizon, as before."""
    catalog = make_catalog([committed(), option("B", usd_per_hour=12.0)])
    workloads = [inference("a", tokens_per_month=2.5 * ONE_INSTANCE), training("t")]
    single = make_plan(
        make_portfolio(workloads, periods="single", purchase={"allow": ["on-demand"]}), catalog, "single"
    )
    monthly = make_plan(make_portfolio(workloads, purchase={"allow": ["on-demand"]}), catalog, "monthly")
    assert single.total_usd == pytest.approx(monthly.total_usd, rel=1e-9)
    (a,) = [p for p in single.placements if p.workload == "a"]
    assert a.instances == 3 and a.compute_usd == pytest.approx(3 * 10.0 * HPM * 12)
    assert len(single.periods) == 1 and single.reservations


# --------------------------------------------------------------------------- brute force


def brute_force(
    needs: list[list[int]], caps: dict[str, int], od: dict[str, float], term: dict[str, float]
) -> float:
    """Cheapest way to hold needs[m] instances in each month m (any mix of the two options, within
    capacity), buying 1-year commitments at the start of any month (charged inside the horizon
    only) and the rest on demand."""
    months = len(needs)
    total_need = [sum(row) for row in needs]
    best = math.inf
    options = sorted(caps)
    for commits in itertools.product(range(3), repeat=months * len(options)):
        fixed = 0.0
        in_force = {o: [0] * months for o in options}
        for index, count in enumerate(commits):
            o, start = options[index // months], index % months
            fixed += count * term[o] * HPM * (months - start)
            for m in range(start, months):
                in_force[o][m] += count
        cost = fixed
        for m in range(months):
            cheapest = math.inf
            for held_a in range(0, caps[options[0]] + 1):
                held_b = total_need[m] - held_a
                if not 0 <= held_b <= caps[options[1]]:
                    continue
                month = sum(
                    od[o] * HPM * max(0, held - in_force[o][m])
                    for o, held in zip(options, (held_a, held_b), strict=True)
                )
                cheapest = min(cheapest, month)
            cost += cheapest
        best = min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_time_phased_optimum_equals_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    od = {"A": 10.0, "B": rng.choice([8.0, 12.0])}
    term = {"A": rng.choice([5.0, 7.0, 9.0]), "B": rng.choice([4.0, 6.0, 11.0])}
    caps = {"A": rng.choice([1, 2, 3]), "B": rng.choice([1, 2, 3])}
    needs = [[rng.choice([0, 1, 2]) for _ in range(3)] for _ in range(2)]  # 2 services × 3 months
    needs = [[max(1, n) if m == 0 else n for m, n in enumerate(row)] for row in needs]
    by_month = [[needs[w][m] for w in range(2)] for m in range(3)]
    if any(sum(row) > sum(caps.values()) for row in by_month):
        needs = [[min(1, n) for n in row] for row in needs]
        by_month = [[needs[w][m] for w in range(2)] for m in range(3)]
    catalog = make_catalog(
        [
            option(o, usd_per_hour=od[o], one_year_usd_per_hour=term[o], capacity_instances=caps[o])
            for o in ("A", "B")
        ]
    )
    services = [
        inference(f"s{w}", tokens_per_month=ONE_INSTANCE, monthly_tokens=[n * ONE_INSTANCE for n in needs[w]])
        for w in range(2)
    ]
    portfolio = make_portfolio(services, horizon_months=3, purchase={"beyond_horizon": "horizon-only"})
    plan = make_plan(portfolio, catalog, "case")
    assert plan.compute_usd == pytest.approx(brute_force(by_month, caps, od, term), rel=1e-9)


def test_a_run_of_seconds_still_holds_an_instance_and_passes_the_check() -> None:
    import json

    from placement.engine.verify import verify
    from placement.render.report import render_json

    # 1,000 tokens of a 1B model (6e9 FLOP each) at 50 TFLOP/s: 0.12 s, 3.3e-5 instance-hours,
    # 4.6e-8 instance-months (below the solver's 1e-6 tolerance in the run's hours row).  Before
    # the fix the plan chose the option but held no instance in any month, and failed its check.
    catalog = make_catalog([option("a")])
    portfolio = make_portfolio([training("tiny", tokens=1000)], horizon_months=3)
    plan = make_plan(portfolio, catalog, "x")
    (run,) = plan.runs
    assert run.months and {m.instances for m in run.months} == {1}
    assert sum(m.instance_hours for m in run.months) == pytest.approx(6e12 / 5e13 / 3600, rel=1e-6)
    assert plan.placements[0].instances == 1
    assert plan.compute_usd < 0.01  # $0.0003 of on-demand time, under the solver's tolerance
    assert verify(json.loads(render_json(plan)), portfolio, catalog) == []


def test_a_run_of_part_of_a_month_is_bought_on_demand_beside_an_idle_commitment() -> None:
    """svc needs 1 instance in months 1-10: the 1-year commitment pays (10 · $10 > 12 · $6).  ft,
    200 instance-hours on 2 instances at once (5-day deadline: 200 / 120 h = 1.67 → 2), runs in
    month 11 or 12, where the committed instance is idle.  A run held for part of a month is a
    burst: the model buys it on demand, never on the commitment (formulation.py, burst row), so
    the on-demand line holds 2 instances at once for 200 h, not held − committed = 1, and the
    plan passes its own check."""
    catalog = make_catalog([committed()])
    measured = {"A": {"tokens_per_second": 1000}}
    portfolio = make_portfolio(
        [
            inference("svc", tokens_per_month=ONE_INSTANCE, end_month=10),
            training("ft", tokens=200 * 3600 * 1000, deadline_days=5, earliest_month=11, measured=measured),
        ]
    )
    plan = make_plan(portfolio, catalog, "case")
    assert [(p.period, p.instances) for p in plan.purchases if p.instrument == "1-year"] == [(1, 1)]
    (burst,) = [p for p in plan.purchases if p.instrument == "on-demand"]
    assert burst.period in (11, 12)
    assert (burst.instances, burst.instance_hours) == (2, pytest.approx(200.0))
    assert plan.compute_usd == pytest.approx(6.0 * HPM * 12 + 10.0 * 200)
    data = json.loads(render_json(plan))
    assert verify(data, portfolio, catalog) == []
    data["purchases"][1]["instances"] = 1  # what held − committed would say
    assert verify(data, portfolio, catalog) == [
        f"purchases[1] (on-demand A from period {burst.period}): instances 1, the most held on demand at "
        "once (runs not busy all month, and what commitments leave uncovered) is 2"
    ]


def test_on_demand_hours_nothing_uses_are_trimmed_when_read_back() -> None:
    """The same portfolio: the solver's plan buys 200 on-demand hours in ft's month and none
    elsewhere.  A plan within the gap may buy more (the model's rows are ≤ what is bought); with
    1,000 hours added to every month's on-demand variable, the read-back still gives 200 there
    (the burst row's need: 200 h of bursts, no blocks; the bought row's is 200 − 730 committed < 0)
    and 0 in the months the commitment carries svc, so the plan never pays for idle hours."""
    catalog = make_catalog([committed()])
    measured = {"A": {"tokens_per_second": 1000}}
    portfolio = make_portfolio(
        [
            inference("svc", tokens_per_month=ONE_INSTANCE, end_month=10),
            training("ft", tokens=200 * 3600 * 1000, deadline_days=5, earliest_month=11, measured=measured),
        ]
    )
    model, solution = optimize(portfolio, catalog, estimates(portfolio, catalog), SolveSettings(gap=1e-6))
    bought = {key: hours for key, hours in solution.on_demand_hours.items() if hours > 1e-6}
    assert list(bought.values()) == [pytest.approx(200.0)]
    for e in model.on_demand.values():
        e.varValue = (e.varValue or 0.0) + 1000.0 / model.unit
    again = read_solution(model, solution.status, solution.gap, solution.objective)
    assert {key: hours for key, hours in again.on_demand_hours.items() if hours > 1e-6} == bought
