"""The plan against the company's current bill (a FOCUS export): what is spent today per instance
type, what the plan would spend, the spend the plan does not explain, and the commitments in force.

Monthly figures scale the bill's period to the catalog's hours per month (730): a bill of 744 hours
(October) with $7,440 of effective cost is $7,300 a month. Average instances = hours ÷ period hours.
The plan's monthly figure is its compute cost over the horizon ÷ horizon months, per option.

Unexplained spend: usage on an instance type (or in a region) where the plan places no instance;
the workload file does not describe what runs there, so the plan neither replaces nor keeps it.

Commitments in force: a Reserved Instance (category
Usage), or a capacity reservation (an On-Demand Capacity Reservation or a Capacity Block), on an
instance type the plan uses in the catalog's region covers min(committed instances,
plan instances) of it; committed instances = (used + unused hours) ÷ period hours. Its cost is
sunk: paid whether the plan uses it or not, so the plan's new spend on those instances is really
only the rest. A Savings Plan (category Spend) is a $/hour commitment across instance types; its
monthly amount is reported as sunk spend, not mapped to instances. FOCUS 1.0/1.2 rows carry no end
date, so the sunk cost over the horizon assumes the term lasts the whole horizon (an upper bound);
for a capacity reservation (a Capacity Block lasts days to weeks) it is what the bill charged.

`sunk_purchases` hands the optimizer each Reserved Instance on an instance type and region the
catalog sells: that many instances, paid for the whole horizon whether used or not, used before
anything new is bought (`plan --current`).  Savings Plans (a $/hour commitment across types) and
capacity reservations (past bookings) are reported, not used.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from placement.engine import timeline
from placement.engine.formulation import IN_FORCE
from placement.engine.plan import Plan, Purchase
from placement.inputs.focus import CommitmentInForce, FocusBill
from placement.inputs.models import Catalog, Portfolio


@dataclass(frozen=True)
class CurrentVsPlan:
    instance_type: str
    region: str
    current_instances: float  # average over the bill's period
    current_monthly_usd: float  # effective cost per month
    plan_instances: int
    plan_monthly_usd: float
    explained: bool  # the plan places work on this instance type in this region


@dataclass(frozen=True)
class CommitmentCover:
    id: str
    type: str
    category: str
    instance_type: str  # "" for a Savings Plan across types
    region: str
    committed_instances: float | None  # None for a spend commitment
    monthly_usd: float  # what it costs per month, used or not
    utilisation: float | None
    covers_plan_instances: int | None
    sunk_over_horizon_usd: float


@dataclass(frozen=True)
class CurrentBillComparison:
    file: str
    version: str
    period_start: str
    period_end: str
    period_hours: float
    currency: str
    horizon_months: float
    current_monthly_usd: float  # accelerator usage, all regions
    plan_monthly_usd: float
    rows: tuple[CurrentVsPlan, ...]
    unexplained_monthly_usd: float
    commitments: tuple[CommitmentCover, ...]
    sunk_monthly_usd: float
    other_usage_monthly_usd: float
    unmapped_monthly_usd: float
    unmapped_rows: int


def compare_to_bill(plan: Plan, catalog: Catalog, bill: FocusBill) -> CurrentBillComparison:
    month = plan.hours_per_month / bill.period_hours  # bill-period → month
    months = plan.horizon_months
    plan_instances = {c.option: c.used for c in plan.capacity}
    plan_spend: dict[str, float] = defaultdict(float)
    for p in plan.placements:
        plan_spend[p.option] += p.compute_usd / months
    rows: list[CurrentVsPlan] = []
    seen: set[tuple[str, str]] = set()
    for line in bill.spend:
        in_region = line.region == catalog.region
        used = plan_instances.get(line.instance_type, 0) if in_region else 0
        seen.add((line.instance_type, line.region))
        rows.append(
            CurrentVsPlan(
                line.instance_type,
                line.region,
                line.hours / bill.period_hours,
                line.effective_usd * month,
                used,
                plan_spend.get(line.instance_type, 0.0) if in_region else 0.0,
                used > 0,
            )
        )
    for option in catalog.options:  # what the plan buys that the bill does not show today
        if plan_instances.get(option.id, 0) > 0 and (option.id, catalog.region) not in seen:
            rows.append(
                CurrentVsPlan(
                    option.id,
                    catalog.region,
                    0.0,
                    0.0,
                    plan_instances[option.id],
                    plan_spend[option.id],
                    True,
                )
            )
    held = (*bill.commitments, *bill.capacity_reservations)
    covers = tuple(_cover(c, bill, month, months, plan_instances, catalog.region) for c in held)
    return CurrentBillComparison(
        file=bill.path,
        version=bill.version,
        period_start=bill.period_start,
        period_end=bill.period_end,
        period_hours=bill.period_hours,
        currency=bill.currency,
        horizon_months=months,
        current_monthly_usd=sum(line.effective_usd for line in bill.spend) * month,
        plan_monthly_usd=plan.compute_usd / months,
        rows=tuple(sorted(rows, key=lambda r: (not r.explained, r.region, r.instance_type))),
        unexplained_monthly_usd=sum(r.current_monthly_usd for r in rows if not r.explained),
        commitments=covers,
        sunk_monthly_usd=sum(c.monthly_usd for c in covers),
        other_usage_monthly_usd=bill.other_usage_usd * month,
        unmapped_monthly_usd=bill.unmapped_usd * month,
        unmapped_rows=bill.unmapped_rows,
    )


def _cover(
    c: CommitmentInForce,
    bill: FocusBill,
    month: float,
    months: float,
    plan_instances: dict[str, int],
    region: str,
) -> CommitmentCover:
    monthly = (c.used_usd + c.unused_usd) * month
    usage_based = c.category in ("Usage", "Capacity") or c.type == "Reserved Instance"
    instance_type = c.instance_types[0] if usage_based and len(c.instance_types) == 1 else ""
    committed = (c.used_hours + c.unused_hours) / bill.period_hours if instance_type else None
    covers = None
    if committed is not None and c.region == region:
        covers = min(round(committed), plan_instances.get(instance_type, 0))
    return CommitmentCover(
        c.id,
        c.type,
        c.category,
        instance_type,
        c.region,
        committed,
        monthly,
        c.utilisation,
        covers,
        # a capacity reservation (a Capacity Block lasts days to weeks): what the bill charged
        c.used_usd + c.unused_usd if c.category == "Capacity" else monthly * months,
    )


@dataclass(frozen=True)
class VariantAgainstBill:
    label: str
    plan_monthly_usd: float | None  # None: the variant has no plan
    current_monthly_usd: float


def variants_against_bill(
    outcomes: list[tuple[str, Plan | None]], bill: FocusBill, hours_per_month: float
) -> tuple[VariantAgainstBill, ...]:
    """Each compared plan's compute per month against the bill's accelerator spend per month."""
    current = sum(line.effective_usd for line in bill.spend) * hours_per_month / bill.period_hours
    return tuple(
        VariantAgainstBill(label, None if plan is None else plan.compute_usd / plan.horizon_months, current)
        for label, plan in outcomes
    )


def sunk_purchases(bill: FocusBill, catalog: Catalog, portfolio: Portfolio) -> tuple[Purchase, ...]:
    """The bill's Reserved Instances as purchases already made, for the optimizer to use first."""
    options = {(o.instance_type, o.region): o for o in catalog.options}
    month = catalog.settings.hours_per_month / bill.period_hours
    months = timeline.months_in(portfolio)
    out = []
    for c in bill.commitments:
        if c.type != "Reserved Instance" or len(c.instance_types) != 1:
            continue
        option = options.get((c.instance_types[0], c.region))
        count = round((c.used_hours + c.unused_hours) / bill.period_hours)
        if option is None or count == 0:
            continue
        hours = count * catalog.settings.hours_per_month * portfolio.horizon_months
        note = (
            f"already bought: {c.type} {c.id}; the bill gives no end date, so it is taken to last the "
            "whole horizon"
        )
        usd = (c.used_usd + c.unused_usd) * month * portfolio.horizon_months
        out.append(Purchase(1, option.id, option.region, IN_FORCE, count, months, hours, usd, 0.0, note))
    return tuple(sorted(out, key=lambda p: p.option))
