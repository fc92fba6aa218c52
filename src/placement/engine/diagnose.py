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

from placement.engine.costing import Estimate
from placement.engine.optimizer import build, solve, used_spend
from placement.errors import InfeasibleError
from placement.inputs.models import Catalog, Family, Portfolio

if TYPE_CHECKING:
    from placement.engine.optimizer import SolveSettings


def explain_infeasible(
    portfolio: Portfolio,
    catalog: Catalog,
    ests: dict[tuple[str, str], Estimate],
    settings: SolveSettings,
) -> InfeasibleError:
    unplaceable = _unplaceable(portfolio, catalog, ests)
    if unplaceable:
        return InfeasibleError(
            f"no plan: {len(unplaceable)} workload(s) cannot run on any option in catalog {catalog.name!r}",
            unplaceable,
        )
    return InfeasibleError(
        "no plan: the workloads each fit somewhere, but not all at once",
        _shortfalls(portfolio, catalog, ests, settings),
    )


def _unplaceable(portfolio: Portfolio, catalog: Catalog, ests: dict[tuple[str, str], Estimate]) -> list[str]:
    reasons = []
    for w in portfolio.workloads:
        rows = [ests[(w.name, o.id)] for o in catalog.options]
        if not any(e.ok for e in rows):
            lines = "; ".join(f"{e.option}: {e.reason}" for e in rows)
            reasons.append(f"workload {w.name!r} cannot run on any option. {lines}")
    return reasons


def _shortfalls(
    portfolio: Portfolio,
    catalog: Catalog,
    ests: dict[tuple[str, str], Estimate],
    settings: SolveSettings,
) -> list[str]:
    """Solve the elastic model; its slack names oversubscribed options and unmet policy."""
    solution = solve(build(portfolio, catalog, ests, elastic=True), settings)
    if solution.status == "infeasible":  # every coupling row has a slack: not expected
        return ["the constraints contradict each other"]
    on_option: dict[str, list[str]] = defaultdict(list)
    used: dict[str, float] = defaultdict(float)
    for key, chosen in solution.training.items():
        if chosen:
            on_option[key[1]].append(key[0])
            used[key[1]] += ests[key].instances_at_once
    for key, count in solution.instances.items():
        if count > 0:
            on_option[key[1]].append(key[0])
            used[key[1]] += count
    spend = used_spend(ests, solution.training, solution.shares)
    reasons = [
        f"capacity of {option.id} ({option.family}) is oversubscribed: the cheapest arrangement that "
        f"fits everything else needs {used[option.id]:,.0f} instances at once, "
        f"{option.capacity_instances} are available; competing: {', '.join(sorted(on_option[option.id]))}"
        for option in catalog.options
        if solution.capacity_slack.get(option.id, 0.0) > 1e-6
    ]
    total = sum(spend.values())
    for family, slack in sorted(solution.share_slack.items()):
        if slack > 1e-6 and total > 0:
            only_here = [w.name for w in portfolio.workloads if _only_on(family, w.name, catalog, ests)]
            reasons.append(
                f"policy max_family_share {portfolio.policy.max_family_share:g} cannot hold: "
                f"{family} carries at least {spend[family] / total:.1%} of compute spend"
                + (f"; workloads that can only run on {family}: {', '.join(only_here)}" if only_here else "")
            )
    return reasons


def _only_on(family: Family, workload: str, catalog: Catalog, ests: dict[tuple[str, str], Estimate]) -> bool:
    return all(e.family == family for e in (ests[(workload, o.id)] for o in catalog.options) if e.ok)
