"""The cost model: (workload, option) → Estimate, each figure with the arithmetic behind it.

N = active parameters, D = tokens, peak = chip TFLOPS at the workload's precision (a chip without
FP8 runs BF16, and then also stores 2 bytes per parameter), chips = chips per instance.

Training
    FLOPs per run           = 6 · N · D
    instance-hours per run  = FLOPs / (chips · peak · 1e12 · training_mfu · 3600)
                              (a measured tokens/s per instance replaces this: D / (tps · 3600))
    memory floor            = N_total · 16 bytes / (chips · HBM · hbm_usable_fraction)
    instances at once       = ceil(max(memory floor, instance-hours / (deadline_days · 24)))
                              (no deadline: each run may take horizon / runs)
    cost per run            = instance-hours · usd_per_hour;  over the horizon: · runs

Inference (decode roofline at batch b)
    t_mem  = bytes_per_param · N / (chips · HBM bandwidth · bandwidth_efficiency)
    t_comp = b · 2 · N / (chips · peak · 1e12 · inference_mfu)
    t      = max(t_mem, t_comp);  tokens/s per instance = b / t;  latency per token = t
    b is the catalog batch, lowered to the largest batch meeting max_ms_per_token.
    weights bytes_per_param · N_total must fit in chips · HBM · hbm_usable_fraction (a measured
    tokens/s does not waive this: see weights_fit).
    peak tokens/s = tokens_per_month / (hours_per_month · 3600) · peak_to_average
    instances     = ceil(peak tokens/s / tokens/s per instance)
    cost          = instances · usd_per_hour · hours_per_month · horizon_months

Migration: engineer-weeks of each item (framework, stack entries) · engineer_week_usd, paid once
per (codebase, family); zero for a family the codebase is already on.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from placement.inputs.models import (
    BYTES_PER_PARAM,
    TRAINING_BYTES_PER_PARAM,
    Catalog,
    Family,
    Option,
    PortEffort,
    Portfolio,
    Workload,
)

EPS = 1e-9


def whole(x: float) -> int:
    """Round up to whole instances, forgiving float noise (2.0000000001 → 2)."""
    return max(0, math.ceil(x - EPS))


@functools.lru_cache(maxsize=2**16)
def num(x: float) -> str:
    """Compact, deterministic number for arithmetic lines (memoised: catalog figures and portfolio
    sizes repeat, and formatting was over half the costing time at 10,000 workloads)."""
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    if abs(x) >= 1e6 or abs(x) < 1e-3:
        mantissa, exponent = f"{x:.4e}".split("e")
        return f"{float(mantissa):.4g}e{int(exponent)}"
    return f"{x:,.6g}" if abs(x) < 1e5 else f"{x:,.0f}"


@dataclass(frozen=True)
class Step:
    """One line of arithmetic: `what = formula = arithmetic = value unit`."""

    what: str
    formula: str
    arithmetic: str
    value: float
    unit: str


@dataclass(frozen=True)
class Estimate:
    """What running one workload entirely on one option takes and costs."""

    workload: str
    option: str
    family: Family
    ok: bool
    reason: str
    steps: tuple[Step, ...]
    inputs: tuple[str, ...]  # option fields the arithmetic used (their sources are cited)
    measured: bool = False
    # training
    instances_at_once: int = 0
    instance_hours_per_run: float = 0.0
    cost_per_run_usd: float = 0.0
    # inference
    tokens_per_second_per_instance: float = 0.0
    peak_tokens_per_second: float = 0.0
    latency_ms: float = 0.0
    batch: int = 0
    instances_needed: float = 0.0  # fractional: peak tokens/s ÷ tokens/s per instance
    usd_per_instance_horizon: float = 0.0  # price of one instance over the horizon
    compute_usd: float = 0.0  # horizon compute cost, whole instances, workload alone

    @property
    def instances(self) -> int:
        return self.instances_at_once if self.instances_needed == 0 else whole(self.instances_needed)


def effort(catalog: Catalog, item: str, family: Family) -> PortEffort:
    return catalog.migration.items[item][family]


def blocked_item(
    catalog: Catalog, workload: Workload, family: Family, waive: bool = True
) -> tuple[str, str] | None:
    """The first (item, reason) that cannot be ported to the family today, if any. A workload that
    lists the family in `already_on` runs there today, so nothing blocks it (`waive=False`: the
    block it overrides)."""
    if waive and family in workload.already_on:
        return None
    for item in workload.port_items:
        blocked = effort(catalog, item, family).blocked
        if blocked is not None:
            return item, blocked
    return None


def port_weeks(catalog: Catalog, workloads: list[Workload], family: Family) -> tuple[float, tuple[str, ...]]:
    """Engineer-weeks to port one codebase (these workloads) to a family, and the items counted;
    none if any of them lists the family in `already_on` (the codebase is the unit of porting)."""
    if any(family in w.already_on for w in workloads):
        return 0.0, ()
    items = sorted({item for w in workloads for item in w.port_items})
    counted = tuple(i for i in items if effort(catalog, i, family).weeks)
    return sum(effort(catalog, i, family).weeks or 0.0 for i in counted), counted


def weights_fit(w: Workload, o: Option) -> tuple[Step, str | None]:
    """Inference: the weights (bytes_per_param · N_total) against one instance's usable HBM; the
    step, and the reason the option is ruled out if they do not fit. It holds whether or not the
    workload gives a `measured` tokens/s for the option: a measurement cannot shrink the weights,
    and a measured figure for an instance they do not fit on is most likely a mistyped name."""
    bpp = BYTES_PER_PARAM[o.effective_precision(w.precision)]
    weights = bpp * w.model.total_params
    usable = o.instance_hbm_bytes * o.hbm_usable_fraction
    step = Step(
        "weights vs usable HBM",
        f"{bpp} B · N_total ≤ chips · HBM · 2^30 · usable",
        f"{num(weights)} B vs {num(usable)} B",
        weights / usable,
        "of usable HBM",
    )
    if weights <= usable:
        return step, None
    reason = (
        f"memory does not fit: weights need {weights / 2**30:,.1f} GiB, one instance has "
        f"{usable / 2**30:,.1f} GiB usable"
    )
    if o.id in w.measured:
        reason += (
            f" (the measured tokens/s given for {o.id} cannot make them fit: check the instance "
            "name in `measured`, or quantize the model and set its precision)"
        )
    return step, reason


def estimate(portfolio: Portfolio, workload: Workload, option: Option, catalog: Catalog) -> Estimate:
    """Estimate one (workload, option) pair, or say in the user's terms why it cannot run."""

    def ruled_out(reason: str) -> Estimate:
        return _ruled_out(workload, option, reason, [])

    if workload.kind not in option.kinds:
        return ruled_out(f"kind not supported: {option.id} is listed for {', '.join(option.kinds)} only")
    if workload.portability == "gpu-only" and option.family != "gpu":
        return ruled_out("portability: gpu-only keeps this workload on GPUs")
    blocked = blocked_item(catalog, workload, option.family)
    if blocked is not None:
        return ruled_out(f"porting blocked: {blocked[0]} on {option.family}: {blocked[1]}")
    if option.capacity_instances == 0:
        return ruled_out(f"no capacity: the catalog lists 0 {option.id} instances")
    if workload.kind == "training":
        return _training(portfolio, workload, option, catalog)
    return _inference(portfolio, workload, option, catalog)


def _ruled_out(w: Workload, o: Option, reason: str, steps: list[Step]) -> Estimate:
    return Estimate(w.name, o.id, o.family, ok=False, reason=reason, steps=tuple(steps), inputs=())


def _runs(
    w: Workload, o: Option, steps: list[Step], inputs: list[str], measured: bool, **figures: float
) -> Estimate:
    """An estimate for a pair that can run: the arithmetic, the catalog inputs used, the figures."""
    return Estimate(
        w.name,
        o.id,
        o.family,
        ok=True,
        reason="",
        steps=tuple(steps),
        inputs=tuple(sorted(set(inputs))),
        measured=measured,
        **figures,  # type: ignore[arg-type]
    )


def _training(portfolio: Portfolio, w: Workload, o: Option, catalog: Catalog) -> Estimate:
    assert w.tokens is not None  # guaranteed by Workload's validator for kind training
    hpm = catalog.settings.hours_per_month
    n, n_total, d = w.model.active_params, w.model.total_params, w.tokens
    steps: list[Step] = []
    inputs = ["usd_per_hour"]
    measured = w.measured.get(o.id)
    if measured is not None:
        tps = measured.tokens_per_second
        hours = d / (tps * 3600)
        steps.append(
            Step(
                "instance-hours per run",
                "D / (measured tokens/s · 3600)",
                f"{num(d)} / ({num(tps)} · 3600)",
                hours,
                "instance-h",
            )
        )
    else:
        precision = o.effective_precision(w.precision)
        peak = o.peak_tflops(w.precision)
        assert o.training_mfu is not None
        flops = 6 * n * d
        rate = o.chips * peak * 1e12 * o.training_mfu
        hours = flops / (rate * 3600)
        inputs += ["chips", f"{precision}_tflops", "training_mfu"]
        steps += [
            Step("FLOPs per run", "6 · N · D", f"6 · {num(n)} · {num(d)}", flops, "FLOP"),
            Step(
                "instance FLOP/s",
                f"chips · peak {precision} · 1e12 · training_mfu",
                f"{o.chips} · {num(peak)} · 1e12 · {num(o.training_mfu)}",
                rate,
                "FLOP/s",
            ),
            Step(
                "instance-hours per run",
                "FLOPs / (instance FLOP/s · 3600)",
                f"{num(flops)} / ({num(rate)} · 3600)",
                hours,
                "instance-h",
            ),
        ]
    usable = o.instance_hbm_bytes * o.hbm_usable_fraction
    floor = n_total * TRAINING_BYTES_PER_PARAM / usable
    steps.append(
        Step(
            "memory floor",
            "N_total · 16 B / (chips · HBM GiB · 2^30 · usable)",
            f"{num(n_total)} · 16 / ({o.chips} · {num(o.hbm_gib)} · 2^30 · {num(o.hbm_usable_fraction)})",
            floor,
            "instances",
        )
    )
    if w.deadline_days is not None:
        deadline_h = w.deadline_days * 24
        steps.append(Step("deadline", "deadline_days · 24", f"{num(w.deadline_days)} · 24", deadline_h, "h"))
    else:
        deadline_h = portfolio.horizon_months * hpm / w.run_count
        steps.append(
            Step(
                "time per run (no deadline)",
                "horizon_months · hours_per_month / runs",
                f"{num(portfolio.horizon_months)} · {num(hpm)} / {w.run_count}",
                deadline_h,
                "h",
            )
        )
    pace = hours / deadline_h
    at_once = whole(max(floor, pace))
    if floor > pace:
        inputs += ["chips", "hbm_gib", "hbm_usable_fraction"]
    steps += [
        Step(
            "instances for the deadline",
            "instance-hours / deadline hours",
            f"{num(hours)} / {num(deadline_h)}",
            pace,
            "instances",
        ),
        Step(
            "instances at once",
            "ceil(max(memory floor, instances for the deadline))",
            f"ceil(max({num(floor)}, {num(pace)}))",
            at_once,
            "instances",
        ),
    ]
    cost_run = hours * o.usd_per_hour
    total = cost_run * w.run_count
    steps += [
        Step(
            "cost per run",
            "instance-hours · usd_per_hour",
            f"{num(hours)} · {num(o.usd_per_hour)}",
            cost_run,
            "USD",
        ),
        Step(
            "cost over the horizon", "cost per run · runs", f"{num(cost_run)} · {w.run_count}", total, "USD"
        ),
    ]
    if at_once > o.capacity_instances:
        return _ruled_out(
            w,
            o,
            f"deadline not reachable with the capacity there is: needs {at_once} instances at "
            f"once, {o.capacity_instances} available",
            steps,
        )
    return _runs(
        w,
        o,
        steps,
        inputs,
        measured is not None,
        instances_at_once=at_once,
        instance_hours_per_run=hours,
        cost_per_run_usd=cost_run,
        compute_usd=total,
    )


def _inference(portfolio: Portfolio, w: Workload, o: Option, catalog: Catalog) -> Estimate:
    assert w.tokens_per_month is not None  # guaranteed by Workload's validator for kind inference
    hpm = catalog.settings.hours_per_month
    n = w.model.active_params
    precision = o.effective_precision(w.precision)
    bpp = BYTES_PER_PARAM[precision]
    inputs = ["usd_per_hour"]
    steps: list[Step] = []
    peak_tps = w.tokens_per_month / (hpm * 3600) * w.peak_factor
    steps.append(
        Step(
            "peak tokens/s",
            "tokens_per_month / (hours_per_month · 3600) · peak_to_average",
            f"{num(w.tokens_per_month)} / ({num(hpm)} · 3600) · {num(w.peak_factor)}",
            peak_tps,
            "tokens/s",
        )
    )
    measured = w.measured.get(o.id)
    batch, latency_ms = 0, 0.0
    fit, unfit = weights_fit(w, o)
    steps.append(fit)
    if unfit is not None:  # a measured tokens/s does not make the weights fit (README "Rules")
        return _ruled_out(w, o, unfit, steps)
    if measured is not None:
        tps = measured.tokens_per_second
        steps.append(Step("tokens/s per instance", "measured", num(tps), tps, "tokens/s"))
    else:
        peak = o.peak_tflops(w.precision)
        t_mem = bpp * n / (o.chips * o.hbm_tb_per_s * 1e12 * o.bandwidth_efficiency)
        t_one = 2 * n / (o.chips * peak * 1e12 * o.inference_mfu)
        steps += [
            Step(
                "t_mem per step",
                f"{bpp} B · N / (chips · TB/s · 1e12 · bandwidth_efficiency)",
                f"{bpp} · {num(n)} / ({o.chips} · {num(o.hbm_tb_per_s)} · 1e12 · "
                f"{num(o.bandwidth_efficiency)})",
                t_mem,
                "s",
            ),
            Step(
                "t_comp per token",
                f"2 · N / (chips · peak {precision} · 1e12 · inference_mfu)",
                f"2 · {num(n)} / ({o.chips} · {num(peak)} · 1e12 · {num(o.inference_mfu)})",
                t_one,
                "s",
            ),
        ]
        batch = o.inference_batch
        if w.max_ms_per_token is not None:
            limit = w.max_ms_per_token / 1000
            if max(t_mem, t_one) > limit:
                return _ruled_out(
                    w,
                    o,
                    f"latency target not reachable: even batch 1 takes "
                    f"{max(t_mem, t_one) * 1000:,.2f} ms per token, target {num(w.max_ms_per_token)} ms",
                    steps,
                )
            batch = min(batch, max(1, math.floor(limit / t_one + EPS)))
            steps.append(
                Step(
                    "batch",
                    "min(inference_batch, floor(max_ms_per_token / t_comp))",
                    f"min({o.inference_batch}, floor({num(limit)} / {num(t_one)}))",
                    batch,
                    "sequences",
                )
            )
        t = max(t_mem, batch * t_one)
        tps = batch / t
        inputs += ["chips", "inference_batch"]
        if t_mem >= batch * t_one:
            inputs += ["hbm_tb_per_s", "bandwidth_efficiency"]
        else:
            inputs += [f"{precision}_tflops", "inference_mfu"]
        latency_ms = t * 1000
        steps += [
            Step(
                "step time t", "max(t_mem, b · t_comp)", f"max({num(t_mem)}, {batch} · {num(t_one)})", t, "s"
            ),
            Step("tokens/s per instance", "b / t", f"{batch} / {num(t)}", tps, "tokens/s"),
        ]
    needed = peak_tps / tps
    count = whole(needed)
    per_instance = o.usd_per_hour * hpm * portfolio.horizon_months
    total = count * per_instance
    steps += [
        Step(
            "instances",
            "ceil(peak tokens/s / tokens/s per instance)",
            f"ceil({num(peak_tps)} / {num(tps)})",
            count,
            "instances",
        ),
        Step(
            "cost over the horizon",
            "instances · usd_per_hour · hours_per_month · horizon_months",
            f"{count} · {num(o.usd_per_hour)} · {num(hpm)} · {num(portfolio.horizon_months)}",
            total,
            "USD",
        ),
    ]
    return _runs(
        w,
        o,
        steps,
        inputs,
        measured is not None,
        tokens_per_second_per_instance=tps,
        peak_tokens_per_second=peak_tps,
        latency_ms=latency_ms,
        batch=batch,
        instances_needed=needed,
        usd_per_instance_horizon=per_instance,
        compute_usd=total,
    )


def estimates(portfolio: Portfolio, catalog: Catalog) -> dict[tuple[str, str], Estimate]:
    """Every (workload, option) pair, in portfolio then catalog order."""
    return {
        (w.name, o.id): estimate(portfolio, w, o, catalog)
        for w in portfolio.workloads
        for o in catalog.options
    }
