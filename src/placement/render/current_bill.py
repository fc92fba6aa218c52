"""Rendering "Against your current bill" (`plan --current FOCUS_FILE`): Markdown or terminal table,
and the JSON object added to the plan under `current_bill`."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from placement.analyses.current_bill import CurrentBillComparison, VariantAgainstBill


def _usd(x: float) -> str:
    return f"-${-x:,.0f}" if x < -0.5 else f"${x:,.0f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.0f}%"


def render_current_bill(c: CurrentBillComparison, markdown: bool) -> str:
    fmt = "github" if markdown else "simple"
    title = "## Against your current bill" if markdown else "AGAINST YOUR CURRENT BILL"
    change = c.plan_monthly_usd - c.current_monthly_usd
    lines = [
        title,
        "",
        f"Bill: {c.file} (FOCUS {c.version}), {c.period_start} to {c.period_end} "
        f"({c.period_hours:,.0f} h), scaled to a month.",
        "",
        f"- Accelerator spend today: {_usd(c.current_monthly_usd)} a month; the plan: "
        f"{_usd(c.plan_monthly_usd)} a month ({'+' if change >= 0 else '-'}{_usd(abs(change))}).",
        f"- Spend the plan does not explain (instance types or regions where it places nothing): "
        f"{_usd(c.unexplained_monthly_usd)} a month.",
        f"- Commitments and capacity reservations in force: {_usd(c.sunk_monthly_usd)} a month, "
        "paid whether used or not.",
    ]
    if c.unmapped_rows:
        lines.append(
            f"- {c.unmapped_rows:,} EC2 usage rows ({_usd(c.unmapped_monthly_usd)} a month) name no "
            "instance type the reader could map."
        )
    lines += ["", "Per instance type (average instances over the bill's period):", ""]
    rows = [
        [
            r.instance_type,
            r.region,
            f"{r.current_instances:,.1f}",
            _usd(r.current_monthly_usd),
            str(r.plan_instances),
            _usd(r.plan_monthly_usd),
            "" if r.explained else "not explained by the workloads",
        ]
        for r in c.rows
    ]
    headers = ["Instance type", "Region", "Now (avg)", "Now /month", "Plan", "Plan /month", "Note"]
    lines.append(tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True))
    if c.commitments:
        lines += [
            "",
            "Commitments and capacity reservations in force (the optimizer does not use them yet; shown as "
            "sunk cost):",
            "",
        ]
        commit_rows = [
            [
                k.type or "commitment",
                k.id,
                k.instance_type or "any (spend)",
                k.region,
                "" if k.committed_instances is None else f"{k.committed_instances:,.1f}",
                _usd(k.monthly_usd),
                _pct(k.utilisation),
                "" if k.covers_plan_instances is None else str(k.covers_plan_instances),
                _usd(k.sunk_over_horizon_usd),
            ]
            for k in c.commitments
        ]
        commit_headers = [
            "Type",
            "Id",
            "Instance type",
            "Region",
            "Instances",
            "Per month",
            "Utilisation",
            "Covers plan instances",
            f"Sunk over {c.horizon_months:g} months",
        ]
        lines.append(tabulate(commit_rows, headers=commit_headers, tablefmt=fmt, disable_numparse=True))
        lines += [
            "",
            "Remaining terms are not in FOCUS 1.0/1.2 cost-and-usage rows: the sunk figure assumes each "
            "commitment lasts the whole horizon (an upper bound); for a capacity reservation it is what "
            "the bill charged.",
        ]
    return "\n".join(lines) + "\n"


def current_bill_dict(c: CurrentBillComparison) -> dict[str, Any]:
    def r2(x: float) -> float:
        return round(x, 2)

    return {
        "file": c.file,
        "focus_version": c.version,
        "period_start": c.period_start,
        "period_end": c.period_end,
        "period_hours": r2(c.period_hours),
        "currency": c.currency,
        "current_monthly_usd": r2(c.current_monthly_usd),
        "plan_monthly_usd": r2(c.plan_monthly_usd),
        "unexplained_monthly_usd": r2(c.unexplained_monthly_usd),
        "sunk_monthly_usd": r2(c.sunk_monthly_usd),
        "other_usage_monthly_usd": r2(c.other_usage_monthly_usd),
        "unmapped_rows": c.unmapped_rows,
        "instance_types": [
            {
                "instance_type": r.instance_type,
                "region": r.region,
                "current_instances": round(r.current_instances, 3),
                "current_monthly_usd": r2(r.current_monthly_usd),
                "plan_instances": r.plan_instances,
                "plan_monthly_usd": r2(r.plan_monthly_usd),
                "explained": r.explained,
            }
            for r in c.rows
        ],
        "commitments": [
            {
                "id": k.id,
                "type": k.type,
                "category": k.category,
                "instance_type": k.instance_type or None,
                "region": k.region,
                "committed_instances": None
                if k.committed_instances is None
                else round(k.committed_instances, 3),
                "monthly_usd": r2(k.monthly_usd),
                "utilisation": None if k.utilisation is None else round(k.utilisation, 4),
                "covers_plan_instances": k.covers_plan_instances,
                "sunk_over_horizon_usd": r2(k.sunk_over_horizon_usd),
            }
            for k in c.commitments
        ],
    }


def render_variants_against_bill(rows: tuple[VariantAgainstBill, ...], markdown: bool) -> str:
    title = (
        "## Each variant against your current bill" if markdown else "EACH VARIANT AGAINST YOUR CURRENT BILL"
    )
    table = [
        [
            r.label,
            _usd(r.current_monthly_usd),
            "no plan" if r.plan_monthly_usd is None else _usd(r.plan_monthly_usd),
            "" if r.plan_monthly_usd is None else _usd(r.plan_monthly_usd - r.current_monthly_usd),
        ]
        for r in rows
    ]
    headers = ["Plan", "Bill /month", "Plan compute /month", "Change"]
    body = tabulate(
        table, headers=headers, tablefmt="github" if markdown else "simple", disable_numparse=True
    )
    return f"{title}\n\n{body}\n"
