"""The independent verifier: every shipped plan holds; every kind of tampering is caught."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from placement.cli import app
from placement.engine.planner import make_plan
from placement.engine.verify import verify
from placement.inputs.loading import load_catalog, load_portfolio
from placement.render.report import plan_dict
from tests.conftest import EXAMPLES, ROOT

ENTERPRISE = ROOT / "examples" / "enterprise.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_saved_plans_verify(example: Path, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert run("plan", str(example), "-f", "json", "--out", str(saved))[0] == 0
    code, out, err = run("verify", str(saved), str(example))
    assert (code, err) == (0, "")
    assert out.startswith(f"{saved}: verified against {example} and catalog aws-us-east-1: ")


@pytest.fixture(scope="module")
def enterprise() -> tuple[dict[str, Any], Any, Any]:
    catalog = load_catalog(None)
    portfolio = load_portfolio(ENTERPRISE, catalog)
    return plan_dict(make_plan(portfolio, catalog, "e")), portfolio, catalog


def _first(data: dict[str, Any], workload: str) -> dict[str, Any]:
    return next(p for p in data["placements"] if p["workload"] == workload)


TAMPERING = {
    "too few instances": (
        lambda d: _first(d, "code-assistant").update(instances=1, compute_usd=60268.8),
        "code-assistant on p5.4xlarge: 1 instances serve less than the 3.8944 its share of peak demand needs",
    ),
    "traffic on no instance": (
        lambda d: _first(d, "hr-assistant").update(instances=0, compute_usd=0.0),
        "hr-assistant on g6.xlarge: serves 100.00% of its traffic with no instance",
    ),
    "wrong cost": (
        lambda d: _first(d, "support-chat").update(compute_usd=1.0),
        "support-chat on p4de.24xlarge: cost 1.00, the formulas give 240,436.16",
    ),
    "placement dropped": (
        lambda d: d["placements"].remove(_first(d, "hr-assistant")),
        "hr-assistant: not placed",
    ),
    "training split": (
        lambda d: d["placements"].append(
            {**_first(d, "vision-train"), "option": "p5.48xlarge", "share": 0.0}
        ),
        "vision-train: a training run is split over 2 options",
    ),
    "forbidden option": (
        lambda d: _first(d, "fraud-scoring").update(option="inf2.xlarge", family="inferentia"),
        "fraud-scoring on inf2.xlarge: not allowed (portability: gpu-only keeps this workload on GPUs)",
    ),
    "migration left out": (
        lambda d: d["migrations"].pop(0),
        "migration of jax-models to trainium is used but not charged (15,000.00)",
    ),
    "migration invented": (
        lambda d: d["migrations"].append(
            {"codebase": "devtools", "family": "trainium", "weeks": 1, "usd": 5000}
        ),
        "migration of devtools to trainium is charged but not used",
    ),
    "total off": (
        lambda d: d.update(total_usd=d["total_usd"] + 100),
        "total_usd: the plan says 2,782,611.06, its parts add up to 2,782,511.07",
    ),
    "capacity exceeded": (
        lambda d: _first(d, "foundation-pretrain").update(instances=9),
        "capacity of trn2.48xlarge: 10 instances placed, 8 available",
    ),
    "shares short": (
        lambda d: _first(d, "code-assistant").update(share=0.5),
        "code-assistant: shares add up to 0.500000, not 1",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_is_caught(case: str, enterprise: tuple[dict[str, Any], Any, Any]) -> None:
    data, portfolio, catalog = enterprise
    assert verify(data, portfolio, catalog) == []
    tampered = json.loads(json.dumps(data))
    change, expected = TAMPERING[case]
    change(tampered)
    assert expected in verify(tampered, portfolio, catalog)


def test_verify_cli_failure_exit_code_and_bad_files(
    tmp_path: Path, enterprise: tuple[dict[str, Any], Any, Any]
) -> None:
    data = json.loads(json.dumps(enterprise[0]))
    data["total_usd"] += 100
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    code, _, err = run("verify", str(bad), str(ENTERPRISE))
    assert code == 1
    assert err.splitlines()[0] == f"placement: {bad}: the plan does not hold (1 problem(s))"
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "schema_version": "1",\n  oops\n}\n')
    code, _, err = run("verify", str(broken), str(ENTERPRISE))
    assert (code, err) == (
        2,
        f"{broken}:3: not valid JSON: Expecting property name enclosed in double quotes\n",
    )
    partial = tmp_path / "partial.json"
    partial.write_text('{"schema_version": "1"}')
    code, _, err = run("verify", str(partial), str(ENTERPRISE))
    assert code == 2 and "missing catalog, total_usd" in err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**enterprise[0], "catalog": "my-quote"}))
    code, _, err = run("verify", str(other), str(ENTERPRISE))
    assert code == 1 and "made with catalog 'my-quote', not 'aws-us-east-1': pass it with --catalog" in err
