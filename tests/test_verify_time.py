"""The verifier on a time-phased plan (tests/time_plan.py): the hand-made plan holds, and tampering
with any one figure of its periods, runs, ports, purchases or monthly use is caught by name."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from placement.engine.costing import estimate
from placement.engine.verify import verify
from placement.inputs.models import Portfolio
from tests import time_plan
from tests.test_verify import _dotted, _numbers

Data = dict[str, Any]


@pytest.fixture(scope="module")
def case() -> tuple[Data, Any, Any]:
    portfolio, catalog = time_plan.inputs()
    return json.loads(json.dumps(time_plan.plan_json(time_plan.plan()))), portfolio, catalog


def test_the_hand_made_figures_are_the_estimates() -> None:
    portfolio, catalog = time_plan.inputs()
    chat, pre, ft = portfolio.workloads
    gpu, trn = catalog.options
    # chat: 9.9864e9 / (730 · 3600) = 3,800 tokens/s at 2,000 per instance
    assert estimate(portfolio, chat, gpu, catalog).instances_needed == pytest.approx(1.9)
    for w, hours in ((pre, 1_000.0), (ft, 2_920.0)):  # tokens / (1,000 tokens/s · 3,600)
        e = estimate(portfolio, w, trn, catalog)
        assert (e.instance_hours_per_run, e.instances_at_once) == (pytest.approx(hours), 2)


def test_the_hand_made_plan_holds(case: tuple[Data, Any, Any]) -> None:
    assert verify(*case) == []


def _block(d: Data, instances: int) -> None:
    """A block of `instances` booked for M2's 730 h, with the monthly row saying so too."""
    d["purchases"][4]["instances"] = instances
    d["monthly"][3]["block_instances"] = instances


def _team_of(size: int) -> Callable[[Portfolio], Portfolio]:
    return lambda p: p.model_copy(update={"porting": p.porting.model_copy(update={"engineers": size})})


TAMPERING: dict[str, tuple[Callable[[Data], None], str]] = {
    "month over capacity": (
        lambda d: d["monthly"][0].update(inference_instances=9),  # 9 + 2 training on gpu's 10
        "monthly gpu M1: 11 instances held, the capacity calendar gives 10",
    ),
    "calendar misread": (
        lambda d: d["monthly"][4].update(capacity=4),  # trn has 6 from month 3
        "monthly trn M3: capacity 4, the catalog gives 6",
    ),
    "run outside its window": (
        lambda d: d["runs"][1]["months"][0].update(period=1),
        "runs ft M1: runs outside its window M2..M3",
    ),
    "window misstated": (
        lambda d: d["runs"][1].update(earliest=1),
        "runs ft: earliest 1, the window is M2..M3",
    ),
    "hours short": (
        lambda d: d["runs"][1]["months"][1].update(instance_hours=1_360.0),
        "runs ft: instance_hours add up to 2,820.00, 1 runs need 2,920.00",
    ),
    "half a run": (
        lambda d: d["runs"][1]["months"][1].update(instances=3),
        "runs ft M3: instances 3 is not a whole number of runs of 2 instances (up to 1)",
    ),
    "after broken": (
        lambda d: d["runs"][0].update(latest=2) or d["runs"][0]["months"][0].update(period=2),
        "runs ft: starts in M2, before pre (its `after`) ends in M2",
    ),
    "commitment charged for fewer months": (
        lambda d: d["purchases"][3].update(usd=5 * 1_460.0),  # the 10 months past the horizon left out
        "purchases[3] (1-year trn from period 2): usd 7300.0, the terms give 43,800",
    ),
    "commitment covering less": (
        lambda d: d["purchases"][3].update(periods=1),
        "purchases[3] (1-year trn from period 2): periods 1, the terms give 2",
    ),
    "commitment not in force": (
        lambda d: d["monthly"][4].update(committed_instances=0),
        "monthly trn M3: committed_instances 0, its purchases give 1",
    ),
    "charged past the horizon under charge-full-term": (
        lambda d: d["purchases"][3].update(usd_beyond_horizon=100.0),
        "purchases[3] (1-year trn from period 2): usd_beyond_horizon 100.0, the terms give 0",
    ),
    "uncovered hours": (
        lambda d: (
            d["monthly"][4].update(on_demand_hours=0.0, usd=3_650.0)
            or d["purchases"].pop(5)
            or d["purchases"][3].update(usd=43_800.0)
        ),
        "monthly trn M3: 1,460.00 instance-hours used, "
        "committed_hours + on_demand_hours + block_hours cover 730.00",
    ),
    "use before the port is ready": (
        lambda d: d["ports"][0].update(start=2, ready=3),
        "runs ft M2: runs on trainium before the port of lab is ready in M3",
    ),
    "port too quick": (
        lambda d: d["ports"][0].update(ready=1),
        "ports lab to trainium: ready 1, the inputs give 2",
    ),
    "block of 65 instances": (  # 2 blocks (64 + 1) may be booked at once, but not more than held
        lambda d: _block(d, 65),
        "monthly trn M2: block_instances 65, more than the 2 held",
    ),
    "block beyond what is held": (
        lambda d: _block(d, 3),
        "monthly trn M2: block_instances 3, more than the 2 held",
    ),
    "block instances not booked": (
        lambda d: d["monthly"][3].update(block_instances=2),
        "monthly trn M2: block_instances 2, its purchases give 1",
    ),
    "unused commitment off": (
        lambda d: d.update(unused_commitment_usd=0.0),
        "unused_commitment_usd: the plan says 0.0, idle committed hours and charged months past the "
        "horizon give 36,500.00",
    ),
    "on demand where not sold on demand": (
        lambda d: (
            d["purchases"][5].update(instrument="capacity-block", usd=730 * 6.0)
            or d["monthly"][4].update(usd=3_650.0 + 730 * 6.0)
        ),
        "monthly trn M3: on_demand_hours 730.00 with no on-demand purchase",
    ),
    "inference short in a month": (
        lambda d: d["monthly"][2].update(inference_instances=4, on_demand_hours=2_920.0, usd=29_200.0),
        "monthly gpu M3: inference_instances 4, fewer than its inference workloads' shares need",
    ),
    "month charge off": (
        lambda d: d["monthly"][1].update(usd=20_000.0),
        "monthly gpu M2: usd 20000.0, its purchases charge 21,900.00 in the month",
    ),
    "placement's part off": (
        lambda d: (
            d["placements"][1].update(compute_usd=11_000.0) or d["placements"][0].update(compute_usd=72_000.0)
        ),
        "pre on gpu: compute_usd 11,000.00, its instance-hours' part of the option's charges is 10,000.00",
    ),
    "region spend off": (
        lambda d: d["region_usd"][0].update(compute_usd=1.0),
        "region_usd test: compute_usd 1.0, its purchases add up to 137,020.00",
    ),
    "capacity table off": (
        lambda d: d["capacity"][1].update(available=6),  # trn's tightest month is M2, with 4
        "capacity table: trn available 6, its tightest month gives 4",
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_tampering_is_caught(name: str, case: tuple[Data, Any, Any]) -> None:
    change, expected = TAMPERING[name]
    data = copy.deepcopy(case[0])
    change(data)
    problems = verify(data, *case[1:])
    assert any(p.startswith(expected) for p in problems), problems


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # one engineer: 4 weeks / (1 · 730/168) = 0.92 → still 1 month, but the plan says 2 engineers
        (_team_of(1), "ports lab to trainium: engineers 2, the inputs give 1"),
        (
            lambda p: p.model_copy(
                update={"policy": p.policy.model_copy(update={"max_region_usd": {"test": 100_000}})}
            ),
            "policy: test spends 137,020.00, above max_region_usd 100,000.00",
        ),
        (
            lambda p: p.model_copy(
                update={
                    "workloads": (p.workloads[0].model_copy(update={"regions": ("eu",)}), *p.workloads[1:])
                }
            ),
            # the estimate itself rules the option out once costing knows regions
            (
                "chat on gpu: region 'test' is not one of eu (regions)",
                "chat on gpu: not allowed (region: pinned to eu",
            ),
        ),
        (
            lambda p: p.model_copy(
                update={"purchase": p.purchase.model_copy(update={"allow": ("on-demand", "1-year")})}
            ),
            "purchases[4] (capacity-block trn from period 2): "
            "'capacity-block' is not allowed by the workload file",
        ),
    ],
)
def test_rules_from_the_workload_file(
    rule: Callable[[Portfolio], Portfolio], expected: str | tuple[str, ...], case: tuple[Data, Any, Any]
) -> None:
    data, portfolio, catalog = case
    problems = verify(copy.deepcopy(data), rule(portfolio), catalog)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_shared_team_is_not_overbooked(case: tuple[Data, Any, Any]) -> None:
    """Two ports at once on a team of 2 need 4 engineers: the app port added in M1 alongside lab's."""
    data, portfolio, catalog = case
    data = copy.deepcopy(data)
    data["ports"].append(
        {"codebase": "app", "family": "trainium", "weeks": 4.0, "engineers": 2, "start": 1, "ready": 2}
    )
    data["migrations"].append(
        {"codebase": "app", "family": "trainium", "weeks": 4.0, "usd": 4_000.0, "items": ["pytorch"]}
    )
    problems = verify(data, portfolio, catalog)
    assert "ports M1: 4 engineers porting at once, the team is 2" in problems
    assert "migration of app to trainium is charged but not used" in problems


def test_horizon_only_reports_the_months_past_the_horizon(case: tuple[Data, Any, Any]) -> None:
    """horizon-only: the 1-year commitment pays 1,460 h · $5 = $7,300 in the total and reports the
    other 10 months (7,300 h · $5 = $36,500) as committed_beyond_usd, no longer unused commitment
    in the total; trn's spend drops to $17,520."""
    data, portfolio, catalog = case
    portfolio = portfolio.model_copy(
        update={"purchase": portfolio.purchase.model_copy(update={"beyond_horizon": "horizon-only"})}
    )
    data = copy.deepcopy(data)
    assert "beyond_horizon: the plan says 'charge-full-term', the workload file 'horizon-only'" in verify(
        data, portfolio, catalog
    )
    compute, trn = 83_000.0 + 17_520.0, 17_520.0  # ft's part is unchanged: the months are the same
    data.update(
        beyond_horizon="horizon-only",
        committed_beyond_usd=36_500.0,
        unused_commitment_usd=0.0,
        compute_usd=compute,
        total_usd=compute + 4_000.0,
        savings_usd=112_200.0 - compute - 4_000.0,
        region_usd=[{"region": "test", "compute_usd": compute}],
    )
    data["purchases"][3].update(usd=7_300.0, usd_beyond_horizon=36_500.0)
    data["families"][0].update(compute_usd=trn, share=round(trn / compute, 6))
    data["families"][2].update(share=round(83_000.0 / compute, 6))
    assert verify(data, portfolio, catalog) == []
    data["committed_beyond_usd"] = 0.0
    assert verify(data, portfolio, catalog) == [
        "committed_beyond_usd: the plan says 0.0, its purchases add up to 36,500.00"
    ]


def test_every_number_of_the_time_phased_plan_is_checked(case: tuple[Data, Any, Any]) -> None:
    """Each number moved by 1, doubled, or by half (more than JSON's rounding to cents) is noticed,
    except the solver block (how the solve went; README "placement verify")."""
    data, portfolio, catalog = case
    paths = [p for p in _numbers(data) if not _dotted(p).startswith("solver.")]
    assert len(paths) > 150
    missed = []
    for path in paths:
        for change in (lambda v: v + 1, lambda v: v - 1, lambda v: v * 2 if v else 1, lambda v: v + 0.5):
            tampered = copy.deepcopy(data)
            holder = tampered
            for key in path[:-1]:
                holder = holder[key]
            holder[path[-1]] = change(holder[path[-1]])
            if not verify(tampered, portfolio, catalog):
                missed.append(_dotted(path))
    assert missed == []


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key and item below a JSON value, depth first."""
    out = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _places(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _places(item, (*path, i))
    return out


TIME_PHASED = (
    "periods",
    "purchases",
    "monthly",
    "runs",
    "ports",
    "beyond_horizon",
    "committed_beyond_usd",
    "region_usd",
)


def test_a_wrong_type_in_the_time_phased_fields_is_a_problem_not_a_crash(case: tuple[Data, Any, Any]) -> None:
    """The saved-plan reader does not type these fields: a string, a null or a list anywhere in
    them is reported (only the purchases' free-text notes are not read)."""
    data, portfolio, catalog = case
    places = [p for p in _places(data) if p[0] in TIME_PHASED and p[-1] != "note"]
    places.append(("placements", 0, "region"))
    assert len(places) > 200
    missed = []
    for path in places:
        for bad in ("x", None, [1]):
            tampered = copy.deepcopy(data)
            holder = tampered
            for key in path[:-1]:
                holder = holder[key]
            if holder[path[-1]] == bad:  # utilisation is null without commitments
                continue
            holder[path[-1]] = bad
            if not verify(tampered, portfolio, catalog):
                missed.append(f"{_dotted(path)} = {bad!r}")
    assert missed == []


def test_the_family_share_policy_holds_on_the_spend_traffic_uses(case: tuple[Data, Any, Any]) -> None:
    """gpu's traffic uses 75,882.5 of 99,242.5 (76.5%, tests/time_plan.py): a cap of 75% is broken
    whatever the split, and so it is without the inference workload (gpu: 10,000 of 33,360, 29.98%)."""
    data, portfolio, catalog = case
    capped = portfolio.model_copy(
        update={"policy": portfolio.policy.model_copy(update={"max_family_share": 0.75})}
    )
    data = copy.deepcopy(data)
    data["policy"]["max_family_share"] = 0.75
    problems = verify(data, capped, catalog)
    assert "policy: gpu uses more than 75% of spend in every split the instances allow" in problems
    capped = capped.model_copy(update={"policy": capped.policy.model_copy(update={"max_family_share": 0.29})})
    data["policy"]["max_family_share"] = 0.29
    data["families"][2]["policy_share"] = 0.5
    problems = verify(data, capped, catalog)
    assert "families: gpu policy_share is 0.5, no split of the traffic gives it" in problems
    training_only = capped.model_copy(update={"workloads": capped.workloads[1:]})
    problems = verify(data, training_only, catalog)  # the plan no longer matches, but the rule is checked
    assert "policy: gpu uses more than 29% of spend in every split the instances allow" in problems


def test_capacity_blocks_stay_within_the_account(case: tuple[Data, Any, Any]) -> None:
    """An account limited to 1 instance in Capacity Blocks: a block line of 2 breaks it."""
    data, portfolio, catalog = case
    one = catalog.model_copy(
        update={"settings": catalog.settings.model_copy(update={"capacity_block_account_instances": 1})}
    )
    assert verify(data, portfolio, one) == []  # the plan books 1
    data = copy.deepcopy(data)
    _block(data, 2)
    problems = verify(data, portfolio, one)
    assert "monthly M2: block_instances add up to 2, the account may hold 1 in Capacity Blocks" in problems
    assert (
        "purchases[4] (capacity-block trn from period 2): "
        "instances 2: more than the account's 1 in Capacity Blocks" in problems
    )
