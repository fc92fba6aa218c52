"""The plan's projected charges as FOCUS-shaped rows (`plan --format focus`), CSV.

One row per placement per month of the horizon (a fractional last month gets its fraction), with
every FOCUS 1.2 column AWS Data Exports write (so the 21 mandatory ones and all of FOCUS 1.0's;
those a projection cannot know, such as ResourceId or CommitmentDiscountId, are empty), the
instance type in SkuPriceDetails ({"InstanceType": ...}), and `x_` columns for what only a plan
has: x_Projection ("projected by placement; not a bill"), x_PlanPortfolio, x_Workload, x_Family,
x_Instances. FOCUS describes billed charges; no standard for forecasts exists, so the
`x_Projection` column says these rows are a projection.

Priced as the plan is: every instance-hour at the catalog's on-demand price (PricingCategory
Standard; ListCost = ContractedCost = BilledCost = EffectiveCost). Migration (engineering time) is
not a cloud charge and is not included. Months are calendar months from `start_month`, so the file
is deterministic for a given start.
"""

from __future__ import annotations

import csv
import io
import json
import math

from placement.engine.plan import Plan
from placement.inputs.focus import FOCUS_1_2_AWS_COLUMNS
from placement.inputs.models import Catalog

PLAN_COLUMNS = ("x_Projection", "x_PlanPortfolio", "x_Workload", "x_Family", "x_Instances")
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


def render_focus(plan: Plan, catalog: Catalog, start_month: str = "2027-01") -> str:
    year, month = (int(x) for x in start_month.split("-"))
    months = plan.horizon_months
    whole = math.ceil(months - 1e-9)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n", restval="")
    writer.writeheader()
    for m in range(whole):
        weight = min(1.0, months - m)
        begin, end = _month((year, month), m), _month((year, month), m + 1)
        for p in plan.placements:
            option = catalog.option(p.option)
            cost = p.compute_usd / months * weight
            hours = cost / option.usd_per_hour
            money = f"{cost:.2f}"
            writer.writerow(
                {
                    "BilledCost": money,
                    "BillingAccountId": "projected",
                    "BillingAccountName": f"placement plan for {plan.portfolio}",
                    "BillingCurrency": "USD",
                    "BillingPeriodEnd": end,
                    "BillingPeriodStart": begin,
                    "ChargeCategory": "Usage",
                    "ChargeClass": "",
                    "ChargeDescription": f"{p.instances} x {p.option} for {p.workload} "
                    f"({p.share * 100:.1f}% of it), projected",
                    "ChargePeriodEnd": end,
                    "ChargePeriodStart": begin,
                    "ContractedCost": money,
                    "EffectiveCost": money,
                    "InvoiceIssuerName": "Amazon Web Services, Inc.",
                    "ListCost": money,
                    "PricingQuantity": f"{hours:.4f}",
                    "PricingUnit": "Hours",
                    "ProviderName": "AWS",
                    "PublisherName": "Amazon Web Services, Inc.",
                    "ServiceCategory": "Compute",
                    "ServiceName": "Amazon Elastic Compute Cloud",
                    "ChargeFrequency": "Usage-Based",
                    "ContractedUnitPrice": f"{option.usd_per_hour}",
                    "ListUnitPrice": f"{option.usd_per_hour}",
                    "RegionName": REGION_NAMES.get(catalog.region, ""),
                    "Tags": "{}",
                    "SkuId": f"projected:{p.option}",
                    "SkuPriceId": f"projected:{p.option}:on-demand",
                    "ConsumedQuantity": f"{hours:.4f}",
                    "ConsumedUnit": "Hours",
                    "PricingCategory": "Standard",
                    "RegionId": catalog.region,
                    "ResourceType": "Instance",
                    "ServiceSubcategory": "Virtual Machines",
                    "SkuPriceDetails": json.dumps({"InstanceType": p.option}),
                    "x_Projection": "projected by placement; not a bill",
                    "x_PlanPortfolio": plan.portfolio,
                    "x_Workload": p.workload,
                    "x_Family": p.family,
                    "x_Instances": str(p.instances),
                }
            )
    return buffer.getvalue()
