"""A first feasible plan for the solver, built greedily, so HiGHS starts from a sensible incumbent.

Each workload in turn (largest first) takes, in each period, its cheapest option on demand that
still has room: an inference service its whole instances, a training workload its runs' hours
spread over the periods of its window with capacity left.  Ports the workloads need are paid;
inference held all period is committed where the best single commitment from the start pays,
the rest bought on demand (or in Capacity Blocks where the option is sold only that way).  The
values are checked against every row of the model; an infeasible greedy plan (capacity runs out,
a region cap) is not handed over.  It starts no port that takes calendar time, and none is built
with run order or a family-share policy.
"""

from __future__ import annotations

from collections import defaultdict

import pulp

from placement.engine.costing import whole
from placement.engine.formulation import Model

TOL = 1e-6


def greedy_start(model: Model, first: dict[str, str] | None = None) -> dict[str, float] | None:
    """Variable values by name for a feasible plan, or None.  `first`: the option each workload
    tries first (where a plan without commitments put it); otherwise its cheapest alone."""
    if model.share_cap is not None or model.ordered:
        return None  # a share policy, run order: leave the search to HiGHS
    values: dict[str, float] = {}
    capacity = {
        (oid, p + 1): float(cap) for oid, caps in model.capacity.items() for p, cap in enumerate(caps)
    }
    used: dict[tuple[str, int], float] = defaultdict(float)  # instances held
    hours: dict[tuple[str, int], float] = defaultdict(float)  # instance-months used
    by_workload: dict[str, list[str]] = defaultdict(list)
    for wname, oid in model.pairs:
        port = (model.codebase[wname], model.pairs[(wname, oid)].family)
        if not model.port_months.get(port) and not (model.first_fixed and _fixed_at(model.y.get(port), 0)):
            by_workload[wname].append(oid)  # no port on a calendar (or one ruled out): none started
    order = sorted(by_workload, key=lambda w: -max(model.pairs[(w, o)].compute_usd for o in by_workload[w]))
    for wname in order:
        options = sorted(by_workload[wname], key=lambda o: (model.pairs[(wname, o)].compute_usd, o))
        if first is not None and first.get(wname) in options:
            options = [first[wname]] + [o for o in options if o != first[wname]]
        if (wname, options[0]) in model.x:
            if not _training(model, wname, options, capacity, used, hours, values):
                return None
        elif not _inference(model, wname, options, capacity, used, hours, values):
            return None
    _ports(model, values)
    if model.first_fixed:  # ports decided already: as decided
        for var in (*model.y.values(), *model.z.values()):
            values[var.name] = float(var.lowBound)
    if not _buy(model, used, hours, values):
        return None
    values = {name: max(0.0, value) for name, value in values.items()}
    return values if _feasible(model, values) else None


def _fixed_at(var: pulp.LpVariable | None, value: float) -> bool:
    return var is not None and var.lowBound == var.upBound == value


def _buy(
    model: Model,
    used: dict[tuple[str, int], float],
    hours: dict[tuple[str, int], float],
    values: dict[str, float],
) -> bool:
    """Commitments for what inference holds all period, on demand for the rest, blocks where an
    option is sold no other way; False if some use cannot be bought."""
    steady: dict[tuple[str, int], float] = defaultdict(float)
    for (_, oid, p), k in model.k.items():
        steady[(oid, p)] += values.get(k.name, 0.0) * model.periods[p - 1].months
    in_force = _commitments(model, steady, values)
    for key, e in model.on_demand.items():
        values[e.name] = hours[key] - model.sunk_hours.get(key, 0.0) / model.unit - in_force.get(key, 0.0)
    for key, v in model.block_hours.items():
        if key not in model.on_demand:
            values[v.name] = hours[key]
            values[model.block_instances[key].name] = used[key]
    return all(key in model.on_demand or key in model.block_hours for key in hours)


def _inference(
    model: Model,
    wname: str,
    options: list[str],
    capacity: dict[tuple[str, int], float],
    used: dict[tuple[str, int], float],
    hours: dict[tuple[str, int], float],
    values: dict[str, float],
) -> bool:
    for period in model.periods:
        p = period.index
        factor = model.demand[wname][p - 1]
        if factor <= 0:
            continue
        for oid in options:
            if (wname, oid, p) not in model.k:
                continue
            need = whole(model.pairs[(wname, oid)].instances_needed * factor)
            if used[(oid, p)] + need <= capacity.get((oid, p), 0.0) + TOL:
                values[model.s[(wname, oid, p)].name] = 1.0
                values[model.k[(wname, oid, p)].name] = float(need)
                used[(oid, p)] += need
                hours[(oid, p)] += need * period.months
                break
        else:
            return False
    return True


def _training(
    model: Model,
    wname: str,
    options: list[str],
    capacity: dict[tuple[str, int], float],
    used: dict[tuple[str, int], float],
    hours: dict[tuple[str, int], float],
    values: dict[str, float],
) -> bool:
    for oid in options:
        est = model.pairs[(wname, oid)]
        keys = [key for key in model.h if key[:2] == (wname, oid)]
        left = model.run_units[(wname, oid)]
        plan: list[tuple[tuple[str, str, int], float, int]] = []
        for key in keys:
            if left <= TOL:
                break
            p = key[2]
            months = model.periods[p - 1].months
            n = est.instances_at_once
            top = int(model.r[key].upBound or 0)
            free = int((capacity.get((oid, p), 0.0) - used[(oid, p)] + TOL) // n) if n else 0
            runs = min(top, free)
            if runs <= 0:
                continue
            take = min(left, months * n * runs)
            runs = min(runs, whole(take / (months * n)))
            plan.append((key, take, runs))
            left -= take
        if left > TOL * max(1.0, model.run_units[(wname, oid)]):
            continue
        values[model.x[(wname, oid)].name] = 1.0
        for key, take, runs in plan:
            values[model.h[key].name] = take
            values[model.r[key].name] = float(runs)
            used[(oid, key[2])] += runs * est.instances_at_once
            hours[(oid, key[2])] += take
        return True
    return False


def _commitments(
    model: Model, hours: dict[tuple[str, int], float], values: dict[str, float]
) -> dict[tuple[str, int], float]:
    """Per option, the commitment bought at the start that saves most against on demand: its j-th
    instance carries min(1, used − (j − 1)) of each month it covers and is bought while that is
    worth more on demand than the instance's term costs.  Returns committed instance-months per
    (option, period)."""
    in_force: dict[tuple[str, int], float] = defaultdict(float)
    if model.first_fixed:  # a first stage signed them
        for (oid, term, start), b in model.commit.items():
            values[b.name] = float(b.lowBound)
            for p in model.commitments[(oid, term, start)].covers:
                in_force[(oid, p)] += b.lowBound * model.periods[p - 1].months
        return in_force
    best: dict[str, tuple[float, str, int]] = {}
    for (oid, term, start), b in model.commit.items():
        if start != 1 or (oid, 1) not in model.on_demand:
            continue
        rate = model.on_demand[(oid, 1)]  # the variable; its objective coefficient is the price
        od = model.problem.objective.get(rate, 0.0)
        covers = model.commitments[(oid, term, start)].covers
        level = {p: hours.get((oid, p), 0.0) / model.periods[p - 1].months for p in covers}
        count, saving = 0, 0.0
        while count < (b.upBound or 0):
            carried = sum(model.periods[p - 1].months * min(1.0, max(0.0, level[p] - count)) for p in covers)
            worth = carried * od - model.commit_usd[(oid, term, start)]
            if worth <= 0:
                break
            count, saving = count + 1, saving + worth
        if count and saving > best.get(oid, (0.0, "", 0))[0]:
            best[oid] = (saving, term, count)
    for oid, (_, term, count) in best.items():
        values[model.commit[(oid, term, 1)].name] = float(count)
        for p in model.commitments[(oid, term, 1)].covers:
            in_force[(oid, p)] += count * model.periods[p - 1].months
    return in_force


def _ports(model: Model, values: dict[str, float]) -> None:
    """Pay for the ports the greedy plan uses."""
    for (wname, oid), est in model.pairs.items():
        key = (model.codebase[wname], est.family)
        if key not in model.y:
            continue
        x = model.x.get((wname, oid))
        on = (
            values.get(x.name, 0.0) > 0
            if x is not None
            else any(
                values.get(s.name, 0.0) > 0 for (w, o, _), s in model.s.items() if (w, o) == (wname, oid)
            )
        )
        if on:
            values[model.y[key].name] = 1.0


def _feasible(model: Model, values: dict[str, float]) -> bool:
    for row in model.problem.constraints():
        value = sum(c * values.get(v.name, 0.0) for v, c in row.items()) + row.constant
        slack = 1e-6 * (1 + abs(row.constant))
        if row.sense == pulp.LpConstraintLE and value > slack:
            return False
        if row.sense == pulp.LpConstraintGE and value < -slack:
            return False
        if row.sense == pulp.LpConstraintEQ and abs(value) > slack:
            return False
    for v in model.problem.variables():
        value = values.get(v.name, 0.0)
        if v.upBound is not None and value > v.upBound + 1e-6:
            return False
    return True
