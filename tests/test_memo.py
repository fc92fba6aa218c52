"""The procurement memo: golden Markdown, the chart beside it, and no chart without matplotlib."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from placement.analyses.sensitivity import price_of_portability, vendor_claims
from placement.cli import app
from placement.engine.optimizer import SolveSettings
from placement.inputs.models import Catalog, Portfolio
from placement.render.memo import MemoInputs, render_memo
from tests.conftest import ROOT

QUESTIONS = [
    "## 1. Which workloads must run on GPUs",
    "## 2. Can our models and frameworks use AWS Neuron",
    "## 3. How much reserved capacity",
    "## 4. What is the expected cost per token",
    "## 5. How portable must our AI stack stay",
    "## 6. What happens if Trainium capacity is unavailable",
]


def test_memo_answers_the_six_questions_in_order(
    update_golden: bool, enterprise_stress: tuple[Portfolio, Catalog, Any, tuple[Any, ...]]
) -> None:
    # the plan and its shocks as `placement memo` makes them (shocks_for on the base plan, here made
    # by stress(), the same make_plan with the same inputs), shared with tests/test_scenarios.py
    portfolio, catalog, base, results = enterprise_stress
    text = render_memo(
        MemoInputs(
            portfolio,
            catalog,
            "enterprise",
            base.plan,
            results,
            tuple(price_of_portability(portfolio, catalog, SolveSettings())),
            tuple(vendor_claims(catalog)),
            None,
        )
    )
    positions = [text.index(q) for q in QUESTIONS]
    assert positions == sorted(positions)
    assert "## Before you sign" in text and "[^tsaol-prices]:" in text and "![" not in text
    golden = ROOT / "tests" / "golden" / "memo-enterprise.md"
    if update_golden:
        golden.write_text(text)
    assert text == golden.read_text()


@pytest.mark.usefixtures("memo_analyses_once")
def test_memo_cli_writes_the_chart_beside_it(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "memo.md"
    result = CliRunner().invoke(
        app, ["memo", str(ROOT / "examples" / "startup.yaml"), "--samples", "0", "--out", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "memo.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "![Compute spend by family, base and each shock](memo.png)" in out.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memo.md", "memo.png"]


@pytest.mark.usefixtures("memo_analyses_once")
def test_memo_without_matplotlib_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    out = tmp_path / "memo.md"
    result = CliRunner().invoke(
        app, ["memo", str(ROOT / "examples" / "startup.yaml"), "--samples", "0", "--out", str(out)]
    )
    assert result.exit_code == 0
    assert result.stderr == "placement: no chart: install the 'chart' extra (matplotlib) to draw one\n"
    assert "![" not in out.read_text() and not (tmp_path / "memo.png").exists()
    for question in QUESTIONS:
        assert question in out.read_text()
