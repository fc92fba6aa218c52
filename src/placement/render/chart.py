"""The memo's charts, as PNG bytes: compute spend by family, base plan against each stress shock; for
a time-phased plan, below it one panel per family used: instances held each month by how they are
bought (committed, Capacity Block, on demand) against the capacity of the options the plan uses.
And `risk_chart`: the total cost over sampled futures, the plan against the all-GPU baseline.

matplotlib is an optional extra (`pip install '.[chart]'`); without it `family_chart` returns None
and the memo says how to get the chart. Pure: returns bytes, writes nothing.
"""

from __future__ import annotations

import io
from typing import Any

from placement.analyses.risk import RiskReport
from placement.analyses.scenarios import StressResult
from placement.engine.plan import Plan
from placement.render import schedule
from placement.render.text import visible

MAX_LABEL = 60


def _label(text: str) -> str:
    """A bar label as written: shortened, and with `$` escaped so matplotlib does not read math."""
    short = text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"
    return visible(short).replace("$", r"\$")  # every $ escaped: matplotlib sees no math at all


COLOURS = {"trainium": "#ff9900", "inferentia": "#3b7dd8", "gpu": "#76b900"}


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _png(plt: Any, figure: Any) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def family_chart(base: Plan, shocks: tuple[StressResult, ...]) -> bytes | None:
    plt = _pyplot()
    if plt is None:
        return None
    labels = ["base plan"]
    plans = [base]
    for r in shocks:
        if r.comparison.new.plan is not None:
            labels.append(_label(r.scenario.name))
            plans.append(r.comparison.new.plan)
    families = monthly_families(base) if schedule.phased(base) else []
    top = 0.55 * len(labels) + 1.6
    if families:
        figure = plt.figure(figsize=(9, top + 3.2), dpi=100)
        grid = figure.add_gridspec(2, len(families), height_ratios=[top, 3.2])
        axes = figure.add_subplot(grid[0, :])
        _monthly_panels([figure.add_subplot(grid[1, i]) for i in range(len(families))], base, families)
    else:
        figure, axes = plt.subplots(figsize=(9, top), dpi=100)
    left = [0.0] * len(plans)
    for family, colour in COLOURS.items():
        values = [next(f.compute_usd for f in p.families if f.family == family) / 1e6 for p in plans]
        axes.barh(labels, values, left=left, color=colour, label=family)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.invert_yaxis()
    pricing = "as bought" if schedule.phased(base) else "on-demand"
    axes.set_xlabel(f"compute spend over {base.horizon_months:g} months, million USD ({pricing})")
    axes.set_title("Compute spend by family: base plan and capacity/demand shocks")
    axes.legend(loc="lower right")
    return _png(plt, figure)


RISK_COLOURS = {"plan": "#ff9900", "all-GPU baseline": "#76b900"}


def risk_series(report: RiskReport) -> dict[str, list[float]]:
    """Per sampled future it can serve: the plan's total and the all-GPU baseline's, million USD."""
    return {
        "plan": [r.plan_usd / 1e6 for r in report.sample_rows if r.plan_usd is not None],
        "all-GPU baseline": [r.baseline_usd / 1e6 for r in report.sample_rows if r.baseline_usd is not None],
    }


def risk_chart(report: RiskReport) -> bytes | None:
    """Two histograms on shared bins (plan and all-GPU baseline), each with its P10-P90 band and
    mean; None without matplotlib or without a future served."""
    plt = _pyplot()
    series = {k: v for k, v in risk_series(report).items() if v}
    if plt is None or "plan" not in series:
        return None
    values = [x for v in series.values() for x in v]
    low, high = min(values), max(values)
    width = (high - low) or max(abs(high) * 0.01, 1e-6)
    bins = [low + width * i / 30 for i in range(31)] if high > low else [low - width, low + width]
    figure, axes = plt.subplots(figsize=(9, 4), dpi=100)
    spreads = {"plan": report.cost, "all-GPU baseline": report.baseline}
    for label, v in series.items():
        colour = RISK_COLOURS[label]
        axes.hist(v, bins=bins, color=colour, alpha=0.55, label=label)
        s = spreads[label]
        if s is not None:
            axes.axvspan(s.p10 / 1e6, s.p90 / 1e6, color=colour, alpha=0.12)
            axes.axvline(s.mean / 1e6, color=colour, linestyle="--", linewidth=1.2)
    axes.set_xlabel(f"total cost over the horizon, million USD ({report.samples} sampled futures)")
    axes.set_ylabel("futures")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_title("Total cost over sampled futures: plan against the all-GPU baseline")
    axes.legend(loc="upper right", title="band: P10-P90; dashed: mean", title_fontsize="small")
    return _png(plt, figure)


def monthly_families(plan: Plan) -> list[str]:
    """The families the plan holds instances of in some month, in COLOURS order."""
    used = {m.family for m in plan.monthly if m.inference_instances + m.training_instances > 0}
    return [f for f in COLOURS if f in used]


def monthly_series(plan: Plan, family: str) -> dict[str, list[float]]:
    """Per period: instances committed, in blocks and on demand (held beyond both), held, and the
    capacity of the family's options the plan uses in some month."""
    used = {
        m.option for m in plan.monthly if m.family == family and m.inference_instances + m.training_instances
    }
    series: dict[str, list[float]] = {
        k: [0.0] * len(plan.periods) for k in ("committed", "block", "on demand", "held", "capacity")
    }
    index = {p.index: i for i, p in enumerate(plan.periods)}
    for m in plan.monthly:
        if m.option not in used or m.period not in index:
            continue
        i = index[m.period]
        held = m.inference_instances + m.training_instances
        series["committed"][i] += m.committed_instances
        series["block"][i] += m.block_instances
        series["on demand"][i] += schedule.on_demand_instances(m)
        series["held"][i] += held
        series["capacity"][i] += m.capacity
    return series


def _monthly_panels(panels: list[Any], plan: Plan, families: list[str]) -> None:
    labels = [_label(p.label) for p in plan.periods]
    x = list(range(len(labels)))
    for axes, family in zip(panels, families, strict=True):
        s = monthly_series(plan, family)
        colour = COLOURS[family]
        bottom = [0.0] * len(x)
        for key, alpha, hatch in (("committed", 1.0, ""), ("block", 0.6, "//"), ("on demand", 0.3, "")):
            axes.bar(x, s[key], bottom=bottom, color=colour, alpha=alpha, hatch=hatch, label=key)
            bottom = [a + b for a, b in zip(bottom, s[key], strict=True)]
        edges = [i - 0.5 for i in range(len(x) + 1)]
        axes.stairs(s["capacity"], edges, baseline=None, color="black", linewidth=1, label="capacity")
        axes.plot(x, s["held"], "o", color="black", markersize=3, label="held")
        axes.set_ylim(0, 1.45 * max([*s["capacity"], *bottom, 1.0]))
        axes.set_title(f"{family}: instances per month")
        step = max(1, len(x) // 6)
        axes.set_xticks(x[::step], labels[::step])
        axes.legend(loc="upper left", fontsize="x-small", ncol=3)


def monthly_chart(plan: Plan) -> bytes | None:
    """The monthly panels alone (None without matplotlib or without instances held)."""
    plt = _pyplot()
    families = monthly_families(plan)
    if plt is None or not families:
        return None
    figure, panels = plt.subplots(
        1, len(families), figsize=(4.5 * len(families), 3.6), dpi=100, squeeze=False
    )
    _monthly_panels(list(panels[0]), plan, families)
    return _png(plt, figure)
