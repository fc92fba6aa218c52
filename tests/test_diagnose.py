"""Why there is no plan (engine/diagnose.py): the cause named, not its consequences."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from placement.engine import diagnose
from placement.engine.costing import estimates
from placement.engine.formulation import build
from placement.engine.optimizer import SolveSettings, feasible_pairs, solve
from placement.engine.planner import make_plan
from placement.engine.start import greedy_start
from placement.errors import InfeasibleError, SolverError
from placement.inputs.models import Catalog, Portfolio
from tests.conftest import inference, make_catalog, make_portfolio, option

NEAR_ONE_INSTANCE = 1990 * 730 * 3600  # 0.995 of an instance of G or T a month (2,000 tokens/s each)


def _capped() -> tuple[Portfolio, Catalog]:
    catalog = make_catalog([option("G"), option("T", family="trainium", capacity_instances=1)])
    portfolio = make_portfolio(
        [
            inference("gpu-only", tokens_per_month=3 * NEAR_ONE_INSTANCE, portability="gpu-only"),
            inference("flex", tokens_per_month=2 * NEAR_ONE_INSTANCE),
        ],
        horizon_months=1,
        purchase={"allow": ["on-demand"]},
        policy={"max_family_share": 0.5},
    )
    return portfolio, catalog


def test_a_policy_that_cannot_hold_is_not_blamed_on_the_capacity_it_pushes_work_into() -> None:
    """G (gpu) and T (trainium, 1 instance), $10/h each, one month on demand.  gpu-only needs 2.985
    G instances ($21,791 of traffic spend); flex needs 1.99 on either ($14,527).  At most half on
    one family cannot hold: gpu-only alone is 60% of the spend even with all of flex on T.  The
    elastic plan holds the cap as far as it can, putting all of flex on T, one instance over its
    capacity; the diagnosis used to name that shortfall as a cause of its own.  Without the policy
    flex fits on G, so the policy is the only reason given."""
    portfolio, catalog = _capped()
    with pytest.raises(InfeasibleError) as caught:
        make_plan(portfolio, catalog, "p")
    assert caught.value.reasons == [
        "policy max_family_share 0.5 cannot hold: gpu carries at least 60.0% of compute spend; "
        "workloads that can only run on gpu: gpu-only"
    ]


def test_a_diagnosis_with_no_time_to_name_the_conflict_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan is proven impossible, but the elastic model that names the rows in conflict finds
    no arrangement in the time limit (a 200-workload portfolio with a time axis, 30 s): the command
    used to end with "the solver stopped (time limit) before finding any plan; raise --time-limit",
    as if more time would give a plan.  It now says there is none, and what more time would tell."""

    def stopped(*_: object) -> None:
        raise SolverError("the solver stopped (time limit) before finding any plan; raise --time-limit")

    monkeypatch.setattr(diagnose, "solve", stopped)
    portfolio, catalog = _capped()
    with pytest.raises(InfeasibleError) as caught:
        make_plan(portfolio, catalog, "p", SolveSettings(time_limit_s=7))
    assert caught.value.headline == "no plan: the workloads each fit somewhere, but not all at once"
    assert caught.value.reasons == [
        "the solver found no arrangement that names the options, windows or policy that conflict "
        "within --time-limit 7 s; raise it to see them"
    ]


def test_the_elastic_model_starts_from_the_greedy_plan_with_its_slacks_filled() -> None:
    """The diagnosis's elastic model gets a first plan: each workload on its cheapest option as if
    capacity were endless, and each slack at what that plan breaks its row by (a 200-workload
    portfolio with a time axis found no arrangement in 30 s without one).  G holds 4: gpu-only's 3
    and flex's 2 (G and T cost the same; G comes first) are 1 over.  All the traffic spend is on
    gpu, $21,790.50 + $14,527.00 = $36,317.50; the cap allows half, so the share row is
    $18,158.75 over, in the model's $10,000s 1.815875."""
    portfolio, _ = _capped()
    catalog = make_catalog(
        [option("G", capacity_instances=4), option("T", family="trainium", capacity_instances=1)]
    )
    model = build(
        portfolio, catalog, feasible_pairs(portfolio, estimates(portfolio, catalog), catalog), elastic=True
    )
    values = greedy_start(model)
    assert values is not None
    assert {k: values.get(v.name, 0.0) for k, v in model.capacity_slack.items()} == {
        ("G", 1): 1.0,
        ("T", 1): 0.0,
    }
    assert values[model.share_slack["gpu"].name] == pytest.approx(1.815875, rel=1e-6)
    assert values.get(model.share_slack["trainium"].name, 0.0) == 0.0
    cost = sum(c * values.get(v.name, 0.0) for v, c in model.problem.objective.items())
    assert solve(model, SolveSettings()).objective <= cost


def test_reasons_from_a_time_limited_elastic_plan_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same reason, from an elastic plan that stopped on the time limit: its figures are the
    best found, not proven the least, and the diagnosis says so."""

    def stopped(*args: object) -> Any:
        return dataclasses.replace(solve(*args), status="time_limit")  # type: ignore[arg-type]

    monkeypatch.setattr(diagnose, "solve", stopped)
    portfolio, catalog = _capped()
    with pytest.raises(InfeasibleError) as caught:
        make_plan(portfolio, catalog, "p", SolveSettings(time_limit_s=9))
    assert caught.value.reasons == [
        "policy max_family_share 0.5 cannot hold: gpu carries at least 60.0% of compute spend; "
        "workloads that can only run on gpu: gpu-only",
        "(these come from the least-short arrangement found within --time-limit 9 s, not proven the least; "
        "raise it for exact figures)",
    ]
