"""How much capacity to commit, per option, and what that saves against all on-demand.

Per option in the plan, over the horizon (H hours):
- Inference: the plan holds enough instances for peak demand. The steady base load is the
  instances the average demand needs, per workload ceil(share · q / peak_to_average). Commit those
  at the longest term with a public price that fits inside the horizon (1-year needs 12 months,
  3-year needs 36). The
  rest stays on demand for peaks. As in the plan, peak instances are priced as running all the time;
  with autoscaling they cost less.
- Training: the runs' instance-hours T. floor(T / H) instances are busy the whole horizon (runs
  scheduled back to back) and are committed. The remaining instance-hours go to Capacity Blocks
  where the option has a Capacity Block price below on-demand, otherwise on demand.
The placement itself is optimized at on-demand prices; this is advice on how to buy it.
"""

from __future__ import annotations

from collections import defaultdict

from placement.engine.costing import EPS, Estimate
from placement.engine.plan import Placement, Reservation
from placement.inputs.models import Catalog, Option, Portfolio


def _term(option: Option, horizon_months: float) -> tuple[str, float | None]:
    """The longest commitment with a public price that fits inside the horizon."""
    if horizon_months >= 36 and option.three_year_usd_per_hour is not None:
        return "3-year", option.three_year_usd_per_hour
    if horizon_months >= 12 and option.one_year_usd_per_hour is not None:
        return "1-year", option.one_year_usd_per_hour
    return "none", None


def reservations(
    portfolio: Portfolio, catalog: Catalog, placements: list[Placement], ests: dict[tuple[str, str], Estimate]
) -> tuple[Reservation, ...]:
    hours = portfolio.horizon_months * catalog.settings.hours_per_month
    peak: dict[str, int] = defaultdict(int)
    base: dict[str, int] = defaultdict(int)
    training_hours: dict[str, float] = defaultdict(float)
    workloads = {w.name: w for w in portfolio.workloads}
    for p in placements:
        est = ests[(p.workload, p.option)]
        if p.kind == "inference":
            peak[p.option] += p.instances
            steady = p.share * est.instances_needed / workloads[p.workload].peak_factor
            base[p.option] += min(p.instances, max(0, int(-(-steady // 1)) if steady > EPS else 0))
        else:
            training_hours[p.option] += est.instance_hours_per_run * workloads[p.workload].run_count
    out = []
    for option in catalog.options:
        if option.id not in peak and option.id not in training_hours:
            continue
        od = option.usd_per_hour
        term, committed_price = _term(option, portfolio.horizon_months)
        on_demand = peak[option.id] * od * hours + training_hours[option.id] * od
        train_committed = 0
        steady = 0
        if committed_price is not None and committed_price < od:
            steady = base[option.id]
            train_committed = int(training_hours[option.id] // hours)
        burst = training_hours[option.id] - train_committed * hours
        block = option.capacity_block_usd_per_hour
        if block is not None and block < od:
            burst_price, burst_tier = block, "Capacity Blocks"
        else:
            burst_price, burst_tier = od, "on-demand"
        reserved = (
            (steady + train_committed) * (committed_price or od) * hours
            + (peak[option.id] - steady) * od * hours
            + burst * burst_price
        )
        out.append(
            Reservation(
                option.id,
                option.family,
                term if steady + train_committed else "none",
                steady + train_committed,
                peak[option.id] - steady,
                burst,
                burst_tier if burst > 0 else "-",
                on_demand,
                reserved,
            )
        )
    return tuple(out)
