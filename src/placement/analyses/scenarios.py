"""What-if overlays, comparisons between plans, and capacity/demand stress tests.

Every what-if is a `Scenario` applied to (portfolio, catalog). A changed catalog number keeps its
source and is marked as an estimate ("what-if: ..."), so the outputs flag it like any estimate.
Stress shocks are scenarios too, so a stress result can be reproduced by writing its scenario
file (or editing the catalog by hand) and running `placement compare`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from placement.analyses.fanout import IN_PROCESS, Progress, Runner, Task
from placement.engine.costing import estimates
from placement.engine.diagnose import explain_infeasible
from placement.engine.optimizer import SolveSettings
from placement.engine.plan import Plan
from placement.engine.planner import make_plan
from placement.errors import InfeasibleError, InputError, Problem
from placement.inputs.models import FAMILIES, Catalog, Change, Family, Portfolio, Scenario, changed_figure


def apply_scenario(scenario: Scenario, portfolio: Portfolio, catalog: Catalog) -> tuple[Portfolio, Catalog]:
    """The portfolio and catalog with the scenario's changes; inputs are not modified."""
    tag = f"what-if: scenario {scenario.name!r}"
    try:
        return (
            Portfolio.model_validate(
                {**portfolio.model_dump(), "workloads": _workloads(scenario, portfolio)}
            ),
            Catalog.model_validate(
                {
                    **catalog.model_dump(),
                    "options": _options(scenario, catalog, tag),
                    "migration": _migration(scenario, catalog, tag),
                }
            ),
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(
            [
                Problem(
                    f"scenario {scenario.name!r}",
                    None,
                    where,
                    f"the change gives an invalid value: {first['msg']}",
                )
            ]
        ) from None


def _options(scenario: Scenario, catalog: Catalog, tag: str) -> list[dict[str, Any]]:
    options = []
    for option in catalog.options:
        if option.id in scenario.remove_options:
            continue
        data = option.model_dump()
        for name, change in scenario.options.get(option.id, {}).items():
            old = getattr(option, name)
            if old is not None:
                data[name] = changed_figure(option, name, change)
                data["estimates"] = {**data["estimates"], name: f"{tag} {change.describe()} (was {old:g})"}
        options.append(data)
    return options


def _migration(scenario: Scenario, catalog: Catalog, tag: str) -> dict[str, Any]:
    migration = catalog.migration.model_dump()
    if scenario.engineer_week_usd is not None:
        old = catalog.migration.engineer_week_usd
        migration["engineer_week_usd"] = scenario.engineer_week_usd.apply(old)
        migration["estimates"] = {
            **migration["estimates"],
            "engineer_week_usd": f"{tag} {scenario.engineer_week_usd.describe()} (was {old:g})",
        }
    for item, row in scenario.migration_weeks.items():
        for family, change in row.items():
            effort = migration["items"][item][family]
            if effort["weeks"] is not None:
                old_weeks = effort["weeks"]
                effort["weeks"] = change.apply(old_weeks)
                effort["estimate"] = f"{tag} {change.describe()} (was {old_weeks:g} weeks)"
    return migration


def _workloads(scenario: Scenario, portfolio: Portfolio) -> list[dict[str, Any]]:
    workloads = []
    for w in portfolio.workloads:
        data = w.model_dump()
        if scenario.demand_growth is not None and w.kind == "inference":
            data["tokens_per_month"] = data["tokens_per_month"] * scenario.demand_growth
        overlay = scenario.workloads.get(w.name)
        for key, change in (overlay.model_dump(exclude_none=True) if overlay else {}).items():
            if data[key] is not None:
                value = Change.model_validate(change).apply(data[key])
                data[key] = max(1, round(value)) if key == "runs" else value
        workloads.append(data)
    return workloads


@dataclass(frozen=True)
class Outcome:
    """A plan for every workload that can run somewhere, and why the others cannot, or why none."""

    label: str
    plan: Plan | None
    dropped: tuple[tuple[str, str], ...]  # (workload, why no option can run it)
    infeasible: tuple[str, ...]  # reasons when even the placeable workloads do not fit together


def plan_what_fits(
    portfolio: Portfolio, catalog: Catalog, name: str, label: str, settings: SolveSettings
) -> Outcome:
    ests = estimates(portfolio, catalog)
    dropped = []
    keep = []
    for w in portfolio.workloads:
        rows = [ests[(w.name, o.id)] for o in catalog.options]
        if any(e.ok for e in rows):
            keep.append(w)
        else:
            dropped.append((w.name, _why_not(rows)))
    if not keep:
        return Outcome(label, None, tuple(dropped), ("no workload can run on any option",))
    partial = portfolio.model_copy(update={"workloads": tuple(keep)})
    try:
        plan = make_plan(partial, catalog, name, settings, ests)
    except InfeasibleError as exc:
        return Outcome(label, None, tuple(dropped), (exc.headline, *exc.reasons))
    return Outcome(label, plan, tuple(dropped), ())


def _why_not(rows: list[Any]) -> str:
    """Reasons grouped: 'memory does not fit on inf2.xlarge, inf2.8xlarge; ...'."""
    groups: dict[str, list[str]] = {}
    for e in rows:
        groups.setdefault(e.reason.split(":")[0], []).append(e.option)
    return "; ".join(f"{reason} on {', '.join(options)}" for reason, options in groups.items())


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class WorkloadChange:
    marker: str  # "~" moved, "+" newly placed, "-" no longer placeable
    workload: str
    before: str
    after: str
    delta_usd: float
    reason: str


@dataclass(frozen=True)
class Comparison:
    base: Outcome
    new: Outcome
    families: tuple[tuple[Family, float, float], ...]  # (family, base compute, new compute)
    changes: tuple[WorkloadChange, ...]

    @property
    def delta_usd(self) -> float | None:
        if self.base.plan is None or self.new.plan is None:
            return None
        return self.new.plan.total_usd - self.base.plan.total_usd


def _summary(plan: Plan, workload: str) -> tuple[str, float]:
    result = next(r for r in plan.workloads if r.workload == workload)
    text = " + ".join(
        f"{p.instances}× {p.option}" + ("" if p.share > 1 - 1e-6 else f" ({p.share:.0%})")
        for p in result.placements
    )
    return text, result.compute_usd


def compare(base: Outcome, new: Outcome, new_catalog: Catalog) -> Comparison:
    changes: list[WorkloadChange] = []
    families: tuple[tuple[Family, float, float], ...] = ()
    if base.plan is not None and new.plan is not None:
        families = tuple((g, _family(base.plan, g), _family(new.plan, g)) for g in FAMILIES)
    base_names = {r.workload for r in base.plan.workloads} if base.plan else set()
    new_names = {r.workload for r in new.plan.workloads} if new.plan else set()
    new_dropped = dict(new.dropped)
    for name in sorted(base_names | new_names | set(new_dropped) | {w for w, _ in base.dropped}):
        if name in base_names and name in new_names:
            assert base.plan is not None and new.plan is not None
            before, cost_before = _summary(base.plan, name)
            after, cost_after = _summary(new.plan, name)
            if _counts(base.plan, name) != _counts(new.plan, name) or abs(cost_after - cost_before) > 0.5:
                changes.append(
                    WorkloadChange(
                        "~",
                        name,
                        before,
                        after,
                        cost_after - cost_before,
                        _why_moved(base.plan, new.plan, name, new_catalog),
                    )
                )
        elif name in new_names:
            assert new.plan is not None
            after, cost_after = _summary(new.plan, name)
            changes.append(
                WorkloadChange("+", name, "not placeable", after, cost_after, "now runs somewhere")
            )
        elif name in new_dropped and base.plan is not None and name in base_names:
            before, cost_before = _summary(base.plan, name)
            changes.append(
                WorkloadChange("-", name, before, "not placeable", -cost_before, new_dropped[name])
            )
    return Comparison(base, new, families, tuple(changes))


def _counts(plan: Plan, workload: str) -> dict[str, int]:
    """Instances per option: what a workload holds (shares that shift within them are not a move)."""
    return {p.option: p.instances for r in plan.workloads if r.workload == workload for p in r.placements}


def _family(plan: Plan, family: Family) -> float:
    return next(f.compute_usd for f in plan.families if f.family == family)


def _why_moved(base: Plan, new: Plan, workload: str, catalog: Catalog) -> str:
    before = next(r for r in base.workloads if r.workload == workload).placements
    after = next(r for r in new.workloads if r.workload == workload).placements
    old_options, new_options = {p.option for p in before}, {p.option for p in after}
    if old_options == new_options:
        count_before, count_after = sum(p.instances for p in before), sum(p.instances for p in after)
        if count_before != count_after:
            return f"demand or throughput changed: {count_before} → {count_after} instances"
        return "same placement, price changed"
    main = before[0].option
    if main not in catalog.option_ids:
        return f"{main} removed"
    if main in new_options:
        return "rebalanced across options"
    used = next(c for c in new.capacity if c.option == main)
    if used.available == 0:
        return f"{main} has no capacity"
    free, need = used.available - used.used, before[0].instances
    if free < need:
        return f"{main} capacity taken: {free} of {used.available} free, needs {need}"
    return f"{main} is no longer the cheapest choice"


# --------------------------------------------------------------------------- stress


def shocks(catalog: Catalog, base: Plan | None) -> list[Scenario]:
    """The standard shocks: each non-GPU family's capacity at zero and at half, inference demand ×2,
    and the most-used option (by compute spend) removed."""
    out = []
    for family in FAMILIES:
        if family == "gpu":
            continue
        ids = [o.id for o in catalog.options if o.family == family]
        if not ids:
            continue
        for factor, words in ((0.0, "unavailable"), (0.5, "halved")):
            out.append(
                Scenario(
                    name=f"{family} capacity {words}",
                    options={i: {"capacity_instances": Change(factor=factor)} for i in ids},
                )
            )
    out.append(Scenario(name="inference demand ×2", demand_growth=2.0))
    if base is not None and base.placements:
        spend: dict[str, float] = {}
        for p in base.placements:
            spend[p.option] = spend.get(p.option, 0.0) + p.compute_usd
        top = max(sorted(spend), key=lambda o: spend[o])
        out.append(Scenario(name=f"{top} removed (most-used option)", remove_options=(top,)))
    return out


@dataclass(frozen=True)
class StressResult:
    scenario: Scenario
    comparison: Comparison


def stress(
    portfolio: Portfolio,
    catalog: Catalog,
    name: str,
    settings: SolveSettings,
    runner: Runner = IN_PROCESS,
    progress: Progress | None = None,
) -> tuple[Outcome, tuple[StressResult, ...]]:
    """The base plan (solved here), then every shock re-planned as an independent task on `runner`."""
    base = plan_what_fits(portfolio, catalog, name, "base", settings)
    if base.plan is None:  # nothing to shock: the caller explains why there is no base plan
        return base, ()
    return base, _shocked(base, portfolio, catalog, name, settings, runner, progress)


def shocks_for(
    plan: Plan,
    portfolio: Portfolio,
    catalog: Catalog,
    name: str,
    settings: SolveSettings,
    runner: Runner = IN_PROCESS,
    progress: Progress | None = None,
) -> tuple[StressResult, ...]:
    """The stress results for a plan already made (every workload placed)."""
    return _shocked(Outcome("base", plan, (), ()), portfolio, catalog, name, settings, runner, progress)


def plan_scenario(
    scenario: Scenario, portfolio: Portfolio, catalog: Catalog, name: str, settings: SolveSettings
) -> tuple[Outcome, Catalog]:
    """One what-if, applied and planned; a task of its own (runs in whichever worker it is sent to)."""
    new_portfolio, new_catalog = apply_scenario(scenario, portfolio, catalog)
    return plan_what_fits(new_portfolio, new_catalog, name, scenario.name, settings), new_catalog


def _shocked(
    base: Outcome,
    portfolio: Portfolio,
    catalog: Catalog,
    name: str,
    settings: SolveSettings,
    runner: Runner,
    progress: Progress | None,
) -> tuple[StressResult, ...]:
    scenarios = shocks(catalog, base.plan)
    tasks = [Task(plan_scenario, (s, portfolio, catalog, name, settings)) for s in scenarios]
    planned = runner.run(tasks, progress)
    return tuple(
        StressResult(scenario, compare(base, outcome, shocked_catalog))
        for scenario, (outcome, shocked_catalog) in zip(scenarios, planned, strict=True)
    )


def compare_all(
    variants: Sequence[tuple[Portfolio, Catalog, str]],
    name: str,
    settings: SolveSettings,
    runner: Runner = IN_PROCESS,
    progress: Progress | None = None,
) -> list[Comparison]:
    """Plan every (portfolio, catalog, label) variant as an independent task on `runner`, then
    compare each one after the first (the base) with the first."""
    tasks = [Task(plan_what_fits, (p, c, name, label, settings)) for p, c, label in variants]
    outcomes = runner.run(tasks, progress)
    return [compare(outcomes[0], o, c) for o, (_, c, _) in zip(outcomes[1:], variants[1:], strict=True)]


def explain_if_none(
    outcome: Outcome, portfolio: Portfolio, catalog: Catalog, settings: SolveSettings
) -> None:
    """Raise the full infeasibility explanation when the base itself has no plan."""
    if outcome.plan is None:
        raise explain_infeasible(portfolio, catalog, estimates(portfolio, catalog), settings)
