"""An independent check of a plan against its inputs, on the plan's JSON form (so a saved
`plan.json` is checked exactly like a fresh plan). It shares no code with the optimizer: it reads
the placements and re-derives every claim from the workload file, the catalog and the cost formulas.

Checked:
- every workload placed exactly once in total (shares sum to 1); training on exactly one option;
  no option that is ruled out for the workload (kind, gpu-only, blocked port, memory, latency,
  deadline against capacity);
- whole instances enough for the throughput (inference: instances ≥ share · peak / per-instance
  tokens/s) or for the deadline (training: the instances at once the formulas require);
- capacity per option respected, and the capacity table equal to the instances placed;
- migration charged exactly for the (codebase, family) pairs used that cost something, at
  weeks · engineer_week_usd;
- each placement's cost recomputed from the catalog price (instances · USD/h · hours · months, or
  runs · instance-hours · USD/h); totals, compute, migration and the family split adding up;
- the max_family_share policy on the spend traffic uses.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from placement.engine.costing import estimate, port_weeks
from placement.engine.plan import SCHEMA_VERSION
from placement.inputs.models import Catalog, Family, Portfolio, Workload

CENT = 0.011  # JSON rounds USD to cents


@dataclass
class _Tally:
    """What the placements add up to, gathered while checking them."""

    used: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    families: set[tuple[str, Family]] = field(default_factory=set)
    used_spend: dict[Family, float] = field(default_factory=lambda: defaultdict(float))
    compute: float = 0.0


def verify(data: dict[str, Any], portfolio: Portfolio, catalog: Catalog) -> list[str]:
    """Every problem found, in words; an empty list means the plan holds."""
    if data.get("schema_version") != SCHEMA_VERSION:
        return [f"schema_version {data.get('schema_version')!r} is not {SCHEMA_VERSION!r}"]
    if data.get("catalog") != catalog.name:
        return [
            f"the plan was made with catalog {data.get('catalog')!r}, not {catalog.name!r}: "
            "pass it with --catalog"
        ]
    options = {o.id: o for o in catalog.options}
    workloads = {w.name: w for w in portfolio.workloads}
    problems: list[str] = []
    by_workload: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in data["placements"]:
        if p["workload"] not in workloads:
            problems.append(f"placement of unknown workload {p['workload']!r}")
        elif p["option"] not in options:
            problems.append(f"{p['workload']}: unknown option {p['option']!r}")
        else:
            by_workload[p["workload"]].append(p)
    tally = _Tally()
    for name, w in workloads.items():
        problems += _check_workload(w, by_workload.get(name, []), portfolio, catalog, tally)
    problems += _capacity(data, tally.used, options)
    problems += _migration(data, portfolio, catalog, tally.families)
    problems += _totals(data, tally.compute)
    problems += _policy(portfolio, tally.used_spend)
    return problems


def _check_workload(
    w: Workload, rows: list[dict[str, Any]], portfolio: Portfolio, catalog: Catalog, tally: _Tally
) -> list[str]:
    if not rows:
        return [f"{w.name}: not placed"]
    problems = []
    share = sum(r["share"] for r in rows)
    if abs(share - 1) > 1e-5:
        problems.append(f"{w.name}: shares add up to {share:.6f}, not 1")
    if w.kind == "training" and len(rows) != 1:
        problems.append(f"{w.name}: a training run is split over {len(rows)} options")
    for r in rows:
        problems += _check_placement(w, r, portfolio, catalog, tally)
    return problems


def _check_placement(
    w: Workload, r: dict[str, Any], portfolio: Portfolio, catalog: Catalog, tally: _Tally
) -> list[str]:
    option = catalog.option(r["option"])
    est = estimate(portfolio, w, option, catalog)
    where = f"{w.name} on {option.id}"
    if not est.ok:
        return [f"{where}: not allowed ({est.reason})"]
    problems = []
    if r["family"] != option.family:
        problems.append(f"{where}: family {r['family']!r}, catalog says {option.family!r}")
    tally.used[option.id] += r["instances"]
    tally.families.add((w.codebase_name, option.family))
    hours = portfolio.horizon_months * catalog.settings.hours_per_month
    if w.kind == "training":
        expected = w.run_count * est.instance_hours_per_run * option.usd_per_hour
        tally.used_spend[option.family] += expected
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
    if abs(expected - r["compute_usd"]) > CENT + 1e-9 * expected:
        problems.append(f"{where}: cost {r['compute_usd']:,.2f}, the formulas give {expected:,.2f}")
    tally.compute += r["compute_usd"]
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
    for row in data.get("capacity", []):
        if row["used"] != used.get(row["option"], 0):
            problems.append(
                f"capacity table says {row['used']} {row['option']} used, placements hold "
                f"{used.get(row['option'], 0)}"
            )
    return problems


def _migration(
    data: dict[str, Any], portfolio: Portfolio, catalog: Catalog, families_used: set[tuple[str, Family]]
) -> list[str]:
    members: dict[str, list[Any]] = defaultdict(list)
    for w in portfolio.workloads:
        members[w.codebase_name].append(w)
    expected = {}
    for codebase, family in families_used:
        weeks, _ = port_weeks(catalog, members[codebase], family)
        if weeks > 0:
            expected[(codebase, family)] = weeks * catalog.migration.engineer_week_usd
    charged = {(m["codebase"], m["family"]): m["usd"] for m in data["migrations"]}
    problems = []
    for key in sorted(set(expected) | set(charged)):
        if key not in charged:
            problems.append(
                f"migration of {key[0]} to {key[1]} is used but not charged ({expected[key]:,.2f})"
            )
        elif key not in expected:
            problems.append(f"migration of {key[0]} to {key[1]} is charged but not used")
        elif abs(charged[key] - expected[key]) > CENT:
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
        if abs(claimed - actual) > tolerance:
            problems.append(f"{label}: the plan says {claimed:,.2f}, its parts add up to {actual:,.2f}")
    return problems
