"""Sampled futures (analyses/futures.py): distributions, correlation groups, and what a draw changes."""

from __future__ import annotations

import dataclasses
import math
import random
from pathlib import Path
from statistics import fmean

import pytest

from placement.analyses.fanout import task_rng
from placement.analyses.futures import (
    UncertainInput,
    draw,
    future,
    likely,
    quantile,
    uncertain_inputs,
)
from placement.inputs.loading import load_portfolio
from placement.inputs.models import Catalog, Portfolio
from tests.conftest import ROOT

TRN2 = "trn2.48xlarge@us-east-2"
TRN3 = "trn3-ultraserver-gen1"


def _portfolio(catalog: Catalog, uncertainty: dict[str, object] | None = None) -> Portfolio:
    data: dict[str, object] = {
        "horizon_months": 12,
        "workloads": [
            {
                "name": "chat",
                "kind": "inference",
                "framework": "pytorch",
                "model": {"params_b": 8},
                "tokens_per_month": "6B",
            },
            {
                "name": "rerank",
                "kind": "inference",
                "framework": "pytorch",
                "model": {"params_b": 0.6},
                "monthly_tokens": ["400M", "500M", "600M"],
            },
            {
                "name": "pretrain",
                "kind": "training",
                "framework": "jax",
                "model": {"params_b": 8},
                "tokens": "100B",
            },
        ],
    }
    if uncertainty is not None:
        data["uncertainty"] = uncertainty
    return Portfolio.model_validate(data)


def _item(low: float, mode: float, high: float, distribution: str = "triangular") -> UncertainInput:
    return UncertainInput("x", "demand", low, mode, high, distribution, "test", False)


# --------------------------------------------------------------------------- distributions


@pytest.mark.parametrize(
    "low,mode,high", [(0.8, 1.0, 1.3), (0.8, 1.0, 2.0), (143.04, 193.0, 250.9), (0, 0, 1)]
)
def test_triangular_draws_stay_in_bounds_and_average_a_third_of_the_corners(
    low: float, mode: float, high: float
) -> None:
    item = _item(low, mode, high)
    rng = random.Random(7)
    values = [draw([item], rng)["x"] for _ in range(20_000)]
    assert low <= min(values) and max(values) <= high
    # the mean of a triangular distribution is (a + b + c) / 3: (0.8 + 1.0 + 2.0) / 3 = 1.2667
    assert fmean(values) == pytest.approx((low + mode + high) / 3, rel=0.01, abs=0.005)
    # the mode: the share of draws below it is (mode − low) / (high − low)
    below = sum(v < mode for v in values) / len(values)
    assert below == pytest.approx((mode - low) / (high - low), abs=0.015)


def test_triangular_quantiles_by_hand() -> None:
    item = _item(0.8, 1.0, 2.0)
    # F(mode) = (1.0 − 0.8) / (2.0 − 0.8) = 1/6: the 1/6 quantile is the mode
    assert quantile(item, 1 / 6) == pytest.approx(1.0)
    # below the mode: low + sqrt(u · 1.2 · 0.2); u = 0.06 → 0.8 + sqrt(0.0144) = 0.92
    assert quantile(item, 0.06) == pytest.approx(0.92)
    # above: high − sqrt((1 − u) · 1.2 · 1.0); u = 0.7 → 2.0 − sqrt(0.36) = 1.4
    assert quantile(item, 0.7) == pytest.approx(1.4)
    assert quantile(item, 0.0) == 0.8


def test_uniform_draws_average_the_midpoint() -> None:
    item = _item(0.5, 1.0, 2.0, "uniform")
    rng = random.Random(11)
    values = [draw([item], rng)["x"] for _ in range(20_000)]
    assert 0.5 <= min(values) and max(values) <= 2.0
    assert fmean(values) == pytest.approx(1.25, rel=0.01)
    assert sum(v < 1.0 for v in values) / len(values) == pytest.approx(1 / 3, abs=0.015)


def test_discrete_outcomes_come_up_as_often_as_their_probabilities() -> None:
    item = UncertainInput(
        "capacity: t", "capacity", 0, 8, 8, "discrete", "test", False, ((0.5, 8.0), (0.25, 4.0), (0.25, 0.0))
    )
    rng = random.Random(3)
    values = [draw([item], rng)["capacity: t"] for _ in range(20_000)]
    assert set(values) == {0.0, 4.0, 8.0}
    for value, probability in ((8.0, 0.5), (4.0, 0.25), (0.0, 0.25)):
        assert values.count(value) / len(values) == pytest.approx(probability, abs=0.015)
    # the cumulative cut points: [0, 0.5) → 8, [0.5, 0.75) → 4, [0.75, 1) → 0
    assert (quantile(item, 0.49), quantile(item, 0.5), quantile(item, 0.74), quantile(item, 0.75)) == (
        8,
        4,
        4,
        0,
    )


def test_a_degenerate_range_draws_its_one_value() -> None:
    item = _item(1.3, 1.3, 1.3)
    rng = random.Random(5)
    assert {draw([item], rng)["x"] for _ in range(100)} == {1.3}


def test_a_draw_takes_one_random_number_per_input_in_order(catalog: Catalog) -> None:
    inputs = uncertain_inputs(_portfolio(catalog), catalog)
    rng, twin = task_rng(42, 3), task_rng(42, 3)
    first = draw(inputs, rng)
    us = [twin.random() for _ in inputs]
    assert first == {item.name: quantile(item, u) for item, u in zip(inputs, us, strict=True)}
    assert rng.random() == twin.random()  # the same state after the draw
    assert draw(inputs, task_rng(42, 3)) == first  # same seed and index: same future
    assert draw(inputs, task_rng(42, 4)) != first


# --------------------------------------------------------------------------- the inputs


def test_the_shipped_catalog_and_defaults_give_these_inputs(catalog: Catalog) -> None:
    inputs = {i.name: i for i in uncertain_inputs(_portfolio(catalog), catalog)}
    demand = inputs["demand"]
    assert (demand.low, demand.likely, demand.high, demand.default) == (0.8, 1.0, 1.3, True)
    ports = inputs["port weeks"]
    assert (ports.low, ports.likely, ports.high, ports.default) == (0.8, 1.0, 2.0, True)
    # efficiencies: one factor for Neuron, one for GPUs, each over its widest spread (±50%)
    assert [n for n in inputs if n.startswith("efficiency")] == ["efficiency: neuron", "efficiency: gpu"]
    assert (inputs["efficiency: neuron"].low, inputs["efficiency: neuron"].high) == (0.5, 1.5)
    # Trn3's estimated price: the catalog's range; the p5 Savings Plan rates: ±10%
    trn3 = inputs[f"usd_per_hour: {TRN3}"]
    assert (trn3.low, trn3.likely, trn3.high, trn3.default) == (143.04, 193.0, 250.9, False)
    p5 = inputs["one_year_usd_per_hour: p5.48xlarge"]
    assert (p5.low, p5.high) == (
        pytest.approx(34.6752 * 0.9, abs=1e-4),
        pytest.approx(34.6752 * 1.1, abs=1e-4),
    )
    # engineer_week_usd is an estimate without a range: the default ±25% of $5,000
    week = inputs["engineer_week_usd"]
    assert (week.low, week.likely, week.high, week.default) == (3750.0, 5000.0, 6250.0, True)
    # capacity: Trn2's chances over the horizon, Trn3's delivery in months 4–6
    assert inputs[f"capacity: {TRN2}"].outcomes == ((0.5, 8.0), (0.25, 4.0), (0.25, 0.0))
    trn3_capacity = inputs[f"capacity: {TRN3} M4–M6"]
    assert (trn3_capacity.likely, trn3_capacity.outcomes) == (2.0, ((0.6, 2.0), (0.4, 0.0)))
    assert (demand.unit, trn3.unit, week.unit, trn3_capacity.unit) == (
        "factor",
        "USD/h",
        "USD/week",
        "instances",
    )
    # a price that is sourced, without a range, is not uncertain
    assert "usd_per_hour: p5.48xlarge" not in inputs


def test_inputs_come_in_a_stable_order(catalog: Catalog) -> None:
    names = [i.name for i in uncertain_inputs(_portfolio(catalog), catalog)]
    assert names == [i.name for i in uncertain_inputs(_portfolio(catalog), catalog)]
    kinds = [i.kind for i in uncertain_inputs(_portfolio(catalog), catalog)]
    order = ["demand", "efficiency", "price", "engineer-week", "port-weeks", "capacity"]
    assert kinds == sorted(kinds, key=order.index)


def test_demand_per_workload_and_its_overrides(catalog: Catalog) -> None:
    block = {
        "demand": {"low": 0.7, "high": 1.5, "together": "workload"},
        "workloads": {"pretrain": {"low": 0.5, "high": 2}},
    }
    inputs = {i.name: i for i in uncertain_inputs(_portfolio(catalog, block), catalog)}
    assert [n for n in inputs if n.startswith("demand")] == [
        "demand: chat",
        "demand: rerank",
        "demand: pretrain",
    ]
    assert (inputs["demand: chat"].low, inputs["demand: chat"].default) == (0.7, False)
    assert (inputs["demand: pretrain"].low, inputs["demand: pretrain"].high) == (0.5, 2.0)


@pytest.mark.parametrize(
    "together,names",
    [
        ("neuron", ["efficiency: neuron", "efficiency: gpu"]),
        ("family", ["efficiency: trainium", "efficiency: inferentia", "efficiency: gpu"]),
    ],
)
def test_efficiency_groups(catalog: Catalog, together: str, names: list[str]) -> None:
    inputs = uncertain_inputs(_portfolio(catalog, {"efficiency": {"together": together}}), catalog)
    assert [i.name for i in inputs if i.kind == "efficiency"] == names


def test_efficiency_per_option_takes_each_options_own_spread(catalog: Catalog) -> None:
    inputs = {
        i.name: i
        for i in uncertain_inputs(_portfolio(catalog, {"efficiency": {"together": "option"}}), catalog)
    }
    assert len([i for i in inputs.values() if i.kind == "efficiency"]) == len(catalog.options)
    # p5.48xlarge (H100, group hopper): serving median error 10.05% → ±34.31%; training 5.01% → ±17.11%
    assert inputs["efficiency: p5.48xlarge"].high == pytest.approx(1.3431)


# --------------------------------------------------------------------------- futures


def test_the_likely_future_is_the_original(catalog: Catalog) -> None:
    portfolio = load_portfolio(ROOT / "examples" / "enterprise.yaml", catalog)
    inputs = uncertain_inputs(portfolio, catalog)
    assert all(i.likely == _nominal(i, catalog) for i in inputs)
    p, c = future(portfolio, catalog, likely(inputs))
    assert (p, c) == (portfolio, catalog)


def _nominal(item: UncertainInput, catalog: Catalog) -> float:
    if item.kind == "price":
        field, option = item.name.split(": ")
        return float(getattr(catalog.option(option), field))
    if item.kind == "engineer-week":
        return catalog.migration.engineer_week_usd
    if item.kind == "capacity":
        return item.likely  # checked by the futures themselves
    return 1.0


def test_degenerate_distributions_give_exactly_the_original_models(catalog: Catalog) -> None:
    portfolio = _portfolio(catalog, {"demand": {"low": 1, "high": 1}, "port_weeks": {"low": 1, "high": 1}})
    inputs = [
        dataclasses.replace(i, low=i.likely, high=i.likely, outcomes=((1.0, i.likely),) if i.outcomes else ())
        for i in uncertain_inputs(portfolio, catalog)
    ]
    for seed in range(5):
        values = draw(inputs, task_rng(seed, 0))
        assert values == likely(inputs)
        assert future(portfolio, catalog, values) == (portfolio, catalog)


def test_every_sampled_future_is_a_valid_model(catalog: Catalog) -> None:
    portfolio = load_portfolio(ROOT / "examples" / "enterprise.yaml", catalog)
    inputs = uncertain_inputs(portfolio, catalog)
    for index in range(10):
        p, c = future(portfolio, catalog, draw(inputs, task_rng(1, index)))
        assert Portfolio.model_validate(p.model_dump()) == p
        assert Catalog.model_validate(c.model_dump()) == c


def test_neuron_efficiencies_move_together_and_gpus_apart(catalog: Catalog) -> None:
    portfolio = _portfolio(catalog)
    _, c = future(portfolio, catalog, {"efficiency: neuron": 1.2, "efficiency: gpu": 0.9})

    def ratio(option: str, field: str) -> float:
        return float(getattr(c.option(option), field) / getattr(catalog.option(option), field))

    # Neuron options at the group's widest spread (±50%) move by the whole factor, 1.2
    assert ratio("trn1.32xlarge", "prefill_mfu") == pytest.approx(1.2)
    assert ratio("inf2.xlarge", "bandwidth_efficiency") == pytest.approx(1.2)
    assert ratio(TRN3, "training_mfu") == pytest.approx(1.2)
    # Trn2's serving spread is ±28.37%: it moves 0.2837 / 0.5 of the way, 1 + 0.2 × 0.5674 = 1.1135
    assert ratio(TRN2, "prefill_mfu") == pytest.approx(1 + 0.2 * 0.2837 / 0.5)
    # GPUs take their own factor: an H100 serving at ±34.31% → 1 − 0.1 × 0.6862 = 0.9314
    assert ratio("p5.48xlarge", "prefill_mfu") == pytest.approx(1 - 0.1 * 0.3431 / 0.5)
    assert ratio("g6.xlarge", "bandwidth_efficiency") == pytest.approx(0.9)
    # in one draw, every option of a group moves in the same direction
    values = draw(uncertain_inputs(portfolio, catalog), task_rng(9, 0))
    _, drawn = future(portfolio, catalog, values)
    neuron = {
        math.copysign(1, drawn.option(o.id).prefill_mfu - o.prefill_mfu)
        for o in catalog.options
        if o.family != "gpu"
    }
    assert len(neuron) == 1


def test_efficiency_is_kept_at_most_one(catalog: Catalog) -> None:
    _, c = future(_portfolio(catalog), catalog, {"efficiency: neuron": 1.5})
    # Trn2's bandwidth_efficiency 0.6895 × (1 + 0.5 × 0.5674) = 0.885: below 1; trn1's 0.4023 × 1.5 = 0.603
    assert c.option(TRN2).bandwidth_efficiency == pytest.approx(0.6895 * (1 + 0.5 * 0.2837 / 0.5))
    # a factor past the range (a caller's probe): trn1's 0.4023 × 3 = 1.21 is kept at 1
    _, c = future(_portfolio(catalog), catalog, {"efficiency: neuron": 3.0})
    assert c.option("trn1.32xlarge").bandwidth_efficiency == 1.0
    assert Catalog.model_validate(c.model_dump()) == c


def test_demand_scales_the_level_and_the_monthly_series(catalog: Catalog) -> None:
    portfolio = _portfolio(catalog, {"workloads": {"pretrain": {"low": 0.5, "high": 2}}})
    p, _ = future(portfolio, catalog, {"demand": 1.25, "demand: pretrain": 2.0})
    chat, rerank, pretrain = p.workloads
    assert chat.tokens_per_month == pytest.approx(7.5e9)  # 6B × 1.25
    assert rerank.monthly_tokens == pytest.approx((5e8, 6.25e8, 7.5e8))  # 400M, 500M, 600M × 1.25
    assert rerank.tokens_per_month == pytest.approx(7.5e8)
    assert pretrain.tokens == pytest.approx(2e11)  # 100B × 2
    assert p.workloads[0].name == "chat" and p.uncertainty == portfolio.uncertainty


def test_training_keeps_its_tokens_under_the_portfolio_demand(catalog: Catalog) -> None:
    p, _ = future(_portfolio(catalog), catalog, {"demand": 1.3})
    assert p.workloads[2].tokens == 1e11


def test_a_price_scales_the_options_other_prices_in_proportion(catalog: Catalog) -> None:
    # trn2 in us-east-2 is sold in blocks only: its reference price and block price are one rate
    _, c = future(_portfolio(catalog), catalog, {f"usd_per_hour: {TRN2}": 41.1249})
    trn2 = c.option(TRN2)
    assert trn2.usd_per_hour == 41.1249
    assert trn2.capacity_block_usd_per_hour == pytest.approx(35.7608 * 41.1249 / 35.7608)
    assert trn2.estimates["usd_per_hour"].startswith("sampled future")
    # p5: the 1-year rate has its own input; on-demand and the block price stay
    _, c = future(_portfolio(catalog), catalog, {"one_year_usd_per_hour: p5.48xlarge": 33.0})
    p5, before = c.option("p5.48xlarge"), catalog.option("p5.48xlarge")
    assert (p5.one_year_usd_per_hour, p5.usd_per_hour, p5.three_year_usd_per_hour) == (
        33.0,
        before.usd_per_hour,
        before.three_year_usd_per_hour,
    )


def test_port_weeks_scale_every_port_and_leave_blocked_ones(catalog: Catalog) -> None:
    _, c = future(_portfolio(catalog), catalog, {"port weeks": 1.5, "engineer_week_usd": 6000.0})
    items = c.migration.items
    assert items["pytorch"]["trainium"].weeks == 6.0  # 4 × 1.5
    assert items["custom-cuda-kernels"]["inferentia"].weeks == 12.0  # 8 × 1.5
    assert items["pytorch"]["gpu"].weeks == 0.0
    assert items["tensorflow"]["trainium"] == catalog.migration.items["tensorflow"]["trainium"]  # blocked
    assert c.migration.engineer_week_usd == 6000.0


def test_capacity_in_a_window_goes_back_to_the_calendar_after_it(catalog: Catalog) -> None:
    block = {
        "capacity": [
            {
                "option": TRN2,
                "months": [4, 9],
                "outcomes": [{"probability": 0.6, "instances": 8}, {"probability": 0.4, "instances": 0}],
            }
        ]
    }
    portfolio = _portfolio(catalog, block)
    inputs = {i.name: i for i in uncertain_inputs(portfolio, catalog)}
    # the workload file's entry replaces the catalog's chances for that option
    assert [n for n in inputs if n.startswith("capacity:")] == [
        f"capacity: {TRN3} M4–M6",
        f"capacity: {TRN2} M4–M9",
    ]
    assert inputs[f"capacity: {TRN2} M4–M9"].likely == 8.0
    _, c = future(portfolio, catalog, {f"capacity: {TRN2} M4–M9": 0.0})
    trn2 = c.option(TRN2)
    assert [trn2.capacity_in(m) for m in range(1, 13)] == [8, 8, 8, 0, 0, 0, 0, 0, 0, 8, 8, 8]
    assert c.option(TRN2).estimates["capacity_by_month"].startswith("sampled future")
    # the likely outcome (8) is the catalog's capacity: nothing changes
    assert future(portfolio, catalog, {f"capacity: {TRN2} M4–M9": 8.0})[1] == catalog


def test_trn3_delivery_slips_a_quarter(catalog: Catalog) -> None:
    _, c = future(_portfolio(catalog), catalog, {f"capacity: {TRN3} M4–M6": 0.0})
    assert [c.option(TRN3).capacity_in(m) for m in range(1, 13)] == [0] * 6 + [2] * 6
    _, c = future(_portfolio(catalog), catalog, {f"capacity: {TRN2}": 4.0})
    assert c.option(TRN2).capacity_instances == 4 and all(
        c.option(TRN2).capacity_in(m) == 4 for m in range(1, 13)
    )


def test_an_unknown_input_name_is_refused(catalog: Catalog) -> None:
    with pytest.raises(KeyError, match="demand: nobody"):
        future(_portfolio(catalog), catalog, {"demand: nobody": 1.2})


def test_the_models_are_not_modified(catalog: Catalog) -> None:
    portfolio = _portfolio(catalog)
    before = (portfolio.model_dump(), catalog.model_dump())
    inputs = uncertain_inputs(portfolio, catalog)
    future(portfolio, catalog, draw(inputs, task_rng(0, 0)))
    assert (portfolio.model_dump(), catalog.model_dump()) == before


def test_inputs_of_a_file_with_no_uncertainty_block(catalog: Catalog, tmp_path: Path) -> None:
    portfolio = load_portfolio(ROOT / "examples" / "startup.yaml", catalog)
    assert portfolio.uncertainty is None
    defaults = [i.name for i in uncertain_inputs(portfolio, catalog) if i.default]
    assert defaults[0] == "demand" and "port weeks" in defaults and "engineer_week_usd" in defaults
