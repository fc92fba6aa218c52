"""Every mistake in tests/bad/ gives its exact `file:line: field: message`, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from placement.cli import app
from placement.errors import InputError
from placement.inputs import loading
from placement.inputs.loading import MAX_FILE_BYTES, parse_yaml
from tests.conftest import ROOT

EXPECTED = {
    "alias-bomb.yaml": "tests/bad/alias-bomb.yaml:6: the document expands to more than 200,000 values "
    "(YAML aliases repeated too often, an alias bomb?)",
    "bad-token-count.yaml": "tests/bad/bad-token-count.yaml:6: workloads[0].tokens_per_month: cannot read "
    "'30 billion' as a token count: use a number with an optional K, M, B or T suffix, such as 30B or 1.5T",
    "binary.yaml": "tests/bad/binary.yaml: binary data, not a YAML text file",
    "deep-nesting.yaml": "tests/bad/deep-nesting.yaml:1: nesting too deep (limit 64 levels)",
    "duplicate-key.yaml": "tests/bad/duplicate-key.yaml:2: horizon_months: duplicate key 'horizon_months'",
    "duplicate-name.yaml": "tests/bad/duplicate-name.yaml:7: workloads[1].name: duplicate workload name "
    "'chat' (first used at workloads[0])",
    "empty.yaml": "tests/bad/empty.yaml:1: file is empty",
    "field-wrong-kind.yaml": "tests/bad/field-wrong-kind.yaml:7: workloads[0].tokens: does not apply to "
    "an inference workload",
    "infinite.yaml": "tests/bad/infinite.yaml:5: workloads[0].model.params_b: must be a finite number",
    "latin1.yaml": "tests/bad/latin1.yaml:2: not UTF-8 text (byte 24); save the file as UTF-8",
    "measured-unknown-option.yaml": "tests/bad/measured-unknown-option.yaml:8: "
    "workloads[0].measured['inf3.xlarge']: option 'inf3.xlarge' is not in catalog 'aws' "
    "(did you mean 'inf2.xlarge'?)",
    "missing-tokens.yaml": "tests/bad/missing-tokens.yaml:2: workloads[0].tokens: required for a "
    "training workload",
    "negative-peak.yaml": "tests/bad/negative-peak.yaml:7: workloads[0].peak_to_average: Input should be "
    "greater than or equal to 1",
    "root-not-mapping.yaml": "tests/bad/root-not-mapping.yaml:1: the top level must be a mapping of keys "
    "to values",
    "unknown-framework.yaml": "tests/bad/unknown-framework.yaml:4: workloads[0].framework: Input should be "
    "'pytorch', 'jax' or 'tensorflow'",
    "unknown-key.yaml": "tests/bad/unknown-key.yaml:2: workloads[0].framework: required field is missing\n"
    "tests/bad/unknown-key.yaml:4: workloads[0].framwork: unknown field (did you mean 'framework'?)",
    "unknown-kind.yaml": "tests/bad/unknown-kind.yaml:3: workloads[0].kind: Input should be 'inference' "
    "or 'training'",
    "unknown-stack-item.yaml": "tests/bad/unknown-stack-item.yaml:7: workloads[0].stack[0]: unknown stack "
    "item 'vlm' (did you mean 'vllm'?); the catalog knows: custom-cuda-kernels, deepspeed, fsdp, "
    "huggingface, megatron, tensorrt-llm, triton, vllm",
    "wrong-type.yaml": "tests/bad/wrong-type.yaml:5: workloads[0].model.params_b: should be a number, "
    "not the text 'eight'",
    "yaml-syntax.yaml": "tests/bad/yaml-syntax.yaml:2: YAML syntax error: did not find expected node content",
    "zero-params.yaml": "tests/bad/zero-params.yaml:5: workloads[0].model.params_b: Input should be "
    "greater than 0",
    "nan.yaml": "tests/bad/nan.yaml:5: workloads[0].model.params_b: must be a finite number",
    "huge-params.yaml": "tests/bad/huge-params.yaml:5: workloads[0].model.params_b: Input should be less than "
    "or equal to 100000",
    "huge-tokens.yaml": "tests/bad/huge-tokens.yaml:6: workloads[0].tokens_per_month: more than 1e+18 tokens is "
    "outside what the model can price",
    "negative-runs.yaml": "tests/bad/negative-runs.yaml:7: workloads[0].runs: Input should be greater than or "
    "equal to 1",
    "zero-deadline.yaml": "tests/bad/zero-deadline.yaml:7: workloads[0].deadline_days: Input should be greater "
    "than or equal to 0.01",
    "negative-latency.yaml": "tests/bad/negative-latency.yaml:7: workloads[0].max_ms_per_token: Input should be "
    "greater than 0",
    "zero-horizon.yaml": "tests/bad/zero-horizon.yaml:1: horizon_months: Input should be greater than 0",
    "share-over-one.yaml": "tests/bad/share-over-one.yaml:1: policy.max_family_share: Input should be less than "
    "or equal to 1",
    "utf16.yaml": "tests/bad/utf16.yaml: UTF-16 text; save the file as UTF-8",
    "empty-name.yaml": "tests/bad/empty-name.yaml:2: workloads[0].name: String should have at least 1 character",
    "model-not-mapping.yaml": "tests/bad/model-not-mapping.yaml:5: workloads[0].model: should be a mapping of "
    "keys to values",
    "active-exceeds-total.yaml": "tests/bad/active-exceeds-total.yaml:5: workloads[0].model.active_params_b: "
    "cannot exceed params_b",
    "bad-portability.yaml": "tests/bad/bad-portability.yaml:7: workloads[0].portability: Input should be 'any' "
    "or 'gpu-only'",
    "unknown-family.yaml": "tests/bad/unknown-family.yaml:7: workloads[0].already_on[0]: Input should be "
    "'trainium', 'inferentia' or 'gpu'",
    "null-workloads.yaml": "tests/bad/null-workloads.yaml:1: workloads: should be a list, such as [a, b]",
    "zero-measured.yaml": "tests/bad/zero-measured.yaml:8: workloads[0].measured['p5.48xlarge'].tokens_per_second: "
    "Input should be greater than 0",
    "stack-not-list.yaml": "tests/bad/stack-not-list.yaml:7: workloads[0].stack: should be a list, such as [a, b]",
}


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def test_every_bad_file_has_an_expectation() -> None:
    assert sorted(p.name for p in (ROOT / "tests" / "bad").glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_message(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = run(["plan", f"tests/bad/{name}"])
    assert (code, out) == (2, "")
    assert err == EXPECTED[name] + "\n"
    assert "Traceback" not in err


def test_missing_file(tmp_path: Path) -> None:
    code, _, err = run(["plan", str(tmp_path / "nope.yaml")])
    assert code == 2 and err == f"{tmp_path / 'nope.yaml'}: no such file\n"


def test_file_too_large_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as stream:  # sparse: the size is what counts, not the content
        stream.truncate(50 * 2**20)
    code, _, err = run(["plan", str(big)])
    assert code == 2
    limit = f"(limit {MAX_FILE_BYTES:,}); 10,000 workloads take about 2.5-3.3 MB"
    assert err == f"{big}: file too large: {50 * 2**20:,} bytes {limit}\n"


def test_unsourced_catalog_number_is_an_error(tmp_path: Path) -> None:
    text = (ROOT / "catalogs" / "aws.yaml").read_text()
    bad = tmp_path / "quote.yaml"
    assert "\n      usd_per_hour: tsaol-prices\n    notes:" in text  # the first option's last source
    bad.write_text(text.replace("\n      usd_per_hour: tsaol-prices\n    notes:", "\n    notes:", 1))
    line = text.splitlines().index("    usd_per_hour: 21.50") + 1  # the unsourced number's own line
    code, _, err = run(["plan", str(ROOT / "examples" / "startup.yaml"), "--catalog", str(bad)])
    assert code == 2
    assert err == (
        f"{bad}:{line}: options[0].usd_per_hour: this number has no source: name a key of the "
        "catalog's sources block under sources, or give one line of reasoning under estimates\n"
    )


def test_unknown_source_key_is_an_error(tmp_path: Path) -> None:
    text = (ROOT / "catalogs" / "aws.yaml").read_text()
    bad = tmp_path / "quote.yaml"
    bad.write_text(text.replace("\n      usd_per_hour: tsaol-prices", "\n      usd_per_hour: tsaol-price", 1))
    line = text.splitlines().index("      usd_per_hour: tsaol-prices") + 1
    code, _, err = run(["catalog", "show", "--catalog", str(bad)])
    assert code == 2
    assert err == (
        f"{bad}:{line}: options[0].sources.usd_per_hour: source key 'tsaol-price' is not in "
        "the sources block (did you mean 'tsaol-prices'?)\n"
    )


def test_bad_command_line_values() -> None:
    code, _, err = run(["plan", str(ROOT / "examples" / "startup.yaml"), "--format", "markdwn"])
    assert (
        code == 2
        and "choose one of table, markdown, json, csv, xlsx, focus (did you mean 'markdown'?)" in err
    )
    code, _, err = run(["explain", str(ROOT / "examples" / "startup.yaml"), "assistant", "p5.48xlarge"])
    assert code == 2
    assert err == (
        "<command line>: workload: no workload 'assistant' in "
        f"{ROOT / 'examples' / 'startup.yaml'} (did you mean 'assistant-chat'?)\n"
    )


def test_a_large_plain_file_is_not_mistaken_for_an_alias_bomb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "MAX_NODES", 2_000)
    # 2,501 values written out, more than MAX_NODES: the limit is twice what the file holds
    raw = ("items: [" + "1, " * 2_500 + "1]\n").encode()
    assert len(parse_yaml(raw, "big.yaml").data["items"]) == 2_501
    # 11,111 values reached through aliases from 41 written are refused
    bomb = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
    for name, prev in zip("bcd", "abc", strict=True):
        bomb += f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]\n"
    with pytest.raises(InputError, match="expands to more than 2,000 values"):
        parse_yaml(bomb.encode(), "bomb.yaml")
