"""How far the plan's answer moves when its inputs do. Every figure here comes from re-solving the
MILP with one input changed, never from LP duals (with whole instances and indivisible runs the
duals of the relaxation can mislead).

- Shadow price of a binding capacity: the total with that option's capacity +1 instance (and +25%)
  in every month (its capacity calendar too), against the base total.
- Break-even price: for each option in use, the hourly price above which some workload leaves it;
  for each workload's runner-up, the price below which the workload moves onto it. Found by
  bisection on the price, each probe a full re-solve started from the base plan's placement;
  reported to the cent. The price searched is the on-demand one; the option's 1-year, 3-year and
  Capacity Block prices move in proportion.
- Price of portability: the total with the `max_family_share` policy and the `gpu-only` marks,
  against the total without each and without both.
- Vendor claims: the catalog's own price-performance, through the same cost formulas, for the
  seeds' claims (Trn2 vs H100, Trn3 vs H200 training; Inf2 vs GPU per-token cost).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from placement.analyses.fanout import IN_PROCESS, Progress, Runner, Task
from placement.analyses.scenarios import apply_scenario
from placement.engine.costing import estimate
from placement.engine.optimizer import SolveSettings
from placement.engine.plan import Plan
from placement.engine.planner import make_plan
from placement.errors import InfeasibleError
from placement.inputs.models import Catalog, Change, OptionField, Portfolio, Scenario, Workload

BISECTION_STEPS = 10


@dataclass(frozen=True)
class ShadowPrice:
    option: str
    used: int
    available: int
    saving_one_usd: float | None  # total falls by this with +1 instance (None: no plan)
    extra_quarter: int
    saving_quarter_usd: float | None


@dataclass(frozen=True)
class BreakEven:
    option: str
    workload: str
    direction: str  # "leaves above" | "moves onto below"
    current_usd_per_hour: float
    break_even_usd_per_hour: float | None  # None: no flip within the searched range
    searched_to: float


@dataclass(frozen=True)
class PortabilityPrice:
    label: str
    total_usd: float | None  # None: no plan
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ClaimCheck:
    claim: str
    source: str
    ours: str
    implied_advantage: float | None  # fraction: 0.3 = 30% cheaper for the same work
    verdict: str
    previous_verdict: str | None = None  # under placement 0.1's uncalibrated model, when it differs


# The verdicts placement 0.1 gave with its uncalibrated serving model (hand-set batch 32 and one
# bandwidth efficiency for every option; tests/golden/memo-enterprise.md before the calibration).
# A memo says so plainly where the calibrated model changes one.
PREVIOUS_VERDICTS = {
    "Trn2: ~30% better price-performance than H100 for transformer training": "agrees",
    "Trn3 matches or exceeds H200 for LLM training, keeping Trn2's cost advantage": (
        "catalog less favourable than the claim"
    ),
    "(same claim, FP8 training)": "catalog more favourable than the claim",
    "Inferentia: lower per-token cost than A100/H100 inference": "disagrees",
}


@dataclass(frozen=True)
class Sensitivity:
    base: Plan
    shadow_prices: tuple[ShadowPrice, ...]
    break_evens: tuple[BreakEven, ...]
    portability: tuple[PortabilityPrice, ...]
    claims: tuple[ClaimCheck, ...]


def _total(
    portfolio: Portfolio, catalog: Catalog, settings: SolveSettings, prefer: dict[str, str] | None = None
) -> float | None:
    try:
        return make_plan(portfolio, catalog, "probe", settings, prefer=prefer).total_usd
    except InfeasibleError:
        return None


def _with(scenario: Scenario, portfolio: Portfolio, catalog: Catalog) -> tuple[Portfolio, Catalog]:
    return apply_scenario(scenario, portfolio, catalog)


@dataclass(frozen=True)
class Batch:
    """Independent probes and how to turn their results (in task order) into the answer."""

    tasks: list[Task]
    finish: Callable[[list[Any]], Any]

    def run(self, runner: Runner) -> Any:
        return self.finish(runner.run(self.tasks))


def shadow_prices(
    base: Plan, portfolio: Portfolio, catalog: Catalog, settings: SolveSettings, runner: Runner = IN_PROCESS
) -> list[ShadowPrice]:
    return list(_shadow_batch(base, portfolio, catalog, settings).run(runner))


def _shadow_batch(base: Plan, portfolio: Portfolio, catalog: Catalog, settings: SolveSettings) -> Batch:
    """Two probes per binding capacity: +1 instance and +25%, each started from the base plan."""
    binding = [(use, max(1, math.ceil(use.available * 0.25))) for use in base.capacity if use.binding]
    where = base.main_options()
    tasks = [
        Task(_total, (portfolio, _more_capacity(catalog, use.option, extra), settings, where))
        for use, quarter in binding
        for extra in (1, quarter)
    ]

    def finish(totals: list[float | None]) -> list[ShadowPrice]:
        savings = [None if t is None else base.total_usd - t for t in totals]
        return [
            ShadowPrice(use.option, use.used, use.available, savings[2 * i], quarter, savings[2 * i + 1])
            for i, (use, quarter) in enumerate(binding)
        ]

    return Batch(tasks, finish)


def _more_capacity(catalog: Catalog, option_id: str, extra: int) -> Catalog:
    """The catalog with `extra` more instances of an option in every month (its capacity and each
    step of its capacity calendar)."""
    option = catalog.option(option_id)
    more = option.model_copy(
        update={
            "capacity_instances": option.capacity_instances + extra,
            "capacity_by_month": {m: v + extra for m, v in option.capacity_by_month.items()},
        }
    )
    return catalog.model_copy(
        update={"options": tuple(more if o.id == option_id else o for o in catalog.options)}
    )


def _holding(plan: Plan | None, workload: str, option: str) -> bool:
    if plan is None:
        return False
    return any(p.option == option for r in plan.workloads if r.workload == workload for p in r.placements)


def _plan_at(
    price: float,
    option: str,
    portfolio: Portfolio,
    catalog: Catalog,
    settings: SolveSettings,
    prefer: dict[str, str] | None = None,
) -> Plan | None:
    scenario = Scenario(name="break-even probe", options={option: _priced(catalog, option, price)})
    try:
        return make_plan(*_with(scenario, portfolio, catalog), "probe", settings, prefer=prefer)
    except InfeasibleError:
        return None


COMMITTED_PRICES: tuple[OptionField, ...] = (
    "one_year_usd_per_hour",
    "three_year_usd_per_hour",
    "capacity_block_usd_per_hour",
)


def _priced(catalog: Catalog, option_id: str, price: float) -> dict[OptionField, Change]:
    """An option's prices with the on-demand one at `price` and its 1-year, 3-year and Capacity
    Block prices moved in proportion (a plan that buys commitments or blocks pays those)."""
    current = catalog.option(option_id).usd_per_hour
    changes: dict[OptionField, Change] = {"usd_per_hour": Change(value=price)}
    for field in COMMITTED_PRICES:
        if getattr(catalog.option(option_id), field) is not None:
            changes[field] = Change(factor=price / current)
    return changes


def break_even(
    option: str,
    workload: str,
    holds_now: bool,
    portfolio: Portfolio,
    catalog: Catalog,
    settings: SolveSettings,
    prefer: dict[str, str] | None = None,
) -> BreakEven:
    """The price where `workload` starts or stops using `option`: bracketed by probes, then bisected.

    holds_now: the workload uses the option in the base plan, so search upwards (to 8× the price)
    for where it leaves; otherwise search downwards (towards 0) for where it moves on.  `prefer`:
    the base plan's option for each workload, each probe's start (one price moved: the base plan
    is close)."""
    current = catalog.option(option).usd_per_hour
    factors = (1.0001, 1.25, 2.0, 8.0) if holds_now else (0.9999, 0.75, 0.5, 0.001)
    direction = "leaves above" if holds_now else "moves onto below"

    def holds(price: float) -> bool:
        return _holding(_plan_at(price, option, portfolio, catalog, settings, prefer), workload, option)

    inside = current  # a price on the base side of the flip
    for factor in factors:
        probe = current * factor
        if holds(probe) != holds_now:
            break
        inside = probe
    else:
        return BreakEven(option, workload, direction, current, None, current * factors[-1])
    outside = probe
    for _ in range(BISECTION_STEPS):
        middle = (inside + outside) / 2
        if holds(middle) == holds_now:
            inside = middle
        else:
            outside = middle
    return BreakEven(option, workload, direction, current, round(inside, 2), current * factors[-1])


def break_evens(
    base: Plan,
    portfolio: Portfolio,
    catalog: Catalog,
    settings: SolveSettings,
    close: float = 0.15,
    runner: Runner = IN_PROCESS,
) -> list[BreakEven]:
    """For every option in use: its largest workload there. For every runner-up option within
    `close` (fraction of the workload's cost) of the plan: the workload closest to moving onto it.
    Each search is a task (its bisection steps are sequential; the searches are independent)."""
    return list(_break_even_batch(base, portfolio, catalog, settings, close).run(runner))


def _break_even_batch(
    base: Plan, portfolio: Portfolio, catalog: Catalog, settings: SolveSettings, close: float = 0.15
) -> Batch:
    searches: list[tuple[str, str, bool]] = []
    biggest: dict[str, tuple[float, str]] = {}
    for p in base.placements:
        if p.compute_usd > biggest.get(p.option, (-1.0, ""))[0]:
            biggest[p.option] = (p.compute_usd, p.workload)
    for option_id in sorted(biggest):
        searches.append((option_id, biggest[option_id][1], True))
    closest: dict[str, tuple[float, str]] = {}
    for r in base.workloads:
        runner = r.runner_up
        if runner is None or r.compute_usd <= 0 or runner.option not in catalog.option_ids:
            continue
        gap = runner.extra_usd / r.compute_usd
        if gap <= close and gap < closest.get(runner.option, (math.inf, ""))[0]:
            closest[runner.option] = (gap, r.workload)
    for option_id in sorted(closest):
        searches.append((option_id, closest[option_id][1], False))
    where = base.main_options()
    tasks = [Task(break_even, (o, w, holds, portfolio, catalog, settings, where)) for o, w, holds in searches]
    return Batch(tasks, list)


def price_of_portability(
    portfolio: Portfolio, catalog: Catalog, settings: SolveSettings, runner: Runner = IN_PROCESS
) -> list[PortabilityPrice]:
    return list(_portability_batch(portfolio, catalog, settings).run(runner))


def _portability_batch(portfolio: Portfolio, catalog: Catalog, settings: SolveSettings) -> Batch:
    free_policy = portfolio.model_copy(
        update={"policy": portfolio.policy.model_copy(update={"max_family_share": None})}
    )

    def unpinned(p: Portfolio) -> Portfolio:
        return p.model_copy(
            update={"workloads": tuple(w.model_copy(update={"portability": "any"}) for w in p.workloads)}
        )

    variants = [
        ("as written", portfolio),
        ("without max_family_share", free_policy),
        ("without gpu-only marks", unpinned(portfolio)),
        ("without both", unpinned(free_policy)),
    ]
    return Batch([Task(_portability, (label, v, catalog, settings)) for label, v in variants], list)


def _portability(
    label: str, portfolio: Portfolio, catalog: Catalog, settings: SolveSettings
) -> PortabilityPrice:
    try:
        return PortabilityPrice(label, make_plan(portfolio, catalog, "probe", settings).total_usd, ())
    except InfeasibleError as exc:
        return PortabilityPrice(label, None, (exc.headline, *exc.reasons))


# --------------------------------------------------------------------------- vendor claims

_REFERENCE_TRAINING = Workload.model_validate(
    {
        "name": "reference: Llama 3.1 70B, 1T tokens",
        "kind": "training",
        "framework": "pytorch",
        "model": {"name": "llama-3.1-70b"},
        "tokens": 1e12,
        "sequence_length": 8192,
    }
)


def _reference_inference(model: str) -> Workload:
    return Workload.model_validate(
        {
            "name": f"reference: {model} serving",
            "kind": "inference",
            "framework": "pytorch",
            "model": {"name": model},
            "tokens_per_month": 1e12,
        }
    )


def _cost(workload: Workload, option_id: str, catalog: Catalog, precision: str = "bf16") -> float | None:
    if option_id not in catalog.option_ids:
        return None
    w = workload.model_copy(update={"precision": precision})
    portfolio = Portfolio(horizon_months=12, workloads=(w,))
    option = catalog.option(option_id)
    # Price-performance, not availability: the reference job is priced as if capacity were there.
    unconstrained = option.model_copy(update={"capacity_instances": 10**9})
    e = estimate(portfolio, w, unconstrained, catalog)
    if not e.ok:
        return None
    return e.compute_usd if w.kind == "training" else e.instances_needed * e.usd_per_instance_horizon


def _claim(
    claim: str, source: str, ours_label: str, ours: float | None, theirs: float | None, claimed: float | None
) -> ClaimCheck:
    if ours is None or theirs is None:
        return ClaimCheck(claim, source, "not computable with this catalog", None, "cannot check")
    advantage = 1 - ours / theirs
    detail = f"{ours_label}: ${ours:,.0f} vs ${theirs:,.0f}"
    previous = PREVIOUS_VERDICTS.get(claim)
    if claimed is None:
        verdict = "agrees" if advantage > 0 else "disagrees"
    else:
        verdict = (
            "agrees"
            if abs(advantage - claimed) <= 0.1
            else (
                "catalog more favourable than the claim"
                if advantage > claimed
                else "catalog less favourable than the claim"
            )
        )
    return ClaimCheck(claim, source, detail, advantage, verdict, previous if previous != verdict else None)


def vendor_claims(catalog: Catalog) -> list[ClaimCheck]:
    train = _REFERENCE_TRAINING
    serve = _reference_inference("llama-3.1-8b")
    gpu_serving = [
        o.id for o in catalog.options if o.family == "gpu" and o.accelerator.startswith(("A100", "H100"))
    ]
    gpu_costs = [c for c in (_cost(serve, g, catalog) for g in gpu_serving) if c is not None]
    inf_costs = [
        c
        for c in (_cost(serve, o.id, catalog) for o in catalog.options if o.family == "inferentia")
        if c is not None
    ]
    return [
        _claim(
            "Trn2: ~30% better price-performance than H100 for transformer training",
            "seed-000",
            "Llama 3.1 70B × 1T tokens at 8k, BF16, trn2.48xlarge@us-east-2 vs p5.48xlarge",
            _cost(train, "trn2.48xlarge@us-east-2", catalog),
            _cost(train, "p5.48xlarge", catalog),
            0.30,
        ),
        _claim(
            "Trn3 matches or exceeds H200 for LLM training, keeping Trn2's cost advantage",
            "seed-000",
            "Llama 3.1 70B × 1T tokens at 8k, BF16, Trn3 UltraServer vs p5en.48xlarge",
            _cost(train, "trn3-ultraserver-gen1", catalog),
            _cost(train, "p5en.48xlarge", catalog),
            0.30,
        ),
        _claim(
            "(same claim, FP8 training)",
            "seed-000",
            "Llama 3.1 70B × 1T tokens at 8k, FP8, Trn3 UltraServer vs p5en.48xlarge",
            _cost(train, "trn3-ultraserver-gen1", catalog, "fp8"),
            _cost(train, "p5en.48xlarge", catalog, "fp8"),
            0.30,
        ),
        _claim(
            "Inferentia: lower per-token cost than A100/H100 inference",
            "seed-000",
            "Llama 3.1 8B BF16, 1T generated tokens/month (1,024 in / 256 out), "
            "cheapest Inf2 vs cheapest A100/H100",
            min(inf_costs) if inf_costs else None,
            min(gpu_costs) if gpu_costs else None,
            None,
        ),
    ]


def analyse(
    portfolio: Portfolio,
    catalog: Catalog,
    name: str,
    settings: SolveSettings,
    runner: Runner = IN_PROCESS,
    progress: Progress | None = None,
) -> Sensitivity:
    """The base plan (solved here), then every probe as one batch of independent tasks on `runner`:
    the break-even searches first (the longest), then the capacity and portability probes."""
    base = make_plan(portfolio, catalog, name, settings)
    batches = [
        _break_even_batch(base, portfolio, catalog, settings),
        _shadow_batch(base, portfolio, catalog, settings),
        _portability_batch(portfolio, catalog, settings),
    ]
    results = runner.run([t for b in batches for t in b.tasks], progress)
    answers = []
    for batch in batches:
        answers.append(batch.finish(results[: len(batch.tasks)]))
        results = results[len(batch.tasks) :]
    break_evens_, shadow, portability = answers
    return Sensitivity(
        base=base,
        shadow_prices=tuple(shadow),
        break_evens=tuple(break_evens_),
        portability=tuple(portability),
        claims=tuple(vendor_claims(catalog)),
    )
