"""The memo's chart: compute spend by family, base plan against each stress shock, as PNG bytes.

matplotlib is an optional extra (`pip install '.[chart]'`); without it `family_chart` returns None
and the memo says how to get the chart. Pure: returns bytes, writes nothing.
"""

from __future__ import annotations

import io

from placement.analyses.scenarios import StressResult
from placement.engine.plan import Plan
from placement.render.text import visible

MAX_LABEL = 60


def _label(text: str) -> str:
    """A bar label as written: shortened, and with `$` escaped so matplotlib does not read math."""
    short = text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"
    return visible(short).replace("$", r"\$")  # every $ escaped: matplotlib sees no math at all


COLOURS = {"trainium": "#ff9900", "inferentia": "#3b7dd8", "gpu": "#76b900"}


def family_chart(base: Plan, shocks: tuple[StressResult, ...]) -> bytes | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    labels = ["base plan"]
    plans = [base]
    for r in shocks:
        if r.comparison.new.plan is not None:
            labels.append(_label(r.scenario.name))
            plans.append(r.comparison.new.plan)
    figure, axes = plt.subplots(figsize=(9, 0.55 * len(labels) + 1.6), dpi=100)
    left = [0.0] * len(plans)
    for family, colour in COLOURS.items():
        values = [next(f.compute_usd for f in p.families if f.family == family) / 1e6 for p in plans]
        axes.barh(labels, values, left=left, color=colour, label=family)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.invert_yaxis()
    axes.set_xlabel(f"compute spend over {base.horizon_months:g} months, million USD (on-demand)")
    axes.set_title("Compute spend by family: base plan and capacity/demand shocks")
    axes.legend(loc="lower right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()
