"""The time-phased plan in words and tables: what to buy and when, month by month use against
capacity and commitments, the training run calendar, the port schedule and spend by region.

Pure: each function takes a Plan and returns lines, rows or a dict; `report.py` and `memo.py` place
them in their documents, `plan_dict` adds `schedule_dict` to the JSON, `render_schedule_csv` is the
CSV of one of the tables (`plan --format csv --csv-table monthly`).

A plan is time-phased (`phased`) when it has more than one period or buys anything but on-demand
hours; a single-period, on-demand plan renders as before the time axis (with its post-hoc
reservation advice).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from placement.engine.plan import MonthUse, Plan, Purchase
from placement.engine.timeline import TERM_MONTHS
from placement.render.text import CsvWriter, pct, table, usd, visible

COMMITMENTS = tuple(TERM_MONTHS)  # "1-year", "3-year"


def phased(plan: Plan) -> bool:
    return len(plan.periods) > 1 or any(p.instrument != "on-demand" for p in plan.purchases)


def option_regions(plan: Plan) -> dict[str, str]:
    """The region of every option the plan names (placements, monthly use, purchases)."""
    out: dict[str, str] = {}
    for option, region in (
        *((p.option, p.region) for p in plan.placements),
        *((m.option, m.region) for m in plan.monthly),
        *((p.option, p.region) for p in plan.purchases),
    ):
        if region:
            out.setdefault(option, region)
    return out


def named(option: str, region: str) -> str:
    """'inf2.xlarge (us-east-1)', or the bare id when the region is not known."""
    return f"{option} ({region})" if region else option


def label(plan: Plan, period: int) -> str:
    labels = {p.index: p.label for p in plan.periods}
    if period in labels:
        return labels[period]
    return "after the horizon" if plan.periods and period > plan.periods[-1].index else f"period {period}"


def months(plan: Plan, periods: Iterable[int]) -> str:
    """Periods as compact ranges of labels: 'M2–M4, M7'."""
    ordered = sorted(set(periods))
    runs: list[tuple[int, int]] = []
    for p in ordered:
        if runs and p == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return ", ".join(label(plan, a) if a == b else f"{label(plan, a)}–{label(plan, b)}" for a, b in runs)


def _hours(x: float) -> str:
    return f"{x:,.0f}"


def _covered(p: Purchase) -> range:
    return range(p.period, p.period + max(1, p.periods))


def block_days(p: Purchase) -> float:
    """A Capacity Block's length: instance-hours ÷ (instances · 24)."""
    return p.instance_hours / (p.instances * 24) if p.instances else 0.0


def _days(days: float) -> str:
    whole = round(days)
    text = f"{whole:g}" if abs(days - whole) < 0.05 else f"{days:.1f}"
    return f"{text} day" + ("" if text == "1" else "s")


def _commitment_line(plan: Plan, p: Purchase) -> str:
    term_months = TERM_MONTHS[p.instrument]
    years = term_months // 12
    head = (
        f"{label(plan, p.period)}: commit {p.instances} × {named(p.option, p.region)} for "
        f"{years} year{'' if years == 1 else 's'}"
    )
    inside_months = sum(x.months for x in plan.periods if x.index in _covered(p))
    if p.usd_beyond_horizon > 0.005:
        money = f"{usd(p.usd)} inside the horizon, {usd(p.usd_beyond_horizon)} after it (not in the total)"
    elif plan.beyond_horizon == "charge-full-term" and term_months > inside_months + 1e-9 and p.instances:
        # the whole term is in the total; its rate per instance-hour gives the part inside
        inside = p.usd * p.instance_hours / (p.instances * term_months * plan.hours_per_month)
        money = f"{usd(p.usd)} for the whole term, in the total ({usd(inside)} inside the horizon)"
    else:
        money = f"{usd(p.usd)} inside the horizon"
    return f"{head} — {money}" + (f"; {p.note}" if p.note else "")


def _block_line(plan: Plan, p: Purchase) -> str:
    """One block, or blocks over several months (instance-hours ÷ (instances · 24) days in all)."""
    note = f" ({p.note})" if p.note else ""
    many = p.periods > 1
    return (
        f"{months(plan, _covered(p))}: book {p.instances} × {named(p.option, p.region)} "
        f"{'Capacity Blocks' if many else 'Capacity Block'} for {_days(block_days(p))}"
        f"{' in all' if many else ''}{note} — {usd(p.usd)}"
    )


def _on_demand_lines(plan: Plan) -> list[str]:
    """One line per option bought on demand: where, the most instances at once, hours, cost."""
    by_option: dict[tuple[str, str], list[Purchase]] = {}
    for p in plan.purchases:
        if p.instrument == "on-demand" and (p.instance_hours > 0 or p.usd > 0):
            by_option.setdefault((p.option, p.region), []).append(p)
    lines = []
    for (option, region), items in sorted(
        by_option.items(), key=lambda kv: (min(p.period for p in kv[1]), kv[0])
    ):
        when = months(plan, (q for p in items for q in _covered(p)))
        peak = max(p.instances for p in items)
        hours = sum(p.instance_hours for p in items)
        lines.append(
            f"{when}: on demand, up to {peak} × {named(option, region)} at once, "
            f"{_hours(hours)} instance-hours — {usd(sum(p.usd for p in items))}"
        )
    return lines


def purchase_lines(plan: Plan) -> list[str]:
    """The purchase schedule a buyer acts on: commitments and blocks in month order, then on demand."""
    ahead = sorted(
        (p for p in plan.purchases if p.instrument != "on-demand"),
        key=lambda p: (p.period, p.instrument == "capacity-block", p.option),
    )
    lines = [
        _commitment_line(plan, p) if p.instrument in COMMITMENTS else _block_line(plan, p) for p in ahead
    ]
    return lines + _on_demand_lines(plan)


def spend_line(plan: Plan) -> str:
    """The plan's compute by instrument, and the committed spend the total leaves out."""
    parts = []
    for name, instruments in (
        ("commitments", COMMITMENTS),
        ("Capacity Blocks", ("capacity-block",)),
        ("on demand", ("on-demand",)),
    ):
        spent = sum(p.usd for p in plan.purchases if p.instrument in instruments)
        if spent > 0.005:
            parts.append(f"{name} {usd(spent)}")
    text = "Compute by purchase: " + (", ".join(parts) or "none") + "."
    if plan.committed_beyond_usd > 0.005:
        text += (
            f" Commitments run on after the horizon for another {usd(plan.committed_beyond_usd)}, not in the "
            "total (purchase rule: horizon-only)."
        )
    elif plan.beyond_horizon == "charge-full-term" and any(
        p.instrument in COMMITMENTS for p in plan.purchases
    ):
        text += " Commitments are charged for their whole term (purchase rule: charge-full-term)."
    return text


def on_demand_instances(m: MonthUse) -> int:
    """Instances held beyond the commitments and blocks in force, when the month buys on-demand hours
    (a training run held part of the month may fit in its blocks' hours: then none)."""
    if m.on_demand_hours <= 0:
        return 0
    return max(0, m.inference_instances + m.training_instances - m.committed_instances - m.block_instances)


def _in_use(m: MonthUse) -> bool:
    return bool(
        m.inference_instances
        or m.training_instances
        or m.committed_instances
        or m.block_instances
        or m.on_demand_hours > 0
        or m.usd > 0.005
    )


MONTHLY_HEADERS = [
    "months",
    "option",
    "region",
    "held",
    "committed",
    "block",
    "on demand",
    "on-demand h",
    "capacity",
    "commitment used",
    "cost a month",
]


def _spans(
    plan: Plan, cells: Sequence[tuple[int, tuple[str, ...]]]
) -> list[tuple[int, str, tuple[str, ...]]]:
    """Consecutive periods with the same cells as one row: (first period, 'M1–M12', cells)."""
    groups: list[tuple[int, int, tuple[str, ...]]] = []
    for period, row in sorted(cells, key=lambda c: c[0]):
        if groups and groups[-1][2] == row and groups[-1][1] == period - 1:
            groups[-1] = (groups[-1][0], period, row)
        else:
            groups.append((period, period, row))
    return [(a, months(plan, range(a, b + 1)), row) for a, b, row in groups]


def monthly_rows(plan: Plan) -> list[list[str]]:
    """Per option in use, its months as rows (consecutive months alike as one row), in month order:
    instances held against capacity, by purchase type, commitment utilisation, the month's cost."""
    by_option: dict[tuple[str, str], list[tuple[int, tuple[str, ...]]]] = {}
    for m in plan.monthly:
        if not _in_use(m):
            continue
        held = m.inference_instances + m.training_instances
        row: tuple[str, ...] = (
            str(held),
            str(m.committed_instances),
            str(m.block_instances),
            str(on_demand_instances(m)),
            _hours(m.on_demand_hours),
            str(m.capacity) + (" (full)" if m.capacity and held >= m.capacity else ""),
            "-" if m.utilisation is None else pct(m.utilisation),
            usd(m.usd),
        )
        by_option.setdefault((m.option, m.region), []).append((m.period, row))
    rows = []
    for i, ((option, region), cells) in enumerate(by_option.items()):
        for first, span, same in _spans(plan, cells):
            rows.append((first, i, [span, option, region, *same]))
    return [r[2] for r in sorted(rows, key=lambda r: (r[0], r[1]))]


def utilisation_by_period(plan: Plan) -> list[tuple[int, int, float, float]]:
    """(period, committed instances, committed hours, hours used) for every period with commitments."""
    out: dict[int, tuple[int, float, float]] = {}
    for m in plan.monthly:
        if m.committed_hours > 0:
            n, paid, used = out.get(m.period, (0, 0.0, 0.0))
            out[m.period] = (
                n + m.committed_instances,
                paid + m.committed_hours,
                used + m.committed_hours_used,
            )
    return [(p, *out[p]) for p in sorted(out)]


def utilisation_line(plan: Plan) -> str:
    rows = utilisation_by_period(plan)
    if not rows:
        return "No commitments: nothing is paid for unused hours."
    paid = sum(r[2] for r in rows)
    used = sum(r[3] for r in rows)
    each = ", ".join(
        f"{span} {cells[0]}" for _, span, cells in _spans(plan, [(p, (pct(u / h),)) for p, _, h, u in rows])
    )
    return (
        f"Commitment utilisation (instance-hours used ÷ paid): {each}; over the horizon {pct(used / paid)} "
        f"({_hours(used)} of {_hours(paid)} committed instance-hours carry work)."
    )


UTILISATION_HEADERS = ["months", "committed instances", "paid h a month", "used h a month", "utilisation"]


def utilisation_rows(plan: Plan) -> list[list[str]]:
    """Per month (consecutive months alike as one row): committed instances, hours paid and used."""
    cells = [(p, (str(n), _hours(h), _hours(u), pct(u / h))) for p, n, h, u in utilisation_by_period(plan)]
    return [[span, *row] for _, span, row in _spans(plan, cells)]


RUN_HEADERS = ["workload", "option", "region", "window", "active", "at once", "instance-hours", "by month"]


def run_rows(plan: Plan) -> list[list[str]]:
    regions = option_regions(plan)
    rows = []
    for r in plan.runs:
        active = [m for m in r.months if m.instance_hours > 0]
        rows.append(
            [
                r.workload,
                r.option,
                regions.get(r.option, ""),
                months(plan, range(r.earliest, r.latest + 1)),
                months(plan, (m.period for m in active)) or "-",
                str(max((m.instances for m in active), default=0)),
                _hours(sum(m.instance_hours for m in active)),
                "; ".join(
                    f"{span} {cells[0]} h" + (" each" if "–" in span else "")
                    for first, span, cells in _spans(
                        plan, [(m.period, (_hours(m.instance_hours),)) for m in active]
                    )
                ),
            ]
        )
    return rows


PORT_HEADERS = ["codebase", "family", "weeks", "engineers", "start", "ready"]


def port_rows(plan: Plan) -> list[list[str]]:
    return [
        [
            p.codebase,
            p.family,
            f"{p.weeks:g}",
            str(p.engineers) if p.engineers else "no team given",
            label(plan, p.start),
            label(plan, p.ready),
        ]
        for p in plan.ports
    ]


REGION_HEADERS = ["region", "compute", "share"]


def region_rows(plan: Plan) -> list[list[str]]:
    total = sum(x for _, x in plan.region_usd)
    return [[r, usd(x), pct(x / total) if total else "-"] for r, x in plan.region_usd]


PURCHASE_NOTE = (
    "Commitments start at the beginning of the month named and are paid every hour of their term, "
    "used or not; Capacity Blocks are booked for the days shown (instance-hours ÷ (instances · 24)); "
    "on-demand hours need no purchase ahead."
)
MONTHLY_NOTE = (
    "Instances held at once (inference at the month's peak, training runs active), by how they are "
    "bought: committed, Capacity Block, on demand (the rest); capacity is the calendar's figure."
)


def sections(plan: Plan, markdown: bool) -> list[str]:
    """The time-phased sections of the `plan` report (empty for a plan that is not time-phased)."""
    if not phased(plan):
        return []
    fmt = "github" if markdown else "simple"
    bullet = "- " if markdown else "  - "

    def block(title: str, rows: list[list[str]], headers: list[str], note: str = "") -> list[str]:
        if not rows:
            return []
        head = [f"## {title}", ""] if markdown else [title]
        if note:
            head += [note, ""] if markdown else [f"  {note}"]
        return head + [table(rows, headers=headers, tablefmt=fmt), ""]

    out = ["## Purchase schedule", ""] if markdown else ["Purchase schedule"]
    out += [PURCHASE_NOTE, ""] if markdown else [f"  {PURCHASE_NOTE}"]
    out += [bullet + line for line in purchase_lines(plan)] or [bullet + "nothing to buy"]
    out += ["", spend_line(plan), ""] if markdown else [f"  {spend_line(plan)}", ""]
    out += block("Month by month", monthly_rows(plan), MONTHLY_HEADERS, MONTHLY_NOTE)
    out += [utilisation_line(plan), ""] if markdown else [f"  {utilisation_line(plan)}", ""]
    out += block("Training run calendar", run_rows(plan), RUN_HEADERS)
    out += block("Port schedule", port_rows(plan), PORT_HEADERS)
    out += block("Spend by region", region_rows(plan), REGION_HEADERS)
    return out


def memo_lines(plan: Plan, chart: str | None) -> list[str]:
    """The memo's answer to "How much reserved capacity do we need?" for a time-phased plan."""
    out = [
        "What to buy and when, month by month (commitments are paid whether used or not; "
        "Capacity Blocks are booked for the days shown):",
        "",
    ]
    out += [f"- {line}" for line in purchase_lines(plan)] + ["", spend_line(plan), ""]
    rows = utilisation_rows(plan)
    if rows:
        out += [utilisation_line(plan), ""]
        out += [table(rows, headers=UTILISATION_HEADERS, tablefmt="github", disable_numparse=True), ""]
    full = [
        m for m in plan.monthly if m.capacity and m.inference_instances + m.training_instances >= m.capacity
    ]
    if full:
        where: dict[tuple[str, str], list[int]] = {}
        for m in full:
            where.setdefault((m.option, m.region), []).append(m.period)
        out += [
            "Capacity binds: "
            + "; ".join(f"{named(o, r)} in {months(plan, ps)}" for (o, r), ps in where.items())
            + ". The month-by-month table in `placement plan` shows every option against its capacity.",
            "",
        ]
    if chart:
        out += [f"The chart beside this memo ([{chart}]({chart})) shows instances by family per month "
                "against capacity.", ""]  # fmt: skip
    return out


# ------------------------------------------------------------------------------------------- data


def _r(x: float, digits: int = 2) -> float:
    return round(x, digits) + 0.0  # + 0.0 turns -0.0 into 0.0


def schedule_dict(plan: Plan) -> dict[str, Any]:
    """The JSON fields of the time axis (README "JSON output"); keys are the dataclasses' fields."""
    regions = option_regions(plan)
    return {
        "periods": [
            {"index": p.index, "label": p.label, "months": p.months, "hours": _r(p.hours, 4)}
            for p in plan.periods
        ],
        "beyond_horizon": plan.beyond_horizon,
        "committed_beyond_usd": _r(plan.committed_beyond_usd),
        "unused_commitment_usd": _r(plan.unused_commitment_usd),
        "region_usd": [{"region": r, "compute_usd": _r(x)} for r, x in plan.region_usd],
        "purchases": [
            {
                "period": p.period,
                "option": p.option,
                "region": p.region,
                "instrument": p.instrument,
                "instances": p.instances,
                "periods": p.periods,
                "instance_hours": _r(p.instance_hours, 4),
                "usd": _r(p.usd),
                "usd_beyond_horizon": _r(p.usd_beyond_horizon),
                "note": p.note,
            }
            for p in plan.purchases
        ],
        "monthly": [
            {
                "period": m.period,
                "option": m.option,
                "region": m.region,
                "family": m.family,
                "inference_instances": m.inference_instances,
                "training_instances": m.training_instances,
                "training_hours": _r(m.training_hours, 4),
                "committed_instances": m.committed_instances,
                "committed_hours": _r(m.committed_hours, 4),
                "committed_hours_used": _r(m.committed_hours_used, 4),
                "utilisation": None if m.utilisation is None else _r(m.utilisation, 6),
                "on_demand_hours": _r(m.on_demand_hours, 4),
                "block_instances": m.block_instances,
                "block_hours": _r(m.block_hours, 4),
                "capacity": m.capacity,
                "usd": _r(m.usd),
            }
            for m in plan.monthly
        ],
        "runs": [
            {
                "workload": r.workload,
                "option": r.option,
                "region": regions.get(r.option, ""),
                "earliest": r.earliest,
                "latest": r.latest,
                "months": [
                    {"period": m.period, "instance_hours": _r(m.instance_hours, 4), "instances": m.instances}
                    for m in r.months
                ],
            }
            for r in plan.runs
        ],
        "ports": [
            {
                "codebase": p.codebase,
                "family": p.family,
                "weeks": p.weeks,
                "engineers": p.engineers,
                "start": p.start,
                "ready": p.ready,
            }
            for p in plan.ports
        ],
    }


CSV_TABLES: dict[str, list[str]] = {
    "purchases": [
        "period",
        "label",
        "instrument",
        "option",
        "region",
        "instances",
        "periods",
        "instance_hours",
        "block_days",
        "usd",
        "usd_beyond_horizon",
        "note",
    ],
    "monthly": [
        "period",
        "label",
        "option",
        "region",
        "family",
        "inference_instances",
        "training_instances",
        "training_hours",
        "committed_instances",
        "committed_hours",
        "committed_hours_used",
        "utilisation",
        "on_demand_instances",
        "on_demand_hours",
        "block_instances",
        "block_hours",
        "capacity",
        "usd",
    ],
    "runs": ["workload", "option", "region", "period", "label", "instance_hours", "instances"],
    "ports": ["codebase", "family", "weeks", "engineers", "start", "start_label", "ready", "ready_label"],
}


def _csv_rows(plan: Plan, name: str) -> list[list[object]]:
    if name == "purchases":
        return [
            [
                p.period,
                label(plan, p.period),
                p.instrument,
                p.option,
                p.region,
                p.instances,
                p.periods,
                f"{p.instance_hours:.4f}",
                f"{block_days(p):.4f}" if p.instrument == "capacity-block" else "",
                f"{p.usd:.2f}",
                f"{p.usd_beyond_horizon:.2f}",
                p.note,
            ]
            for p in plan.purchases
        ]
    if name == "monthly":
        return [
            [
                m.period,
                label(plan, m.period),
                m.option,
                m.region,
                m.family,
                m.inference_instances,
                m.training_instances,
                f"{m.training_hours:.4f}",
                m.committed_instances,
                f"{m.committed_hours:.4f}",
                f"{m.committed_hours_used:.4f}",
                "" if m.utilisation is None else f"{m.utilisation:.6f}",
                on_demand_instances(m),
                f"{m.on_demand_hours:.4f}",
                m.block_instances,
                f"{m.block_hours:.4f}",
                m.capacity,
                f"{m.usd:.2f}",
            ]
            for m in plan.monthly
        ]
    if name == "runs":
        regions = option_regions(plan)
        return [
            [
                r.workload,
                r.option,
                regions.get(r.option, ""),
                m.period,
                label(plan, m.period),
                f"{m.instance_hours:.4f}",
                m.instances,
            ]
            for r in plan.runs
            for m in r.months
        ]
    return [
        [
            p.codebase,
            p.family,
            f"{p.weeks:g}",
            p.engineers,
            p.start,
            label(plan, p.start),
            p.ready,
            label(plan, p.ready),
        ]
        for p in plan.ports
    ]


def render_schedule_csv(plan: Plan, name: str) -> str:
    """One time-axis table as CSV (`plan --format csv --csv-table NAME`): columns in CSV_TABLES."""
    buffer = io.StringIO()
    writer = CsvWriter(buffer)
    writer.writerow(CSV_TABLES[name])
    for row in _csv_rows(plan, name):
        writer.writerow(row)
    return visible(buffer.getvalue())
