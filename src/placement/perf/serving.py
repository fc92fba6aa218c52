"""Serving: tokens/s of one instance running replicas of a model, with the arithmetic behind it.

A replica is a tensor-parallel group of `tp` chips holding one copy of the weights plus the KV
cache of its batch; an instance of C chips holds floor(C / tp) replicas. Candidate groups are
tp ∈ {1, 2, 4, 8, ...} ≤ C and tp = C. For each candidate (W = weight bytes, M = usable HBM per chip,
kv = KV bytes per token, ctx = prompt + generated tokens):

    fits             W / tp + kv · ctx / tp ≤ M          (one full-length sequence must fit)
    KV batch limit   b_kv = floor((tp · M − W) / (kv · ctx))
    batch            b = largest b ≤ min(b_kv, max_batch) with step time ≤ max_ms_per_token
    bytes per step   W_read(b) / tp + b · kv · (prompt + generated / 2) / tp
                     (W_read = W for a dense model; min(W, b · W_active) for a mixture of experts)
    t_mem            bytes per step / (HBM bandwidth · bandwidth_efficiency)
    t_comp           b · (2 · N_active + 4 · layers · hidden · ctx_mean) / (tp · peak · prefill_mfu)
    overhead         decode_overhead + 2 · layers · (collective + b · hidden · 4 · (tp - 1) / tp / link)
                     (two all-reduces per layer when tp > 1: a latency and the batch's activations)
    step time        t_step = overhead + max(t_mem, t_comp)        (= latency per token)
    prefill          t_pre = (2 · N_active · prompt + 2 · layers · hidden · prompt²)
                             / (tp · peak · prefill_mfu)
    per replica      one request holds the replica for generated · t_step / b + t_pre seconds
    tokens/s         replicas · generated / (generated · t_step / b + t_pre)     (generated tokens)

The group chosen is the one with the most tokens/s per instance (ties: the smaller group), which
is what a serving engineer tunes for when the latency target is met. `max_batch` is the largest
batch the hardware has public evidence for; `decode_overhead` (launches, scheduling) and
`collective` (one all-reduce across the group) are per-step costs; prefill is not overlapped with
decoding (conservative; engines with chunked prefill hide part of it). All four constants are fitted
per hardware group from published measurements (`placement calibrate`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from placement.inputs.models import Request
from placement.perf.shapes import Shape

EPS = 1e-9


@dataclass(frozen=True)
class Chip:
    """What one accelerator chip offers, as the model sees it."""

    chips: int  # chips per instance
    hbm_bytes: float  # usable bytes per chip (HBM · usable fraction)
    bandwidth: float  # bytes/s per chip
    peak_flops: float  # FLOP/s per chip at the precision run


@dataclass(frozen=True)
class Efficiency:
    """The fitted constants of one hardware group."""

    bandwidth_efficiency: float
    decode_overhead_s: float
    prefill_mfu: float
    max_batch: int
    collective_s: float = 0.0  # latency of one all-reduce across a tensor-parallel group
    link_bandwidth: float = math.inf  # bytes/s a chip moves an all-reduce's data at (ring: 2 (tp-1)/tp)


@dataclass(frozen=True)
class Serving:
    """One serving configuration and what it gives."""

    tp: int
    replicas: int
    batch: int
    batch_limit: str  # what limited the batch: "KV cache", "max_batch evidence", "latency target", "given"
    kv_batch_limit: int
    weight_bytes: float
    kv_bytes_per_sequence: float
    bytes_per_step: float
    t_mem_s: float
    t_comp_s: float
    step_s: float
    prefill_s: float
    tokens_per_s: float  # generated tokens/s per instance

    @property
    def latency_ms(self) -> float:
        return self.step_s * 1000


def weights_read(shape: Shape, weight_bytes: float, batch: int) -> float:
    """Bytes of weights one decode step reads: all of them for a dense model; for a mixture of
    experts at most the experts the batch's tokens touch (bounded by batch · active weights)."""
    if shape.active >= shape.params:
        return weight_bytes
    return min(weight_bytes, batch * weight_bytes * shape.active / shape.params)


def step_time(
    shape: Shape, chip: Chip, eff: Efficiency, request: Request, tp: int, batch: int, wbytes: float, kv: float
) -> tuple[float, float, float, float]:
    """(bytes per step, t_mem, t_comp, step time) of one decode step of a replica at this batch."""
    ctx_mean = request.input_tokens + request.output_tokens / 2
    weight_bytes = wbytes * shape.params
    moved = (weights_read(shape, weight_bytes, batch) + batch * kv * ctx_mean) / tp
    t_mem = moved / (chip.bandwidth * eff.bandwidth_efficiency)
    flops = batch * (2 * shape.active + 4 * shape.layers * shape.hidden_size * ctx_mean) / tp
    t_comp = flops / (chip.peak_flops * eff.prefill_mfu)
    return moved, t_mem, t_comp, overhead(shape, eff, tp, batch) + max(t_mem, t_comp)


def overhead(shape: Shape, eff: Efficiency, tp: int, batch: int) -> float:
    """Cost of one decode step beyond reading and computing: launches and scheduling, plus two
    all-reduces per layer when the replica spans more than one chip (tensor parallelism), each a
    latency and the batch's activations (2-byte values of width `hidden`) over the chip's link."""
    if tp == 1:
        return eff.decode_overhead_s
    message = batch * shape.hidden_size * 2 * 2 * (tp - 1) / tp
    return eff.decode_overhead_s + 2 * shape.layers * (eff.collective_s + message / eff.link_bandwidth)


def prefill_time(shape: Shape, chip: Chip, eff: Efficiency, request: Request, tp: int) -> float:
    p = request.input_tokens
    flops = 2 * shape.active * p + 2 * shape.layers * shape.hidden_size * p * p
    return flops / (tp * chip.peak_flops * eff.prefill_mfu)


def group_sizes(chips: int) -> list[int]:
    sizes = {chips}
    tp = 1
    while tp < chips:
        sizes.add(tp)
        tp *= 2
    return sorted(sizes)


def configure(
    shape: Shape,
    chip: Chip,
    eff: Efficiency,
    request: Request,
    wbytes: float,
    kv_bytes: float,
    tp: int,
    batch: int | None = None,
    max_latency_s: float | None = None,
) -> Serving | str:
    """Serve on replicas of `tp` chips; `batch` fixed (a measurement's condition) or chosen.
    Returns the reason in words when the group cannot serve."""
    weight_bytes = wbytes * shape.params
    kv = shape.kv_bytes_per_token(kv_bytes)
    ctx = request.input_tokens + request.output_tokens
    per_sequence = kv * ctx
    room = tp * chip.hbm_bytes - weight_bytes
    kv_limit = math.floor(room / per_sequence + EPS) if room > 0 else 0
    if kv_limit < 1:
        return "memory"
    replicas = chip.chips // tp
    if batch is not None:
        b, limit = batch, "given"
    else:
        b, limit = (
            (kv_limit, "KV cache") if kv_limit < eff.max_batch else (eff.max_batch, "max_batch evidence")
        )
        if max_latency_s is not None:
            if step_time(shape, chip, eff, request, tp, 1, wbytes, kv)[3] > max_latency_s + EPS:
                return "latency"
            if step_time(shape, chip, eff, request, tp, b, wbytes, kv)[3] > max_latency_s + EPS:
                lo, hi = 1, b  # step time grows with the batch: the largest b meeting the target
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    ok = step_time(shape, chip, eff, request, tp, mid, wbytes, kv)[3] <= max_latency_s + EPS
                    lo, hi = (mid, hi) if ok else (lo, mid)
                b, limit = lo, "latency target"
    moved, t_mem, t_comp, t_step = step_time(shape, chip, eff, request, tp, b, wbytes, kv)
    t_pre = prefill_time(shape, chip, eff, request, tp)
    out = request.output_tokens
    tps = replicas * out / (out * t_step / b + t_pre)
    return Serving(
        tp, replicas, b, limit, kv_limit, weight_bytes, per_sequence, moved, t_mem, t_comp, t_step, t_pre, tps
    )


def best_serving(
    shape: Shape,
    chip: Chip,
    eff: Efficiency,
    request: Request,
    wbytes: float,
    kv_bytes: float,
    max_latency_s: float | None = None,
) -> Serving | str:
    """The replica size with the most tokens/s per instance; or why none can serve
    ("memory": the weights and one sequence do not fit the whole instance; "latency": even batch 1
    misses the target on every group that fits)."""
    best: Serving | None = None
    reasons: list[str] = []
    for tp in group_sizes(chip.chips):
        got = configure(shape, chip, eff, request, wbytes, kv_bytes, tp, None, max_latency_s)
        if isinstance(got, str):
            reasons.append(got)
        elif best is None or got.tokens_per_s > best.tokens_per_s * (1 + 1e-12):
            best = got
    if best is not None:
        return best
    return "latency" if "latency" in reasons else "memory"
