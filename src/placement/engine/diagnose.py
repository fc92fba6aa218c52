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
from placement.engine.formulation import Model, build
from placement.engine.optimizer import Solution, feasible_pairs, solve, used_spend
from placement.engine.plan import Purchase
from placement.engine.start import greedy_start
from placement.errors import InfeasibleError, SolverError
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
    window, and the policy rows that cannot hold.  When a policy cannot hold, the elastic plan holds
    it as far as it can, and the capacity and windows that then run short are its consequences,
    not causes of their own: those are named from the elastic model without the policy (a
    200-workload portfolio whose GPU-only work alone broke a 46% cap was explained by 17 runs
    "missing their windows" on Trainium before the one policy line)."""

    def elastic(of: Portfolio) -> tuple[Model, Solution]:
        model = build(of, catalog, feasible_pairs(of, ests, catalog), elastic=True, bought=bought)
        return model, solve(model, settings, greedy_start(model))

    try:
        model, solution = elastic(portfolio)
    except SolverError:  # the plan is proven impossible; which rows conflict is not known in time
        return [
            "the solver found no arrangement that names the options, windows or policy that conflict "
            f"within --time-limit {settings.time_limit_s:g} s; raise it to see them"
        ]
    if solution.status == "infeasible":  # every coupling row has a slack: not expected
        return ["the constraints contradict each other"]
    policy = _policy_reasons(portfolio, catalog, ests, model, solution)
    physical = _physical(portfolio, catalog, model, solution)
    exact = solution.status == "optimal"
    if policy and physical:
        rules = portfolio.policy.model_copy(update={"max_family_share": None, "max_region_usd": {}})
        free = portfolio.model_copy(update={"policy": rules})
        try:
            model, solution = elastic(free)
            physical = _physical(free, catalog, model, solution)
            exact = exact and solution.status == "optimal"
        except SolverError:  # no time to tell causes from consequences: all of them, as found
            exact = False
    reasons = physical + policy or ["the workloads do not fit together (no single row could be named)"]
    if not exact:  # a time-limited elastic plan may overstate a shortfall or name one it need not
        reasons.append(
            f"(these come from the least-short arrangement found within --time-limit "
            f"{settings.time_limit_s:g} s, not proven the least; raise it for exact figures)"
        )
    return reasons


def _physical(portfolio: Portfolio, catalog: Catalog, model: Model, solution: Solution) -> list[str]:
    """Options oversubscribed and runs that miss their window in an elastic plan."""
    return _capacity_reasons(portfolio, catalog, solution) + _window_reasons(
        portfolio, catalog, model, solution
    )


def _capacity_reasons(portfolio: Portfolio, catalog: Catalog, solution: Solution) -> list[str]:
    on_option: dict[str, set[str]] = defaultdict(set)
    for (wname, oid, _), count in (*solution.instances.items(), *solution.runs_at_once.items()):
        if count > 0:
            on_option[oid].add(wname)
    short: dict[str, list[int]] = defaultdict(list)
    for (oid, p), slack in sorted(solution.capacity_slack.items()):
        if slack > 1e-6:
            short[oid].append(p)
    reasons = []
    for option in (o for o in catalog.options if o.id in short):
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
    return reasons


def _window_reasons(portfolio: Portfolio, catalog: Catalog, model: Model, solution: Solution) -> list[str]:
    reasons = []
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
    return reasons


def _policy_reasons(
    portfolio: Portfolio,
    catalog: Catalog,
    ests: dict[tuple[str, str], Estimate],
    model: Model,
    solution: Solution,
) -> list[str]:
    reasons = []
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
            cap = portfolio.policy.max_region_usd[region]
            reasons.append(
                f"policy max_region_usd for {region} (${cap:,.0f}) cannot hold: the workloads pinned or "
                f"cheapest there need at least ${slack:,.0f} more"
            )
    return reasons


def _only_on(family: Family, workload: str, catalog: Catalog, ests: dict[tuple[str, str], Estimate]) -> bool:
    return all(e.family == family for e in (ests[(workload, o.id)] for o in catalog.options) if e.ok)
