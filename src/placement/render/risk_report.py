"""Pure rendering of `placement risk`: the plan over sampled futures (`analyses/risk.RiskReport`) and
the risk-aware commitments (`analyses/hedge.HedgeReport`), as text, Markdown or JSON.

Every figure comes from the reports; nothing is computed here but percentages and the rows' order.
"""

from __future__ import annotations

import json
import math
from typing import Any

from placement.analyses.futures import UncertainInput
from placement.analyses.hedge import Candidate, HedgeReport, Interval
from placement.analyses.risk import CVAR_LEVEL, MIN_DRIVER_SAMPLES, RISK_GAP, Driver, RiskReport, Spread
from placement.engine.formulation import FirstStage
from placement.engine.plan import SCHEMA_VERSION
from placement.render.text import json_visible, pct, table, usd, usd_signed, visible

TOP_DRIVERS = 10  # rows of the driver table in text and Markdown (JSON has them all)
VALUE_DIGITS = 6  # drawn values and ranges in JSON


# --------------------------------------------------------------------------- cells


def _number(x: float) -> str:
    return f"{x:,.2f}" if abs(x - round(x)) > 1e-9 else f"{x:,.0f}"


def value_cell(item: UncertainInput, x: float) -> str:
    """One value of an input in its unit: ×1.30, $193.00/h, $5,000/week, 8 instances."""
    if item.unit == "USD/h":
        return f"${x:,.2f}/h"
    if item.unit == "USD/week":
        return f"${x:,.0f}/week"
    if item.unit == "instances":
        return f"{_number(x)}"
    return f"×{x:.2f}"


def range_cell(item: UncertainInput) -> str:
    """low / likely / high, or a discrete input's outcomes with their chances."""
    if item.distribution == "discrete" and item.outcomes:
        return ", ".join(f"{_number(v)} ({p * 100:.0f}%)" for p, v in item.outcomes)
    return " / ".join(value_cell(item, x) for x in (item.low, item.likely, item.high))


def _span_cell(d: Driver, item: UncertainInput | None) -> str:
    if item is None:
        return f"{_number(d.low)} – {_number(d.high)}"
    return f"{value_cell(item, d.low)} – {value_cell(item, d.high)}"


def _basis(item: UncertainInput) -> str:
    return "assumption (default)" if item.default else "given"


def _unit(item: UncertainInput) -> str:
    return "instances" if item.unit == "instances" else item.unit


def _share_of(count: float, total: int) -> str:
    return f"{pct(count / total)} ({round(count)} of {total})" if total else "-"


def _fmt(markdown: bool) -> tuple[str, str, str]:
    return ("github", "# ", "## ") if markdown else ("simple", "", "== ")


def _table(rows: list[list[str]], headers: list[str], fmt: str) -> str:
    return table(rows, headers=headers, tablefmt=fmt, disable_numparse=True)


# --------------------------------------------------------------------------- sections


def input_lines(inputs: tuple[UncertainInput, ...], fmt: str, h2: str) -> list[str]:
    """The uncertain inputs with their ranges; documented defaults marked and explained."""
    rows = [[i.name, _unit(i), range_cell(i), i.distribution, _basis(i)] for i in inputs]
    out = [f"{h2}Uncertain inputs", ""]
    out += [
        "Each future draws every input below independently (an efficiency group moves together). "
        "Ranges are low / likely / high; capacity lists each outcome with its chance.",
        "",
        _table(rows, ["input", "unit", "range", "distribution", "basis"], fmt),
        "",
    ]
    assumed = [i for i in inputs if i.default]
    if assumed:
        out += ["Assumptions (documented defaults; give your own in the workload file's `uncertainty`):", ""]
        out += [f"- {i.name}: {i.reasoning}" for i in assumed]
        out.append("")
    return out


def _spread_cells(s: Spread | None, at_likely: float | None) -> list[str]:
    likely = "-" if at_likely is None else usd(at_likely)
    if s is None:
        return [likely, "-", "-", "-", "-", "-", "0"]
    return [likely, usd(s.mean), usd(s.p10), usd(s.p50), usd(s.p90), usd(s.cvar90), str(s.count)]


COST_HEADERS = ["", "at likely inputs", "mean", "P10", "P50", "P90", "CVaR 90%", "futures"]


def cost_rows(r: RiskReport) -> list[list[str]]:
    """Plan and all-GPU baseline: the cost table's rows (the memo shows them too)."""
    rows = [["plan (commitments and ports kept)", *_spread_cells(r.cost, r.plan_usd)]]
    if r.baseline is not None:
        rows.append(["all-GPU baseline", *_spread_cells(r.baseline, r.baseline_usd)])
    return rows


def saving_line(r: RiskReport) -> str:
    if r.saving is None or r.saving_pct is None:
        return "No saving against the all-GPU baseline can be computed (no baseline, or no future served)."
    return (
        f"Saving against the baseline: P10–P90 {usd(r.saving.p10)} to {usd(r.saving.p90)} "
        f"({pct(r.saving_pct.p10)} to {pct(r.saving_pct.p90)}), mean {usd(r.saving.mean)} "
        f"({pct(r.saving_pct.mean)}), over the {r.saving.count} futures both can serve."
    )


def _bold(text: str, markdown: bool) -> str:
    return f"**{text}**" if markdown else text


def beats_line(r: RiskReport, markdown: bool) -> str:
    if r.baseline is None:
        return "No all-GPU baseline exists (some workload has no GPU option): no probability of beating it."
    return (
        f"Probability the plan costs less than the all-GPU baseline: "
        f"{_bold(_share_of(r.p_beats_baseline * r.samples, r.samples), markdown)} of the futures "
        "(a future the plan cannot serve counts as a loss)."
    )


def unserved_line(r: RiskReport) -> str:
    if not r.unserved:
        n = r.samples
        return f"The plan, with its commitments and ports, can serve every future sampled ({n} of {n})."
    return (
        f"The plan cannot serve {r.unserved} of {r.samples} futures ({pct(r.unserved / r.samples)}): "
        "demand beyond what its commitments and the capacity left can carry. The cost figures are "
        "over the futures it serves."
    )


def regret_line(r: RiskReport) -> str:
    if r.regret is None:
        return "Regret: no future was planned from scratch."
    return (
        f"Regret (what knowing the future in advance would save: the plan's cost less that future's "
        f"own best plan): mean {usd(r.regret.mean)}, P90 {usd(r.regret.p90)}, worst tenth "
        f"{usd(r.regret.cvar90)}. Each future's plans are solved to within {RISK_GAP * 100:g}%, so figures "
        f"below about {usd(RISK_GAP * r.plan_usd)} are solver tolerance, not regret."
    )


def stability_rows(r: RiskReport) -> list[list[str]]:
    return [
        [s.workload, s.planned, pct(s.same_option), pct(s.same_family), s.alternative or "-"]
        for s in r.stability
    ]


STABILITY_HEADERS = ["workload", "planned option", "same type", "same family", "most common other type"]


def driver_rows(r: RiskReport, limit: int | None = TOP_DRIVERS) -> list[list[str]]:
    by_name = {i.name: i for i in r.inputs}
    chosen = r.drivers if limit is None else r.drivers[:limit]
    return [
        [
            str(k),
            d.name,
            _span_cell(d, by_name.get(d.name)),
            pct(d.variance_share),
            usd_signed(d.swing_usd),
        ]
        for k, d in enumerate(chosen, start=1)
    ]


DRIVER_HEADERS = ["rank", "input", "range (low – high)", "share of variance", "swing low → high"]


def driver_notes(r: RiskReport, markdown: bool) -> list[str]:
    served = r.cost.count if r.cost is not None else 0
    out = [
        "Ranked by each input's share of the variance of the plan's cost (its squared correlation "
        "with the cost across the futures); the swing is how the cost moves from the input's low to "
        "its high on a straight-line fit. "
        + _bold(
            "Get a quote or a benchmark for the top ones first: narrowing their ranges narrows the "
            "spread most.",
            markdown,
        )
    ]
    if math.isfinite(r.linear_share):
        out.append(
            f"A straight-line fit on every input together explains {pct(r.linear_share)} of the "
            "variance (the rest: interactions and thresholds, such as a capacity that binds only in "
            f"some futures). With {served} futures an input unrelated to the cost still shows a share "
            f"of about {pct(1 / (served - 1))} by chance: take more samples before trusting a small share."
        )
    else:
        out.append(
            f"With {served} futures an input unrelated to the cost still shows a share of about "
            f"{pct(1 / (served - 1))} by chance, and there are too few futures for a fit on every "
            f"input together ({len(r.inputs) + 10} or more): take more samples before trusting a "
            "small share."
        )
    return out


def render_risk(r: RiskReport, markdown: bool, title: str) -> str:
    fmt, h1, h2 = _fmt(markdown)
    out = [
        f"{h1}{title}",
        "",
        f"{r.samples} futures sampled from the inputs' ranges (seed {r.seed}). In each, the plan's "
        f"commitments and ports are already signed and the rest is re-planned; each future is also "
        "planned from scratch as if it were known in advance.",
        "",
    ]
    out += [f"{h2}Total cost over the futures", ""]
    out += [_table(cost_rows(r), COST_HEADERS, fmt), ""]
    out += [
        f"CVaR 90% is the mean of the worst {(1 - CVAR_LEVEL) * 100:.0f}% of futures.",
        "",
        beats_line(r, markdown),
        "",
        saving_line(r),
        "",
        unserved_line(r),
        "",
        regret_line(r),
        "",
    ]
    out += [f"{h2}Placement stability", ""]
    if r.stability:
        out += [
            "How often the future's own best plan puts each workload on its planned instance type (the "
            "same type in another region counts as the same) and family:",
            "",
            _table(stability_rows(r), STABILITY_HEADERS, fmt),
            "",
        ]
    else:
        out += ["No future could be planned from scratch.", ""]
    out += [f"{h2}What drives the spread", ""]
    if r.drivers:
        rows = driver_rows(r)
        out += [_table(rows, DRIVER_HEADERS, fmt), ""]
        if len(r.drivers) > len(rows):
            out += [f"{len(r.drivers) - len(rows)} more inputs in `--format json`.", ""]
        for note in driver_notes(r, markdown):
            out += [note, ""]
    else:
        served = r.cost.count if r.cost is not None else 0
        out += [
            f"No ranking: {served} futures served, and it takes {MIN_DRIVER_SAMPLES} to rank the inputs "
            "(with a handful, any input's correlation with the cost is noise)."
            if served < MIN_DRIVER_SAMPLES
            else "The plan's cost does not vary across the futures.",
            "",
        ]
    out += input_lines(r.inputs, fmt, h2)
    return _finish(out)


def _finish(lines: list[str]) -> str:
    return visible("\n".join(lines).rstrip() + "\n")


# --------------------------------------------------------------------------- the risk-aware plan


def _commit_key(c: tuple[str, str, int, int]) -> tuple[str, str, int]:
    return c[0], c[1], c[2]


def commitment_rows(det: FirstStage, chosen: FirstStage) -> list[list[str]]:
    """Per (option, term, first month): instances committed by each first stage."""
    a = {_commit_key(c): c[3] for c in det.commits}
    b = {_commit_key(c): c[3] for c in chosen.commits}
    return [
        [option, term, f"M{month}", str(a.get(k, 0)), str(b.get(k, 0))]
        for k in sorted(a.keys() | b.keys())
        for option, term, month in (k,)
    ]


def port_rows(det: FirstStage, chosen: FirstStage) -> list[list[str]]:
    a = {(c, g): m for c, g, m in det.ports}
    b = {(c, g): m for c, g, m in chosen.ports}
    return [
        [codebase, family, f"M{a[k]}" if k in a else "-", f"M{b[k]}" if k in b else "-"]
        for k in sorted(a.keys() | b.keys())
        for codebase, family in (k,)
    ]


def _objective(x: float) -> str:
    return usd(x) if math.isfinite(x) else "cannot serve every future"


def _first_summary(f: FirstStage) -> str:
    instances = sum(c[3] for c in f.commits)
    return f"{len(f.commits)} commitment(s), {instances} instance(s); {len(f.ports)} port(s)"


def _measure(h: HedgeReport) -> str:
    return "expected cost" if h.measure == "expected" else f"CVaR {h.alpha * 100:g}% of cost"


def _out_cells(label: str, s: Spread | None, unserved: int) -> list[str]:
    if s is None:
        return [label, "-", "-", "-", "-", str(unserved)]
    return [label, usd(s.mean), usd(s.p50), usd(s.p90), usd(s.cvar90), str(unserved)]


def vss_line(h: HedgeReport, markdown: bool) -> str:
    if h.vss is None:
        return "Value of the stochastic solution: too few fresh futures served by both to compute it."
    v = h.vss
    same = h.chosen.first == h.deterministic.first
    tail = " (the risk-aware choice is the deterministic plan's own first stage)" if same else ""
    return (
        f"Value of the stochastic solution (deterministic minus risk-aware, expected cost on the same "
        f"{v.count} fresh futures): {_bold(usd_signed(v.mean), markdown)}, "
        f"95% interval {usd_signed(v.low)} to {usd_signed(v.high)}{tail}."
    )


def gap_bound_line(h: HedgeReport, markdown: bool) -> str:
    if h.gap_bound is None:
        why = "it is computed for expected cost only" if h.measure != "expected" else "too few futures"
        return f"Statistical bound on the optimality gap: not computed ({why})."
    mean = h.chosen_out.mean if h.chosen_out is not None else None
    share = f" ({pct(h.gap_bound / mean)} of its mean cost)" if mean else ""
    return (
        f"Statistical bound on the optimality gap (95% upper confidence bound, expected cost, "
        f"{h.evaluation} fresh futures): the risk-aware first stage costs at most "
        f"{_bold(usd(h.gap_bound), markdown)}{share} more than the best possible one."
    )


def render_hedge(h: HedgeReport, markdown: bool, title: str) -> str:
    fmt, h1, h2 = _fmt(markdown)
    out = [
        f"{h1}{title}",
        "",
        f"Commitments and ports chosen to minimise the {_measure(h)} over {h.scenarios} sampled futures "
        f"(seed {h.seed}; sample average approximation), each future re-planned with them signed. "
        f"Chosen: {_bold(h.chosen.label, markdown)}.",
        "",
    ]
    out += [f"{h2}Commitments: deterministic plan against risk-aware", ""]
    rows = commitment_rows(h.deterministic.first, h.chosen.first)
    if rows:
        out += [
            _table(rows, ["option", "term", "first month", "deterministic plan", "risk-aware"], fmt),
            "",
        ]
    else:
        out += ["Neither signs a commitment.", ""]
    ports = port_rows(h.deterministic.first, h.chosen.first)
    if ports:
        out += [
            "Ports (the month each starts):",
            "",
            _table(ports, ["codebase", "family", "deterministic plan", "risk-aware"], fmt),
            "",
        ]
    out += [f"{h2}The sampled problem", ""]
    gap = "-" if math.isnan(h.gap) else pct(h.gap)
    out += [
        f"Objective ({_measure(h)}) of the risk-aware choice: {_objective(h.chosen.objective)}; "
        f"lower bound {usd(h.lower_bound) if math.isfinite(h.lower_bound) else '-'}; proven gap {gap}.",
        "",
    ]
    if h.dropped:
        out += [f"{h.dropped} future(s) no plan can serve even in hindsight were left out.", ""]
    cand = [[c.label, _objective(c.objective), _first_summary(c.first)] for c in h.candidates]
    out += [_table(cand, ["candidate", "objective", "signs"], fmt), ""]
    out += [f"{h2}Out of sample: {h.evaluation} fresh futures", ""]
    rows = [
        _out_cells("deterministic plan", h.deterministic_out, h.unserved_out[0]),
        _out_cells("risk-aware", h.chosen_out, h.unserved_out[1]),
    ]
    out += [_table(rows, ["first stage", "mean", "P50", "P90", "CVaR 90%", "cannot serve"], fmt), ""]
    out += [vss_line(h, markdown), "", gap_bound_line(h, markdown), ""]
    out += input_lines(h.inputs, fmt, h2)
    return _finish(out)


# --------------------------------------------------------------------------- JSON


def _usd(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, 2)


def _share(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, 6)


def _value(x: float) -> float:
    return round(x, VALUE_DIGITS)


def spread_dict(s: Spread | None, share: bool = False) -> dict[str, Any] | None:
    if s is None:
        return None
    f = _share if share else _usd
    return {
        "count": s.count,
        "mean": f(s.mean),
        "p10": f(s.p10),
        "p50": f(s.p50),
        "p90": f(s.p90),
        "cvar90": f(s.cvar90),
    }


def input_dict(i: UncertainInput) -> dict[str, Any]:
    return {
        "name": i.name,
        "kind": i.kind,
        "unit": i.unit,
        "low": _value(i.low),
        "likely": _value(i.likely),
        "high": _value(i.high),
        "distribution": i.distribution,
        "outcomes": [{"probability": _value(p), "value": _value(v)} for p, v in i.outcomes],
        "default": i.default,
        "reasoning": i.reasoning,
    }


def first_stage_dict(f: FirstStage) -> dict[str, Any]:
    return {
        "commitments": [
            {"option": o, "term": t, "first_month": m, "instances": n} for o, t, m, n in f.commits
        ],
        "ports": [{"codebase": c, "family": g, "start_month": m} for c, g, m in f.ports],
    }


def risk_dict(r: RiskReport) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "samples": r.samples,
        "seed": r.seed,
        "plan_usd": _usd(r.plan_usd),
        "baseline_usd": _usd(r.baseline_usd),
        "first_stage": first_stage_dict(r.first),
        "cost_usd": spread_dict(r.cost),
        "baseline_cost_usd": spread_dict(r.baseline),
        "saving_usd": spread_dict(r.saving),
        "saving_share": spread_dict(r.saving_pct, share=True),
        "p_beats_baseline": _share(r.p_beats_baseline),
        "unserved": r.unserved,
        "regret_usd": spread_dict(r.regret),
        "stability": [
            {
                "workload": s.workload,
                "planned": s.planned,
                "same_option": _share(s.same_option),
                "same_family": _share(s.same_family),
                "alternative": s.alternative or None,
            }
            for s in r.stability
        ],
        "drivers": [
            {
                "name": d.name,
                "kind": d.kind,
                "low": _value(d.low),
                "high": _value(d.high),
                "variance_share": _share(d.variance_share),
                "swing_usd": _usd(d.swing_usd),
            }
            for d in r.drivers
        ],
        "linear_share": _share(r.linear_share),
        "inputs": [input_dict(i) for i in r.inputs],
        "futures": [
            {
                "index": s.index,
                "plan_usd": _usd(s.plan_usd),
                "scratch_usd": _usd(s.scratch_usd),
                "baseline_usd": _usd(s.baseline_usd),
                "placement": [{"workload": w, "option": o} for w, o in s.placement],
                "values": {name: _value(v) for name, v in s.values},
            }
            for s in r.sample_rows
        ],
    }


def _candidate_dict(c: Candidate) -> dict[str, Any]:
    return {
        "label": c.label,
        "objective_usd": _usd(c.objective),
        **first_stage_dict(c.first),
        "costs_usd": [_usd(x) for x in c.costs],
    }


def _interval_dict(v: Interval | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {"mean": _usd(v.mean), "low": _usd(v.low), "high": _usd(v.high), "count": v.count}


def hedge_dict(h: HedgeReport) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "scenarios": h.scenarios,
        "seed": h.seed,
        "measure": h.measure,
        "alpha": h.alpha,
        "chosen": _candidate_dict(h.chosen),
        "deterministic": _candidate_dict(h.deterministic),
        "candidates": [_candidate_dict(c) for c in h.candidates],
        "lower_bound_usd": _usd(h.lower_bound),
        "gap": _share(h.gap),
        "dropped": h.dropped,
        "evaluation": h.evaluation,
        "out_of_sample": {
            "deterministic_usd": spread_dict(h.deterministic_out),
            "risk_aware_usd": spread_dict(h.chosen_out),
            "deterministic_unserved": h.unserved_out[0],
            "risk_aware_unserved": h.unserved_out[1],
        },
        "vss_usd": _interval_dict(h.vss),
        "gap_bound_usd": _usd(h.gap_bound),
        "inputs": [input_dict(i) for i in h.inputs],
    }


def _json(data: dict[str, Any]) -> str:
    return json_visible(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def render_risk_json(r: RiskReport) -> str:
    return _json(risk_dict(r))


def render_hedge_json(h: HedgeReport) -> str:
    return _json(hedge_dict(h))
