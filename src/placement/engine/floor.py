"""A lower bound on the cost of every plan of a model, worked out without a solver.

HiGHS's bound comes from its root LP.  On the largest time-phased models that LP alone takes
longer than the time limit leaves it (1,000 diverse workloads × 12 months under a binding
family-share cap: 430,000 columns, no bound after 60 s with presolve on or off; its LP solved
offline took 813 s), and a gap measured against $0 tells a buyer nothing.

The bound is a Lagrangian relaxation: the rows that tie workloads together get prices, after
which each workload pays on its own, and what they pay, less the priced right-hand sides, is a
bound for any prices ≥ 0 (every plan keeps those rows, so it pays at least that much):

- room: each instance held on option o in period p pays λ[o,p], and the bound subtracts
  Σ λ[o,p]·cap[o,p];
- the Capacity Block quota (AWS: 256 instances across blocks at once): each instance booked in
  a block in p pays ν[p], and the bound subtracts Σ ν[p]·quota (a block of B instances gives at
  most B·hours[p] block hours, so a block hour pays at least ν[p]/hours[p] more);
- a family-share cap φ: each dollar of family g's counted spend U[g] (list price, as the share
  rows count it; with `beside`, the spend fixed outside the model, in U) pays
  m[g] = μ[g] − φ·Σ_h μ[h], since Σ_g μ[g]·(U[g] − φ·Σ U) ≤ 0 under the cap;
- commitments pooled across workloads: the price of each commitment the model may buy is
  spread over the periods it covers (Σ_p θ[p]·hours[p] = its Cost[o,κ,p'], engine/formulation.py),
  and an hour committed in p costs at least the least θ[p] of the commitments covering it.  The
  commitments bought pay at least that for every hour they carry, idle or not.

An instance-hour of o in p then costs at least rate[o,p], the least of its on-demand price, its
block price plus ν[p]/hours[p] and the committed θ[p].  With c[o] = rate[o,p]·hours[p] + λ[o,p]
the priced instance:

- an inference service, in each period it has traffic, pays the least of: on one option,
  c[o]·⌈q·f⌉ + m·spend (whole instances for all of its traffic); split over two or more,
  max(min_o (c[o]·q·f + m·spend), the two least c[o] + the least m·spend) (its instances cover
  its traffic share by share, and each option it uses holds a whole one);
- a training workload, on its cheapest option, pays m·spend and its E hours in the periods of
  its window where an hour, room included (rate + λ/hours), is cheapest: a period can give it at
  most n·R'·hours[p] instance-hours (R' runs at once), and an instance held for a fraction of a
  period pays that fraction of λ (runs held part of a period hold whole instances: it is the
  least).

With every price at 0 and each commitment's price spread evenly over the hours it covers, this
is the bound the module had before (1,000 diverse workloads × 12 months, seed 1: $924M against a
plan of $1,269M; $929M with the whole-instance rule).  The prices are raised by Polyak's
subgradient steps towards the cost of the plan in hand: `ROUNDS` on the rows' prices with the
spreads even, then `SPREAD_ROUNDS` on both from the best prices found (all at once from the
start, the spreads' many entries slowed the rows').  The number of steps is fixed, so the bound
is the same on any machine, and the best bound met is kept: every one is a bound, whatever the
prices.  Ports, the 64 instances of one block, region caps and run order are left out, each of
which only adds cost.  Purchases already made (`bought`) cover hours at no further cost, so with
any the bound is only what they cost.  The diagnosis's elastic model, whose slack can stand in
for hours, has none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from placement.engine.formulation import SPEND_UNIT, Model

ROUNDS = 80  # subgradient steps on the rows' prices (benchmarks/README.md, "A bound that prices ...")
SPREAD_ROUNDS = 40  # then on the rows' prices and each commitment's spread together
STALL = 5  # steps without a better bound before the step halves
THETA = 1.0  # the first step: Polyak's, the whole way to the target

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


def lower_bound(model: Model, plan_usd: float = math.nan) -> float:
    """The bound in the module docstring ($), or -inf for the elastic model.  `plan_usd`: the cost
    of a plan of the model, which the steps aim at; without one every price stays at 0."""
    if model.elastic:
        return -math.inf
    if model.sunk_hours or model.sunk_block_hours:
        return model.sunk_usd
    parts = _Parts.of(model)
    scaled = parts.start()  # prices as shares of what they price (an instance, a dollar, a term)
    if not math.isfinite(plan_usd):
        return parts.value(scaled * parts.scale)[0] + model.sunk_usd
    target = plan_usd - model.sunk_usd  # (a bound that is already there, or infinite, takes no step)
    # the rows first, each commitment's price spread evenly; then the spreads move too (together
    # from the start, their many entries slowed the rows' prices: 1,000 × 12 under a cap, seed 4)
    best, scaled = _steps(parts, scaled, target, ROUNDS, spreads=False)
    if len(parts.k_even):
        best, _ = _steps(parts, scaled, target, SPREAD_ROUNDS, spreads=True)
    return best + model.sunk_usd


def _steps(parts: _Parts, scaled: Floats, target: float, rounds: int, spreads: bool) -> tuple[float, Floats]:
    """Polyak's subgradient steps from `scaled` towards `target`: the best bound met and its
    prices (scaled).  Without `spreads` each commitment's spread stays where it is."""
    best, grad = parts.value(scaled * parts.scale)
    value, at_best = best, scaled
    theta, stalled = THETA, 0
    for _ in range(rounds):
        step_dir = parts.direction(scaled, grad, spreads)
        norm = float(step_dir @ step_dir)
        if norm <= 0 or best >= target:
            break
        scaled = parts.project(scaled + theta * (target - value) / norm * step_dir)
        value, grad = parts.value(scaled * parts.scale)
        if value > best + 1e-9 * abs(best):
            best, at_best, stalled = value, scaled, 0
        else:
            stalled += 1
            if stalled >= STALL:
                theta, stalled = theta / 2, 0
    return best, at_best


@dataclass
class _Parts:
    """The model as arrays.  Cells are (option, period); the prices are λ per cell, then ν per
    period (only with a block quota), then μ per family (only under a share cap), then each
    commitment's spread (per period it covers, its rate there over its even rate).  Inference
    entries (service, option, period) are grouped by service-period and training pairs by
    workload, each group's entries side by side."""

    cap: Floats  # per cell: instances at once
    hours: Floats  # per cell: the period's hours
    period: Ints  # per cell: its period, 0-based
    on_demand: Floats  # per cell, $ an hour (inf where not sold): on demand, in a block
    block: Floats
    quota: float  # instances across blocks at once (0: no ν)
    periods: int
    share: float  # φ (no μ without a cap)
    beside: Floats  # per family: spend fixed outside the model
    scale: Floats  # per price: what it is a share of
    i_starts: Ints
    i_cell: Ints
    i_need: Floats  # q · f
    i_spend: Floats  # counted spend of all its traffic
    i_family: Ints
    t_starts: Ints
    t_hours: Floats  # E
    t_spend: Floats
    t_family: Ints
    t_cell: Ints  # [pair, slot], -1 where none
    t_room: Floats  # [pair, slot]: instance-hours the period can give the pair
    # each commitment the model may buy, its price spread over the periods it covers: entries
    # (commitment, period) side by side per commitment
    k_starts: Ints
    k_usd: Floats  # per entry: its commitment's price (per instance)
    k_cell: Ints  # per entry: the cell of its option and period, -1 where no workload can be
    k_hours: Floats  # per entry: the period's hours
    k_even: Floats  # per entry: the period's share of the hours the commitment covers

    def start(self) -> Floats:
        """Every price at 0; each commitment's price spread evenly over the hours it covers (its
        rate in each period, as a multiple of that even rate, 1)."""
        return np.concatenate([np.zeros(len(self.scale) - len(self.k_even)), np.ones(len(self.k_even))])

    def direction(self, scaled: Floats, grad: Floats, spreads: bool = True) -> Floats:
        """The step's direction: a price at 0 whose row has room stays at 0 and takes no share
        of the step; a commitment's spread moves along Σ share · multiple = 1."""
        rows = len(self.scale) - len(self.k_even)
        free = np.where((scaled[:rows] <= 0) & (grad[:rows] < 0), 0.0, grad[:rows] * self.scale[:rows])
        spread = grad[rows:] if spreads else np.zeros(len(self.k_even))
        if spreads and len(spread):
            w, sizes = self.k_even, np.diff(np.append(self.k_starts, len(spread)))
            along = np.add.reduceat(w * spread, self.k_starts) / np.add.reduceat(w * w, self.k_starts)
            spread = spread - np.repeat(along, sizes) * w
            spread = np.where((scaled[rows:] <= 0) & (spread < 0), 0.0, spread)
        return np.concatenate([free, spread])

    def project(self, scaled: Floats) -> Floats:
        """Prices back to ≥ 0, and each commitment's spread back to Σ share · multiple = 1."""
        rows = len(self.scale) - len(self.k_even)
        spread = _simplex(scaled[rows:], self.k_even, self.k_starts)
        return np.concatenate([np.maximum(0.0, scaled[:rows]), spread])

    @classmethod
    def of(cls, model: Model) -> _Parts:
        read = _Reader(model)
        i_starts, i_rows = read.inference()
        t_starts, t_rows, t_cells, t_room = read.training()
        keys, periods = list(read.cells), len(model.periods)
        hours = np.array([read.hours[p - 1] for _, p in keys], dtype=float)

        def rate(instrument: str) -> Floats:
            return np.array([model.prices[o].get(instrument, math.inf) for o, _ in keys], dtype=float)

        on_demand, block = rate("on-demand"), rate("capacity-block")
        held = np.array([read.committed.get(key, math.inf) for key in keys], dtype=float)
        least = np.minimum(np.minimum(on_demand, held), block) * hours
        k_starts, k_rows = read.commitments()
        blocks = math.isfinite(model.block_account) and bool(np.isfinite(block).any())
        quota = model.block_account if blocks else 0.0
        period = np.array([p - 1 for _, p in keys], dtype=np.int64)
        nu_scale = np.ones(periods if quota else 0)
        for p in range(len(nu_scale)):
            sold_in_blocks = np.isfinite(block) & (period == p)
            if sold_in_blocks.any():
                nu_scale[p] = float((block * hours)[sold_in_blocks].mean())
        families = read.families
        i = np.array(i_rows, dtype=float).reshape(-1, 4)
        t = np.array(t_rows, dtype=float).reshape(-1, 3)
        k = np.array(k_rows, dtype=float).reshape(-1, 4)
        return cls(
            cap=np.array([float(model.capacity[o][p - 1]) for o, p in keys], dtype=float),
            hours=hours,
            period=period,
            on_demand=on_demand,
            block=block,
            quota=quota,
            periods=periods,
            share=(model.share_cap or 0.0) if families else 0.0,
            beside=np.array([model.beside.get(f, 0.0) for f in families], dtype=float),
            scale=np.concatenate(
                [np.maximum(least, 1e-9), nu_scale, np.ones(len(families)), np.ones(len(k_rows))]
            ),
            i_starts=np.array(i_starts, dtype=np.int64),
            i_cell=i[:, 0].astype(np.int64),
            i_need=i[:, 1],
            i_spend=i[:, 2],
            i_family=i[:, 3].astype(np.int64),
            t_starts=np.array(t_starts, dtype=np.int64),
            t_hours=t[:, 0],
            t_spend=t[:, 1],
            t_family=t[:, 2].astype(np.int64),
            t_cell=np.array(t_cells, dtype=np.int64).reshape(-1, periods),
            t_room=np.array(t_room, dtype=float).reshape(-1, periods),
            k_starts=np.array(k_starts, dtype=np.int64),
            k_usd=k[:, 0],
            k_cell=k[:, 1].astype(np.int64),
            k_hours=k[:, 2],
            k_even=k[:, 3],
        )

    def value(self, prices: Floats) -> tuple[float, Floats]:
        """The bound at these prices, and its gradient: per cell the room used less capacity,
        per period the instances in blocks less the quota, per family the share row's left side,
        each by the workloads' cheapest choices at these prices."""
        cells, nus, spreads = len(self.cap), self.periods if self.quota else 0, len(self.k_even)
        rows = len(prices) - spreads
        lam, nu, mu = prices[:cells], prices[cells : cells + nus], prices[cells + nus : rows]
        block = self.block + (nu[self.period] / self.hours if nus else 0.0)
        committed, paying = self._committed(prices[rows:])
        rate = np.minimum(np.minimum(self.on_demand, committed), block)
        per_hour = rate + lam / self.hours
        instance = per_hour * self.hours
        m = mu - self.share * mu.sum() if len(mu) else np.zeros(1)
        use = np.zeros(cells)
        spend = np.zeros(len(mu))
        total = 0.0
        if len(self.i_cell):
            total += self._inference(instance, m, use, spend)
        if len(self.t_hours):
            slot = np.where(self.t_cell >= 0, per_hour[np.maximum(self.t_cell, 0)], 0.0)
            order = np.argsort(slot, axis=1, kind="stable")
            room = np.take_along_axis(self.t_room, order, axis=1)
            filled = np.clip(self.t_hours[:, None] - (np.cumsum(room, axis=1) - room), 0.0, room)
            fill = np.zeros_like(filled)
            np.put_along_axis(fill, order, filled, axis=1)
            pay = (fill * slot).sum(axis=1) + m[self.t_family] * self.t_spend
            best, chosen = _group_min(pay, self.t_starts)
            total += float(best.sum())
            where = self.t_cell[chosen]
            held = fill[chosen] / self.hours[np.maximum(where, 0)]
            use += np.bincount(where[where >= 0], held[where >= 0], cells)
            if len(mu):
                spend += np.bincount(self.t_family[chosen], self.t_spend[chosen], len(mu))
        total -= float(lam @ self.cap) + float(nu.sum()) * self.quota
        grads: list[Floats] = [use - self.cap]
        if nus:
            in_blocks = block < np.minimum(self.on_demand, committed)
            booked = np.bincount(self.period[in_blocks], use[in_blocks], nus).astype(float)
            grads.append(booked - self.quota)
        if len(mu):
            total += float(mu @ (self.beside - self.share * self.beside.sum()))
            counted = spend + self.beside
            grads.append(counted - self.share * counted.sum())
        if spreads:  # a commitment's share of its price in a period is paid per committed hour used
            in_terms = committed < np.minimum(self.on_demand, block)
            used = np.where(paying >= 0, use[self.k_cell] * in_terms[self.k_cell], 0.0)
            even = self.k_usd * self.k_even  # the even rate × the period's hours
            grads.append(np.where(paying > 0, used * even, 0.0))
        return total, np.concatenate(grads)

    def _committed(self, spread: Floats) -> tuple[Floats, Floats]:
        """Per cell the least an hour committed there costs at this spread of each commitment's
        price (inf where none covers it); per entry 1 where its commitment sets that least (the
        first such), 0 where it does not, -1 where no workload can use it."""
        cells = len(self.cap)
        committed = np.full(cells, math.inf)
        if not len(spread):
            return committed, spread
        rate = spread * self.k_usd * self.k_even / self.k_hours  # × the even rate, usd / hours covered
        valid = self.k_cell >= 0
        np.minimum.at(committed, self.k_cell[valid], rate[valid])
        entry = np.arange(len(spread))
        setting = valid & (rate <= committed[np.maximum(self.k_cell, 0)])
        first = np.full(cells, len(spread))
        np.minimum.at(first, self.k_cell[setting], entry[setting])
        paying = np.where(valid, (first[np.maximum(self.k_cell, 0)] == entry).astype(float), -1.0)
        return committed, paying

    def _inference(self, instance: Floats, m: Floats, use: Floats, spend: Floats) -> float:
        """What the services pay at these instance and share prices, adding the room they use
        to `use` and their counted spend to `spend`.  A service-period on one option holds
        ⌈q·f⌉ instances there; split over two or more it holds at least one on each, and its
        instances at least its traffic's q·f on each (the least over options, per share)."""
        price = instance[self.i_cell]
        shared = m[self.i_family] * self.i_spend
        whole = np.ceil(self.i_need - 1e-6).clip(min=1.0)
        alone, first_alone = _group_min(price * whole + shared, self.i_starts)
        traffic, first_traffic = _group_min(price * self.i_need + shared, self.i_starts)
        cheapest, first_one = _group_min(price, self.i_starts)
        without = price.copy()
        without[first_one] = math.inf
        second, first_two = _group_min(without, self.i_starts)
        least, first_least = _group_min(shared, self.i_starts)
        two = cheapest + second + least
        split = np.maximum(traffic, two)
        on_one = alone <= split
        by_traffic = ~on_one & (traffic >= two)
        by_two = ~on_one & ~by_traffic
        cells = len(use)
        use += np.bincount(self.i_cell[first_alone[on_one]], whole[first_alone[on_one]], cells)
        use += np.bincount(
            self.i_cell[first_traffic[by_traffic]], self.i_need[first_traffic[by_traffic]], cells
        )
        use += np.bincount(self.i_cell[first_one[by_two]], minlength=cells)
        use += np.bincount(self.i_cell[first_two[by_two]], minlength=cells)
        if len(spend):
            paid = np.where(on_one, first_alone, np.where(by_traffic, first_traffic, first_least))
            spend += np.bincount(self.i_family[paid], self.i_spend[paid], len(spend))
        return float(np.where(on_one, alone, split).sum())


class _Reader:
    """Reads a model's workloads into rows for `_Parts`, numbering cells as it meets them."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.hours = [p.hours for p in model.periods]
        self.cells: dict[tuple[str, int], int] = {}
        self.families = sorted(model.used) if model.share_cap is not None else []
        number = {f: n for n, f in enumerate(self.families)}
        self.counted: dict[str, tuple[int, float]] = {}  # variable → (family, counted spend)
        for family, (_, terms) in model.used.items():
            for var, coefficient in terms:
                self.counted[var.name] = (number[family], coefficient * SPEND_UNIT)
        # each commitment the model may buy that covers hours inside the horizon: (key, the
        # periods it covers, those hours); and per (option, period) the least even rate of those
        self.terms: list[tuple[tuple[str, str, int], tuple[int, ...], float]] = []
        self.committed: dict[tuple[str, int], float] = {}
        for key in sorted(model.commit_usd):
            covers = model.commitments[key].covers
            covered = sum(self.hours[c - 1] for c in covers)
            if covered <= 0:
                continue
            self.terms.append((key, covers, covered))
            for c in covers:
                even = model.commit_usd[key] / covered
                self.committed[(key[0], c)] = min(self.committed.get((key[0], c), math.inf), even)

    def cell(self, oid: str, p: int) -> int:
        return self.cells.setdefault((oid, p), len(self.cells))

    def sold(self, oid: str, p: int) -> bool:
        prices = self.model.prices.get(oid, {})
        return "on-demand" in prices or "capacity-block" in prices or (oid, p) in self.committed

    def commitments(self) -> tuple[list[int], list[tuple[float, int, float, float]]]:
        """Where each commitment's entries begin; per entry (its price, cell or -1, the period's
        hours, its share of the hours the commitment covers)."""
        model = self.model
        starts: list[int] = []
        rows: list[tuple[float, int, float, float]] = []
        for key, covers, covered in self.terms:
            starts.append(len(rows))
            for c in covers:
                cell = self.cells.get((key[0], c), -1)
                rows.append((model.commit_usd[key], cell, self.hours[c - 1], self.hours[c - 1] / covered))
        return starts, rows

    def inference(self) -> tuple[list[int], list[tuple[int, float, float, int]]]:
        """Where each service-period's entries begin, and per entry (cell, q·f, spend, family)."""
        model = self.model
        rows: list[tuple[int, float, float, int]] = []
        starts: list[int] = []
        last: tuple[str, int] | None = None
        for wname, oid, p in sorted(model.s, key=lambda key: (key[0], key[2], key[1])):
            if not self.sold(oid, p):
                continue  # nothing buys it: never used
            if (wname, p) != last:
                starts.append(len(rows))
                last = (wname, p)
            family, spend = self.counted.get(model.s[(wname, oid, p)].name, (0, 0.0))
            need = model.pairs[(wname, oid)].instances_needed * model.demand[wname][p - 1]
            rows.append((self.cell(oid, p), need, spend, family))
        return starts, rows

    def training(
        self,
    ) -> tuple[list[int], list[tuple[float, float, int]], list[list[int]], list[list[float]]]:
        """Where each workload's pairs begin; per pair (E, spend, family), its cell per period
        (-1: none) and the instance-hours each period can give it."""
        model, periods = self.model, len(self.model.periods)
        rows: list[tuple[float, float, int]] = []
        cells: list[list[int]] = []
        rooms: list[list[float]] = []
        starts: list[int] = []
        previous = None
        for wname, oid in sorted(model.x):
            total = model.run_units[(wname, oid)] * model.unit
            n = model.pairs[(wname, oid)].instances_at_once
            slots, room = [-1] * periods, [0.0] * periods
            for p in range(1, periods + 1):
                r = model.r.get((wname, oid, p))
                if r is not None and n and self.sold(oid, p):
                    slots[p - 1] = self.cell(oid, p)
                    room[p - 1] = n * float(r.upBound or 0) * self.hours[p - 1]
            if total > 0 and sum(room) < total * (1 - 1e-9):
                continue  # its hours cannot be bought inside its window here: never chosen
            if wname != previous:
                starts.append(len(rows))
                previous = wname
            family, spend = self.counted.get(model.x[(wname, oid)].name, (0, 0.0))
            rows.append((total, spend, family))
            cells.append(slots)
            rooms.append(room)
        return starts, rows, cells, rooms


def _group_min(values: Floats, starts: Ints) -> tuple[Floats, Ints]:
    """Per group (entries side by side, each group beginning at `starts`): the least value, and
    the index of its first entry with that value."""
    least = np.minimum.reduceat(values, starts)
    sizes = np.diff(np.append(starts, len(values)))
    index = np.where(values == np.repeat(least, sizes), np.arange(len(values)), len(values))
    return least, np.minimum.reduceat(index, starts)


def _simplex(values: Floats, weights: Floats, starts: Ints) -> Floats:
    """Each group of entries (beginning at `starts`) projected onto {x ≥ 0, Σ weight · x = 1}:
    x = max(values − τ · weight, 0) with τ the group's one that meets the sum."""
    if not len(values):
        return values
    sizes = np.diff(np.append(starts, len(values)))
    groups = np.repeat(np.arange(len(starts)), sizes)
    order = np.lexsort((-values / weights, groups))  # each group's entries, largest ratio first
    y, w = values[order], weights[order]
    wy, ww = np.cumsum(w * y), np.cumsum(w * w)
    wy_before, ww_before = np.append(0.0, wy)[starts], np.append(0.0, ww)[starts]
    tau = (wy - np.repeat(wy_before, sizes) - 1) / (ww - np.repeat(ww_before, sizes))
    above = y / w > tau
    count = np.maximum(np.add.reduceat(above.astype(np.int64), starts), 1)
    last = starts + count - 1
    group_tau = tau[last]
    projected: Floats = np.maximum(values - group_tau[groups] * weights, 0.0)
    return projected
