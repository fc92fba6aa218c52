"""The cost formulas against numbers worked out by hand (arithmetic in the comments)."""

from __future__ import annotations

import math

import pytest

from placement.engine.costing import estimate, port_weeks
from placement.inputs.models import Catalog
from tests.conftest import inference, make_catalog, make_portfolio, option, training

SHAPE_70B = {"params_b": 70, "layers": 80, "hidden_size": 8192, "kv_heads": 8, "head_dim": 128}
H100ISH = {"chips": 8, "bf16_tflops": 989.0, "training_mfu": 0.4, "hbm_gib": 80.0, "hbm_usable_fraction": 0.9}


def test_training_70b_matches_hand_arithmetic() -> None:
    # FLOPs per token = 6 · 70e9 + 12 · 80 · 8192 · 4096 (default sequence) = 4.52212e11; · 1.4e12 = 6.33097e23
    # instance FLOP/s = 8 · 989e12 · 0.40 = 3.1648e15
    # instance-hours = 6.33097e23 / (3.1648e15 · 3600) = 55,567.6 h
    # pace = 55,567.6 / (45 · 24 = 1080 h) = 51.45 → 52 instances at once
    # memory floor = 70e9 · 16 / (8 · 80 · 2^30 · 0.9) = 1.811 (not binding)
    # cost per run = 55,567.6 · $10 = $555,676; two runs = $1,111,352
    cat = make_catalog([option("h", **H100ISH)])
    p = make_portfolio(
        [
            training(
                "pre",
                framework="jax",
                model=SHAPE_70B,
                tokens="1.4T",
                runs=2,
                deadline_days=45,
                sequence_length=None,
            )
        ]
    )
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    assert e.ok
    per_token = 6 * 70e9 + 12 * 80 * 8192 * 4096
    assert e.instance_hours_per_run == pytest.approx(1.4e12 * per_token / (8 * 989e12 * 0.40 * 3600))
    assert e.instance_hours_per_run == pytest.approx(55_567.6, abs=0.1)
    assert e.instances_at_once == 52
    assert e.cost_per_run_usd == pytest.approx(555_676, abs=1)
    assert e.compute_usd == pytest.approx(1_111_352, abs=2)


def test_training_deadline_beyond_capacity_is_ruled_out_with_numbers() -> None:
    # as above on 8 instances of capacity: 52 needed at once
    cat = make_catalog([option("h", capacity_instances=8, **H100ISH)])
    p = make_portfolio(
        [training("pre", model=SHAPE_70B, tokens="1.4T", deadline_days=45, sequence_length=None)]
    )
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    assert not e.ok
    assert e.reason == (
        "deadline not reachable with the capacity there is: needs 52 instances at once, 8 available"
    )


def test_training_memory_floor_and_default_deadline() -> None:
    # 100B params · 16 B = 1.6e12 B; one instance holds 80 GiB = 85.9e9 B → floor 18.63 → 19
    # no deadline: 12 months · 730 h / 1 run = 8760 h;
    # hours = 1e9 · (6 · 1e11 + 12 · 80 · 8192 · 4096) / (1e14 · 0.5 · 3600) = 3,509.6 h
    # pace 3,509.6 / 8,760 = 0.40, so the memory floor decides: 19 instances
    cat = make_catalog([option("a")])
    shape = {**SHAPE_70B, "params_b": 100}
    p = make_portfolio([training("t", model=shape, tokens=1e9, sequence_length=None)])
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    hours = 1e9 * (6e11 + 12 * 80 * 8192 * 4096) / (1e14 * 0.5 * 3600)
    assert e.instance_hours_per_run == pytest.approx(hours)
    assert e.instances_at_once == 19
    assert "hbm_gib" in e.inputs  # the floor binds, so its figures count
    assert e.cost_per_run_usd == pytest.approx(hours * 10)


def test_weights_must_fit_in_usable_hbm() -> None:
    cat = make_catalog([option("a", hbm_gib=10.0, hbm_usable_fraction=0.9)])
    p = make_portfolio([inference("i", model={"params_b": 8})])  # 16e9 B = 14.9 GiB > 9 GiB
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    assert e.reason == (
        "memory does not fit: weights need 14.9 GiB plus the KV cache of one request, one instance has "
        "9.0 GiB usable"
    )


def test_fp8_on_a_chip_without_fp8_runs_bf16() -> None:
    # memory-bound at batch 8: bytes per step halve with 1-byte weights and KV (2e9 + 8 · KV → 1e9 + 8 · KV / 2)
    cat = make_catalog([option("nofp8"), option("fp8", fp8_tflops=200.0)])
    small = {"params_b": 1, "layers": 16, "hidden_size": 2048, "kv_heads": 8, "head_dim": 64}
    p = make_portfolio(
        [inference("i", model=small, precision="fp8", request={"input_tokens": 1024, "output_tokens": 256})]
    )
    no, yes = (estimate(p, p.workloads[0], o, cat) for o in cat.options)
    kv = 2 * 16 * 8 * 64 * 2 * (1024 + 128)  # bytes per sequence at the mean context, 2-byte KV
    assert no.latency_ms == pytest.approx((2e9 + 8 * kv) / 0.5e12 * 1000)
    assert yes.latency_ms == pytest.approx(no.latency_ms / 2)


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
