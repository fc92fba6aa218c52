"""A first feasible plan for the solver, built greedily, so HiGHS starts from a sensible incumbent.

Each workload in turn (largest first, or by regret: those that lose most per instance when their
first option is full, first) takes, in each period, the cheapest option that still has room,
priced as it would best be bought (`_effective_usd`: a service at the best commitment from
month 1, on demand or in blocks; a run on demand or in blocks), or the option another plan put
it on (a guide: the base plan of a stress re-plan or a sensitivity probe, a plan repaired to
meet a policy, the blocks' plans of engine/decompose.py): an inference service its
whole instances, a training workload its runs' hours spread over the periods of its window with
capacity left (a run busy a whole period is steady, j, and can be committed).  Ports the
workloads need are paid.  What is held all period is committed layer by layer, each instance
with the term and start month that save most against on demand (`_commitments`); bursts and the
rest go into Capacity Blocks where those are cheaper, within the account's cap across blocks,
and on demand otherwise (blocks only where the option is sold no other way).  The
values are checked against every row of the model; an infeasible greedy plan (capacity runs out,
a region cap) is not handed over.  A run that comes `after` others is placed after them, in the
periods after their last.  It starts no port that takes calendar time; under a family-share
policy it is built only from a placement that meets it (`within_policy`), with each run started
as few at once as do its hours, as that repair counted room (`_spread`).
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import pulp

from placement.engine.costing import whole
from placement.engine.formulation import Model

TOL = 1e-6
# A repair under a family-share cap that runs out of room prices capacity (`within_policy`): first
# at this share of the plan's cost for an option's whole capacity, doubled at most PRICE_DOUBLINGS
# times, then bisected PRICE_HALVINGS times; a repair whose over family changes more than
# MAX_LISTINGS times is abandoned (each listing scans every move of the over family).
PRICE_FIRST = 1e-3
PRICE_DOUBLINGS = 12
PRICE_HALVINGS = 4
MAX_LISTINGS = 10
SHARE_MARGINS = (0.0, 0.02, 0.05)  # `policy_start`: the repair's cap tightened by these shares in turn
# instances: the capacity the elastic model's start places against (math.inf breaks //), and what
# the repair counts a run as taking on an option where its hours do not fit (`_Seats`)
ENDLESS = 1e12
Schedule = list[tuple[tuple[str, str, int], float, int]]  # a run's (h key, instance-months, runs) per period


def greedy_start(
    model: Model, first: dict[str, str] | None = None, regret: bool = False, spread: bool = False
) -> dict[str, float] | None:
    """Variable values by name for a feasible plan, or None.  `first`: the option each workload
    tries first (where another plan put it); otherwise its cheapest alone.  Workloads are placed
    largest first, or, guided or with `regret`, those that lose most per instance by leaving
    their first option first (`_regrets`).  Under a family-share policy only with `first` (a plan
    that meets it: `within_policy`), except on the diagnosis's elastic model, whose slacks take
    up whatever the plan breaks (`_slacks`)."""
    if model.share_cap is not None and first is None and not model.elastic:
        return None  # a share policy with nothing that meets it: leave the search to HiGHS
    for scarce_first in (False, True):  # largest first; if one finds no room, fewest options first
        values: dict[str, float] = {}
        used: dict[tuple[str, int], float] = defaultdict(float)  # instances held
        hours: dict[tuple[str, int], float] = defaultdict(float)  # instance-months used
        busy = _place(model, first, used, hours, values, scarce_first, regret, spread)
        if busy is not None:
            break
    if busy is None:
        return None
    for (name, p), a in model.active.items():  # run order: the periods each run is active in
        values[a.name] = 1.0 if p in busy.get(name, ()) else 0.0
    for total, terms in model.used.values():  # a share policy's U[g]
        values[total.name] = sum(c * values.get(v.name, 0.0) for v, c in terms)
    _ports(model, values)
    if model.first_fixed:  # ports decided already: as decided
        for var in (*model.y.values(), *model.z.values()):
            values[var.name] = float(var.lowBound)
    if not _buy(model, used, hours, values):
        return None
    values = twins_in_order(model, {name: max(0.0, value) for name, value in values.items()})
    if model.elastic:
        _slacks(model, values)
    return values if feasible(model, values) else None


def _slacks(model: Model, values: dict[str, float]) -> None:
    """An elastic model's slack variables (diagnosis only: capacity, share, region, window rows)
    set to what the greedy plan, placed as if capacity were endless, breaks each row by."""
    tables = (model.capacity_slack, model.share_slack, model.region_slack, model.window_slack)
    settle(model, {v.name for table in tables for v in table.values()}, values)


def settle(model: Model, names: set[str], values: dict[str, float]) -> None:
    """The variables `names` (each ≥ 0) set to the least that the rest of the plan lets every row
    they appear in alone hold: the largest that any such row asks of one of them."""
    for name in names:
        values.pop(name, None)
    for row in model.problem.constraints():
        own = [(v, c) for v, c in row.items() if v.name in names]
        if len(own) != 1:
            continue
        ((var, coefficient),) = own
        if row.sense != pulp.LpConstraintEQ and (row.sense == pulp.LpConstraintLE) != (coefficient < 0):
            continue  # a row it can only help by being smaller
        rest = sum(c * values.get(v.name, 0.0) for v, c in row.items() if v.name != var.name) + row.constant
        values[var.name] = max(values.get(var.name, 0.0), -rest / coefficient)


def settled(model: Model, values: dict[str, float]) -> dict[str, float]:
    """A copy of `values` with the on-demand hours e[o,p] set to what the plan uses (on demand is
    the only way these plans buy) and a family-share policy's spend U[g] to what its row adds up
    to (`settle`): plans put together from parts (engine/decompose.py, engine/neighbourhoods.py)."""
    out = dict(values)
    names = {v.name for v in model.on_demand.values()} | {u.name for u, _ in model.used.values()}
    settle(model, names, out)
    return out


def cost(problem: pulp.LpProblem, values: Mapping[str, float]) -> float:
    """A plan's objective as HiGHS counts it: PuLP does not hand HiGHS the objective's constant."""
    return float(sum(c * values.get(v.name, 0.0) for v, c in problem.objective.items()))


def main_of(
    training: Mapping[tuple[str, str], bool], shares: Mapping[tuple[str, str, int], float]
) -> dict[str, str]:
    """Each workload's option in a plan: its training option, or where most of its traffic goes
    (ties to the first in sorted order)."""
    main = {w: o for (w, o), chosen in training.items() if chosen}
    traffic: dict[tuple[str, str], float] = defaultdict(float)
    for (w, o, _), share in shares.items():
        traffic[(w, o)] += share
    for (w, o), share in sorted(traffic.items()):
        if w not in main or share > traffic[(w, main[w])]:
            main[w] = o
    return main


def twins_in_order(model: Model, values: dict[str, float]) -> dict[str, float]:
    """The same plan with interchangeable options (the model's twin rows: one instance type sold
    alike in two regions) swapped so that the earlier in the catalog holds the most
    instance-months, as those rows ask; a start guided by another plan can fill them either way."""
    if not model.twins:
        return values
    months = {p.index: p.months for p in model.periods}
    held: dict[str, float] = defaultdict(float)
    for (_, oid, p), k in model.k.items():
        held[oid] += values.get(k.name, 0.0) * months[p]
    for key, r in model.r.items():
        n = model.pairs[key[:2]].instances_at_once
        j = model.j.get(key)
        busy = values.get(r.name, 0.0) + (values.get(j.name, 0.0) if j is not None else 0.0)
        held[key[1]] += n * busy * months[key[2]]
    rename: dict[str, str] = {}
    for group in model.twins:
        ranked = sorted(group, key=lambda o: -held[o])  # stable: ties keep catalog order
        rename.update({old: new for old, new in zip(ranked, group, strict=True) if old != new})
    if not rename:
        return values
    swapped = dict(values)
    tables: list[tuple[Mapping[Any, pulp.LpVariable], int]] = [
        *((t, 1) for t in (model.x, model.h, model.r, model.j, model.s, model.k)),  # (w, option, …)
        *((t, 0) for t in (model.commit, model.on_demand, model.block_hours, model.block_instances)),
    ]
    moved = [(table, at, key, var) for table, at in tables for key, var in table.items() if key[at] in rename]
    for _, _, _, var in moved:
        swapped[var.name] = 0.0
    for table, at, key, var in moved:  # a value with no twin variable to go to is lost: refused
        twin = table.get((*key[:at], rename[key[at]], *key[at + 1 :]))
        if twin is not None:
            swapped[twin.name] = values.get(var.name, 0.0)
    return swapped


def _place(
    model: Model,
    first: dict[str, str] | None,
    used: dict[tuple[str, int], float],
    hours: dict[tuple[str, int], float],
    values: dict[str, float],
    scarce_first: bool = False,
    regret: bool = False,
    spread: bool = False,
) -> dict[str, list[int]] | None:
    """Each workload on its first option with room, largest first or by regret (`greedy_start`;
    `scarce_first`: those with the fewest options first) and runs after those they follow;
    returns the periods each training workload holds instances in, or None if one finds no room."""
    capacity = _Room(model, used)
    by_workload: dict[str, list[str]] = defaultdict(list)
    for wname, oid in model.pairs:
        port = (model.codebase[wname], model.pairs[(wname, oid)].family)
        if not model.port_months.get(port) and not (model.first_fixed and _fixed_at(model.y.get(port), 0)):
            by_workload[wname].append(oid)  # no port on a calendar (or one ruled out): none started
    follows: dict[str, list[str]] = defaultdict(list)  # training workload → the runs it comes after
    for later, done in model.after:
        follows[later].append(done)
    depth = _depths(follows)
    finish_by = _finish_by(model)
    rates = _best_rates(model)
    usd = {w: {o: _effective_usd(model, rates, w, o) for o in options} for w, options in by_workload.items()}
    if first is not None or regret:
        rank = _regrets(model, usd, first)
    else:
        rank = {
            w: max(model.pairs[(w, o)].compute_usd for o in options) for w, options in by_workload.items()
        }
    order = sorted(
        by_workload, key=lambda w: (depth.get(w, 0), len(by_workload[w]) if scarce_first else 0, -rank[w])
    )
    runs = _run_keys(model)
    busy: dict[str, list[int]] = {}
    for wname in order:
        options = sorted(by_workload[wname], key=lambda o: (usd[wname][o], o))
        if first is not None and first.get(wname) in options:
            options = [first[wname]] + [o for o in options if o != first[wname]]
        if (wname, options[0]) not in model.x:
            if not _inference(model, wname, options, capacity, used, hours, values):
                return None
            continue
        if any(done not in busy for done in follows[wname]):
            return None  # a run it comes after was not placed
        after = max((p for done in follows[wname] for p in busy[done]), default=0)
        keys = {o: [k for k in runs.get((wname, o), []) if after < k[2] <= finish_by[wname]] for o in options}
        periods = _training(model, wname, options, keys, capacity, used, hours, values, spread)
        if periods is None:
            return None
        busy[wname] = periods
    return busy


def _regrets(
    model: Model, usd: dict[str, dict[str, float]], first: dict[str, str] | None
) -> dict[str, float]:
    """What each workload loses per instance of its first option (the guide's, or its cheapest
    as best bought: `usd`, by workload and option) when it must take its cheapest option outside
    that option's twins instead: placed in this order, most first, the workloads an option short
    of capacity turns away are those that lose least by it (the regret rule of assignment
    heuristics)."""
    twin_of = {oid: set(group) for group in model.twins for oid in group}
    out: dict[str, float] = {}
    for wname, prices in usd.items():
        mine = first.get(wname) if first is not None else None
        if mine not in prices:
            mine = min(prices, key=lambda o: (prices[o], o))
        elsewhere = [v for o, v in prices.items() if o not in twin_of.get(mine, {mine})]
        lost = min(elsewhere) - prices[mine] if elsewhere else math.inf
        out[wname] = lost / max(1, model.pairs[(wname, mine)].instances)
    return out


def _best_rates(model: Model) -> dict[str, tuple[float, float]]:
    """Per option, the cheapest price per instance-hour for a run's hours (on demand or in blocks)
    and for a service held all horizon (those, or a commitment from month 1 covering every period),
    as a share of the list price that costing priced each pair at."""
    hours = {p.index: p.hours for p in model.periods}
    held_all: dict[str, list[float]] = defaultdict(list)
    for (oid, term, start), usd in model.commit_usd.items():
        covers = model.commitments[(oid, term, start)].covers
        if start == 1 and len(covers) == len(hours):
            held_all[oid].append(usd / sum(hours[p] for p in covers))
    out: dict[str, tuple[float, float]] = {}
    for oid, prices in model.prices.items():
        spot = [prices[i] for i in ("on-demand", "capacity-block") if i in prices]
        listed = prices["list"]
        if listed > 0:  # (a way it is not sold at all keeps the list price: ratio 1)
            service = spot + held_all[oid]
            out[oid] = (min(spot) / listed if spot else 1.0, min(service) / listed if service else 1.0)
    return out


def _effective_usd(model: Model, rates: dict[str, tuple[float, float]], wname: str, oid: str) -> float:
    """A pair's cost alone at the cheapest way to buy it (`_best_rates`): a service held all
    horizon at the best commitment from month 1, on demand or in Capacity Blocks; a training run's
    hours on demand or in blocks (on demand only when one run is more than the account's cap
    across blocks).  Costing prices every pair at the list price, which puts services in blocks
    sold no other way and leaves commitments out."""
    est, prices = model.pairs[(wname, oid)], model.prices.get(oid, {})
    if oid not in rates:
        return est.compute_usd
    run, service = rates[oid]
    if (wname, oid) not in model.x:
        return est.compute_usd * service
    if est.instances_at_once > model.block_account and "on-demand" in prices:
        return est.compute_usd * prices["on-demand"] / prices["list"]
    return est.compute_usd * run


def _blocks_only(model: Model) -> set[tuple[str, int]]:
    """Option-periods sold only in Capacity Blocks (the account's cap across blocks applies)."""
    return {key for key in model.block_hours if key not in model.on_demand}


class _Room:
    """Instances left per option and period: its capacity calendar, and for an option sold only
    in Capacity Blocks the account's cap on instances across blocks at once."""

    def __init__(self, model: Model, used: dict[tuple[str, int], float]) -> None:
        self.capacity = {  # the diagnosis's elastic model: capacity slack takes what is over
            (oid, p + 1): ENDLESS if model.elastic else float(cap)
            for oid, caps in model.capacity.items()
            for p, cap in enumerate(caps)
        }
        self.used = used
        self.blocks_only = _blocks_only(model)
        self.account = model.block_account
        self.in_blocks: dict[int, float] = defaultdict(float)

    def free(self, oid: str, p: int) -> float:
        left = self.capacity.get((oid, p), 0.0) - self.used[(oid, p)]
        if (oid, p) in self.blocks_only:
            left = min(left, self.account - self.in_blocks[p])
        return left

    def take(self, oid: str, p: int, count: float) -> None:
        self.used[(oid, p)] += count
        if (oid, p) in self.blocks_only:
            self.in_blocks[p] += count


def policy_start(model: Model, options: dict[str, str]) -> dict[str, float] | None:
    """The greedy start on the options `within_policy` repaired to meet a family-share cap.  The
    start may stray from them (a workload whose option is full in some period takes the cheapest
    with room, perhaps in the over family), and the repair stops right at the cap, so a start
    that breaks it is tried again from a repair to a cap tighter by each of SHARE_MARGINS in turn
    (10,000 diverse workloads on one period, seed 4, cap 48%: the start broke the cap by $246M
    of U; with the repair to 47.04% it meets it).  At each margin the repair is tried as given,
    then fitted first (`_fitted`): the fit moves whole workloads a plan split over options, where
    the start may need to move them only in the months the option is short (1,000 diverse
    workloads × 12 months, seed 2: a start 3.1% dearer with the fit, $2,132.5M against
    $2,068.9M; seed 4, with the plan its run had: no start without it); when the fit moves
    nothing, only once.  None if no repair or start is found."""
    loads = _Loads(model)
    tries: list[dict[str, str]] = [options]  # the fitted options join once the first try fails
    for margin in SHARE_MARGINS:
        repaired = False
        for at, given in enumerate(tries):  # (a fitted try appended here is taken in this loop)
            choice = within_policy(model, given, margin, loads)
            values = greedy_start(model, choice, spread=True) if choice is not None else None
            if values is not None:
                return values
            repaired = repaired or choice is not None
            if at == 0 and len(tries) == 1:
                fitted = _fitted(model, options, loads)
                if fitted != {w: options[w] for w in fitted}:
                    tries.append(fitted)
        if not repaired:
            return None
    return None


def within_policy(
    model: Model, options: dict[str, str], margin: float = 0.0, loads: _Loads | None = None
) -> dict[str, str] | None:
    """Each workload's option moved, whole workloads at a time, until no family carries more than
    the policy's share of the spend it counts (U, priced on demand): while a family is over its
    share, the workload in it that moves out for the least extra cost per dollar of U taken away
    goes to its cheapest option in another family that still has room for it (`_Seats`).

    When that runs out of room first (the cheapest moves fill the other families' options with
    workloads that take many instances per dollar of U), the moves are ranked again with a price
    on capacity: a move also pays `price` times the share of its new option's capacity it takes.
    The price starts at PRICE_FIRST of the plan's cost and doubles until a repair meets the cap,
    then is bisected PRICE_HALVINGS times between the last price that failed and the least that
    worked; the repair of least cost is kept.  (10,000 diverse workloads on one period, seed 4,
    strict cap: the unpriced repair filled every Inferentia and Trainium option with the GPU
    family still at 72% of U against a 48% cap, and there was no plan at all.)  None if no price
    finds one.  `margin`: the cap is met with this share of it to spare.  `loads`: what each
    workload takes of each option (`_Loads`), shared by the repairs of one model."""
    if model.share_cap is None:
        return dict(options)
    cap = model.share_cap * (1 - margin)
    loads = loads or _Loads(model)
    spend = _spend(model)
    alternatives = _movable(model, spend)
    choice = {w: o for w, o in options.items() if (w, o) in spend}
    plain = _repaired(model, cap, spend, alternatives, choice, 0.0, loads)
    if plain is not None:
        return plain
    plan_usd = _usd(model, choice)
    failed, price, best = 0.0, PRICE_FIRST, None
    for _ in range(PRICE_DOUBLINGS):
        best = _repaired(model, cap, spend, alternatives, choice, price * plan_usd, loads)
        if best is not None:
            break
        failed, price = price, 2 * price
    if best is None:
        return None
    worked, best_usd = price, _usd(model, best)
    for _ in range(PRICE_HALVINGS):
        middle = math.sqrt(failed * worked) if failed > 0 else worked / 2
        found = _repaired(model, cap, spend, alternatives, choice, middle * plan_usd, loads)
        if found is None:
            failed = middle
            continue
        worked, found_usd = middle, _usd(model, found)
        if found_usd < best_usd:
            best, best_usd = found, found_usd
    return best


def _movable(model: Model, spend: dict[tuple[str, str], float]) -> dict[str, list[str]]:
    """The options each workload may be moved to by a repair: those it adds to a family's U
    (`_spend`) on, without a port that takes calendar time."""
    alternatives: dict[str, list[str]] = defaultdict(list)
    for wname, oid in model.pairs:
        if (wname, oid) in spend and not model.port_months.get(
            (model.codebase[wname], model.pairs[(wname, oid)].family)
        ):
            alternatives[wname].append(oid)
    return alternatives


def _fitted(model: Model, options: dict[str, str], loads: _Loads | None = None) -> dict[str, str]:
    """`options` (those on pairs with spend) with the workloads of each option they overfill, as
    `_Seats` counts room, moved to options with room, least extra cost per instance freed first,
    until it fits (or no move is left).  A plan can overfill an option by that count: one that
    splits a service over options, or runs more at once than the start would (1,000 diverse
    workloads × 12 months, seed 4: a start from the repaired plan put 15 workloads on GPUs for
    want of room and broke the cap)."""
    spend = _spend(model)
    alternatives = _movable(model, spend)
    choice = {w: o for w, o in options.items() if (w, o) in spend}
    seats = _Seats(model, choice, loads or _Loads(model))
    for oid in sorted(seats.room):
        short = [p for p, left in enumerate(seats.room[oid]) if left < -TOL]
        if not short:
            continue
        moves = []
        for wname, mine in choice.items():
            freed = max(seats.load(wname, oid)[p] for p in short) if mine == oid else 0.0
            if freed <= 0:
                continue
            usd = model.pairs[(wname, oid)].compute_usd
            for other in alternatives[wname]:
                if other != oid:
                    moves.append(((model.pairs[(wname, other)].compute_usd - usd) / freed, wname, other))
        heapq.heapify(moves)
        while moves and min(seats.room[oid]) < -TOL:
            _, wname, other = heapq.heappop(moves)
            if choice[wname] == oid and seats.fits(wname, other):
                seats.move(wname, oid, other)
                choice[wname] = other
    return choice


def _usd(model: Model, choice: dict[str, str]) -> float:
    """What the workloads cost on their options, each priced alone (`Estimate.compute_usd`)."""
    return math.fsum(model.pairs[pair].compute_usd for pair in choice.items())


def _repaired(
    model: Model,
    cap: float,
    spend: dict[tuple[str, str], float],
    alternatives: dict[str, list[str]],
    options: dict[str, str],
    price: float,
    loads: _Loads,
) -> dict[str, str] | None:
    """`within_policy`'s repair to `cap` with capacity at `price` (USD for an option's whole
    capacity), or None when it runs out of moves, or the over family changes more than
    MAX_LISTINGS times (moves that push one family over, then back)."""
    choice = dict(options)
    seats = _Seats(model, choice, loads)
    moves: list[tuple[float, str, str]] = []  # a heap of the over family's moves, as listed for it
    listed_for, listings = "", 0
    used: dict[str, float] = defaultdict(float)  # kept up to date move by move (10,000 workloads:
    for wname, oid in choice.items():  # summed afresh for each move, the repair took 51 s)
        used[model.pairs[(wname, oid)].family] += spend[(wname, oid)]
    for _ in range(len(choice) + 1):
        total = math.fsum(used.values())
        family, excess = max(used.items(), key=lambda item: (item[1] - cap * total, item[0]))
        if excess <= cap * total * (1 + 1e-9):
            return choice
        if family != listed_for:
            listings += 1
            if listings > MAX_LISTINGS:
                return None
            moves = _moves_out(model, spend, alternatives, choice, seats, family, price)
            listed_for = family
        # within one over family a move's extra cost only changes when its workload moves, and room
        # on the other families' options only shrinks: the least move still valid is the least now
        while moves and not _still(model, choice, seats, family, moves[0]):
            heapq.heappop(moves)
        if not moves:
            return None
        _, wname, other = heapq.heappop(moves)
        seats.move(wname, choice[wname], other)
        used[model.pairs[(wname, choice[wname])].family] -= spend[(wname, choice[wname])]
        used[model.pairs[(wname, other)].family] += spend[(wname, other)]
        choice[wname] = other
    return None


def _still(
    model: Model, choice: dict[str, str], seats: _Seats, family: str, move: tuple[float, str, str]
) -> bool:
    """Whether a listed move is still one: its workload not moved yet, and room where it goes."""
    _, wname, other = move
    return model.pairs[(wname, choice[wname])].family == family and seats.fits(wname, other)


def _moves_out(
    model: Model,
    spend: dict[tuple[str, str], float],
    alternatives: dict[str, list[str]],
    choice: dict[str, str],
    seats: _Seats,
    family: str,
    price: float,
) -> list[tuple[float, str, str]]:
    """Every move of a workload out of `family` to an option of another family with room, as a
    heap by extra cost per dollar of U taken away (then workload, then option); with a `price`
    on capacity, the extra cost counts that share of the price the move's new option takes."""
    moves = []
    for wname, oid in choice.items():
        est = model.pairs[(wname, oid)]
        if est.family != family or spend[(wname, oid)] <= 0:
            continue
        for other in alternatives[wname]:
            alt = model.pairs[(wname, other)]
            if alt.family != family and seats.fits(wname, other):
                extra = alt.compute_usd - est.compute_usd
                if price:
                    extra += price * seats.share(wname, other)
                extra /= spend[(wname, oid)]
                moves.append((extra, wname, other))
    heapq.heapify(moves)
    return moves


class _Seats:
    """Room left per option and period for whole workloads, as the repair moves them: each
    option's capacity calendar, and in the periods an option is sold only in Capacity Blocks, the
    account's cap across blocks.  A workload takes, in each period, what it may hold then: an
    inference service its whole instances at that period's demand, a training workload its runs
    as the policy's start schedules them (`_spread`: as few at once as do its hours, earliest
    periods first, ended where a run that follows it still has a period; a workload whose hours
    do not fit there takes ENDLESS).  (Approximate for a run that follows others: the start
    begins it after them, and still checks every row.  Until 2026-12-07 every workload took its
    peak against each option's tightest month: 1,000 diverse workloads × 12 months, seed 4, had no
    room left on any Trainium or Inferentia option for a repair to meet its cap; then one run's
    instances in every period of its window, while the start ran them all at once in the first:
    its services found the option full, went to GPUs and broke the cap.)"""

    def __init__(self, model: Model, choice: dict[str, str], loads: _Loads) -> None:
        self.room = {oid: [float(cap) for cap in caps] for oid, caps in model.capacity.items()}
        self.whole = {oid: [max(1.0, cap) for cap in room] for oid, room in self.room.items()}
        self.blocks_only = _blocks_only(model)  # (option, period from 1)
        self.account = [model.block_account] * len(model.periods)
        self.load = loads
        for wname, oid in choice.items():
            self._take(wname, oid, 1.0)

    def share(self, wname: str, oid: str) -> float:
        """The largest share of a period's capacity on `oid` that `wname` takes."""
        pairs = zip(self.load(wname, oid), self.whole[oid], strict=True)
        return max((n / cap for n, cap in pairs), default=0.0)

    def fits(self, wname: str, oid: str) -> bool:
        room = self.room[oid]
        for p, need in enumerate(self.load(wname, oid)):
            if need > room[p] or (need > 0 and (oid, p + 1) in self.blocks_only and need > self.account[p]):
                return False
        return True

    def move(self, wname: str, old: str, new: str) -> None:
        self._take(wname, old, -1.0)
        self._take(wname, new, 1.0)

    def _take(self, wname: str, oid: str, sign: float) -> None:
        room = self.room[oid]
        for p, need in enumerate(self.load(wname, oid)):
            room[p] -= sign * need
            if need and (oid, p + 1) in self.blocks_only:
                self.account[p] -= sign * need


class _Loads:
    """Instances a workload takes on an option in each period, as `_Seats` counts them (see
    there), worked out once per pair and model."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.runs = _run_keys(model)
        self.finish_by = _finish_by(model)
        self.loads: dict[tuple[str, str], tuple[float, ...]] = {}

    def __call__(self, wname: str, oid: str) -> tuple[float, ...]:
        key = (wname, oid)
        if key not in self.loads:
            self.loads[key] = self._work_out(wname, oid)
        return self.loads[key]

    def _work_out(self, wname: str, oid: str) -> tuple[float, ...]:
        model, est = self.model, self.model.pairs[(wname, oid)]
        if (wname, oid) not in model.x:
            return tuple(float(whole(est.instances_needed * f)) for f in model.demand[wname])
        keys = [k for k in self.runs.get((wname, oid), []) if k[2] <= self.finish_by[wname]]
        plan = _spread(model, wname, oid, keys, lambda _o, _p: ENDLESS)
        if plan is None:  # its hours do not fit in its window there: no room anywhere
            return tuple(ENDLESS for _ in model.periods)
        held = {k[2]: runs * est.instances_at_once for k, _, runs in plan}
        return tuple(float(held.get(p.index, 0)) for p in model.periods)


def _run_keys(model: Model) -> dict[tuple[str, str], list[tuple[str, str, int]]]:
    """Each training pair's run keys (workload, option, period), in period order."""
    runs: dict[tuple[str, str], list[tuple[str, str, int]]] = defaultdict(list)
    for key in model.r:
        runs[key[:2]].append(key)
    return runs


def _spend(model: Model) -> dict[tuple[str, str], float]:
    """What each pair adds to its family's U (the share policy's rows) when it takes all of its
    workload: a training pair's coefficient on x, an inference pair's on s summed over periods."""
    coefficient = {v.name: c for _, terms in model.used.values() for v, c in terms}
    spend: dict[tuple[str, str], float] = defaultdict(float)
    for pair, x in model.x.items():
        spend[pair] += coefficient.get(x.name, 0.0)
    for (wname, oid, _), s in model.s.items():
        spend[(wname, oid)] += coefficient.get(s.name, 0.0)
    return dict(spend)


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
    steady: dict[tuple[str, int], float] = defaultdict(float)  # instance-months held all period
    for (_, oid, p), k in model.k.items():
        steady[(oid, p)] += values.get(k.name, 0.0) * model.periods[p - 1].months
    for (wname, oid, p), j in model.j.items():
        n = model.pairs[(wname, oid)].instances_at_once
        steady[(oid, p)] += values.get(j.name, 0.0) * n * model.periods[p - 1].months
    in_force = _commitments(model, steady, values)
    bursts: dict[tuple[str, int], float] = defaultdict(float)  # training hours: never committed
    for (_, oid, p), h in model.h.items():
        bursts[(oid, p)] += values.get(h.name, 0.0)
    account: dict[int, float] = defaultdict(lambda: model.block_account)  # instances left across blocks
    rest = {  # instance-months to buy beyond what is already bought and committed
        key: used_months - model.sunk_hours.get(key, 0.0) / model.unit - in_force.get(key, 0.0)
        for key, used_months in hours.items()
    }
    for key, v in model.block_hours.items():
        if key not in model.on_demand:  # sold only in blocks
            values[v.name] = hours[key]
            values[model.block_instances[key].name] = used[key]
            account[key[1]] -= used[key]
    price = model.problem.objective
    cheaper = sorted(  # blocks cheaper than on demand: the largest saving per instance-month first
        (key for key in model.on_demand if key in model.block_hours),
        key=lambda key: (price.get(model.block_hours[key], 0.0) - price.get(model.on_demand[key], 0.0), key),
    )
    in_blocks: dict[tuple[str, int], float] = {}
    for key in cheaper:
        if price.get(model.block_hours[key], 0.0) >= price.get(model.on_demand[key], 0.0):
            break
        need = max(rest.get(key, 0.0), bursts[key])
        months = model.periods[key[1] - 1].months
        held = min(used[key], math.floor(account[key[1]] + TOL), whole(need / months))
        if need <= TOL or held <= 0:
            continue
        in_blocks[key] = min(need, held * months)
        values[model.block_hours[key].name] = in_blocks[key]
        values[model.block_instances[key].name] = float(held)
        account[key[1]] -= held
    for key, e in model.on_demand.items():
        values[e.name] = max(0.0, max(rest.get(key, 0.0), bursts[key]) - in_blocks.get(key, 0.0))
    return all(key in model.on_demand or key in model.block_hours for key in hours)


def _inference(
    model: Model,
    wname: str,
    options: list[str],
    capacity: _Room,
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
            if need <= capacity.free(oid, p) + TOL:
                values[model.s[(wname, oid, p)].name] = 1.0
                values[model.k[(wname, oid, p)].name] = float(need)
                capacity.take(oid, p, need)
                hours[(oid, p)] += need * period.months
                break
        else:
            return False
    return True


def _training(
    model: Model,
    wname: str,
    options: list[str],
    periods: dict[str, list[tuple[str, str, int]]],
    capacity: _Room,
    used: dict[tuple[str, int], float],
    hours: dict[tuple[str, int], float],
    values: dict[str, float],
    spread: bool,
) -> list[int] | None:
    """The first option (in `options` order) that can do all the runs' hours in the periods
    given for it, with capacity left; returns the periods it holds instances in.  `spread`: as
    few runs at once as do the hours (`_spread`), not as many as capacity leaves."""
    for oid in options:
        est = model.pairs[(wname, oid)]
        keys = periods[oid]
        if spread:
            plan = _spread(model, wname, oid, keys, capacity.free)
        else:
            plan = _schedule(model, wname, oid, keys, capacity.free, None)
        if plan is None:
            continue
        values[model.x[(wname, oid)].name] = 1.0
        for key, take, runs in plan:
            steady = model.j.get(key)
            whole_period = take >= model.periods[key[2] - 1].months * est.instances_at_once * runs * (1 - TOL)
            if steady is not None and whole_period and runs <= (steady.upBound or 0):
                values[steady.name] = float(runs)  # busy all period: its instances can be committed
            else:
                values[model.h[key].name] = take
                values[model.r[key].name] = float(runs)
            capacity.take(oid, key[2], runs * est.instances_at_once)
            hours[(oid, key[2])] += take
        return [key[2] for key, _, _ in plan]
    return None


def _schedule(
    model: Model,
    wname: str,
    oid: str,
    keys: list[tuple[str, str, int]],
    free: Callable[[str, int], float],
    limit: int | None,
) -> Schedule | None:
    """A training workload's runs on `oid` in the periods `keys`, earliest first, as many at once
    as the instances `free` leaves (at most `limit`): (key, instance-months, runs) per period, or
    None if its hours do not fit."""
    n = model.pairs[(wname, oid)].instances_at_once
    left = model.run_units[(wname, oid)]
    plan: Schedule = []
    for key in keys:
        if plan and left <= TOL:  # a run of seconds still holds an instance in some period
            break
        p = key[2]
        months = model.periods[p - 1].months
        top = int(model.r[key].upBound or 0)
        room = int((free(oid, p) + TOL) // n) if n else 0
        runs = min(top, room, limit if limit is not None else top)
        if runs <= 0:
            continue
        take = min(left, months * n * runs)
        runs = min(runs, max(1, whole(take / (months * n))))  # a run of seconds too holds one
        plan.append((key, take, runs))
        left -= take
    if not plan or left > TOL * max(1.0, model.run_units[(wname, oid)]):
        return None  # (a run of seconds, within TOL, with no period of room: still not placed)
    return plan


def _spread(
    model: Model, wname: str, oid: str, keys: list[tuple[str, str, int]], free: Callable[[str, int], float]
) -> Schedule | None:
    """`_schedule` with as few runs at once as do the hours: the fewest that could run evenly over
    the periods `keys` (`_pace`), doubled until a schedule fits, then as many as room leaves."""
    least, most = _pace(model, wname, oid, keys), max((int(model.r[k].upBound or 0) for k in keys), default=0)
    limits: list[int | None] = []
    while least < most:
        limits.append(least)
        least *= 2
    for limit in [*limits, None]:
        plan = _schedule(model, wname, oid, keys, free, limit)
        if plan is not None:
            return plan
    return None


def _pace(model: Model, wname: str, oid: str, keys: list[tuple[str, str, int]]) -> int:
    """The fewest runs at once that do a training workload's hours on `oid`, run evenly over the
    periods `keys` (at least 1)."""
    n = model.pairs[(wname, oid)].instances_at_once
    months = math.fsum(model.periods[k[2] - 1].months for k in keys)
    if n <= 0 or months <= 0:
        return 1
    return max(1, whole(model.run_units[(wname, oid)] / (n * months) - TOL))


def _commitments(
    model: Model, steady: dict[tuple[str, int], float], values: dict[str, float]
) -> dict[tuple[str, int], float]:
    """Commitments for what is held all period (`_layers`), or as a first stage signed them.
    Returns committed instance-months per (option, period)."""
    in_force: dict[tuple[str, int], float] = defaultdict(float)
    months = {p.index: p.months for p in model.periods}
    if model.first_fixed:
        bought = {key: float(b.lowBound) for key, b in model.commit.items()}
    else:
        offers: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for oid, term, start in model.commit:
            offers[oid].append((term, start))
        bought = {}
        for oid, keys in sorted(offers.items()):
            level = {p: steady.get((oid, p), 0.0) / months[p] for p in months}
            for (term, start), layers in _layers(model, oid, keys, level).items():
                bought[(oid, term, start)] = float(layers)
    for key, count in bought.items():
        values[model.commit[key].name] = count
        for p in model.commitments[key].covers:
            in_force[(key[0], p)] += count * months[p]
    return in_force


def _layers(
    model: Model, oid: str, keys: list[tuple[str, int]], level: dict[int, float]
) -> dict[tuple[str, int], int]:
    """Layer by layer: the i-th instance of an option carries min(1, held − (i − 1)) of each
    period and takes the term and start that save most against on demand for that layer, while
    one saves anything.  Layers are independent (each carries only its own slice of every period),
    so for each layer the choice is the best one.  Returns instances per (term, start)."""
    rate = next((e for (o, _), e in model.on_demand.items() if o == oid), None)
    if rate is None:
        return {}
    od = model.problem.objective.get(rate, 0.0)  # the variable's cost: on demand per instance-month
    months = {p.index: p.months for p in model.periods}
    bought: dict[tuple[str, int], int] = defaultdict(int)
    for layer in range(int(max(level.values(), default=0.0) + 1)):
        best, choice = 0.0, None
        for term, start in keys:
            if bought[(term, start)] >= (model.commit[(oid, term, start)].upBound or 0):
                continue
            covers = model.commitments[(oid, term, start)].covers
            carried = sum(months[p] * min(1.0, max(0.0, level[p] - layer)) for p in covers)
            worth = carried * od - model.commit_usd[(oid, term, start)]
            if worth > best + 1e-9:
                best, choice = worth, (term, start)
        if choice is None:
            break
        bought[choice] += 1
    return dict(bought)


def _finish_by(model: Model) -> dict[str, int]:
    """The last period each training workload may hold instances in: its window's last, and one
    before the last its followers may use (each run after it needs a period of its own after it
    ends).  Placed greedily, a run that others follow could otherwise take the last free period
    of its window and leave them none: 200 workloads with a time axis, seed 1, a chain of three
    runs, the first put in month 10 by capacity, found no start, and HiGHS no plan in 20 s."""
    later: dict[str, list[str]] = defaultdict(list)
    for after, done in model.after:
        later[done].append(after)
    last: dict[str, int] = {}

    def of(name: str) -> int:  # the inputs refuse a cycle (models.Portfolio)
        if name not in last:
            last[name] = min([model.windows[name][1], *(of(n) - 1 for n in later[name])])
        return last[name]

    return {name: of(name) for name in model.windows}


def _depths(follows: dict[str, list[str]]) -> dict[str, int]:
    """How many runs come before each in the `after` order (a run after nothing: 0)."""
    depth: dict[str, int] = {}

    def of(name: str) -> int:  # the inputs refuse a cycle (models.Portfolio)
        if name not in depth:
            depth[name] = 1 + max((of(done) for done in follows.get(name, ())), default=-1)
        return depth[name]

    for name in list(follows):
        of(name)
    return depth


def _ports(model: Model, values: dict[str, float]) -> None:
    """Pay for the ports the greedy plan uses."""
    on: set[tuple[str, str]] = {pair for pair, x in model.x.items() if values.get(x.name, 0.0) > 0} | {
        (w, o) for (w, o, _), s in model.s.items() if values.get(s.name, 0.0) > 0
    }
    for wname, oid in on:
        key = (model.codebase[wname], model.pairs[(wname, oid)].family)
        if key in model.y:
            values[model.y[key].name] = 1.0


def feasible(model: Model, values: dict[str, float]) -> bool:
    for row in model.problem.constraints():
        terms = [c * values.get(v.name, 0.0) for v, c in row.items()]
        value = math.fsum(terms) + row.constant
        # rounding in a sum of terms of 1e9 (a share policy's spend rows) is not infeasibility
        slack = 1e-6 * (1 + abs(row.constant)) + 1e-12 * math.fsum(abs(t) for t in terms)
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
