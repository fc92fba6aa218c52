"""The risk-aware plan: which commitments and ports to sign now, chosen over sampled futures
(two-stage stochastic programming by sample average approximation, SAA).

The extensive form (`engine/stochastic.solve_stochastic`) is exact but grows with the number of
futures faster than HiGHS can close it (the startup example: 2 futures in 6 s, 8 in over 120 s at
a 3% gap).  So the SAA problem over N futures is solved by scenario decomposition:
1. Hindsight: each future planned as if known (`risk.sample_future`, one task each).  The mean of
   their proven lower bounds bounds the SAA optimum from below (no first stage can do better in
   a future than that future's own best plan); for CVaR, the CVaR of those bounds does.
2. Candidates: the deterministic plan's first stage; none at all (on demand and blocks only); and,
   per commitment, the 10th, 25th, 50th, 75th and 90th percentile of what the hindsight plans
   commit (ports: those at least half the hindsight plans make); then the best so far with its
   commitments cut by a quarter and by half.  Each candidate is evaluated in every future with
   its commitments and ports signed and the rest re-optimized (`engine/stochastic.recourse`).
3. The best candidate by the SAA objective; when the extensive form is small enough
   (`EXTENSIVE_VARIABLES`), it is solved too, started from that candidate, and its proven bound
   tightens the lower bound.
Reported: the SAA objective and its proven gap (best candidate against the lower bound); out of
sample, on M fresh futures, each of the deterministic and the risk-aware first stage's cost and
the value of the stochastic solution (paired on the same futures, with a 95% interval); and a
statistical bound on the true problem's optimality gap: the multiple-replications procedure of
Mak, Morton & Wood (1999) with one-future batches and common random numbers.  In each fresh
future j, gap_j = cost of the chosen first stage − the proven bound of j's hindsight plan; every
first stage costs at least E[hindsight] in expectation, so E[gap_j] bounds the chosen stage's
true optimality gap from above, and the 95% upper end of gap_j's interval is reported.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from placement.analyses.fanout import IN_PROCESS, Progress, Runner, Task
from placement.analyses.futures import UncertainInput
from placement.analyses.risk import (
    Sample,
    Spread,
    cvar,
    drawn_future,
    evaluate,
    sample_future,
    sample_futures,
    spread,
)
from placement.engine.formulation import FirstStage, build
from placement.engine.optimizer import SolveSettings
from placement.engine.plan import Plan
from placement.engine.stochastic import (
    recourse,
    shape,
    solve_stochastic,
    spot_only,
)
from placement.errors import SolverError
from placement.inputs.models import Catalog, Portfolio

QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)
CUTS = (0.75, 0.50)
EXTENSIVE_VARIABLES = 60_000  # the extensive form is tried up to this many variables
EVALUATION_OFFSET = 1_000_000_000  # out-of-sample futures: indices far from any in-sample one
# t quantiles (0.975) for small samples; the normal 1.96 beyond
T_975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
)


@dataclass(frozen=True)
class Candidate:
    label: str
    first: FirstStage
    costs: tuple[float | None, ...]  # per in-sample future (None: it cannot serve that future)
    objective: float  # the SAA objective (inf when some servable future is left unserved)


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float  # 95% interval
    high: float
    count: int


@dataclass(frozen=True)
class HedgeReport:
    scenarios: int
    seed: int
    measure: str  # "expected" | "cvar"
    alpha: float
    inputs: tuple[UncertainInput, ...]
    deterministic: Candidate
    chosen: Candidate
    candidates: tuple[Candidate, ...]
    lower_bound: float  # proven on the SAA problem
    gap: float  # (chosen − lower bound) / chosen
    dropped: int  # in-sample futures no plan can serve even in hindsight (left out)
    evaluation: int  # fresh futures the two first stages are compared on
    deterministic_out: Spread | None
    chosen_out: Spread | None
    unserved_out: tuple[int, int]  # fresh futures the deterministic / chosen first stage cannot serve
    vss: Interval | None  # deterministic − chosen, expected cost, out of sample (USD)
    gap_bound: float | None  # 95% upper confidence bound on the true optimality gap (USD; expected cost)


def t975(count: int) -> float:
    """The 0.975 quantile of Student's t with count − 1 degrees of freedom."""
    df = count - 1
    return T_975[df - 1] if 1 <= df <= len(T_975) else 1.96


def interval(values: Sequence[float]) -> Interval | None:
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    half = t975(len(values)) * statistics.stdev(values) / math.sqrt(len(values))
    return Interval(mean, mean - half, mean + half, len(values))


def objective(costs: Sequence[float], measure: str, alpha: float) -> float:
    return cvar(costs, alpha) if measure == "cvar" else statistics.fmean(costs)


def _count_quantile(counts: Sequence[int], q: float) -> int:
    ordered = sorted(counts)
    return ordered[min(len(ordered) - 1, math.floor(q * len(ordered)))]


def candidates_from(
    hindsight: Sequence[FirstStage], deterministic: FirstStage
) -> list[tuple[str, FirstStage]]:
    """The deterministic first stage, none, and per-commitment percentiles of the hindsight ones."""
    out = [
        ("deterministic plan", deterministic),
        ("no commitments", FirstStage((), deterministic.ports)),
    ]
    keys = sorted({c[:3] for f in hindsight for c in f.commits})
    counts = [{c[:3]: c[3] for c in f.commits} for f in hindsight]
    made = Counter(p[:2] for f in hindsight for p in f.ports)
    months = {pair: Counter(p[2] for f in hindsight for p in f.ports if p[:2] == pair) for pair in made}
    ports = tuple(
        sorted(
            (c, g, max(months[(c, g)].items(), key=lambda kv: (kv[1], -kv[0]))[0])
            for (c, g), n in made.items()
            if 2 * n >= len(hindsight)
        )
    )
    for q in QUANTILES:
        commits = tuple((*k, n) for k in keys if (n := _count_quantile([c.get(k, 0) for c in counts], q)) > 0)
        out.append((f"hindsight P{round(q * 100)}", FirstStage(commits, ports)))
    return out


def cut(first: FirstStage, factor: float) -> FirstStage:
    commits = tuple(
        (o, t, m, math.floor(n * factor)) for o, t, m, n in first.commits if math.floor(n * factor) > 0
    )
    return FirstStage(commits, first.ports)


def _key(first: FirstStage) -> tuple[object, ...]:
    return (first.commits, first.ports)


@dataclass(frozen=True)
class _Sweep:
    """What every evaluation of one hedge shares."""

    portfolio: Portfolio
    catalog: Catalog
    inputs: tuple[UncertainInput, ...]
    seed: int
    futures: tuple[int, ...]  # the in-sample futures some plan can serve
    settings: SolveSettings
    runner: Runner
    progress: Progress | None
    measure: str
    alpha: float

    def evaluate(self, pool: Sequence[tuple[str, FirstStage]]) -> list[Candidate]:
        """Each candidate's cost in each in-sample future: one task per pair."""
        unique: list[tuple[str, FirstStage]] = []
        for label, first in pool:
            if all(_key(first) != _key(f) for _, f in unique):
                unique.append((label, first))
        tasks = [
            Task(evaluate, (self.portfolio, self.catalog, self.inputs, f, self.seed, i, self.settings))
            for _, f in unique
            for i in self.futures
        ]
        costs = self.runner.run(tasks, self.progress)
        n = len(self.futures)
        return [
            self.scored(Candidate(label, f, tuple(costs[k * n : (k + 1) * n]), math.inf))
            for k, (label, f) in enumerate(unique)
        ]

    def scored(self, c: Candidate) -> Candidate:
        if any(cost is None for cost in c.costs) or not c.costs:
            return Candidate(c.label, c.first, c.costs, math.inf)
        costs = [x for x in c.costs if x is not None]
        return Candidate(c.label, c.first, c.costs, objective(costs, self.measure, self.alpha))


def hedge(
    plan: Plan,
    portfolio: Portfolio,
    catalog: Catalog,
    scenarios: int,
    seed: int,
    settings: SolveSettings,
    measure: str = "expected",
    alpha: float = 0.9,
    evaluation: int | None = None,
    runner: Runner = IN_PROCESS,
    progress: Progress | None = None,
) -> HedgeReport:
    """The risk-aware first stage over `scenarios` futures (see the module docstring)."""
    inputs, det, settings, sample = sample_futures(
        plan, portfolio, catalog, scenarios, seed, settings, runner, progress
    )
    servable = tuple(i for i, r in enumerate(sample) if r.scratch_usd is not None)
    kept = [sample[i] for i in servable]
    sweep = _Sweep(portfolio, catalog, inputs, seed, servable, settings, runner, progress, measure, alpha)
    seen = {_key(det): sweep.scored(Candidate("deterministic plan", det, tuple(r.plan_usd for r in kept), 0))}
    pool = candidates_from([r.scratch_first for r in kept if r.scratch_first is not None], det)
    for c in sweep.evaluate([(label, f) for label, f in pool if _key(f) not in seen]):
        seen.setdefault(_key(c.first), c)
    best = min(seen.values(), key=lambda c: (c.objective, c.label))
    trims = [(f"{best.label}, commitments × {f:g}", cut(best.first, f)) for f in CUTS]
    for c in sweep.evaluate([(label, f) for label, f in trims if _key(f) not in seen]):
        seen.setdefault(_key(c.first), c)
    best = min(seen.values(), key=lambda c: (c.objective, c.label))
    bounds = [r.scratch_bound_usd for r in kept if r.scratch_bound_usd is not None]
    lower = objective(bounds, measure, alpha) if bounds else math.nan
    if math.isfinite(best.objective):
        polished, bound = _extensive(best, sweep)
        if polished is not None:
            seen.setdefault(_key(polished.first), polished)
        lower = max(lower, bound) if bounds else bound
    everything = sorted(seen.values(), key=lambda c: (c.objective, c.label))
    chosen, deterministic = everything[0], seen[_key(det)]
    gap = (chosen.objective - lower) / chosen.objective if chosen.objective > 0 and bounds else math.nan
    m = evaluation if evaluation is not None else max(scenarios, 30)
    det_out, chosen_out = _out_of_sample(
        portfolio, catalog, inputs, seed, m, (det, chosen.first), settings, runner, progress
    )
    paired = [
        a - b.plan_usd
        for a, b in zip(det_out, chosen_out, strict=True)
        if a is not None and b.plan_usd is not None
    ]
    regret = [
        r.plan_usd - r.scratch_bound_usd
        for r in chosen_out
        if r.plan_usd is not None and r.scratch_bound_usd is not None
    ]
    regret_interval = interval(regret)
    return HedgeReport(
        scenarios=scenarios,
        seed=seed,
        measure=measure,
        alpha=alpha,
        inputs=inputs,
        deterministic=deterministic,
        chosen=chosen,
        candidates=tuple(everything),
        lower_bound=lower,
        gap=gap,
        dropped=scenarios - len(servable),
        evaluation=m,
        deterministic_out=spread([c for c in det_out if c is not None]),
        chosen_out=spread([r.plan_usd for r in chosen_out if r.plan_usd is not None]),
        unserved_out=(sum(c is None for c in det_out), sum(r.plan_usd is None for r in chosen_out)),
        vss=interval(paired),
        gap_bound=None
        if regret_interval is None or measure != "expected"
        else max(0.0, regret_interval.high),
    )


def _extensive(best: Candidate, sweep: _Sweep) -> tuple[Candidate | None, float]:
    """The extensive form over the in-sample futures, started from `best`, when it is small enough
    (`EXTENSIVE_VARIABLES`): a better first stage if HiGHS finds one, and its proven bound."""
    built = [
        drawn_future(sweep.portfolio, sweep.catalog, sweep.inputs, sweep.seed, i)[1] for i in sweep.futures
    ]
    common = shape(built, best.first.months)
    one = build(spot_only(built[0].portfolio), built[0].catalog, built[0].pairs, breaks=common.breaks)
    if len(one.problem.variables()) * len(built) > EXTENSIVE_VARIABLES:
        return None, -math.inf
    settings = sweep.settings
    start = [recourse(f, best.first, common, settings, tag=f"f{i}_") for i, f in enumerate(built)]
    try:
        result = solve_stochastic(built, common, sweep.measure, sweep.alpha, settings, (best.first, start))
    except SolverError:
        return None, -math.inf
    if result.status == "infeasible":
        return None, -math.inf
    better = Candidate("extensive form", result.first, result.costs, result.objective)
    return (better if result.objective < best.objective - 1e-9 * abs(best.objective) else None), result.bound


def _out_of_sample(
    portfolio: Portfolio,
    catalog: Catalog,
    inputs: tuple[UncertainInput, ...],
    seed: int,
    count: int,
    firsts: tuple[FirstStage, FirstStage],
    settings: SolveSettings,
    runner: Runner,
    progress: Progress | None,
) -> tuple[list[float | None], list[Sample]]:
    """On `count` fresh futures: the deterministic first stage's cost, and the chosen one's with
    each future's hindsight plan (common random numbers: the same futures for both)."""
    indices = [EVALUATION_OFFSET + j for j in range(count)]
    det, chosen = firsts
    tasks = [Task(evaluate, (portfolio, catalog, inputs, det, seed, i, settings)) for i in indices]
    tasks += [Task(sample_future, (portfolio, catalog, inputs, chosen, seed, i, settings)) for i in indices]
    results = runner.run(tasks, progress)
    return results[:count], results[count:]
