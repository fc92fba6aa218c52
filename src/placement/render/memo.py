"""The procurement memo: the enterprise checklist's six questions answered from the portfolio's own
numbers (plan, stress tests, price of portability, vendor-claim check, reservations, and the plan
over sampled futures: the saving's P10-P90 in the headline, probabilities in question 6).

Pure: takes computed results and returns Markdown. `placement memo` runs the analyses and writes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from placement.analyses.risk import MIN_DRIVER_SAMPLES, RiskReport
from placement.analyses.scenarios import StressResult, committed_recourse
from placement.analyses.sensitivity import ClaimCheck, PortabilityPrice
from placement.engine.costing import Estimate, estimates, port_weeks
from placement.engine.optimizer import codebases
from placement.engine.plan import Plan
from placement.inputs.models import Catalog, Family, Portfolio
from placement.render import risk_report, schedule
from placement.render.compare_report import change, recourse_row
from placement.render.report import (
    CALIBRATION_HEADERS,
    RESERVATION_HEADERS,
    _reservation_rows,
    calibration_rows,
    unit_cost,
)
from placement.render.text import pct, table, usd, usd_signed, visible


@dataclass(frozen=True)
class MemoInputs:
    portfolio: Portfolio
    catalog: Catalog
    name: str
    plan: Plan
    stress: tuple[StressResult, ...]
    portability: tuple[PortabilityPrice, ...]
    claims: tuple[ClaimCheck, ...]
    chart: str | None  # file name of the chart beside the memo, if one was drawn
    risk: RiskReport | None = None  # the plan over sampled futures (None: `--samples 0`)
    risk_chart: str | None = None  # file name of the cost-distribution chart beside the memo


def _table(rows: list[list[str]], headers: list[str]) -> str:
    return table(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _reason_label(reason: str) -> str:
    """'porting blocked: tensorflow on inferentia: …' → 'porting blocked (tensorflow)'."""
    head, _, rest = reason.partition(": ")
    if head == "porting blocked":
        return f"porting blocked ({rest.split(' on ')[0]})"
    if head == "portability":
        return "marked gpu-only"
    return head


def _why_gpu(w_name: str, family: Family, ests: dict[tuple[str, str], Estimate], catalog: Catalog) -> str:
    reasons = {_reason_label(ests[(w_name, o.id)].reason) for o in catalog.options if o.family == family}
    return ", ".join(sorted(reasons)) or "no option in the catalog"


def _question_1(m: MemoInputs, ests: dict[tuple[str, str], Estimate]) -> list[str]:
    must, can = [], []
    placed = {r.workload: sorted({p.family for p in r.placements}) for r in m.plan.workloads}
    for w in m.portfolio.workloads:
        ok_families = {ests[(w.name, o.id)].family for o in m.catalog.options if ests[(w.name, o.id)].ok}
        if ok_families <= {"gpu"}:
            why = "; ".join(
                f"{g}: {_why_gpu(w.name, g, ests, m.catalog)}" for g in ("trainium", "inferentia")
            )
            must.append([w.name, w.kind, why])
        else:
            can.append([w.name, w.kind, ", ".join(sorted(ok_families)), ", ".join(placed[w.name])])
    out = ["## 1. Which workloads must run on GPUs, and which can run on Trainium or Inferentia?", ""]
    out.append(
        f"**{len(must)} of {len(m.portfolio.workloads)} workloads must stay on GPUs**; "
        f"{len(can)} can run on AWS silicon, and the plan puts "
        f"{sum(1 for r in can if r[3] != 'gpu')} of them there."
    )
    out.append("")
    if must:
        out += [_table(must, ["must stay on GPU", "kind", "why not Trainium / Inferentia"]), ""]
    if can:
        out += [_table(can, ["can move", "kind", "families it can run on", "the plan uses"]), ""]
    return out


def _question_2(m: MemoInputs) -> list[str]:
    rows = []
    for name, members in sorted(codebases(m.portfolio).items()):
        items = sorted({i for w in members for i in w.port_items})
        cells = [name, ", ".join(items)]
        for family in ("trainium", "inferentia"):
            blocked = [i for i in items if m.catalog.migration.items[i][family].blocked]
            weeks, _ = port_weeks(m.catalog, members, family)
            cost = weeks * m.catalog.migration.engineer_week_usd
            listing = [w for w in members if family in w.already_on]
            # already_on lifts a block only for the workload that lists the family (README "Rules")
            still = sorted({i for w in members if w not in listing for i in w.port_items if i in blocked})
            if blocked and not listing:
                other = f"; other items {weeks:g} wk" if weeks else ""
                cells.append(f"blocked ({', '.join(blocked)}){other}")
            elif listing and still:
                on = ", ".join(w.name for w in listing)
                cells.append(
                    f"{weeks:g} wk, {usd(cost)} (already on: {on}); blocked for the rest ({', '.join(still)})"
                )
            else:
                cells.append(f"{weeks:g} wk, {usd(cost)}")
        rows.append(cells)
    paid = m.plan.migrations
    out = ["## 2. Can our models and frameworks use AWS Neuron without heavy rewrites?", ""]
    out.append(
        f"The plan pays for **{len(paid)} port(s), {sum(x.weeks for x in paid):g} engineer-weeks, "
        f"{usd(m.plan.migration_usd)}** one-time. Per codebase, the effort to each Neuron family "
        "(estimates from the Neuron SDK's support status; see the sources):"
    )
    out += ["", _table(rows, ["codebase", "framework and stack", "to Trainium", "to Inferentia"]), ""]
    if paid:
        out += [
            "Ports in the plan: "
            + "; ".join(f"{x.codebase} → {x.family} ({x.weeks:g} weeks, {usd(x.usd)})" for x in paid)
            + ".",
            "",
        ]
    return out


def _question_3(m: MemoInputs) -> list[str]:
    out = ["## 3. How much reserved capacity do we need for training and inference?", ""]
    if schedule.phased(m.plan):
        return out + schedule.memo_lines(m.plan, m.chart)
    total_od = sum(r.on_demand_usd for r in m.plan.reservations)
    saving = sum(r.saving_usd for r in m.plan.reservations)
    regions = schedule.option_regions(m.plan)
    capacity = [
        [
            c.option,
            regions.get(c.option, ""),
            c.family,
            str(c.used),
            str(c.available),
            "binding" if c.binding else "",
        ]
        for c in m.plan.capacity
        if c.used > 0
    ]
    out.append(
        "Instances the plan holds at once (training at its deadline pace, inference at peak), against "
        "the capacity the catalog says is obtainable:"
    )
    out += ["", _table(capacity, ["option", "region", "family", "needed at once", "available", ""]), ""]
    if not m.plan.reservations:
        return out + ["The plan buys on demand only; no reservation advice applies.", ""]
    out.append(
        f"Commit the steady base load and keep peaks on demand: **{usd(saving)} saved "
        f"({pct(saving / total_od) if total_od else '-'}) against all on-demand** over "
        f"{m.plan.horizon_months:g} months."
    )
    out += ["", _table(_reservation_rows(m.plan), RESERVATION_HEADERS), ""]
    return out


def _question_4(m: MemoInputs) -> list[str]:
    rows = [
        [r.workload, r.kind, " + ".join(p.option for p in r.placements), unit_cost(r), usd(r.compute_usd)]
        for r in m.plan.workloads
    ]
    out = ["## 4. What is the expected cost per token or per experiment?", ""]
    basis = (
        "At the price of each purchase (commitments, Capacity Blocks, on demand), whole instances sized "
        "for each month's peak (inference) and the runs' months (training):"
        if schedule.phased(m.plan)
        else "On-demand prices, whole instances sized for peak (inference) or for the deadline (training):"
    )
    out += [basis, ""]
    out += [
        _table(rows, ["workload", "kind", "runs on", "unit cost", f"{m.plan.horizon_months:g}-month cost"]),
        "",
    ]
    return out


def _question_5(m: MemoInputs) -> list[str]:
    b = m.plan.baseline
    out = ["## 5. How portable must our AI stack stay across clouds?", ""]
    shares = ", ".join(f"{f.family} {pct(f.share)}" for f in m.plan.families)
    out.append(f"Compute spend by family: {shares}.")
    if not b.missing:
        out.append(
            f"Against the all-GPU status quo ({usd(b.total_usd)}), the plan saves "
            f"**{usd(m.plan.savings_usd)} ({pct(m.plan.savings_usd / b.total_usd)})** including ports."
        )
    if b.missing:
        out.append(f"No GPU option can run {', '.join(b.missing)}: those have no CUDA fallback.")
    else:
        out.append(
            "Every workload keeps a GPU fallback (the all-GPU baseline is feasible), so the ports are "
            "an option, not a lock-in."
        )
    written = m.portability[0].total_usd
    costs = [written - p.total_usd for p in m.portability if written is not None and p.total_usd is not None]
    if costs and max(costs) < 0.5:
        out.append(
            "The portability constraints (`max_family_share`, `gpu-only`) do not bind: they cost nothing."
        )
    rows = [
        [
            p.label,
            usd(p.total_usd) if p.total_usd is not None else "no plan",
            usd_signed(written - p.total_usd) if written is not None and p.total_usd is not None else "-",
        ]
        for p in m.portability
    ]
    out += [
        "",
        "What the portability constraints cost, by re-planning without them:",
        "",
        _table(rows, ["constraints", "total", "cost of the constraints"]),
        "",
    ]
    return out


def _question_6(m: MemoInputs) -> list[str]:
    base = m.plan.total_usd
    rows = []
    for r in m.stress:
        c = r.comparison
        lost = [ch.workload for ch in c.changes if ch.marker == "-"]
        if c.new.plan is None:
            rows.append([r.scenario.name, "no plan", "-", "-", "; ".join(c.new.infeasible[:2])])
            continue
        rows.append(
            [
                r.scenario.name,
                usd(c.new.plan.total_usd),
                change(base, c.new.plan.total_usd),
                str(sum(1 for ch in c.changes if ch.marker == "~")),
                ", ".join(lost) or "none",
            ]
        )
    binding = [c.option for c in m.plan.capacity if c.binding]
    out = ["## 6. What happens if Trainium capacity is unavailable when demand spikes?", ""]
    out += _probabilities(m)
    out.append(
        "Each shock is re-planned from scratch (the fallback is the cheapest plan without the lost capacity) "
        "and with the base plan's commitments kept. "
        + (
            f"Binding capacity in the base plan: {', '.join(binding)}."
            if binding
            else "No capacity limit binds in the base plan."
        )
    )
    out += [
        "",
        _table(rows, ["shock", "fallback total", "extra cost", "workloads moved", "cannot be placed"]),
        "",
    ]
    out += _recourse(m)
    if m.chart:
        out += [f"![Compute spend by family, base and each shock]({m.chart})", ""]
    return out


def _probabilities(m: MemoInputs) -> list[str]:
    """Question 6 in probabilities: the plan over sampled futures of every uncertain input."""
    r = m.risk
    if r is None:
        return [
            "The risk analysis is off (`--samples 0`): no probabilities over sampled futures. Run the memo "
            "with `--samples N` or `placement risk` for the saving's interval, the chance of beating the "
            "all-GPU baseline and the inputs that drive the spread.",
            "",
        ]
    out = [
        f"**Over {r.samples} sampled futures** (seed {r.seed}; every uncertain input drawn from its range, "
        "the plan's commitments and ports already signed, the rest re-planned):",
        "",
        f"- {risk_report.beats_line(r, True)}",
        f"- {risk_report.unserved_line(r)}",
    ]
    if r.cost is not None:
        out.append(
            f"- The plan's cost: P90 **{usd(r.cost.p90)}** and CVaR 90% (the mean of the worst tenth) "
            f"**{usd(r.cost.cvar90)}**, against {usd(r.plan_usd)} at the likely inputs."
        )
    top = r.drivers[:3]
    if top:
        by_name = {i.name: i for i in r.inputs}
        names = "; ".join(
            f"{d.name} ({risk_report.range_cell(by_name[d.name]) if d.name in by_name else ''}: "
            f"{pct(d.variance_share)} of the variance, swing {usd_signed(d.swing_usd)})"
            for d in top
        )
        out.append(
            f"- The inputs that drive the spread most: {names}. Get a quote or a benchmark for these first."
        )
    elif r.cost is not None and r.cost.count < MIN_DRIVER_SAMPLES:
        out.append(
            f"- The inputs that drive the spread are not ranked: {r.cost.count} futures served, and it "
            f"takes {MIN_DRIVER_SAMPLES} (`--samples`)."
        )
    out += ["", _table(risk_report.cost_rows(r), risk_report.COST_HEADERS), ""]
    if m.risk_chart:
        out += [f"![Total cost over sampled futures: plan against the all-GPU baseline]({m.risk_chart})", ""]
    out += ["**Against single shocks:**", ""]
    return out


def _recourse(m: MemoInputs) -> list[str]:
    """The realistic case: the base plan's commitments (and blocks booked before the shock) are
    already signed when the shock comes."""
    figures = committed_recourse(m.stress)
    if not any(f.kept_purchases for f in figures):
        return [
            "The base plan signs no commitment, so a shock costs what re-planning from scratch costs.",
            "",
        ]
    rows = [recourse_row(f) for f in figures]
    return [
        "With the base plan's commitments already signed (committed recourse), each shock costs:",
        "",
        _table(
            rows, ["shock", "from scratch", "commitments kept", "signing first costs", "stranded commitment"]
        ),
        "",
    ]


def _claims(m: MemoInputs) -> list[str]:
    rows = [
        [c.claim, c.ours, "-" if c.implied_advantage is None else pct(c.implied_advantage), c.verdict]
        for c in m.claims
    ]
    out = [
        "## Vendor claims against our catalog",
        "",
        _table(rows, ["claim", "our arithmetic", "implied advantage", "verdict"]),
        "",
    ]
    changed = [c for c in m.claims if c.previous_verdict is not None]
    if changed:
        out += ["The performance model calibrated against published measurements changes these verdicts:", ""]
        out += [
            f'- {c.claim}: now "{c.verdict}"; the earlier, uncalibrated model said "{c.previous_verdict}".'
            for c in changed
        ]
        out.append("")
    return out


def _sources(m: MemoInputs) -> list[str]:
    estimates_in_use = [[e.subject, e.field, e.reasoning] for e in m.plan.estimates]
    out = ["## Assumptions, estimates and sources", ""]
    if schedule.phased(m.plan):
        pricing = (
            "h/month, planned month by month; each purchase at its own price (commitment, Capacity Block, "
            "on demand)."
        )
        capacity = "- Capacity is counted per month."
    else:
        pricing = "h/month; on-demand list prices unless stated."
        capacity = "- Capacity is counted as if every workload runs at once."
    out += [
        f"- Catalog {m.catalog.name}; {m.plan.horizon_months:g}-month horizon at {m.plan.hours_per_month:g} "
        + pricing,
        f"{capacity} Costs follow the formulas in the README; `placement explain` prints any one of them "
        "step by step.",
        f"- Plan solved by {m.plan.solver.solver} to a proven gap of {m.plan.solver.gap_proven:.2g}.",
        *(f"- {text[0].upper()}{text[1:]}: {', '.join(names)}." for text, names in m.plan.defaults),
        "",
    ]
    if m.plan.calibration:
        out += [
            "How well the performance figures of the options used are calibrated against published "
            "measurements (`placement calibrate`):",
            "",
            _table(calibration_rows(m.plan), CALIBRATION_HEADERS),
            "",
        ]
    if estimates_in_use:
        out += [
            "Estimates in use (no public figure exists; each with its reasoning):",
            "",
            _table(estimates_in_use, ["subject", "figure", "reasoning"]),
            "",
        ]
    out += ["Sources: " + ", ".join(f"{k}[^{k}]" for k, _ in m.plan.sources) + ".", ""]
    out += [f"[^{k}]: {s.title}. {s.address} (read {s.date_read})" for k, s in m.plan.sources]
    return out + [""]


BEFORE_YOU_SIGN = [
    "Verify every estimate above against primary sources: an AWS quote for trn2/Trn3 prices and capacity, "
    "and the Savings Plans API for commitment prices.",
    "Benchmark the top workloads on the chosen instances and put the tokens/s into the workload file "
    "(`measured:`); re-run the plan.",
    "Confirm the Neuron SDK versions the ports rely on (several are beta or in maintenance mode).",
    "Re-run `placement stress` with your real capacity allocation; decide which fallbacks you pre-approve.",
    "Keep a human review step: this memo is decision support, not a decision.",
]


def _interval(m: MemoInputs) -> str:
    """The headline saving's P10-P90 over sampled futures (empty without the risk analysis)."""
    r = m.risk
    if r is None or r.saving is None or r.saving_pct is None:
        return ""
    return (
        f" Over {r.samples} sampled futures of the uncertain inputs the saving is "
        f"**{usd(r.saving.p10)} to {usd(r.saving.p90)} ({pct(r.saving_pct.p10)} to "
        f"{pct(r.saving_pct.p90)}) from P10 to P90**, and the plan beats the all-GPU baseline in "
        f"{pct(r.p_beats_baseline)} of them (question 6)."
    )


def render_memo(m: MemoInputs) -> str:
    ests = estimates(m.portfolio, m.catalog)
    head = [
        f"# Procurement memo: AI compute placement for {m.name}",
        "",
        f"**Recommendation.** Place the {len(m.portfolio.workloads)} workloads as below for "
        f"**{usd(m.plan.total_usd)}** over {m.plan.horizon_months:g} months "
        f"({usd(m.plan.compute_usd)} compute + {usd(m.plan.migration_usd)} one-time porting)"
        + (
            f", {usd(m.plan.savings_usd)} ({pct(m.plan.savings_usd / m.plan.baseline.total_usd)}) below "
            f"running everything on GPUs ({usd(m.plan.baseline.total_usd)})"
            if not m.plan.baseline.missing
            else ""
        )
        + "."
        + _interval(m)
        + " Figures marked as estimates must be confirmed before signing (see the end).",
        "",
    ]
    body = (
        _question_1(m, ests)
        + _question_2(m)
        + _question_3(m)
        + _question_4(m)
        + _question_5(m)
        + _question_6(m)
        + _claims(m)
    )
    sign = ["## Before you sign", ""] + [f"- [ ] {item}" for item in BEFORE_YOU_SIGN] + [""]
    return visible("\n".join(head + body + sign + _sources(m)).rstrip() + "\n")
