"""Calibration: the performance model against published measurements, and the fit of its constants.

Groups of hardware share their efficiency constants (same chip generation and software stack):
GROUPS below. For each group:
- serving: bandwidth_efficiency, decode_overhead_ms and prefill_mfu minimise the sum of squared
  log errors log(predicted / measured) over the group's inference measurements (coordinate descent
  over fixed grids, so the fit is deterministic). A group with fewer than MIN_POINTS points fits
  the per-step overhead only and takes the other two from its PARENT group, saying so; a group with
  no point takes all three from its parent, marked as an estimate with a wider uncertainty.
- max_batch is evidence, not a fit: the largest batch per replica stated in the group's
  measurements, or its predecessor generation's when that is larger (SUCCESSORS); runs with no
  stated batch ("max throughput") set no cap, and a group with no stated batch at all takes its
  parent's (SATURATED_BATCH for a group with neither).
- training: training_mfu is the geometric mean of the MFU each training measurement implies with
  the model's FLOPs (perf/training.py), i.e. the least-squares fit in log space.

A measurement is predicted under its own conditions: its chips, its batch (or the model's own
choice when none is stated), its prompt and generated lengths and precision. Its metric is the one
published: generated tokens/s, total tokens/s, or time per output token.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from placement.inputs.evidence import (
    Fit,
    FitGroup,
    Measurement,
    MeasurementSet,
    ServingFit,
    TrainingFit,
)
from placement.inputs.models import Architecture, ModelSize, Option, Request
from placement.perf import training
from placement.perf.serving import Chip, Efficiency, best_serving, configure
from placement.perf.shapes import Shape, from_architecture, resolve

GROUPS: dict[str, tuple[str, ...]] = {
    "neuron-v2": ("trn1", "inf2"),
    "trainium2": ("trn2",),
    "trainium3": ("trn3",),
    "ampere": ("a100-40gb", "a100-80gb", "a10g"),
    "hopper": ("h100", "h200"),
    "blackwell": ("b200", "b300", "gb200"),
    "ada": ("l40s", "l4"),
}
PARENT = {
    "trainium2": "neuron-v2",
    "trainium3": "trainium2",
    "ampere": "hopper",
    "blackwell": "hopper",
    "ada": "hopper",
}
# Groups whose parent is the previous generation on the same software stack: their batch cap is at
# least the predecessor's evidence. (Ampere and Ada borrow Hopper's constants when they must, but an
# older or smaller chip inherits no batch evidence from a newer one.)
SUCCESSORS = {"trainium2", "trainium3", "blackwell"}
MIN_POINTS = 4
SATURATED_BATCH = 256  # vLLM's default max_num_seqs: what a saturated run with no stated batch is taken as
WEIGHT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5, "int4": 0.5}
KV_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 2.0, "fp4": 1.0, "int4": 2.0}
FP8_COMPUTE = {"fp8", "fp4"}
START = Efficiency(
    link_bandwidth=200e9,
    bandwidth_efficiency=0.5,
    decode_overhead_s=0.002,
    prefill_mfu=0.4,
    max_batch=SATURATED_BATCH,
)
# Priors (weak; see _prior): memory-bound kernels reach roughly 70% of peak HBM bandwidth, dense
# matmuls about half of peak FLOPS, a decode step costs a few milliseconds of launches and scheduling,
# and one all-reduce of a decode step's activations some tens of microseconds on a fast fabric.
PRIOR = {
    "bandwidth_efficiency": 0.7,
    "prefill_mfu": 0.5,
    "decode_overhead_s": 0.002,
    "collective_s": 20e-6,
    "link_bandwidth": 200e9,
}
PRIOR_WEIGHT = 0.25
GRID_EFF = [0.02 * 1.08**i for i in range(51)] + [0.97, 1.0]  # 0.02 .. 1
GRID_MFU = [0.02 * 1.08**i for i in range(51)]
GRID_COLL = [i * 2e-6 for i in range(51)] + [1e-4 + i * 1e-5 for i in range(1, 41)]  # 0 .. 500 µs
GRID_LINK = [5e9 * 1.25**i for i in range(36)]  # 5 GB/s .. 12 TB/s per chip
GRID_T0 = [i * 0.0002 for i in range(101)] + [0.02 + i * 0.001 for i in range(1, 41)]  # 0 .. 60 ms


def group_of(hardware: str) -> str:
    for name, members in GROUPS.items():
        if hardware in members:
            return name
    raise KeyError(hardware)


@dataclass(frozen=True)
class Prediction:
    measurement: Measurement
    group: str
    metric: str  # "generated tokens/s", "total tokens/s", "ms per output token", "training tokens/s"
    measured: float
    predicted: float  # nan when the model says the condition cannot run (memory)
    detail: str  # tp, batch and what limited it

    @property
    def ratio(self) -> float:
        return self.predicted / self.measured

    @property
    def error(self) -> float:
        return abs(self.ratio - 1) if math.isfinite(self.ratio) else math.inf


def shape_of(m: Measurement, table: Mapping[str, Architecture]) -> Shape:
    if m.model in table:
        arch = table[m.model]
        return from_architecture(m.model, arch, m.params_b * 1e9, (m.active_params_b or m.params_b) * 1e9)
    return resolve(ModelSize(params_b=m.params_b, active_params_b=m.active_params_b), table)


def chip_of(m: Measurement, option: Option) -> Chip:
    peak = option.fp8_tflops if m.precision in FP8_COMPUTE and option.fp8_tflops else option.bf16_tflops
    return Chip(
        chips=m.chips,
        hbm_bytes=option.hbm_gib * 2**30 * option.hbm_usable_fraction,
        bandwidth=option.hbm_tb_per_s * 1e12,
        peak_flops=peak * 1e12,
    )


def predict(
    m: Measurement, option: Option, eff: Efficiency, training_mfu: float, table: Mapping[str, Architecture]
) -> Prediction:
    shape = shape_of(m, table)
    chip = chip_of(m, option)
    group = group_of(m.hardware)
    if m.kind == "training":
        assert m.sequence_length is not None
        tps = training.tokens_per_second(shape, m.sequence_length, m.chips, chip.peak_flops, training_mfu)
        detail = f"{m.chips} chips, seq {m.sequence_length}, mfu {training_mfu:.3f}"
        return Prediction(m, group, "training tokens/s", m.training_tokens_per_s, tps, detail)
    assert m.input_tokens is not None and m.output_tokens is not None
    request = Request(input_tokens=m.input_tokens, output_tokens=m.output_tokens)
    wbytes, kv = WEIGHT_BYTES[m.precision], KV_BYTES[m.precision]
    tp = max(1, m.chips // (m.replicas or 1))
    served = configure(shape, chip, eff, request, wbytes, kv, tp, batch=m.batch)
    if isinstance(served, str):
        served_any = best_serving(shape, chip, eff, request, wbytes, kv)
        if isinstance(served_any, str):
            metric, measured = _metric(m)
            return Prediction(m, group, metric, measured, math.nan, f"does not fit ({served})")
        served = served_any
    metric, measured = _metric(m)
    if metric == "generated tokens/s":
        value = served.tokens_per_s
    elif metric == "total tokens/s":
        value = served.tokens_per_s * (m.input_tokens + m.output_tokens) / m.output_tokens
    else:
        value = served.latency_ms
    detail = f"tp {served.tp} × {served.replicas}, batch {served.batch} ({served.batch_limit})"
    return Prediction(m, group, metric, measured, value, detail)


def _metric(m: Measurement) -> tuple[str, float]:
    if m.output_tokens_per_s is not None:
        return "generated tokens/s", m.output_tokens_per_s
    if m.total_tokens_per_s is not None:
        return "total tokens/s", m.total_tokens_per_s
    assert m.tpot_ms is not None
    return "ms per output token", m.tpot_ms


OptionFor = Callable[[Measurement], Option]


def _prior(eff: Efficiency) -> float:
    """A weak pull toward generic values, so that constants the points cannot tell apart (a step
    overhead against a bandwidth share, say) settle where engineering experience puts them instead of
    at a grid edge. Each term weighs a quarter of one measurement one standard deviation off."""
    return PRIOR_WEIGHT * (
        (math.log(eff.bandwidth_efficiency / PRIOR["bandwidth_efficiency"]) / math.log(2)) ** 2
        + (math.log(eff.prefill_mfu / PRIOR["prefill_mfu"]) / math.log(2)) ** 2
        + ((eff.decode_overhead_s - PRIOR["decode_overhead_s"]) / 0.005) ** 2
        + ((eff.collective_s - PRIOR["collective_s"]) / 50e-6) ** 2
        + (math.log(eff.link_bandwidth / PRIOR["link_bandwidth"]) / math.log(4)) ** 2
    )


def _loss(
    points: Sequence[Measurement], eff: Efficiency, option_for: OptionFor, table: Mapping[str, Architecture]
) -> float:
    total = _prior(eff)
    for m in points:
        p = predict(m, option_for(m), eff, 0.3, table)
        total += math.log(p.ratio) ** 2 if math.isfinite(p.ratio) and p.ratio > 0 else 100.0
    return total


def _descend(
    points: Sequence[Measurement],
    start: Efficiency,
    free: tuple[str, ...],
    option_for: OptionFor,
    table: Mapping[str, Architecture],
) -> Efficiency:
    grids = {
        "bandwidth_efficiency": GRID_EFF,
        "prefill_mfu": GRID_MFU,
        "decode_overhead_s": GRID_T0,
        "collective_s": GRID_COLL,
        "link_bandwidth": GRID_LINK,
    }
    eff = start
    best = _loss(points, eff, option_for, table)
    for _ in range(8):
        before = best
        for name in free:
            grid = grids[name]
            coarse = range(0, len(grid), 5)
            scores = {i: _loss(points, _with(eff, name, grid[i]), option_for, table) for i in coarse}
            centre = min(scores, key=lambda i: (scores[i], i))
            for i in range(max(0, centre - 5), min(len(grid), centre + 6)):
                if i not in scores:
                    scores[i] = _loss(points, _with(eff, name, grid[i]), option_for, table)
            pick = min(scores, key=lambda i: (scores[i], i))
            if scores[pick] < best - 1e-12:
                best, eff = scores[pick], _with(eff, name, grid[pick])
        if best >= before - 1e-12:
            break
    return eff


def _with(eff: Efficiency, name: str, value: float) -> Efficiency:
    changes: dict[str, Any] = {name: value}
    return replace(eff, **changes)


def _max_batch(points: Sequence[Measurement], parent: FitGroup | None, successor: bool) -> tuple[int, str]:
    """The largest batch per replica stated in the group's measurements, or its predecessor
    generation's when that is larger (a newer chip on the same software stack does at least what
    its predecessor was measured doing). Runs with no stated batch set no cap."""
    stated = [m for m in points if m.batch is not None]
    own = max(stated, key=lambda x: (x.batch or 0, x.id)) if stated else None
    inherited = parent.serving.max_batch if parent is not None and (successor or own is None) else 0
    if own is not None and (own.batch or 0) >= inherited:
        return own.batch or 0, f"largest stated batch: {own.id} ({own.batch})"
    if inherited:
        mine = f"; own largest {own.batch} ({own.id})" if own is not None else ""
        return inherited, f"predecessor's or parent group's evidence ({inherited}){mine}"
    return SATURATED_BATCH, f"no stated batch; {SATURATED_BATCH} (vLLM's default max_num_seqs)"


def _summary(predictions: Sequence[Prediction]) -> tuple[float | None, float | None]:
    if not predictions:
        return None, None
    errors = sorted(p.error for p in predictions)
    worst = max(
        predictions,
        key=lambda p: (
            abs(math.log(p.ratio)) if p.ratio > 0 and math.isfinite(p.ratio) else math.inf,
            p.measurement.id,
        ),
    )
    return round(statistics.median(errors), 4), round(worst.ratio, 4) if math.isfinite(worst.ratio) else None


def fit(
    evidence: MeasurementSet,
    option_for: OptionFor,
    table: Mapping[str, Architecture],
    digest: str,
    exclude_source: str | None = None,
) -> Fit:
    """Fit every group's constants (optionally without one source's points, for leave-one-out)."""
    usable = [m for m in evidence.measurements if m.source != exclude_source and _has_option(m, option_for)]
    order = sorted(GROUPS, key=_depth)  # a parent is fitted before the groups that borrow from it
    groups: dict[str, FitGroup] = {}
    for name in order:
        members = GROUPS[name]
        serve_pts = sorted(
            (m for m in usable if m.kind == "inference" and m.hardware in members), key=lambda m: m.id
        )
        train_pts = sorted(
            (m for m in usable if m.kind == "training" and m.hardware in members), key=lambda m: m.id
        )
        parent = groups.get(PARENT.get(name, ""))
        base = START if parent is None else _eff(parent.serving)
        if len(serve_pts) >= MIN_POINTS or (parent is None and serve_pts):
            free: tuple[str, ...] = (
                "bandwidth_efficiency",
                "decode_overhead_s",
                "prefill_mfu",
                "collective_s",
                "link_bandwidth",
            )
            borrowed = None
        elif serve_pts:
            free, borrowed = ("decode_overhead_s",), PARENT[name]
        else:
            free, borrowed = (), PARENT.get(name)
        batch, why = _max_batch(serve_pts, parent, name in SUCCESSORS)
        eff = (
            _descend(serve_pts, replace(base, max_batch=batch), free, option_for, table)
            if free
            else replace(base, max_batch=batch)
        )
        if train_pts:
            implied = [_implied_mfu(m, option_for(m), table) for m in train_pts]
            mfu = math.exp(sum(math.log(x) for x in implied) / len(implied))
            train_borrow = None
        else:
            mfu = parent.training.training_mfu if parent else 0.3
            train_borrow = PARENT.get(name)
        serve_pred = [predict(m, option_for(m), eff, mfu, table) for m in serve_pts]
        train_pred = [predict(m, option_for(m), eff, mfu, table) for m in train_pts]
        s_med, s_worst = _summary(serve_pred)
        t_med, t_worst = _summary(train_pred)
        fitted = tuple(
            sorted(
                {
                    "decode_overhead_s": "decode_overhead_ms",
                    "collective_s": "collective_us",
                    "link_bandwidth": "link_gb_per_s",
                }.get(f, f)
                for f in free
            )
        )
        groups[name] = FitGroup(
            hardware=members,  # type: ignore[arg-type]
            serving=ServingFit(
                bandwidth_efficiency=round(eff.bandwidth_efficiency, 4),
                decode_overhead_ms=round(eff.decode_overhead_s * 1000, 3),
                collective_us=round(eff.collective_s * 1e6, 2),
                link_gb_per_s=round(eff.link_bandwidth / 1e9, 2),
                prefill_mfu=round(eff.prefill_mfu, 4),
                max_batch=batch,
                max_batch_evidence=why,
                points=tuple(m.id for m in serve_pts),
                fitted=fitted,
                borrowed_from=borrowed,
                median_error=s_med,
                worst_ratio=s_worst,
                by_hardware=_count(serve_pts),
                largest_batch=max((m.batch for m in serve_pts if m.batch is not None), default=None),
                precisions=tuple(sorted({m.precision for m in serve_pts})),
            ),
            training=TrainingFit(
                training_mfu=round(mfu, 4),
                points=tuple(m.id for m in train_pts),
                borrowed_from=train_borrow,
                median_error=t_med,
                worst_ratio=t_worst,
                by_hardware=_count(train_pts),
            ),
        )
    dates = sorted(s.date_read for s in evidence.sources.values())
    return Fit(
        generated_by="placement calibrate --fit",
        measurements_sha256=digest,
        date=dates[-1] if dates else "1970-01-01",
        groups={g: groups[g] for g in GROUPS},
    )


def _count(points: Sequence[Measurement]) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in points:
        out[m.hardware] = out.get(m.hardware, 0) + 1
    return dict(sorted(out.items()))


def _depth(group: str) -> int:
    depth = 0
    while group in PARENT:
        group = PARENT[group]
        depth += 1
    return depth


def _has_option(m: Measurement, option_for: OptionFor) -> bool:
    try:
        option_for(m)
    except KeyError:
        return False
    return True


def _eff(s: ServingFit) -> Efficiency:
    return Efficiency(
        s.bandwidth_efficiency,
        s.decode_overhead_ms / 1000,
        s.prefill_mfu,
        s.max_batch,
        s.collective_us / 1e6,
        s.link_gb_per_s * 1e9 if s.link_gb_per_s is not None else math.inf,
    )


def _implied_mfu(m: Measurement, option: Option, table: Mapping[str, Architecture]) -> float:
    assert m.sequence_length is not None
    shape = shape_of(m, table)
    peak = chip_of(m, option).peak_flops
    return m.training_tokens_per_s * training.flops_per_token(shape, m.sequence_length) / (m.chips * peak)


def predict_all(
    evidence: MeasurementSet, fitted: Fit, option_for: OptionFor, table: Mapping[str, Architecture]
) -> list[Prediction]:
    out = []
    for m in evidence.measurements:
        if not _has_option(m, option_for):
            continue
        out.append(_predict_with(fitted, m, option_for, table))
    return out


def leave_one_source_out(
    evidence: MeasurementSet, option_for: OptionFor, table: Mapping[str, Architecture], digest: str
) -> list[Prediction]:
    """Each source's points predicted by a fit made without that source."""
    out: list[Prediction] = []
    for source in sorted(evidence.sources):
        held = [m for m in evidence.measurements if m.source == source and _has_option(m, option_for)]
        if not held:
            continue
        without = fit(evidence, option_for, table, digest, exclude_source=source)
        for m in held:
            out.append(_predict_with(without, m, option_for, table))
    return out


def _predict_with(
    fitted: Fit, m: Measurement, option_for: OptionFor, table: Mapping[str, Architecture]
) -> Prediction:
    """One measurement predicted with a fit's constants for its hardware group."""
    g = fitted.groups[group_of(m.hardware)]
    return predict(m, option_for(m), _eff(g.serving), g.training.training_mfu, table)


def option_finder(options: Sequence[Option]) -> OptionFor:
    """The catalog option whose chip a measurement ran on: the one it names, else the first option
    with the same hardware (KeyError when the catalog has none)."""
    by_id = {o.id: o for o in options}
    by_hw: dict[str, Option] = {}
    for o in options:
        if o.hardware is not None:
            by_hw.setdefault(o.hardware, o)

    def find(m: Measurement) -> Option:
        if m.option is not None and m.option in by_id and by_id[m.option].hardware == m.hardware:
            return by_id[m.option]
        return by_hw[m.hardware]

    return find


@dataclass(frozen=True)
class Calibration:
    predictions: tuple[Prediction, ...]  # with the fit in use
    loso: tuple[Prediction, ...]  # each source predicted by a fit without it
    skipped: tuple[str, ...]  # measurements on hardware the catalog has no option for
    stale: bool  # the fit in use was made from other measurements


def calibrate(
    evidence: MeasurementSet,
    options: Sequence[Option],
    in_use: Fit,
    table: Mapping[str, Architecture],
    digest: str,
) -> Calibration:
    find = option_finder(options)
    skipped = tuple(f"{m.id}: {m.hardware}" for m in evidence.measurements if not _has_option(m, find))
    return Calibration(
        predictions=tuple(predict_all(evidence, in_use, find, table)),
        loso=tuple(leave_one_source_out(evidence, find, table, digest)),
        skipped=skipped,
        stale=in_use.measurements_sha256 != digest,
    )
