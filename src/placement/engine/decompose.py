"""Solving a model block by block when only capacity couples its codebases.

Without a family-share or region policy, integer purchases (commitments, Capacity Blocks), a
shared porting team or purchases already made, the only rows that tie one codebase's workloads
to another's are the capacity rows (and the twin rows, which only break symmetry).  Give every
block the whole capacity and the model falls apart: a block is a codebase, or codebases joined
by `after` between their runs.  Each block is a model of its own (`formulation.build` on its
workloads, pruned on its own), small enough for HiGHS to close its gap in a fraction of a
second, where the whole model's bound creeps (1,000 diverse workloads on one period, seed 1:
0.21% after 45 s and 0.14% after 310 s; by blocks, 0.03% in 3.6 s: benchmarks/README.md).

The bound.  Each block's problem is a relaxation of the whole model's restricted to it (its
workloads see all the capacity; twins swapped inside one block cost nothing there), so the sum
of the blocks' proven bounds is a proven bound for the whole model.  With a price λ ≥ 0 per
instance held on some option-periods (twins priced as one pool, against their capacity added
up), Σ_b bound_b(λ) − Σ λ·capacity is one too (a Lagrangian bound); the best is kept.

The plan.  The blocks' plans side by side are a plan of the whole when they fit its capacity,
after whole placements move off an option over its capacity onto a twin with room (`Model.twins`:
the same instance type sold alike in two regions, so the cost is unchanged); that plan is checked
against every row of the whole model.  When they still overfill some option, the workloads that
hold it are set free and the whole model is solved with every other workload's integers fixed
at its block's plan (`repair`: optimizer._moved; most of the model presolves away).  1,000
diverse workloads on one period: the blocks put 8,561 instances on a pool of 5,312 B200s; moving
the 245 workloads that held them took 1.9 s and came within 0.04% of the bound, where priced
rounds took four rounds and 14 s (benchmarks/README.md).  Each pool still overfilled also gets a
price (`_Prices`: doubled until the plans fit it, then bisected), and the blocks that can use it
are solved again with the prices in their objective, rebuilt first if their pruning counted on
a now-priced option being as cheap as its list price.  The cheapest plan that fits is kept; the
rounds stop once it is within the asked gap of the bound, or once a priced round fails to raise
the bound while a plan is in hand (the prices that make plans fit are rarely the ones that
bound best: on that portfolio every priced bound was below the unpriced one).  If no plan is
within the asked gap, the whole model is solved (`optimizer`) from the best one, or, when none
fits at all, from the cheapest of the greedy plan, largest first and by regret, and the greedy
plan the blocks' last plans guide (`Outcome.first`; by regret, so that an option they overfill
turns away the workloads that lose least by moving: 10,000 diverse workloads, seed 5, 4.05% →
1.30% above the bound), and stops once it is within the gap of the blocks' bound.  A model too
large for HiGHS whole (optimizer.WHOLE_MAX_INTEGERS) gets one round and no priced ones; its plan
is then improved a few blocks at a time against the capacity the rest leaves
(engine/neighbourhoods.py).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulp

from placement.engine.formulation import Model
from placement.engine.start import cost, feasible, main_of, settled, twins_in_order
from placement.inputs.models import Portfolio, Workload

MIN_INTEGERS = 2_000  # smaller models: HiGHS on the whole model is as quick, and the plans unchanged
ROUNDS = 8  # priced rounds at most
FIRST_PRICE = 0.01  # a pool's first price: this share of one instance on demand for the period

Values = dict[str, float]
Cell = tuple[str, int]  # (option, period)
Pool = tuple[str, int]  # (option, period): twins share one
Terms = Mapping[Cell, list[tuple[pulp.LpVariable, float]]]


@dataclass
class Block:
    """One block's workloads and model, its cost without prices, and its plan (values by variable
    name), proven bound (at the prices of the last round it was solved in) and status."""

    portfolio: Portfolio
    model: Model
    cost: pulp.LpAffineExpression = field(init=False)
    values: Values = field(default_factory=dict)
    bound: float = 0.0
    status: str = ""
    scarce: frozenset[str] = frozenset()  # options its pruning did not count on
    reach: set[str] = field(default_factory=set)  # the options its workloads can use

    def __post_init__(self) -> None:
        self.cost = pulp.LpAffineExpression(self.model.problem.objective)


@dataclass(frozen=True)
class Outcome:
    """The whole model's plan by variable name (None: the blocks' plans did not fit together),
    its cost, and the blocks' proven bound."""

    values: Values | None
    objective: float
    bound: float
    status: str
    first: dict[str, str] = field(default_factory=dict)  # without a plan: each workload's main option


Builder = Callable[[Portfolio, frozenset[str]], Model]  # a block's model; options pruning may not count on
# the whole model's plan that overfills some capacity, the workloads free to move → a plan that fits
Repair = Callable[[Values, set[str]], Values | None]
# a block, a time limit and a start → its status and proven bound ("infeasible": none exists), or
# None when it has no plan in its time
Solver = Callable[[Model, float, Values | None], tuple[str, float] | None]


def blocks(
    portfolio: Portfolio, model: Model, bought: tuple[Any, ...], policed: bool = False
) -> list[list[Workload]] | None:
    """The workloads by block, or None when the model does not fall apart (see the docstring).
    `policed`: a family-share policy does not count (groups of engine/neighbourhoods.py carry
    the rest of the plan's spend in their share rows)."""
    if (
        model.integers < MIN_INTEGERS
        or (model.share_cap is not None and not policed)
        or portfolio.policy.max_region_usd
        or model.commit
        or model.block_instances
        or (model.z and portfolio.porting.engineers is not None)
        or bought
        or model.first_fixed
        or model.elastic
    ):
        return None
    parent = {w.codebase_name: w.codebase_name for w in portfolio.workloads}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    codebase = {w.name: w.codebase_name for w in portfolio.workloads}
    for w in portfolio.workloads:
        for first in w.after:
            a, b = sorted((root(codebase[w.name]), root(codebase[first])))
            parent[b] = a
    grouped: dict[str, list[Workload]] = defaultdict(list)
    for w in portfolio.workloads:
        grouped[root(w.codebase_name)].append(w)
    return [grouped[key] for key in sorted(grouped)] if len(grouped) > 1 else None


def solve(
    model: Model,
    groups: list[list[Workload]],
    portfolio: Portfolio,
    build: Builder,
    run: Solver,
    gap: float,
    deadline: float,
    repair: Repair | None = None,
    rounds: int = ROUNDS,
) -> Outcome | None:
    """The whole model solved block by block (the module docstring), or None when a block has
    no plan in its time or the blocks' periods differ from the model's.  A block with no plan at
    all proves the whole model has none (status "infeasible"): it is a relaxation of the whole
    model restricted to its workloads.  Rounds go on until a plan that fits is within `gap` of
    the bound, or `rounds` priced rounds, or `deadline`."""
    parts = _parts(model, groups, portfolio, build)
    if parts is None or not _solve_all(parts, run, deadline):
        return None
    if any(b.status == "infeasible" for b in parts):
        return Outcome(None, math.nan, math.inf, "infeasible")
    terms = _terms(model)
    prices = _Prices(model, terms)
    bound = sum(b.bound for b in parts)
    best: tuple[Values, float] | None = None
    for round in range(rounds + 1):
        values, over = _fitted(model, terms, parts, repair)
        if values is not None:
            usd = cost(model.problem, values)
            best = (values, usd) if best is None or usd < best[1] else best
        if best is not None and best[1] - bound <= gap * best[1]:
            break
        if round == rounds or time.monotonic() >= deadline or (values is None and not over):
            break  # (no plan and nothing over: a row other than capacity refused it; no price helps)
        if not _solve_all(_repriced(parts, prices, prices.update(over), build), run, deadline):
            break
        priced = sum(b.bound for b in parts) - prices.paid()
        if priced <= bound and best is not None:
            break  # the prices no longer raise the bound: the whole model, from the best plan, may
        bound = max(bound, priced)
    if best is None:
        return Outcome(None, math.nan, bound, "time_limit", _main(parts))
    within = best[1] - bound <= gap * best[1] and all(b.status == "optimal" for b in parts)
    return Outcome(best[0], best[1], bound, "optimal" if within else "time_limit")


def _parts(
    model: Model, groups: list[list[Workload]], portfolio: Portfolio, build: Builder
) -> list[Block] | None:
    """The blocks, built, with the options each can reach; None if their periods differ from the
    model's."""
    parts = [
        Block(sub, build(sub, frozenset()))
        for sub in (portfolio.model_copy(update={"workloads": ws}) for ws in groups)
    ]
    if any([p.months for p in b.model.periods] != [p.months for p in model.periods] for b in parts):
        return None
    usable: dict[str, set[str]] = defaultdict(set)  # workload → the options the whole model has for it
    for w, o in model.pairs:
        usable[w].add(o)
    for b in parts:
        b.reach = {o for w in b.portfolio.workloads for o in usable[w.name]} | {o for _, o in b.model.pairs}
    return parts


def _main(parts: list[Block]) -> dict[str, str]:
    """Each workload's option in the blocks' last plans (a guide for the whole model's first plan
    when they never fit)."""
    training: dict[tuple[str, str], bool] = {}
    shares: dict[tuple[str, str, int], float] = {}
    for b in parts:
        training |= {key: b.values.get(x.name, 0.0) > 0.5 for key, x in b.model.x.items()}
        shares |= {key: b.values.get(s.name, 0.0) for key, s in b.model.s.items()}
    return main_of(training, shares)


def _repriced(parts: list[Block], prices: _Prices, changed: set[str], build: Builder) -> list[Block]:
    """The blocks that can use an option whose price changed, with the prices in their objective
    (rebuilt first if their pruning may have counted on an option now priced)."""
    again = [b for b in parts if changed & b.reach]
    for b in again:
        if prices.scarce - b.scarce:
            b.scarce = prices.scarce
            b.model = build(b.portfolio, b.scarce)
            b.cost, b.values = pulp.LpAffineExpression(b.model.problem.objective), {}
            b.reach |= {o for _, o in b.model.pairs}  # less pruned: prices on these must re-solve it
        b.model.problem.setObjective(b.cost + prices.on(b.model))
    return again


class _Prices:
    """A price per instance held on each pool short of capacity (twins share a pool): doubled
    from FIRST_PRICE while the blocks' plans still overfill it, then halved between the last
    price that overfilled and the last that did not."""

    def __init__(self, model: Model, terms: Terms) -> None:
        self.model = model
        leader = {oid: group[0] for group in model.twins for oid in group}
        self.pools = {(oid, p): (leader.get(oid, oid), p) for oid, p in terms}
        self.price: dict[Pool, float] = {}
        self.low: dict[Pool, float] = {}
        self.high: dict[Pool, float] = {}
        self.scarce: frozenset[str] = frozenset()

    def update(self, over: list[Cell]) -> set[str]:
        """New prices after a round that left `over` overfilled; the options whose price changed."""
        short = {self.pools[cell] for cell in over}
        for pool in short:
            self.low[pool] = self.price.get(pool, 0.0)
            if self.high.get(pool, math.inf) <= self.low[pool]:  # filled at a price it now overfills at
                del self.high[pool]
        for pool in set(self.price) - short:
            self.high[pool] = self.price[pool]
        changed: set[str] = set()
        for pool in sorted(short | set(self.high)):
            if pool in self.high:
                new = (self.low.get(pool, 0.0) + self.high[pool]) / 2
            else:
                new = max(2 * self.price.get(pool, 0.0), FIRST_PRICE * self._instance_usd(pool))
            if new != self.price.get(pool):
                self.price[pool] = new
                changed |= {cell[0] for cell, p in self.pools.items() if p == pool}
        self.scarce = frozenset(cell[0] for cell, pool in self.pools.items() if pool in self.price)
        return changed

    def on(self, model: Model) -> pulp.LpAffineExpression:
        """The prices as a cost on a block's instances held."""
        terms = _terms(model)
        return pulp.LpAffineExpression(
            [
                (v, self.price[pool] * c)
                for cell, pool in sorted(self.pools.items())
                if pool in self.price
                for v, c in terms.get(cell, ())
            ]
        )

    def paid(self) -> float:
        """Σ λ·capacity over the priced pools: what the bound gives back."""
        return sum(
            self.price[pool] * self.model.capacity[cell[0]][cell[1] - 1]
            for cell, pool in self.pools.items()
            if pool in self.price
        )

    def _instance_usd(self, pool: Pool) -> float:
        """One instance of the pool's option on demand for its whole period (the price scale)."""
        oid, p = pool
        rates = self.model.prices.get(oid, {})
        return rates.get("on-demand", rates.get("list", 1.0)) * self.model.periods[p - 1].hours


def _fitted(
    model: Model, terms: Terms, parts: list[Block], repair: Repair | None = None
) -> tuple[Values | None, list[Cell]]:
    """The blocks' plans side by side as the whole model's plan, if they fit its capacity once
    twins share the load and pass every row of the whole model; else the cells still over (and,
    with `repair`, the plan it makes of them by moving the workloads that hold those cells)."""
    values = _union(model, parts)
    over = _over(model, terms, values)
    if over:
        values = _to_twins(model, terms, values, over)
        over = _over(model, terms, values)
        if over:
            if repair is None:
                return None, over
            cells = set(over)  # the workloads holding instances there: the capacity rows' terms
            holding = (model.k, model.r, model.j)
            movers = {
                w
                for table in holding
                for (w, o, p), v in table.items()
                if (o, p) in cells and values.get(v.name, 0.0) > 0
            }
            return repair(values, movers), over
    values = settled(model, twins_in_order(model, values))
    return (values if feasible(model, values) else None), []


def _solve_all(parts: list[Block], run: Solver, deadline: float) -> bool:
    """Each block solved in its share of the time left (by its integer variables); False when one
    has no plan in its time.  A block proven infeasible ends it (`solve` then reports it)."""
    for index, b in enumerate(parts):
        left = deadline - time.monotonic()
        share = b.model.integers / max(1, sum(p.model.integers for p in parts[index:]))
        solved = run(b.model, max(1.0, left * share), b.values or None)
        if solved is None:
            return False
        status, bound = solved
        if status == "infeasible":
            b.status = status
            return True
        b.values = {v.name: v.varValue or 0.0 for v in b.model.problem.variables()}
        b.bound, b.status = bound, status
    return True


def tables(model: Model) -> list[Mapping[Any, pulp.LpVariable]]:
    """The variables a block owns (keyed by workload or codebase first), in a fixed order."""
    return [model.x, model.h, model.r, model.j, model.s, model.k, model.y, model.z, model.active]


def _union(model: Model, parts: list[Block]) -> Values:
    """The blocks' plans as values of the whole model's variables, by domain key."""
    values: Values = {}
    for b in parts:
        for mine, whole in zip(tables(b.model), tables(model), strict=True):
            for key, var in mine.items():
                value = b.values.get(var.name, 0.0)
                if value and key in whole:
                    values[whole[key].name] = value
    return values


def _terms(model: Model) -> dict[Cell, list[tuple[pulp.LpVariable, float]]]:
    """The instances held on each option in each period: the capacity rows' terms."""
    terms: dict[Cell, list[tuple[pulp.LpVariable, float]]] = defaultdict(list)
    for (_, oid, p), k in model.k.items():
        terms[(oid, p)].append((k, 1.0))
    for table in (model.r, model.j):
        for (w, oid, p), var in table.items():
            terms[(oid, p)].append((var, float(model.pairs[(w, oid)].instances_at_once)))
    return terms


def _held(terms: Terms, cell: Cell, values: Values) -> float:
    return sum(c * values.get(v.name, 0.0) for v, c in terms.get(cell, ()))


def _over(model: Model, terms: Terms, values: Values) -> list[Cell]:
    """The option-periods the plan holds more instances of than there are."""
    return sorted(c for c in terms if _held(terms, c, values) > model.capacity[c[0]][c[1] - 1] + 1e-6)


def _to_twins(model: Model, terms: Terms, values: Values, over: list[Cell]) -> Values:
    """Whole placements moved off an option over its capacity onto a twin with room (same
    instance type, prices and calendar: the cost is unchanged).  Inference moves a period at a
    time; a training workload moves with all its periods."""
    twin_of = {o: group for group in model.twins for o in group}
    load = {cell: _held(terms, cell, values) for cell in terms}
    runs: dict[tuple[str, str], list[tuple[str, str, int]]] = defaultdict(list)
    for key in model.r:
        runs[key[:2]].append(key)
    moved = dict(values)
    for oid, p in over:
        for other in (o for o in twin_of.get(oid, ()) if o != oid):
            for wname in sorted({w for (w, o, q) in model.k if o == oid and q == p}):
                if _fits(model, load, (oid, p)):
                    break
                _move(model, load, moved, [(wname, oid, p)], other)
            for wname in sorted({w for (w, o) in model.x if o == oid}):
                if _fits(model, load, (oid, p)):
                    break
                if moved.get(model.x[(wname, oid)].name, 0.0) > 0.5:
                    _move(model, load, moved, runs[(wname, oid)], other, training=(wname, oid))
    return moved


def _fits(model: Model, load: Mapping[Cell, float], cell: Cell, more: float = 0.0) -> bool:
    return load.get(cell, 0.0) + more <= model.capacity[cell[0]][cell[1] - 1] + 1e-6


def _move(
    model: Model,
    load: dict[Cell, float],
    values: Values,
    keys: list[tuple[str, str, int]],
    other: str,
    training: tuple[str, str] | None = None,
) -> None:
    """Move these placements to `other` when every one of its periods has room; else leave them.
    `load`: instances held per option-period, kept up to date."""
    held: tuple[Mapping[Any, pulp.LpVariable], ...] = (model.r, model.j) if training else (model.k,)
    tables = (model.h, *held) if training else (model.s, *held)
    pairs: list[tuple[Mapping[Any, pulp.LpVariable], tuple[Any, ...], tuple[Any, ...]]] = [
        (table, key, (key[0], other, key[2])) for table in tables for key in keys if key in table
    ]
    if training is not None:
        pairs.append((model.x, training, (training[0], other)))
    if any(new not in table for table, _, new in pairs):
        return
    more: dict[int, float] = defaultdict(float)  # instances the move takes to `other`, by period
    for table, old, _ in pairs:
        if any(table is t for t in held):
            each = 1.0 if table is model.k else float(model.pairs[old[:2]].instances_at_once)
            more[old[2]] += each * values.get(table[old].name, 0.0)
    if not all(_fits(model, load, (other, p), amount) for p, amount in more.items()):
        return
    for table, old, new in pairs:
        values[table[new].name] = values.get(table[new].name, 0.0) + values.pop(table[old].name, 0.0)
    for p, amount in more.items():
        load[(keys[0][1], p)] = load.get((keys[0][1], p), 0.0) - amount
        load[(other, p)] = load.get((other, p), 0.0) + amount
