"""Pure rendering of comparisons (`placement compare`) and stress tests (`placement stress`).

In the style of a cost-diff pull-request comment: totals base → new with the change in USD and %,
spend per family, and per workload only what moved: `~` changed option or share, `+` newly
placed, `-` no longer placeable, each with its reason.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from placement.analyses.scenarios import (
    Comparison,
    Outcome,
    RecourseFigures,
    StressResult,
    committed_recourse,
)
from placement.engine.plan import SCHEMA_VERSION, Plan
from placement.render.report import plan_dict
from placement.render.text import CsvWriter, json_visible, pct, pct_signed, table, usd, usd_signed, visible


def change(base: float, new: float) -> str:
    """The difference in dollars and, against a base that is not $0, in percent."""
    if abs(base) < 0.5:
        return usd_signed(new - base)
    return f"{usd_signed(new - base)} ({pct_signed((new - base) / base)})"


def _total_rows(c: Comparison) -> list[list[str]]:
    b, n = c.base.plan, c.new.plan
    assert b is not None and n is not None
    rows = [
        ["total", usd(b.total_usd), usd(n.total_usd), change(b.total_usd, n.total_usd)],
        ["compute", usd(b.compute_usd), usd(n.compute_usd), change(b.compute_usd, n.compute_usd)],
        ["migration", usd(b.migration_usd), usd(n.migration_usd), change(b.migration_usd, n.migration_usd)],
    ]
    rows += [[f"  {g}", usd(x), usd(y), change(x, y)] for g, x, y in c.families]
    if b.committed_beyond_usd > 0.5 or n.committed_beyond_usd > 0.5:  # horizon-only commitments
        x, y = b.committed_beyond_usd, n.committed_beyond_usd
        rows.append(["committed after the horizon (not in total)", usd(x), usd(y), change(x, y)])
    return rows


def _change_rows(c: Comparison) -> list[list[str]]:
    return [
        [ch.marker, ch.workload, ch.before, ch.after, usd_signed(ch.delta_usd), ch.reason] for ch in c.changes
    ]


CHANGE_HEADERS = ["", "workload", "before", "after", "cost change", "why"]


def _comparison_lines(c: Comparison, fmt: str, level: str) -> list[str]:
    out = [f"{level} {c.new.label} against {c.base.label}", ""]
    if c.base.plan is None:
        return out + ["The base has no plan:", *[f"- {r}" for r in c.base.infeasible], ""]
    if c.new.plan is None:
        out += [
            f"No plan under {c.new.label}: the base total {usd(c.base.plan.total_usd)} has no "
            "fallback at any price:",
            "",
        ]
        out += [f"- {r}" for r in c.new.infeasible] + [""]
    else:
        out += [table(_total_rows(c), headers=["", c.base.label, c.new.label, "change"], tablefmt=fmt), ""]
    if c.changes:
        out += ["Workloads that moved (~ moved, + newly placed, - no longer placeable):", ""]
        out += [table(_change_rows(c), headers=CHANGE_HEADERS, tablefmt=fmt), ""]
    elif c.new.plan is not None:
        out += ["No workload moved.", ""]
    return out


def render_comparisons(comparisons: list[Comparison], markdown: bool, title: str) -> str:
    fmt = "github" if markdown else "simple"
    out = [("# " if markdown else "") + title, ""]
    for c in comparisons:
        out += _comparison_lines(c, fmt, "##" if markdown else "==")
    out += [_estimates_note(comparisons)]
    return visible("\n".join(out).rstrip() + "\n")


def _estimates_note(comparisons: list[Comparison]) -> str:
    what_ifs = sorted(
        {
            f"{e.subject} {e.field}: {e.reasoning}"
            for c in comparisons
            if c.new.plan is not None
            for e in c.new.plan.estimates
            if e.reasoning.startswith("what-if:")
        }
    )
    lines = ["Changed figures in use (what-if estimates):"] + [f"- {w}" for w in what_ifs] if what_ifs else []
    lines.append(
        "Every plan above is optimal for its inputs; run `placement plan` on a variant for its full "
        "assumptions, estimates and sources."
    )
    return "\n".join(lines)


def _outcome_dict(o: Outcome) -> dict[str, Any]:
    return {
        "label": o.label,
        "plan": None if o.plan is None else plan_dict(o.plan),
        "not_placeable": [{"workload": w, "reason": r} for w, r in o.dropped],
        "infeasible": list(o.infeasible),
    }


def comparison_dict(c: Comparison) -> dict[str, Any]:
    delta = c.delta_usd
    base_total = c.base.plan.total_usd if c.base.plan else None
    return {
        "base": _outcome_dict(c.base),
        "new": _outcome_dict(c.new),
        "diff": {
            "total_usd": None if delta is None else round(delta, 2),
            "percent": None if delta is None or not base_total else round(100 * delta / base_total, 4),
            "families": [
                {"family": g, "base_usd": round(x, 2), "new_usd": round(y, 2)} for g, x, y in c.families
            ],
            "changes": [
                {
                    "marker": ch.marker,
                    "workload": ch.workload,
                    "before": ch.before,
                    "after": ch.after,
                    "delta_usd": round(ch.delta_usd, 2),
                    "reason": ch.reason,
                }
                for ch in c.changes
            ],
        },
    }


def render_comparisons_json(comparisons: list[Comparison]) -> str:
    return json_visible(
        json.dumps(
            {"schema_version": SCHEMA_VERSION, "comparisons": [comparison_dict(c) for c in comparisons]},
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


def render_comparisons_csv(comparisons: list[Comparison]) -> str:
    buffer = io.StringIO()
    writer = CsvWriter(buffer)
    writer.writerow(["base", "new", "marker", "workload", "before", "after", "delta_usd", "reason"])
    for c in comparisons:
        writer.writerow(
            [
                c.base.label,
                c.new.label,
                "=",
                "(total)",
                _total(c.base.plan),
                _total(c.new.plan),
                "" if c.delta_usd is None else f"{c.delta_usd:.2f}",
                "; ".join(c.new.infeasible),
            ]
        )
        for ch in c.changes:
            writer.writerow(
                [
                    c.base.label,
                    c.new.label,
                    ch.marker,
                    ch.workload,
                    ch.before,
                    ch.after,
                    f"{ch.delta_usd:.2f}",
                    ch.reason,
                ]
            )
    return visible(buffer.getvalue())


def _total(plan: Plan | None) -> str:
    return "no plan" if plan is None else f"{plan.total_usd:.2f}"


COMPARE_RENDERERS: dict[str, Callable[[list[Comparison], str], str]] = {
    "table": lambda cs, title: render_comparisons(cs, False, title),
    "markdown": lambda cs, title: render_comparisons(cs, True, title),
    "json": lambda cs, title: render_comparisons_json(cs),
    "csv": lambda cs, title: render_comparisons_csv(cs),
}


# --------------------------------------------------------------------------- stress


def _headroom_rows(plan: Plan) -> list[list[str]]:
    rows = []
    for family in ("trainium", "inferentia", "gpu"):
        used = sum(c.used for c in plan.capacity if c.family == family)
        available = sum(c.available for c in plan.capacity if c.family == family)
        binding = [c.option for c in plan.capacity if c.family == family and c.binding]
        rows.append(
            [
                family,
                str(used),
                str(available),
                pct(1 - used / available) if available else "-",
                ", ".join(binding),
            ]
        )
    return rows


def _stress_summary_rows(base: Outcome, results: tuple[StressResult, ...]) -> list[list[str]]:
    assert base.plan is not None
    rows = []
    for r in results:
        c = r.comparison
        moved = sum(1 for ch in c.changes if ch.marker == "~")
        lost = [ch.workload for ch in c.changes if ch.marker == "-"]
        if c.new.plan is None:
            rows.append([r.scenario.name, "no plan", "-", "-", "see below"])
            continue
        rows.append(
            [
                r.scenario.name,
                usd(c.new.plan.total_usd),
                change(base.plan.total_usd, c.new.plan.total_usd),
                str(moved),
                ", ".join(lost) or "none",
            ]
        )
    return rows


def render_stress(base: Outcome, results: tuple[StressResult, ...], markdown: bool, title: str) -> str:
    fmt = "github" if markdown else "simple"
    h1, h2 = ("# ", "## ") if markdown else ("", "== ")
    assert base.plan is not None
    out = [
        f"{h1}{title}",
        "",
        f"Base plan: {usd(base.plan.total_usd)} over {base.plan.horizon_months:g} months.",
        "",
    ]
    out += [f"{h2}Capacity headroom in the base plan", ""]
    out += [
        table(
            _headroom_rows(base.plan),
            headers=["family", "used", "available", "headroom", "binding"],
            tablefmt=fmt,
            disable_numparse=True,
        ),
        "",
    ]
    out += [f"{h2}Shocks", ""]
    out += [
        table(
            _stress_summary_rows(base, results),
            headers=["shock", "total", "extra cost", "workloads moved", "cannot be placed"],
            tablefmt=fmt,
            disable_numparse=True,
        ),
        "",
    ]
    out += [f"{h2}Committed recourse: the shocks with the base plan's commitments already bought", ""]
    out += _recourse_lines(results, fmt)
    for r in results:
        out += _comparison_lines(r.comparison, fmt, "###" if markdown else "--")
    out += [
        "Each shock is re-planned from scratch (optimal for the shocked inputs), and, when the base plan "
        "commits to anything, again with its commitments kept. Workloads no option can run under a shock "
        "are left out of its plan and listed with the reason."
    ]
    return visible("\n".join(out).rstrip() + "\n")


def _money(value: float | None) -> str:
    return "no plan" if value is None else usd(value)


def recourse_row(f: RecourseFigures) -> list[str]:
    """One shock's committed-recourse row (shock, from scratch, commitments kept, signing first
    costs, stranded commitments).  The plan with the commitments kept is one the plan from scratch
    could also buy, so signing first costs nothing below zero: a negative figure means the plan
    from scratch stopped short of its optimum, inside its proven gap, and the cell says so."""
    first = f.signing_first_usd
    cell = "-" if first is None else usd_signed(first)
    if first is not None and round(first) < 0:
        cell += " (from scratch stopped within its gap)"
    stranded = f"{usd(f.stranded_usd)} ({f.stranded_hours:,.0f} h)"
    return [f.shock, _money(f.scratch_usd), _money(f.kept_usd), cell, stranded]


def _recourse_lines(results: tuple[StressResult, ...], fmt: str) -> list[str]:
    if not any(r.recourse is not None for r in results):
        return [
            "The base plan commits to nothing (no 1-year or 3-year commitment, no Capacity Block): under "
            "every shock the plan from scratch is the recourse.",
            "",
        ]
    rows = [recourse_row(f) for f in committed_recourse(results)]
    return [
        table(
            rows,
            headers=[
                "shock",
                "from scratch",
                "commitments kept",
                "signing first costs",
                "stranded commitments",
            ],
            tablefmt=fmt,
            disable_numparse=True,
        ),
        "",
        "Commitments kept: the shock re-planned with every 1-year and 3-year commitment of the base plan "
        "already bought, and the Capacity Blocks that start before the shock's first month. Signing first "
        "costs = commitments kept − from scratch. Stranded: committed instance-hours left idle "
        "inside the horizon × the commitment's hourly price (work uses what is already bought first).",
        "",
    ]


def _recourse_dict(r: StressResult, f: RecourseFigures) -> dict[str, Any]:
    def money(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    kept = r.recourse.kept if r.recourse is not None else ()
    return {
        "from_scratch_usd": money(f.scratch_usd),
        "commitments_kept_usd": money(f.kept_usd),
        "signing_first_usd": money(f.signing_first_usd),
        "stranded_hours": round(f.stranded_hours, 2),
        "stranded_usd": round(f.stranded_usd, 2),
        "lost_usd": 0.0 if r.recourse is None else round(r.recourse.lost_usd, 2),
        "kept": [
            {
                "period": p.period,
                "option": p.option,
                "instrument": p.instrument,
                "instances": p.instances,
                "usd": round(p.usd, 2),
            }
            for p in kept
        ],
        "infeasible": [] if r.recourse is None else list(r.recourse.outcome.infeasible),
    }


def render_stress_json(base: Outcome, results: tuple[StressResult, ...]) -> str:
    return json_visible(
        json.dumps(
            {
                "schema_version": SCHEMA_VERSION,
                "base": _outcome_dict(base),
                "shocks": [
                    {
                        "shock": r.scenario.name,
                        **comparison_dict(r.comparison),
                        "committed_recourse": _recourse_dict(r, f),
                    }
                    for r, f in zip(results, committed_recourse(results), strict=True)
                ],
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
