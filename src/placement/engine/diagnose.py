"""Why there is no plan, in the user's terms.

Two causes are told apart:
1. a workload no option can run: for each option, the reason (kind, gpu-only, porting blocked,
   memory, latency, deadline with the capacity there is, no capacity);
2. the workloads each fit somewhere, but not together: an elastic copy of the model (capacity and
   family-share rows with penalised slack) is solved, and its slack names the oversubscribed
   options (instances needed against available, and the workloads competing for them) or the
   family whose share the policy cannot hold down.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from placement.engine import timeline
from placement.engine.costing import Estimate
from placement.engine.formulation import build
from placement.engine.optimizer import feasible_pairs, solve, used_spend
from placement.engine.plan import Purchase
from placement.errors import InfeasibleError
from placement.inputs.models import Catalog, Family, Portfolio

if TYPE_CHECKING:
    from placement.engine.optimizer import SolveSettings


def explain_infeasible(
    portfolio: Portfolio,
    catalog: Catalog,
    ests: dict[tuple[str, str], Estimate],
    settings: SolveSettings,
    bought: tuple[Purchase, ...] = (),
) -> InfeasibleError:
    unplaceable = _unplaceable(portfolio, catalog, ests)
    if unplaceable:
        return InfeasibleError(
            f"no plan: {len(unplaceable)} workload(s) cannot run on any option in catalog {catalog.name!r}",
            unplaceable,
        )
    return InfeasibleError(
        "no plan: the workloads each fit somewhere, but not all at once",
        _shortfalls(portfolio, catalog, ests, settings, bought),
    )


def _unplaceable(portfolio: Portfolio, catalog: Catalog, ests: dict[tuple[str, str], Estimate]) -> list[str]:
    reasons = []
    buyable = feasible_pairs(portfolio, ests, catalog)
    for w in portfolio.workloads:
        rows = [ests[(w.name, o.id)] for o in catalog.options]
        if not any((w.name, o.id) in buyable for o in catalog.options):
            lines = "; ".join(f"{e.option}: {e.reason if not e.ok else _not_sold(portfolio)}" for e in rows)
            reasons.append(f"workload {w.name!r} cannot run on any option. {lines}")
    return reasons


def _not_sold(portfolio: Portfolio) -> str:
    return f"not sold by any allowed purchase option ({', '.join(portfolio.purchase.allow)})"


def _months(portfolio: Portfolio, catalog: Catalog, periods: list[int]) -> str:
    labels = [p.label for p in timeline.periods(portfolio, catalog) if p.index in periods]
    return labels[0] if len(labels) == 1 else f"{labels[0]}–{labels[-1]}" if labels else "-"


def _shortfalls(
    portfolio: Portfolio,
    catalog: Catalog,
    ests: dict[tuple[str, str], Estimate],
    settings: SolveSettings,
    bought: tuple[Purchase, ...],
) -> list[str]:
    """Solve the elastic model; its slack names oversubscribed options, runs that miss their
    window, and the policy rows that cannot hold."""
    model = build(portfolio, catalog, feasible_pairs(portfolio, ests, catalog), elastic=True, bought=bought)
    solution = solve(model, settings)
    if solution.status == "infeasible":  # every coupling row has a slack: not expected
        return ["the constraints contradict each other"]
    on_option: dict[str, set[str]] = defaultdict(set)
    for (wname, oid, _), count in solution.instances.items():
        if count > 0:
            on_option[oid].add(wname)
    for (wname, oid, _), count in solution.runs_at_once.items():
        if count > 0:
            on_option[oid].add(wname)
    short: dict[str, list[int]] = defaultdict(list)
    for (oid, p), slack in sorted(solution.capacity_slack.items()):
        if slack > 1e-6:
            short[oid].append(p)
    reasons = []
    for option in catalog.options:
        if option.id not in short:
            continue
        periods = short[option.id]
        worst = max(solution.capacity_slack[(option.id, p)] for p in periods)
        capacity = timeline.capacity(portfolio, option)
        reasons.append(
            f"capacity of {option.id} ({option.family}, {option.region}) is oversubscribed in "
            f"{_months(portfolio, catalog, periods)}: the cheapest arrangement that fits everything else "
            f"needs up to {worst:,.0f} more instances at once than the "
            f"{min(capacity[p - 1] for p in periods)} available; competing: "
            f"{', '.join(sorted(on_option[option.id])) or '-'}"
        )
    for (wname, oid), slack in sorted(solution.window_slack.items()):
        if slack > 1e-6 and solution.training.get((wname, oid)):
            w = next(w for w in portfolio.workloads if w.name == wname)
            first, last = timeline.window(portfolio, w)
            options = sorted(o for (name, o) in model.x if name == wname)
            reasons.append(
                f"training {wname!r} cannot finish its runs inside its window "
                f"{_months(portfolio, catalog, list(range(first, last + 1)))}: {slack:,.0f} instance-hours "
                f"do not fit on {oid} with the capacity calendar and the other workloads; options it "
                f"could use: {', '.join(options)}"
            )
    spend = used_spend(model, solution)
    total = sum(spend.values())
    for family, slack in sorted(solution.share_slack.items()):
        if slack > 1e-6 and total > 0:
            only_here = [w.name for w in portfolio.workloads if _only_on(family, w.name, catalog, ests)]
            reasons.append(
                f"policy max_family_share {portfolio.policy.max_family_share:g} cannot hold: "
                f"{family} carries at least {spend[family] / total:.1%} of compute spend"
                + (f"; workloads that can only run on {family}: {', '.join(only_here)}" if only_here else "")
            )
    for region, slack in sorted(solution.region_slack.items()):
        if slack > 1e-6:
            reasons.append(
                f"policy max_region_usd for {region} (${portfolio.policy.max_region_usd[region]:,.0f}) cannot "
                f"hold: the workloads pinned or cheapest there need at least ${slack:,.0f} more"
            )
    return reasons or ["the workloads do not fit together (no single row could be named)"]


def _only_on(family: Family, workload: str, catalog: Catalog, ests: dict[tuple[str, str], Estimate]) -> bool:
    return all(e.family == family for e in (ests[(workload, o.id)] for o in catalog.options) if e.ok)
