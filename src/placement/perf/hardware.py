"""A catalog option as the performance model sees it: one chip's figures and the fitted constants."""

from __future__ import annotations

from placement.inputs.models import BYTES_PER_PARAM, Option, Precision
from placement.perf.serving import Chip, Efficiency


def chip(option: Option, precision: Precision) -> Chip:
    return Chip(
        chips=option.chips,
        hbm_bytes=option.hbm_gib * 2**30 * option.hbm_usable_fraction,
        bandwidth=option.hbm_tb_per_s * 1e12,
        peak_flops=option.peak_tflops(precision) * 1e12,
    )


def efficiency(option: Option) -> Efficiency:
    return Efficiency(
        bandwidth_efficiency=option.bandwidth_efficiency,
        decode_overhead_s=option.decode_overhead_ms / 1000,
        prefill_mfu=option.prefill_mfu,
        max_batch=option.max_batch,
        collective_s=option.collective_us / 1e6,
        link_bandwidth=option.link_gb_per_s * 1e9,
    )


def weight_bytes(option: Option, precision: Precision) -> int:
    """Bytes per parameter as served: a chip without FP8 stores and runs BF16. The KV cache uses the
    same width (FP8 weights with an FP8 KV cache, BF16 with BF16)."""
    return BYTES_PER_PARAM[option.effective_precision(precision)]
