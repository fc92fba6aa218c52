"""A lower bound on the cost of every plan of a model, worked out without a solver.

HiGHS's bound comes from its root LP.  On the largest time-phased models that LP alone takes
longer than the time limit leaves it (1,000 diverse workloads × 12 months under a binding
family-share cap: 430,000 columns, no bound after 60 s with presolve on or off), and the proven
gap was then measured against $0: 100%, which tells a buyer nothing.  This bound is what each
workload must pay on its own, whatever the others do:

- an inference service, in each period it has traffic, holds on some option it can use then at
  least its instances needed (q·f) and at least one whole instance, for the period's hours;
- a training workload buys all E instance-hours of its runs on one of its options;
- an instance-hour of option o costs at least rate[o], the least of its on-demand price, its
  Capacity Block price and, for each commitment the model may buy on it, what one instance
  committed costs per hour it covers inside the horizon (Cost[o,κ,p] / Σ hours of its periods;
  engine/formulation.py).

So any plan costs at least Σ_services Σ_p hours[p] · min_o rate[o] · max(1, q[i,o]·f[i,p]) (the
larger of the two minima, each taken over the options alone) + Σ_runs min_o rate[o] · E[t,o].
Capacity, ports, the months a commitment is paid but idle, and every policy are left out, each of
which only adds cost, so the bound is weak (1,000 diverse workloads × 12 months, seed 1: $924M
against a plan of $1,269M; benchmarks/README.md) but it is a bound, in milliseconds.  Purchases
already made (`bought`) cover hours at no further cost, so with any the bound is only what they
cost.  The diagnosis's elastic model, whose slack can stand in for hours, has none.
"""

from __future__ import annotations

import math
from collections import defaultdict

from placement.engine.formulation import Model

SPOT = ("on-demand", "capacity-block")  # instruments paid per hour used


def lower_bound(model: Model) -> float:
    """The bound in the module docstring ($), or -inf for the elastic model."""
    if model.elastic:
        return -math.inf
    if model.sunk_hours or model.sunk_block_hours:
        return model.sunk_usd
    hours = {p.index: p.hours for p in model.periods}
    rate = _rates(model, hours)
    # (service, period) → the least cost of its instances needed, and of one whole instance
    need: dict[tuple[str, int], float] = defaultdict(lambda: math.inf)
    one: dict[tuple[str, int], float] = defaultdict(lambda: math.inf)
    for wname, oid, p in model.s:
        instances = model.pairs[(wname, oid)].instances_needed * model.demand[wname][p - 1]
        per_instance = rate[oid] * hours[p]
        need[(wname, p)] = min(need[(wname, p)], per_instance * instances)
        one[(wname, p)] = min(one[(wname, p)], per_instance)
    runs: dict[str, float] = defaultdict(lambda: math.inf)
    for wname, oid in model.x:
        runs[wname] = min(runs[wname], rate[oid] * model.run_units[(wname, oid)] * model.unit)
    each = [max(need[key], one[key]) for key in need] + list(runs.values())
    # (a workload no instrument could buy for has no plan at all; it adds nothing here)
    return sum(usd for usd in each if math.isfinite(usd)) + model.sunk_usd


def _rates(model: Model, hours: dict[int, float]) -> dict[str, float]:
    """rate[o]: the least an instance-hour of each option can cost, however it is bought
    (`hours`: each period's hours)."""
    rate = {
        oid: min((prices[i] for i in SPOT if i in prices), default=math.inf)
        for oid, prices in model.prices.items()
    }
    for key, usd in model.commit_usd.items():
        covered = sum(hours[c] for c in model.commitments[key].covers)
        if covered > 0:
            rate[key[0]] = min(rate.get(key[0], math.inf), usd / covered)
    return defaultdict(lambda: math.inf, rate)
