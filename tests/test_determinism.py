"""The same input gives byte-identical output across runs; solvers that both prove optimality
(HiGHS, which the tool uses, against the CBC 2.10.3 that PuLP 3.3.2 bundles) agree on every total.

Since the time axis, a plan has many equal-cost alternatives no canonical form removes (the same
instance type sold alike in two regions, a run's hours in one month or the next, a block or a
commitment at the same price), so two solvers may print different (equally cheap) plans; the
tests compare what each costs, to the cent."""

from __future__ import annotations

import random
from pathlib import Path

import pulp
import pytest

from placement.engine.costing import estimates
from placement.engine.optimizer import build, read_solution
from placement.engine.plan import Plan
from placement.engine.planner import assemble, make_plan
from placement.errors import InfeasibleError
from placement.inputs.loading import load_catalog, load_portfolio
from placement.inputs.models import Catalog, Portfolio
from placement.render.report import render_json
from tests.conftest import ROOT
from tests.test_optimizer import random_case

pytestmark = pytest.mark.filterwarnings("ignore:PULP_CBC_CMD is deprecated:DeprecationWarning")
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def cbc_plan_markdown(
    portfolio: Portfolio, catalog: Catalog, name: str
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(HiGHS totals, CBC totals) for one input: compute, migration, total and baseline, to the cent."""
    highs = make_plan(portfolio, catalog, name)
    ests = estimates(portfolio, catalog)
    model = build(portfolio, catalog, ests)
    model.problem.solve(pulp.PULP_CBC_CMD(msg=False, gapRel=1e-9))
    assert pulp.LpStatus[model.problem.status] == "Optimal"

    solution = read_solution(model, "optimal", 0.0, float(pulp.value(model.problem.objective)))
    cbc = assemble(portfolio, catalog, name, ests, model, solution, highs.solver)
    return _totals(highs), _totals(cbc)


def _totals(plan: Plan) -> tuple[float, ...]:
    return (plan.compute_usd, plan.migration_usd, plan.total_usd, plan.baseline.total_usd)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_identical_across_solvers(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    catalog = load_catalog(None)
    relative = example.relative_to(ROOT)
    highs, cbc = cbc_plan_markdown(load_portfolio(relative, catalog), catalog, str(relative))
    assert highs == pytest.approx(cbc, rel=1e-9, abs=0.05)


def test_random_cases_identical_across_solvers() -> None:
    compared = []
    for seed in range(24):
        portfolio, catalog = random_case(random.Random(seed))
        try:
            highs, cbc = cbc_plan_markdown(portfolio, catalog, "case")
        except InfeasibleError:
            continue
        assert highs == pytest.approx(cbc, rel=1e-9, abs=0.05), f"seed {seed}"
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
