"""The plan's projected charges as FOCUS-shaped rows (`plan --format focus`), CSV.

Every FOCUS 1.2 column AWS Data Exports write (so the 21 mandatory ones and all of FOCUS 1.0's;
those a projection cannot know, such as ResourceId or CommitmentDiscountId, are empty), the
instance type in SkuPriceDetails ({"InstanceType": ...}), the option's region in RegionId, and `x_`
columns for what only a plan has: x_Projection ("projected by placement; not a bill"),
x_PlanPortfolio, x_Workload (the workloads on the option), x_Family, x_Instances, x_Purchase
(on-demand, capacity-block, 1-year, 3-year) and x_InPlanTotal. FOCUS describes billed charges; no
standard for forecasts exists, so the `x_Projection` column says these rows are a projection.

A time-phased plan (Plan.monthly): one row per option, period and way of buying: PricingCategory
"Committed" for the commitments in force (PricingQuantity the hours paid, ConsumedQuantity the hours
used, cost at the commitment's rate: its whole term's charge over its term's hours), "Standard" for
on-demand hours and Capacity Block hours (each at the catalog's price). ListCost is the hours at the
on-demand list price, so ListCost − EffectiveCost is what the purchase saves. A commitment that runs
on after the horizon gets rows for those months, x_InPlanTotal "false" under the horizon-only rule.
A period longer than a month (`periods: single`) is spread evenly over its months.

A plan without a time axis: one row per placement per month, every instance-hour on demand
(ListCost = ContractedCost = BilledCost = EffectiveCost; a fractional last month gets its fraction).

Migration (engineering time) is not a cloud charge and is not included. Months are calendar months
from `start_month`, so the file is deterministic for a given start.
"""

from __future__ import annotations

import csv
import io
import json
import math

from placement.engine.plan import Plan, Purchase
from placement.engine.timeline import TERM_MONTHS
from placement.inputs.focus import FOCUS_1_2_AWS_COLUMNS
from placement.inputs.models import Catalog, Instrument
from placement.render.schedule import on_demand_instances

PLAN_COLUMNS = (
    "x_Projection",
    "x_PlanPortfolio",
    "x_Workload",
    "x_Family",
    "x_Instances",
    "x_Purchase",
    "x_InPlanTotal",
)
# Every FOCUS 1.2 column (which include all of 1.0's), in AWS's order, then the plan's own.
COLUMNS = tuple(c for c in FOCUS_1_2_AWS_COLUMNS if not c.startswith("x_")) + PLAN_COLUMNS
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-2": "US West (Oregon)",
}


def _month(start: tuple[int, int], offset: int) -> str:
    year, month = start
    index = year * 12 + (month - 1) + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}-01T00:00:00Z"


def _region_name(region: str) -> str:
    return REGION_NAMES.get(region, "")


def render_focus(plan: Plan, catalog: Catalog, start_month: str = "2027-01") -> str:
    year, month = (int(x) for x in start_month.split("-"))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n", restval="")
    writer.writeheader()
    rows = _monthly_rows(plan, catalog) if plan.monthly else _placement_rows(plan, catalog)
    for offset, row in rows:
        begin, end = _month((year, month), offset), _month((year, month), offset + 1)
        writer.writerow(
            {
                **row,
                "BillingAccountId": "projected",
                "BillingAccountName": f"placement plan for {plan.portfolio}",
                "BillingCurrency": "USD",
                "BillingPeriodEnd": end,
                "BillingPeriodStart": begin,
                "ChargeCategory": "Usage",
                "ChargeClass": "",
                "ChargePeriodEnd": end,
                "ChargePeriodStart": begin,
                "InvoiceIssuerName": "Amazon Web Services, Inc.",
                "PricingUnit": "Hours",
                "ProviderName": "AWS",
                "PublisherName": "Amazon Web Services, Inc.",
                "ServiceCategory": "Compute",
                "ServiceName": "Amazon Elastic Compute Cloud",
                "ChargeFrequency": "Usage-Based",
                "Tags": "{}",
                "ConsumedUnit": "Hours",
                "ResourceType": "Instance",
                "ServiceSubcategory": "Virtual Machines",
                "x_Projection": "projected by placement; not a bill",
                "x_PlanPortfolio": plan.portfolio,
            }
        )
    return buffer.getvalue()


Row = dict[str, str]


def _charge(
    option: str,
    region: str,
    instrument: str,
    description: str,
    hours: float,
    used_hours: float,
    cost: float,
    list_price: float,
    in_total: bool = True,
) -> Row:
    """The columns that differ from row to row: what was bought, how much, at what price."""
    committed = instrument in TERM_MONTHS
    return {
        "BilledCost": f"{cost:.2f}",
        "ContractedCost": f"{cost:.2f}",
        "EffectiveCost": f"{cost:.2f}",
        "ListCost": f"{hours * list_price:.2f}",
        "ChargeDescription": description,
        "PricingQuantity": f"{hours:.4f}",
        "ConsumedQuantity": f"{used_hours:.4f}",
        "ContractedUnitPrice": f"{cost / hours:.6g}" if hours > 0 else f"{list_price}",
        "ListUnitPrice": f"{list_price}",
        "PricingCategory": "Committed" if committed else "Standard",
        "RegionName": _region_name(region),
        "RegionId": region,
        "SkuId": f"projected:{option}",
        "SkuPriceId": f"projected:{option}:{instrument}",
        "SkuPriceDetails": json.dumps({"InstanceType": option}),
        "x_Purchase": instrument,
        "x_InPlanTotal": "true" if in_total else "false",
    }


def _placement_rows(plan: Plan, catalog: Catalog) -> list[tuple[int, Row]]:
    """A plan without a time axis: every placement spread evenly over the months, on demand."""
    months = plan.horizon_months
    out = []
    for m in range(math.ceil(months - 1e-9)):
        weight = min(1.0, months - m)
        for p in plan.placements:
            option = catalog.option(p.option)
            cost = p.compute_usd / months * weight
            hours = cost / option.usd_per_hour
            region = p.region or option.region or catalog.region
            row = _charge(
                p.option,
                region,
                "on-demand",
                f"{p.instances} x {p.option} for {p.workload} ({p.share * 100:.1f}% of it), projected",
                hours,
                hours,
                cost,
                option.usd_per_hour,
            )
            out.append(
                (m, {**row, "x_Workload": p.workload, "x_Family": p.family, "x_Instances": str(p.instances)})
            )
    return out


def _term_rate(p: Purchase, hours_per_month: float) -> float:
    """A commitment's price per instance-hour: its whole term's charge over its whole term's hours."""
    term_hours = p.instances * TERM_MONTHS[p.instrument] * hours_per_month
    return (p.usd + p.usd_beyond_horizon) / term_hours if term_hours > 0 else 0.0


def _slices(plan: Plan) -> dict[int, list[tuple[int, float]]]:
    """Per period, the calendar months it spans from month 0: (offset, share of the period)."""
    out: dict[int, list[tuple[int, float]]] = {}
    start = 0.0
    for period in plan.periods:
        whole = max(1, math.ceil(period.months - 1e-9))
        first = math.floor(start + 1e-9)
        if period.months <= 1 + 1e-9:
            out[period.index] = [(first, 1.0)]
        else:
            out[period.index] = [
                (first + k, min(1.0, period.months - k) / period.months) for k in range(whole)
            ]
        start += period.months
    return out


def _monthly_rows(plan: Plan, catalog: Catalog) -> list[tuple[int, Row]]:
    """A time-phased plan: per option and period, a Committed row for the commitments in force (paid
    hours, used hours) and Standard rows for on-demand hours and Capacity Block hours; commitments
    that run on after the horizon get rows for those months too (x_InPlanTotal false when the
    horizon-only rule leaves them out of the total)."""
    slices = _slices(plan)
    hours_of = {p.index: p.hours for p in plan.periods}
    workloads: dict[str, list[str]] = {}
    for p in plan.placements:
        workloads.setdefault(p.option, []).append(p.workload)
    commitments = [p for p in plan.purchases if p.instrument in TERM_MONTHS]
    out: list[tuple[int, Row]] = []

    def add(offset: int, m_option: str, family: str, instances: int, row: Row) -> None:
        extra = {
            "x_Workload": ", ".join(workloads.get(m_option, [])),
            "x_Family": family,
            "x_Instances": str(instances),
        }
        out.append((offset, {**row, **extra}))

    for m in plan.monthly:
        list_price = _list_price(plan, catalog, m.option)
        label = next((p.label for p in plan.periods if p.index == m.period), str(m.period))
        in_force = [
            p for p in commitments if p.option == m.option and p.period <= m.period < p.period + p.periods
        ]
        committed_usd = sum(
            p.instances * hours_of.get(m.period, 0.0) * _term_rate(p, plan.hours_per_month) for p in in_force
        )
        block_price = _price(catalog, m.option, "capacity-block", plan)
        od_price = _price(catalog, m.option, "on-demand", plan)
        charges = []
        if m.committed_hours > 0:
            terms = "/".join(sorted({p.instrument for p in in_force})) or "commitment"
            charges.append(
                (
                    m.committed_instances,
                    _charge(
                        m.option,
                        m.region,
                        terms,
                        f"{m.committed_instances} x {m.option} {terms} commitment in {label}, "
                        f"{m.committed_hours_used:,.0f} of {m.committed_hours:,.0f} h used, projected",
                        m.committed_hours,
                        m.committed_hours_used,
                        committed_usd,
                        list_price,
                    ),
                )
            )
        if m.block_hours > 0:
            charges.append(
                (
                    m.block_instances,
                    _charge(
                        m.option,
                        m.region,
                        "capacity-block",
                        f"{m.block_instances} x {m.option} Capacity Block in {label}, projected",
                        m.block_hours,
                        m.block_hours,
                        m.block_hours * block_price,
                        list_price,
                    ),
                )
            )
        if m.on_demand_hours > 0:
            n = on_demand_instances(m)
            charges.append(
                (
                    n,
                    _charge(
                        m.option,
                        m.region,
                        "on-demand",
                        f"{n} x {m.option} on demand in {label}, projected",
                        m.on_demand_hours,
                        m.on_demand_hours,
                        m.on_demand_hours * od_price,
                        list_price,
                    ),
                )
            )
        for instances, row in charges:
            for offset, share in slices.get(m.period, []):
                add(offset, m.option, m.family, instances, _scaled(row, share) if share < 1 else row)
    for offset, option, family, instances, row in _beyond_rows(plan, catalog, commitments, slices):
        add(offset, option, family, instances, row)
    return sorted(out, key=lambda r: r[0])  # stable: in each month, the plan's order


def _beyond_rows(
    plan: Plan,
    catalog: Catalog,
    commitments: list[Purchase],
    slices: dict[int, list[tuple[int, float]]],
) -> list[tuple[int, str, str, int, Row]]:
    """Commitment charges in the months after the horizon, one row per option, term and month (a
    term that starts inside a fractional last month runs on from the next whole month)."""
    end = math.ceil(plan.horizon_months - 1e-9)
    family = {m.option: m.family for m in plan.monthly}
    by_month: dict[tuple[str, str, str, int], tuple[int, float, float]] = {}
    for p in commitments:
        first = slices.get(p.period, [(0, 1.0)])[0][0]
        rate = _term_rate(p, plan.hours_per_month)
        inside = sum(x.months for x in plan.periods if p.period <= x.index < p.period + p.periods)
        left = TERM_MONTHS[p.instrument] - inside
        offset = max(end, first + math.ceil(inside - 1e-9))
        while left > 1e-9:
            share = min(1.0, left)
            hours = p.instances * share * plan.hours_per_month
            key = (p.option, p.region, p.instrument, offset)
            n, h, usd = by_month.get(key, (0, 0.0, 0.0))
            by_month[key] = (n + p.instances, h + hours, usd + hours * rate)
            left -= share
            offset += 1
    in_total = plan.beyond_horizon == "charge-full-term"
    out = []
    for (option, region, term, offset), (n, hours, usd) in sorted(
        by_month.items(), key=lambda kv: (kv[0][3], kv[0][0], kv[0][2])
    ):
        row = _charge(
            option,
            region,
            term,
            f"{n} x {option} {term} commitment after the horizon (month {offset + 1}), projected",
            hours,
            0.0,
            usd,
            _list_price(plan, catalog, option),
            in_total,
        )
        out.append((offset, option, family.get(option, ""), n, row))
    return out


def _scaled(row: Row, share: float) -> Row:
    out = dict(row)
    for key in ("BilledCost", "ContractedCost", "EffectiveCost", "ListCost"):
        out[key] = f"{float(row[key]) * share:.2f}"
    for key in ("PricingQuantity", "ConsumedQuantity"):
        out[key] = f"{float(row[key]) * share:.4f}"
    return out


def _list_price(plan: Plan, catalog: Catalog, option: str) -> float:
    return _price(catalog, option, "on-demand", plan)


def _price(catalog: Catalog, option: str, instrument: Instrument, plan: Plan) -> float:
    """The catalog's price per instance-hour; for an option the catalog does not sell that way (an
    on-demand list price of a block-only option), its reference usd_per_hour; else what the plan
    paid per hour for it."""
    if option in catalog.option_ids:
        o = catalog.option(option)
        price = o.price(instrument)
        if price is not None:
            return price
        if instrument == "on-demand":
            return o.usd_per_hour
    bought = [p for p in plan.purchases if p.option == option and p.instrument == instrument]
    hours = sum(p.instance_hours for p in bought)
    return sum(p.usd for p in bought) / hours if hours > 0 else 0.0
