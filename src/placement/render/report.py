"""Pure rendering of a Plan: Markdown, terminal table, JSON and CSV strings.

Deterministic: rows in portfolio or catalog order, fixed decimals, no timestamps, no absolute paths.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from typing import Any

from placement.engine.plan import SCHEMA_VERSION, AlreadyOn, Plan, WorkloadResult
from placement.render import schedule
from placement.render.text import CsvWriter, json_visible, pct, table, usd, usd_signed, visible

FORMATS = ("table", "markdown", "json", "csv")
MARKS = {"estimate": " *", "measured": " (measured)", "sourced": ""}


def unit_cost(r: WorkloadResult) -> str:
    if r.usd_per_million_tokens is not None:
        return f"${r.usd_per_million_tokens:,.3f} /M tok"
    assert r.cost_per_run_usd is not None
    return f"{usd(r.cost_per_run_usd)} /run"


def _workload_rows(plan: Plan) -> list[list[str]]:
    regions = schedule.option_regions(plan)
    rows = []
    for r in plan.workloads:
        for i, p in enumerate(r.placements):
            first = i == 0
            runner = ""
            if first and r.runner_up is not None:
                runner = f"{r.runner_up.option} ({usd_signed(r.runner_up.extra_usd)})"
                if r.runner_up.note:
                    runner += f" [{r.runner_up.note}]"
            rows.append(
                [
                    r.workload if first else "",
                    r.kind if first else "",
                    p.option + MARKS[p.basis],
                    p.region or regions.get(p.option, ""),
                    pct(p.share),
                    str(p.instances),
                    usd(p.compute_usd),
                    unit_cost(r) if first else "",
                    f"{r.migration_weeks:g}" if first else "",
                    runner if first else "",
                ]
            )
    return rows


WORKLOAD_HEADERS = [
    "workload",
    "kind",
    "option",
    "region",
    "share",
    "instances",
    "cost over horizon",
    "unit cost",
    "port weeks",
    "runner-up (extra cost)",
]


def _summary_rows(plan: Plan) -> list[list[str]]:
    b = plan.baseline
    rows = [
        ["compute", usd(plan.compute_usd)],
        ["migration (one-time)", usd(plan.migration_usd)],
        ["total", usd(plan.total_usd)],
    ]
    if b.missing:
        rows.append(["all-GPU baseline", f"n/a: no GPU option runs {', '.join(b.missing)}"])
    else:
        rows.append(["all-GPU baseline", usd(b.total_usd)])
        saving = plan.savings_usd
        share = saving / b.total_usd if b.total_usd else 0.0
        rows.append(["savings vs baseline", f"{usd(saving)} ({pct(share)})"])
    return rows


def _family_rows(plan: Plan) -> list[list[str]]:
    return [
        [f.family, usd(f.compute_usd), usd(f.migration_usd), pct(f.share), pct(f.policy_share)]
        for f in plan.families
    ]


FAMILY_HEADERS = ["family", "compute", "migration", "share of compute", "share of used spend"]


def _capacity_rows(plan: Plan) -> list[list[str]]:
    regions = schedule.option_regions(plan)
    return [
        [
            c.option,
            regions.get(c.option, ""),
            c.family,
            str(c.used),
            str(c.available),
            "binding" if c.binding else "",
        ]
        for c in plan.capacity
        if c.used > 0 or c.binding
    ]


CAPACITY_HEADERS = ["option", "region", "family", "used", "available", ""]


def _migration_rows(plan: Plan) -> list[list[str]]:
    return [[m.codebase, m.family, f"{m.weeks:g}", usd(m.usd), ", ".join(m.items)] for m in plan.migrations]


RESERVATION_HEADERS = [
    "option",
    "commit",
    "on demand (peak)",
    "training burst",
    "all on-demand",
    "with commitments",
    "saving",
]


def _reservation_rows(plan: Plan) -> list[list[str]]:
    regions = schedule.option_regions(plan)
    rows = []
    for r in plan.reservations:
        commit = f"{r.committed_instances} × {r.term}" if r.committed_instances else "none"
        burst = f"{r.burst_instance_hours:,.0f} h ({r.burst_tier})" if r.burst_instance_hours > 0 else "-"
        rows.append(
            [
                schedule.named(r.option, regions.get(r.option, "")),
                commit,
                str(r.on_demand_instances),
                burst,
                usd(r.on_demand_usd),
                usd(r.reserved_usd),
                usd(r.saving_usd),
            ]
        )
    if plan.reservations:
        total_od = sum(r.on_demand_usd for r in plan.reservations)
        total_saving = sum(r.saving_usd for r in plan.reservations)
        rows.append(
            [
                "total",
                "",
                "",
                "",
                usd(total_od),
                usd(total_od - total_saving),
                f"{usd(total_saving)} ({pct(total_saving / total_od) if total_od else '-'})",
            ]
        )
    return rows


RESERVATION_NOTE = (
    "Commit the steady base load (average demand; training instances busy all horizon) at the longest "
    "public commitment that fits the horizon; keep peak headroom on demand; put remaining training "
    "hours in Capacity Blocks where cheaper. Options without a public commitment price stay on demand."
)


def _solver_lines(plan: Plan) -> list[str]:
    s = plan.solver
    gap = "0 (optimal)" if s.gap_proven == 0 else f"{s.gap_proven:.4%} (proven; stopped: {s.status})"
    return [
        f"Solver: {s.solver}, MIP gap limit {s.gap_limit:g}, time limit {s.time_limit_s:g} s; "
        f"proven gap {gap}.",
        f"Model: {s.variables} variables ({s.integer_variables} integer), {s.constraints} constraints.",
    ]


def _assumption_lines(plan: Plan) -> list[str]:
    if schedule.phased(plan):
        lines = [
            f"Costs cover {plan.horizon_months:g} months at {plan.hours_per_month:g} hours a month, in "
            f"{len(plan.periods)} period(s), at the price of each purchase (commitment, Capacity Block, "
            "on demand).",
            "Capacity is counted per month: inference at the month's peak, training runs while active.",
            "Inference is sized for each month's peak demand (the month's tokens × peak_to_average) in "
            "whole instances.",
        ]
    else:
        lines = [
            f"Costs cover {plan.horizon_months:g} months at {plan.hours_per_month:g} hours a month, "
            "on-demand prices.",
            "Capacity is counted as if every workload runs at once: training at its deadline pace, "
            "inference at its peak.",
            "Inference is sized for peak demand (tokens_per_month × peak_to_average) in whole instances.",
        ]
    lines += [
        "Migration is a one-time cost per (codebase, family), zero on the family the code is on.",
        "Runner-up: the cheapest option not used, running the whole workload alone, including "
        "any port it would need; extra cost is against this plan's cost for the workload.",
        "Marks: * relies on estimated catalog figures (listed below); (measured) uses a measured "
        "throughput from the workload file.",
    ]
    if plan.max_family_share is not None:
        lines.append(
            f"Policy: no family above {pct(plan.max_family_share)} of the spend its traffic "
            "uses (before rounding to whole instances: 'share of used spend')."
        )
    for text, names in plan.defaults:
        lines.append(f"{text[0].upper()}{text[1:]}: {', '.join(names)}.")
    lines += [already_on_line(a) for a in plan.already_on]
    return lines


CALIBRATION_HEADERS = ["option", "how well its performance figures are calibrated"]


def calibration_rows(plan: Plan) -> list[list[str]]:
    return [[option, text] for option, text in plan.calibration]


def already_on_line(a: AlreadyOn) -> str:
    """What one `already_on` entry overrides, in words (plan assumptions and `explain`)."""
    line = (
        f"{a.workload} is already on {a.family} (already_on): codebase {a.codebase} pays no port "
        f"to {a.family}"
        + (f" (waives {a.waived_weeks:g} engineer-weeks)" if a.waived_weeks else " (none was due)")
    )
    if a.unblocked is not None:
        line += (
            f"; {a.workload} may run on {a.family} although {a.unblocked[0]} is blocked there "
            f"({a.unblocked[1]}); the codebase's other workloads that use it stay blocked"
        )
    return line + "."


def _heading(plan: Plan) -> str:
    return f"Placement plan: {plan.portfolio} on catalog {plan.catalog}"


def render_markdown(plan: Plan) -> str:
    out: list[str] = [f"# {_heading(plan)}", ""]
    out += [table(_summary_rows(plan), headers=["", "USD"], tablefmt="github"), ""]
    out += ["## Placement by workload", ""]
    out += [table(_workload_rows(plan), headers=WORKLOAD_HEADERS, tablefmt="github"), ""]
    out += ["## Spend by family", ""]
    out += [table(_family_rows(plan), headers=FAMILY_HEADERS, tablefmt="github"), ""]
    if plan.migrations:
        out += ["## Migrations", ""]
        out += [
            table(
                _migration_rows(plan),
                headers=["codebase", "family", "weeks", "cost", "items"],
                tablefmt="github",
            ),
            "",
        ]
    out += ["## Capacity used (instances at once)", ""]
    out += [table(_capacity_rows(plan), headers=CAPACITY_HEADERS, tablefmt="github"), ""]
    out += schedule.sections(plan, markdown=True)
    if plan.reservations:
        out += ["## Reserved capacity", "", RESERVATION_NOTE, ""]
        out += [
            table(
                _reservation_rows(plan), headers=RESERVATION_HEADERS, tablefmt="github", disable_numparse=True
            ),
            "",
        ]
    if plan.calibration:
        out += ["## Calibration of the options used", ""]
        out += [table(calibration_rows(plan), headers=CALIBRATION_HEADERS, tablefmt="github"), ""]
    out += ["## Assumptions", ""] + [f"- {line}" for line in _assumption_lines(plan)]
    out += [f"- {line}" for line in _solver_lines(plan)] + [""]
    if plan.estimates:
        out += ["## Estimates in use", ""]
        out += [
            table(
                [[e.subject, e.field, e.reasoning] for e in plan.estimates],
                headers=["subject", "figure", "reasoning"],
                tablefmt="github",
            ),
            "",
        ]
    if plan.measured:
        out += [
            "Measured throughputs in use: " + ", ".join(f"{w} on {o}" for w, o in plan.measured) + ".",
            "",
        ]
    out += ["## Sources", ""]
    out += ["Figures taken from: " + ", ".join(f"{key}[^{key}]" for key, _ in plan.sources) + ".", ""]
    out += [f"[^{key}]: {s.title}. {s.address} (read {s.date_read})" for key, s in plan.sources]
    return visible("\n".join(out) + "\n")


def render_table(plan: Plan) -> str:
    def block(title: str, rows: Sequence[Sequence[str]], headers: list[str]) -> list[str]:
        return [title, table(rows, headers=headers, tablefmt="simple"), ""]

    out = [_heading(plan), ""]
    out += block("Summary", _summary_rows(plan), ["", "USD"])
    out += block("Placement by workload", _workload_rows(plan), WORKLOAD_HEADERS)
    out += block("Spend by family", _family_rows(plan), FAMILY_HEADERS)
    if plan.migrations:
        out += block("Migrations", _migration_rows(plan), ["codebase", "family", "weeks", "cost", "items"])
    out += block("Capacity used (instances at once)", _capacity_rows(plan), CAPACITY_HEADERS)
    out += schedule.sections(plan, markdown=False)
    if plan.reservations:
        out += block("Reserved capacity", _reservation_rows(plan), RESERVATION_HEADERS)
    if plan.calibration:
        out += block("Calibration of the options used", calibration_rows(plan), CALIBRATION_HEADERS)
    out += ["Assumptions"] + [f"  - {line}" for line in _assumption_lines(plan) + _solver_lines(plan)]
    out += [""]
    if plan.estimates:
        out += ["Estimates in use"] + [f"  * {e.subject} {e.field}: {e.reasoning}" for e in plan.estimates]
        out += [""]
    out += ["Sources"] + [f"  [{k}] {s.title}. {s.address} (read {s.date_read})" for k, s in plan.sources]
    return visible("\n".join(out) + "\n")


def _r(x: float, digits: int = 2) -> float:
    return round(x, digits) + 0.0  # + 0.0 turns -0.0 into 0.0


def plan_dict(plan: Plan) -> dict[str, Any]:
    b = plan.baseline
    regions = schedule.option_regions(plan)
    return {
        "schema_version": SCHEMA_VERSION,
        "portfolio": plan.portfolio,
        "catalog": plan.catalog,
        "horizon_months": plan.horizon_months,
        "total_usd": _r(plan.total_usd),
        "compute_usd": _r(plan.compute_usd),
        "migration_usd": _r(plan.migration_usd),
        "baseline_usd": None if b.missing else _r(b.total_usd),
        "savings_usd": None if b.missing else _r(plan.savings_usd),
        "baseline": {
            "compute_usd": _r(b.compute_usd),
            "migration_usd": _r(b.migration_usd),
            "choices": [{"workload": w, "option": o} for w, o in b.choices],
            "missing": list(b.missing),
        },
        "placements": [
            {
                "workload": p.workload,
                "option": p.option,
                "region": p.region or regions.get(p.option, ""),
                "family": p.family,
                "kind": p.kind,
                "share": _r(p.share, 6),
                "instances": p.instances,
                "compute_usd": _r(p.compute_usd),
                "basis": p.basis,
            }
            for p in plan.placements
        ],
        "workloads": [
            {
                "workload": r.workload,
                "kind": r.kind,
                "codebase": r.codebase,
                "compute_usd": _r(r.compute_usd),
                "usd_per_million_tokens": None
                if r.usd_per_million_tokens is None
                else _r(r.usd_per_million_tokens, 4),
                "cost_per_run_usd": None if r.cost_per_run_usd is None else _r(r.cost_per_run_usd),
                "migration_weeks": r.migration_weeks,
                "runner_up": None
                if r.runner_up is None
                else {
                    "option": r.runner_up.option,
                    "extra_usd": _r(r.runner_up.extra_usd),
                    "note": r.runner_up.note,
                },
            }
            for r in plan.workloads
        ],
        "migrations": [
            {
                "codebase": m.codebase,
                "family": m.family,
                "weeks": m.weeks,
                "usd": _r(m.usd),
                "items": list(m.items),
            }
            for m in plan.migrations
        ],
        "capacity": [
            {
                "option": c.option,
                "region": regions.get(c.option, ""),
                "family": c.family,
                "used": c.used,
                "available": c.available,
                "binding": c.binding,
            }
            for c in plan.capacity
        ],
        "families": [
            {
                "family": f.family,
                "compute_usd": _r(f.compute_usd),
                "migration_usd": _r(f.migration_usd),
                "share": _r(f.share, 6),
                "policy_share": _r(f.policy_share, 6),
            }
            for f in plan.families
        ],
        "reservations": [
            {
                "option": r.option,
                "term": r.term,
                "committed_instances": r.committed_instances,
                "on_demand_instances": r.on_demand_instances,
                "burst_instance_hours": _r(r.burst_instance_hours),
                "burst_tier": r.burst_tier,
                "on_demand_usd": _r(r.on_demand_usd),
                "reserved_usd": _r(r.reserved_usd),
                "saving_usd": _r(r.saving_usd),
            }
            for r in plan.reservations
        ],
        "policy": {"max_family_share": plan.max_family_share},
        "solver": {
            "name": plan.solver.solver,
            "status": plan.solver.status,
            "gap_limit": plan.solver.gap_limit,
            "gap_proven": plan.solver.gap_proven,
            "time_limit_s": plan.solver.time_limit_s,
            "variables": plan.solver.variables,
            "integer_variables": plan.solver.integer_variables,
            "constraints": plan.solver.constraints,
        },
        "estimates": [
            {"subject": e.subject, "field": e.field, "reasoning": e.reasoning} for e in plan.estimates
        ],
        "measured": [{"workload": w, "option": o} for w, o in plan.measured],
        "calibration": [{"option": o, "status": text} for o, text in plan.calibration],
        "defaults": [{"assumption": text, "workloads": list(names)} for text, names in plan.defaults],
        "sources": [
            {"key": k, "title": s.title, "address": s.address, "date_read": s.date_read}
            for k, s in plan.sources
        ],
        **schedule.schedule_dict(plan),
    }


def render_json(plan: Plan) -> str:
    return json_text(plan_dict(plan))


def json_text(data: dict[str, Any]) -> str:
    """A plan's dict (`plan_dict`) as the JSON `placement plan --format json` prints."""
    return json_visible(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


CSV_COLUMNS = [
    "workload",
    "kind",
    "option",
    "family",
    "share",
    "instances",
    "compute_usd",
    "usd_per_million_tokens",
    "cost_per_run_usd",
    "basis",
    "region",
]


def render_csv(plan: Plan) -> str:
    """One row per placement (CSV_COLUMNS; `region` was added last, so earlier columns keep their place).
    The time axis's tables are `schedule.render_schedule_csv`."""
    regions = schedule.option_regions(plan)
    buffer = io.StringIO()
    writer = CsvWriter(buffer)
    writer.writerow(CSV_COLUMNS)
    for r in plan.workloads:
        for p in r.placements:
            writer.writerow(
                [
                    p.workload,
                    p.kind,
                    p.option,
                    p.family,
                    f"{p.share:.6f}",
                    p.instances,
                    f"{p.compute_usd:.2f}",
                    "" if r.usd_per_million_tokens is None else f"{r.usd_per_million_tokens:.4f}",
                    "" if r.cost_per_run_usd is None else f"{r.cost_per_run_usd:.2f}",
                    p.basis,
                    p.region or regions.get(p.option, ""),
                ]
            )
    return visible(buffer.getvalue())


RENDERERS: dict[str, Callable[[Plan], str]] = {
    "table": render_table,
    "markdown": render_markdown,
    "json": render_json,
    "csv": render_csv,
}
