"""Why there is no plan (engine/diagnose.py): the cause named, not its consequences."""

from __future__ import annotations

import pytest

from placement.engine import diagnose
from placement.engine.optimizer import SolveSettings
from placement.engine.planner import make_plan
from placement.errors import InfeasibleError, SolverError
from placement.inputs.models import Catalog, Portfolio
from tests.conftest import inference, make_catalog, make_portfolio, option

ONE_INSTANCE = 1990 * 730 * 3600  # 0.995 of an instance of G or T a month (2,000 tokens/s each)


def _capped() -> tuple[Portfolio, Catalog]:
    catalog = make_catalog([option("G"), option("T", family="trainium", capacity_instances=1)])
    portfolio = make_portfolio(
        [
            inference("gpu-only", tokens_per_month=3 * ONE_INSTANCE, portability="gpu-only"),
            inference("flex", tokens_per_month=2 * ONE_INSTANCE),
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
