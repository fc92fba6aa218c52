"""The rules README "Rules" writes down: a measured tokens/s keeps the weights-fit check, and what
`already_on` overrides (the port per codebase, a blocked port per workload), shown by `explain`
and in the plan's assumptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placement.cli import app
from placement.engine.costing import estimate
from placement.engine.planner import make_plan
from placement.engine.verify import verify
from placement.errors import InputError
from placement.inputs.loading import load_catalog, load_portfolio
from placement.render.report import plan_dict, render_markdown
from tests.conftest import inference, make_catalog, make_portfolio, option, training

# "small": 1 chip of 16 GiB (the inf2.xlarge of this test); "big": 1 chip of 200 GiB at $40/h.
FIT_CATALOG = [
    option("small", "inferentia", hbm_gib=16.0, usd_per_hour=1.0, kinds=["inference"]),
    option("big", "gpu", hbm_gib=200.0, usd_per_hour=40.0),
]
# 70B BF16: 2 B · 70e9 = 140e9 B = 130.4 GiB: fits "big" (200 GiB), not "small" (16 GiB).
SEVENTY_B = inference(
    "llm", model={"params_b": 70}, tokens_per_month=1e9, measured={"small": {"tokens_per_second": 5000}}
)
UNFIT = (
    "memory does not fit: weights need 130.4 GiB plus the KV cache of one request, one instance has "
    "16.0 GiB usable (the measured "
    "tokens/s given for small cannot make them fit: check the instance name in `measured`, or "
    "quantize the model and set its precision)"
)


def test_measured_throughput_keeps_the_weights_fit_check() -> None:
    cat = make_catalog(FIT_CATALOG)
    p = make_portfolio([SEVENTY_B])
    e = estimate(p, p.workloads[0], cat.option("small"), cat)
    assert not e.ok and e.reason == UNFIT
    assert e.steps[-1].what == "weights + one request's KV vs usable HBM"
    # weights 140e9 B plus one request's KV (a 70B shape from the table: 2 · 80 · 8 · 128 · 2 B · 1 token)
    assert e.steps[-1].value == pytest.approx((140e9 + 327_680) / (16 * 2**30))  # 8.15 × the usable HBM
    plan = make_plan(p, cat, "p")
    assert [x.option for x in plan.placements] == ["big"]  # where the weights fit


def test_measured_throughput_still_counts_when_the_weights_fit() -> None:
    cat = make_catalog(FIT_CATALOG)
    p = make_portfolio(
        [inference("small-llm", model={"params_b": 1}, measured={"small": {"tokens_per_second": 5000}})]
    )
    e = estimate(p, p.workloads[0], cat.option("small"), cat)
    # 2 GB of weights fit in 16 GiB; peak 1e9 / (730 · 3600) = 380.5 tokens/s → 1 instance at 5000/s
    assert e.ok and e.measured and e.tokens_per_second_per_instance == 5000 and e.instances == 1


def test_training_keeps_the_memory_floor_under_a_measured_throughput() -> None:
    # 100B · 16 B / 80 GiB = 18.63 → 19 instances at once, however fast the measured figure
    cat = make_catalog([option("a")])
    p = make_portfolio(
        [training("t", model={"params_b": 100}, tokens=1e9, measured={"a": {"tokens_per_second": 1e9}})]
    )
    e = estimate(p, p.workloads[0], cat.options[0], cat)
    assert e.ok and e.measured and e.instances_at_once == 19


def test_verifier_rejects_weights_that_do_not_fit() -> None:
    cat = make_catalog(FIT_CATALOG)
    p = make_portfolio([SEVENTY_B])
    data = json.loads(json.dumps(plan_dict(make_plan(p, cat, "p"))))
    assert verify(data, p, cat) == []
    data["placements"][0].update(option="small", family="inferentia", compute_usd=8760.0)
    assert f"llm on small: not allowed ({UNFIT})" in verify(data, p, cat)


def test_explain_shows_the_fit_step_under_a_measured_figure(tmp_path: Path) -> None:
    workloads = tmp_path / "w.yaml"
    workloads.write_text(
        "workloads:\n"
        "  - {name: llm, kind: inference, framework: pytorch, model: {params_b: 70},"
        " tokens_per_month: 1B, measured: {inf2.xlarge: {tokens_per_second: 5000}}}\n"
    )
    result = CliRunner().invoke(app, ["explain", str(workloads), "llm", "inf2.xlarge"])
    assert result.exit_code == 0
    assert "weights + one request's KV vs usable HBM" in result.stdout
    assert "Result: ruled out: memory does not fit: weights need 130.4 GiB" in result.stdout
    assert "the measured tokens/s given for inf2.xlarge cannot make them fit" in result.stdout


# --- already_on: tensorflow is blocked on inferentia in this catalog; porting pytorch costs 3 weeks
def _already_on_catalog() -> object:
    return make_catalog(
        [option("inf", "inferentia", kinds=["inference"], usd_per_hour=1.0), option("gpu", "gpu")],
        weeks={"tensorflow": {"inferentia": "no TensorFlow on Neuron"}, "pytorch": {"inferentia": 3}},
    )


def test_already_on_lifts_a_block_for_its_own_workload_only() -> None:
    cat = _already_on_catalog()
    p = make_portfolio(
        [
            inference("legacy", framework="tensorflow", codebase="tf", already_on=["inferentia"]),
            inference("sibling", framework="tensorflow", codebase="tf"),
        ]
    )
    legacy, sibling = p.workloads
    assert estimate(p, legacy, cat.option("inf"), cat).ok  # runs there today
    assert estimate(p, sibling, cat.option("inf"), cat).reason == (
        "porting blocked: tensorflow on inferentia: no TensorFlow on Neuron"
    )


def test_already_on_waives_the_port_for_the_whole_codebase() -> None:
    cat = _already_on_catalog()
    p = make_portfolio(
        [
            inference("served", codebase="pt", already_on=["inferentia"]),
            inference("other", codebase="pt"),
        ]
    )
    plan = make_plan(p, cat, "p")
    assert {x.option for x in plan.placements} == {"inf"} and plan.migrations == ()
    text = render_markdown(plan)
    assert (
        "- served is already on inferentia (already_on): codebase pt pays no port to inferentia "
        "(waives 3 engineer-weeks)." in text
    )


def test_assumptions_and_explain_state_a_lifted_block() -> None:
    cat = _already_on_catalog()
    p = make_portfolio([inference("legacy", framework="tensorflow", already_on=["inferentia"])])
    line = (
        "legacy is already on inferentia (already_on): codebase legacy pays no port to inferentia "
        "(none was due); legacy may run on inferentia although tensorflow is blocked there (no "
        "TensorFlow on Neuron); the codebase's other workloads that use it stay blocked."
    )
    assert f"- {line}" in render_markdown(make_plan(p, cat, "p"))


def test_explain_shows_the_already_on_rule() -> None:
    root = Path(__file__).resolve().parents[1]
    result = CliRunner().invoke(
        app, ["explain", str(root / "examples" / "enterprise.yaml"), "speech-to-text", "inf2.xlarge"]
    )
    assert result.exit_code == 0
    assert (
        "  Rule: speech-to-text is already on inferentia (already_on): codebase speech-to-text pays "
        "no port to inferentia (waives " in result.stdout
    )


def test_already_on_a_family_that_cannot_run_the_workload_is_refused(tmp_path: Path) -> None:
    workloads = tmp_path / "w.yaml"
    workloads.write_text(
        "workloads:\n"
        "  - name: trainer\n"
        "    kind: training\n"
        "    framework: pytorch\n"
        "    already_on: [gpu, inferentia]\n"
        "    model: {params_b: 1}\n"
        "    tokens: 1B\n"
    )
    with pytest.raises(InputError) as caught:
        load_portfolio(workloads, load_catalog(None))
    assert [str(x) for x in caught.value.problems] == [
        f"{workloads}:5: workloads[0].already_on[1]: no inferentia option in catalog 'aws' "
        "runs training, so this training workload cannot already run on inferentia; list the family "
        "on the workload that runs there"
    ]
