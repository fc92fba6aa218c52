"""From a solved model to what a buyer acts on: purchases, the month-by-month use of each option,
the run calendar, the port schedule, and each placement's part of the bill.

The model solves spans of identical months (timeline.spans); here each span is laid out month by
month: instances held are the span's, hours (training, on-demand, blocks) are split over its
months by their hours, and commitments are in force exactly in the months of their term.
Charges per option and month: on-demand hours · od + block hours · cb + the commitments in force
(each instance · its term price · the month's hours).  What workloads use is split over them by
the instance-hours each uses there; committed hours nobody uses (and, under `charge-full-term`, a
term's months after the horizon) are reported as unused commitment, so placements plus unused
commitment add up to the plan's compute cost.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from placement.engine import timeline
from placement.engine.formulation import IN_FORCE, TERMS, Model
from placement.engine.optimizer import Solution
from placement.engine.plan import (
    MonthUse,
    Period,
    PortSchedule,
    Purchase,
    RunMonth,
    RunSchedule,
    bursting,
    on_demand_at_once,
)
from placement.inputs.models import Catalog, Option, Portfolio

HOURS_PER_DAY = 24.0
_ORDER = {"in-force": 0, "3-year": 1, "1-year": 2, "capacity-block": 3, "on-demand": 4}


@dataclass(frozen=True)
class Schedule:
    months: tuple[Period, ...]
    purchases: tuple[Purchase, ...]
    monthly: tuple[MonthUse, ...]
    runs: tuple[RunSchedule, ...]
    ports: tuple[PortSchedule, ...]
    placement_usd: dict[tuple[str, str], float]  # (workload, option) → its part of the charges
    unused_usd: dict[str, float]  # per option: committed hours without work, charged months beyond
    committed_beyond_usd: float  # horizon-only: the terms' months after the horizon, not charged
    region_usd: dict[str, float]
    split: tuple[tuple[str, str, int, float, int], ...]  # (workload, option, month, share, instances)


@dataclass
class _Month:
    """What one option carries and is charged in one month, as it is gathered."""

    inference: int = 0
    training: int = 0
    bursting: int = 0  # of training: instances held for less than the whole month (plan.bursting)
    training_hours: float = 0.0
    hours_by_workload: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    committed: int = 0
    committed_usd: float = 0.0
    on_demand_hours: float = 0.0
    block_instances: int = 0
    block_hours: float = 0.0
    block_usd: float = 0.0


def schedule(
    portfolio: Portfolio,
    catalog: Catalog,
    model: Model,
    solution: Solution,
    bought: tuple[Purchase, ...] = (),
) -> Schedule:
    months = timeline.periods(portfolio, catalog)
    if portfolio.periods == "single":
        months = (months[0],)
    layout = _Layout(portfolio, catalog, model, months)
    layout.commitments(solution)
    layout.bought(bought)
    layout.usage(solution)
    monthly, placement_usd = layout.charges()
    purchases = layout.purchases + layout.spot_purchases(solution)
    return Schedule(
        months,
        tuple(sorted(purchases, key=lambda p: (p.period, _ORDER[p.instrument], p.option))),
        monthly,
        layout.runs(solution),
        _ports(portfolio, catalog, model, solution),
        placement_usd,
        dict(layout.unused),
        layout.beyond,
        dict(layout.region_usd),
        layout.split(solution),
    )


class _Layout:
    def __init__(self, portfolio: Portfolio, catalog: Catalog, model: Model, months: tuple[Period, ...]):
        self.portfolio, self.catalog, self.model, self.months = portfolio, catalog, model, months
        self.options = {o.id: o for o in catalog.options}
        self.cells: dict[tuple[str, int], _Month] = defaultdict(_Month)
        self.unused: dict[str, float] = defaultdict(float)
        self.region_usd: dict[str, float] = defaultdict(float)
        self.beyond = 0.0
        self.purchases: list[Purchase] = []
        self.full = portfolio.purchase.beyond_horizon == "charge-full-term"

    def in_span(self, span: timeline.Span) -> list[Period]:
        if self.portfolio.periods == "single":
            return list(self.months)
        return [m for m in self.months if span.first <= m.index <= span.last]

    def split(self, solution: Solution) -> tuple[tuple[str, str, int, float, int], ...]:
        """Each service's share and instances per option in each month of each span."""
        return tuple(
            (wname, oid, month.index, share, solution.instances[(wname, oid, p)])
            for (wname, oid, p), share in sorted(solution.shares.items())
            if share > 0
            for month in self.in_span(self.model.periods[p - 1])
        )

    def commitments(self, solution: Solution) -> None:
        hpm = self.catalog.settings.hours_per_month
        for (oid, term, start), count in sorted(solution.commitments.items(), key=lambda i: (i[0][2], i[0])):
            plan = self.model.commitments[(oid, term, start)]
            option = self.options[oid]
            price = option.price(term)  # type: ignore[arg-type]
            assert price is not None
            covered = [m for c in plan.covers for m in self.in_span(self.model.periods[c - 1])]
            inside = sum(m.hours for m in covered) * count
            later = price * plan.months_beyond * hpm * count
            for m in covered:
                cell = self.cells[(oid, m.index)]
                cell.committed += count
                cell.committed_usd += price * m.hours * count
            if self.full:
                self.unused[oid] += later
                self.region_usd[option.region] += later
            else:
                self.beyond += later
            note = f"{term} term, in force {covered[0].label}–{covered[-1].label}"
            if plan.months_beyond > 0:
                rule = "charged in the total" if self.full else "not in the total"
                note += f"; {plan.months_beyond:g} month(s) after the horizon ({rule})"
            first = self.model.periods[start - 1].first
            self.purchases.append(
                Purchase(
                    first,
                    oid,
                    option.region,
                    term,
                    count,
                    len(covered),
                    inside,
                    price * inside + (later if self.full else 0.0),
                    0.0 if self.full else later,
                    note,
                )
            )

    def bought(self, bought: tuple[Purchase, ...]) -> None:
        """Purchases handed in as already paid: in force (or booked) in their months."""
        for p in bought:
            option = self.options[p.option]
            if p.instrument != "on-demand":
                self.purchases.append(p)  # listed with what is bought new, their notes say so
            if p.instrument in (*TERMS, IN_FORCE):
                covered = [m for m in self.months if p.period <= m.index < p.period + p.periods]
                hours = sum(m.hours for m in covered) * p.instances
                rate = p.usd / hours if hours else 0.0
                for m in covered:
                    cell = self.cells[(p.option, m.index)]
                    cell.committed += p.instances
                    cell.committed_usd += rate * m.hours * p.instances
                extra = max(0.0, p.usd - rate * hours)
                self.unused[p.option] += extra
                self.region_usd[option.region] += extra
            elif p.instrument == "capacity-block":  # spread over the months it covers
                covered = [m for m in self.months if p.period <= m.index < p.period + max(1, p.periods)]
                for m in covered:
                    cell = self.cells[(p.option, m.index)]
                    cell.block_hours += p.instance_hours / len(covered)
                    cell.block_usd += p.usd / len(covered)
                    cell.block_instances += p.instances

    def usage(self, solution: Solution) -> None:
        periods = self.model.periods
        for (wname, oid, p), count in solution.instances.items():
            if count:
                for m in self.in_span(periods[p - 1]):
                    cell = self.cells[(oid, m.index)]
                    cell.inference += count
                    cell.hours_by_workload[wname] += count * m.hours
        for (wname, oid, p), hours in solution.run_hours.items():
            if hours > 1e-9:
                span = periods[p - 1]
                held = self.model.pairs[(wname, oid)].instances_at_once * solution.runs_at_once.get(
                    (wname, oid, p), 0
                )
                for m in self.in_span(span):
                    cell = self.cells[(oid, m.index)]
                    cell.training += held
                    cell.bursting += bursting(held, hours * m.hours / span.hours, m.hours)
                    cell.training_hours += hours * m.hours / span.hours
                    cell.hours_by_workload[wname] += hours * m.hours / span.hours
        for key, hours in solution.on_demand_hours.items():
            self._spread(key, hours, "on_demand_hours")
        for key, hours in solution.block_hours.items():
            if hours > 1e-9:
                price = self.options[key[0]].capacity_block_usd_per_hour or 0.0
                self._spread(key, hours, "block_hours")
                self._spread(key, hours * price, "block_usd")
                for m in self.in_span(periods[key[1] - 1]):
                    self.cells[(key[0], m.index)].block_instances += solution.block_instances.get(key, 0)

    def _spread(self, key: tuple[str, int], amount: float, name: str) -> None:
        if amount <= 1e-9:
            return
        span = self.model.periods[key[1] - 1]
        for m in self.in_span(span):
            cell = self.cells[(key[0], m.index)]
            setattr(cell, name, getattr(cell, name) + amount * m.hours / span.hours)

    def charges(self) -> tuple[tuple[MonthUse, ...], dict[tuple[str, str], float]]:
        monthly = []
        placement_usd: dict[tuple[str, str], float] = defaultdict(float)
        for option in self.catalog.options:
            for m in self.months:
                cell = self.cells.get((option.id, m.index))
                if cell is None:
                    continue
                monthly.append(self._charge(option, m, cell, placement_usd))
        return tuple(monthly), dict(placement_usd)

    def _charge(
        self, option: Option, m: Period, cell: _Month, placement_usd: dict[tuple[str, str], float]
    ) -> MonthUse:
        used = sum(cell.hours_by_workload.values())
        paid = cell.committed * m.hours
        carried = min(paid, used)
        total = cell.committed_usd + cell.on_demand_hours * option.usd_per_hour + cell.block_usd
        idle = cell.committed_usd * (1 - carried / paid) if paid > 0 else 0.0
        self.unused[option.id] += idle
        self.region_usd[option.region] += total
        for wname, hours in cell.hours_by_workload.items():
            placement_usd[(wname, option.id)] += (total - idle) * hours / used
        capacity = (
            option.capacity_in(m.index)
            if self.portfolio.periods == "monthly"
            else min(timeline.capacity(self.portfolio, option))
        )
        return MonthUse(
            m.index,
            option.id,
            option.region,
            option.family,
            cell.inference,
            cell.training,
            cell.training_hours,
            cell.committed,
            paid,
            carried,
            cell.on_demand_hours,
            min(cell.block_instances, cell.inference + cell.training),  # booked ≤ held
            cell.block_hours,
            capacity,
            total,
        )

    def spot_purchases(self, solution: Solution) -> list[Purchase]:
        """On-demand and Capacity Block buying, one line per option and span."""
        lead = timeline.block_term(self.catalog, "capacity_block_lead_weeks")
        per_block = timeline.block_term(self.catalog, "capacity_block_max_instances")
        longest = timeline.block_term(self.catalog, "capacity_block_max_days")
        out = []
        for (oid, p), hours in sorted(solution.on_demand_hours.items(), key=lambda i: (i[0][1], i[0][0])):
            if hours <= 1e-9:
                continue
            option, span = self.options[oid], self.model.periods[p - 1]
            months = self.in_span(span)
            at_once = max(
                on_demand_at_once(cell.inference + cell.training, cell.bursting, cell.committed)
                for cell in (self.cells[(oid, m.index)] for m in months)
            )
            out.append(
                Purchase(
                    months[0].index,
                    oid,
                    option.region,
                    "on-demand",
                    max(at_once, 0),
                    len(months),
                    hours,
                    hours * option.usd_per_hour,
                    0.0,
                    f"up to {max(at_once, 0)} at once",
                )
            )
        for (oid, p), hours in sorted(solution.block_hours.items(), key=lambda i: (i[0][1], i[0][0])):
            if hours <= 1e-9:
                continue
            option, span = self.options[oid], self.model.periods[p - 1]
            held = max(
                self.cells[(oid, m.index)].inference + self.cells[(oid, m.index)].training
                for m in self.in_span(span)
            )
            count = min(solution.block_instances.get((oid, p), 0), held)  # booked ≤ held
            days = hours / (count * HOURS_PER_DAY) if count else 0.0
            blocks = -(-count // per_block) * max(1, math.ceil(days / longest - 1e-9))
            note = (
                f"{blocks} block(s) of at most {per_block} instances and {longest} days, one after another; "
                f"book each no earlier than {lead} weeks before it starts"
            )
            out.append(
                Purchase(
                    self.in_span(span)[0].index,
                    oid,
                    option.region,
                    "capacity-block",
                    count,
                    len(self.in_span(span)),
                    hours,
                    hours * (option.capacity_block_usd_per_hour or 0.0),
                    0.0,
                    note,
                )
            )
        return out

    def runs(self, solution: Solution) -> tuple[RunSchedule, ...]:
        out = []
        for (wname, oid), chosen in solution.training.items():
            if not chosen:
                continue
            first, last = self.model.windows[wname]
            months = []
            for m in self.months:
                cell = self.cells.get((oid, m.index))
                hours = cell.hours_by_workload.get(wname, 0.0) if cell else 0.0
                if hours > 1e-9:
                    span = (
                        next(s for s in self.model.periods if s.first <= m.index <= s.last)
                        if self.portfolio.periods == "monthly"
                        else self.model.periods[0]
                    )
                    n = self.model.pairs[(wname, oid)].instances_at_once
                    months.append(
                        RunMonth(m.index, hours, n * solution.runs_at_once.get((wname, oid, span.index), 0))
                    )
            window = (self.model.periods[first - 1].first, self.model.periods[last - 1].last)
            if self.portfolio.periods == "single":
                window = (1, 1)
            out.append(RunSchedule(wname, oid, *window, tuple(months)))
        return tuple(out)


def _ports(
    portfolio: Portfolio, catalog: Catalog, model: Model, solution: Solution
) -> tuple[PortSchedule, ...]:
    out = []
    for (codebase, family), ready in sorted(solution.ported.items()):
        if ready == 0:
            continue
        d = model.port_months[(codebase, family)]
        weeks = model.port_usd[(codebase, family)] / catalog.migration.engineer_week_usd
        engineers = timeline.port_engineers(portfolio.porting, codebase) if d else 0
        out.append(PortSchedule(codebase, family, weeks, engineers, max(1, ready - d), ready))
    return tuple(out)
