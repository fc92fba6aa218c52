"""The same input gives byte-identical output: across runs, and across solvers that both prove
optimality (HiGHS, which the tool uses, against the CBC 2.10.3 that PuLP 3.3.2 bundles)."""

from __future__ import annotations

import random
from pathlib import Path

import pulp
import pytest

from placement.engine.costing import estimates
from placement.engine.optimizer import build, read_solution
from placement.engine.planner import assemble, make_plan
from placement.errors import InfeasibleError
from placement.inputs.loading import load_catalog, load_portfolio
from placement.inputs.models import Catalog, Portfolio
from placement.render.report import render_json, render_markdown
from tests.conftest import ROOT
from tests.test_optimizer import random_case

pytestmark = pytest.mark.filterwarnings("ignore:PULP_CBC_CMD is deprecated:DeprecationWarning")
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def cbc_plan_markdown(portfolio: Portfolio, catalog: Catalog, name: str) -> tuple[str, str]:
    """(HiGHS Markdown, CBC Markdown) for one input; the CBC plan reuses the HiGHS plan's solver
    line so that only the placement can differ."""
    highs = make_plan(portfolio, catalog, name)
    ests = estimates(portfolio, catalog)
    model = build(portfolio, catalog, ests)
    model.problem.solve(pulp.PULP_CBC_CMD(msg=False, gapRel=1e-9))
    assert pulp.LpStatus[model.problem.status] == "Optimal"

    solution = read_solution(model, "optimal", 0.0, float(pulp.value(model.problem.objective)))
    cbc = assemble(portfolio, catalog, name, ests, solution, highs.solver)
    return render_markdown(highs), render_markdown(cbc)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_identical_across_solvers(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    catalog = load_catalog(None)
    relative = example.relative_to(ROOT)
    highs, cbc = cbc_plan_markdown(load_portfolio(relative, catalog), catalog, str(relative))
    assert highs == cbc


def test_random_cases_identical_across_solvers() -> None:
    compared = []
    for seed in range(24):
        portfolio, catalog = random_case(random.Random(seed))
        try:
            highs, cbc = cbc_plan_markdown(portfolio, catalog, "case")
        except InfeasibleError:
            continue
        assert highs == cbc, f"seed {seed}"
        compared.append(seed)
    assert len(compared) >= 10


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_same_input_byte_identical_json(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    catalog = load_catalog(None)
    relative = example.relative_to(ROOT)
    first = render_json(make_plan(load_portfolio(relative, catalog), catalog, str(relative)))
    second = render_json(make_plan(load_portfolio(relative, catalog), catalog, str(relative)))
    assert first == second
