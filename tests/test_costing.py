"""The cost formulas against numbers worked out by hand (arithmetic in the comments)."""

from __future__ import annotations

import math

import pytest

from placement.engine.costing import estimate, port_weeks
from placement.inputs.models import Catalog
from tests.conftest import inference, make_catalog, make_portfolio, option, training


def test_training_70b_on_p5_matches_hand_arithmetic(catalog: Catalog) -> None:
    # FLOPs = 6 · 70e9 · 1.4e12 = 5.88e23
    # instance FLOP/s = 8 · 989e12 · 0.40 = 3.1648e15
    # instance-hours = 5.88e23 / (3.1648e15 · 3600) = 51,609.4 h
    # pace = 51,609.4 / (45 · 24 = 1080 h) = 47.79 → 48 instances at once
    # memory floor = 70e9 · 16 / (8 · 74.51 · 2^30 · 0.9) = 1.743 (not binding)
    # cost per run = 51,609.4 · 55.04 = $2,840,580; two runs = $5,681,159
    p = make_portfolio(
        [training("pre", framework="jax", model={"params_b": 70}, tokens="1.4T", runs=2, deadline_days=45)]
    )
    e = estimate(p, p.workloads[0], catalog.option("p5.48xlarge"), catalog)
    assert e.ok
    assert e.instance_hours_per_run == pytest.approx(5.88e23 / (8 * 989e12 * 0.40 * 3600))
    assert e.instance_hours_per_run == pytest.approx(51_609.4, abs=0.1)
    assert e.instances_at_once == 48
    assert e.cost_per_run_usd == pytest.approx(2_840_580, abs=1)
    assert e.compute_usd == pytest.approx(5_681_159, abs=1)


def test_training_deadline_beyond_capacity_is_ruled_out_with_numbers(catalog: Catalog) -> None:
    # trn2: 5.88e23 / (16 · 667e12 · 0.28 · 3600) = 54,656 h; / 1080 h = 50.6 → 51 > 8 available
    p = make_portfolio([training("pre", model={"params_b": 70}, tokens="1.4T", deadline_days=45)])
    e = estimate(p, p.workloads[0], catalog.option("trn2.48xlarge"), catalog)
    assert not e.ok
    assert e.reason == (
        "deadline not reachable with the capacity there is: needs 51 instances at once, 8 available"
    )


def test_training_memory_floor_and_default_deadline() -> None:
    # 100B params · 16 B = 1.6e12 B; one instance holds 80 GiB = 85.9e9 B → floor 18.63 → 19
    # no deadline: 12 months · 730 h / 1 run = 8760 h; hours = 6·1e11·1e9/(1e14·0.5·3600)=3,333 h
    # pace 3,333 / 8,760 = 0.38, so the memory floor decides: 19 instances
    cat = make_catalog([option("a")])
    p = make_portfolio([training("t", model={"params_b": 100}, tokens=1e9)])
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    assert e.instance_hours_per_run == pytest.approx(6e20 / (1e14 * 0.5 * 3600))
    assert e.instances_at_once == 19
    assert "hbm_gib" in e.inputs  # the floor binds, so its figures count
    assert e.cost_per_run_usd == pytest.approx(3333.33 * 10, rel=1e-5)


def test_inference_roofline_on_p4d_matches_hand_arithmetic(catalog: Catalog) -> None:
    # 8B bf16 on p4d (8 × A100, 1.555 TB/s, 312 TF, bw eff 0.7, mfu 0.3, batch 32):
    # t_mem = 2 · 8e9 / (8 · 1.555e12 · 0.7) = 1.8373 ms
    # t_comp per token = 2 · 8e9 / (8 · 312e12 · 0.3) = 21.368 µs; · 32 = 0.6838 ms → memory-bound
    # tokens/s = 32 / 1.8373 ms = 17,416.8
    # peak = 30e9 / (730 · 3600) · 2.5 = 28,538.8 tokens/s → 1.6386 → 2 instances
    # cost = 2 · 21.957642 · 730 · 12 = $384,698
    p = make_portfolio(
        [inference("chat", model={"params_b": 8}, tokens_per_month="30B", peak_to_average=2.5)]
    )
    e = estimate(p, p.workloads[0], catalog.option("p4d.24xlarge"), catalog)
    t_mem = 2 * 8e9 / (8 * 1.555e12 * 0.7)
    assert e.latency_ms == pytest.approx(t_mem * 1000)
    assert e.tokens_per_second_per_instance == pytest.approx(32 / t_mem)
    assert e.peak_tokens_per_second == pytest.approx(28_538.8, abs=0.1)
    assert e.instances == 2
    assert e.compute_usd == pytest.approx(384_698, abs=1)
    assert "bandwidth_efficiency" in e.inputs and "inference_mfu" not in e.inputs


def test_latency_target_lowers_the_batch() -> None:
    # 10B params on 1 chip of 1 TF, mfu 0.5: t_comp = 2·1e10 / (1e12·0.5) = 40 ms per token;
    # t_mem = 2·1e10 / (1e12·0.5) = 40 ms. Target 41 ms → batch floor(41/40) = 1 (catalog says 8);
    # t = max(40, 1·40) = 40 ms → 25 tokens/s
    cat = make_catalog([option("slow", bf16_tflops=1.0)])
    p = make_portfolio([inference("i", model={"params_b": 10}, max_ms_per_token=41)])
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    assert e.ok and e.batch == 1
    assert e.latency_ms == pytest.approx(40.0)
    assert e.tokens_per_second_per_instance == pytest.approx(25.0)


def test_latency_target_unreachable_rules_option_out() -> None:
    cat = make_catalog([option("a")])  # t_mem = 2·1e10 / (1e12 · 0.5) = 40 ms
    p = make_portfolio([inference("i", model={"params_b": 10}, max_ms_per_token=30)])
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    assert not e.ok
    assert e.reason == "latency target not reachable: even batch 1 takes 40.00 ms per token, target 30 ms"


def test_weights_must_fit_in_usable_hbm() -> None:
    cat = make_catalog([option("a", hbm_gib=10.0, hbm_usable_fraction=0.9)])
    p = make_portfolio([inference("i", model={"params_b": 8})])  # 16e9 B = 14.9 GiB > 9 GiB
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    assert e.reason == "memory does not fit: weights need 14.9 GiB, one instance has 9.0 GiB usable"


def test_fp8_on_a_chip_without_fp8_runs_bf16() -> None:
    cat = make_catalog([option("nofp8"), option("fp8", fp8_tflops=200.0)])
    p = make_portfolio([inference("i", model={"params_b": 1}, precision="fp8")])
    no, yes = (estimate(p, p.workloads[0], o, cat) for o in cat.options)
    # without FP8: 2 bytes/param → t_mem = 2e9 / 0.5e12 = 4 ms; with FP8: 1 byte → 2 ms
    assert no.latency_ms == pytest.approx(4.0)
    assert yes.latency_ms == pytest.approx(2.0)


def test_measured_throughput_replaces_the_estimate(catalog: Catalog) -> None:
    # peak = 30e9/(730·3600)·2.5 = 28,538.8 tok/s; / 2400 = 11.89 → 12 inf2.48xlarge
    # cost = 12 · 12.98127 · 730 · 12 = $1,364,591
    p = make_portfolio(
        [
            inference(
                "chat",
                model={"params_b": 8},
                tokens_per_month="30B",
                peak_to_average=2.5,
                measured={"inf2.48xlarge": {"tokens_per_second": 2400}},
            )
        ]
    )
    e = estimate(p, p.workloads[0], catalog.option("inf2.48xlarge"), catalog)
    assert e.measured and e.instances == 12
    assert e.compute_usd == pytest.approx(12 * 12.98127 * 730 * 12)
    assert e.inputs == ("usd_per_hour",)


def test_measured_training_throughput() -> None:
    # 1e10 tokens / (1e5 tok/s · 3600) = 27.78 instance-hours → $277.78 at $10/h
    cat = make_catalog([option("a")])
    p = make_portfolio([training("t", measured={"a": {"tokens_per_second": 1e5}})])
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    assert e.instance_hours_per_run == pytest.approx(1e10 / 3.6e8)
    assert e.cost_per_run_usd == pytest.approx(277.777, abs=0.01)


def test_gates_kind_portability_blocked() -> None:
    cat = make_catalog(
        [option("inf", family="inferentia", kinds=["inference"]), option("trn", family="trainium")],
        weeks={"tensorflow": {"trainium": "no TensorFlow here"}},
    )
    p = make_portfolio([training("t", framework="tensorflow"), inference("g", portability="gpu-only")])
    t, g = p.workloads
    assert (
        estimate(p, t, cat.options[0], cat).reason == "kind not supported: inf is listed for inference only"
    )
    assert (
        estimate(p, t, cat.options[1], cat).reason
        == "porting blocked: tensorflow on trainium: no TensorFlow here"
    )
    assert estimate(p, g, cat.options[1], cat).reason == "portability: gpu-only keeps this workload on GPUs"


def test_port_weeks_union_of_items_and_already_on() -> None:
    cat = make_catalog(
        [option("a")], weeks={"pytorch": {"trainium": 4}, "vllm": {"trainium": 2}, "triton": {"trainium": 6}}
    )
    p = make_portfolio(
        [inference("a", stack=["vllm"], codebase="c"), inference("b", stack=["vllm", "triton"], codebase="c")]
    )
    weeks, items = port_weeks(cat, list(p.workloads), "trainium")
    assert weeks == 12 and items == ("pytorch", "triton", "vllm")  # 4 + 6 + 2, vllm counted once
    p2 = make_portfolio([inference("a", already_on=["trainium"])])
    assert port_weeks(cat, list(p2.workloads), "trainium") == (0.0, ())


@pytest.mark.parametrize(
    "text,value",
    [("30B", 3e10), ("1.5T", 1.5e12), ("250M", 2.5e8), ("2k", 2e3), (12345, 12345.0), ("1e9", 1e9)],
)
def test_token_counts(text: object, value: float) -> None:
    p = make_portfolio([inference("i", tokens_per_month=text)])
    assert math.isclose(p.workloads[0].tokens_per_month or 0, value)
