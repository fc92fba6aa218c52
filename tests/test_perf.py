"""The serving and training model against numbers worked out by hand (arithmetic in the comments)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placement.engine.costing import estimate
from placement.inputs.models import Request
from placement.perf.serving import Chip, Efficiency, best_serving
from placement.perf.shapes import Shape
from tests.conftest import inference, make_catalog, make_portfolio, option, training

SHAPE_8B = {"params_b": 8, "layers": 32, "hidden_size": 4096, "kv_heads": 8, "head_dim": 128}
SHAPE_70B = {"params_b": 70, "layers": 80, "hidden_size": 8192, "kv_heads": 8, "head_dim": 128}
DEFAULT = {"input_tokens": 1024, "output_tokens": 256}  # the documented default request
GPU = {
    "chips": 8,
    "bf16_tflops": 989.0,
    "hbm_gib": 80.0,
    "hbm_tb_per_s": 3.35,
    "hbm_usable_fraction": 0.9,
    "bandwidth_efficiency": 0.6,
    "decode_overhead_ms": 1.0,
    "prefill_mfu": 0.5,
    "max_batch": 64,
}
NEURON = {
    "chips": 12,
    "bf16_tflops": 190.0,
    "hbm_gib": 32.0,
    "hbm_tb_per_s": 0.8805,
    "hbm_usable_fraction": 0.9,
    "bandwidth_efficiency": 0.4,
    "decode_overhead_ms": 5.0,
    "prefill_mfu": 0.3,
    "max_batch": 8,
}


def test_gpu_replica_batch_and_step_by_hand() -> None:
    # 8B bf16: W = 16e9 B; usable per chip M = 80 · 2^30 · 0.9 = 77,309,411,328 B
    # KV per token = 2 · 32 layers · 8 heads · 128 · 2 B = 131,072 B; per sequence (1,200 tokens) 157,286,400 B
    # tp 1: room = M − W = 61,309,411,328 → KV allows 389 sequences; max_batch 64 decides
    # bytes per step = 16e9 + 64 · 131,072 · (1,000 + 100) = 25,227,468,800 → t_mem = /(3.35e12 · 0.6) = 12.551 ms
    # t_comp = 64 · (16e9 + 4 · 32 · 4096 · 1,100) / (989e12 · 0.5) = 2.145 ms → step = 1 + 12.551 ms
    # prefill = (2 · 8e9 · 1,000 + 2 · 32 · 4096 · 1e6) / (989e12 · 0.5) = 32.886 ms
    # replica: 200 / (200 · 13.551 ms / 64 + 32.886 ms) = 2,658.4 tokens/s; 8 replicas = 21,267
    # (tp 2 gives 4 · 200 / (200 · 7.2757 / 64 + 16.443 ms) = 20,418: fewer, so tp 1 is chosen)
    cat = make_catalog([option("gpu", **GPU)])
    p = make_portfolio(
        [inference("chat", model=SHAPE_8B, request={"input_tokens": 1000, "output_tokens": 200})]
    )
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    s = e.serving
    assert e.ok and s is not None
    assert (s.tp, s.replicas, s.batch, s.batch_limit, s.kv_batch_limit) == (
        1,
        8,
        64,
        "max_batch evidence",
        389,
    )
    t_mem = (16e9 + 64 * 131_072 * 1_100) / (3.35e12 * 0.6)
    assert s.t_mem_s == pytest.approx(t_mem) and t_mem == pytest.approx(12.551e-3, abs=1e-6)
    assert s.t_comp_s == pytest.approx(64 * (16e9 + 4 * 32 * 4096 * 1100) / (989e12 * 0.5))
    assert e.latency_ms == pytest.approx(1 + t_mem * 1000)
    prefill = (2 * 8e9 * 1000 + 2 * 32 * 4096 * 1000**2) / (989e12 * 0.5)
    assert s.prefill_s == pytest.approx(prefill) and prefill == pytest.approx(32.886e-3, abs=1e-6)
    expected = 8 * 200 / (200 * (1e-3 + t_mem) / 64 + prefill)
    assert e.tokens_per_second_per_instance == pytest.approx(expected)
    assert expected == pytest.approx(21_267, abs=1)


def test_neuron_replica_spans_the_instance_by_hand() -> None:
    # 70B bf16 = 140e9 B; M = 32 · 2^30 · 0.9 = 30,923,764,531 B per chip; KV 327,680 B/token, 384 per sequence
    # tp 4: 123.7e9 B < 140e9: does not fit. tp 8 and tp 12 fit, one replica each; tp 12 reads less per chip
    # tp 12: bytes per step = (140e9 + 8 · 327,680 · 320) / 12 = 11,736,571,733 → t_mem = /(0.8805e12 · 0.4) = 33.323 ms
    # step = 5 ms overhead + 33.323 ms = 38.323 ms
    # prefill = (2 · 70e9 · 256 + 2 · 80 · 8192 · 256²) / (12 · 190e12 · 0.3) = 52.523 ms
    # tokens/s = 128 / (128 · 38.323 ms / 8 + 52.523 ms) = 192.3
    cat = make_catalog([option("neuron", family="inferentia", kinds=["inference"], **NEURON)])
    p = make_portfolio(
        [inference("big", model=SHAPE_70B, request={"input_tokens": 256, "output_tokens": 128})]
    )
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    s = e.serving
    assert e.ok and s is not None
    assert (s.tp, s.replicas, s.batch, s.batch_limit) == (12, 1, 8, "max_batch evidence")
    step = 5e-3 + (140e9 + 8 * 327_680 * 320) / 12 / (0.8805e12 * 0.4)
    assert e.latency_ms == pytest.approx(step * 1000) and step == pytest.approx(38.323e-3, abs=1e-6)
    prefill = (2 * 70e9 * 256 + 2 * 80 * 8192 * 256**2) / (12 * 190e12 * 0.3)
    assert s.prefill_s == pytest.approx(prefill)
    assert e.tokens_per_second_per_instance == pytest.approx(128 / (128 * step / 8 + prefill))
    assert e.tokens_per_second_per_instance == pytest.approx(192.3, abs=0.1)


def test_kv_cache_limits_the_batch() -> None:
    # one 24 GiB chip, usable 1.0: room = 24 · 2^30 − 16e9 = 9,769,803,776 B; a sequence of 8,192 + 1,024
    # tokens holds 131,072 · 9,216 = 1,207,959,552 B → 8 sequences fit (8.09), below max_batch 64
    cat = make_catalog([option("small", hbm_gib=24.0, max_batch=64)])
    p = make_portfolio(
        [inference("rag", model=SHAPE_8B, request={"input_tokens": 8192, "output_tokens": 1024})]
    )
    s = estimate(p, p.workloads[0], cat.options[0], cat).serving
    assert s is not None and (s.batch, s.batch_limit) == (8, "KV cache")


def test_latency_target_lowers_the_batch() -> None:
    # test option: 1 chip, 1 TB/s at 0.5, no overhead, 100 TF at 0.5; 8B bf16 with the default request
    # (1,024 prompt, 256 generated; mean context 1,152): step(b) = (16e9 + b · 131,072 · 1,152) / 0.5e12
    # = 32 ms + b · 0.302 ms (memory-bound while b · 16.3 GFLOP / 50 TF/s stays below it).
    # target 35 ms: b ≤ (35 − 32) / 0.30199 = 9.93 → 9
    cat = make_catalog([option("a", max_batch=64)])
    p = make_portfolio([inference("i", model=SHAPE_8B, request=DEFAULT, max_ms_per_token=35)])
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    assert e.ok and e.serving is not None
    assert (e.batch, e.serving.batch_limit) == (9, "latency target")
    assert e.latency_ms == pytest.approx((16e9 + 9 * 131_072 * 1152) / 0.5e12 * 1000)
    assert e.latency_ms <= 35


def test_latency_target_unreachable_rules_option_out() -> None:
    # batch 1 on the whole (1-chip) instance: (16e9 + 131,072 · 1,152) / 0.5e12 = 32.30 ms > 30 ms
    cat = make_catalog([option("a")])
    p = make_portfolio([inference("i", model=SHAPE_8B, request=DEFAULT, max_ms_per_token=30)])
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    assert not e.ok
    assert e.reason == (
        "latency target not reachable: even batch 1 on the whole instance (1 chip) takes 32.30 ms per token, "
        "target 30 ms"
    )


def test_training_counts_attention_flops() -> None:
    # 8B shape, sequence 8,192: FLOPs per token = 6 · 8e9 + 12 · 32 · 4096 · 8192 = 4.8e10 + 1.2885e10 = 6.0885e10
    # 1e10 tokens on 1 chip of 100 TF at 0.5: 6.0885e20 / (5e13 · 3600) = 3,382.5 h
    cat = make_catalog([option("a")])
    p = make_portfolio([training("t", model=SHAPE_8B, sequence_length=8192)])
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    per_token = 6 * 8e9 + 12 * 32 * 4096 * 8192
    assert e.instance_hours_per_run == pytest.approx(1e10 * per_token / (100e12 * 0.5 * 3600))
    assert e.instance_hours_per_run == pytest.approx(3382.5, abs=0.1)


def test_mixture_of_experts_reads_only_touched_experts() -> None:
    # total 40B, active 10B: at batch 1 a step reads 10B params' worth of weights, not 40B
    shape = Shape(40e9, 10e9, 32, 4096, 8, 128, 0, "given", False)
    chip = Chip(chips=1, hbm_bytes=200 * 2**30, bandwidth=1e12, peak_flops=1e15)
    eff = Efficiency(1.0, 0.0, 1.0, 1)
    s = best_serving(shape, chip, eff, Request(input_tokens=1, output_tokens=1), 2, 2)
    assert not isinstance(s, str)
    assert s.bytes_per_step == pytest.approx(20e9 + 131_072 * 1.5)


@settings(max_examples=60, deadline=None)
@given(
    params=st.floats(0.5, 200),
    hbm=st.floats(16, 200),
    more_hbm=st.floats(1.0, 4.0),
    bandwidth=st.floats(0.2, 8),
    more_bandwidth=st.floats(1.0, 4.0),
    chips=st.sampled_from([1, 2, 8, 12, 16]),
    prompt=st.integers(1, 8000),
    generated=st.integers(1, 4000),
)
def test_more_hbm_or_bandwidth_never_lowers_tokens_per_second(
    params: float,
    hbm: float,
    more_hbm: float,
    bandwidth: float,
    more_bandwidth: float,
    chips: int,
    prompt: int,
    generated: int,
) -> None:
    shape = Shape(params * 1e9, params * 1e9, 64, 8192, 8, 128, 0, "given", False)
    eff = Efficiency(0.5, 0.002, 0.4, 128)
    request = Request(input_tokens=prompt, output_tokens=generated)

    def tps(hbm_gib: float, tb: float) -> float:
        got = best_serving(shape, Chip(chips, hbm_gib * 2**30, tb * 1e12, 500e12), eff, request, 2, 2)
        return 0.0 if isinstance(got, str) else got.tokens_per_s

    base = tps(hbm, bandwidth)
    assert tps(hbm * more_hbm, bandwidth) >= base * (1 - 1e-9)
    assert tps(hbm, bandwidth * more_bandwidth) >= base * (1 - 1e-9)
