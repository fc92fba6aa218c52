"""What `placement plan` writes for each --format, with the optional current-bill comparison: text
(table, markdown, json, csv, focus) or bytes (xlsx). CSV is one table: the placements (default) or
one of the time axis's tables (`--csv-table purchases|monthly|runs|ports`)."""

from __future__ import annotations

from typing import Any

from placement.analyses.current_bill import CurrentBillComparison
from placement.engine.plan import Plan
from placement.inputs.models import Catalog
from placement.render.current_bill import current_bill_dict, render_current_bill
from placement.render.report import RENDERERS, json_text
from placement.render.schedule import CSV_TABLES, render_schedule_csv

PLAN_CSV_TABLES = ("placements", *CSV_TABLES)


def plan_output(
    plan: Plan,
    data: dict[str, Any],
    catalog: Catalog,
    format: str,
    comparison: CurrentBillComparison | None = None,
    start_month: str = "2027-01",
    csv_table: str = "placements",
) -> str | bytes:
    """`data` is `plan_dict(plan)`, already verified."""
    if format == "csv" and csv_table != "placements":
        return render_schedule_csv(plan, csv_table)
    current = None if comparison is None else current_bill_dict(comparison)
    if format == "xlsx":
        from placement.render.xlsx import render_xlsx

        return render_xlsx(data, current)
    if format == "focus":
        from placement.render.focus import render_focus

        return render_focus(plan, catalog, start_month)
    if format == "json":
        return json_text(data if current is None else {**data, "current_bill": current})
    text = RENDERERS[format](plan)
    if comparison is not None:
        text += "\n" + render_current_bill(comparison, format == "markdown")
    return text
