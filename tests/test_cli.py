"""The commands through typer's CliRunner: exit codes, outputs, files written, help texts."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placement.cli import app
from tests.conftest import ROOT

STARTUP = str(ROOT / "examples" / "startup.yaml")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_plan_json_carries_the_documented_schema() -> None:
    code, out, err = run("plan", STARTUP, "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["schema_version"] == "2"
    for key in (
        "total_usd",
        "compute_usd",
        "migration_usd",
        "baseline_usd",
        "placements",
        "migrations",
        "capacity",
    ):
        assert key in data
    assert set(data["placements"][0]) >= {"workload", "option", "family", "share", "instances", "compute_usd"}
    assert all(set(m) >= {"codebase", "family", "weeks", "usd"} for m in data["migrations"])
    assert set(data["capacity"][0]) >= {"option", "used", "available"}
    assert data["total_usd"] == pytest.approx(data["compute_usd"] + data["migration_usd"], abs=0.02)
    placed = sum(p["compute_usd"] for p in data["placements"])
    assert data["compute_usd"] == pytest.approx(placed + data["unused_commitment_usd"], abs=0.1)
    assert data["migration_usd"] == pytest.approx(sum(m["usd"] for m in data["migrations"]), abs=0.1)


def test_plan_csv_has_one_row_per_placement() -> None:
    code, out, _ = run("plan", STARTUP, "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    code_json, out_json, _ = run("plan", STARTUP, "-f", "json")
    assert code == code_json == 0
    assert [(r["workload"], r["option"]) for r in rows] == [
        (p["workload"], p["option"]) for p in json.loads(out_json)["placements"]
    ]


def test_plan_out_writes_atomically_and_is_deterministic(tmp_path: Path) -> None:
    target = tmp_path / "plan.md"
    assert run("plan", STARTUP, "-f", "markdown", "--out", str(target))[0] == 0
    first = target.read_bytes()
    assert run("plan", STARTUP, "-f", "markdown", "--out", str(target))[0] == 0
    assert target.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["plan.md"]  # no temporary file left behind


def test_plan_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    workloads = tmp_path / "w.yaml"
    original = (ROOT / "examples" / "startup.yaml").read_bytes()
    workloads.write_bytes(original)
    code, out, err = run("plan", str(workloads), "--out", str(workloads))
    assert code == 2 and out == ""
    assert err == f"{workloads}: refusing to overwrite an input file; choose another --out\n"
    assert workloads.read_bytes() == original


def test_plan_out_into_missing_folder(tmp_path: Path) -> None:
    code, _, err = run("plan", STARTUP, "--out", str(tmp_path / "no" / "plan.md"))
    assert code == 2 and "does not exist" in err


def test_infeasible_plan_explains_and_exits_1(tmp_path: Path) -> None:
    workloads = tmp_path / "w.yaml"
    workloads.write_text(
        "workloads:\n"
        "  - {name: giant, kind: inference, framework: pytorch, model: {params_b: 5000},"
        " tokens_per_month: 1B}\n"
    )
    code, out, err = run("plan", str(workloads))
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0] == "no plan: 1 workload(s) cannot run on any option in catalog 'aws'"
    assert (
        "inf2.xlarge: memory does not fit: weights need 9,313.2 GiB plus the KV cache of one request, "
        "one instance has 28.8 GiB usable" in err
    )
    assert "trn3-ultraserver-gen1: memory does not fit" in err


def test_capacity_oversubscription_names_options_and_competitors(tmp_path: Path) -> None:
    # Each run needs 51 p5 instances at once: (6 · 70e9 + 12 · 80 · 8192 · 4096) · 1.4e12 FLOPs at the
    # fitted H100 MFU (0.405) is 54,900 instance-hours at a 45-day pace; each region has 64 p5.  Over a
    # year the three runs simply take turns (the time-phased plan schedules them); inside months 1-2
    # (1,460 h) two regions hold at most two of them at once, so the third cannot finish.
    run_text = (
        "{{name: {0}, kind: training, framework: jax, model: {{params_b: 70}}, tokens: 1.4T, "
        "deadline_days: 45{1}}}"
    )
    workloads = tmp_path / "w.yaml"
    workloads.write_text("workloads:\n" + "".join(f"  - {run_text.format(n, '')}\n" for n in "abc"))
    code, _, err = run("plan", str(workloads))
    assert code == 0, err
    workloads.write_text(
        "workloads:\n" + "".join(f"  - {run_text.format(n, ', latest_month: 2')}\n" for n in "abc")
    )
    code, _, err = run("plan", str(workloads))
    assert code == 1
    lines = err.splitlines()
    assert lines[0] == "no plan: the workloads each fit somewhere, but not all at once"
    assert "cannot finish its runs inside its window M1–M2" in err
    assert "options it could use: p5.48xlarge, p5.48xlarge@us-east-2" in err


def test_policy_that_cannot_hold_is_explained(tmp_path: Path) -> None:
    workloads = tmp_path / "w.yaml"
    workloads.write_text(
        "policy: {max_family_share: 0.5}\n"
        "workloads:\n"
        "  - {name: tf, kind: inference, framework: tensorflow, model: {params_b: 1}, tokens_per_month: 1B}\n"
    )
    code, _, err = run("plan", str(workloads))
    assert code == 1
    assert (
        "policy max_family_share 0.5 cannot hold: gpu carries at least 100.0% of compute spend; "
        "workloads that can only run on gpu: tf" in err
    )


def test_explain_prints_the_arithmetic_and_sources() -> None:
    code, out, err = run("explain", STARTUP, "weekly-finetune", "trn2.48xlarge@us-east-2")
    assert (code, err) == (0, "")
    assert "FLOPs per token" in out and "6 · 8e9 + 12 · 32 · 4096 · 4096" in out and "FLOPs per run" in out
    assert "usd_per_hour = 35.7608: [cbj]; NOT an on-demand price" in out
    assert "Migration of codebase 'weekly-finetune' to trainium: 6 engineer-weeks = $30,000" in out
    assert "[neuron-trn2] AWS Neuron docs" in out


def test_explain_ruled_out_option_says_why() -> None:
    code, out, _ = run("explain", STARTUP, "weekly-finetune", "inf2.xlarge")
    assert code == 0
    assert "Result: ruled out: kind not supported: inf2.xlarge is listed for inference only" in out


def test_catalog_show_marks_estimates_and_lists_sources() -> None:
    code, out, _ = run("catalog", "show")
    assert code == 0
    assert re.search(r"trn2\.48xlarge@us-east-2 .* 35\.7608 ", out)  # sourced: no `*`
    assert re.search(r"trn3-ultraserver-gen1 .* 193\*", out)
    assert "usd_per_hour = 35.7608: [cbj]; NOT an on-demand price" in out
    assert "[neuron-trn2-arch] AWS Neuron docs: Trn2 architecture" in out
    code, md, _ = run("catalog", "show", "--markdown")
    assert code == 0 and "| trn2.48xlarge@us-east-2" in md


def test_schema_is_json_schema_of_the_workload_file() -> None:
    code, out, _ = run("schema")
    schema = json.loads(out)
    assert code == 0 and schema["title"] == "Portfolio"
    assert "workloads" in schema["properties"]
    assert schema["$defs"]["Workload"]["additionalProperties"] is False


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["plan"],
        ["explain"],
        ["catalog"],
        ["catalog", "show"],
        ["catalog", "import-prices"],
        ["schema"],
        ["compare"],
        ["stress"],
        ["sensitivity"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    code, out, _ = run(*command, "--help")
    assert code == 0 and "Usage:" in out and len(out) > 100


def test_readme_documents_every_command() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = (
        "plan",
        "explain",
        "catalog show",
        "schema",
        "compare",
        "stress",
        "sensitivity",
        "risk",
        "memo",
        "verify",
        "catalog import-prices",
        "calibrate",
    )
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    assert names <= {c.split()[0] for c in commands} | {"verify_command"}  # every command is listed here
    for command in (f"placement {c}" for c in commands):
        assert command in readme
    for option in ("--catalog", "--format", "--out", "--time-limit", "--gap", "--scenario", "--current"):
        assert option in readme


def test_readme_output_is_the_real_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text()
    pasted = readme.split("The first command prints (the head of it):\n\n```\n", 1)[1].split("```", 1)[0]
    code, out, _ = run("plan", "examples/enterprise.yaml")
    assert code == 0 and out.startswith(pasted)
