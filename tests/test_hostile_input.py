"""Hostile input, round two: every mistake in tests/bad/{workloads,catalog,scenario,plan}/ gives its
exact `file:line: field: message` and exit 2, whichever input it arrives through; special files,
deep nesting and bombs are refused cleanly; the outputs defend themselves against what names carry.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placement.analyses import scenarios
from placement.cli import app
from placement.render.report import WORKLOAD_HEADERS as WORKLOAD_COLUMNS
from tests.conftest import ROOT

STARTUP = "examples/startup.yaml"

WORKLOADS = {
    "model-unknown-name.yaml": "tests/bad/workloads/model-unknown-name.yaml:5: workloads[0].model.name: unknown model 'llama-3.1-8' (did you mean 'llama-3.1-8b'?); known: deepseek-v3, gemma-2-27b, gemma-2-9b, gpt-j-6b, gpt-oss-120b, gpt-oss-20b, llama-2-13b, llama-2-70b, llama-2-7b, llama-3-70b, llama-3-8b, llama-3.1-405b, llama-3.1-70b, llama-3.1-8b, llama-3.2-1b, llama-3.2-3b, llama-3.3-70b, llama-4-maverick, llama-4-scout, mistral-7b, mixtral-8x22b, mixtral-8x7b, phi-3-mini, qwen2.5-14b, qwen2.5-32b, qwen2.5-72b, qwen2.5-7b, qwen3-235b-a22b, qwen3-30b-a3b, qwen3-32b, qwen3-8b",
    "model-name-and-size.yaml": "tests/bad/workloads/model-name-and-size.yaml:5: workloads[0].model.params_b: give either a model name or its size and shape, not both",
    "model-partial-shape.yaml": "tests/bad/workloads/model-partial-shape.yaml:5: workloads[0].model.kv_heads: give all of layers, hidden_size, kv_heads and head_dim, or none",
    "model-layers-float.yaml": "tests/bad/workloads/model-layers-float.yaml:5: workloads[0].model.layers: should be a whole number, not 32.5",
    "request-zero-output.yaml": "tests/bad/workloads/request-zero-output.yaml:7: workloads[0].request.output_tokens: Input should be greater than or equal to 1",
    "request-on-training.yaml": "tests/bad/workloads/request-on-training.yaml:7: workloads[0].request: does not apply to a training workload",
    "sequence-length-yes.yaml": "tests/bad/workloads/sequence-length-yes.yaml:7: workloads[0].sequence_length: should be a whole number, not the text 'yes' (a yes/no word is not a number)",
    "alias-undefined.yaml": "tests/bad/workloads/alias-undefined.yaml:2: alias *chat names no anchor defined before it",
    "block-nesting.yaml": "tests/bad/workloads/block-nesting.yaml:2: nesting too deep (limit 64 levels)",
    "bool-params.yaml": "tests/bad/workloads/bool-params.yaml:5: workloads[0].model.params_b: should be a number, not true",
    "float-runs.yaml": "tests/bad/workloads/float-runs.yaml:7: workloads[0].runs: should be a whole number, not 2.5",
    "horizon-true.yaml": "tests/bad/workloads/horizon-true.yaml:1: horizon_months: should be a number, not true",
    "key-is-list.yaml": "tests/bad/workloads/key-is-list.yaml:1: a key must be a plain value, not a list, mapping or alias",
    "measured-bool.yaml": "tests/bad/workloads/measured-bool.yaml:8: workloads[0].measured['p5.48xlarge'].tokens_per_second: should be a number, not true",
    "name-bidi-override.yaml": "tests/bad/workloads/name-bidi-override.yaml:2: workloads[0].name: contains an invisible or control character (U+202E RIGHT-TO-LEFT OVERRIDE); use printable characters",
    "name-c1-csi.yaml": "tests/bad/workloads/name-c1-csi.yaml:2: workloads[0].name: contains an invisible or control character (U+009B CONTROL CHARACTER); use printable characters",
    "name-del.yaml": "tests/bad/workloads/name-del.yaml:2: workloads[0].name: contains an invisible or control character (U+007F CONTROL CHARACTER); use printable characters",
    "name-escape-sequence.yaml": "tests/bad/workloads/name-escape-sequence.yaml:2: workloads[0].name: contains an invisible or control character (U+001B CONTROL CHARACTER); use printable characters",
    "name-line-separator.yaml": "tests/bad/workloads/name-line-separator.yaml:2: workloads[0].name: contains an invisible or control character (U+2028 LINE SEPARATOR); use printable characters",
    "name-nfc-duplicate.yaml": "tests/bad/workloads/name-nfc-duplicate.yaml:7: workloads[1].name: duplicate workload name 'café' (first used at workloads[0])",
    "name-nfkc-duplicate.yaml": "tests/bad/workloads/name-nfkc-duplicate.yaml:7: workloads[1].name: duplicate workload name 'ﬁne' (first used at workloads[0], written 'fine': the same after Unicode NFKC)",
    "name-no-break-space.yaml": "tests/bad/workloads/name-no-break-space.yaml:2: workloads[0].name: contains an invisible or control character (U+00A0 NO-BREAK SPACE); use printable characters",
    "name-trailing-space.yaml": "tests/bad/workloads/name-trailing-space.yaml:2: workloads[0].name: must not start or end with a space",
    "name-zero-width.yaml": "tests/bad/workloads/name-zero-width.yaml:2: workloads[0].name: contains an invisible or control character (U+200B ZERO WIDTH SPACE); use printable characters",
    "octal-runs.yaml": "tests/bad/workloads/octal-runs.yaml:7: workloads[0].runs: should be a whole number, not the text '012' (write it without the leading zero)",
    "quoted-number.yaml": "tests/bad/workloads/quoted-number.yaml:5: workloads[0].model.params_b: should be a number, not the text '8'",
    "sexagesimal-tokens.yaml": "tests/bad/workloads/sexagesimal-tokens.yaml:6: workloads[0].tokens: cannot read '1:30' as a token count: use a number with an optional K, M, B or T suffix, such as 30B or 1.5T",
    "two-documents.yaml": "tests/bad/workloads/two-documents.yaml:2: more than one YAML document (---); put everything in one",
    "yaml-int-tag.yaml": "tests/bad/workloads/yaml-int-tag.yaml:5: '8.5' is not a valid !!int",
    "yaml-python-tag.yaml": "tests/bad/workloads/yaml-python-tag.yaml:2: YAML tag !!python/object:os.system is not supported; write the value plainly",
    "yaml11-on-params.yaml": "tests/bad/workloads/yaml11-on-params.yaml:5: workloads[0].model.params_b: should be a number, not the text 'on' (a yes/no word is not a number)",
    "yaml11-peak-yes.yaml": "tests/bad/workloads/yaml11-peak-yes.yaml:7: workloads[0].peak_to_average: should be a number, not the text 'yes' (a yes/no word is not a number)",
    "yaml11-yes-params.yaml": "tests/bad/workloads/yaml11-yes-params.yaml:5: workloads[0].model.params_b: should be a number, not the text 'yes' (a yes/no word is not a number)",
    # the time axis: months, series, order, porting team, purchase options
    "after-cycle.yaml": "tests/bad/workloads/after-cycle.yaml:7: workloads[0].after[0]: the after entries go round in a circle: 'pretrain' → 'rl-tune' → 'sft' → 'pretrain' (each waits for the next), so none of them can ever start; remove one of these entries",
    "after-inference.yaml": "tests/bad/workloads/after-inference.yaml:12: workloads[1].after[0]: 'chat' is an inference workload: `after` names training workloads, whose runs must all be done before this one starts",
    "after-itself.yaml": "tests/bad/workloads/after-itself.yaml:7: workloads[0].after[0]: 'finetune' is this workload itself: a workload cannot wait for itself",
    "after-listed-twice.yaml": "tests/bad/workloads/after-listed-twice.yaml:12: workloads[1].after[1]: 'pretrain' is already listed at after[0]",
    "after-no-month-left.yaml": "tests/bad/workloads/after-no-month-left.yaml:14: workloads[1].after[0]: no month is left in the horizon (its last is month 12): it runs after 'pretrain', which cannot start before month 12, so it cannot start before month 13",
    "after-on-inference.yaml": "tests/bad/workloads/after-on-inference.yaml:12: workloads[1].after: does not apply to an inference workload",
    "after-past-latest-month.yaml": "tests/bad/workloads/after-past-latest-month.yaml:21: workloads[2].latest_month: month 4 leaves this workload no month: it runs after 'sft', which cannot start before month 4, so it cannot start before month 5; give a later latest_month or earlier windows to the workloads before it",
    "after-single-period.yaml": "tests/bad/workloads/after-single-period.yaml:13: workloads[1].after: periods: single plans the whole horizon as one period with every workload in it, so no workload can run after another; use periods: monthly (the default) or remove after",
    "after-unknown.yaml": "tests/bad/workloads/after-unknown.yaml:12: workloads[1].after[0]: no workload named 'pretrain-70' in this file (did you mean 'pretrain-70b'?)",
    "growth-beyond-pricing.yaml": "tests/bad/workloads/growth-beyond-pricing.yaml:8: workloads[0].growth_per_month: 10 a month for 119 months takes 1e+09 tokens a month to 1e+132 by month 120, beyond 1e+18 tokens, which is outside what the model can price",
    "latest-month-past-half-month.yaml": "tests/bad/workloads/latest-month-past-half-month.yaml:8: workloads[0].latest_month: month 8 is past the horizon (horizon_months: 6.5 ends with month 7); give a month from 1 to 7, or lengthen horizon_months",
    "month-121.yaml": "tests/bad/workloads/month-121.yaml:8: workloads[0].end_month: Input should be less than or equal to 120",
    "month-as-text.yaml": "tests/bad/workloads/month-as-text.yaml:7: workloads[0].start_month: should be a whole number, not the text 'march'",
    "month-float.yaml": "tests/bad/workloads/month-float.yaml:7: workloads[0].end_month: should be a whole number, not 6.5",
    "month-negative.yaml": "tests/bad/workloads/month-negative.yaml:7: workloads[0].start_month: Input should be greater than or equal to 1",
    "month-past-horizon.yaml": "tests/bad/workloads/month-past-horizon.yaml:8: workloads[0].start_month: month 14 is past the horizon (horizon_months: 12 ends with month 12); give a month from 1 to 12, or lengthen horizon_months",
    "month-zero.yaml": "tests/bad/workloads/month-zero.yaml:7: workloads[0].earliest_month: Input should be greater than or equal to 1",
    "monthly-tokens-and-growth.yaml": "tests/bad/workloads/monthly-tokens-and-growth.yaml:7: workloads[0].growth_per_month: give growth_per_month or monthly_tokens, not both",
    "monthly-tokens-bad-entry.yaml": "tests/bad/workloads/monthly-tokens-bad-entry.yaml:9: workloads[0].monthly_tokens[2]: must be a positive, finite token count",
    "monthly-tokens-past-horizon.yaml": "tests/bad/workloads/monthly-tokens-past-horizon.yaml:12: workloads[0].monthly_tokens[3]: this entry is month 13, past the horizon (horizon_months: 12 ends with month 12): the series starts in month 10, so give at most 3 months",
    "porting-per-port-over-team.yaml": "tests/bad/workloads/porting-per-port-over-team.yaml:1: porting.per_port: 3 is more than the team of 2",
    "porting-unknown-codebase.yaml": "tests/bad/workloads/porting-unknown-codebase.yaml:3: porting.codebases['serving-stak']: no workload has codebase 'serving-stak' (did you mean 'serving-stack'?); the codebases are serving-stack (a workload without codebase is its own)",
    "purchase-unknown-instrument.yaml": "tests/bad/workloads/purchase-unknown-instrument.yaml:1: purchase.allow[1]: Input should be 'on-demand', '1-year', '3-year' or 'capacity-block'",
    "start-not-a-month.yaml": "tests/bad/workloads/start-not-a-month.yaml:1: start: '2027-13' is not a calendar month: write YYYY-MM, such as 2027-01",
}
CATALOG = {
    "capacity-float.yaml": "tests/bad/catalog/capacity-float.yaml:15: options[0].capacity_instances: should be a whole number, not 100.0",
    "chips-true.yaml": "tests/bad/catalog/chips-true.yaml:10: options[0].chips: should be a whole number, not true",
    "date-not-a-date.yaml": "tests/bad/catalog/date-not-a-date.yaml:4: sources.quote.date_read: 'last tuesday' is not a real date (YYYY-MM-DD)",
    "date-not-real.yaml": "tests/bad/catalog/date-not-real.yaml:4: sources.quote.date_read: '2026-02-30' is not a real date (YYYY-MM-DD)",
    "mfu-yes.yaml": "tests/bad/catalog/mfu-yes.yaml:16: options[0].prefill_mfu: should be a number, not the text 'yes' (a yes/no word is not a number)",
    "option-id-bidi.yaml": "tests/bad/catalog/option-id-bidi.yaml:6: options[0].id: contains an invisible or control character (U+202E RIGHT-TO-LEFT OVERRIDE); use printable characters",
    "price-inf.yaml": "tests/bad/catalog/price-inf.yaml:14: options[0].usd_per_hour: must be a finite number",
    "source-title-escape.yaml": "tests/bad/catalog/source-title-escape.yaml:4: sources.quote.title: contains an invisible or control character (U+001B CONTROL CHARACTER)",
    "tiny-price.yaml": "tests/bad/catalog/tiny-price.yaml:14: options[0].usd_per_hour: Input should be greater than or equal to 0.0001",
    "weeks-inf-text.yaml": "tests/bad/catalog/weeks-inf-text.yaml:29: migration.items.jax.trainium.weeks: should be a number, not the text '.inf'",
    # capacity calendars and the sale channel
    "blocks-only-without-block-price.yaml": "tests/bad/catalog/blocks-only-without-block-price.yaml:16: options[0].on_demand: false, and the option has no capacity_block_usd_per_hour: nothing can buy it; give its Capacity Block price or set on_demand: true",
    "calendar-leading-zero.yaml": "tests/bad/catalog/calendar-leading-zero.yaml:16: options[0].capacity_by_month['05']: should be a whole number, not the text '05' (write it without the leading zero)",
    "calendar-month-zero.yaml": "tests/bad/catalog/calendar-month-zero.yaml:16: options[0].capacity_by_month[0]: month 0: calendar months count from 1 (the horizon's first) to 120",
    "calendar-negative.yaml": "tests/bad/catalog/calendar-negative.yaml:18: options[0].capacity_by_month[6]: Input should be greater than or equal to 0",
    "calendar-unsourced.yaml": "tests/bad/catalog/calendar-unsourced.yaml:16: options[0].capacity_by_month: this number has no source: name a key of the catalog's sources block under sources, or give one line of reasoning under estimates",
}
SCENARIO = {
    "batch-out-of-range.yaml": "tests/bad/scenario/batch-out-of-range.yaml:3: options['inf2.xlarge'].max_batch: the change gives 800000 (was 8): Input should be less than or equal to 65536",
    "change-as-text.yaml": "tests/bad/scenario/change-as-text.yaml:3: migration_weeks.vllm.trainium: should be a number or one of {value: N}, {percent: P}, {factor: F}, not '.inf'",
    "factor-inf-batch.yaml": "tests/bad/scenario/factor-inf-batch.yaml:3: options['inf2.xlarge'].max_batch.factor: must be a finite number",
    "factor-inf-capacity.yaml": "tests/bad/scenario/factor-inf-capacity.yaml:3: options['trn2.48xlarge@us-east-2'].capacity_instances.factor: must be a finite number",
    "field-option-lacks.yaml": "tests/bad/scenario/field-option-lacks.yaml:3: options['inf2.xlarge'].training_mfu: option 'inf2.xlarge' has no training_mfu to change",
    "name-escape.yaml": "tests/bad/scenario/name-escape.yaml:1: name: contains an invisible or control character (U+001B CONTROL CHARACTER); use printable characters",
    "overlay-does-not-apply.yaml": "tests/bad/scenario/overlay-does-not-apply.yaml:3: workloads.rerank.tokens: workload 'rerank' (inference) has no tokens to change",
    "percent-yes.yaml": "tests/bad/scenario/percent-yes.yaml:3: options['trn2.48xlarge@us-east-2'].usd_per_hour.percent: should be a number, not the text 'yes' (a yes/no word is not a number)",
    "tokens-overflow.yaml": "tests/bad/scenario/tokens-overflow.yaml:3: workloads['assistant-chat'].tokens_per_month: the change gives 1e+20 (was 6e+09): more than 1e+18 tokens is outside what the model can price",
    "unknown-option-field.yaml": "tests/bad/scenario/unknown-option-field.yaml:3: options['trn2.48xlarge@us-east-2'].usd_per_hr: unknown key (did you mean 'usd_per_hour'?); expected 'usd_per_hour', 'capacity_instances', 'training_mfu', 'prefill_mfu', 'bandwidth_efficiency', 'decode_overhead_ms', 'collective_us', 'link_gb_per_s', 'max_batch', 'hbm_usable_fraction', 'bf16_tflops', 'fp8_tflops', 'hbm_gib', 'hbm_tb_per_s', 'one_year_usd_per_hour', 'three_year_usd_per_hour' or 'capacity_block_usd_per_hour'",
    "weeks-on-blocked-port.yaml": "tests/bad/scenario/weeks-on-blocked-port.yaml:3: migration_weeks.tensorflow.trainium: tensorflow on trainium is blocked (Neuron 2.32 lists no TensorFlow support for Trainium training; rewrite in PyTorch or JAX first): no weeks to change",
}
PLAN = {
    "deep-nesting.json": "tests/bad/plan/deep-nesting.json:2: nesting too deep (limit 64 levels)",
    "empty-capacity-row.json": "tests/bad/plan/empty-capacity-row.json:10: capacity[0].option: required field is missing\ntests/bad/plan/empty-capacity-row.json:10: capacity[0].used: required field is missing",
    "family-without-usd.json": "tests/bad/plan/family-without-usd.json:11: families[0].compute_usd: required field is missing",
    "instances-true.json": "tests/bad/plan/instances-true.json:8: placements[0].instances: should be a whole number, not true",
    "migration-usd-text.json": "tests/bad/plan/migration-usd-text.json:9: migrations[0].usd: should be a number, not the text 'lots'",
    "share-as-text.json": "tests/bad/plan/share-as-text.json:8: placements[0].share: should be a number, not the text '1.0'",
    "top-level-list.json": "tests/bad/plan/top-level-list.json:1: not a plan: the top level must be a JSON object",
    "total-nan.json": "tests/bad/plan/total-nan.json: not valid JSON: NaN is not a number JSON allows",
}

COMMANDS = {
    "workloads": (WORKLOADS, lambda f: ["plan", f]),
    "catalog": (CATALOG, lambda f: ["catalog", "show", "--catalog", f]),
    "scenario": (SCENARIO, lambda f: ["compare", STARTUP, "--scenario", f]),
    "plan": (PLAN, lambda f: ["verify", f, STARTUP]),
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("kind", sorted(COMMANDS))
def test_every_file_in_the_corpus_has_an_expectation(kind: str) -> None:
    assert sorted(p.name for p in (ROOT / "tests" / "bad" / kind).iterdir()) == sorted(COMMANDS[kind][0])


@pytest.mark.parametrize(
    "kind,name",
    [(kind, name) for kind, (expected, _) in sorted(COMMANDS.items()) for name in sorted(expected)],
)
def test_bad_file_message(kind: str, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    expected, command = COMMANDS[kind]
    code, out, err = run(*command(f"tests/bad/{kind}/{name}"))
    assert (code, out) == (2, "")
    assert err == expected[name] + "\n"


# --------------------------------------------------------------------------- files that are not files


def _command(kind: str, path: str) -> list[str]:
    return COMMANDS[kind][1](path)


@pytest.mark.parametrize("kind", sorted(COMMANDS))
@pytest.mark.parametrize("special", ["fifo", "directory", "dev-zero"])
def test_special_files_are_refused_before_reading(
    kind: str, special: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    if special == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no named pipes here")
        path, label = tmp_path / "pipe.yaml", "a named pipe (FIFO)"
        os.mkfifo(path)  # nobody writes to it: reading it would hang
    elif special == "directory":
        path, label = tmp_path, "a directory"
    else:
        if not Path("/dev/zero").exists():
            pytest.skip("no /dev/zero here")
        path, label = Path("/dev/zero"), "a character device"
    code, out, err = run(*_command(kind, str(path)))
    assert (code, out) == (2, "")
    assert err == f"{path}: not a regular file: {label}; give the path of a file\n"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_50000_levels_of_nesting_fail_cleanly(suffix: str, tmp_path: Path) -> None:
    deep = tmp_path / f"deep{suffix}"
    deep.write_text('{"a": ' + "[" * 50_000 + "]" * 50_000 + "}\n")
    args = ["plan", str(deep)] if suffix == ".yaml" else ["verify", str(deep), str(ROOT / STARTUP)]
    # in a child process: a stack overflow would be a signal, not an exception
    done = subprocess.run(
        [sys.executable, "-m", "placement", *args], capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"{deep}:1: nesting too deep (limit 64 levels)\n"


def test_an_alias_repeated_long_string_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    long = "x" * 9_000
    items = ", ".join(["*s"] * 150_000)
    bomb.write_text(
        f'text: &s "{long}"\nworkloads:\n  - name: chat\n    kind: inference\n    framework: pytorch\n'
        f"    model: {{params_b: 8}}\n    tokens_per_month: 1B\n    stack: [{items}]\n"
    )
    code, out, err = run("plan", str(bomb))
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert lines[0] == f"{bomb}:1: text: unknown field"
    assert lines[1] == f"{bomb}:8: workloads[0].stack[0]: String should have at most 200 characters"
    assert lines[-1] == f"{bomb}: ... and 149,991 more problems of the same kinds"
    assert len(lines) == 11


def test_a_value_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "long.yaml"
    big.write_text("workloads:\n  - name: " + "n" * 10_001 + "\n")
    code, _, err = run("plan", str(big))
    assert (code, err) == (2, f"{big}:2: a value of 10,001 characters (limit 10,000)\n")


# --------------------------------------------------------------------------- command line


def test_catalog_given_twice_with_different_files_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    shipped = "catalogs/aws.yaml"
    code, out, err = run(
        "plan", STARTUP, "--catalog", shipped, "--catalog", "tests/bad/catalog/tiny-price.yaml"
    )
    assert (code, out) == (2, "")
    assert err == (
        "<command line>: --catalog: given 2 times with different files (catalogs/aws.yaml, "
        "tests/bad/catalog/tiny-price.yaml); this command reads one catalog (`placement compare` takes several)\n"
    )
    code, out, _ = run("plan", STARTUP, "--catalog", shipped, "--catalog", f"./{shipped}")
    assert code == 0 and "Placement plan" in out


def test_a_console_that_cannot_encode_an_arrow_gets_an_escape() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    done = subprocess.run(
        [sys.executable, "-m", "placement", "explain", STARTUP, "rerank", "inf2.xlarge"],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert b"\\u2264" in done.stdout  # the formula's ≤, escaped instead of an internal error


# --------------------------------------------------------------------------- compare checks first


def test_compare_checks_every_input_before_any_solve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    solves: list[str] = []

    def no_solve(*args: object) -> object:
        solves.append(str(args[3]))
        raise AssertionError("solved before every input was checked")

    monkeypatch.setattr(scenarios, "plan_what_fits", no_solve)
    good = []
    for index in range(30):
        path = tmp_path / f"s{index:02}.yaml"
        path.write_text(
            f"name: price {index}\noptions:\n  trn2.48xlarge@us-east-2: {{usd_per_hour: {{percent: -{index}}}}}\n"
        )
        good.append(path)
    late = tmp_path / "late.yaml"
    late.write_text("name: late\noptions:\n  inf2.xlarge: {training_mfu: 0.4}\n")
    args = [arg for path in good for arg in ("-s", str(path))]
    code, out, err = run(
        "compare", STARTUP, *args, "-s", str(late), "-s", "tests/bad/scenario/factor-inf-batch.yaml"
    )
    assert (code, out, solves) == (2, "", [])
    assert err == (
        f"{late}:3: options['inf2.xlarge'].training_mfu: option 'inf2.xlarge' has no training_mfu to change\n"
        + SCENARIO["factor-inf-batch.yaml"]
        + "\n"
    )


# --------------------------------------------------------------------------- what names carry out


HOSTILE_NAMES = ['=HYPERLINK("http://example.com","x")', "a|b", "-2+3", "@SUM(A1)", "+1"]


def _hostile_portfolio(tmp_path: Path) -> Path:
    path = tmp_path / "names.yaml"
    body = "".join(
        f"  - name: {name!r}\n    kind: inference\n    framework: pytorch\n    model: {{params_b: 1}}\n"
        f"    tokens_per_month: 1B\n"
        for name in HOSTILE_NAMES
    )
    path.write_text("workloads:\n" + body)
    return path


def test_csv_neutralises_formulas_and_markdown_keeps_its_columns(tmp_path: Path) -> None:
    names = _hostile_portfolio(tmp_path)
    code, out, err = run("plan", str(names), "-f", "csv")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert {len(r) for r in rows} == {len(rows[0])}
    # a cell that could be a formula gets an apostrophe; a plain number cannot be one and is kept
    assert [r[0] for r in rows[1:]] == ["'" + n if n[0] in "=-@" else n for n in HOSTILE_NAMES]
    code, out, _ = run("plan", str(names), "-f", "markdown")
    table = [line for line in out.splitlines() if line.startswith("| workload")]
    assert table, out
    start = out.splitlines().index(table[0])
    block = []
    for line in out.splitlines()[start:]:
        if not line.startswith("|"):
            break
        block.append(line)
    assert len(block) == 2 + len(HOSTILE_NAMES)
    assert {len(re.findall(r"(?<!\\)\|", line)) for line in block} == {len(WORKLOAD_COLUMNS) + 1}
    assert "| a\\|b " in out


# --------------------------------------------------------------------------- the time axis at scale


def test_a_monthly_series_as_long_as_the_size_limit_allows_is_one_located_problem(tmp_path: Path) -> None:
    from placement.inputs.loading import MAX_FILE_BYTES

    head = "horizon_months: 12\nworkloads:\n  - name: chat\n    kind: inference\n    framework: pytorch\n"
    head += "    model: {params_b: 8}\n    monthly_tokens: ["
    count = (MAX_FILE_BYTES - len(head) - 16) // len("1B, ")  # 4.2 million entries: the file is at the limit
    path = tmp_path / "series.yaml"
    path.write_text(head + "1B, " * count + "1B]\n")
    assert MAX_FILE_BYTES - 16 <= path.stat().st_size <= MAX_FILE_BYTES
    code, out, err = run("plan", str(path))
    assert (code, out) == (2, "")
    # refused from its length, before its 4.2 million token counts are read
    assert (
        err
        == f"{path}:7: workloads[0].monthly_tokens[120]: {count + 1:,} months given; the longest horizon is 120 months\n"
    )


def _chain(count: int, closed: bool) -> str:
    """`count` training workloads, each after the one before it (the first after the last if closed)."""
    body = ["workloads:"]
    for index in range(count):
        before = index - 1 if index else (count - 1 if closed else None)
        after = f", after: [t{before}]" if before is not None else ""
        body.append(
            f"  - {{name: t{index}, kind: training, framework: pytorch, model: {{params_b: 1}}, tokens: 1B{after}}}"
        )
    return "\n".join(body) + "\n"


def test_an_order_cycle_through_10000_workloads_is_named_without_recursion(tmp_path: Path) -> None:
    path = tmp_path / "circle.yaml"
    path.write_text(_chain(10_000, closed=True))
    code, out, err = run("plan", str(path))
    assert (code, out) == (2, "")
    assert err == (
        f"{path}:2: workloads[0].after[0]: the after entries go round in a circle: 't0' → 't9999' → "
        "'t9998' → 't9997' → 't9996' → 't9995' → … 9,993 more … → 't1' → 't0' (each waits for the next), "
        "so none of them can ever start; remove one of these entries\n"
    )


def test_a_10000_long_order_chain_needs_10000_months(tmp_path: Path) -> None:
    path = tmp_path / "chain.yaml"
    path.write_text(_chain(10_000, closed=False))
    code, out, err = run("plan", str(path))
    assert (code, out) == (2, "")
    # t11 would start in month 12 at the earliest; t12 has no month left, and is the only one blamed
    assert err == (
        f"{path}:14: workloads[12].after[0]: no month is left in the horizon (its last is month 12): it "
        "runs after 't11', which cannot start before month 12, so it cannot start before month 13\n"
    )


def test_cross_file_problems_are_capped_like_field_problems(tmp_path: Path) -> None:
    path = tmp_path / "pins.yaml"
    path.write_text(
        "workloads:\n"
        + "".join(
            f"  - {{name: w{i}, kind: inference, framework: pytorch, model: {{params_b: 1}}, "
            f"tokens_per_month: 1B, start_month: 13}}\n"
            for i in range(500)
        )
    )
    code, out, err = run("plan", str(path))
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert len(lines) == 11
    assert lines[0] == (
        f"{path}:2: workloads[0].start_month: month 13 is past the horizon (horizon_months: 12 ends with "
        "month 12); give a month from 1 to 12, or lengthen horizon_months"
    )
    assert lines[-1] == f"{path}: ... and 490 more problems of the same kinds"
