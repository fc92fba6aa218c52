"""Improving a plan a few blocks at a time against the capacity the rest leaves
(engine/neighbourhoods.py), the path of a model too large for HiGHS whole: from the dearest
start there is, it reaches the brute-force optimum on every small case, and never leaves a plan
dearer or over capacity."""

from __future__ import annotations

import math
from typing import Any

import pytest

from placement.engine import decompose, neighbourhoods, optimizer
from placement.engine.costing import estimates
from placement.engine.formulation import Model, build
from placement.engine.planner import make_plan
from placement.engine.start import cost, feasible
from placement.engine.start import greedy_start as real_start
from tests.conftest import inference, make_catalog, make_portfolio, option
from tests.test_optimizer import solved_case


def _dearest(
    model: Model, first: dict[str, str] | None = None, regret: bool = False
) -> dict[str, float] | None:
    """A start with each workload on its dearest option where there is room (a block's start too)."""
    dear: dict[str, tuple[float, str]] = {}
    for (wname, oid), est in sorted(model.pairs.items()):
        usd = (
            est.compute_usd
            if est.instances_needed == 0
            else est.usd_per_instance_horizon * est.instances_needed
        )
        if usd > dear.get(wname, (-math.inf, ""))[0]:
            dear[wname] = (usd, oid)
    return real_start(model, {w: o for w, (_, o) in dear.items()}) or real_start(model, first, regret)


@pytest.fixture
def improved(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """Every model that falls apart treated as too large for HiGHS whole, its blocks' plans never
    fitting together, and started from its dearest plan; the (start, result) cost of each
    improvement."""
    monkeypatch.setattr(decompose, "MIN_INTEGERS", 0)
    monkeypatch.setattr(decompose, "_fitted", lambda *args, **kwargs: (None, []))
    monkeypatch.setattr(optimizer, "WHOLE_MAX_INTEGERS", 0)
    monkeypatch.setattr(optimizer, "greedy_start", _dearest)
    seen: list[tuple[float, float]] = []
    real = neighbourhoods.improve

    def spy(model: Model, *args: Any, **kwargs: Any) -> dict[str, float]:
        values = real(model, *args, **kwargs)
        seen.append((cost(model.problem, args[2]), cost(model.problem, values)))
        assert feasible(model, values)
        return values

    monkeypatch.setattr(neighbourhoods, "improve", spy)
    return seen


def test_from_the_dearest_start_the_groups_reach_the_brute_force_optimum(improved: list[Any]) -> None:
    """Groups hold up to MAX_INTEGERS integers: a small case is one group, solved against all the
    capacity, so its optimum is the brute-force one; the dearest start is far from it."""
    for seed in range(40):
        portfolio, catalog, expected = solved_case(seed)
        if math.isinf(expected):
            continue
        seen = len(improved)
        plan = make_plan(portfolio, catalog, "case")  # (checked against every rule on the way)
        assert plan.total_usd == pytest.approx(expected, rel=1e-6, abs=1e-3)
        assert len(improved) <= seen + 1
    assert len(improved) >= 8  # guard: enough cases go this way
    assert sum(start > result * (1 + 1e-6) for start, result in improved) >= 5  # and the groups did work


def test_one_block_at_a_time_never_makes_a_plan_dearer(
    improved: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Groups of one block each (they cannot trade capacity between them): every plan is still
    checked and never dearer than its start, and most cases still reach their optimum."""
    monkeypatch.setattr(neighbourhoods, "MAX_INTEGERS", 0)
    optimal = 0
    for seed in range(40):
        portfolio, catalog, expected = solved_case(seed)
        if math.isinf(expected):
            continue
        plan = make_plan(portfolio, catalog, "case")
        assert plan.total_usd >= expected * (1 - 1e-6) - 1e-3
        optimal += plan.total_usd <= expected * (1 + 1e-6) + 1e-3
    assert all(result <= start * (1 + 1e-9) for start, result in improved)
    assert optimal >= 5


def test_a_group_sees_only_the_capacity_the_other_blocks_leave() -> None:
    """Two services in two codebases; `cheap` has room for 4.  The plan in hand puts 3 of a's
    instances on it and 1 of b's: a group of a alone may use 4 − 1 = 3, one of b alone 4 − 3 = 1,
    and both together all 4; `dear` (room 100) is untouched."""
    catalog = make_catalog(
        [option("cheap", usd_per_hour=5.0, capacity_instances=4), option("dear", usd_per_hour=9.0)]
    )
    services = [
        inference("a", codebase="ca", tokens_per_month=1.2e10),
        inference("b", codebase="cb", tokens_per_month=1.2e10),
    ]
    portfolio = make_portfolio(services, horizon_months=1)
    model = build(
        portfolio, catalog, optimizer.feasible_pairs(portfolio, estimates(portfolio, catalog), catalog)
    )
    values = {model.k[("a", "cheap", 1)].name: 3.0, model.k[("b", "cheap", 1)].name: 1.0}
    state = neighbourhoods._State(model, [[w] for w in portfolio.workloads], values)
    assert state.left([0])["cheap"] == (3,)
    assert state.left([1])["cheap"] == (1,)
    assert state.left([0, 1])["cheap"] == (4,)
    assert state.left([0])["dear"] == (model.capacity["dear"][0],)


def test_under_a_family_share_cap_a_group_counts_the_spend_beside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two services in two codebases, one instance each on any of G (gpu, $5/h), T (trainium,
    $6/h) and N (inferentia, $7/h); no family may carry more than 60% of the spend.  Both on G
    (cheapest) carry 100% in gpu; the optimum is one on G and one on T: $11/h, 45% and 55%.
    From a start on T and N ($13/h), one block at a time: a alone may move to G only because b's
    spend beside it (on N, then T) keeps gpu at 5/12 or 5/11; without it, a group of one block
    is a single family and breaks the cap, and nothing could move."""
    monkeypatch.setattr(decompose, "MIN_INTEGERS", 0)
    monkeypatch.setattr(optimizer, "WHOLE_MAX_INTEGERS", 0)
    monkeypatch.setattr(optimizer, "POLICED_GROUPS_MIN_INTEGERS", 0)
    monkeypatch.setattr(neighbourhoods, "MAX_INTEGERS", 0)

    def start(
        model: Model, first: dict[str, str] | None = None, regret: bool = False
    ) -> dict[str, float] | None:
        if model.share_cap is None:
            return real_start(model, first, regret)
        return real_start(model, {"a": "T", "b": "N"})

    monkeypatch.setattr(optimizer, "greedy_start", start)
    catalog = make_catalog(
        [
            option("G", usd_per_hour=5.0),
            option("T", family="trainium", usd_per_hour=6.0),
            option("N", family="inferentia", usd_per_hour=7.0),
        ]
    )
    services = [
        inference(name, codebase=f"c{name}", tokens_per_month=1000 * 730 * 3600) for name in ("a", "b")
    ]
    portfolio = make_portfolio(services, horizon_months=1, policy={"max_family_share": 0.6})
    plan = make_plan(portfolio, catalog, "case")
    assert sorted(p.option for p in plan.placements) == ["G", "T"]
    assert plan.total_usd == pytest.approx(11 * 730)
    assert max(f.policy_share for f in plan.families) == pytest.approx(6 / 11)
