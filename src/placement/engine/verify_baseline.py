"""What the plan compares itself to, re-derived from the inputs: each workload's runner-up, the
all-GPU baseline and the saving, and the reservation advice (engine/reservations.py's rules)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from placement.engine import timeline
from placement.engine.costing import port_weeks, whole
from placement.engine.verify_common import CENT, Costs, Tally, differs
from placement.inputs.models import Catalog, Family, Option, Portfolio, Workload

Alone = Callable[[Workload, Option], float | None]


def standalone(portfolio: Portfolio, catalog: Catalog, costs: Costs, timed: bool) -> Alone:
    """A workload's compute cost alone on an option, on demand (None where it cannot run there):
    the estimate's horizon cost, or in a time-phased plan per its monthly demand (inference: whole
    instances for each period's demand, Σ_p ⌈q·f[p]⌉ · usd_per_hour · hours[p]; training the same
    runs · instance-hours · usd_per_hour as the estimate)."""
    periods = timeline.periods(portfolio, catalog)

    def alone(w: Workload, option: Option) -> float | None:
        est = costs(w, option)
        if not est.ok:
            return None
        if not timed or w.kind == "training":
            return est.compute_usd
        factors = timeline.demand(portfolio, w)
        return sum(
            whole(est.instances_needed * f) * option.usd_per_hour * p.hours
            for p, f in zip(periods, factors, strict=True)
        )

    return alone


def runner_up(
    w: Workload,
    claimed: Any,
    chosen: set[str],
    compute: float,
    catalog: Catalog,
    alone: Alone,
    weeks_to: Callable[[str, Family], float],
    ported: set[tuple[Any, Any]],
) -> list[str]:
    """The runner-up is the cheapest option not in the plan for the workload, alone, with any port
    it would need; its extra cost is that minus the workload's cost in the plan."""
    extras: dict[str, float] = {}
    for option in catalog.options:
        if option.id in chosen:
            continue
        usd = alone(w, option)
        if usd is None:
            continue
        port = 0.0
        if (w.codebase_name, option.family) not in ported:
            port = weeks_to(w.codebase_name, option.family)
            port *= catalog.migration.engineer_week_usd
        extras[option.id] = usd + port - compute
    if claimed is None:
        return (
            [f"{w.name}: no runner-up given, {min(extras, key=extras.__getitem__)} can run it"]
            if extras
            else []
        )
    option_id = claimed.get("option") if isinstance(claimed, dict) else None
    if option_id not in extras:
        return [f"{w.name}: runner-up {option_id!r} is not an option the workload could move to"]
    tolerance = CENT * (len(chosen) + 2)
    problems = []
    if differs(claimed.get("extra_usd"), extras[option_id], tolerance):
        problems.append(
            f"{w.name}: runner-up {option_id} extra cost {claimed.get('extra_usd')}, the formulas give "
            f"{extras[option_id]:,.2f}"
        )
    cheapest = min(extras.values())
    if extras[option_id] > cheapest + tolerance:
        problems.append(f"{w.name}: runner-up {option_id} is not the cheapest option left")
    return problems


def _gpu_baseline(
    portfolio: Portfolio, catalog: Catalog, alone: Alone
) -> tuple[dict[str, dict[str, float]], list[str], float]:
    """Each workload's feasible GPU options with their cost alone, the workloads with none, and the
    GPU ports of the codebases that have a workload on GPUs."""
    gpu = [o for o in catalog.options if o.family == "gpu" and o.on_demand]  # bought on demand
    fits: dict[str, dict[str, float]] = {}
    missing = []
    for w in portfolio.workloads:
        costs = {o.id: usd for o in gpu if (usd := alone(w, o)) is not None}
        if costs:
            fits[w.name] = costs
        else:
            missing.append(w.name)
    members: dict[str, list[Workload]] = defaultdict(list)
    for w in portfolio.workloads:
        members[w.codebase_name].append(w)
    migration = sum(
        port_weeks(catalog, group, "gpu")[0] * catalog.migration.engineer_week_usd
        for group in members.values()
        if any(w.name in fits for w in group)
    )
    return fits, missing, migration


def baseline(data: dict[str, Any], portfolio: Portfolio, catalog: Catalog, alone: Alone) -> list[str]:
    """Re-derive the all-GPU baseline (every workload alone on its cheapest feasible GPU option;
    each codebase with a workload on GPUs pays its GPU port) and the saving against the plan."""
    fits, missing, migration = _gpu_baseline(portfolio, catalog, alone)
    cheapest = {name: min(costs.values()) for name, costs in fits.items()}
    compute = sum(cheapest.values())
    base = data.get("baseline")
    if not isinstance(base, dict):
        return ["baseline: missing"]
    problems = []
    tolerance = CENT * (len(portfolio.workloads) + 1)
    if sorted(base.get("missing", [])) != sorted(missing):
        problems.append(f"baseline: missing {base.get('missing')}, the inputs give {missing}")
    choices = {c.get("workload"): c.get("option") for c in base.get("choices", [])}
    if set(choices) != set(cheapest) or len(choices) != len(base.get("choices", [])):
        problems.append("baseline: not one choice per workload with a GPU option")
    for name, option_id in sorted(choices.items(), key=lambda kv: str(kv[0])):
        feasible = fits.get(name, {})
        if option_id not in feasible or feasible[option_id] > cheapest[name] + CENT:
            problems.append(f"baseline: {option_id} is not {name}'s cheapest feasible GPU option")
    for key, value in (("compute_usd", compute), ("migration_usd", migration)):
        if differs(base.get(key), value, tolerance):
            problems.append(f"baseline.{key} is {base.get(key)}, the inputs give {value:,.2f}")
    total = compute + migration
    if missing:
        if data.get("baseline_usd") is not None or data.get("savings_usd") is not None:
            problems.append("baseline_usd and savings_usd must be null: some workload has no GPU option")
        return problems
    if differs(data.get("baseline_usd"), total, tolerance):
        problems.append(f"baseline_usd is {data.get('baseline_usd')}, the inputs give {total:,.2f}")
    saving = total - data["total_usd"]
    if differs(data.get("savings_usd"), saving, tolerance):
        problems.append(f"savings_usd is {data.get('savings_usd')}, baseline − total gives {saving:,.2f}")
    return problems


def _term(o: Option, horizon_months: float) -> tuple[str, float | None]:
    """The longest public commitment that fits inside the horizon (3-year: 36 months, 1-year: 12)."""
    if horizon_months >= 36 and o.three_year_usd_per_hour is not None:
        return "3-year", o.three_year_usd_per_hour
    if horizon_months >= 12 and o.one_year_usd_per_hour is not None:
        return "1-year", o.one_year_usd_per_hour
    return "none", None


def reservations(
    data: dict[str, Any],
    portfolio: Portfolio,
    catalog: Catalog,
    by_workload: dict[str, list[dict[str, Any]]],
    tally: Tally,
) -> list[str]:
    """Each reservation row re-derived from the placements (rules: engine/reservations.py)."""
    hours = portfolio.horizon_months * catalog.settings.hours_per_month
    workloads = {w.name: w for w in portfolio.workloads}
    peak: dict[str, int] = defaultdict(int)
    base: dict[str, int] = defaultdict(int)  # steady instances, shares as rounded in the JSON ...
    base_hi: dict[str, int] = defaultdict(int)  # ... and if the rounding pushed one over a whole number
    training_hours: dict[str, float] = defaultdict(float)
    for name, rows in by_workload.items():
        w = workloads[name]
        for r in rows:
            est = tally.estimates.get((name, r["option"]))
            if est is None:
                continue
            if w.kind == "inference":
                peak[r["option"]] += r["instances"]
                steady = r["share"] * est.instances_needed / w.peak_factor
                slack = 1e-6 * max(1.0, est.instances_needed)
                base[r["option"]] += min(r["instances"], max(0, math.ceil(steady - slack)))
                base_hi[r["option"]] += min(r["instances"], max(0, math.ceil(steady + slack)))
            else:
                training_hours[r["option"]] += est.instance_hours_per_run * w.run_count
    table = {r.get("option"): r for r in data.get("reservations", [])}
    used = set(peak) | set(training_hours)
    if set(table) != used or len(table) != len(data.get("reservations", [])):
        return ["reservations: not one row per option the plan uses"]
    problems = []
    for option_id in sorted(used):
        o = catalog.option(option_id)
        od = o.usd_per_hour
        term, price = _term(o, portfolio.horizon_months)
        row = table[option_id]
        steady, train_committed = 0, 0
        if price is not None and price < od:
            train_committed = int(training_hours[option_id] // hours)
            claimed = row.get("committed_instances")
            claimed_steady = claimed - train_committed if isinstance(claimed, int) else -1
            in_range = base[option_id] <= claimed_steady <= base_hi[option_id]
            steady = claimed_steady if in_range else base[option_id]
        burst = training_hours[option_id] - train_committed * hours
        block = o.capacity_block_usd_per_hour
        burst_price = block if block is not None and block < od else od
        reserved = (
            (steady + train_committed) * (price or od) * hours
            + (peak[option_id] - steady) * od * hours
            + burst * burst_price
        )
        on_demand = tally.compute_by_option.get(option_id, 0.0)
        expected: dict[str, tuple[float, float]] = {
            "committed_instances": (steady + train_committed, 0.0),
            "on_demand_instances": (peak[option_id] - steady, 0.0),
            "burst_instance_hours": (burst, CENT),
            "on_demand_usd": (on_demand, CENT * (len(data["placements"]) + 1)),
            "reserved_usd": (reserved, CENT * (len(data["placements"]) + 1)),
            "saving_usd": (on_demand - reserved, CENT * (len(data["placements"]) + 2)),
        }
        for key, (value, tolerance) in expected.items():
            if differs(row.get(key), value, tolerance):
                problems.append(
                    f"reservations: {option_id} {key} is {row.get(key)}, the placements give {value:,.6g}"
                )
        if row.get("term") != (term if steady + train_committed else "none"):
            problems.append(f"reservations: {option_id} term {row.get('term')!r} is wrong")
    return problems
