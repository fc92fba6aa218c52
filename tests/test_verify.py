"""The independent verifier: every shipped plan holds; every kind of tampering is caught."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from placement.cli import app
from placement.engine.plan import Plan
from placement.engine.planner import make_plan
from placement.engine.verify import verify
from placement.inputs.loading import load_catalog, load_portfolio
from placement.inputs.models import Portfolio
from placement.render.report import plan_dict
from tests import time_plan
from tests.conftest import EXAMPLES, ROOT

ENTERPRISE = ROOT / "examples" / "enterprise.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_saved_plans_verify(example: Path, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert run("plan", str(example), "-f", "json", "--out", str(saved))[0] == 0
    code, out, err = run("verify", str(saved), str(example))
    assert (code, err) == (0, "")
    assert out.startswith(f"{saved}: verified against {example} and catalog aws: ")


@pytest.fixture(scope="module")
def enterprise_plan() -> tuple[Plan, Any, Any]:
    catalog = load_catalog(None)
    portfolio = load_portfolio(ENTERPRISE, catalog)
    return make_plan(portfolio, catalog, "e"), portfolio, catalog


@pytest.fixture(scope="module")
def enterprise(enterprise_plan: tuple[Plan, Any, Any]) -> tuple[dict[str, Any], Any, Any]:
    plan, portfolio, catalog = enterprise_plan
    return plan_dict(plan), portfolio, catalog


def _first(data: dict[str, Any], workload: str) -> dict[str, Any]:
    return next(p for p in data["placements"] if p["workload"] == workload)


TAMPERING: dict[str, tuple[Any, str | tuple[str, ...]]] = {
    "too few instances": (
        lambda d: _first(d, "code-assistant").update(instances=1, compute_usd=60268.8),
        (
            "code-assistant on p5.4xlarge: 1 instances serve less than the 4.1135 its share of peak "
            "demand needs",
            "code-assistant on p5.4xlarge: instances 1, fewer than it must hold in some month for its share",
        ),
    ),
    "traffic on no instance": (
        lambda d: _first(d, "hr-assistant").update(instances=0, compute_usd=0.0),
        (
            "hr-assistant on g6.xlarge: serves 100.00% of its traffic with no instance",
            "hr-assistant on g6.xlarge: instances 0, fewer than it must hold in some month for its share",
        ),
    ),
    "wrong cost": (
        lambda d: _first(d, "support-chat").update(compute_usd=1.0),
        (
            "support-chat on p5.4xlarge: cost 1.00, the formulas give 361,612.80",  # 6 · $6.88 · 730 h · 12
            "support-chat on p5.4xlarge: compute_usd 1.00, less than its instance-hours' part",
        ),
    ),
    "placement dropped": (
        lambda d: d["placements"].remove(_first(d, "hr-assistant")),
        "hr-assistant: not placed",
    ),
    "training split": (
        lambda d: d["placements"].append(
            {**_first(d, "vision-train"), "option": "p5.48xlarge", "share": 0.0}
        ),
        "vision-train: a training run is split over 2 options",
    ),
    "forbidden option": (
        lambda d: _first(d, "fraud-scoring").update(option="inf2.xlarge", family="inferentia"),
        "fraud-scoring on inf2.xlarge: not allowed (portability: gpu-only keeps this workload on GPUs)",
    ),
    "migration left out": (
        lambda d: d["migrations"].pop(0),
        "migration of ",
    ),
    "migration invented": (
        lambda d: d["migrations"].append(
            {"codebase": "devtools", "family": "trainium", "weeks": 1, "usd": 5000}
        ),
        "migration of devtools to trainium is charged but not used",
    ),
    "total off": (
        lambda d: d.update(total_usd=d["total_usd"] + 100),
        (
            "total_usd: the plan says 3,164,675.47, its parts add up to 3,164,575.50",
            "total_usd: the plan says ",
        ),
    ),
    "capacity exceeded": (
        lambda d: _first(d, "foundation-pretrain").update(instances=9),
        (
            "capacity of trn2.48xlarge: 9 instances placed, 8 available",
            "foundation-pretrain on ",
        ),
    ),
    "shares short": (
        lambda d: _first(d, "code-assistant").update(share=0.5),
        "code-assistant: shares add up to 0.500000, not 1",
    ),
    "total NaN": (
        lambda d: d.update(total_usd=math.nan),
        "total_usd: not a finite number (NaN or infinity); nothing else checked",
    ),
    "placement cost NaN": (
        lambda d: d["placements"][2].update(compute_usd=math.nan),
        "placements[2].compute_usd: not a finite number (NaN or infinity); nothing else checked",
    ),
    "share NaN": (
        lambda d: d["placements"][0].update(share=math.nan),
        "placements[0].share: not a finite number (NaN or infinity); nothing else checked",
    ),
    "family NaN": (
        lambda d: d["families"][1].update(compute_usd=math.nan),
        "families[1].compute_usd: not a finite number (NaN or infinity); nothing else checked",
    ),
    "solver infinity": (
        lambda d: d["solver"].update(gap_proven=math.inf),
        "solver.gap_proven: not a finite number (NaN or infinity); nothing else checked",
    ),
    "baseline inflated": (
        lambda d: d.update(baseline_usd=1e9),
        "baseline_usd is 1000000000.0, the inputs give ",
    ),
    "saving inflated": (
        lambda d: d.update(savings_usd=1e9),
        "savings_usd is 1000000000.0, baseline − total gives ",
    ),
    "family total off": (
        lambda d: d["families"][0].update(compute_usd=d["families"][0]["compute_usd"] + 1000),
        "families: trainium compute_usd is ",
    ),
    "reservation saving off": (
        lambda d: d["reservations"][0].update(saving_usd=d["reservations"][0]["saving_usd"] + 1000),
        "reservations: ",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
@pytest.mark.parametrize("own_split", [False, True], ids=["searched", "plan's split first"])
def test_tampering_is_caught(case: str, own_split: bool, enterprise_plan: tuple[Plan, Any, Any]) -> None:
    """Each message as the plan before the time axis gives it, or as the time-phased plan does
    (the enterprise plan is time-phased once the planner fills `periods`: tests/test_verify_time.py).
    Handed the plan's own split of each service's traffic (as `placement plan` does), the serving
    check starts its search there and still catches every change: the split is a candidate, never
    taken on trust."""
    plan, portfolio, catalog = enterprise_plan
    data = plan_dict(plan)
    split = plan.split if own_split else ()
    assert plan.split and verify(data, portfolio, catalog, split=split) == []
    if case == "reservation saving off" and not data["reservations"]:
        pytest.skip("a time-phased plan buys its own commitments: no reservation advice")
    tampered = json.loads(json.dumps(data))
    change, expected = TAMPERING[case]
    change(tampered)
    problems = verify(tampered, portfolio, catalog, split=split)
    accepted = (expected,) if isinstance(expected, str) else expected
    assert any(p.startswith(accepted) for p in problems), problems


def test_verify_cli_failure_exit_code_and_bad_files(
    tmp_path: Path, enterprise: tuple[dict[str, Any], Any, Any]
) -> None:
    data = json.loads(json.dumps(enterprise[0]))
    data["total_usd"] += 100
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    code, _, err = run("verify", str(bad), str(ENTERPRISE))
    assert code == 1
    assert err.splitlines()[0] == f"placement: {bad}: the plan does not hold (2 problem(s))"  # total, saving
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "schema_version": "1",\n  oops\n}\n')
    code, _, err = run("verify", str(broken), str(ENTERPRISE))
    assert (code, err) == (
        2,
        f"{broken}:3: not valid JSON: Expecting property name enclosed in double quotes\n",
    )
    partial = tmp_path / "partial.json"
    partial.write_text('{"schema_version": "1"}')
    code, _, err = run("verify", str(partial), str(ENTERPRISE))
    assert code == 2 and "missing catalog, total_usd" in err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**enterprise[0], "catalog": "my-quote"}))
    code, _, err = run("verify", str(other), str(ENTERPRISE))
    assert code == 1 and "made with catalog 'my-quote', not 'aws': pass it with --catalog" in err


# Numbers the verifier cannot re-derive from the inputs, on purpose (README "placement verify"):
# the solver block reports how the solve went (gap limit and proven gap, time limit, model size).
# The time axis's fields (schema 2) are not re-derived by engine/verify.py yet: the lead extends the
# verifier with the time-phased engine (issue 10); until then they are listed here, not silently skipped.
UNCHECKED = ("solver.",)


def _numbers(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _numbers(item, (*path, i))


def _dotted(path: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


@pytest.fixture(scope="module")
def numbers(enterprise: tuple[dict[str, Any], Any, Any]) -> list[tuple[Any, ...]]:
    return sorted(_numbers(enterprise[0]), key=_dotted)


@pytest.fixture(scope="module", params=["enterprise", "time-phased"])
def valid(
    request: pytest.FixtureRequest, enterprise: tuple[dict[str, Any], Any, Any]
) -> tuple[dict[str, Any], Any, Any, list[tuple[Any, ...]]]:
    """A valid plan.json with its inputs and every number in it: the enterprise example's, and the
    hand-made time-phased plan of tests/time_plan.py (periods, purchases, monthly use, runs, ports)."""
    if request.param == "enterprise":
        data, portfolio, catalog = enterprise
    else:
        portfolio, catalog = time_plan.inputs()
        data = json.loads(json.dumps(time_plan.plan_json(time_plan.plan())))
    assert verify(data, portfolio, catalog) == []
    return data, portfolio, catalog, sorted(_numbers(data), key=_dotted)


def test_every_number_of_the_plan_is_listed(numbers: list[tuple[Any, ...]]) -> None:
    assert len(numbers) > 250  # placements, workloads, families, capacity, reservations, baseline
    assert {_dotted(p) for p in numbers if _dotted(p).startswith(UNCHECKED)} == {
        "solver.gap_limit",
        "solver.gap_proven",
        "solver.time_limit_s",
        "solver.variables",
        "solver.integer_variables",
        "solver.constraints",
    }


MUTATIONS = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.tuples(st.sampled_from([1, -1]), st.floats(min_value=1.0, max_value=1e7)),
    st.tuples(st.just(0), st.sampled_from([0.5, 2.0, -1.0, 10.0])),
)


def _mutated(value: float, how: Any) -> float:
    if isinstance(how, float):
        return how
    sign, amount = how
    if sign == 0:  # scale; a number the scale leaves alone (zero) moves by one instead
        return value * amount if value * amount != value else value + 1
    changed = value + sign * amount
    return round(changed) if isinstance(value, int) else changed


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_changed_number_is_noticed(
    data: st.DataObject, valid: tuple[dict[str, Any], Any, Any, list[tuple[Any, ...]]]
) -> None:
    plan, portfolio, catalog, numbers = valid
    path = data.draw(st.sampled_from(numbers), label="number")
    how = data.draw(MUTATIONS, label="mutation")
    tampered = json.loads(json.dumps(plan))
    holder = tampered
    for key in path[:-1]:
        holder = holder[key]
    before = holder[path[-1]]
    holder[path[-1]] = _mutated(before, how)
    assert holder[path[-1]] != before
    problems = verify(tampered, portfolio, catalog)
    if isinstance(how, float) or not _dotted(path).startswith(UNCHECKED):
        assert problems, f"{_dotted(path)}: {before} -> {holder[path[-1]]} went unnoticed"
    else:
        assert problems == []  # documented as unchecked: prove it really is not checked


def test_verify_cli_rejects_a_nan_in_a_saved_plan(
    tmp_path: Path, enterprise: tuple[dict[str, Any], Any, Any]
) -> None:
    data = json.loads(json.dumps(enterprise[0]))
    data["placements"][0]["share"] = math.nan
    bad = tmp_path / "nan.json"
    bad.write_text(json.dumps(data))  # Python writes the NaN literal, which json.loads accepts
    assert '"share": NaN' in bad.read_text()
    code, out, err = run("verify", str(bad), str(ENTERPRISE))
    # the loader refuses the literal as bad input; verify() itself also rejects a NaN handed to it
    assert (code, out) == (2, "")
    assert err.startswith(f"{bad}") and "NaN" in err


def test_a_purchase_priced_on_hours_written_to_four_decimals_passes(
    enterprise: tuple[dict[str, Any], Any, Any],
) -> None:
    # instance_hours is written to 4 decimals, usd to 2: price × hours may then be off by a cent
    # plus price × 0.00005 (at the $193/h of a Trn3 UltraServer: $0.0097) without any error
    data, portfolio, catalog = enterprise
    i, row = next((i, p) for i, p in enumerate(data["purchases"]) if p["instrument"] == "on-demand")
    price = catalog.option(row["option"]).usd_per_hour
    assert price > 100  # the enterprise plan buys Trn3 UltraServer time on demand
    for offset, caught in ((0.012, False), (0.01 + price * 5e-5 + 0.005, True)):
        tampered = json.loads(json.dumps(data))
        tampered["purchases"][i]["usd"] = price * row["instance_hours"] + offset
        problems = [p for p in verify(tampered, portfolio, catalog) if p.startswith(f"purchases[{i}]")]
        assert bool(problems) == caught, (offset, problems)


def test_a_fractional_instance_count_is_noticed(enterprise: tuple[dict[str, Any], Any, Any]) -> None:
    """Found by the property test above: a placement's instances 1 → 0.5 went unnoticed, since a
    split with half an instance satisfied the serving program.  A count is a whole number."""
    plan, portfolio, catalog = enterprise
    data = json.loads(json.dumps(plan))
    row = next(r for r in data["placements"] if r["instances"] == 1)
    row["instances"] = 0.5
    problems = verify(data, portfolio, catalog)
    assert f"{row['workload']} on {row['option']}: instances 0.5 is not a whole number" in problems


def test_an_option_with_many_placements_allows_each_ones_rounding_to_cents() -> None:
    """Sixty one-instance services on one option: each placement's compute_usd is rounded to cents
    in the JSON, so their sum may stray by up to half a cent each from the option's monthly usd
    (1,000 diverse workloads, seed 1: 263 placements on g6.xlarge each rounded up by $0.002, $0.59
    in all, were reported as an internal error).  A cent more on each is still caught."""
    catalog = load_catalog(None)
    service = {"kind": "inference", "framework": "pytorch", "model": {"params_b": 1}}
    raw = {
        "horizon_months": 12,
        "periods": "single",
        "purchase": {"allow": ["on-demand"]},
        "workloads": [{"name": f"s{i}", **service, "tokens_per_month": "1B"} for i in range(60)],
    }
    portfolio = Portfolio.model_validate(raw)
    data = plan_dict(make_plan(portfolio, catalog, "many"))
    assert verify(data, portfolio, catalog) == []
    options = {p["option"] for p in data["placements"]}
    assert len(options) == 1 and len(data["placements"]) == 60
    for p in data["placements"]:
        p["compute_usd"] = round(p["compute_usd"] + 0.0049, 4)  # each at its rounding's far end
    assert verify(data, portfolio, catalog) == []
    for p in data["placements"]:
        p["compute_usd"] += 0.02
    (option,) = options
    assert any(
        problem.startswith(f"placements on {option}: compute_usd adds up to")
        for problem in verify(data, portfolio, catalog)
    )


def test_a_small_services_unit_cost_allows_the_cents_of_its_placements() -> None:
    """A service of 5M tokens a month (60M over the year): a cent on its compute_usd is 1.7e-4 per
    million tokens, above the 1e-4 its usd_per_million_tokens is rounded to (a 60-workload
    time-phased portfolio, seed 5, stopped with an internal error on 23.9039 against 23.9037).
    Five cents more is still caught."""
    catalog = load_catalog(None)
    raw = {
        "horizon_months": 12,
        "workloads": [
            {
                "name": "small",
                "kind": "inference",
                "framework": "pytorch",
                "model": {"params_b": 1},
                "tokens_per_month": "5M",
            }
        ],
    }
    portfolio = Portfolio.model_validate(raw)
    data = plan_dict(make_plan(portfolio, catalog, "small"))
    assert verify(data, portfolio, catalog) == []
    (placement,) = data["placements"]
    (row,) = data["workloads"]
    placement["compute_usd"] = round(placement["compute_usd"] + 0.0049, 4)  # its rounding's far end
    row["compute_usd"] = placement["compute_usd"]
    row["usd_per_million_tokens"] = round(row["usd_per_million_tokens"] - 0.00005, 5)
    assert verify(data, portfolio, catalog) == []
    row["usd_per_million_tokens"] += 0.05 / 60
    assert any(p.startswith("small: usd_per_million_tokens is") for p in verify(data, portfolio, catalog))


def test_the_plans_split_names_every_month_of_each_span(enterprise_plan: tuple[Plan, Any, Any]) -> None:
    """The model solves spans of identical months; the split the serving check is handed is by
    month, as the JSON's periods are (handed by span, it served a sixth of a six-month span's
    traffic, and the check searched its whole time limit for a witness)."""
    plan, _, _ = enterprise_plan
    months = {p.index for p in plan.periods}
    assert months == set(range(1, 13))
    served: dict[tuple[str, int], float] = {}
    for name, _, month, share, count in plan.split:
        assert month in months and count >= 1
        served[(name, month)] = served.get((name, month), 0.0) + share
    services = {w.workload for w in plan.workloads if w.kind == "inference"}
    assert {name for name, _ in served} == services
    assert all(abs(total - 1.0) < 1e-6 for total in served.values())
