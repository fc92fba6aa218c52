"""Solving block by block (engine/decompose.py): the same optimum as the whole model, proven by
brute force; twins share an option's load; plans that do not fit fall back to the whole model."""

from __future__ import annotations

import math
from typing import Any

import pytest

from placement.engine import decompose
from placement.engine.costing import estimates
from placement.engine.formulation import build, port_costs
from placement.engine.optimizer import feasible_pairs, prune
from placement.engine.planner import make_plan
from placement.inputs.models import Catalog, Portfolio
from tests.conftest import inference, make_catalog, make_portfolio, option, training
from tests.test_optimizer import brute_force, solved_case


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> list[decompose.Outcome | None]:
    """Every model solved by blocks, however small, and what each block-by-block solve returned."""
    monkeypatch.setattr(decompose, "MIN_INTEGERS", 0)
    seen: list[decompose.Outcome | None] = []
    real = decompose.solve

    def spy(*args: Any, **kwargs: Any) -> decompose.Outcome | None:
        outcome = real(*args, **kwargs)
        seen.append(outcome)
        return outcome

    monkeypatch.setattr(decompose, "solve", spy)
    return seen


@pytest.mark.parametrize("seed", range(40))
def test_by_blocks_the_optimum_is_the_brute_force_one(seed: int, outcomes: list[Any]) -> None:
    portfolio, catalog, expected = solved_case(seed)
    if math.isinf(expected):
        return
    plan = make_plan(portfolio, catalog, "case")
    assert plan.total_usd == pytest.approx(expected, rel=1e-6, abs=1e-3)
    assert plan.solver.status == "optimal"
    for outcome in outcomes:  # the blocks' bound never passes the optimum
        assert outcome is None or outcome.bound <= expected * (1 + 1e-6) + 1e-3


def test_enough_random_cases_go_by_blocks(outcomes: list[Any]) -> None:
    """Guard the test above: a good share of the cases fall apart, and some of their plans fit."""
    for seed in range(40):
        portfolio, catalog, expected = solved_case(seed)
        if not math.isinf(expected):
            make_plan(portfolio, catalog, "case")
    fitted = [o for o in outcomes if o is not None and o.values is not None]
    assert len(outcomes) >= 8
    assert len(fitted) >= 5


def _two_codebases(twin: bool) -> tuple[Portfolio, Catalog]:
    """Two services in two codebases, each cheapest on `cheap` (3 instances each at most), which
    has room for 3; with `twin`, the same instance type is sold alike in us-east-2."""
    options = [option("cheap", usd_per_hour=5.0, capacity_instances=3), option("dear", usd_per_hour=9.0)]
    if twin:
        options.insert(
            1, option("cheap@us-east-2", usd_per_hour=5.0, capacity_instances=3, region="us-east-2")
        )
    catalog = make_catalog(options)
    services = [
        inference("a", codebase="ca", tokens_per_month=1.2e10),
        inference("b", codebase="cb", tokens_per_month=1.2e10),
    ]
    return make_portfolio(services, horizon_months=1), catalog


def _optimal(twin: bool, outcomes: list[Any]) -> tuple[Any, float, decompose.Outcome]:
    """The two services planned: the plan (checked against brute force), the optimum, and what
    the block-by-block solve returned."""
    portfolio, catalog = _two_codebases(twin)
    expected = brute_force(portfolio, catalog)
    plan = make_plan(portfolio, catalog, "case")
    assert plan.total_usd == pytest.approx(expected, rel=1e-9)
    assert plan.solver.status == "optimal"
    (outcome,) = outcomes
    assert outcome.bound <= expected * (1 + 1e-9)
    return plan, expected, outcome


def test_twins_take_the_load_the_blocks_put_on_one_option(outcomes: list[Any]) -> None:
    plan, _, outcome = _optimal(True, outcomes)
    assert outcome.values is not None  # the blocks' plans fitted once one moved to the twin
    assert {p.option for p in plan.placements} == {"cheap", "cheap@us-east-2"}


def test_a_price_on_the_short_option_makes_the_plans_fit(outcomes: list[Any]) -> None:
    plan, _, outcome = _optimal(False, outcomes)
    assert outcome.values is not None  # priced, one block left `cheap` for `dear`
    assert {p.option for p in plan.placements} == {"cheap", "dear"}


def test_plans_that_never_fit_fall_back_to_the_whole_model(
    outcomes: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decompose, "ROUNDS", 0)
    plan, expected, outcome = _optimal(False, outcomes)
    assert outcome.values is None  # both blocks wanted all of `cheap`
    assert outcome.bound < expected  # each block alone pays less than the two together
    assert {p.option for p in plan.placements} == {"cheap", "dear"}


def test_pruning_never_counts_on_a_scarce_option() -> None:
    """A block whose `cheap` gets a price must keep `dear`, which `cheap` otherwise dominates."""
    catalog = make_catalog([option("cheap", usd_per_hour=5.0), option("dear", usd_per_hour=9.0)])
    portfolio = make_portfolio([inference("a", codebase="ca", tokens_per_month=1.2e10)], horizon_months=1)
    pairs = feasible_pairs(portfolio, estimates(portfolio, catalog), catalog)
    costs = port_costs(portfolio, catalog)
    assert set(prune(portfolio, catalog, pairs, costs)) == {("a", "cheap")}
    assert set(prune(portfolio, catalog, pairs, costs, scarce={"cheap"})) == {("a", "cheap"), ("a", "dear")}


def _model(portfolio: Portfolio, catalog: Catalog) -> Any:
    return build(portfolio, catalog, feasible_pairs(portfolio, estimates(portfolio, catalog), catalog))


def test_runs_in_order_join_their_codebases_and_a_policy_joins_everything(outcomes: list[Any]) -> None:
    catalog = make_catalog([option("g"), option("t", family="trainium")])
    workloads = [
        training("pre", codebase="c1"),
        training("tune", codebase="c2", after=["pre"]),
        inference("serve", codebase="c3"),
    ]
    portfolio = make_portfolio(workloads, horizon_months=3)
    groups = decompose.blocks(portfolio, _model(portfolio, catalog), ())
    assert groups is not None
    assert sorted(sorted(w.name for w in group) for group in groups) == [["pre", "tune"], ["serve"]]
    capped = make_portfolio(workloads, horizon_months=3, policy={"max_family_share": 0.9})
    assert decompose.blocks(capped, _model(capped, catalog), ()) is None
    one = make_portfolio([training("pre", codebase="c1"), training("tune", codebase="c1")], horizon_months=3)
    assert decompose.blocks(one, _model(one, catalog), ()) is None  # one block: nothing to split


def test_small_models_are_solved_whole() -> None:
    portfolio, catalog = _two_codebases(twin=True)
    assert decompose.MIN_INTEGERS > _model(portfolio, catalog).integers
    assert decompose.blocks(portfolio, _model(portfolio, catalog), ()) is None
