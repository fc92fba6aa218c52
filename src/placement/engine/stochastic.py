"""The two-stage stochastic placement model: sign commitments and start ports now, decide the rest
once the future is known.  Sample average approximation (SAA) in its extensive form, built from the
same model as every plan (`formulation`), one copy per sampled future.

First stage (shared by every future; `formulation.FirstStage`)
    M[o,κ,m] ∈ ℤ ≥ 0    instances committed for term κ from month m (keys: every commitment any
                        future's own model would consider)
    Y[c,g], Z[c,g,m]    ports (no porting team: done; with a team: started in month m)
Second stage, per future ω (weight 1/N): the whole model of `formulation` with its first-stage
    variables tied to the masters (b[ω] = M, y[ω] = Y, z[ω] = Z); a master a future has no variable
    for (a port it has no use for, or that its longer port weeks would finish too late) is paid
    in that future all the same.
Objective
    expected:  min (1/N) Σ_ω cost[ω]
    cvar:      min η + 1/((1−α)N) Σ_ω u[ω],  u[ω] ≥ cost[ω] − η,  u ≥ 0   (Rockafellar–Uryasev)

Every future's periods are the same spans (`breaks`: the union of every future's own span starts),
so a commitment or port start means the same month in each.  A fixed first stage (`recourse`) is
the same model with the masters fixed: the plan's commitments and ports already signed, the rest
re-optimized.  Its variables carry the same names as that future's copy in the extensive form,
so per-future recourse solutions are the extensive form's first incumbent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pulp

from placement.engine import timeline
from placement.engine.costing import Estimate
from placement.engine.formulation import TERMS, FirstStage, Model, build, build_future, port_costs
from placement.engine.optimizer import (
    Solution,
    SolveSettings,
    main_options,
    prune,
    read_solution,
    run_highs,
)
from placement.engine.plan import Plan
from placement.engine.start import greedy_start
from placement.inputs.models import Catalog, Family, Portfolio

Key = tuple[str, str, int]  # (option, term, first month)
PortKey = tuple[str, Family] | tuple[str, Family, int]  # (codebase, family[, start month])


@dataclass(frozen=True)
class Future:
    """One sampled future as plain data: its inputs and its feasible (workload, option) pairs."""

    portfolio: Portfolio
    catalog: Catalog
    pairs: dict[tuple[str, str], Estimate]


@dataclass(frozen=True)
class Shape:
    """What every future of one stochastic model shares: its commitment keys and span starts."""

    commits: tuple[Key, ...]
    breaks: tuple[int, ...]


@dataclass(frozen=True)
class Recourse:
    """One future re-planned with a fixed first stage."""

    status: str  # "optimal", "infeasible" (the future cannot be served), or a solver stop
    cost: float  # nan when infeasible
    gap: float
    placement: dict[str, str]  # workload → the option carrying most of it
    values: dict[str, float]  # by variable name (the extensive form's incumbent)


@dataclass(frozen=True)
class Stochastic:
    """The solved extensive form."""

    first: FirstStage  # fixed: the commitments and ports it signs
    measure: str  # "expected" | "cvar"
    alpha: float
    status: str
    objective: float  # the SAA objective at the plan found
    bound: float  # proven lower bound on the SAA objective
    gap: float
    costs: tuple[float, ...]  # each future's cost under `first` (in sample)
    size: tuple[int, int, int]  # variables, integer variables, constraints


def first_stage(plan: Plan, portfolio: Portfolio) -> FirstStage:
    """A plan's commitments and ports, fixed (periods are months in a monthly plan)."""
    month = {p.index: (p.index if portfolio.periods == "monthly" else 1) for p in plan.periods}
    commits = sorted(
        (p.option, p.instrument, month[p.period], p.instances)
        for p in plan.purchases
        if p.instrument in TERMS
    )
    ports = sorted((p.codebase, p.family, month.get(p.start, 1)) for p in plan.ports)
    return FirstStage(tuple(commits), tuple(ports), fixed=True)


def solved_first_stage(model: Model, solution: Solution) -> FirstStage:
    """The commitments and ports a solved model signs (fixed)."""
    commits = sorted((o, t, model.periods[p - 1].first, n) for (o, t, p), n in solution.commitments.items())
    ports = [(c, g, 1) for (c, g), y in model.y.items() if (y.varValue or 0) > 0.5]
    ports += [
        (c, g, model.periods[p - 1].first) for (c, g, p), z in model.z.items() if (z.varValue or 0) > 0.5
    ]
    return FirstStage(tuple(commits), tuple(sorted(ports)), fixed=True)


def shape(futures: Sequence[Future], extra: tuple[int, ...] = ()) -> Shape:
    """The commitment keys any future's own model considers, and the union of their span starts."""
    breaks: set[int] = set(extra)
    for f in futures:
        breaks.update(s.first for s in timeline.spans(f.portfolio, f.catalog, extra))
    commits: set[Key] = set()
    for f in futures:
        model = build(f.portfolio, f.catalog, f.pairs, breaks=tuple(sorted(breaks)))
        commits.update((o, t, model.periods[p - 1].first) for o, t, p in model.commit)
    return Shape(tuple(sorted(commits)), tuple(sorted(breaks)))


def with_keys(first: FirstStage, shape: Shape) -> FirstStage:
    """`first` (fixed) listing every key of `shape`, at its own count or 0: the model it builds has
    the same variables, by name, as that future's copy in the extensive form."""
    counts = {(o, t, m): n for o, t, m, n in first.commits}
    keys = sorted(set(shape.commits) | set(counts))
    return FirstStage(tuple((*k, counts.get(k, 0)) for k in keys), first.ports, fixed=True)


def spot_only(portfolio: Portfolio) -> Portfolio:
    """The portfolio buying on demand and in Capacity Blocks only (its commitments are the first
    stage's)."""
    spot = tuple(i for i in portfolio.purchase.allow if i not in TERMS)
    return portfolio.model_copy(update={"purchase": portfolio.purchase.model_copy(update={"allow": spot})})


def _pruned(future: Future, stage: FirstStage) -> tuple[Portfolio, dict[tuple[str, str], Estimate]]:
    """The future's portfolio buying spot only, and its pairs less those no plan needs (every pair
    on an option the first stage may commit stays)."""
    portfolio = spot_only(future.portfolio)
    costs = port_costs(portfolio, future.catalog)
    return portfolio, prune(
        portfolio, future.catalog, future.pairs, costs, committed={c[0] for c in stage.commits}
    )


def recourse(
    future: Future, first: FirstStage, shape: Shape, settings: SolveSettings, tag: str = ""
) -> Recourse:
    """The future re-planned with `first` signed (and nothing else committed)."""
    stage = with_keys(first, shape)
    portfolio, pairs = _pruned(future, stage)
    problem = pulp.LpProblem("recourse", pulp.LpMinimize)
    model, cost = build_future(problem, tag, portfolio, future.catalog, pairs, stage, shape.breaks)
    problem += cost
    run = run_highs(problem, settings, greedy_start(model))
    if run.status == "infeasible":
        return Recourse("infeasible", math.nan, 0.0, {}, {})
    values = {v.name: float(v.varValue or 0.0) for v in problem.variables()}
    solution = read_solution(model, run.status, run.gap, run.objective)
    return Recourse(run.status, run.objective, run.gap, main_options(solution), values)


def _master(problem: pulp.LpProblem, ports: dict[PortKey, pulp.LpVariable], key: PortKey) -> pulp.LpVariable:
    """The first-stage port variable of `key`, made on first use."""
    if key not in ports:
        ports[key] = problem.add_variable(f"P_{len(ports)}", 0, 1, pulp.LpBinary)
    return ports[key]


def _tie(problem: pulp.LpProblem, name: str, var: pulp.LpVariable, master: pulp.LpVariable) -> None:
    problem += pulp.LpAffineExpression([(var, 1.0), (master, -1.0)]) == 0, name


def solve_stochastic(
    futures: Sequence[Future],
    shape: Shape,
    measure: str,
    alpha: float,
    settings: SolveSettings,
    start: tuple[FirstStage, Sequence[Recourse]] | None = None,
) -> Stochastic:
    """Build and solve the extensive form; `start`: a first stage and each future's recourse under
    it (`recourse(..., tag=f"f{i}_")`), HiGHS's first incumbent."""
    problem = pulp.LpProblem("stochastic", pulp.LpMinimize)
    masters: dict[Key, pulp.LpVariable] = {
        key: problem.add_variable(f"M_{i}", 0, None, pulp.LpInteger) for i, key in enumerate(shape.commits)
    }
    ports: dict[PortKey, pulp.LpVariable] = {}
    free = FirstStage(tuple((*k, 0) for k in shape.commits), (), fixed=False)
    costs: list[pulp.LpAffineExpression] = []
    models: list[Model] = []
    port_usd: list[dict[tuple[str, Family], float]] = []
    for i, f in enumerate(futures):
        portfolio, pairs = _pruned(f, free)
        model, cost = build_future(problem, f"f{i}_", portfolio, f.catalog, pairs, free, shape.breaks)
        models.append(model)
        costs.append(cost)
        week = f.catalog.migration.engineer_week_usd
        port_usd.append({k: w * week for k, (w, _) in port_costs(f.portfolio, f.catalog).items()})
        for (o, t, p), b in model.commit.items():
            _tie(problem, f"tie_f{i}_{b.name}", b, masters[(o, t, model.periods[p - 1].first)])
        for pair, y in model.y.items():
            _tie(problem, f"tie_f{i}_{y.name}", y, _master(problem, ports, pair))
        for (c, g, p), z in model.z.items():
            _tie(
                problem,
                f"tie_f{i}_{z.name}",
                z,
                _master(problem, ports, (c, g, model.periods[p - 1].first)),
            )
    # a port master a future has no variable for is paid there all the same; one port per pair
    for i, model in enumerate(models):
        own = set(model.y) | {(c, g, model.periods[p - 1].first) for c, g, p in model.z}
        idle = [(var, port_usd[i].get((key[0], key[1]), 0.0)) for key, var in ports.items() if key not in own]
        costs[i] = costs[i] + pulp.LpAffineExpression(idle)
    for pair in sorted({(key[0], key[1]) for key in ports}):
        row = [(var, 1.0) for key, var in ports.items() if (key[0], key[1]) == pair]
        problem += (
            pulp.LpAffineExpression(row) <= 1,
            f"port_once_{len(costs)}_{'_'.join(map(str, pair))}",
        )
    n = len(futures)
    if measure == "cvar":
        eta = problem.add_variable("eta", None, None, pulp.LpContinuous)
        tails = [problem.add_variable(f"u_{i}", 0, None, pulp.LpContinuous) for i in range(n)]
        for i, (u, cost) in enumerate(zip(tails, costs, strict=True)):
            problem += u - cost + eta >= 0, f"tail_{i}"
        problem += eta + pulp.lpSum(tails) * (1.0 / ((1 - alpha) * n))
    else:
        problem += pulp.lpSum(costs) * (1.0 / n)
    run = run_highs(problem, settings, _start(start, masters, ports, measure, alpha))
    if run.status == "infeasible":
        return Stochastic(
            FirstStage(), measure, alpha, "infeasible", math.nan, math.nan, 0.0, (), _size(problem)
        )
    chosen = FirstStage(
        tuple((*key, round(v.varValue or 0)) for key, v in masters.items() if round(v.varValue or 0) > 0),
        tuple(sorted(_ported(ports))),
        fixed=True,
    )
    return Stochastic(
        chosen,
        measure,
        alpha,
        run.status,
        run.objective,
        run.bound,
        run.gap,
        tuple(float(pulp.value(c)) for c in costs),
        _size(problem),
    )


def _ported(ports: dict[PortKey, pulp.LpVariable]) -> set[tuple[str, Family, int]]:
    out = set()
    for key, var in ports.items():
        if (var.varValue or 0) > 0.5:
            out.add((key[0], key[1], key[2] if len(key) == 3 else 1))
    return out


def _start(
    start: tuple[FirstStage, Sequence[Recourse]] | None,
    masters: dict[Key, pulp.LpVariable],
    ports: dict[PortKey, pulp.LpVariable],
    measure: str,
    alpha: float,
) -> dict[str, float] | None:
    if start is None or any(r.status == "infeasible" for r in start[1]):
        return None
    first, futures = start
    values: dict[str, float] = {}
    for r in futures:
        values.update(r.values)
    counts = {(o, t, m): n for o, t, m, n in first.commits}
    for commit, var in masters.items():
        values[var.name] = float(counts.get(commit, 0))
    made: set[PortKey] = {(c, g) for c, g, _ in first.ports} | set(first.ports)
    for key, var in ports.items():
        values[var.name] = 1.0 if key in made else 0.0
    if measure == "cvar":
        spend = sorted(r.cost for r in futures)
        eta = spend[min(len(spend) - 1, math.ceil(alpha * len(spend)) - 1)]
        values["eta"] = eta
        for i, r in enumerate(futures):
            values[f"u_{i}"] = max(0.0, r.cost - eta)
    return values


def _size(problem: pulp.LpProblem) -> tuple[int, int, int]:
    variables = problem.variables()
    return len(variables), sum(v.cat != pulp.LpContinuous for v in variables), problem.numConstraints()
