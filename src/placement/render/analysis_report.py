"""Pure rendering of the sensitivity analysis (`placement sensitivity`)."""

from __future__ import annotations

import json
from typing import Any

from placement.analyses.sensitivity import Sensitivity
from placement.engine.plan import SCHEMA_VERSION
from placement.render.text import json_visible, pct, pct_signed, table, usd, usd_signed, visible


def _money_or(value: float | None, none: str) -> str:
    return none if value is None else usd(value)


def _break_even_cell(price: float | None, current: float, limit: float) -> str:
    if price is None:
        return f"no flip up to ${limit:,.2f}" if limit > current else "no flip down to $0"
    if abs(price - current) < 0.01:
        return f"${price:,.2f} (a tie: any change flips it)"
    return f"${price:,.2f} ({pct_signed((price - current) / current)})"


def render_sensitivity(s: Sensitivity, markdown: bool, title: str) -> str:
    fmt = "github" if markdown else "simple"
    h1, h2 = ("# ", "## ") if markdown else ("", "== ")
    out = [
        f"{h1}{title}",
        "",
        f"Base plan: {usd(s.base.total_usd)}. Every figure below comes from re-solving "
        "the plan with one input changed (not from LP duals).",
        "",
    ]
    out += [f"{h2}Shadow prices of binding capacity", ""]
    if s.shadow_prices:
        rows = [
            [
                x.option,
                f"{x.used}/{x.available}",
                _money_or(x.saving_one_usd, "no plan"),
                f"+{x.extra_quarter}: {_money_or(x.saving_quarter_usd, 'no plan')}",
            ]
            for x in s.shadow_prices
        ]
        out += [
            table(
                rows,
                headers=["option", "used/available", "saving with +1 instance", "saving with +25%"],
                tablefmt=fmt,
                disable_numparse=True,
            ),
            "",
        ]
        out += [
            "A zero saving means the extra instances are too few for any workload to move there "
            "(runs and services need whole groups of instances), or moving costs a port.",
            "",
        ]
    else:
        out += ["No capacity limit binds in this plan.", ""]
    out += [f"{h2}Break-even prices (USD per instance-hour)", ""]
    rows = [
        [
            b.option,
            b.workload,
            b.direction,
            f"${b.current_usd_per_hour:,.2f}",
            _break_even_cell(b.break_even_usd_per_hour, b.current_usd_per_hour, b.searched_to),
        ]
        for b in s.break_evens
    ]
    out += [
        table(
            rows,
            headers=["option", "workload", "placement flips", "price now", "break-even"],
            tablefmt=fmt,
            disable_numparse=True,
        ),
        "",
    ]
    out += [
        "'leaves above': the workload stops using the option above this price. 'moves onto below': the "
        "workload starts using its runner-up below this price. Found by bisection to within 0.1%. The "
        "price is the on-demand one; the option's 1-year, 3-year and Capacity Block prices move with it "
        "in proportion.",
        "",
    ]
    out += [f"{h2}Price of portability", ""]
    written = s.portability[0].total_usd
    rows = []
    for p in s.portability:
        delta = "" if p.total_usd is None or written is None else usd_signed(written - p.total_usd)
        rows.append([p.label, _money_or(p.total_usd, "no plan: " + "; ".join(p.reasons[:1])), delta])
    out += [
        table(
            rows,
            headers=["constraints", "total", "what the constraints cost"],
            tablefmt=fmt,
            disable_numparse=True,
        ),
        "",
    ]
    out += [f"{h2}Vendor claims against this catalog", ""]
    rows = [
        [
            c.claim,
            c.ours,
            "-" if c.implied_advantage is None else pct(c.implied_advantage),
            c.verdict,
            c.source,
        ]
        for c in s.claims
    ]
    out += [
        table(
            rows,
            headers=["claim", "catalog arithmetic", "implied advantage", "verdict", "source"],
            tablefmt=fmt,
            disable_numparse=True,
        ),
        "",
    ]
    out += [
        "Implied advantage = 1 − (cost on the vendor's chip ÷ cost on the comparison GPU), for the same "
        "reference work through the same formulas; capacity is ignored here. 'agrees' means within 10 "
        "points of the claimed figure. Disagreements are the catalog's estimates talking: check them "
        "with measured benchmarks before you sign.",
        "",
    ]
    return visible("\n".join(out).rstrip() + "\n")


def _cents(usd: float | None) -> float | None:
    """Rounded to cents, with no "-0.0" (a re-plan a fraction of a cent dearer saves nothing)."""
    return None if usd is None else round(usd, 2) + 0.0


def sensitivity_dict(s: Sensitivity) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "base_total_usd": round(s.base.total_usd, 2),
        "method": "re-solve",
        "shadow_prices": [
            {
                "option": x.option,
                "used": x.used,
                "available": x.available,
                "saving_one_instance_usd": _cents(x.saving_one_usd),
                "extra_quarter": x.extra_quarter,
                "saving_quarter_usd": _cents(x.saving_quarter_usd),
            }
            for x in s.shadow_prices
        ],
        "break_evens": [
            {
                "option": b.option,
                "workload": b.workload,
                "direction": b.direction,
                "usd_per_hour": b.current_usd_per_hour,
                "break_even_usd_per_hour": b.break_even_usd_per_hour,
            }
            for b in s.break_evens
        ],
        "portability": [
            {
                "constraints": p.label,
                "total_usd": None if p.total_usd is None else round(p.total_usd, 2),
                "reasons": list(p.reasons),
            }
            for p in s.portability
        ],
        "vendor_claims": [
            {
                "claim": c.claim,
                "source": c.source,
                "catalog": c.ours,
                "implied_advantage": None if c.implied_advantage is None else round(c.implied_advantage, 4),
                "verdict": c.verdict,
            }
            for c in s.claims
        ],
    }


def render_sensitivity_json(s: Sensitivity) -> str:
    return json_visible(json.dumps(sensitivity_dict(s), indent=2, ensure_ascii=False) + "\n")
