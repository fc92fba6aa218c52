"""The time axis's inputs: cross-file checks that need a hand-made catalog (regions, purchase
options, capacity calendars), each with its exact message. The single-file mistakes are in the
bad-input corpus (tests/bad/workloads, tests/bad/catalog: tests/test_hostile_input.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from placement.inputs.loading import load_catalog, load_portfolio
from placement.inputs.models import Catalog, cross_check, last_month
from tests.conftest import EXAMPLES, ROOT, inference, make_catalog, make_portfolio, option, training


def two_regions() -> Catalog:
    """A GPU option in us-east-1 that serves and trains, an Inferentia-like one in eu-west-1 that
    only serves and is sold on demand only, and a block-only GPU in us-east-2."""
    return make_catalog(
        [
            option("gpu.east", region="us-east-1", capacity_block_usd_per_hour=8.0),
            option("inf.eu", family="inferentia", kinds=["inference"], region="eu-west-1"),
            option("gpu.blocks", region="us-east-2", on_demand=False, capacity_block_usd_per_hour=9.0),
        ]
    )


def check(workloads: list[dict[str, Any]], catalog: Catalog | None = None, **top: Any) -> list[str]:
    problems = cross_check(make_portfolio(workloads, **top), catalog or two_regions())
    return [f"{'.'.join(str(p) for p in where)}: {message}" for where, message in problems]


def test_a_region_no_option_is_in_is_named_with_the_nearest() -> None:
    assert check([inference("chat", regions=["us-east-1", "eu-west1"])]) == [
        "workloads.0.regions.1: no option is in region 'eu-west1' (did you mean 'eu-west-1'?); catalog "
        "'test' has options in eu-west-1, us-east-1, us-east-2"
    ]


def test_a_pin_to_regions_where_nothing_runs_the_kind() -> None:
    assert check([training("pretrain", regions=["eu-west-1"])]) == [
        "workloads.0.regions: no option in eu-west-1 runs training in catalog 'test'; add a region or "
        "remove the pin"
    ]
    assert check([inference("chat", regions=["eu-west-1"])]) == []


def test_a_spend_cap_for_an_unknown_region() -> None:
    policy = {"max_region_usd": {"us-east-1": 1e6, "us-est-2": 5e5}}
    assert check([inference("chat")], policy=policy) == [
        "policy.max_region_usd.us-est-2: no option is in region 'us-est-2' (did you mean 'us-east-2'?); "
        "catalog 'test' has options in eu-west-1, us-east-1, us-east-2"
    ]


def test_purchase_options_that_leave_a_workload_nothing_to_buy() -> None:
    # eu-west-1's option is sold on demand only; us-east-2's only as Capacity Blocks
    pinned = [inference("eu-chat", regions=["eu-west-1"]), training("blocks", regions=["us-east-2"])]
    assert check(pinned, purchase={"allow": ["on-demand"]}) == [
        "purchase.allow: allows on-demand, and no option that can run 'blocks' is sold that way; their "
        "options are sold as capacity-block: allow one of those"
    ]
    assert check(pinned, purchase={"allow": ["1-year", "3-year"]}) == [
        "purchase.allow: allows 1-year, 3-year, and no option that can run 'eu-chat', 'blocks' is sold "
        "that way; their options are sold as on-demand, capacity-block: allow one of those"
    ]
    assert check(pinned, purchase={"allow": ["on-demand", "capacity-block"]}) == []


def test_a_calendar_month_past_the_horizon_is_unused_not_an_error() -> None:
    calendar = {"13": 40, "2": 10, "30": 0}  # keys as YAML and JSON give them: text
    catalog = make_catalog(
        [
            option(
                "gpu",
                capacity_instances=0,
                capacity_by_month=calendar,
                estimates={"capacity_by_month": "ramp"},
            )
        ]
    )
    gpu = catalog.option("gpu")
    assert gpu.capacity_by_month == {13: 40, 2: 10, 30: 0}
    assert [gpu.capacity_in(m) for m in (1, 2, 12, 13, 29, 30)] == [0, 10, 10, 40, 40, 0]
    assert check([inference("chat")], catalog, horizon_months=6) == []


def test_the_horizon_s_last_month_counts_a_part_month() -> None:
    assert [last_month(make_portfolio([inference("a")], horizon_months=h)) for h in (1, 12, 12.5, 0.5)] == [
        1,
        12,
        13,
        1,
    ]
    assert check([training("t", latest_month=13)], horizon_months=12.5) == []


def test_an_order_waits_for_the_month_after_the_longest_chain() -> None:
    # a may start in month 2; b after a: month 3; c after a and b: month 4 — which its latest_month 3 refuses
    workloads = [
        training("a", earliest_month=2),
        training("b", after=["a"]),
        training("c", after=["a", "b"], latest_month=3),
    ]
    assert check(workloads) == [
        "workloads.2.latest_month: month 3 leaves this workload no month: it runs after 'b', which cannot "
        "start before month 3, so it cannot start before month 4; give a later latest_month or earlier "
        "windows to the workloads before it"
    ]
    workloads[2]["latest_month"] = 4
    assert check(workloads) == []


def test_two_separate_cycles_are_each_named_once() -> None:
    workloads = [
        training("a", after=["b"]),
        training("b", after=["a"]),
        training("c", after=["d"]),
        training("d", after=["c", "a"]),
    ]
    assert check(workloads) == [
        "workloads.0.after.0: the after entries go round in a circle: 'a' → 'b' → 'a' (each waits for the "
        "next), so none of them can ever start; remove one of these entries",
        "workloads.2.after.0: the after entries go round in a circle: 'c' → 'd' → 'c' (each waits for the "
        "next), so none of them can ever start; remove one of these entries",
    ]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_loads_with_its_time_axis(example: Path) -> None:
    portfolio = load_portfolio(example, load_catalog(None))
    assert cross_check(portfolio, load_catalog(None)) == []


def test_the_examples_use_the_time_axis() -> None:
    catalog = load_catalog(None)
    loaded = {p.stem: load_portfolio(p, catalog) for p in EXAMPLES}
    workloads = [w for p in loaded.values() for w in p.workloads]
    assert any(w.start_month and w.start_month > 1 for w in workloads)  # a launch later in the year
    assert any(w.growth_per_month for w in workloads)
    assert any(w.monthly_tokens for w in workloads)
    assert any(w.earliest_month or w.latest_month for w in workloads)  # run windows
    assert any(w.after for w in workloads)  # a fine-tune after its pre-train
    assert any(p.porting.engineers for p in loaded.values())


def test_the_waiting_example_loads_with_its_what_if_catalog() -> None:
    catalog = load_catalog(ROOT / "examples" / "catalogs" / "trn3-ramp.yaml")
    portfolio = load_portfolio(ROOT / "examples" / "waits-for-capacity.yaml", catalog)
    ramp = [o for o in catalog.options if o.capacity_by_month]
    assert ramp and all(o.is_estimate("capacity_by_month") for o in ramp)
    # the calendar opens inside the horizon, after month 1: the plan has something to wait for
    assert all(o.capacity_in(1) == 0 and o.capacity_in(last_month(portfolio)) > 0 for o in ramp)
