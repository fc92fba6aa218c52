"""Fix-and-optimize (engine/improve.py): hand-worked small models, checked against brute force."""

from __future__ import annotations

import itertools
import math
import time
from typing import Any

import pulp
import pytest

from placement.engine import improve, optimizer
from placement.engine.optimizer import Run, _hand_over, _hand_over_late, _improved, _StartedHiGHS, _the_start


def _pooled() -> tuple[pulp.LpProblem, dict[str, pulp.LpVariable], pulp.LpVariable]:
    """Four workloads in two codebases (A: a1, a2; B: b1, b2).  Each runs on demand at its own price
    (5, 2, 4, 1 $) or on a committed instance at $3, commitments pooled across both codebases:
    cost = 3·m + Σ price·d, x + d = 1, m ≥ Σ x (no constant term: PuLP does not hand HiGHS one).
    By hand: only a1 (5 > 3) and b1 (4 > 3) are worth committing, so the optimum is
    3·2 + 2 + 1 = $9; everything on demand costs $12."""
    price = {"a1": 5.0, "a2": 2.0, "b1": 4.0, "b2": 1.0}
    problem = pulp.LpProblem("pooled", pulp.LpMinimize)
    x = {n: problem.add_variable(f"x_{n}", 0, 1, pulp.LpBinary) for n in price}
    d = {n: problem.add_variable(f"d_{n}", 0, 1, pulp.LpBinary) for n in price}
    m = problem.add_variable("m", 0, 10, pulp.LpInteger)
    problem += 3 * m + pulp.lpSum(p * d[n] for n, p in price.items())
    problem += m >= pulp.lpSum(x.values())
    for n in price:
        problem += x[n] + d[n] == 1
    return problem, x, m


def _capacity() -> tuple[pulp.LpProblem, dict[str, pulp.LpVariable]]:
    """Six workloads, A: a1-a3 saving $9, $8, $2 on the cheap option, B: b1-b3 saving $7, $6, $1; $10
    each otherwise; the cheap option holds 4.  The optimum takes the four largest savings
    (9 + 8 + 7 + 6): 60 − 30 = $30."""
    saving = {"a1": 9.0, "a2": 8.0, "a3": 2.0, "b1": 7.0, "b2": 6.0, "b3": 1.0}
    problem = pulp.LpProblem("capacity", pulp.LpMinimize)
    x = {n: problem.add_variable(f"x_{n}", 0, 1, pulp.LpBinary) for n in saving}
    d = {n: problem.add_variable(f"d_{n}", 0, 1, pulp.LpBinary) for n in saving}
    problem += pulp.lpSum((10 - s) * x[n] + 10 * d[n] for n, s in saving.items())
    problem += pulp.lpSum(x.values()) <= 4
    for n in saving:
        problem += x[n] + d[n] == 1
    return problem, x


def _brute(problem: pulp.LpProblem, x: dict[str, pulp.LpVariable], extra: int = 0) -> float:
    """The cheapest feasible assignment by enumeration (`extra`: the pooled model's m = Σ x)."""
    best = math.inf
    for bits in itertools.product((0, 1), repeat=len(x)):
        values = {v.name: float(b) for v, b in zip(x.values(), bits, strict=True)}
        values |= {"d" + v.name[1:]: 1.0 - b for v, b in zip(x.values(), bits, strict=True)}
        if extra:
            values["m"] = float(sum(bits))
        cost = sum(c * values[v.name] for v, c in problem.objective.items())
        for v in problem.variables():
            v.varValue = values[v.name]
        if problem.valid():
            best = min(best, cost)
    return best


def _highs(problem: pulp.LpProblem) -> tuple[object, dict[str, int]]:
    solver = pulp.HiGHS(msg=False)
    solver.createAndConfigureSolver(problem)
    solver.buildSolverModel(problem)
    return problem.solverModel, {v.name: v.index for v in problem.variables()}


def _start(column: dict[str, int], values: dict[str, float]) -> list[float]:
    """A plan by column: everything on demand (d = 1) unless `values` says otherwise."""
    start = [1.0 if name.startswith("d_") else 0.0 for name in sorted(column, key=column.get)]
    for name, value in values.items():
        start[column[name]] = value
    return start


def _codebases(column: dict[str, int], *names: list[str]) -> list[list[int]]:
    return [[column[f"{v}_{n}"] for n in group for v in ("x", "d")] for group in names]


def test_pooled_commitments_reach_the_brute_force_optimum() -> None:
    problem, x, _ = _pooled()
    assert _brute(problem, x, extra=1) == 9.0
    highs, column = _highs(problem)
    groups = _codebases(column, ["a1", "a2"], ["b1", "b2"])
    out = improve.improve(highs, [groups], _start(column, {}), 12.0, -math.inf, 1e-6, time.monotonic() + 60)
    assert out.objective == pytest.approx(9.0)
    chosen = {n for n in ("a1", "a2", "b1", "b2") if round(out.values[column[f"x_{n}"]]) == 1}
    assert chosen == {"a1", "b1"}
    assert round(out.values[column["m"]]) == 2
    # pass 1 frees A (a1 committed: $10), then B (b1: $9); pass 2 finds nothing, and one codebase is
    # already half of two, so the family (the only one) has stalled
    assert (out.rounds, out.improved, out.stalled) == (4, 2, True)


def test_stops_once_within_the_gap_of_the_bound() -> None:
    problem, _, _ = _pooled()
    highs, column = _highs(problem)
    groups = _codebases(column, ["a1", "a2"], ["b1", "b2"])
    out = improve.improve(highs, [groups], _start(column, {}), 12.0, 9.0, 1e-6, time.monotonic() + 60)
    assert (out.objective, out.rounds, out.stalled) == (pytest.approx(9.0), 2, False)
    # already within 25% of the bound: no round at all
    out = improve.improve(highs, [groups], _start(column, {}), 12.0, 9.0, 0.25, time.monotonic() + 60)
    assert (out.objective, out.rounds) == (12.0, 0)


def test_no_round_past_the_deadline_and_bounds_restored() -> None:
    problem, _, _ = _pooled()
    highs, column = _highs(problem)
    before = (list(highs.getLp().col_lower_), list(highs.getLp().col_upper_))
    groups = _codebases(column, ["a1", "a2"], ["b1", "b2"])
    late = improve.improve(highs, [groups], _start(column, {}), 12.0, -math.inf, 1e-6, time.monotonic())
    assert (late.objective, late.rounds) == (12.0, 0)
    improve.improve(highs, [groups], _start(column, {}), 12.0, -math.inf, 1e-6, time.monotonic() + 60)
    assert (list(highs.getLp().col_lower_), list(highs.getLp().col_upper_)) == before


def test_a_local_optimum_is_reported_as_stalled_not_optimal() -> None:
    """Codebase by codebase cannot trade a slot of A's for one of B's: A, freed first, takes three
    of the four cheap slots (savings 9, 8, 2), B the last (7): $34 against the optimum's $30.  The
    search says it stalled; the proven gap (against HiGHS's bound) is what the buyer sees."""
    problem, x = _capacity()
    assert _brute(problem, x) == 30.0
    highs, column = _highs(problem)
    groups = _codebases(column, ["a1", "a2", "a3"], ["b1", "b2", "b3"])
    out = improve.improve(highs, [groups], _start(column, {}), 60.0, -math.inf, 1e-6, time.monotonic() + 60)
    assert out.objective == pytest.approx(34.0)
    assert out.stalled


def test_a_second_family_cuts_across_the_first() -> None:
    """The same model with a second way to cut it (as months cut across codebases): units
    {a3, b2, b3} and {a1, a2, b1}.  Once codebases stall at $34 (a1, a2, a3, b1 cheap), freeing
    {a3, b2, b3} with a1, a2, b1 fixed leaves one cheap slot, which b2 (saving 6) takes from a3
    (saving 2): $30, the brute-force optimum; then neither family finds anything."""
    problem, x = _capacity()
    highs, column = _highs(problem)
    codebases = _codebases(column, ["a1", "a2", "a3"], ["b1", "b2", "b3"])
    across = _codebases(column, ["a3", "b2", "b3"], ["a1", "a2", "b1"])
    out = improve.improve(
        highs, [codebases, across], _start(column, {}), 60.0, -math.inf, 1e-6, time.monotonic() + 60
    )
    assert out.objective == pytest.approx(_brute(problem, x)) == pytest.approx(30.0)
    chosen = {n for n in x if round(out.values[column[f"x_{n}"]]) == 1}
    assert chosen == {"a1", "a2", "b1", "b2"}
    assert out.stalled


def test_the_optimizer_reads_back_the_improved_plan_and_its_gap() -> None:
    """`_improved`: HiGHS stopped on the all-on-demand plan ($12) with a bound of $9; fix-and-optimize
    finds the $9 plan, so the variables hold it and the gap is 0 (optimal)."""
    problem, x, m = _pooled()
    for v in x.values():  # HiGHS's plan: everything on demand
        v.upBound = 0
    problem.solve(pulp.HiGHS(msg=False))
    highs = problem.solverModel
    highs.changeColsBounds(4, [v.index for v in x.values()], [0.0] * 4, [1.0] * 4)
    names = [[[f"{v}_{n}" for n in group for v in ("x", "d")] for group in (["a1", "a2"], ["b1", "b2"])]]
    run = _improved(problem, Run("interrupted", 0.25, 12.0, 9.0), names, 1e-6, time.monotonic() + 60)
    assert run == Run("optimal", 0.0, pytest.approx(9.0), 9.0)
    assert [round(x[n].varValue) for n in ("a1", "a2", "b1", "b2")] == [1, 0, 1, 0]
    assert round(m.varValue) == 2
    # with a bound it cannot reach, the stop says why
    run = _improved(problem, Run("interrupted", 0.25, 12.0, 8.0), names, 1e-6, time.monotonic() + 60)
    assert run.status == "stalled" and run.gap == pytest.approx(1 / 9)


class _Event:
    """The parts of a HiGHS callback event `_hand_over` reads."""

    def __init__(self, nodes: int, primal: float, seconds: float) -> None:
        self.data_out = type(
            "Out", (), {"mip_node_count": nodes, "mip_primal_bound": primal, "running_time": seconds}
        )
        self.stopped = False

    def interrupt(self) -> None:
        self.stopped = True


@pytest.mark.parametrize(
    ("nodes", "primal", "seconds", "patient", "stops"),
    [
        (0, 12.0, 50.0, False, False),  # still in the root, with only the start: HiGHS keeps going
        (0, 11.0, 5.0, False, False),  # its own plan, but before the hand-over time
        (0, 11.0, 30.0, False, True),  # its own plan, past the hand-over time
        (1, 12.0, 1.0, False, True),  # the root node done
        (1, 11.0, 29.0, True, False),  # a smaller model: its tree goes on until the hand-over time
        (0, 12.0, 30.0, True, True),  # ... and then stops, plan of its own or not
        (1, math.inf, 50.0, True, False),  # ... but not before it has a plan (no start given)
    ],
)
def test_hand_over_rule(nodes: int, primal: float, seconds: float, patient: bool, stops: bool) -> None:
    event = _Event(nodes, primal, seconds)
    check = _hand_over_late(30.0) if patient else _hand_over(30.0, 12.0)
    check(event)  # type: ignore[arg-type]
    assert event.stopped == stops


def test_the_hand_over_check_is_removed_after_the_search() -> None:
    """Left subscribed, it would stop every fix-and-optimize round at its root node."""
    problem, x, _ = _pooled()
    start = {f"d_{n}": 1.0 for n in x}
    problem.solve(_StartedHiGHS(start, 0.0, msg=False))
    assert problem.solverModel.cbMipInterrupt.callbacks == []
    assert pulp.value(problem.objective) == pytest.approx(9.0)


def test_the_model_counts_its_integer_variables_as_model_size_does() -> None:
    """`Model.integers` decides whether fix-and-optimize runs, without sorting the whole problem."""
    from placement.engine.costing import estimates
    from placement.engine.optimizer import build, feasible_pairs, model_size, port_costs, prune
    from placement.inputs.loading import load_catalog, load_portfolio
    from tests.conftest import ROOT

    catalog = load_catalog(None)
    portfolio = load_portfolio(ROOT / "examples" / "enterprise.yaml", catalog)
    pairs = feasible_pairs(portfolio, estimates(portfolio, catalog), catalog)
    model = build(portfolio, catalog, prune(portfolio, catalog, pairs, port_costs(portfolio, catalog)))
    assert model.integers == model_size(model)[1] == 2055


def test_a_round_that_runs_out_of_time_halves_the_neighbourhood(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forty units, one column each; a round freeing more than one unit stops on its time limit
    with nothing (too large for its time), and freeing unit 7 alone finds $9 against $10.  The
    search starts at a tenth (4 units), halves to 2 and then to 1 after rounds that ran out of
    time, reaches $9, and never frees more than one unit again: a family that stays too large for
    its rounds would find nothing until the time is up."""
    sizes: list[int] = []

    def fake_round(highs: object, fixed: list[int], best: list[float], seconds: float) -> tuple:
        free = 40 - len(fixed)
        sizes.append(free)
        if free > 1:
            return math.inf, None, True
        if 7 not in fixed:
            return 9.0, [0.0] * 40, False
        return 10.0, list(best), False

    class Lp:
        col_lower_ = [0.0] * 40
        col_upper_ = [1.0] * 40

    class Highs:
        def getLp(self) -> Lp:
            return Lp()

        def setOptionValue(self, name: str, value: object) -> None:
            pass

    monkeypatch.setattr(improve, "_round", fake_round)
    monkeypatch.setattr(improve, "_restore", lambda *args: None)
    units = [[[c] for c in range(40)]]
    outcome = improve.improve(Highs(), units, [1.0] * 40, 10.0, 0.0, 1e-6, time.monotonic() + 60)  # type: ignore[arg-type]
    assert outcome.objective == 9.0 and outcome.stalled
    assert sizes[:3] == [4, 2, 1]
    assert max(sizes[3:]) == 1


def test_a_start_highs_never_took_up_is_the_plan_against_the_bound_it_had() -> None:
    """HiGHS may stop on its time limit before it has taken up the start (a 200-workload model
    under a share policy, left 2 s: the command used to end with no plan).  The start, checked
    against every row before it was handed over, is then the plan: the pooled model with
    everything on demand, $12, against $0 (no bound yet: a 100% gap) or against a bound of $9
    (25%)."""
    problem, _, _ = _pooled()
    start = {f"d_{n}": 1.0 for n in ("a1", "a2", "b1", "b2")}
    run = _the_start(problem, start, "time_limit", -math.inf)
    assert (run.status, run.objective, run.gap, run.bound) == ("time_limit", 12.0, 1.0, 0.0)
    assert {v.name: v.varValue for v in problem.variables() if v.varValue} == start
    assert _the_start(problem, start, "time_limit", 9.0) == Run("time_limit", 0.25, 12.0, 9.0)


@pytest.mark.parametrize("started", [True, False])
def test_a_smaller_model_is_handed_over_late_and_back_to_highs_after(
    started: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`patient` (a model below IMPROVE_MIN_INTEGERS): HiGHS stops at the hand-over time (here at
    once, before it has a bound), fix-and-optimize runs from the start and stalls on a local
    optimum: codebase A, freed first, takes a1 and a2 (10 of the 12 units, $14 saved), then B only
    b3 ($3): $43.  HiGHS then solves again from that plan with the rest of the limit and proves the
    brute-force optimum, $42: the whole room to B.  Without a start the search starts from HiGHS's
    own first plan once it has one."""
    monkeypatch.setattr(optimizer, "HAND_OVER", 0.0)
    monkeypatch.setattr(optimizer, "PATIENCE_MIN_S", 0.0)
    weight = {"a1": 6.0, "a2": 4.0, "a3": 3.0, "b1": 5.0, "b2": 5.0, "b3": 2.0}
    saving = {"a1": 9.0, "a2": 5.0, "a3": 4.0, "b1": 8.0, "b2": 7.0, "b3": 3.0}
    problem = pulp.LpProblem("knapsack", pulp.LpMinimize)
    x = {n: problem.add_variable(f"x_{n}", 0, 1, pulp.LpBinary) for n in weight}
    d = {n: problem.add_variable(f"d_{n}", 0, 1, pulp.LpBinary) for n in weight}
    problem += pulp.lpSum((10 - saving[n]) * x[n] + 10 * d[n] for n in weight)
    problem += pulp.lpSum(weight[n] * x[n] for n in weight) <= 12
    for n in weight:
        problem += x[n] + d[n] == 1
    best = _brute(problem, x)
    names = [[[f"{v}_{n}" for n in g for v in ("x", "d")] for g in (["a1", "a2", "a3"], ["b1", "b2", "b3"])]]
    searched: list[Run] = []
    real = optimizer._improved

    def spy(*args: Any) -> Run:
        searched.append(run := real(*args))
        return run

    monkeypatch.setattr(optimizer, "_improved", spy)
    start = {f"d_{n}": 1.0 for n in x} if started else None
    run = optimizer.run_highs(problem, optimizer.SolveSettings(1e-6, 60.0), start, names, patient=True)
    if started:
        assert searched == [Run("stalled", 1.0, pytest.approx(43.0), 0.0)]
    else:  # HiGHS's own first plan, $44 against its bound of $42, is where the search starts and stalls
        assert searched == [Run("stalled", pytest.approx(2 / 44), pytest.approx(44.0), pytest.approx(42.0))]
    assert (run.status, run.objective, run.gap) == ("optimal", pytest.approx(best), 0.0)
    assert best == 42.0  # b1, b2, b3 on the cheap option: weights 5 + 5 + 2 = 12, savings 8 + 7 + 3
