"""The placement MILP, built with PuLP and solved in-process by HiGHS.

Sets
    T   training workloads;  I  inference workloads;  O  options;  G  families
    P   feasible (workload, option) pairs (costing.estimate(...).ok)
    C   codebases; (c, g) ∈ M where porting codebase c to family g costs something

Parameters (from costing)
    R[t,o]   horizon cost of training t on o = runs · cost per run
    n[t,o]   instances t holds at once on o (deadline and memory floor, whole)
    q[i,o]   instances needed for all of i's peak demand on o (fractional)
    H[o]     price of one instance over the horizon = usd_per_hour · hours_per_month · months
    cap[o]   capacity_instances;  F[c,g] port cost = weeks · engineer_week_usd;  φ max_family_share

Variables
    x[t,o] ∈ {0,1}       training run t placed on o (runs are indivisible)
    s[i,o] ∈ [0,1]       share of inference i's traffic served by o (may split)
    k[i,o] ∈ ℤ, 0..min(cap[o], ⌈q[i,o]⌉)   whole instances of o serving i
    y[c,g] ∈ {0,1}       codebase c is ported to family g

Objective
    min  Σ R[t,o]·x[t,o] + Σ H[o]·k[i,o] + Σ F[c,g]·y[c,g]

Constraints
    assign[w]         Σ_o x[t,o] = 1   and   Σ_o s[i,o] = 1
    throughput[i,o]   k[i,o] ≥ q[i,o] · s[i,o]
    no_idle[i,o]      k[i,o] ≤ q[i,o] · s[i,o] + 1 - 1e-4   (so k = ⌈q·s⌉: a spend policy cannot
                      be met by buying idle instances)
    capacity[o]       Σ_t n[t,o]·x[t,o] + Σ_i k[i,o] ≤ cap[o]
    port[w,o]         x[t,o] ≤ y[c(t),g(o)]   and   s[i,o] ≤ y[c(i),g(o)]   (where F > 0)
    share[g]          used[g] ≤ φ · Σ_g' used[g']   (only with a policy), where the spend a family
                      is charged is what its traffic uses: Σ R[t,o]·x[t,o] + Σ q[i,o]·H[o]·s[i,o].
                      Measured before rounding to whole instances, so a sliver of traffic on an
                      expensive instance cannot buy compliance; the report shows both shares.

Capacity is counted as if every workload runs at once (training runs at their deadline pace,
inference at its peak): the simplest honest model; a time-phased one would need run calendars.
`portability: gpu-only` and blocked ports remove pairs from P before the model is built.
With `elastic=True` (diagnosis only) capacity and share rows get penalised slack.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from importlib.metadata import version

import highspy
import pulp

from placement.costing import Estimate, port_weeks, whole
from placement.errors import SolverError
from placement.models import FAMILIES, Catalog, Family, Portfolio, Workload

SOLVER_NAME = f"HiGHS {version('highspy')} via PuLP {version('pulp')}"
DEFAULT_GAP = 1e-6
DEFAULT_TIME_LIMIT_S = 60.0
TOL = 1e-6
NO_IDLE = 1e-4  # k < q·s + 1: no instance beyond the traffic it serves


@dataclass(frozen=True)
class SolveSettings:
    gap: float = DEFAULT_GAP
    time_limit_s: float = DEFAULT_TIME_LIMIT_S


@dataclass
class Model:
    """A built model and the handles to read it back by domain ids."""

    problem: pulp.LpProblem
    pairs: dict[tuple[str, str], Estimate]
    x: dict[tuple[str, str], pulp.LpVariable] = field(default_factory=dict)
    s: dict[tuple[str, str], pulp.LpVariable] = field(default_factory=dict)
    k: dict[tuple[str, str], pulp.LpVariable] = field(default_factory=dict)
    y: dict[tuple[str, Family], pulp.LpVariable] = field(default_factory=dict)
    port_usd: dict[tuple[str, Family], float] = field(default_factory=dict)
    capacity_slack: dict[str, pulp.LpVariable] = field(default_factory=dict)
    share_slack: dict[Family, pulp.LpVariable] = field(default_factory=dict)


@dataclass(frozen=True)
class Solution:
    status: str
    gap: float
    objective: float
    training: dict[tuple[str, str], bool]
    shares: dict[tuple[str, str], float]
    instances: dict[tuple[str, str], int]
    ported: dict[tuple[str, Family], bool]
    capacity_slack: dict[str, float]
    share_slack: dict[Family, float]


def codebases(portfolio: Portfolio) -> dict[str, list[Workload]]:
    groups: dict[str, list[Workload]] = defaultdict(list)
    for w in portfolio.workloads:
        groups[w.codebase_name].append(w)
    return dict(groups)


def port_costs(
    portfolio: Portfolio, catalog: Catalog
) -> dict[tuple[str, Family], tuple[float, tuple[str, ...]]]:
    """(codebase, family) → (weeks, items counted), for every pair."""
    out = {}
    for name, members in codebases(portfolio).items():
        for family in FAMILIES:
            out[(name, family)] = port_weeks(catalog, members, family)
    return out


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text)


def build(
    portfolio: Portfolio,
    catalog: Catalog,
    ests: dict[tuple[str, str], Estimate],
    elastic: bool = False,
) -> Model:
    problem = pulp.LpProblem("placement", pulp.LpMinimize)
    pairs = {key: e for key, e in ests.items() if e.ok}
    model = Model(problem, pairs)
    options = {o.id: o for o in catalog.options}
    workloads = {w.name: w for w in portfolio.workloads}
    week_usd = catalog.migration.engineer_week_usd
    costs = port_costs(portfolio, catalog)

    cost_terms: dict[Family, list[tuple[pulp.LpVariable, float]]] = defaultdict(list)
    share_terms: dict[Family, list[tuple[pulp.LpVariable, float]]] = defaultdict(list)
    usage: dict[str, list[tuple[pulp.LpVariable, float]]] = defaultdict(list)
    assign: dict[str, list[tuple[pulp.LpVariable, float]]] = defaultdict(list)
    for index, ((wname, oid), est) in enumerate(pairs.items()):
        option = options[oid]
        if workloads[wname].kind == "training":
            var = problem.add_variable(f"x_{index}_{_safe(wname)}_{_safe(oid)}", cat=pulp.LpBinary)
            model.x[(wname, oid)] = var
            cost_terms[option.family].append((var, est.compute_usd))
            share_terms[option.family].append((var, est.compute_usd))
            usage[oid].append((var, est.instances_at_once))
        else:
            var = problem.add_variable(f"s_{index}_{_safe(wname)}_{_safe(oid)}", 0, 1)
            upper = min(option.capacity_instances, whole(est.instances_needed))
            count = problem.add_variable(f"k_{index}_{_safe(wname)}_{_safe(oid)}", 0, upper, pulp.LpInteger)
            model.s[(wname, oid)], model.k[(wname, oid)] = var, count
            cost_terms[option.family].append((count, est.usd_per_instance_horizon))
            share_terms[option.family].append((var, est.instances_needed * est.usd_per_instance_horizon))
            usage[oid].append((count, 1.0))
            problem += (
                pulp.LpAffineExpression([(count, 1.0), (var, -est.instances_needed)]) >= 0,
                f"throughput[{wname}@{oid}]",
            )
            problem += (
                pulp.LpAffineExpression([(count, 1.0), (var, -est.instances_needed)]) <= 1 - NO_IDLE,
                f"no_idle[{wname}@{oid}]",
            )
        assign[wname].append((var, 1.0))
        codebase = workloads[wname].codebase_name
        weeks = costs[(codebase, option.family)][0]
        if weeks > 0:
            key = (codebase, option.family)
            if key not in model.y:
                model.y[key] = problem.add_variable(f"y_{_safe(codebase)}_{option.family}", cat=pulp.LpBinary)
                model.port_usd[key] = weeks * week_usd
            problem += (
                pulp.LpAffineExpression([(var, 1.0), (model.y[key], -1.0)]) <= 0,
                f"port[{wname}@{oid}]",
            )

    objective = [term for terms in cost_terms.values() for term in terms]
    objective += [(model.y[key], usd) for key, usd in model.port_usd.items()]
    penalty = 1e3 * max([abs(c) for _, c in objective] + [1.0])
    for wname in workloads:
        problem += pulp.LpAffineExpression(assign[wname]) == 1, f"assign[{wname}]"
    for oid, terms in usage.items():
        row = list(terms)
        if elastic:
            slack = problem.add_variable(f"e_{_safe(oid)}", 0)
            model.capacity_slack[oid] = slack
            row.append((slack, -1.0))
            objective.append((slack, penalty))
        problem += pulp.LpAffineExpression(row) <= options[oid].capacity_instances, f"capacity[{oid}]"
    share = portfolio.policy.max_family_share
    if share is not None and share < 1:
        for family in sorted(share_terms):
            # used[g] - φ·Σ used = Σ_g (1-φ)c·v + Σ_other (-φ)c·v; one coefficient per variable
            # (PuLP's list constructor keeps only the last of repeated variables).
            row = [
                (v, (1 - share) * c if g == family else -share * c)
                for g, terms in share_terms.items()
                for v, c in terms
            ]
            if elastic:
                slack = problem.add_variable(f"f_{family}", 0)
                model.share_slack[family] = slack
                row.append((slack, -1.0))
                objective.append((slack, penalty / 1e3))
            problem += pulp.LpAffineExpression(row) <= 0, f"share[{family}]"
    problem += pulp.LpAffineExpression(objective)
    return model


_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kIterationLimit: "iteration_limit",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
    highspy.HighsModelStatus.kSolutionLimit: "solution_limit",
    highspy.HighsModelStatus.kObjectiveBound: "objective_bound",
    highspy.HighsModelStatus.kObjectiveTarget: "objective_target",
}
_STOPPED_EARLY = {"time_limit", "iteration_limit", "interrupted", "solution_limit"}


def solve(model: Model, settings: SolveSettings) -> Solution:
    """Solve; map HiGHS's own status (PuLP reports a time limit as 'Optimal')."""
    solver = pulp.HiGHS(msg=False, gapRel=settings.gap, timeLimit=settings.time_limit_s)
    try:
        model.problem.solve(solver)
    except Exception as exc:  # PuLP raises bare KeyError on HiGHS statuses it does not map
        raise SolverError(f"the solver failed: {type(exc).__name__}: {exc}") from None
    highs = model.problem.solverModel
    status = _STATUS.get(highs.getModelStatus(), "solver_error")
    info = highs.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if status in _STOPPED_EARLY and not has_solution:
        raise SolverError(
            f"the solver stopped ({status.replace('_', ' ')}) before finding any plan; raise --time-limit"
        )
    if status not in {"optimal", "infeasible", *_STOPPED_EARLY}:
        raise SolverError(f"the solver ended with status {status!r}; no plan is reported")
    gap = 0.0
    if has_solution and (model.x or model.k or model.y):
        gap = float(info.mip_gap)
        if not math.isfinite(gap) or gap < 0:
            gap = 0.0 if status == "optimal" else math.inf

    def val(v: pulp.LpVariable) -> float:
        return float(v.varValue or 0.0)

    return Solution(
        status=status,
        gap=gap,
        objective=float(info.objective_function_value) if has_solution else float("nan"),
        training={key: val(v) > 0.5 for key, v in model.x.items()},
        shares={key: val(v) for key, v in model.s.items()},
        instances={key: round(val(v)) for key, v in model.k.items()},
        ported={key: val(v) > 0.5 for key, v in model.y.items()},
        capacity_slack={key: val(v) for key, v in model.capacity_slack.items()},
        share_slack={key: val(v) for key, v in model.share_slack.items()},
    )


def model_size(model: Model) -> tuple[int, int, int]:
    variables = model.problem.variables()
    integers = sum(1 for v in variables if v.cat != pulp.LpContinuous)
    return len(variables), integers, model.problem.numConstraints()
