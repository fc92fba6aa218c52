"""Property-based tests (Hypothesis) on random small portfolios and catalogs."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement.engine.planner import make_plan
from placement.engine.verify import verify
from placement.errors import InfeasibleError
from placement.inputs.models import Catalog, Portfolio
from placement.render.report import plan_dict
from tests.conftest import inference, make_catalog, make_portfolio, option, training

PROPERTY = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

options_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "family": st.sampled_from(["gpu", "trainium", "inferentia"]),
            "usd_per_hour": st.sampled_from([1.0, 3.0, 7.5, 12.0, 40.0]),
            "bf16_tflops": st.sampled_from([20.0, 100.0, 400.0]),
            "hbm_tb_per_s": st.sampled_from([0.3, 1.0, 3.0]),
            "hbm_gib": st.sampled_from([16.0, 80.0, 192.0]),
            "capacity_instances": st.integers(0, 6),
            "chips": st.sampled_from([1, 4, 8]),
        }
    ),
    min_size=1,
    max_size=4,
)
workloads_strategy = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "kind": st.just("training"),
                "params": st.sampled_from([0.5, 3.0, 20.0]),
                "tokens": st.sampled_from([1e9, 2e10, 3e11]),
                "deadline": st.sampled_from([None, 1.0, 7.0]),
                "codebase": st.sampled_from(["a", "b"]),
                "framework": st.sampled_from(["pytorch", "jax", "tensorflow"]),
            }
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("inference"),
                "params": st.sampled_from([0.5, 3.0, 20.0]),
                "tokens": st.sampled_from([1e8, 5e9, 8e10]),
                "latency": st.sampled_from([None, 20.0, 200.0]),
                "codebase": st.sampled_from(["a", "b"]),
                "framework": st.sampled_from(["pytorch", "jax", "tensorflow"]),
            }
        ),
    ),
    min_size=1,
    max_size=3,
)


def build(
    options: list[dict[str, Any]], workloads: list[dict[str, Any]], share: float | None
) -> tuple[Portfolio, Catalog]:
    catalog = make_catalog(
        [option(f"o{i}", **spec) for i, spec in enumerate(options)],
        weeks={"tensorflow": {"inferentia": "not supported"}, "pytorch": {"trainium": 3, "inferentia": 2}},
    )
    items = []
    for i, w in enumerate(workloads):
        common = {"model": {"params_b": w["params"]}, "codebase": w["codebase"], "framework": w["framework"]}
        if w["kind"] == "training":
            extra = {"deadline_days": w["deadline"]} if w["deadline"] else {}
            items.append(training(f"w{i}", tokens=w["tokens"], **common, **extra))
        else:
            extra = {"max_ms_per_token": w["latency"]} if w["latency"] else {}
            items.append(inference(f"w{i}", tokens_per_month=w["tokens"], **common, **extra))
    policy = {"policy": {"max_family_share": share}} if share else {}
    return make_portfolio(items, horizon_months=1, **policy), catalog


def total(portfolio: Portfolio, catalog: Catalog) -> float | None:
    try:
        return make_plan(portfolio, catalog, "p").total_usd
    except InfeasibleError:
        return None


def _changed(catalog: Catalog, index: int, **update: Any) -> Catalog:
    data = catalog.model_dump()
    data["options"][index].update(update)
    return Catalog.model_validate(data)


@PROPERTY
@given(options_strategy, workloads_strategy, st.sampled_from([None, 0.6, 0.9]))
def test_every_run_ends_verified_or_explained(options: Any, workloads: Any, share: float | None) -> None:
    portfolio, catalog = build(options, workloads, share)
    try:
        plan = make_plan(portfolio, catalog, "p")
    except InfeasibleError as exc:
        assert exc.headline.startswith("no plan:") and exc.reasons
        return
    assert verify(plan_dict(plan), portfolio, catalog) == []


@PROPERTY
@given(options_strategy, workloads_strategy, st.data())
def test_more_capacity_never_costs_more(options: Any, workloads: Any, data: st.DataObject) -> None:
    portfolio, catalog = build(options, workloads, None)
    index = data.draw(st.integers(0, len(options) - 1))
    before = total(portfolio, catalog)
    after = total(
        portfolio, _changed(catalog, index, capacity_instances=options[index]["capacity_instances"] + 3)
    )
    if before is not None:
        assert after is not None and after <= before * (1 + 1e-6) + 1e-6


@PROPERTY
@given(options_strategy, workloads_strategy, st.data())
def test_a_higher_price_never_costs_less(options: Any, workloads: Any, data: st.DataObject) -> None:
    portfolio, catalog = build(options, workloads, None)
    index = data.draw(st.integers(0, len(options) - 1))
    before = total(portfolio, catalog)
    after = total(portfolio, _changed(catalog, index, usd_per_hour=options[index]["usd_per_hour"] * 1.7))
    if before is not None and after is not None:
        assert after >= before * (1 - 1e-6) - 1e-6
    if before is None:
        assert after is None  # a price does not change what is feasible


@PROPERTY
@given(options_strategy, workloads_strategy, st.data())
def test_removing_an_option_never_costs_less(options: Any, workloads: Any, data: st.DataObject) -> None:
    if len(options) < 2:
        return
    portfolio, catalog = build(options, workloads, None)
    index = data.draw(st.integers(0, len(options) - 1))
    fewer = Catalog.model_validate(
        {
            **catalog.model_dump(),
            "options": [o.model_dump() for i, o in enumerate(catalog.options) if i != index],
        }
    )
    before, after = total(portfolio, catalog), total(portfolio, fewer)
    if before is None:
        assert after is None
    elif after is not None:
        assert after >= before * (1 - 1e-6) - 1e-6


def test_strategies_reach_feasible_and_infeasible_cases() -> None:
    """Guard: the property tests above are not vacuous."""
    outcomes = {"plan": 0, "none": 0}

    @PROPERTY
    @given(options_strategy, workloads_strategy)
    def probe(options: Any, workloads: Any) -> None:
        outcomes["plan" if total(*build(options, workloads, None)) is not None else "none"] += 1

    probe()
    assert outcomes["plan"] >= 5 and outcomes["none"] >= 5, outcomes
