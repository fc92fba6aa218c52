"""Fix-and-optimize: improving a plan HiGHS stopped on, by re-solving the model a few codebases or
months at a time.

On a large portfolio HiGHS spends its time limit on the root node (its cut loop) and finds one
plan there; the branch-and-bound after it barely moves (1,000 diverse workloads × 12 months: 5
nodes in 180 s).  What is left of the limit goes here instead, a large-neighbourhood search over
the same model:

- A round frees the integer decisions of a few units (about a tenth of them; `NEIGHBOURHOOD`),
  for instance the workloads of a few codebases, and the shared ones (commitments, Capacity Block
  bookings, ports), and fixes every other workload's integers at the best plan's values.
  Continuous decisions stay free.
  HiGHS solves that sub-model (most of it presolves away) from the best plan, to the asked gap,
  for at most `ROUND_NODES` nodes and a quarter of the time left, and a cheaper plan becomes the
  best one.
- Codebases are the first family of neighbourhoods because ports couple a codebase's workloads;
  options and commitments couple the rest, and those stay free in every round.  Periods are the
  second (fix-and-optimize over months): every workload's instances and runs in a few months free,
  which trades capacity and commitments between codebases within those months.  A workload's
  training option (x) is free only in codebase rounds.
- A pass takes every unit of a family once, in an order shuffled with a fixed seed.  After a pass
  that finds nothing cheaper the neighbourhood doubles, up to half the units; a pass at that size
  that finds nothing ends the family's turn.  A round that stops on its time limit with nothing
  cheaper halves the neighbourhood, and it never grows past that size again: a sub-model too large
  to search in the time a round has finds nothing (1,000 diverse workloads, seed 3, 60 s: rounds of
  4 codebases found nothing, halving took the proven gap from 4.96% to 1.10%).  The families
  take turns until all have stalled since the last cheaper plan (`stalled`).  The search also
  ends when the plan is within the asked gap of the bound HiGHS proved, or when the time is up.

Every round's plan is feasible in the full model (only bounds were tightened), so the result is a
plan of the full model; its proven gap is measured against the bound of the full solve, which
fix-and-optimize does not change.  Nothing here depends on the clock except when to stop and
when a round is too large for its time.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import highspy

from placement.engine.formulation import Model

NEIGHBOURHOOD = 0.1  # share of the codebases freed in one round (at least one)
ROUND_NODES = 100  # branch-and-bound nodes per round: a bound on work that does not depend on the clock
ROUND_SHARE = 0.25  # a round may take at most this share of the time left
MIN_ROUND_S = 0.5  # a round is not started with less time than this left


@dataclass(frozen=True)
class Outcome:
    values: list[float]  # by HiGHS column
    objective: float
    rounds: int
    improved: int  # rounds that found a cheaper plan
    stalled: bool  # ended because no family's widest neighbourhood found anything cheaper


def groups(model: Model) -> list[list[list[str]]]:
    """The neighbourhood families, each a list of units of integer variable names: the codebases
    (each codebase's workloads' x, r, j, k and run order, codebases sorted), then, with more than
    one period, the periods (every workload's r, j, k and run order in that period)."""
    by_codebase: dict[str, list[str]] = {}
    by_period: dict[int, list[str]] = {}
    for d in (model.x, model.r, model.j, model.k, model.active):
        for key, var in d.items():
            by_codebase.setdefault(model.codebase[key[0]], []).append(var.name)
    for timed in (model.r, model.j, model.k, model.active):
        for key, var in timed.items():
            by_period.setdefault(int(key[-1]), []).append(var.name)
    families = [[by_codebase[c] for c in sorted(by_codebase)]]
    if len(by_period) > 1:
        families.append([by_period[p] for p in sorted(by_period)])
    return families


def improve(
    highs: highspy.Highs,
    families: Sequence[Sequence[Sequence[int]]],
    values: Sequence[float],
    objective: float,
    bound: float,
    gap: float,
    deadline: float,
) -> Outcome:
    """Fix-and-optimize from a feasible plan (`values` by column, of cost `objective`) until the plan
    is within `gap` of `bound`, `deadline` (time.monotonic()) passes, or no family finds anything.
    `families`: ways to cut the workloads' integer columns into units (by codebase, by period);
    a round frees some units of one family and fixes every other column any family names.  The
    families take turns, each searching until it stalls; the search ends when all have stalled
    since the last cheaper plan.  The model's bounds are restored after."""
    lp = highs.getLp()
    search = _Search(
        highs, list(lp.col_lower_), list(lp.col_upper_), list(values), objective, bound, gap, deadline
    )
    universe = sorted({c for units in families for unit in units for c in unit})
    stalled: set[int] = set()  # families whose last pass found nothing at the current best plan
    turn = 0
    while families and len(stalled) < len(families):
        found = search.family(families[turn], universe)
        if found is None:
            return search.outcome(False)
        stalled = {turn} if found else stalled | {turn}
        turn = (turn + 1) % len(families)
    return search.outcome(True)


class _Search:
    """The best plan so far and the rounds run; `family` searches one family until it stalls."""

    def __init__(
        self,
        highs: highspy.Highs,
        lower: list[float],
        upper: list[float],
        best: list[float],
        cost: float,
        bound: float,
        gap: float,
        deadline: float,
    ) -> None:
        self.highs, self.lower, self.upper = highs, lower, upper
        self.best, self.cost, self.bound, self.gap, self.deadline = best, cost, bound, gap, deadline
        self.shuffle = random.Random(0).shuffle
        self.rounds = self.improved = 0
        highs.setOptionValue("mip_max_nodes", ROUND_NODES)
        highs.setOptionValue("mip_rel_gap", gap)

    def outcome(self, stalled: bool) -> Outcome:
        return Outcome(self.best, self.cost, self.rounds, self.improved, stalled)

    def family(self, units: Sequence[Sequence[int]], universe: list[int]) -> bool | None:
        """Passes over `units` until one at the widest neighbourhood finds nothing: whether any
        round found a cheaper plan, or None when the plan is close enough or the time is up."""
        widest = max(1, len(units) // 2)
        size = min(widest, max(1, round(len(units) * NEIGHBOURHOOD)))
        anything = False
        while True:
            order = list(range(len(units)))
            self.shuffle(order)
            found, first = False, 0
            while first < len(order):
                if _close(self.cost, self.bound, self.gap) or self.deadline - time.monotonic() < MIN_ROUND_S:
                    return None
                free = {c for u in order[first : first + size] for c in units[u]}
                first += size
                fixed = [c for c in universe if c not in free]
                self.rounds += 1
                value, plan, timed_out = _round(
                    self.highs, fixed, self.best, ROUND_SHARE * (self.deadline - time.monotonic())
                )
                _restore(self.highs, fixed, self.lower, self.upper)
                if plan is not None and value < self.cost - 1e-9 * abs(self.cost):
                    self.best, self.cost, found, anything = plan, value, True, True
                    self.improved += 1
                elif timed_out and size > 1:  # too large to search in the time a round has
                    size = max(1, size // 2)
                    widest = size
            if not found and size >= widest:
                return anything
            if not found:
                size = min(widest, 2 * size)


def _close(cost: float, bound: float, gap: float) -> bool:
    return math.isfinite(bound) and cost > 0 and (cost - bound) / cost <= gap


def _round(
    highs: highspy.Highs, fixed: list[int], best: list[float], seconds: float
) -> tuple[float, list[float] | None, bool]:
    """Solve the model with the `fixed` columns at the best plan's (whole) values: the plan's cost,
    the plan (None if none), and whether the round stopped on its time limit."""
    at = [float(round(best[c])) for c in fixed]
    if fixed:
        highs.changeColsBounds(len(fixed), fixed, at, at)
    start = highspy.HighsSolution()
    start.col_value = best
    start.value_valid = True
    highs.setSolution(start)
    highs.setOptionValue("time_limit", max(seconds, 0.1))
    highs.run()
    timed_out = highs.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
    info = highs.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return math.inf, None, timed_out
    return float(info.objective_function_value), list(highs.getSolution().col_value), timed_out


def _restore(highs: highspy.Highs, fixed: list[int], lower: list[float], upper: list[float]) -> None:
    if fixed:
        highs.changeColsBounds(len(fixed), fixed, [lower[c] for c in fixed], [upper[c] for c in fixed])
