"""Solving the placement MILP (engine/formulation.py) and reading its answer back.

`prune` drops pairs no optimal plan needs before the model is built; `optimize` solves a
family-share policy's relaxation first (the policy-free model is smaller and bounds it from below)
and the full model only when that plan breaks the policy; `read_solution` turns the solved
variables into domain ids, with inference shares made canonical (equal instances, equal shares).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version

import highspy
import pulp

from placement.engine import decompose, improve, neighbourhoods, timeline
from placement.engine.costing import Estimate, whole
from placement.engine.floor import lower_bound
from placement.engine.formulation import (
    Model,
    build,
    codebases,
    instruments,
    port_costs,
    run_hours,
    usable,
)
from placement.engine.highs_start import StartedHiGHS
from placement.engine.plan import Purchase
from placement.engine.start import cost, greedy_start, main_of, policy_start
from placement.errors import SolverError
from placement.inputs.models import Catalog, Family, Option, Portfolio, Workload

__all__ = ["Model", "build", "codebases", "port_costs"]

SOLVER_NAME = f"HiGHS {version('highspy')} via PuLP {version('pulp')}"
DEFAULT_GAP = 1e-6
DEFAULT_TIME_LIMIT_S = 60.0
TOL = 1e-6
# HiGHS options beyond gap and time (benchmarks/README.md has the measurements behind each).
# threads=1: with HiGHS's own thread pool, `stress` on the enterprise example gave a different (equally
# cheap) plan for one shock on 1 and on 2 workers (16 against 13 workloads moved); with one thread the
# output is the same to the byte, and the examples solve as fast (3.4 / 1.9 / 1.7 s either way).
HIGHS_OPTIONS: dict[str, object] = {"mip_allow_restart": False, "threads": 1}
# Fix-and-optimize (engine/improve.py) on models with at least this many integer variables, given a
# first plan: HiGHS stops after its root node, or after HAND_OVER of the time limit once it has a
# plan of its own (its root cut loop can run past a minute), and a plan still above the asked gap
# is improved a few codebases or months at a time in the rest of the limit.  At this size a node's LP takes
# seconds (1,000 diverse workloads × 12 months: 5 nodes in 180 s); smaller models keep HiGHS's
# branch-and-bound, which closes their gaps (benchmarks/README.md).
IMPROVE_MIN_INTEGERS = 10_000
HAND_OVER = 0.6
# A smaller model keeps HiGHS's branch-and-bound, which proves most of them optimal in seconds.
# One it has not proven by HAND_OVER of the time limit (and PATIENCE_MIN_S) goes to fix-and-optimize
# from HiGHS's best plan, and, when that stalls with at least RESUME_S left, back to HiGHS from the
# better plan for the rest of the limit, to raise the bound.  startup.yaml at 36 months: HiGHS's
# plan at the 60 s limit was $636,838, 2.19% above the optimum ($623,205, proven in 534 s), and
# fix-and-optimize finds that optimum (benchmarks/README.md).
PATIENCE_MIN_S = 10.0  # and never before this: a short --time-limit leaves HiGHS its whole limit
RESUME_S = 2.0
# The time limit a solve gets once the whole limit has passed (`optimize`'s `left`).  A model of
# IMPROVE_MIN_INTEGERS or more with a start is then not handed to HiGHS, whose presolve does not
# look at the clock: with 1 s, 10,000 diverse workloads on one period took 37 s per solve
# (benchmarks/README.md); the start is the plan, its gap against the bound in hand.
NO_TIME_S = 1.0
# Solving by blocks (engine/decompose.py) gets this share of the time left; the rest is for the
# whole model when the blocks' plans do not fit its capacity together.
DECOMPOSE_SHARE = 0.5
# A binding family-share policy on a large model: the LP-guided start (`_guided_by_lp`) may run
# until this share of the time limit has passed (at least a fifth is left for the whole model),
# and is solved to this gap (it is a start, not the answer)
GUIDE_SHARE = 0.8
GUIDE_GAP = 1e-2
GUIDE_BESIDE = 0.5  # beside a repaired start, the LP-guided one only with this share of the limit left
BLOCK_GAP = 0.5  # each block solved to this share of the asked gap (the bound is theirs added up)
# A model that falls apart into blocks with at least this many integer variables is never handed
# to HiGHS whole: at 10,000 diverse workloads on one period (227,000 integers) HiGHS did not finish
# presolving it in 15-22 s, and priced rounds of blocks (26-28 s each) added nothing.  After the
# blocks' first round the greedy plan by regret is improved a few blocks at a time
# (engine/neighbourhoods.py) for the rest of the time limit; each group is solved to GROUP_GAP of
# the asked gap in at most GROUP_TIME_S.  Diverse workloads, one period, --time-limit 60, groups
# against the whole model (benchmarks/README.md): 1,000 (11,000-22,000 integers) the same plans;
# 2,000 (45,000) 0.73% against 0.80%; 2,500 (57,000) 0.086% in 41 s against 1.27%; 5,000
# (114,000) 0.23% against 1.23%; 10,000 ≤ 1% against the greedy plan.
WHOLE_MAX_INTEGERS = 40_000
# Under a binding family-share cap groups do little (a group cannot move spend between families
# beyond what the whole plan's shares allow): at 1,000 workloads they ended at 13.5% and 36.4%
# where HiGHS on the whole model reaches 0.48% and 0.25%, so only a policed model this large,
# which HiGHS cannot take whole (10,000: 10.7% → 10.26%), is improved by groups.
POLICED_GROUPS_MIN_INTEGERS = 100_000
GROUP_GAP = 0.1
GROUP_TIME_S = 2.0
# moving the workloads that overfill an option (`_moved`): the most integer variables freed, and the
# share of the time limit it may take.  1,000 diverse workloads on one period: 4,300-5,900 freed,
# a plan in 0.7-1.9 s; 10,000: no plan in 12 s (benchmarks/README.md)
REPAIR_MAX_INTEGERS = 10_000
REPAIR_SHARE = 0.1


@dataclass(frozen=True)
class SolveSettings:
    gap: float = DEFAULT_GAP
    time_limit_s: float = DEFAULT_TIME_LIMIT_S


@dataclass(frozen=True)
class Solution:
    status: str
    gap: float
    objective: float
    training: dict[tuple[str, str], bool]
    run_hours: dict[tuple[str, str, int], float]  # (workload, option, period) → instance-hours
    runs_at_once: dict[tuple[str, str, int], int]
    shares: dict[tuple[str, str, int], float]  # (workload, option, period)
    instances: dict[tuple[str, str, int], int]
    ported: dict[tuple[str, Family], int]  # (codebase, family) → first period usable, 0 if not ported
    commitments: dict[tuple[str, str, int], int]  # (option, term, start period) → instances
    on_demand_hours: dict[tuple[str, int], float]
    block_hours: dict[tuple[str, int], float]
    block_instances: dict[tuple[str, int], int]
    capacity_slack: dict[tuple[str, int], float]
    share_slack: dict[Family, float]
    window_slack: dict[tuple[str, str], float]
    region_slack: dict[str, float]


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
    bought: tuple[Purchase, ...] = (),
    committed: Collection[str] = (),
    scarce: Collection[str] = (),
) -> dict[tuple[str, str], Estimate]:
    """Drop pairs that no optimal plan needs, so the solver sees a smaller model.

    Pair (w, o) goes when another of w's options o' is
      - sold on demand, and never short of capacity: even if every workload that can use o' took
        all it could in its largest month (training: n · runs, inference: ⌈q · peak factor⌉), the
        total fits in o''s least month of the capacity calendar;
      - free to move to: same family as o, or a family w's codebase needs no port for; in o's
        region when the policy caps spend per region;
      - at least as cheap on demand, for every share of w's largest month (`_dominates`), as o is
        at o's cheapest instrument (its on-demand price when only that is allowed); for training
        able to do all of w's runs inside its window.  On an exact tie the catalog's earlier
        option stays.
    Then any plan using (w, o) can move that share onto o' on demand for no more than it could
    cost on o, within o''s capacity, without a new port.  On demand only, that is exact.  With
    commitments there is one exception the rule does not cover: a plan whose commitments on o sit
    idle in some month could carry w there for nothing; the time-phased plan never buys such a
    commitment for w alone, but may miss using one bought for others (README "Rules").  Options
    with commitments already bought (`bought`, or signed in a first stage: `committed`) keep
    every pair.  A family-share policy depends on which family spends what, so with one nothing
    is dropped.  `scarce` options are never the alternative (a block of engine/decompose.py
    that prices their capacity: a priced option is no longer as cheap as its price says).
    """
    share = portfolio.policy.max_family_share
    if share is not None and share < 1:
        return pairs
    options = {o.id: o for o in catalog.options}
    workloads = {w.name: w for w in portfolio.workloads}
    sunk = {p.option for p in bought if p.instrument != "on-demand"} | set(committed)
    floor = {oid: (0.0 if oid in sunk else _cheapest_rate(portfolio, options[oid])) for oid in options}
    scaled = _largest_month(portfolio, pairs)
    draw: dict[str, int] = defaultdict(int)
    by_workload: dict[str, list[str]] = defaultdict(list)
    for (wname, oid), est in scaled.items():
        w = workloads[wname]
        draw[oid] += est.instances_at_once * w.run_count if w.kind == "training" else est.instances
        by_workload[wname].append(oid)
    on_demand = {o.id for o in catalog.options if "on-demand" in instruments(portfolio, o)}
    roomy = {
        oid
        for oid, total in draw.items()
        if oid in on_demand and oid not in scarce and total <= min(timeline.capacity(portfolio, options[oid]))
    }
    periods = timeline.periods(portfolio, catalog)

    def movable(wname: str, oid: str, other: str) -> bool:
        family, codebase = options[oid].family, workloads[wname].codebase_name
        if other == oid or other not in roomy:
            return False
        if options[other].family != family and costs[(codebase, options[other].family)][0] > 0:
            return False
        if portfolio.policy.max_region_usd and options[other].region != options[oid].region:
            return False
        if workloads[wname].kind == "training":
            first, last = timeline.window(portfolio, workloads[wname])
            hours = sum(p.hours for p in periods[first - 1 : last])
            alt = scaled[(wname, other)]
            return run_hours(portfolio, alt) <= hours * alt.instances_at_once * workloads[wname].run_count
        return True

    def dropped(wname: str, oid: str) -> bool:
        low = _at_rate(scaled[(wname, oid)], floor[oid])
        return any(
            movable(wname, oid, other)
            and _dominates(scaled[(wname, other)], low)
            and (
                floor[oid] < 1
                or catalog.option_ids.index(other) < catalog.option_ids.index(oid)
                or not _dominates(low, scaled[(wname, other)])
            )
            for other in by_workload[wname]
        )

    return {key: est for key, est in pairs.items() if not dropped(*key)}


def _cheapest_rate(portfolio: Portfolio, option: Option) -> float:
    """The option's cheapest allowed price per instance-hour as a multiple of usd_per_hour."""
    prices = instruments(portfolio, option)
    return min(prices.values()) / option.usd_per_hour if prices else 1.0


def _at_rate(est: Estimate, rate: float) -> Estimate:
    if rate == 1.0:
        return est
    return dataclasses.replace(
        est, usd_per_instance_horizon=est.usd_per_instance_horizon * rate, compute_usd=est.compute_usd * rate
    )


def _largest_month(
    portfolio: Portfolio, pairs: dict[tuple[str, str], Estimate]
) -> dict[tuple[str, str], Estimate]:
    """Inference estimates scaled to the workload's largest month (prune compares those)."""
    peak = {w.name: max(timeline.demand(portfolio, w)) for w in portfolio.workloads if w.kind == "inference"}
    return {
        key: est
        if est.instances_needed == 0
        else dataclasses.replace(est, instances_needed=est.instances_needed * peak[key[0]])
        for key, est in pairs.items()
    }


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


class _StartedHiGHS(StartedHiGHS):
    """HiGHS handed a feasible plan before it runs (`StartedHiGHS`).
    `hand_over` (seconds): HiGHS stops once its root node is done, or once this long has passed
    and it has found a plan cheaper than the start, whichever comes first (fix-and-optimize takes
    over from there: `run_highs`); with `patient`, only once this long has passed.
    `deadline` (time.monotonic()): HiGHS's time limit is what is left of it once PuLP has handed
    HiGHS the model (1.9 s on 1,000 workloads under a policy).
    `close` (bound, gap): HiGHS stops once its plan is within `gap` of a bound proven elsewhere
    (the blocks' of engine/decompose.py), which its own gap does not know of."""

    def __init__(
        self,
        start: dict[str, float] | None,
        hand_over: float | None = None,
        deadline: float | None = None,
        close: tuple[float, float] | None = None,
        patient: bool = False,
        **options: object,
    ) -> None:
        super().__init__(start, **options)
        self.hand_over = hand_over
        self.deadline = deadline
        self.close = close
        self.patient = patient

    def callSolver(self, lp: pulp.LpProblem) -> None:
        if self.deadline is not None:
            lp.solverModel.setOptionValue("time_limit", max(1.0, self.deadline - time.monotonic()))
        self.hand_start(lp)
        checks = [_close_to(*self.close)] if self.close is not None else []
        if self.hand_over is not None and self.patient:
            checks.append(_hand_over_late(self.hand_over))
        elif self.hand_over is not None and self.start is not None:
            checks.append(_hand_over(self.hand_over, cost(lp, self.start)))
        for check in checks:
            lp.solverModel.cbMipInterrupt.subscribe(check)
        lp.solverModel.run()
        for check in checks:  # fix-and-optimize's rounds run to their end
            lp.solverModel.cbMipInterrupt.unsubscribe(check)


def _close_to(bound: float, gap: float) -> Callable[[highspy.highs.HighsCallbackEvent], None]:
    def check(event: highspy.highs.HighsCallbackEvent) -> None:
        plan = event.data_out.mip_primal_bound
        if math.isfinite(plan) and plan > 0 and plan - bound <= gap * plan:
            event.interrupt()

    return check


def _hand_over(after_s: float, start_cost: float) -> Callable[[highspy.highs.HighsCallbackEvent], None]:
    def check(event: highspy.highs.HighsCallbackEvent) -> None:
        out = event.data_out
        own_plan = out.mip_primal_bound < start_cost - 1e-9 * abs(start_cost)
        if out.mip_node_count >= 1 or (own_plan and out.running_time >= after_s):
            event.interrupt()

    return check


def _hand_over_late(after_s: float) -> Callable[[highspy.highs.HighsCallbackEvent], None]:
    """A smaller model's hand-over (`patient`): after `after_s`, root or not, once HiGHS has a plan
    (without a start, the search starts from HiGHS's own)."""

    def check(event: highspy.highs.HighsCallbackEvent) -> None:
        out = event.data_out
        if out.running_time >= after_s and math.isfinite(out.mip_primal_bound):
            event.interrupt()

    return check


def solve(
    model: Model, settings: SolveSettings, start: dict[str, float] | None = None, floor: float = -math.inf
) -> Solution:
    """Solve; map HiGHS's own status (PuLP reports a time limit as 'Optimal').  `start`, a
    feasible plan by variable name (`start.greedy_start`), is HiGHS's first incumbent; on a large
    model (`IMPROVE_MIN_INTEGERS`) it also enables fix-and-optimize by codebase and by month after
    HiGHS's root.  A smaller one goes to that search after HAND_OVER of the limit, from HiGHS's
    plan, with a start or without.
    `floor`: a lower bound proven elsewhere, counted in the proven gap and in when to stop.  A
    plan still above the asked gap has it measured against engine/floor.py's bound too, when that
    is higher (HiGHS may have none: its root LP alone can take longer than the limit)."""
    small = model.integers < IMPROVE_MIN_INTEGERS
    if start is not None and not small and settings.time_limit_s <= NO_TIME_S:
        run = _the_start(model.problem, start, "time_limit", floor)  # HiGHS would take far longer
    else:  # (a smaller model is searched from HiGHS's own plan when there is no start)
        groups = improve.groups(model) if start is not None or small else []
        run = run_highs(model.problem, settings, start, groups, floor, patient=small)
    solution = read_solution(model, run.status, run.gap, run.objective)
    if run.status not in {"optimal", "infeasible"} and run.gap > settings.gap:  # (stopped with a plan)
        return _bounded(solution, lower_bound(model, solution.objective), settings.gap)
    return solution


@dataclass(frozen=True)
class Run:
    """What HiGHS reports of one solve."""

    status: str  # "optimal", "infeasible", or a stop ("time_limit", "stalled", ...) with a plan found
    gap: float  # proven relative gap (0 for a problem without integers)
    objective: float  # nan without a plan
    bound: float  # the proven lower bound on the objective


def run_highs(
    problem: pulp.LpProblem,
    settings: SolveSettings,
    start: dict[str, float] | None = None,
    groups: Sequence[Sequence[Sequence[str]]] = (),
    floor: float = -math.inf,
    patient: bool = False,
) -> Run:
    """Solve a PuLP problem with HiGHS and read its status, gap, objective and bound.  With
    `groups` (neighbourhood families of variable names: `improve.groups`) and a `start`, HiGHS
    hands over (`_StartedHiGHS`) and a plan still above the asked gap goes to fix-and-optimize
    for the rest (`engine/improve.py`).  `patient` (a model HiGHS often proves whole): the hand-over
    comes only after HAND_OVER of the limit, and when fix-and-optimize stalls with RESUME_S left
    HiGHS solves again from its plan for the rest.  `floor`: a lower bound proven elsewhere."""
    began = time.monotonic()
    options = {"msg": False, "gapRel": settings.gap, "timeLimit": settings.time_limit_s, **HIGHS_OPTIONS}
    close = (floor, settings.gap) if math.isfinite(floor) else None
    try:
        after = HAND_OVER * settings.time_limit_s
        hand_over = (max(after, PATIENCE_MIN_S) if patient else after) if groups else None
        deadline = began + settings.time_limit_s
        problem.solve(_StartedHiGHS(start, hand_over, deadline, close, patient, **options))
    except Exception as exc:  # PuLP raises bare KeyError on HiGHS statuses it does not map
        raise SolverError(f"the solver failed: {type(exc).__name__}: {exc}") from None
    highs = problem.solverModel
    status = _STATUS.get(highs.getModelStatus(), "solver_error")
    info = highs.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if status in _STOPPED_EARLY and not has_solution:
        if start is not None:  # stopped before it took the start up: the start is the plan
            return _the_start(problem, start, status, max(float(info.mip_dual_bound), floor))
        raise SolverError(
            f"the solver stopped ({status.replace('_', ' ')}) before finding any plan; raise --time-limit"
        )
    if status not in {"optimal", "infeasible", *_STOPPED_EARLY}:
        raise SolverError(f"the solver ended with status {status!r}; no plan is reported")
    objective = float(info.objective_function_value) if has_solution else float("nan")
    if not any(v.cat != pulp.LpContinuous for v in problem.variables()):
        return Run(status, 0.0, objective, objective)
    if not has_solution:  # infeasible: no gap; the bound as HiGHS has it
        bound = float(info.mip_dual_bound)
        return Run(status, 0.0, objective, bound if math.isfinite(bound) else objective)
    gap, bound = proven(objective, float(info.mip_gap), float(info.mip_dual_bound), status)
    if floor > bound and objective > 0:
        gap, bound = max(0.0, (objective - floor) / objective), floor
    if groups and (start or patient) and gap > settings.gap:
        run = _improved(problem, Run(status, gap, objective, bound), groups, settings.gap, deadline)
        left = deadline - time.monotonic()
        if not patient or run.status != "stalled" or left < RESUME_S:
            return run
        return run_highs(problem, SolveSettings(settings.gap, left), _plan_of(problem), floor=run.bound)
    if status == "interrupted" and gap <= settings.gap:  # handed over with the plan already close enough
        status = "optimal"
    return Run(status, gap, objective, bound)


def _the_start(problem: pulp.LpProblem, start: dict[str, float], status: str, bound: float) -> Run:
    """The start (checked against every row: `start.greedy_start`) as the plan, when HiGHS stopped
    before taking it up: a policed model of 200 workloads with a time axis, built and started
    with 2 s of --time-limit 30 left, used to end with no plan at all.  Its gap is against
    whatever bound HiGHS had, or $0."""
    for v in problem.variables():
        v.varValue = start.get(v.name, 0.0)
    objective = cost(problem, start)
    gap, bound = proven(objective, math.inf, bound if math.isfinite(bound) else 0.0, status)
    return Run(status, gap, objective, bound)


def _improved(
    problem: pulp.LpProblem,
    run: Run,
    groups: Sequence[Sequence[Sequence[str]]],
    asked: float,
    deadline: float,
) -> Run:
    """The plan HiGHS stopped on, improved by fix-and-optimize until `deadline`; the variables
    hold the better plan, and the gap is against the bound HiGHS proved."""
    variables = problem.variables()
    column = {v.name: v.index for v in variables}
    highs = problem.solverModel
    outcome = improve.improve(
        highs,
        [[[column[name] for name in unit] for unit in family] for family in groups],
        list(highs.getSolution().col_value),
        run.objective,
        run.bound,
        asked,
        deadline,
    )
    stop = "stalled" if outcome.stalled else "time_limit"
    if outcome.objective >= run.objective:
        return dataclasses.replace(run, status=stop)
    for v in variables:
        v.varValue = outcome.values[v.index]
    gap = max(0.0, (outcome.objective - run.bound) / outcome.objective) if outcome.objective > 0 else 0.0
    return Run("optimal" if gap <= asked else stop, gap, outcome.objective, run.bound)


def proven(objective: float, gap: float, bound: float, status: str) -> tuple[float, float]:
    """The proven relative gap and lower bound of a plan of cost `objective`, from HiGHS's figures.
    A solve stopped before its first bound (a short --time-limit on a large portfolio) reports an
    infinite gap; every cost in the model is ≥ 0, so $0 is a bound and the gap is 100%, not ∞."""
    if not math.isfinite(gap) or gap < 0:
        gap = 0.0 if status == "optimal" else math.inf
    if not math.isfinite(bound):
        bound = objective * (1 - gap) if math.isfinite(gap) else float("-inf")
    if not math.isfinite(gap):
        bound = max(bound, 0.0)
        gap = (objective - bound) / objective if objective > 0 else 0.0
    return gap, bound


def feasible_pairs(
    portfolio: Portfolio, ests: Mapping[tuple[str, str], Estimate], catalog: Catalog
) -> dict[tuple[str, str], Estimate]:
    """Pairs the estimates allow and the purchase options can buy."""
    buyable = {o.id for o in catalog.options if usable(portfolio, o)}
    return {key: e for key, e in ests.items() if e.ok and key[1] in buyable}


def optimize(
    portfolio: Portfolio,
    catalog: Catalog,
    ests: dict[tuple[str, str], Estimate],
    settings: SolveSettings,
    bought: tuple[Purchase, ...] = (),
    prefer: dict[str, str] | None = None,
) -> tuple[Model, Solution]:
    """Build and solve; a family-share policy that the cheapest plan already meets costs nothing.
    `prefer`: the option each workload starts on (a plan already solved for nearly these inputs);
    otherwise it starts on the one the greedy start prices cheapest.

    With a policy, the model without it is solved first, in half the time limit: it is smaller
    (`prune` applies) and has no dense share rows, and its optimum bounds the policy's from below.
    When its plan meets the policy (on the canonical shares the report shows), that plan is
    optimal under the policy too, within the same proven gap; otherwise the full model is solved
    in the time left.  `settings.time_limit_s` bounds all of it: model builds, starts and solves.
    """
    began = time.monotonic()

    def left(share_of_limit: float = 1.0) -> SolveSettings:  # never below a second
        return SolveSettings(
            settings.gap, max(NO_TIME_S, settings.time_limit_s * share_of_limit - (time.monotonic() - began))
        )

    pairs = feasible_pairs(portfolio, ests, catalog)
    costs = port_costs(portfolio, catalog)
    share = portfolio.policy.max_family_share
    if share is not None and share < 1:
        policy = portfolio.policy.model_copy(update={"max_family_share": None})
        free = portfolio.model_copy(update={"policy": policy})
        model = build(free, catalog, prune(free, catalog, pairs, costs, bought), bought=bought)
        # half the limit: a plan that breaks the policy must leave the policed solve time to run
        solution, bound, fits = _by_blocks(free, catalog, pairs, costs, bought, model, left(0.5))
        if solution is None:
            begin = fits or greedy_start(model)
            solution = solve(model, left(0.5), begin, bound)
        if solution.status == "infeasible":
            return model, solution
        used = used_spend(model, solution)
        total = sum(used.values())
        if all(spend <= share * total + 1e-9 * total for spend in used.values()):
            return model, solution
        full = build(portfolio, catalog, pairs, bought=bought)
        begin = policy_start(full, main_options(solution))
        roomy = left().time_limit_s >= GUIDE_BESIDE * settings.time_limit_s
        if full.integers >= IMPROVE_MIN_INTEGERS and (begin is None or roomy):
            guided = _guided_by_lp(full, left(GUIDE_SHARE))
            if guided is not None and (
                begin is None or cost(full.problem, guided) < cost(full.problem, begin)
            ):
                begin = guided
        floor = solution.objective * (1 - solution.gap)
        groups = decompose.blocks(portfolio, full, bought, policed=True)
        if begin is not None and groups is not None and full.integers >= POLICED_GROUPS_MIN_INTEGERS:
            guide = main_options(solution)  # the plan without the policy
            # the cap priced (engine/floor.py) bounds it far better than the plan without it
            floor = max(floor, lower_bound(full, cost(full.problem, begin)))
            return full, _regrouped(
                portfolio, catalog, costs, bought, full, groups, begin, guide, floor, left()
            )
        policed = solve(full, left(), begin)
        return full, _bounded(policed, floor, settings.gap)
    model = build(portfolio, catalog, prune(portfolio, catalog, pairs, costs, bought), bought=bought)
    blocks, bound, fits = _by_blocks(portfolio, catalog, pairs, costs, bought, model, left())
    if blocks is not None:
        return model, blocks
    first = fits
    if first is None and prefer is not None:  # blocks first: a price probe on a large one-period plan
        first = greedy_start(model, prefer)
    # The greedy plan, not one guided by the plan without commitments solved first: that solve
    # made every shipped example slower except startup (enterprise 5.7-6.9 s against 4.6-5.4 s)
    # and its stress too (serially 220 s against 186 s; "demand ×2 from month 7" stopped at the
    # 60 s limit, 0.27%, against its optimum in 34 s), 2026-12-06, benchmarks/README.md.
    return model, solve(model, left(), first or greedy_start(model), bound)


def _by_blocks(
    portfolio: Portfolio,
    catalog: Catalog,
    pairs: dict[tuple[str, str], Estimate],
    costs: dict[tuple[str, Family], tuple[float, tuple[str, ...]]],
    bought: tuple[Purchase, ...],
    model: Model,
    settings: SolveSettings,
) -> tuple[Solution | None, float, dict[str, float] | None]:
    """The model solved block by block (engine/decompose.py) in half of `settings`' time, when it
    falls apart into blocks: the plan, when one fits within the asked gap; the proven bound the
    blocks gave (-inf without one); and otherwise the whole model's first plan: the cheapest plan
    of the blocks that fits, or the cheapest of the greedy plan (largest first, and by regret) and
    the greedy plan the blocks' last plans guide.  A model of WHOLE_MAX_INTEGERS or more gets one
    round of blocks, then the greedy plan by regret improved group by group in all the time left
    (`_regrouped`), and that is its plan: HiGHS never sees it whole."""
    groups = decompose.blocks(portfolio, model, bought)
    if groups is None:
        return None, -math.inf, None
    began = time.monotonic()
    huge = model.integers >= WHOLE_MAX_INTEGERS
    breaks = tuple(p.first for p in model.periods)

    by_workload: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in pairs:
        by_workload[key[0]].append(key)

    def build_block(sub: Portfolio, scarce: frozenset[str]) -> Model:
        mine = {key: pairs[key] for w in sub.workloads for key in by_workload[w.name]}
        kept = prune(sub, catalog, mine, costs, bought, scarce=scarce)
        return build(sub, catalog, kept, bought=bought, breaks=breaks)

    def run_block(block: Model, limit: float, start: dict[str, float] | None) -> tuple[str, float] | None:
        try:
            run = run_highs(
                block.problem, SolveSettings(settings.gap * BLOCK_GAP, limit), start or greedy_start(block)
            )
        except SolverError:  # stopped before any plan
            return None
        return run.status, run.bound

    deadline = time.monotonic() + settings.time_limit_s * DECOMPOSE_SHARE

    def repair(values: dict[str, float], movers: set[str]) -> dict[str, float] | None:
        limit = min(settings.time_limit_s * REPAIR_SHARE, deadline - time.monotonic())
        return _moved(model, values, movers, SolveSettings(settings.gap * BLOCK_GAP, max(1.0, limit)))

    rounds = 0 if huge else decompose.ROUNDS
    outcome = decompose.solve(
        model, groups, portfolio, build_block, run_block, settings.gap, deadline, repair, rounds
    )
    if outcome is None:
        return None, -math.inf, None
    if not huge or outcome.status in {"optimal", "infeasible"}:
        return _from_blocks(model, outcome)
    first = outcome.values or greedy_start(model, regret=True)
    if first is None:
        return None, outcome.bound, None
    ending = SolveSettings(settings.gap, settings.time_limit_s - (time.monotonic() - began))
    plan = _regrouped(
        portfolio, catalog, costs, bought, model, groups, first, outcome.first, outcome.bound, ending
    )
    return plan, outcome.bound, None


def _regrouped(
    portfolio: Portfolio,
    catalog: Catalog,
    costs: dict[tuple[str, Family], tuple[float, tuple[str, ...]]],
    bought: tuple[Purchase, ...],
    model: Model,
    groups: list[list[Workload]],
    first: dict[str, float],
    guide: Mapping[str, str],
    bound: float,
    settings: SolveSettings,
) -> Solution:
    """A model too large for HiGHS whole: its plan `first` improved a few blocks at a time
    (engine/neighbourhoods.py; `guide`: each workload's option in a plan of a relaxation) in
    `settings`' time or until within its gap of `bound` (proven elsewhere), which its gap is
    measured against."""
    end = time.monotonic() + settings.time_limit_s
    breaks = tuple(p.first for p in model.periods)
    by_workload: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in model.pairs:
        by_workload[key[0]].append(key)

    def build_group(
        sub: Portfolio,
        left: Mapping[str, tuple[int, ...]],
        keep: set[tuple[str, str]],
        beside: Mapping[Family, float],
    ) -> Model:
        narrower = _with_capacity(catalog, left, model.periods)
        mine = {key: model.pairs[key] for w in sub.workloads for key in by_workload[w.name]}
        kept = prune(sub, narrower, mine, costs, bought) | {key: mine[key] for key in keep if key in mine}
        return build(sub, narrower, kept, bought=bought, breaks=breaks, beside=beside)

    def run_group(sub: Model, limit: float, start: dict[str, float]) -> dict[str, float] | None:
        asked = SolveSettings(settings.gap * GROUP_GAP, min(limit, GROUP_TIME_S))
        try:
            run_highs(sub.problem, asked, start)
        except SolverError:
            return None
        return {v.name: float(v.varValue) for v in sub.problem.variables() if v.varValue}

    def close(usd: float) -> bool:
        return usd - bound <= settings.gap * usd

    values = neighbourhoods.improve(
        model, groups, portfolio, first, guide, build_group, run_group, close, end
    )
    usd = cost(model.problem, values)
    stop = "time_limit" if time.monotonic() >= end else "stalled"  # (a pass that saved nothing)
    return _solution_of(model, values, usd, bound, "optimal" if close(usd) else stop)


def _with_capacity(
    catalog: Catalog, left: Mapping[str, tuple[int, ...]], periods: Sequence[timeline.Span]
) -> Catalog:
    """The catalog with each option's capacity calendar set to `left` (instances per period)."""
    options = [
        o.model_copy(
            update={
                "capacity_instances": left[o.id][0],
                "capacity_by_month": {p.first: left[o.id][p.index - 1] for p in periods},
            }
        )
        for o in catalog.options
    ]
    return catalog.model_copy(update={"options": type(catalog.options)(options)})


def _from_blocks(
    model: Model, outcome: decompose.Outcome
) -> tuple[Solution | None, float, dict[str, float] | None]:
    """What the blocks' outcome gives `_by_blocks`: the plan within the gap, or the proof that
    there is none (a block with no plan: the whole model has none either); else the bound and
    the whole model's first plan."""
    if outcome.status == "infeasible":  # (the whole model was never solved: its variables hold nothing)
        return read_solution(model, "infeasible", 0.0, math.nan), math.inf, None
    if outcome.values is None:  # the cheapest first plan: greedy, by regret, or guided by the blocks
        starts = [greedy_start(model), greedy_start(model, regret=True), greedy_start(model, outcome.first)]
        return (
            None,
            outcome.bound,
            min((s for s in starts if s), key=lambda s: cost(model.problem, s), default=None),
        )
    if outcome.status != "optimal":
        return None, outcome.bound, outcome.values
    plan = _solution_of(model, outcome.values, outcome.objective, outcome.bound, "optimal")
    return plan, outcome.bound, None


def _solution_of(model: Model, values: dict[str, float], usd: float, bound: float, status: str) -> Solution:
    """A plan found outside HiGHS's whole-model solve (values by name, cost `usd`) read back as
    the solution, its gap against `bound`."""
    for v in model.problem.variables():
        v.varValue = values.get(v.name, 0.0)
    gap = max(0.0, (usd - bound) / usd) if usd > 0 else 0.0
    return read_solution(model, status, gap, usd)


def _moved(
    model: Model, values: dict[str, float], movers: set[str], settings: SolveSettings
) -> dict[str, float] | None:
    """`values` (a plan over some capacity) with every other workload's integers fixed and the
    `movers` free: the cheapest plan HiGHS finds within `settings`, or None (also when the movers
    have more than REPAIR_MAX_INTEGERS integer variables)."""
    tables = (model.x, model.r, model.j, model.k, model.active)
    fixed = [v for table in tables for key, v in table.items() if key[0] not in movers]
    if sum(len(table) for table in tables) - len(fixed) > REPAIR_MAX_INTEGERS:
        return None
    whole = [(v, float(round(values.get(v.name, 0.0)))) for v in fixed]
    return _restricted(model.problem, [(v, at, at) for v, at in whole], settings)


def _restricted(
    problem: pulp.LpProblem,
    bounds: Sequence[tuple[pulp.LpVariable, float | None, float | None]],
    settings: SolveSettings,
) -> dict[str, float] | None:
    """The problem solved with these variables' (lower, upper) bounds, put back as they were
    after: its plan by variable name, or None when it is infeasible or has no plan in time."""
    saved = [(v, v.lowBound, v.upBound) for v, _, _ in bounds]
    for v, low, up in bounds:
        v.lowBound, v.upBound = low, up
    try:
        run = run_highs(problem, settings)
    except SolverError:  # no plan in time
        return None
    finally:
        for v, low, up in saved:
            v.lowBound, v.upBound = low, up
    if run.status == "infeasible":
        return None
    return _plan_of(problem)


def _plan_of(problem: pulp.LpProblem) -> dict[str, float]:
    """The solved plan as a start: the nonzero values by variable name."""
    return {v.name: float(v.varValue or 0.0) for v in problem.variables() if v.varValue}


def _guided_by_lp(model: Model, settings: SolveSettings) -> dict[str, float] | None:
    """A first plan from the model's LP relaxation: the model solved with each workload kept to
    the options its LP optimum uses (every placement variable, x or s, the LP leaves at 0 fixed
    to 0), to `GUIDE_GAP`, in `settings`' time. None when the LP or that model has no plan in
    time. For a binding family-share cap that no repair of whole workloads meets
    (`start.policy_start`), on a model large enough for fix-and-optimize. 1,000 diverse
    workloads (benchmarks/README.md): with a strict cap (seed 4) HiGHS alone found a plan 84%
    above the LP's optimum in the 51 s left; this one is 0.33% above, and the restricted model
    (6,600 columns after presolve, against 41,800) took 25 s. Beside a repaired start (the
    cheaper start is kept) only with half the limit left (`GUIDE_BESIDE`): on a loose cap (seed
    2, one period) it beat the repair with 40 of 60 s left (4.39% → 0.48% proven gap), but over
    12 months the policy-free solve left it 19.5 of 60 s, in which its LP took 10 s and the
    restricted model found nothing; the policed solve, left 8 s, ended at 17% against 9.2%
    from the repair alone. Not on smaller models, whose search HiGHS finishes itself: the enterprise
    example (12 months) with a 0.75 cap reaches its optimum in 26 s from no start, and stops at
    the 60 s limit 0.12% above it from this one."""
    began = time.monotonic()
    problem = model.problem
    try:
        problem.solve(pulp.HiGHS(msg=False, mip=False, timeLimit=settings.time_limit_s))
    except Exception:  # noqa: BLE001 - PuLP raises bare errors on HiGHS statuses it does not map
        return None
    if problem.solverModel.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    placing = [*model.x.values(), *model.s.values()]
    unused = [
        (v, v.lowBound, 0.0) for v in placing if (v.varValue or 0.0) <= 1e-9 and (v.lowBound or 0.0) == 0
    ]
    left = settings.time_limit_s - (time.monotonic() - began)
    return _restricted(problem, unused, SolveSettings(max(settings.gap, GUIDE_GAP), max(1.0, left)))


def main_options(solution: Solution) -> dict[str, str]:
    """Each workload's option in a plan: its training option, or where most of its traffic goes."""
    return main_of(solution.training, solution.shares)


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


def _val(v: pulp.LpVariable) -> float:
    return float(v.varValue or 0.0)


def _whole(v: pulp.LpVariable) -> int:
    return max(0, round(_val(v)))


def read_solution(model: Model, status: str, gap: float, objective: float) -> Solution:
    """The solved variables by domain ids (any PuLP solver), with inference made canonical."""
    training = {key: _val(v) > 0.5 for key, v in model.x.items()}
    shares, instances = _inference(model, training)
    ported: dict[tuple[str, Family], int] = {key: (1 if _val(v) > 0.5 else 0) for key, v in model.y.items()}
    for (codebase, family, start), z in sorted(model.z.items()):
        if _val(z) > 0.5:
            ported[(codebase, family)] = (
                model.periods[start - 1].first + model.port_months[(codebase, family)]
            )
        else:
            ported.setdefault((codebase, family), 0)
    hours = _training_hours(model, training)
    runs = {key: _runs_at_once(model, key, hours[key]) for key in model.r if training[key[:2]]}
    block_hours, block_instances = _blocks(model, runs, instances)
    commitments = {key: _whole(v) for key, v in model.commit.items() if _whole(v) > 0}
    return Solution(
        status=status,
        gap=gap,
        objective=objective,
        training=training,
        run_hours=hours,
        runs_at_once=runs,
        shares=shares,
        instances=instances,
        ported=ported,
        commitments=commitments,
        on_demand_hours=_on_demand(model, instances, hours, runs, commitments, block_hours),
        block_hours=block_hours,
        block_instances=block_instances,
        capacity_slack={key: _val(v) for key, v in model.capacity_slack.items()},
        share_slack={key: _val(v) for key, v in model.share_slack.items()},
        window_slack={key: _val(v) * model.unit for key, v in model.window_slack.items()},
        region_slack={key: _val(v) for key, v in model.region_slack.items()},
    )


def _blocks(
    model: Model, runs: dict[tuple[str, str, int], int], instances: dict[tuple[str, str, int], int]
) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], int]]:
    """Capacity Block hours and instances per option and period, no more booked than the plan holds.

    The model lets B reach the instances its runs may hold (r), and the read-back holds only the
    runs the burst hours need; within the gap a solver's plan may also book hours nothing uses.
    Trimming a block to the instances held, and its hours to what they give in the period, keeps
    every use covered (use ≤ held · hours) and only drops paid-for waste."""
    held: dict[tuple[str, int], int] = defaultdict(int)
    for (_, oid, p), count in instances.items():
        held[(oid, p)] += count
    for (wname, oid, p), count in runs.items():
        held[(oid, p)] += count * model.pairs[(wname, oid)].instances_at_once
    hours, booked = {}, {}
    for key, v in model.block_hours.items():
        booked[key] = min(_whole(model.block_instances[key]), held[key])
        hours[key] = min(_val(v) * model.unit, booked[key] * model.periods[key[1] - 1].hours)
    return hours, booked


def _on_demand(
    model: Model,
    instances: dict[tuple[str, str, int], int],
    run_hours: dict[tuple[str, str, int], float],
    runs: dict[tuple[str, str, int], int],
    commitments: dict[tuple[str, str, int], int],
    block_hours: dict[tuple[str, int], float],
) -> dict[tuple[str, int], float]:
    """On-demand hours per option and period, no more than the plan as read back needs: what the
    burst row asks (bursts beyond block hours) or the bought row (all use beyond commitments,
    purchases already made and block hours), whichever is more.  Within its gap a solver's plan
    may buy on-demand hours nothing uses, or buy runs busy all period on demand beside idle
    commitments (diverse benchmark, seed 5, p4d in months 1-3: the plan then failed its own
    check); trimming them only drops paid-for waste."""
    steady: dict[tuple[str, int], float] = defaultdict(float)  # instance-hours held all period
    burst: dict[tuple[str, int], float] = defaultdict(float)
    for (_, oid, p), count in instances.items():
        steady[(oid, p)] += count * model.periods[p - 1].hours
    for key, hours in run_hours.items():
        # runs busy all period as the hours show it, within plan.bursting's 0.01 h a month (the
        # solver may leave one in h, not j), may be carried by commitments; the rest are bursts
        n, period = model.pairs[key[:2]].instances_at_once, model.periods[key[2] - 1]
        span = period.hours
        busy = min(runs.get(key, 0), math.floor((hours + 0.01 * period.months) / (n * span))) if n else 0
        whole_period = max(_steady(model, key), busy) * n * span
        steady[(key[1], key[2])] += whole_period
        burst[(key[1], key[2])] += max(0.0, hours - whole_period)
    cover: dict[tuple[str, int], float] = defaultdict(float)
    for (oid, term, start), count in commitments.items():
        for p in model.commitments[(oid, term, start)].covers:
            cover[(oid, p)] += count * model.periods[p - 1].hours
    out = {}
    for cell, e in model.on_demand.items():
        blocks = block_hours.get(cell, 0.0)
        need = max(
            0.0,
            burst[cell] - blocks - model.sunk_block_hours.get(cell, 0.0),
            steady[cell] + burst[cell] - cover[cell] - model.sunk_hours.get(cell, 0.0) - blocks,
        )
        out[cell] = min(_val(e) * model.unit, need)
    return out


def _runs_at_once(model: Model, key: tuple[str, str, int], hours: float) -> int:
    """Runs held at once in a period: those busy all period, plus as many as the burst hours need
    at the run's pace (the solver may leave a run held with no hours within its gap).  `hours`:
    the period's hours as read back (`_training_hours`)."""
    steady = _steady(model, key)
    n = model.pairs[key[:2]].instances_at_once
    burst = hours - steady * n * model.periods[key[2] - 1].hours
    if burst <= 0:
        return steady
    return steady + min(_whole(model.r[key]), whole(burst / (model.periods[key[2] - 1].hours * n)))


def _run_hours(model: Model, key: tuple[str, str, int]) -> float:
    """A training pair's hours in a period: its bursts plus its runs busy all period.  Less than a
    thousandth of an hour is solver noise (the pace row lets it sit where no run is held)."""
    hours = _val(model.h[key]) * model.unit
    hours = 0.0 if hours < 1e-3 else hours
    n = model.pairs[key[:2]].instances_at_once
    return hours + _steady(model, key) * n * model.periods[key[2] - 1].hours


def _steady(model: Model, key: tuple[str, str, int]) -> int:
    """Runs of a training pair busy for the whole of a period (j; 0 where the period has none)."""
    return _whole(model.j[key]) if key in model.j else 0


def _training_hours(model: Model, training: dict[tuple[str, str], bool]) -> dict[tuple[str, str, int], float]:
    """Each chosen run's hours per period (`_run_hours`), made to add up to all its runs' hours:
    what the solver's tolerance left out (all of it, for a run of seconds) goes to the first
    periods that hold its runs, within their pace (n instances per run held, all period)."""
    by_pair: dict[tuple[str, str], list[tuple[str, str, int]]] = defaultdict(list)
    for key in model.h:
        if training[key[:2]]:
            by_pair[key[:2]].append(key)
    hours = {}
    for pair, keys in by_pair.items():
        read = {key: _run_hours(model, key) for key in keys}
        total = model.run_units[pair] * model.unit
        short = total - sum(read.values())
        n = model.pairs[pair].instances_at_once
        for key in sorted(keys, key=lambda k: k[2]):
            if short <= 1e-9 * total:
                break
            steady = _steady(model, key)
            room = (_whole(model.r[key]) + steady) * n * model.periods[key[2] - 1].hours - read[key]
            add = min(short, max(0.0, room))
            read[key] += add
            short -= add
        hours.update(read)
    return hours


def _inference(
    model: Model, training: dict[tuple[str, str], bool]
) -> tuple[dict[tuple[str, str, int], float], dict[tuple[str, str, int], int]]:
    """Shares and whole instances per inference pair and period, made canonical.

    Instances: k = min(k, ⌈q·f·s⌉); the solver may leave an idle one within its gap.  Shares: when
    several options serve one service in a period, any split the instances can carry costs the
    same, so the solver's pick is arbitrary (and differs between solvers).  The traffic is spread in
    proportion to what each option's instances can serve, k/(q·f), so equal instances always give
    equal shares, unless that would break the family-share policy (which is measured on shares):
    then the solver's shares, which met it, stay.
    """
    shares = {key: _val(v) for key, v in model.s.items()}
    need = {key: model.pairs[key[:2]].instances_needed * model.demand[key[0]][key[2] - 1] for key in model.k}
    instances = {key: _in_use(_whole(v), shares[key], need[key]) for key, v in model.k.items()}
    if not model.spread_shares:
        return shares, instances
    room: dict[tuple[str, int], float] = defaultdict(float)
    for key, count in instances.items():
        room[(key[0], key[2])] += count / need[key]
    spread = dict(shares)
    for key, count in instances.items():
        if room[(key[0], key[2])] >= 1 - TOL:
            spread[key] = count / need[key] / room[(key[0], key[2])]
    if model.share_cap is not None:
        used = _used_by_family(model, training, spread)
        total = sum(used.values())
        if any(spend > model.share_cap * total + 1e-9 * total for spend in used.values()):
            return shares, instances
    return spread, instances


def _used_by_family(
    model: Model, training: Mapping[tuple[str, str], bool], shares: Mapping[tuple[str, str, int], float]
) -> dict[Family, float]:
    """The spend each family's traffic uses, as the share rows measure it: training runs at their
    on-demand cost, inference at q·f·od·hours·share (before rounding to whole instances)."""
    used: dict[Family, float] = defaultdict(float)
    for key, chosen in training.items():
        if chosen:
            used[model.pairs[key].family] += model.pairs[key].compute_usd
    hours = {p.index: p.hours for p in model.periods}
    for (wname, oid, p), share in shares.items():
        est = model.pairs[(wname, oid)]
        rate = est.usd_per_instance_horizon / sum(hours.values())  # on-demand per instance-hour
        used[est.family] += est.instances_needed * model.demand[wname][p - 1] * rate * hours[p] * share
    return used


def used_spend(model: Model, solution: Solution) -> dict[Family, float]:
    return _used_by_family(model, solution.training, solution.shares)


def _in_use(count: int, share: float, need: float) -> int:
    """Instances a share needs, never more than the solver bought: idle ones are dropped."""
    return 0 if share <= TOL else min(count, whole(need * share))


def model_size(model: Model) -> tuple[int, int, int]:
    variables = model.problem.variables()
    integers = sum(1 for v in variables if v.cat != pulp.LpContinuous)
    return len(variables), integers, model.problem.numConstraints()
