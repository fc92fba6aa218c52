"""Fix-and-optimize: improving a plan HiGHS stopped on, by re-solving the model a few codebases at a time.

On a large portfolio HiGHS spends its time limit on the root node (its cut loop) and finds one
plan there; the branch-and-bound after it barely moves (1,000 diverse workloads × 12 months: 5
nodes in 180 s).  What is left of the limit goes here instead, a large-neighbourhood search over
the same model:

- A round frees the integer decisions of the workloads of a few codebases (about a tenth of
  them; `NEIGHBOURHOOD`), and the shared ones (commitments, Capacity Block bookings, ports), and
  fixes every other workload's integers at the best plan's values.  Continuous decisions stay free.
  HiGHS solves that sub-model (most of it presolves away) from the best plan, to the asked gap,
  for at most `ROUND_NODES` nodes and a quarter of the time left, and a cheaper plan becomes the
  best one.
- Codebases are the neighbourhoods because ports couple a codebase's workloads; options and
  commitments couple the rest, and those stay free in every round.
- A pass takes every codebase once, in an order shuffled with a fixed seed.  After a pass that finds
  nothing cheaper the neighbourhood doubles, up to half the codebases; a pass at that size that
  finds nothing ends the search (`stalled`).  It also ends when the plan is within the asked gap of
  the bound HiGHS proved, or when the time is up.

Every round's plan is feasible in the full model (only bounds were tightened), so the result is a
plan of the full model; its proven gap is measured against the bound of the full solve, which
fix-and-optimize does not change.  Nothing here depends on the clock except when to stop.
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
    stalled: bool  # ended because the widest neighbourhood found nothing cheaper in a whole pass


def groups(model: Model) -> list[list[str]]:
    """The names of each codebase's integer variables (its workloads' x, r, j, k and run order),
    codebases in sorted order."""
    by_codebase: dict[str, list[str]] = {}
    for d in (model.x, model.r, model.j, model.k, model.active):
        for key, var in d.items():
            by_codebase.setdefault(model.codebase[key[0]], []).append(var.name)
    return [by_codebase[c] for c in sorted(by_codebase)]


def improve(
    highs: highspy.Highs,
    groups: Sequence[Sequence[int]],
    values: Sequence[float],
    objective: float,
    bound: float,
    gap: float,
    deadline: float,
) -> Outcome:
    """Fix-and-optimize from a feasible plan (`values` by column, of cost `objective`) until the plan
    is within `gap` of `bound`, `deadline` (time.monotonic()) passes, or a pass finds nothing.
    `groups`: each neighbourhood unit's integer columns.  The model's bounds are restored after."""
    lp = highs.getLp()
    lower, upper = list(lp.col_lower_), list(lp.col_upper_)
    best, cost = list(values), objective
    shuffle = random.Random(0).shuffle
    widest = max(1, len(groups) // 2)
    size = min(widest, max(1, round(len(groups) * NEIGHBOURHOOD)))
    rounds = improved = 0
    highs.setOptionValue("mip_max_nodes", ROUND_NODES)
    highs.setOptionValue("mip_rel_gap", gap)
    while groups:
        order = list(range(len(groups)))
        shuffle(order)
        found = False
        for first in range(0, len(order), size):
            if _close(cost, bound, gap) or deadline - time.monotonic() < MIN_ROUND_S:
                return Outcome(best, cost, rounds, improved, False)
            free = set(order[first : first + size])
            fixed = [c for g, columns in enumerate(groups) if g not in free for c in columns]
            rounds += 1
            value, plan = _round(highs, fixed, best, ROUND_SHARE * (deadline - time.monotonic()))
            _restore(highs, fixed, lower, upper)
            if plan is not None and value < cost - 1e-9 * abs(cost):
                best, cost, found = plan, value, True
                improved += 1
        if not found and size >= widest:
            break
        if not found:
            size = min(widest, 2 * size)
    return Outcome(best, cost, rounds, improved, True)


def _close(cost: float, bound: float, gap: float) -> bool:
    return math.isfinite(bound) and cost > 0 and (cost - bound) / cost <= gap


def _round(
    highs: highspy.Highs, fixed: list[int], best: list[float], seconds: float
) -> tuple[float, list[float] | None]:
    """Solve the model with the `fixed` columns at the best plan's (whole) values."""
    at = [float(round(best[c])) for c in fixed]
    if fixed:
        highs.changeColsBounds(len(fixed), fixed, at, at)
    start = highspy.HighsSolution()
    start.col_value = best
    start.value_valid = True
    highs.setSolution(start)
    highs.setOptionValue("time_limit", max(seconds, 0.1))
    highs.run()
    info = highs.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return math.inf, None
    return float(info.objective_function_value), list(highs.getSolution().col_value)


def _restore(highs: highspy.Highs, fixed: list[int], lower: list[float], upper: list[float]) -> None:
    if fixed:
        highs.changeColsBounds(len(fixed), fixed, [lower[c] for c in fixed], [upper[c] for c in fixed])
