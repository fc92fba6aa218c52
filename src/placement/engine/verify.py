"""An independent check of a plan against its inputs, on the plan's JSON form (so a saved
`plan.json` is checked exactly like a fresh plan). It shares no code with the optimizer: it reads
the placements and re-derives every claim from the workload file, the catalog and the cost formulas.

Checked in every plan (this module, verify_baseline.py):
- every workload placed; training on exactly one option; no option that is ruled out for the
  workload (kind, gpu-only, blocked port, memory, latency, deadline against capacity) or outside
  its `regions`;
- migration charged exactly for the (codebase, family) pairs used that cost something, at
  weeks · engineer_week_usd; totals, compute, migration and the family split adding up;
- every number finite (a NaN compares false with everything, so it would pass every check): the
  first non-finite number is reported by its place in the JSON and nothing else is checked;
- the all-GPU baseline and the saving re-derived from the inputs (each workload alone on its
  cheapest feasible GPU option, on demand, the GPU ports its codebases need);
- every figure the plan prints beside the placements: per workload (compute, cost per million
  tokens or per run, migration weeks, runner-up and its extra cost), per family (compute,
  migration, compute share), and the horizon and policy the plan states.

A plan without `periods` (one period, bought on demand, as before the time axis), here:
- shares sum to 1; whole instances enough for the throughput (inference: instances ≥ share ·
  peak / per-instance tokens/s) or the deadline (training: the instances at once required);
- capacity per option, and the capacity table equal to the instances placed;
- each placement's cost from the catalog price (instances · USD/h · hours, or runs · instance-
  hours · USD/h); max_family_share and policy_share on the spend traffic uses;
- the reservations, re-derived with the rules of reservations.py (written out again there).

A time-phased plan (`periods` given; verify_time.py, verify_purchases.py, verify_serving.py):
- the periods are timeline.periods; every monthly row's capacity is the calendar's and the
  instances held (inference + training) stay within it;
- each training workload's runs on its option, inside its window, whole runs of the estimate's
  instances at once, no more hours than held, all runs · instance_hours_per_run delivered, and
  after every workload its `after` names; no run on a family before its codebase's port is ready;
- one port per migration charged: weeks, engineers, ready = start + timeline.port_months, and
  the shared team never over its size;
- every purchase allowed and sold: a 1-/3-year commitment covers the months timeline.commitment
  gives and is charged price · instances · hours for each, plus the months past the horizon in
  the total (charge-full-term) or in usd_beyond_horizon and committed_beyond_usd (horizon-only);
  on-demand and Capacity Block lines buy their months' hours at usd_per_hour or the block rate,
  no more than their instances give; on demand only where the option is sold on demand; at most
  capacity_block_account_instances in blocks per month across options;
- each option-month: commitments in force, committed hours and their use, block instances as the
  purchases say; hours used ≤ committed + on-demand + block hours; block instances ≤ instances
  held; its usd exactly the charges in force; compute_usd = the purchases = the months + the
  months past the horizon charged in full = the placements + unused_commitment_usd; each
  training placement its instance-hours' part; region_usd and max_region_usd;
- inference: some split of each month's traffic over the workload's placed options (ports
  ready) that the monthly instances serve in whole instances per workload, giving each
  placement's share of the horizon's traffic, its most instances in a month and its part of the
  option's charges, meeting max_family_share and each family's policy_share (verify_serving.py);
- the capacity table (each option's tightest month); reservations only in a one-period plan
  bought on demand.

Deliberately not checked (README "placement verify"): the `solver` block (name, status, gap limit
and proven gap, time limit, model size) reports how the solve went, which no input determines; it
is still required to be finite. Text fields (`basis`, notes, estimates, sources, period labels
aside) are not numbers. Time-phased: the split of a month's inference traffic is not written
out, so it is checked for existence, not for the one the optimizer chose; how a block line of
more than capacity_block_max_instances splits into blocks, a block's days inside its months and
its booking lead time are in the line's note only (the plan is monthly); purchases handed to the
planner as already bought are not listed in `purchases`, so a plan made with them is not
verifiable yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from placement.engine import timeline
from placement.engine.costing import Estimate, port_weeks, weights_fit
from placement.engine.plan import SCHEMA_VERSION
from placement.engine.verify_baseline import baseline, reservations, runner_up, standalone
from placement.engine.verify_common import CENT, Costs, Tally, differs, non_finite
from placement.engine.verify_purchases import Purchases
from placement.engine.verify_serving import serving_problems
from placement.engine.verify_time import TimeCheck, periods_problems, whole
from placement.inputs.models import FAMILIES, Catalog, Family, Option, Portfolio, Workload

__all__ = ["non_finite", "verify"]


def verify(
    data: dict[str, Any],
    portfolio: Portfolio,
    catalog: Catalog,
    ests: dict[tuple[str, str], Estimate] | None = None,
    split: Sequence[tuple[str, str, int, float, int]] = (),
) -> list[str]:
    """Every problem found, in words; an empty list means the plan holds. `ests`: estimates
    already computed for exactly these inputs, if any (see `Costs`).  `split`: a candidate split
    of each service's traffic per period (`Plan.split`), tried first by the serving check."""
    if data.get("schema_version") != SCHEMA_VERSION:
        return [f"schema_version {data.get('schema_version')!r} is not {SCHEMA_VERSION!r}"]
    if data.get("catalog") != catalog.name:
        return [
            f"the plan was made with catalog {data.get('catalog')!r}, not {catalog.name!r}: "
            "pass it with --catalog"
        ]
    bad = non_finite(data)
    if bad is not None:
        return [f"{bad}: not a finite number (NaN or infinity); nothing else checked"]
    options = {o.id: o for o in catalog.options}
    workloads = {w.name: w for w in portfolio.workloads}
    problems = _stated(data, portfolio)
    by_workload: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in data["placements"]:
        if p["workload"] not in workloads:
            problems.append(f"placement of unknown workload {p['workload']!r}")
        elif p["option"] not in options:
            problems.append(f"{p['workload']}: unknown option {p['option']!r}")
        elif whole(p.get("instances")) is None or p["instances"] < 0:  # 0.5 could pass the serving program
            problems.append(
                f"{p['workload']} on {p['option']}: instances {p.get('instances')!r} is not a whole number"
            )
        else:
            by_workload[p["workload"]].append(p)
    timed = isinstance(data.get("periods"), list) and bool(data["periods"])
    wrong_periods = periods_problems(data, portfolio, catalog) if timed else []
    if wrong_periods:  # every other time-phased figure is read by period
        return problems + wrong_periods
    tally = Tally(timed=timed)
    costs = Costs(portfolio, catalog, ests)
    for name, w in workloads.items():
        problems += _check_workload(w, by_workload.get(name, []), portfolio, catalog, tally, costs)
    later: list[str] = []
    if timed:  # compute_usd holds the unused commitments beside the placements
        later = _time_phased(data, portfolio, catalog, by_workload, tally, split)
    problems += _migration(data, portfolio, catalog, tally.families)
    problems += _totals(data, tally.compute)
    problems += _families(data, tally)
    alone = standalone(portfolio, catalog, costs, timed)
    problems += _workload_rows(data, portfolio, catalog, tally, alone)
    problems += baseline(data, portfolio, catalog, alone)
    if not timed:
        problems += _capacity(data, tally.used, options)
        problems += _policy(portfolio, tally.used_spend)
        return problems + reservations(data, portfolio, catalog, by_workload, tally)
    return problems + later


def _stated(data: dict[str, Any], portfolio: Portfolio) -> list[str]:
    """The horizon and the policy the plan says it was made for."""
    problems = []
    if differs(data.get("horizon_months"), portfolio.horizon_months, 1e-9):
        problems.append(
            f"horizon_months: the plan says {data.get('horizon_months')}, the workload file "
            f"{portfolio.horizon_months}"
        )
    if data.get("policy", {}).get("max_family_share") != portfolio.policy.max_family_share:
        problems.append(
            f"policy.max_family_share: the plan says {data.get('policy', {}).get('max_family_share')}, "
            f"the workload file {portfolio.policy.max_family_share}"
        )
    return problems


def _time_phased(
    data: dict[str, Any],
    portfolio: Portfolio,
    catalog: Catalog,
    by_workload: dict[str, list[dict[str, Any]]],
    tally: Tally,
    split: Sequence[tuple[str, str, int, float, int]],
) -> list[str]:
    """Periods, runs, ports, purchases, monthly use, serving; reservations only for `periods:
    single` with on-demand the only purchase allowed (the advice is for that case). Adds each
    option's unused commitment to the tally's compute (placements + unused = compute_usd)."""
    check = TimeCheck(data, portfolio, catalog, tally)
    problems = check.problems()
    bought = Purchases(check)
    problems += bought.problems()
    for option_id in {k[0] for k in bought.keys()}:
        unused = bought.unused(option_id)
        tally.compute += unused
        tally.compute_by_family[catalog.option(option_id).family] += unused
    problems += check.capacity_table()
    problems += serving_problems(check, bought, tally, split)
    if portfolio.periods == "single" and tuple(portfolio.purchase.allow) == ("on-demand",):
        return problems + reservations(data, portfolio, catalog, by_workload, tally)
    if data.get("reservations"):
        problems.append(
            "reservations: advice only for `periods: single` bought on demand only; this plan has some"
        )
    return problems


def _check_workload(
    w: Workload,
    rows: list[dict[str, Any]],
    portfolio: Portfolio,
    catalog: Catalog,
    tally: Tally,
    costs: Costs,
) -> list[str]:
    if not rows:
        return [f"{w.name}: not placed"]
    problems = []
    share = sum(r["share"] for r in rows)
    if not abs(share - 1) <= 1e-5:
        problems.append(f"{w.name}: shares add up to {share:.6f}, not 1")
    if w.kind == "training" and len(rows) != 1:
        problems.append(f"{w.name}: a training run is split over {len(rows)} options")
    for r in rows:
        problems += _check_placement(w, r, portfolio, catalog, tally, costs)
    return problems


def _check_placement(
    w: Workload, r: dict[str, Any], portfolio: Portfolio, catalog: Catalog, tally: Tally, costs: Costs
) -> list[str]:
    option = catalog.option(r["option"])
    est = costs(w, option)
    where = f"{w.name} on {option.id}"
    unfit = weights_fit(w, option, catalog)[1] if w.kind == "inference" else None
    if unfit is not None:  # checked on its own as well: a measured figure does not waive it
        return [f"{where}: not allowed ({unfit})"]
    if not est.ok:
        return [f"{where}: not allowed ({est.reason})"]
    tally.estimates[(w.name, option.id)] = est
    problems = []
    if r["family"] != option.family:
        problems.append(f"{where}: family {r['family']!r}, catalog says {option.family!r}")
    if r.get("kind") != w.kind:
        problems.append(f"{where}: kind {r.get('kind')!r}, the workload is {w.kind}")
    if not 0 <= r["share"] <= 1 + 1e-6:
        problems.append(f"{where}: share {r['share']} is not between 0 and 1")
    if w.regions and option.region not in w.regions:
        problems.append(f"{where}: region {option.region!r} is not one of {', '.join(w.regions)} (regions)")
    tally.used[option.id] += r["instances"]
    tally.families.add((w.codebase_name, option.family))
    if w.kind == "training":
        tally.used_spend[option.family] += w.run_count * est.instance_hours_per_run * option.usd_per_hour
    if not tally.timed:  # time-phased: runs and monthly use (verify_time), serving (verify_serving)
        problems += _legacy_placement(w, r, portfolio, catalog, est, tally)
    tally.compute += r["compute_usd"]
    tally.compute_by_family[option.family] += r["compute_usd"]
    tally.compute_by_workload[w.name] += r["compute_usd"]
    tally.compute_by_option[option.id] += r["compute_usd"]
    return problems


def _legacy_placement(
    w: Workload, r: dict[str, Any], portfolio: Portfolio, catalog: Catalog, est: Estimate, tally: Tally
) -> list[str]:
    """A plan of one period bought on demand: instances and cost straight from the estimate."""
    option, where = catalog.option(r["option"]), f"{w.name} on {r['option']}"
    problems = []
    hours = portfolio.horizon_months * catalog.settings.hours_per_month
    if w.kind == "training":
        expected = w.run_count * est.instance_hours_per_run * option.usd_per_hour
        if r["instances"] != est.instances_at_once:
            problems.append(
                f"{where}: {r['instances']} instances at once, the deadline and memory need "
                f"{est.instances_at_once}"
            )
    else:
        expected = r["instances"] * option.usd_per_hour * hours
        tally.used_spend[option.family] += r["share"] * est.instances_needed * option.usd_per_hour * hours
        needed = r["share"] * est.instances_needed
        # shares are rounded to 6 decimals in JSON, and the solver's feasibility tolerance is ~1e-7
        if r["share"] > 0 and r["instances"] == 0:
            problems.append(f"{where}: serves {r['share']:.2%} of its traffic with no instance")
        elif r["instances"] < needed - 1e-6 * max(1.0, est.instances_needed):
            problems.append(
                f"{where}: {r['instances']} instances serve less than the {needed:.4f} its share "
                "of peak demand needs"
            )
    if differs(r["compute_usd"], expected, CENT):
        problems.append(f"{where}: cost {r['compute_usd']:,.2f}, the formulas give {expected:,.2f}")
    return problems


def _policy(portfolio: Portfolio, used_spend: dict[Family, float]) -> list[str]:
    cap = portfolio.policy.max_family_share
    total = sum(used_spend.values())
    if cap is None or total <= 0:
        return []
    return [
        f"policy: {family} uses {spend / total:.2%} of spend, above {cap:.0%}"
        for family, spend in sorted(used_spend.items())
        if spend / total > cap + 1e-6
    ]


def _capacity(data: dict[str, Any], used: dict[str, int], options: dict[str, Any]) -> list[str]:
    problems = []
    for option_id, count in sorted(used.items()):
        if count > options[option_id].capacity_instances:
            problems.append(
                f"capacity of {option_id}: {count} instances placed, "
                f"{options[option_id].capacity_instances} available"
            )
    rows = {row.get("option"): row for row in data.get("capacity", [])}
    if set(rows) != set(options) or len(rows) != len(data.get("capacity", [])):
        problems.append("capacity table: not one row per catalog option")
    for option_id, row in sorted(rows.items(), key=lambda kv: str(kv[0])):
        if option_id not in options:
            continue
        if row["used"] != used.get(option_id, 0):
            problems.append(
                f"capacity table says {row['used']} {option_id} used, placements hold "
                f"{used.get(option_id, 0)}"
            )
        available = options[option_id].capacity_instances
        if row.get("available") != available:
            problems.append(
                f"capacity table says {row.get('available')} {option_id} available, the catalog {available}"
            )
        if row.get("binding") is not (available > 0 and used.get(option_id, 0) >= available):
            problems.append(f"capacity table: {option_id} marked binding={row.get('binding')}, wrongly")
    return problems


def _migration(
    data: dict[str, Any], portfolio: Portfolio, catalog: Catalog, families_used: set[tuple[str, Family]]
) -> list[str]:
    members: dict[str, list[Any]] = defaultdict(list)
    for w in portfolio.workloads:
        members[w.codebase_name].append(w)
    expected = {}
    expected_weeks = {}
    for codebase, family in families_used:
        weeks, _ = port_weeks(catalog, members[codebase], family)
        if weeks > 0:
            expected[(codebase, family)] = weeks * catalog.migration.engineer_week_usd
            expected_weeks[(codebase, family)] = weeks
    charged = {(m["codebase"], m["family"]): m["usd"] for m in data["migrations"]}
    problems = []
    for m in data["migrations"]:
        key = (m["codebase"], m["family"])
        if key in expected_weeks and differs(m.get("weeks"), expected_weeks[key], 1e-9):
            problems.append(
                f"migration of {key[0]} to {key[1]}: {m.get('weeks')} weeks, the catalog gives "
                f"{expected_weeks[key]}"
            )
    for key in sorted(set(expected) | set(charged)):
        if key not in charged:
            problems.append(
                f"migration of {key[0]} to {key[1]} is used but not charged ({expected[key]:,.2f})"
            )
        elif key not in expected:
            problems.append(f"migration of {key[0]} to {key[1]} is charged but not used")
        elif differs(charged[key], expected[key], CENT):
            problems.append(
                f"migration of {key[0]} to {key[1]}: charged {charged[key]:,.2f}, the catalog gives "
                f"{expected[key]:,.2f}"
            )
    return problems


def _totals(data: dict[str, Any], compute: float) -> list[str]:
    problems = []
    tolerance = CENT * (len(data["placements"]) + len(data["migrations"]) + 1)
    migration = sum(m["usd"] for m in data["migrations"])
    for label, claimed, actual in (
        ("compute_usd", data["compute_usd"], compute),
        ("migration_usd", data["migration_usd"], migration),
        ("total_usd", data["total_usd"], compute + migration),
        ("families", sum(f["compute_usd"] for f in data.get("families", [])), compute),
    ):
        if differs(claimed, actual, tolerance):
            problems.append(f"{label}: the plan says {claimed:,.2f}, its parts add up to {actual:,.2f}")
    return problems


def _families(data: dict[str, Any], tally: Tally) -> list[str]:
    """Each family row against the placements and migrations of that family."""
    rows = {f.get("family"): f for f in data.get("families", [])}
    if set(rows) != set(FAMILIES) or len(rows) != len(data.get("families", [])):
        return [f"families: not one row for each of {', '.join(FAMILIES)}"]
    problems = []
    compute = sum(tally.compute_by_family.values())
    spend = sum(tally.used_spend.values())
    for family in FAMILIES:
        row = rows[family]
        migration = sum(m["usd"] for m in data["migrations"] if m["family"] == family)
        expected = {
            "compute_usd": (tally.compute_by_family.get(family, 0.0), CENT * (len(data["placements"]) + 1)),
            "migration_usd": (migration, CENT * (len(data["migrations"]) + 1)),
            "share": (tally.compute_by_family.get(family, 0.0) / compute if compute else 0.0, 1e-5),
        }
        if not tally.timed:  # time-phased: which split of the traffic is not written out (verify_serving)
            expected["policy_share"] = (tally.used_spend.get(family, 0.0) / spend if spend else 0.0, 1e-5)
        for key, (value, tolerance) in expected.items():
            if differs(row.get(key), value, tolerance):
                problems.append(
                    f"families: {family} {key} is {row.get(key)}, the placements give {value:,.6g}"
                )
    if tally.timed:  # whatever the split, the shares are parts of one whole
        shares = [rows[g].get("policy_share") for g in FAMILIES]
        numbers = [v for v in shares if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(numbers) < len(shares) or any(not 0 <= v <= 1 + 1e-9 for v in numbers):
            problems.append(f"families: policy_share {shares} is not a share between 0 and 1 for each family")
        elif numbers and abs(sum(numbers) - 1) > 1e-5 and sum(numbers) > 0:
            problems.append(f"families: policy_share adds up to {sum(numbers):.6g}, not 1")
    return problems


def _workload_rows(
    data: dict[str, Any],
    portfolio: Portfolio,
    catalog: Catalog,
    tally: Tally,
    alone: Callable[[Workload, Option], float | None],
) -> list[str]:
    """Per workload: compute, unit cost, migration weeks and the runner-up."""
    rows = {r.get("workload"): r for r in data.get("workloads", [])}
    names = [w.name for w in portfolio.workloads]
    if set(rows) != set(names) or len(rows) != len(data.get("workloads", [])):
        return ["workloads: not one row per workload of the workload file"]
    members: dict[str, list[Workload]] = defaultdict(list)
    for w in portfolio.workloads:
        members[w.codebase_name].append(w)
    ported = {(m["codebase"], m["family"]) for m in data["migrations"]}
    ports: dict[tuple[str, Family], float] = {}

    def weeks_to(codebase: str, family: Family) -> float:
        if (codebase, family) not in ports:
            ports[(codebase, family)] = port_weeks(catalog, members[codebase], family)[0]
        return ports[(codebase, family)]

    placed: dict[str, set[str]] = defaultdict(set)
    for p in data["placements"]:
        placed[p["workload"]].add(p["option"])
    problems = []
    for w in portfolio.workloads:
        row = rows[w.name]
        compute = tally.compute_by_workload.get(w.name, 0.0)
        chosen = placed.get(w.name, set())
        families = {catalog.option(o).family for o in chosen if o in catalog.option_ids}
        weeks = sum(weeks_to(w.codebase_name, g) for g in families)
        rounding = CENT * (len(chosen) + 1)  # each placement's compute_usd is rounded to cents
        expected: dict[str, tuple[Any, float]] = {
            "compute_usd": (compute, rounding),
            "migration_weeks": (weeks, 1e-9),
        }
        if w.kind == "inference":
            assert w.tokens_per_month is not None
            tokens = (
                timeline.tokens_over_horizon(portfolio, w)
                if tally.timed
                else w.tokens_per_month * portfolio.horizon_months
            )
            # the figure is rounded to 1e-4, and the cents of the placements it is checked on count
            # for more on a small service (60M tokens: a cent is 1.7e-4 per million)
            expected["usd_per_million_tokens"] = (compute / (tokens / 1e6), 1e-4 + rounding / (tokens / 1e6))
        else:
            expected["cost_per_run_usd"] = (compute / w.run_count, CENT + rounding / w.run_count)
        for key, (value, tolerance) in expected.items():
            if differs(row.get(key), value, tolerance):
                problems.append(f"{w.name}: {key} is {row.get(key)}, the placements give {value:,.6g}")
        problems += runner_up(w, row.get("runner_up"), chosen, compute, catalog, alone, weeks_to, ported)
    return problems
