"""Solving a model block by block when only capacity couples its codebases.

Without a family-share or region policy, integer purchases (commitments, Capacity Blocks), a
shared porting team or purchases already made, the only rows that tie one codebase's workloads
to another's are the capacity rows (and the twin rows, which only break symmetry).  Give every
block the whole capacity and the model falls apart: a block is a codebase, or codebases joined
by `after` between their runs.  Each block is a model of its own (`formulation.build` on its
workloads, pruned on its own), small enough for HiGHS to close its gap in a fraction of a
second, where the whole model's bound creeps (1,000 diverse workloads on one period, seed 1:
0.21% after 45 s and 0.14% after 310 s; by blocks, 0.03% in 5 s: benchmarks/README.md).

Each block's problem is a relaxation of the whole model's restricted to it (its workloads see
all the capacity), so the sum of the blocks' proven bounds is a proven bound for the whole model
(a plan of the whole, cut to a block, is a plan of the block; twins swapped inside one block
cost nothing there).  The blocks' plans side by side are a plan of the whole when they fit the
capacity together, after whole placements move off an option over its capacity onto a twin with
room (`Model.twins`: the same instance type sold alike in two regions, so the cost is unchanged);
that plan is checked against every row of the whole model before it is returned.  When the plans
do not fit (cheap capacity that several codebases want), the whole model is solved as before
(`optimizer`), and the blocks' bound still counts in its proven gap.
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
from placement.engine.start import feasible, twins_in_order
from placement.inputs.models import Portfolio, Workload

MIN_INTEGERS = 2_000  # smaller models: HiGHS on the whole model is as quick, and the plans unchanged

Values = dict[str, float]
Cell = tuple[str, int]  # (option, period)
Terms = Mapping[Cell, list[tuple[pulp.LpVariable, float]]]


@dataclass
class Block:
    """One block's model, and its plan (values by variable name), proven bound and status."""

    model: Model
    values: Values = field(default_factory=dict)
    bound: float = 0.0
    status: str = ""


@dataclass(frozen=True)
class Outcome:
    """The whole model's plan by variable name (None: the blocks' plans did not fit together),
    its cost, and the blocks' proven bound."""

    values: Values | None
    objective: float
    bound: float
    status: str


Builder = Callable[[Portfolio], Model]
Solver = Callable[[Model, float], tuple[str, float]]  # a block solved in a time limit: status, bound


def blocks(portfolio: Portfolio, model: Model, bought: tuple[Any, ...]) -> list[list[Workload]] | None:
    """The workloads by block, or None when the model does not fall apart (see the docstring)."""
    if (
        model.integers < MIN_INTEGERS
        or model.share_cap is not None
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
    deadline: float,
) -> Outcome | None:
    """The whole model solved block by block (the module docstring), or None when a block has
    no plan (infeasible, or none in its time) or the blocks' periods differ from the model's."""
    parts: list[Block] = []
    for ws in groups:
        sub = build(portfolio.model_copy(update={"workloads": ws}))
        if [p.months for p in sub.periods] != [p.months for p in model.periods]:
            return None
        parts.append(Block(sub))
    if not _solve_all(parts, run, deadline):
        return None
    bound = sum(b.bound for b in parts)
    return _fitted(model, parts, bound) or Outcome(None, math.nan, bound, "time_limit")


def _fitted(model: Model, parts: list[Block], bound: float) -> Outcome | None:
    """The blocks' plans side by side as the whole model's plan, if they fit its capacity once
    twins share the load, and pass every row of the whole model."""
    values = _union(model, parts)
    terms = _terms(model)
    over = _over(model, terms, values)
    if over:
        values = _to_twins(model, terms, values, over)
        if _over(model, terms, values):
            return None
    values = _on_demand(model, twins_in_order(model, values))
    if not feasible(model, values):
        return None
    cost = _value(pulp.LpAffineExpression(model.problem.objective), values)
    status = "optimal" if all(b.status == "optimal" for b in parts) else "time_limit"
    return Outcome(values, cost, bound, status)


def _solve_all(parts: list[Block], run: Solver, deadline: float) -> bool:
    """Each block solved in its share of the time left (by its integer variables); False when one
    has no plan."""
    for index, b in enumerate(parts):
        left = deadline - time.monotonic()
        share = b.model.integers / max(1, sum(p.model.integers for p in parts[index:]))
        status, bound = run(b.model, max(1.0, left * share))
        if status not in ("optimal", "time_limit", "stalled", "interrupted", "iteration_limit"):
            return False
        b.values = {v.name: v.varValue or 0.0 for v in b.model.problem.variables()}
        b.bound, b.status = bound, status
    return True


def _tables(model: Model) -> list[Mapping[Any, pulp.LpVariable]]:
    return [model.x, model.h, model.r, model.j, model.s, model.k, model.y, model.z, model.active]


def _union(model: Model, parts: list[Block]) -> Values:
    """The blocks' plans as values of the whole model's variables, by domain key."""
    values: Values = {}
    for b in parts:
        for mine, whole in zip(_tables(b.model), _tables(model), strict=True):
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
    moved = dict(values)
    for oid, p in over:
        for other in (o for o in twin_of.get(oid, ()) if o != oid):
            for wname in sorted({w for (w, o, q) in model.k if o == oid and q == p}):
                if _fits(model, terms, moved, (oid, p)):
                    break
                _move(model, terms, moved, [(wname, oid, p)], other)
            for wname in sorted({w for (w, o) in model.x if o == oid}):
                if _fits(model, terms, moved, (oid, p)):
                    break
                if moved.get(model.x[(wname, oid)].name, 0.0) > 0.5:
                    keys = [key for key in model.r if key[:2] == (wname, oid)]
                    _move(model, terms, moved, keys, other, training=(wname, oid))
    return moved


def _fits(model: Model, terms: Terms, values: Values, cell: Cell, more: float = 0.0) -> bool:
    return _held(terms, cell, values) + more <= model.capacity[cell[0]][cell[1] - 1] + 1e-6


def _move(
    model: Model,
    terms: Terms,
    values: Values,
    keys: list[tuple[str, str, int]],
    other: str,
    training: tuple[str, str] | None = None,
) -> None:
    """Move these placements to `other` when every one of its periods has room; else leave them."""
    held: tuple[Mapping[Any, pulp.LpVariable], ...] = (model.r, model.j) if training else (model.k,)
    tables = (model.h, *held) if training else (model.s, *held)
    pairs: list[tuple[Mapping[Any, pulp.LpVariable], tuple[Any, ...], tuple[Any, ...]]] = [
        (table, key, (key[0], other, key[2])) for table in tables for key in keys if key in table
    ]
    if training is not None:
        pairs.append((model.x, training, (training[0], other)))
    if any(new not in table for table, _, new in pairs):
        return
    more: dict[int, float] = defaultdict(float)  # instances the move adds to `other`, by period
    for table, old, new in pairs:
        if any(table is t for t in held):
            each = 1.0 if table is model.k else float(model.pairs[(old[0], other)].instances_at_once)
            more[new[2]] += each * values.get(table[old].name, 0.0)
    if not all(_fits(model, terms, values, (other, p), amount) for p, amount in more.items()):
        return
    for table, old, new in pairs:
        values[table[new].name] = values.get(table[new].name, 0.0) + values.pop(table[old].name, 0.0)


def _on_demand(model: Model, values: Values) -> Values:
    """On-demand hours e[o,p] set to what the plan uses: the largest of what each row it is in
    asks of it (the plan is bought on demand only, so those rows are the only ones)."""
    names = {v.name for v in model.on_demand.values()}
    out = {name: value for name, value in values.items() if name not in names}
    need: dict[str, float] = defaultdict(float)
    for row in model.problem.constraints():
        mine = [(v, c) for v, c in row.items() if v.name in names]
        if len(mine) != 1 or mine[0][1] >= 0 or row.sense != pulp.LpConstraintLE:
            continue
        var, coefficient = mine[0]
        rest = sum(c * out.get(v.name, 0.0) for v, c in row.items() if v.name not in names) + row.constant
        need[var.name] = max(need[var.name], rest / -coefficient)
    out.update({name: max(0.0, value) for name, value in need.items()})
    return out


def _value(expression: pulp.LpAffineExpression, values: Values) -> float:
    return float(sum(c * values.get(v.name, 0.0) for v, c in expression.items()))
