"""The pipeline core: portfolio + catalog → Plan (or an explanation of why there is none)."""

from __future__ import annotations

from collections import defaultdict

from placement.engine import timeline
from placement.engine.costing import Estimate, blocked_item, estimates, port_weeks
from placement.engine.diagnose import explain_infeasible
from placement.engine.formulation import Model
from placement.engine.optimizer import (
    SOLVER_NAME,
    Solution,
    SolveSettings,
    codebases,
    model_size,
    optimize,
    port_costs,
    used_spend,
)
from placement.engine.plan import (
    AlreadyOn,
    Baseline,
    CapacityUse,
    EstimateInUse,
    FamilySpend,
    MigrationCharge,
    Placement,
    Plan,
    Reservation,
    RunnerUp,
    SolverReport,
    WorkloadResult,
)
from placement.engine.plan import Purchase as Bought
from placement.engine.reservations import reservations
from placement.engine.schedule import Schedule, schedule
from placement.inputs.models import FAMILIES, Catalog, Family, Portfolio, Source, Workload

SHARE_TOL = 1e-6


def make_plan(
    portfolio: Portfolio,
    catalog: Catalog,
    name: str,
    settings: SolveSettings | None = None,
    ests: dict[tuple[str, str], Estimate] | None = None,
    bought: tuple[Bought, ...] = (),
    prefer: dict[str, str] | None = None,
) -> Plan:
    """The optimal plan. `ests` may pass estimates already computed for these inputs (a superset
    is fine: pairs of workloads not in the portfolio are never placed).  `bought`: commitments and
    Capacity Blocks already paid for (a base plan's, or a bill's), used first and in the total.
    `prefer`: each workload's option in a plan for nearly these inputs, the solver's start."""
    settings = settings or SolveSettings()
    ests = ests if ests is not None else estimates(portfolio, catalog)
    unplaceable = [
        w for w in portfolio.workloads if not any(ests[(w.name, o.id)].ok for o in catalog.options)
    ]
    if unplaceable:
        raise explain_infeasible(portfolio, catalog, ests, settings)
    model, solution = optimize(portfolio, catalog, ests, settings, bought, prefer)
    if solution.status == "infeasible":
        raise explain_infeasible(portfolio, catalog, ests, settings, bought)
    variables, integers, constraints = model_size(model)
    report = SolverReport(
        solver=SOLVER_NAME,
        status=solution.status,
        gap_limit=settings.gap,
        gap_proven=solution.gap,
        time_limit_s=settings.time_limit_s,
        variables=variables,
        integer_variables=integers,
        constraints=constraints,
    )
    return assemble(portfolio, catalog, name, ests, model, solution, report, bought)


def _placements(
    portfolio: Portfolio,
    catalog: Catalog,
    ests: dict[tuple[str, str], Estimate],
    model: Model,
    solution: Solution,
    plan: Schedule,
) -> dict[str, list[Placement]]:
    """Each workload's placements: training on its option; inference per option with its share of
    the horizon's traffic and the most instances it holds in any period."""
    placements: dict[str, list[Placement]] = defaultdict(list)
    for (wname, oid), chosen in solution.training.items():
        if chosen:
            est = ests[(wname, oid)]
            held = [
                est.instances_at_once * count
                for (w, o, _), count in solution.runs_at_once.items()
                if (w, o) == (wname, oid) and count > 0
            ]
            placements[wname].append(
                Placement(
                    wname,
                    oid,
                    est.family,
                    "training",
                    1.0,
                    max(held, default=est.instances_at_once),
                    plan.placement_usd.get((wname, oid), 0.0),
                    _basis(catalog, est),
                    catalog.option(oid).region,
                )
            )
    traffic: dict[tuple[str, str], float] = defaultdict(float)
    most: dict[tuple[str, str], int] = defaultdict(int)
    total: dict[str, float] = defaultdict(float)
    for (wname, oid, p), share in solution.shares.items():
        weight = model.demand[wname][p - 1] * model.periods[p - 1].months
        traffic[(wname, oid)] += share * weight
        most[(wname, oid)] = max(most[(wname, oid)], solution.instances[(wname, oid, p)])
    for wname, factors in model.demand.items():
        total[wname] = sum(f * period.months for f, period in zip(factors, model.periods, strict=True))
    for key in sorted(traffic, key=lambda k: (k[0], catalog.option_ids.index(k[1]))):
        share = traffic[key] / total[key[0]] if total[key[0]] else 0.0
        if share > SHARE_TOL or most[key] > 0:
            est = ests[key]
            placements[key[0]].append(
                Placement(
                    key[0],
                    key[1],
                    est.family,
                    "inference",
                    share,
                    most[key],
                    plan.placement_usd.get(key, 0.0),
                    _basis(catalog, est),
                    catalog.option(key[1]).region,
                )
            )
    return placements


def _capacity(catalog: Catalog, plan: Schedule) -> tuple[CapacityUse, ...]:
    """Per option, its tightest period: the most instances held against that period's capacity."""
    tightest: dict[str, tuple[int, int]] = {}
    for m in plan.monthly:
        held = m.inference_instances + m.training_instances
        old = tightest.get(m.option)
        if old is None or (m.capacity - held, -held) < (old[1] - old[0], -old[0]):
            tightest[m.option] = (held, m.capacity)
    return tuple(
        CapacityUse(o.id, o.family, *tightest.get(o.id, (0, o.capacity_instances))) for o in catalog.options
    )


def assemble(
    portfolio: Portfolio,
    catalog: Catalog,
    name: str,
    ests: dict[tuple[str, str], Estimate],
    model: Model,
    solution: Solution,
    report: SolverReport,
    bought: tuple[Bought, ...] = (),
) -> Plan:
    week_usd = catalog.migration.engineer_week_usd
    ports = port_costs(portfolio, catalog)
    plan = schedule(portfolio, catalog, model, solution, bought)
    placements = _placements(portfolio, catalog, ests, model, solution, plan)

    by_name = {w.name: w for w in portfolio.workloads}
    used_families: dict[str, set[Family]] = defaultdict(set)
    for wname, items in placements.items():
        used_families[by_name[wname].codebase_name].update(p.family for p in items)
    migrations = tuple(
        MigrationCharge(c, g, ports[(c, g)][0], ports[(c, g)][0] * week_usd, ports[(c, g)][1])
        for c in sorted(used_families)
        for g in FAMILIES
        if g in used_families[c] and ports[(c, g)][0] > 0
    )
    capacity = _capacity(catalog, plan)
    usage = {c.option: c.used for c in capacity}
    ported = {(m.codebase, m.family) for m in migrations}
    results = tuple(
        _result(portfolio, catalog, w, placements[w.name], ests, ported, usage, ports)
        for w in portfolio.workloads
    )
    unused = sum(plan.unused_usd.values())
    compute = sum(r.compute_usd for r in results) + unused
    spend: dict[Family, float] = defaultdict(float)
    for oid, usd in plan.unused_usd.items():
        spend[catalog.option(oid).family] += usd
    for p in (p for r in results for p in r.placements):
        spend[p.family] += p.compute_usd
    used = used_spend(model, solution)
    used_total = sum(used.values())
    families = tuple(
        FamilySpend(
            g,
            spend[g],
            sum(m.usd for m in migrations if m.family == g),
            spend[g] / compute if compute else 0.0,
            used.get(g, 0.0) / used_total if used_total else 0.0,
        )
        for g in FAMILIES
    )
    return Plan(
        portfolio=name,
        catalog=catalog.name,
        horizon_months=portfolio.horizon_months,
        hours_per_month=catalog.settings.hours_per_month,
        max_family_share=portfolio.policy.max_family_share,
        compute_usd=compute,
        migration_usd=sum(m.usd for m in migrations),
        workloads=results,
        migrations=migrations,
        capacity=capacity,
        families=families,
        baseline=baseline(portfolio, catalog, ests),
        solver=report,
        estimates=_estimates_in_use(catalog, results, migrations, ests),
        measured=tuple(
            (p.workload, p.option)
            for r in results
            for p in r.placements
            if ests[(p.workload, p.option)].measured
        ),
        sources=_sources_cited(catalog, results, migrations, ests),
        reservations=_reservations(portfolio, catalog, results, ests),
        periods=plan.months,
        purchases=plan.purchases,
        monthly=plan.monthly,
        runs=plan.runs,
        ports=plan.ports,
        beyond_horizon=portfolio.purchase.beyond_horizon,
        committed_beyond_usd=plan.committed_beyond_usd,
        unused_commitment_usd=unused,
        region_usd=tuple(sorted(plan.region_usd.items())),
        calibration=tuple(
            (o.id, catalog.calibration[o.id])
            for o in catalog.options
            if o.id in {p.option for r in results for p in r.placements} and o.id in catalog.calibration
        ),
        defaults=_defaults(portfolio),
        already_on=already_on(portfolio, catalog),
        split=plan.split,
    )


def _reservations(
    portfolio: Portfolio,
    catalog: Catalog,
    results: tuple[WorkloadResult, ...],
    ests: dict[tuple[str, str], Estimate],
) -> tuple[Reservation, ...]:
    """Post-hoc buying advice, only for a one-period plan bought on demand (a time-phased plan
    decides its purchases itself)."""
    if portfolio.periods != "single" or tuple(portfolio.purchase.allow) != ("on-demand",):
        return ()
    return reservations(portfolio, catalog, [p for r in results for p in r.placements], ests)


def _defaults(portfolio: Portfolio) -> tuple[tuple[str, tuple[str, ...]], ...]:
    relying: dict[str, list[str]] = {}
    for w in portfolio.workloads:
        for text in w.defaults_used():
            relying.setdefault(text, []).append(w.name)
    return tuple((text, tuple(names)) for text, names in relying.items())


def already_on(portfolio: Portfolio, catalog: Catalog) -> tuple[AlreadyOn, ...]:
    """Each `already_on` entry with the port it waives for its codebase and the block it lifts for
    its own workload (both shown in the assumptions and by `placement explain`)."""
    groups = codebases(portfolio)
    out = []
    for w in portfolio.workloads:
        members = [m.model_copy(update={"already_on": ()}) for m in groups[w.codebase_name]]
        for family in w.already_on:
            weeks = port_weeks(catalog, members, family)[0]
            out.append(
                AlreadyOn(
                    w.name, w.codebase_name, family, weeks, blocked_item(catalog, w, family, waive=False)
                )
            )
    return tuple(out)


def _basis(catalog: Catalog, est: Estimate) -> str:
    option = catalog.option(est.option)
    if any(option.is_estimate(f) for f in est.inputs):
        return "estimate"
    return "measured" if est.measured else "sourced"


def _result(
    portfolio: Portfolio,
    catalog: Catalog,
    w: Workload,
    items: list[Placement],
    ests: dict[tuple[str, str], Estimate],
    ported: set[tuple[str, Family]],
    usage: dict[str, int],
    ports: dict[tuple[str, Family], tuple[float, tuple[str, ...]]],
) -> WorkloadResult:
    items = sorted(items, key=lambda p: (-p.share, p.option))
    compute = sum(p.compute_usd for p in items)
    per_million = None
    per_run = None
    if w.kind == "inference":
        tokens = timeline.tokens_over_horizon(portfolio, w)
        per_million = compute / (tokens / 1e6) if tokens > 0 else None
    else:
        per_run = compute / w.run_count
    families = {p.family for p in items}
    weeks = sum(ports[(w.codebase_name, g)][0] for g in families)
    return WorkloadResult(
        workload=w.name,
        kind=w.kind,
        codebase=w.codebase_name,
        placements=tuple(items),
        compute_usd=compute,
        usd_per_million_tokens=per_million,
        cost_per_run_usd=per_run,
        migration_weeks=weeks,
        runner_up=_runner_up(catalog, w, items, compute, ests, ported, usage, ports),
    )


def _runner_up(
    catalog: Catalog,
    w: Workload,
    items: list[Placement],
    compute: float,
    ests: dict[tuple[str, str], Estimate],
    ported: set[tuple[str, Family]],
    usage: dict[str, int],
    ports: dict[tuple[str, Family], tuple[float, tuple[str, ...]]],
) -> RunnerUp | None:
    """The cheapest option not in the plan for this workload, alone, with any port it would need."""
    chosen = {p.option for p in items}
    best: tuple[float, str, str] | None = None
    for option in catalog.options:
        est = ests[(w.name, option.id)]
        if not est.ok or option.id in chosen:
            continue
        port = 0.0
        notes = []
        if (w.codebase_name, option.family) not in ported and ports[(w.codebase_name, option.family)][0] > 0:
            port = ports[(w.codebase_name, option.family)][0] * catalog.migration.engineer_week_usd
            notes.append(f"incl. ${port:,.0f} port to {option.family}")
        free = option.capacity_instances - usage.get(option.id, 0)
        if est.instances > free:
            notes.append(f"needs {est.instances} instance(s), {max(free, 0)} free")
        extra = est.compute_usd + port - compute
        if extra < 0 and not notes:
            notes.append("cheaper alone; held back by capacity or policy")
        candidate = (extra, option.id, "; ".join(notes))
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    return RunnerUp(best[1], best[0], best[2]) if best else None


def baseline(portfolio: Portfolio, catalog: Catalog, ests: dict[tuple[str, str], Estimate]) -> Baseline:
    """Every workload alone on its cheapest feasible GPU option sold on demand, bought on demand,
    capacity ignored."""
    gpu = [o for o in catalog.options if o.family == "gpu" and o.on_demand]
    choices, missing = [], []
    compute = 0.0
    on_gpu: set[str] = set()
    for w in portfolio.workloads:
        feasible = [ests[(w.name, o.id)] for o in gpu if ests[(w.name, o.id)].ok]
        if not feasible:
            missing.append(w.name)
            continue
        best = min(feasible, key=lambda e: (e.compute_usd, e.option))
        choices.append((w.name, best.option))
        compute += best.compute_usd
        on_gpu.add(w.name)
    groups = codebases(portfolio)
    ports = port_costs(portfolio, catalog)
    migration = sum(
        ports[(c, "gpu")][0] * catalog.migration.engineer_week_usd
        for c in groups
        if any(w.name in on_gpu for w in groups[c])
    )
    return Baseline(compute, migration, tuple(choices), tuple(missing))


def _estimates_in_use(
    catalog: Catalog,
    results: tuple[WorkloadResult, ...],
    migrations: tuple[MigrationCharge, ...],
    ests: dict[tuple[str, str], Estimate],
) -> tuple[EstimateInUse, ...]:
    found: dict[tuple[str, str], str] = {}
    for r in results:
        for p in r.placements:
            option = catalog.option(p.option)
            for field_name in ests[(p.workload, p.option)].inputs:
                if option.is_estimate(field_name):
                    found[(p.option, field_name)] = option.estimates[field_name]
    if migrations:
        for field_name, text in catalog.migration.estimates.items():
            found[("migration", field_name)] = text
    for m in migrations:
        for item in m.items:
            effort = catalog.migration.items[item][m.family]
            if effort.estimate:
                found[(f"migration: {item} → {m.family}", "weeks")] = effort.estimate
    for field_name, text in catalog.settings.estimates.items():
        found[("settings", field_name)] = text
    return tuple(EstimateInUse(s, f, t) for (s, f), t in sorted(found.items()))


def _sources_cited(
    catalog: Catalog,
    results: tuple[WorkloadResult, ...],
    migrations: tuple[MigrationCharge, ...],
    ests: dict[tuple[str, str], Estimate],
) -> tuple[tuple[str, Source], ...]:
    keys: set[str] = set(catalog.settings.sources.values())
    for r in results:
        for p in r.placements:
            option = catalog.option(p.option)
            keys.update(option.sources[f] for f in ests[(p.workload, p.option)].inputs if f in option.sources)
    for m in migrations:
        keys.update(catalog.migration.sources.values())
        for item in m.items:
            source = catalog.migration.items[item][m.family].source
            if source:
                keys.add(source)
    return tuple((k, catalog.sources[k]) for k in sorted(keys))
