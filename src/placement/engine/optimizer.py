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
    throughput[i,o]   k[i,o] ≥ q[i,o] · s[i,o], as the convex hull of its whole-instance points:
                      k ≥ s when q ≤ 1, plus last_instance k ≥ ⌊q⌋ + (q·s − ⌊q⌋)/frac(q) otherwise
    cover[i]          Σ_o k[i,o]/q[i,o] ≥ 1 rounded (mixed-integer rounding), one row per option
                      with fractional q > 1: see `_cover_rows`
    capacity[o]       Σ_t n[t,o]·x[t,o] + Σ_i k[i,o] ≤ cap[o]
    port[w,o]         x[t,o] ≤ y[c(t),g(o)]   and   s[i,o] ≤ y[c(i),g(o)]   (where F > 0)
    share[g]          used[g] ≤ φ · Σ_g' used[g']   (only with a policy), where the spend a family
                      is charged is what its traffic uses: Σ R[t,o]·x[t,o] + Σ q[i,o]·H[o]·s[i,o].
                      Measured before rounding to whole instances, so a sliver of traffic on an
                      expensive instance cannot buy compliance, and neither can idle instances;
                      the report shows both shares.

The throughput hull and cover rows add no restriction (every whole-instance plan satisfies them);
they tighten the LP relaxation, which is what made 1,000-workload plans fast (benchmarks/README.md).
Pairs no optimal plan needs are dropped before building (`prune`).  The solver may leave an idle
instance within its gap; `solve` returns k = min(k, ⌈q·s⌉), which only lowers cost and usage.

Capacity is counted as if every workload runs at once (training runs at their deadline pace,
inference at its peak): the simplest honest model; a time-phased one would need run calendars.
`portability: gpu-only` and blocked ports remove pairs from P before the model is built.
With `elastic=True` (diagnosis only) capacity and share rows get penalised slack.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import version

import highspy
import pulp

from placement.engine.costing import Estimate, port_weeks, whole
from placement.errors import SolverError
from placement.inputs.models import FAMILIES, Catalog, Family, Policy, Portfolio, Workload

SOLVER_NAME = f"HiGHS {version('highspy')} via PuLP {version('pulp')}"
DEFAULT_GAP = 1e-6
DEFAULT_TIME_LIMIT_S = 60.0
TOL = 1e-6
# HiGHS options beyond gap and time (benchmarks/README.md has the measurements behind each).
HIGHS_OPTIONS: dict[str, object] = {"mip_allow_restart": False}


Row = list[tuple[pulp.LpVariable, float]]


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
    spread_shares: bool = False  # see `_inference`
    share_cap: float | None = None  # max_family_share, when there is one


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


def _throughput_rows(
    share: pulp.LpVariable, count: pulp.LpVariable, q: float
) -> list[tuple[str, Row, float]]:
    """Rows making whole instances k cover share s of q: the convex hull of {k ≥ q·s, k ∈ ℤ}.

    Its lower edge runs through (s, k) = (j/q, j) for j ≤ ⌊q⌋ and ends at (1, ⌈q⌉).  k ≥ q·s is
    the first facet; for fractional q the last one is k ≥ ⌊q⌋ + (q·s − ⌊q⌋)/f with f = q − ⌊q⌋
    (for q < 1 simply k ≥ s: any traffic at all needs a whole instance).  Without it the LP
    relaxation buys 0.08 of an instance for a small service and the solver spends its time
    generating these cuts itself.
    """
    top = whole(q)
    if 0 < q and top <= 1:
        return [("throughput", [(count, 1.0), (share, -1.0)], 0.0)]
    rows: list[tuple[str, Row, float]] = [("throughput", [(count, 1.0), (share, -q)], 0.0)]
    fraction = q - (top - 1)
    if 1e-3 < fraction < 1 - 1e-9:
        rows.append(("last_instance", [(count, fraction), (share, -q)], (top - 1) * (fraction - 1)))
    return rows


def _cover_rows(terms: Row) -> list[tuple[Row, float]]:
    """Mixed-integer rounding cuts on one service's whole instances across its options.

    Shares add up to 1 and k[o] ≥ q[o]·s[o], so Σ_o k[o]/q[o] ≥ 1.  Scaled by q[p] for each
    option p with fractional q[p] > 1 this reads Σ_o a[o]·k[o] ≥ q[p] with a[o] = q[p]/q[o];
    MIR rounds it to Σ_o (⌊a[o]⌋ + min(1, frac(a[o])/f))·k[o] ≥ ⌈q[p]⌉ with f = frac(q[p]).
    It stops the LP relaxation from buying ⌊q⌋ whole instances of one option and a fraction of
    an instance of another for the rest.
    """
    rows = []
    for _, scale in terms:
        floor = whole(scale) - 1
        f = scale - floor
        if floor < 1 or not 1e-3 < f < 1 - 1e-3:
            continue
        row = []
        for count, q in terms:
            a = scale / q
            fa = a - math.floor(a)
            row.append((count, a if fa < 1e-9 else math.floor(a) + min(1.0, fa / f)))
        rows.append((row, float(floor + 1)))
    return rows


def _dominates(a: Estimate, b: Estimate) -> bool:
    """Whether option a costs no more than option b for every share of the workload b serves.

    Training: a run's horizon cost.  Inference: b's cost for share s is H·⌈q·s⌉, a step function
    with steps at s = j/q; a's cost is non-decreasing in s, so it suffices to compare at each
    step's right end.  Once a's continuous rate is strictly below b's, ⌈x⌉ ≤ x + 1 settles every
    later step, so the loop stops there (and gives up, answering no, past 10,000 steps).
    """
    if b.instances_needed == 0:
        return a.compute_usd <= b.compute_usd * (1 + 1e-12)
    q, usd = b.instances_needed, b.usd_per_instance_horizon
    qa, usd_a = a.instances_needed, a.usd_per_instance_horizon
    rate_a = usd_a * qa / q  # a's cost per instance-worth of b, before rounding
    last = whole(q)
    if usd > rate_a:
        last = min(last, math.ceil(usd_a / (usd - rate_a)) + 1)
    if last > 10_000:
        return False
    return all(usd_a * whole(qa * min(1.0, j / q)) <= j * usd * (1 + 1e-12) for j in range(1, last + 1))


def prune(
    portfolio: Portfolio,
    catalog: Catalog,
    pairs: dict[tuple[str, str], Estimate],
    costs: dict[tuple[str, Family], tuple[float, tuple[str, ...]]],
) -> dict[tuple[str, str], Estimate]:
    """Drop pairs that no optimal plan needs, so the solver sees a smaller model.

    Pair (w, o) goes when another of w's options o' is
      - never short of capacity: even if every workload that can use o' took all it could
        (training: n, inference: ⌈q⌉), the total fits in cap[o'];
      - free to move to: same family as o, or a family w's codebase needs no port for;
      - at least as cheap for every share (`_dominates`); on an exact tie the catalog's earlier
        option stays.
    Then any plan using (w, o) can move that share onto o' for no more money (⌈q'(s1+s2)⌉ ≤
    ⌈q's1⌉ + ⌈q's2⌉), within o''s capacity, without a new port, so the optimum is unchanged.
    A family-share policy depends on which family spends what, so with one nothing is dropped.
    """
    share = portfolio.policy.max_family_share
    if share is not None and share < 1:
        return pairs
    options = {o.id: o for o in catalog.options}
    order = {o.id: index for index, o in enumerate(catalog.options)}
    draw: dict[str, int] = defaultdict(int)
    by_workload: dict[str, list[tuple[str, Estimate]]] = defaultdict(list)
    for (wname, oid), est in pairs.items():
        draw[oid] += est.instances_at_once if est.instances_needed == 0 else whole(est.instances_needed)
        by_workload[wname].append((oid, est))
    roomy = {oid for oid, total in draw.items() if total <= options[oid].capacity_instances}
    codebase = {w.name: w.codebase_name for w in portfolio.workloads}

    def dropped(wname: str, oid: str, est: Estimate) -> bool:
        family = options[oid].family
        for other, alt in by_workload[wname]:
            if other == oid or other not in roomy:
                continue
            if options[other].family != family and costs[(codebase[wname], options[other].family)][0] > 0:
                continue
            if _dominates(alt, est) and (order[other] < order[oid] or not _dominates(est, alt)):
                return True
        return False

    return {key: est for key, est in pairs.items() if not dropped(*key, est)}


def build(
    portfolio: Portfolio,
    catalog: Catalog,
    ests: dict[tuple[str, str], Estimate],
    elastic: bool = False,
) -> Model:
    problem = pulp.LpProblem("placement", pulp.LpMinimize)
    pairs = {key: e for key, e in ests.items() if e.ok}
    costs = port_costs(portfolio, catalog)
    if not elastic:
        pairs = prune(portfolio, catalog, pairs, costs)
    share = portfolio.policy.max_family_share
    cap = share if share is not None and share < 1 else None
    model = Model(problem, pairs, spread_shares=not elastic, share_cap=cap)
    options = {o.id: o for o in catalog.options}
    workloads = {w.name: w for w in portfolio.workloads}
    week_usd = catalog.migration.engineer_week_usd

    cost_terms: dict[Family, Row] = defaultdict(list)
    share_terms: dict[Family, Row] = defaultdict(list)
    usage: dict[str, Row] = defaultdict(list)
    assign: dict[str, Row] = defaultdict(list)
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
            for name, row, floor in _throughput_rows(var, count, est.instances_needed):
                problem += pulp.LpAffineExpression(row) >= floor, f"{name}[{wname}@{oid}]"
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
    counts: dict[str, Row] = defaultdict(list)
    for (wname, oid), count in model.k.items():
        counts[wname].append((count, pairs[(wname, oid)].instances_needed))
    for wname, terms in counts.items():
        for index, (row, floor) in enumerate(_cover_rows(terms)):
            problem += pulp.LpAffineExpression(row) >= floor, f"cover_{index}[{wname}]"
    _capacity_rows(model, catalog, usage, objective, penalty if elastic else None)
    if share is not None and share < 1:
        _share_rows(model, share_terms, share, objective, penalty / 1e3 if elastic else None)
    problem += pulp.LpAffineExpression(objective)
    return model


def _capacity_rows(
    model: Model, catalog: Catalog, usage: dict[str, Row], objective: Row, penalty: float | None
) -> None:
    """capacity[o]; with a penalty (diagnosis), a priced slack per row."""
    for option in catalog.options:
        if option.id not in usage:
            continue
        row = list(usage[option.id])
        if penalty is not None:
            slack = model.problem.add_variable(f"e_{_safe(option.id)}", 0)
            model.capacity_slack[option.id] = slack
            row.append((slack, -1.0))
            objective.append((slack, penalty))
        model.problem += pulp.LpAffineExpression(row) <= option.capacity_instances, f"capacity[{option.id}]"


def _share_rows(
    model: Model, share_terms: dict[Family, Row], share: float, objective: Row, penalty: float | None
) -> None:
    """share[g]; with a penalty (diagnosis), a priced slack per row."""
    for family in sorted(share_terms):
        # used[g] - φ·Σ used = Σ_g (1-φ)c·v + Σ_other (-φ)c·v; one coefficient per variable
        # (PuLP's list constructor keeps only the last of repeated variables).
        row = [
            (v, (1 - share) * c if g == family else -share * c)
            for g, terms in share_terms.items()
            for v, c in terms
        ]
        if penalty is not None:
            slack = model.problem.add_variable(f"f_{family}", 0)
            model.share_slack[family] = slack
            row.append((slack, -1.0))
            objective.append((slack, penalty))
        model.problem += pulp.LpAffineExpression(row) <= 0, f"share[{family}]"


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


class _StartedHiGHS(pulp.HiGHS):  # type: ignore[misc]
    """PuLP's in-process HiGHS, handed a feasible plan (values by variable name) before it runs."""

    def __init__(self, start: dict[str, float], **options: object) -> None:
        super().__init__(**options)
        self.start = start

    def callSolver(self, lp: pulp.LpProblem) -> None:
        values = [0.0] * len(lp.variables())
        for v in lp.variables():
            values[v.index] = self.start.get(v.name, 0.0)
        given = highspy.HighsSolution()
        given.col_value = values
        given.value_valid = True
        lp.solverModel.setSolution(given)
        lp.solverModel.run()


def solve(model: Model, settings: SolveSettings, start: dict[str, float] | None = None) -> Solution:
    """Solve; map HiGHS's own status (PuLP reports a time limit as 'Optimal').  `start`, a
    feasible plan by variable name, is handed to HiGHS as its first incumbent."""
    options = {"msg": False, "gapRel": settings.gap, "timeLimit": settings.time_limit_s, **HIGHS_OPTIONS}
    solver = _StartedHiGHS(start, **options) if start else pulp.HiGHS(**options)
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

    objective = float(info.objective_function_value) if has_solution else float("nan")
    return read_solution(model, status, gap, objective)


def optimize(
    portfolio: Portfolio,
    catalog: Catalog,
    ests: dict[tuple[str, str], Estimate],
    settings: SolveSettings,
) -> tuple[Model, Solution]:
    """Build and solve; a family-share policy that the cheapest plan already meets costs nothing.

    With a policy, the model without it is solved first: it is smaller (`prune` applies) and has
    no dense share rows, and its optimum bounds the policy's from below.  When its plan meets the
    policy (on the canonical shares the report shows), that plan is optimal under the policy too,
    within the same proven gap; otherwise the full model is solved.
    """
    share = portfolio.policy.max_family_share
    if share is not None and share < 1:
        free = portfolio.model_copy(update={"policy": Policy()})
        start = time.monotonic()
        model = build(free, catalog, ests)
        solution = solve(model, settings)
        if solution.status == "infeasible":
            return model, solution
        used = used_spend(model.pairs, solution.training, solution.shares)
        total = sum(used.values())
        if all(spend <= share * total + 1e-9 * total for spend in used.values()):
            return model, solution
        left = max(1.0, settings.time_limit_s - (time.monotonic() - start))  # one limit for both
        full = build(portfolio, catalog, ests)
        plan = _within_policy(full, portfolio, catalog, solution, share)
        policed = solve(full, SolveSettings(settings.gap, left), plan)
        return full, _bounded(policed, solution.objective * (1 - solution.gap), settings.gap)
    model = build(portfolio, catalog, ests)
    return model, solve(model, settings)


def _within_policy(
    model: Model, portfolio: Portfolio, catalog: Catalog, free: Solution, share: float
) -> dict[str, float] | None:
    """A plan that meets the policy, repaired from the policy-free one, as a first incumbent.

    While a family's used spend is over φ of the total, move one workload that runs wholly in
    it onto its cheapest option in another family with room (capacity, and that family's own
    cap), paying any new port: the move with the least extra cost per unit of excess removed.
    Returns every variable's value by name, or None if the repair gets stuck.
    """
    repair = _Repair(model, portfolio, catalog, free, share)
    for _ in range(len(repair.placed) + 1):
        total = sum(repair.used.values())
        over = [g for g in sorted(repair.used) if repair.used[g] > share * total * (1 - 1e-7)]
        if not over:
            return repair.values()
        move = repair.best_move(over[0])
        if move is None:
            return None
        repair.apply(*move)
    return None


class _Repair:
    """The state of `_within_policy`: where each workload runs, free instances, used spend."""

    def __init__(self, model: Model, portfolio: Portfolio, catalog: Catalog, free: Solution, share: float):
        self.model, self.share, self.ests = model, share, model.pairs
        self.room = {o.id: o.capacity_instances for o in catalog.options}
        self.codebase = {w.name: w.codebase_name for w in portfolio.workloads}
        self.placed: dict[str, dict[str, tuple[float, int]]] = defaultdict(dict)  # w → o → (s, k)
        for key, chosen in free.training.items():
            if chosen:
                self.placed[key[0]][key[1]] = (1.0, self.ests[key].instances_at_once)
        for key, part in free.shares.items():
            if part > TOL:
                self.placed[key[0]][key[1]] = (part, free.instances[key])
        self.used: dict[Family, float] = defaultdict(float)
        for wname, where in self.placed.items():
            for oid, (part, count) in where.items():
                self.room[oid] -= count
                self.used[self.ests[(wname, oid)].family] += _used(self.ests[(wname, oid)], part)
        self.alternatives: dict[str, list[tuple[str, Estimate]]] = defaultdict(list)
        for (wname, oid), est in self.ests.items():
            self.alternatives[wname].append((oid, est))
        self.ported = {key for key, on in free.ported.items() if on}

    def best_move(self, family: Family) -> tuple[str, str, Family] | None:
        total, best, choice = sum(self.used.values()), math.inf, None
        for wname in sorted(self.placed):
            where = self.placed[wname]
            if any(self.ests[(wname, oid)].family != family for oid in where):
                continue
            out = sum(_used(self.ests[(wname, oid)], part) for oid, (part, _) in where.items())
            saved = sum(_cost(self.ests[(wname, oid)], count) for oid, (_, count) in where.items())
            for oid, est in self.alternatives[wname]:
                into = _used(est, 1.0)
                if est.family == family or est.instances > self.room[oid]:
                    continue
                if self.used[est.family] + into > self.share * (total - out + into) * (1 - 1e-7):
                    continue
                port = (self.codebase[wname], est.family)
                extra = _cost(est, est.instances) - saved
                extra += self.model.port_usd.get(port, 0.0) if port not in self.ported else 0.0
                score = extra / ((1 - self.share) * out + self.share * into)
                if score < best:
                    best, choice = score, (wname, oid, family)
        return choice

    def apply(self, wname: str, oid: str, family: Family) -> None:
        for old, (part, count) in self.placed[wname].items():
            self.room[old] += count
            self.used[family] -= _used(self.ests[(wname, old)], part)
        est = self.ests[(wname, oid)]
        self.placed[wname] = {oid: (1.0, est.instances)}
        self.room[oid] -= est.instances
        self.used[est.family] += _used(est, 1.0)
        self.ported.add((self.codebase[wname], est.family))

    def values(self) -> dict[str, float]:
        model, values = self.model, {}
        for wname, where in self.placed.items():
            for oid, (part, count) in where.items():
                key = (wname, oid)
                if key in model.x:
                    values[model.x[key].name] = 1.0
                else:
                    values[model.s[key].name] = part
                    values[model.k[key].name] = float(count)
                port = (self.codebase[wname], self.ests[key].family)
                if port in model.y:
                    values[model.y[port].name] = 1.0
        return values


def _bounded(solution: Solution, bound: float, asked: float) -> Solution:
    """The proven gap against the better of the solver's bound and `bound` (a relaxation's: the
    policy-free optimum costs no more than any plan under the policy)."""
    value = solution.objective
    if not (math.isfinite(value) and math.isfinite(bound)) or value <= 0:
        return solution
    gap = max(0.0, (value - bound) / value)
    if gap >= solution.gap:
        return solution
    status = "optimal" if gap <= asked else solution.status
    return dataclasses.replace(solution, gap=gap, status=status)


def _used(est: Estimate, part: float) -> float:
    """Spend a share of a workload uses, as the share rows count it."""
    return (
        est.compute_usd * part
        if est.instances_needed == 0
        else est.instances_needed * est.usd_per_instance_horizon * part
    )


def _cost(est: Estimate, count: int) -> float:
    """What a placement costs: a training run, or `count` whole instances."""
    return est.compute_usd if est.instances_needed == 0 else count * est.usd_per_instance_horizon


def _val(v: pulp.LpVariable) -> float:
    return float(v.varValue or 0.0)


def read_solution(model: Model, status: str, gap: float, objective: float) -> Solution:
    """The solved variables by domain ids (any PuLP solver), with inference made canonical."""
    training = {key: _val(v) > 0.5 for key, v in model.x.items()}
    shares, instances = _inference(model, training)
    return Solution(
        status=status,
        gap=gap,
        objective=objective,
        training=training,
        shares=shares,
        instances=instances,
        ported={key: _val(v) > 0.5 for key, v in model.y.items()},
        capacity_slack={key: _val(v) for key, v in model.capacity_slack.items()},
        share_slack={key: _val(v) for key, v in model.share_slack.items()},
    )


def _inference(
    model: Model, training: dict[tuple[str, str], bool]
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], int]]:
    """Shares and whole instances per inference pair, made canonical.

    Instances: k = min(k, ⌈q·s⌉); the solver may leave an idle one within its gap.  Shares: when
    several options serve one service, any split the instances can carry costs the same, so the
    solver's pick is arbitrary (and differs between solvers).  The traffic is spread in
    proportion to what each option's instances can serve, k/q, so equal instances always give
    equal shares, unless that would break the family-share policy (which is measured on shares):
    then the solver's shares, which met it, stay.
    """
    shares = {key: _val(v) for key, v in model.s.items()}
    instances = {key: _in_use(round(_val(v)), shares[key], model.pairs[key]) for key, v in model.k.items()}
    if not model.spread_shares:
        return shares, instances
    room: dict[str, float] = defaultdict(float)
    for (wname, oid), count in instances.items():
        room[wname] += count / model.pairs[(wname, oid)].instances_needed
    spread = dict(shares)
    for key, count in instances.items():
        if room[key[0]] >= 1 - TOL:
            spread[key] = count / model.pairs[key].instances_needed / room[key[0]]
    if model.share_cap is not None:
        used = used_spend(model.pairs, training, spread)
        total = sum(used.values())
        if any(spend > model.share_cap * total + 1e-9 * total for spend in used.values()):
            return shares, instances
    return spread, instances


def used_spend(
    ests: Mapping[tuple[str, str], Estimate],
    training: Mapping[tuple[str, str], bool],
    shares: Mapping[tuple[str, str], float],
) -> dict[Family, float]:
    """The spend each family's traffic uses, as the share rows measure it: training runs chosen
    at their cost, inference at q·H·share (before rounding to whole instances)."""
    used: dict[Family, float] = defaultdict(float)
    for key, chosen in training.items():
        if chosen:
            used[ests[key].family] += ests[key].compute_usd
    for key, share in shares.items():
        est = ests[key]
        used[est.family] += est.instances_needed * est.usd_per_instance_horizon * share
    return used


def _in_use(count: int, share: float, est: Estimate) -> int:
    """Instances a share needs, never more than the solver bought: idle ones are dropped."""
    return 0 if share <= TOL else min(count, whole(est.instances_needed * share))


def model_size(model: Model) -> tuple[int, int, int]:
    variables = model.problem.variables()
    integers = sum(1 for v in variables if v.cat != pulp.LpContinuous)
    return len(variables), integers, model.problem.numConstraints()
