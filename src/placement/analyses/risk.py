"""The plan as it stands, over sampled futures: what it may cost, how likely it beats the all-GPU
baseline, which placements hold, and which inputs drive the spread.

Each sample is a future drawn from the inputs' distributions (`analyses/futures.py`), seeded from
(seed, index) alone (`fanout.task_rng`), and is one independent task:
- recourse: the plan's commitments and ports are already signed; where each workload runs, on-demand
  hours and Capacity Blocks are decided again (`engine/stochastic.recourse`).  Its cost is the
  plan's cost in that future.
- from scratch: the future planned as if known in advance (the wait-and-see plan): which option
  each workload would then run on, and the least any plan could cost there.
- the all-GPU baseline in that future (`planner.baseline`: no solve).
A future no plan can serve (demand beyond every capacity) counts as one where the plan does not
beat the baseline; the cost figures are over the futures it can serve, and say how many those are.

Drivers (`_drivers`): each input's first-order linear share of the cost's variance (its squared
correlation with the cost: the inputs are drawn independently, a correlation group being one
input), and its swing: the fitted slope × (high − low); and the R² of the joint linear fit.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from placement.analyses.fanout import IN_PROCESS, Progress, Runner, Task, task_rng
from placement.analyses.futures import UncertainInput, draw, future, uncertain_inputs
from placement.engine.costing import estimates
from placement.engine.formulation import FirstStage
from placement.engine.optimizer import SolveSettings, feasible_pairs, main_options, optimize
from placement.engine.plan import Plan
from placement.engine.planner import baseline
from placement.engine.stochastic import Future, Shape, first_stage, recourse, solved_first_stage
from placement.errors import SolverError
from placement.inputs.models import Catalog, Portfolio

LEVELS = (0.10, 0.50, 0.90)
MIN_DRIVER_SAMPLES = 10  # fewer futures: no driver ranking (correlations of a handful are noise)
RISK_GAP = 0.01  # each future's plans are solved to within 1% (the inputs' ranges are far wider)
CVAR_LEVEL = 0.90


@dataclass(frozen=True)
class Sample:
    """One future's figures (plain data: the return value of a task)."""

    index: int
    values: tuple[tuple[str, float], ...]  # input name → drawn value
    plan_usd: float | None  # the plan's first stage kept, the rest re-planned (None: cannot serve)
    scratch_usd: float | None  # planned with the future known (None: no plan)
    scratch_bound_usd: float | None  # the solver's proven lower bound on that plan's cost
    scratch_first: FirstStage | None  # what that plan would sign
    baseline_usd: float | None  # all-GPU baseline (None: some workload has no GPU option)
    placement: tuple[tuple[str, str], ...]  # from scratch: workload → option


@dataclass(frozen=True)
class Spread:
    """Summary of a sample of costs (USD)."""

    count: int
    mean: float
    p10: float
    p50: float
    p90: float
    cvar90: float  # mean of the worst 10%


@dataclass(frozen=True)
class Stability:
    workload: str
    planned: str  # the option the plan runs it on
    same_option: float  # share of futures whose own best plan runs it on that instance type too
    same_family: float
    alternative: str  # the instance type most often chosen instead ("" if none)


@dataclass(frozen=True)
class Driver:
    name: str
    kind: str
    low: float
    high: float
    variance_share: float  # 0..1, linear first-order
    swing_usd: float  # cost change from low to high (the fitted slope × range)


@dataclass(frozen=True)
class RiskReport:
    samples: int
    seed: int
    plan_usd: float  # the plan's total at the likely inputs
    baseline_usd: float | None
    inputs: tuple[UncertainInput, ...]
    first: FirstStage  # what the plan signs
    cost: Spread | None  # the plan in each future it can serve
    baseline: Spread | None
    saving: Spread | None  # baseline − plan, per future where both exist (USD)
    saving_pct: Spread | None  # that saving as a share of the baseline (0..1)
    p_beats_baseline: float  # share of all futures where the plan costs less than the baseline
    unserved: int  # futures the plan (with its commitments) cannot serve
    regret: Spread | None  # plan − the future's own best plan (the value of knowing in advance)
    stability: tuple[Stability, ...]
    drivers: tuple[Driver, ...]
    linear_share: float  # R² of the joint linear fit of cost on the inputs (nan: too few futures)
    sample_rows: tuple[Sample, ...]


def quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (the 'inclusive' method)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def cvar(values: Sequence[float], level: float = CVAR_LEVEL) -> float:
    """Conditional value at risk of equally likely costs: the mean of the worst (1 − level) of the
    probability mass, the boundary outcome counted in part (Rockafellar–Uryasev)."""
    ordered = sorted(values, reverse=True)
    tail = (1 - level) * len(ordered)
    total, left = 0.0, tail
    for value in ordered:
        take = min(1.0, left)
        total += take * value
        left -= take
        if left <= 1e-12:
            break
    return total / tail


def spread(values: Sequence[float]) -> Spread | None:
    if not values:
        return None
    p10, p50, p90 = (quantile(values, q) for q in LEVELS)
    return Spread(len(values), statistics.fmean(values), p10, p50, p90, cvar(values))


def drawn_future(
    portfolio: Portfolio, catalog: Catalog, inputs: tuple[UncertainInput, ...], seed: int, index: int
) -> tuple[dict[str, float], Future]:
    """Future `index` of the sweep seeded `seed`: its drawn values and its inputs."""
    values = draw(inputs, task_rng(seed, index))
    p, c = future(portfolio, catalog, values)
    return values, Future(p, c, feasible_pairs(p, estimates(p, c), c))


def sample_future(
    portfolio: Portfolio,
    catalog: Catalog,
    inputs: tuple[UncertainInput, ...],
    first: FirstStage,
    seed: int,
    index: int,
    settings: SolveSettings,
) -> Sample:
    """One future (a task): drawn from (seed, index), planned with the first stage kept and from
    scratch, and its all-GPU baseline."""
    values, drawn = drawn_future(portfolio, catalog, inputs, seed, index)
    p, c = drawn.portfolio, drawn.catalog
    ests = estimates(p, c)
    plan_usd = scratch_usd = bound = None
    placement: tuple[tuple[str, str], ...] = ()
    scratch_first = None
    try:
        kept = recourse(drawn, first, Shape((), first.months), settings)
        plan_usd = None if kept.status == "infeasible" else kept.cost
        model, solution = optimize(p, c, ests, settings, prefer=kept.placement or None)
        if solution.status != "infeasible":
            scratch_usd = solution.objective
            bound = solution.objective * (1 - min(1.0, solution.gap))
            placement = tuple(sorted(main_options(solution).items()))
            scratch_first = solved_first_stage(model, solution)
    except SolverError:
        pass  # a future the solver could not finish counts as unserved
    base = baseline(p, c, ests)
    return Sample(
        index,
        tuple(sorted(values.items())),
        plan_usd,
        scratch_usd,
        bound,
        scratch_first,
        None if base.missing else base.total_usd,
        placement,
    )


def evaluate(
    portfolio: Portfolio,
    catalog: Catalog,
    inputs: tuple[UncertainInput, ...],
    first: FirstStage,
    seed: int,
    index: int,
    settings: SolveSettings,
) -> float | None:
    """A task: the cost of signing `first` in future `index` (None: that future cannot be served)."""
    _, drawn = drawn_future(portfolio, catalog, inputs, seed, index)
    try:
        kept = recourse(drawn, first, Shape((), first.months), settings)
    except SolverError:
        return None
    return None if kept.status == "infeasible" else kept.cost


def assess(
    plan: Plan,
    portfolio: Portfolio,
    catalog: Catalog,
    samples: int,
    seed: int,
    settings: SolveSettings,
    runner: Runner = IN_PROCESS,
    progress: Progress | None = None,
) -> RiskReport:
    """The plan over `samples` futures (independent tasks on `runner`)."""
    inputs, first, _, rows = sample_futures(
        plan, portfolio, catalog, samples, seed, settings, runner, progress
    )
    return summarise(plan, catalog, inputs, first, seed, rows)


def sample_futures(
    plan: Plan,
    portfolio: Portfolio,
    catalog: Catalog,
    count: int,
    seed: int,
    settings: SolveSettings,
    runner: Runner = IN_PROCESS,
    progress: Progress | None = None,
) -> tuple[tuple[UncertainInput, ...], FirstStage, SolveSettings, list[Sample]]:
    """The plan's first stage over futures 0..count-1 of `seed` (one `sample_future` task each):
    (the uncertain inputs, the first stage, the settings every future is solved with, the rows)."""
    inputs = uncertain_inputs(portfolio, catalog)
    first = first_stage(plan, portfolio)
    settings = risk_settings(settings)
    args = (portfolio, catalog, inputs, first, seed)
    tasks = [Task(sample_future, (*args, i, settings)) for i in range(count)]
    return inputs, first, settings, runner.run(tasks, progress)


def risk_settings(settings: SolveSettings) -> SolveSettings:
    """The solver settings of every future's solves: the user's, with the gap at least `RISK_GAP`."""
    return SolveSettings(max(settings.gap, RISK_GAP), settings.time_limit_s)


def summarise(
    plan: Plan,
    catalog: Catalog,
    inputs: tuple[UncertainInput, ...],
    first: FirstStage,
    seed: int,
    rows: Sequence[Sample],
) -> RiskReport:
    served = [r for r in rows if r.plan_usd is not None]
    both = [r for r in served if r.baseline_usd is not None]
    savings = [r.baseline_usd - r.plan_usd for r in both]  # type: ignore[operator]
    shares = [(r.baseline_usd - r.plan_usd) / r.baseline_usd for r in both if r.baseline_usd]  # type: ignore[operator]
    beats = sum(1 for s in savings if s > 0)
    regret = [r.plan_usd - r.scratch_usd for r in served if r.scratch_usd is not None]  # type: ignore[operator]
    drivers, r2 = _drivers(inputs, served)
    return RiskReport(
        samples=len(rows),
        seed=seed,
        plan_usd=plan.total_usd,
        baseline_usd=None if plan.baseline.missing else plan.baseline.total_usd,
        inputs=inputs,
        first=first,
        cost=spread([r.plan_usd for r in served]),  # type: ignore[misc]
        baseline=spread([r.baseline_usd for r in rows if r.baseline_usd is not None]),
        saving=spread(savings),
        saving_pct=spread(shares),
        p_beats_baseline=beats / len(rows) if rows else 0.0,
        unserved=len(rows) - len(served),
        regret=spread(regret),
        stability=_stability(plan, rows, catalog),
        drivers=drivers,
        linear_share=r2,
        sample_rows=tuple(rows),
    )


def _stability(plan: Plan, rows: Sequence[Sample], catalog: Catalog) -> tuple[Stability, ...]:
    """Per workload: how often each future's own best plan runs it on the plan's instance type
    (the same type in another region counts as the same: the regions are interchangeable unless
    a pin or cap says otherwise, and the solver picks either at equal cost) and family."""
    kind = {o.id: o.instance_type for o in catalog.options}
    family = {o.id: o.family for o in catalog.options}
    known = [dict(r.placement) for r in rows if r.placement]
    out = []
    for w in plan.workloads:
        if not w.placements:
            continue
        planned = max(w.placements, key=lambda p: (p.share, p.option)).option
        chosen = [k[w.workload] for k in known if w.workload in k]
        if not chosen:
            continue
        same = [o for o in chosen if kind.get(o) == kind.get(planned)]
        others = Counter(kind.get(o, o) for o in chosen if kind.get(o) != kind.get(planned))
        ranked = sorted(others.items(), key=lambda kv: (-kv[1], kv[0]))
        out.append(
            Stability(
                w.workload,
                planned,
                len(same) / len(chosen),
                sum(1 for o in chosen if family.get(o) == family.get(planned)) / len(chosen),
                ranked[0][0] if ranked else "",
            )
        )
    return tuple(out)


def _drivers(inputs: Sequence[UncertainInput], rows: Sequence[Sample]) -> tuple[tuple[Driver, ...], float]:
    """First-order linear variance attribution of the plan's cost to the drawn inputs.

    Inputs are drawn independently, so an input's linear share of the cost's variance is its
    squared correlation with the cost.  Returns the drivers, largest first (none below
    `MIN_DRIVER_SAMPLES` futures), and the R² of the joint linear fit on every varying input (nan
    with fewer than 10 futures per input beyond the count of inputs: a joint fit would then explain
    noise); well below 1, the inputs interact or act non-linearly (a capacity that binds only in
    some futures)."""
    if len(rows) < MIN_DRIVER_SAMPLES:
        return (), math.nan
    y = np.array([r.plan_usd for r in rows], dtype=float)
    if float(np.var(y)) <= 0:
        return (), math.nan
    drawn = [dict(r.values) for r in rows]
    drivers, columns = [], []
    for item in inputs:
        x = np.array([d[item.name] for d in drawn], dtype=float)
        if float(np.ptp(x)) <= 0:
            continue
        columns.append(x)
        slope = float(np.cov(x, y, bias=True)[0, 1] / np.var(x))
        share = float(np.corrcoef(x, y)[0, 1] ** 2)
        drivers.append(
            Driver(item.name, item.kind, item.low, item.high, share, slope * (item.high - item.low))
        )
    drivers.sort(key=lambda d: (-d.variance_share, d.name))
    r2 = math.nan
    if columns and len(rows) >= len(columns) + 10:
        design = np.column_stack([np.ones(len(rows)), *columns])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        r2 = max(0.0, 1 - float(np.var(y - design @ coef)) / float(np.var(y)))
    return tuple(drivers), r2
