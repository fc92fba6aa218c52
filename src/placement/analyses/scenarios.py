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
from placement.engine import timeline
from placement.engine.costing import estimates
from placement.engine.diagnose import explain_infeasible
from placement.engine.optimizer import SolveSettings
from placement.engine.plan import Plan, Purchase
from placement.engine.planner import make_plan
from placement.errors import InfeasibleError, InputError, Problem, SolverError
from placement.inputs.models import (
    FAMILIES,
    Catalog,
    Change,
    Family,
    MonthWindow,
    Portfolio,
    Scenario,
    Workload,
    capacity_calendar,
    changed_figure,
)


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
                    "options": _options(scenario, catalog, tag, timeline.months_in(portfolio)),
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


def _options(scenario: Scenario, catalog: Catalog, tag: str, months: int) -> list[dict[str, Any]]:
    """Options with their changed figures; a removed option is left out, or, when the scenario
    holds in a window of months, has no capacity in those months."""
    options = []
    for option in catalog.options:
        changes = dict(scenario.options.get(option.id, {}))
        if option.id in scenario.remove_options:
            if scenario.months is None:
                continue
            changes["capacity_instances"] = Change(value=0)
        data = option.model_dump()
        for name, change in changes.items():
            old = getattr(option, name)
            if old is None:
                continue
            window = scenario.window(change)
            if name == "capacity_instances":
                data[name], data["capacity_by_month"] = capacity_calendar(option, change, window, months)
                if data["capacity_by_month"]:  # the calendar is a what-if too
                    old_text = _calendar_text(option.capacity_instances, option.capacity_by_month)
                    new_text = _calendar_text(data[name], data["capacity_by_month"])
                    note = f"{tag} {_describe(change, window)}: {new_text} (was {old_text})"
                    data["estimates"] = {**data["estimates"], "capacity_by_month": note}
                if window is not None:  # capacity_instances itself is unchanged
                    continue
            else:
                data[name] = changed_figure(option, name, change)
            data["estimates"] = {**data["estimates"], name: f"{tag} {change.describe()} (was {old:g})"}
        options.append(data)
    return options


def _describe(change: Change, window: MonthWindow | None) -> str:
    """The change in words, with the window it holds in (its own or the scenario's)."""
    return change.model_copy(update={"months": window}).describe()


def _calendar_text(instances: int, calendar: dict[int, int]) -> str:
    """`8, 0 from month 4, 8 from month 7`: a capacity and its calendar in words."""
    return ", ".join([f"{instances:g}", *(f"{v:g} from month {m}" for m, v in sorted(calendar.items()))])


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
        demand: list[Change] = []
        if scenario.demand_growth is not None and w.kind == "inference":
            demand.append(Change(factor=scenario.demand_growth))
        overlay = scenario.workloads.get(w.name)
        for key in sorted(overlay.model_fields_set) if overlay else ():
            change = getattr(overlay, key)
            if change is None or data[key] is None:
                continue
            if key == "tokens_per_month":
                demand.append(change)
                continue
            value = change.apply(data[key])
            data[key] = max(1, round(value)) if key == "runs" else value
        for change in demand:
            data = _changed_demand(data, change, scenario.window(change), portfolio)
        workloads.append(data)
    return workloads


def _changed_demand(
    data: dict[str, Any], change: Change, window: MonthWindow | None, portfolio: Portfolio
) -> dict[str, Any]:
    """An inference workload's demand under a change.  Whole horizon: tokens_per_month and the
    monthly_tokens series change alike (the series is in tokens, not a multiple of the level).  In a
    window: the demand becomes an explicit monthly series (growth written out, timeline.demand),
    the window's months changed; tokens_per_month, the level instances are sized for, is the
    series' largest month."""
    if window is None:
        series = data["monthly_tokens"]
        return {
            **data,
            "tokens_per_month": change.apply(data["tokens_per_month"]),
            "monthly_tokens": None if series is None else tuple(change.apply(v) for v in series),
        }
    w = Workload.model_validate(data)
    assert w.tokens_per_month is not None
    monthly = portfolio.model_copy(update={"periods": "monthly"})
    count = timeline.months_in(portfolio)
    first, last = w.start_month or 1, min(w.end_month or count, count)
    if first > last:  # no demand inside the horizon: nothing to change
        return data
    factors = timeline.demand(monthly, w)
    series = [w.tokens_per_month * factors[month - 1] for month in range(first, last + 1)]
    for month in range(max(first, window.first), min(last, window.end(count)) + 1):
        series[month - first] = change.apply(series[month - first])
    return {
        **data,
        "tokens_per_month": max(series) or w.tokens_per_month,
        "growth_per_month": None,
        "monthly_tokens": tuple(series),
    }


@dataclass(frozen=True)
class Outcome:
    """A plan for every workload that can run somewhere, and why the others cannot, or why none."""

    label: str
    plan: Plan | None
    dropped: tuple[tuple[str, str], ...]  # (workload, why no option can run it)
    infeasible: tuple[str, ...]  # reasons when even the placeable workloads do not fit together


def plan_what_fits(
    portfolio: Portfolio,
    catalog: Catalog,
    name: str,
    label: str,
    settings: SolveSettings,
    bought: tuple[Purchase, ...] = (),
    prefer: dict[str, str] | None = None,
) -> Outcome:
    """The plan for the workloads some option can run (`bought`: purchases already made;
    `prefer`: where a plan for nearly these inputs put each workload, the solver's start)."""
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
        plan = make_plan(partial, catalog, name, settings, ests, bought, prefer)
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

COMMITMENTS = ("1-year", "3-year")
WINDOW_LAST = 6
WINDOW = MonthWindow(first=4, last=WINDOW_LAST)  # "capacity gone in months 4-6"
DEMAND_FROM = MonthWindow(first=7)  # "demand ×2 from month 7"


def shocks(catalog: Catalog, base: Plan | None, portfolio: Portfolio | None = None) -> list[Scenario]:
    """The standard shocks: each non-GPU family's capacity at zero and at half, and (over a monthly
    horizon long enough) gone in months 4-6; inference demand ×2, and ×2 from month 7; the
    most-used option (by compute spend) removed; and the option the plan books Capacity Blocks on
    unavailable in the months of its booking (months 4-6 when it books none there yet)."""
    months = 0 if portfolio is None or portfolio.periods == "single" else timeline.months_in(portfolio)
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
        if months >= WINDOW_LAST:
            out.append(
                Scenario(
                    name=f"{family} capacity gone {WINDOW.describe()}",
                    options={i: {"capacity_instances": Change(value=0)} for i in ids},
                    months=WINDOW,
                )
            )
    out.append(Scenario(name="inference demand ×2", demand_growth=2.0))
    if months >= DEMAND_FROM.first:
        out.append(
            Scenario(
                name=f"inference demand ×2 {DEMAND_FROM.describe()}", demand_growth=2.0, months=DEMAND_FROM
            )
        )
    if base is not None and base.placements:
        spend: dict[str, float] = {}
        for p in base.placements:
            spend[p.option] = spend.get(p.option, 0.0) + p.compute_usd
        top = max(sorted(spend), key=lambda o: spend[o])
        out.append(Scenario(name=f"{top} removed (most-used option)", remove_options=(top,)))
        block = _block_shock(catalog, base, spend, months)
        if block is not None:
            out.append(block)
    return out


def _block_shock(catalog: Catalog, base: Plan, spend: dict[str, float], months: int) -> Scenario | None:
    """A Capacity Block option unavailable in a window: the option of the plan's largest block
    that starts after month 1 (not booked yet when the plan is signed), in that block's months;
    else the option the plan books blocks on (or, booking none, the most-used option that sells
    them) in months 4-6."""
    if months == 0:
        return None
    booked = [
        p for p in base.purchases if p.instrument == "capacity-block" and p.option in catalog.option_ids
    ]
    later = [p for p in booked if p.period > 1]
    if later:
        largest = max(later, key=lambda p: (p.usd, -p.period, p.option))
        last = min(months, largest.period + max(1, largest.periods) - 1)
        window = MonthWindow(first=largest.period, last=last)
        return Scenario(
            name=f"{largest.option} unavailable {window.describe()} (its Capacity Block would start then)",
            remove_options=(largest.option,),
            months=window,
        )
    if months < WINDOW_LAST:
        return None
    block_usd: dict[str, float] = {}
    for p in booked:
        block_usd[p.option] = block_usd.get(p.option, 0.0) + p.usd
    if block_usd:
        option, why = min(block_usd, key=lambda o: (-block_usd[o], o)), "books Capacity Blocks"
    else:
        sellers = [o for o in spend if catalog.option(o).price("capacity-block") is not None]
        if not sellers:
            return None
        option, why = min(sellers, key=lambda o: (-spend[o], o)), "sells Capacity Blocks"
    return Scenario(
        name=f"{option} unavailable {WINDOW.describe()} ({why})", remove_options=(option,), months=WINDOW
    )


def shock_month(scenario: Scenario) -> int:
    """The first month a shock holds in: 1 when any of its changes holds for the whole horizon."""
    if scenario.months is not None:
        return scenario.months.first
    changes = [c for row in scenario.options.values() for c in row.values()]
    changes += [
        change
        for overlay in scenario.workloads.values()
        for field in sorted(overlay.model_fields_set)
        if (change := getattr(overlay, field)) is not None
    ]
    windows = [c.months for c in changes]
    whole = (
        bool(scenario.remove_options or scenario.migration_weeks)
        or scenario.demand_growth is not None
        or scenario.engineer_week_usd is not None
    )
    if whole or not windows or any(w is None for w in windows):
        return 1
    return min(w.first for w in windows if w is not None)


def kept_purchases(plan: Plan, portfolio: Portfolio, month: int) -> tuple[Purchase, ...]:
    """What the base plan has bought by the time a shock hits in `month`: every 1-year and 3-year
    commitment it schedules (signed with the plan) and the Capacity Blocks that start before that
    month (already booked and paying)."""
    period = timeline.period_of(portfolio, month)
    return tuple(
        p
        for p in plan.purchases
        if p.instrument in COMMITMENTS or (p.instrument == "capacity-block" and p.period < period)
    )


@dataclass(frozen=True)
class Recourse:
    """A shock re-planned with the base plan's commitments (and blocks booked before it) bought."""

    kept: tuple[Purchase, ...]  # passed to the planner as already bought
    outcome: Outcome
    lost_usd: float  # kept purchases on options the shock removes: paid, and of no use
    stranded_hours: float  # committed instance-hours of the kept commitments left idle (horizon)
    stranded_usd: float  # those hours at the commitment's hourly price

    @property
    def total_usd(self) -> float | None:
        return None if self.outcome.plan is None else self.outcome.plan.total_usd + self.lost_usd


@dataclass(frozen=True)
class StressResult:
    scenario: Scenario
    comparison: Comparison  # the shock re-planned from scratch, against the base
    recourse: Recourse | None = None  # with the base's commitments kept (None: it commits to nothing)


@dataclass(frozen=True)
class RecourseFigures:
    """What signing the base plan's commitments first costs under one shock (the memo's question 6)."""

    shock: str
    scratch_usd: float | None  # re-planned from scratch (None: no plan)
    kept_usd: float | None  # re-planned with the commitments kept (None: no plan)
    stranded_hours: float
    stranded_usd: float
    kept_purchases: int

    @property
    def signing_first_usd(self) -> float | None:
        """Committed recourse minus from scratch: what having signed first costs under the shock."""
        if self.scratch_usd is None or self.kept_usd is None:
            return None
        return self.kept_usd - self.scratch_usd


def committed_recourse(results: Sequence[StressResult]) -> tuple[RecourseFigures, ...]:
    """Per shock: cost from scratch, with the base's commitments kept, and the stranded commitment
    spend.  A base with nothing committed keeps nothing: both costs are the plan from scratch."""
    out = []
    for r in results:
        scratch = r.comparison.new.plan
        scratch_usd = None if scratch is None else scratch.total_usd
        if r.recourse is None:
            out.append(RecourseFigures(r.scenario.name, scratch_usd, scratch_usd, 0.0, 0.0, 0))
            continue
        rec = r.recourse
        out.append(
            RecourseFigures(
                r.scenario.name,
                scratch_usd,
                rec.total_usd,
                rec.stranded_hours,
                rec.stranded_usd,
                len(rec.kept),
            )
        )
    return tuple(out)


def stranded(
    plan: Plan | None, kept: Sequence[Purchase], catalog: Catalog, available: Sequence[str]
) -> tuple[float, float, float]:
    """(lost USD, stranded instance-hours, stranded USD) of the kept commitments in a plan made
    with them bought.  Work uses bought commitments first, so the idle hours of the kept ones on an
    option in a period are the hours they pay for there minus the committed hours that carry work,
    priced at the commitment's hourly rate in `catalog` (the base's, where they were bought).
    Kept commitments on options not `available` under the shock are lost whole (their charge
    adds to the plan's total).  Inside the horizon only."""
    hours = {p.index: p.hours for p in plan.periods} if plan is not None else {}
    used = {(m.option, m.period): m.committed_hours_used for m in plan.monthly} if plan is not None else {}
    lost = stranded_hours = stranded_usd = 0.0
    paid_hours: dict[tuple[str, int], float] = {}
    paid_usd: dict[tuple[str, int], float] = {}
    for c in kept:
        if c.instrument not in COMMITMENTS:
            continue
        rate = catalog.option(c.option).price(c.instrument) or 0.0  # type: ignore[arg-type]
        if c.option not in available:
            lost += c.usd
            stranded_hours += c.instance_hours
            stranded_usd += c.instance_hours * rate
            continue
        for period in range(c.period, c.period + c.periods):
            key = (c.option, period)
            paid = c.instances * hours.get(period, 0.0)
            paid_hours[key] = paid_hours.get(key, 0.0) + paid
            paid_usd[key] = paid_usd.get(key, 0.0) + paid * rate
    for key in sorted(paid_hours):
        if paid_hours[key] > 0:
            idle = max(0.0, paid_hours[key] - used.get(key, 0.0))
            stranded_hours += idle
            stranded_usd += paid_usd[key] * idle / paid_hours[key]
    return lost, stranded_hours, stranded_usd


def stress(
    portfolio: Portfolio,
    catalog: Catalog,
    name: str,
    settings: SolveSettings,
    runner: Runner = IN_PROCESS,
    progress: Progress | None = None,
) -> tuple[Outcome, tuple[StressResult, ...]]:
    """The base plan (solved here), then every shock re-planned as independent tasks on `runner`:
    from scratch, and with the base plan's commitments kept."""
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
    scenario: Scenario,
    portfolio: Portfolio,
    catalog: Catalog,
    name: str,
    settings: SolveSettings,
    bought: tuple[Purchase, ...] = (),
    prefer: dict[str, str] | None = None,
) -> tuple[Outcome, Catalog]:
    """One what-if, applied and planned (with `bought` already bought: those on options the
    scenario removes are left out; `prefer`: the solver's start, see `plan_what_fits`); a task
    of its own (runs in whichever worker it is sent to)."""
    new_portfolio, new_catalog = apply_scenario(scenario, portfolio, catalog)
    usable = tuple(p for p in bought if p.option in new_catalog.option_ids)
    label = f"{scenario.name}, commitments kept" if bought else scenario.name
    try:
        return plan_what_fits(new_portfolio, new_catalog, name, label, settings, usable, prefer), new_catalog
    except SolverError as exc:  # a shock the solver could not finish: say so, report the others
        return Outcome(label, None, (), (str(exc),)), new_catalog


def _shocked(
    base: Outcome,
    portfolio: Portfolio,
    catalog: Catalog,
    name: str,
    settings: SolveSettings,
    runner: Runner,
    progress: Progress | None,
) -> tuple[StressResult, ...]:
    assert base.plan is not None
    scenarios = shocks(catalog, base.plan, portfolio)
    kept = [kept_purchases(base.plan, portfolio, shock_month(s)) for s in scenarios]
    tasks = [Task(plan_scenario, (s, portfolio, catalog, name, settings)) for s in scenarios]
    # re-planned with the base's commitments kept, the solver starts from the base plan's
    # placement: on the enterprise example that takes "inference demand ×2" from 66 s (the
    # commitment-free start stalls at a 1.3% gap) to 5 s; from scratch each re-plan finds its own
    # start (there the base's placement is a worse start for "demand ×2 from month 7": 53 s, not 30)
    where = base.plan.main_options()
    tasks += [
        Task(plan_scenario, (s, portfolio, catalog, name, settings, k, where))
        for s, k in zip(scenarios, kept, strict=True)
        if k
    ]
    planned = runner.run(tasks, progress)
    scratch, committed = planned[: len(scenarios)], iter(planned[len(scenarios) :])
    results = []
    for scenario, bought, (outcome, shocked_catalog) in zip(scenarios, kept, scratch, strict=True):
        recourse = None
        if bought:
            kept_outcome, _ = next(committed)
            lost, hours, usd = stranded(kept_outcome.plan, bought, catalog, shocked_catalog.option_ids)
            recourse = Recourse(bought, kept_outcome, lost, hours, usd)
        results.append(StressResult(scenario, compare(base, outcome, shocked_catalog), recourse))
    return tuple(results)


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
