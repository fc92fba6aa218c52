"""What the verifier's parts share: the cent tolerance, the tally of what the placements add up
to, the finite-number scan, the comparison of a claimed figure, and the estimates cache."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from placement.engine.costing import Estimate, estimate
from placement.inputs.models import Catalog, Family, Option, Portfolio, Workload

CENT = 0.011  # JSON rounds USD to cents


@dataclass
class Tally:
    """What the placements add up to, gathered while checking them."""

    used: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    families: set[tuple[str, Family]] = field(default_factory=set)
    used_spend: dict[Family, float] = field(default_factory=lambda: defaultdict(float))
    compute: float = 0.0
    compute_by_family: dict[Family, float] = field(default_factory=lambda: defaultdict(float))
    compute_by_workload: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    compute_by_option: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    estimates: dict[tuple[str, str], Estimate] = field(default_factory=dict)
    timed: bool = False  # the plan is time-phased (has `periods`): verify_time.py checks its use


def non_finite(value: Any, where: str = "") -> str | None:
    """The place of the first NaN or infinity in a JSON value (`placements[3].share`), if any."""
    if isinstance(value, float) and not math.isfinite(value):
        return where or "the plan"
    if isinstance(value, dict):
        for key, item in value.items():
            found = non_finite(item, f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = non_finite(item, f"{where}[{i}]")
            if found is not None:
                return found
    return None


def differs(claimed: Any, actual: float, tolerance: float) -> bool:
    """Whether a claimed figure is off (a missing or non-numeric figure is off too)."""
    if isinstance(claimed, bool) or not isinstance(claimed, int | float):
        return True
    return not abs(claimed - actual) <= tolerance + 1e-9 * abs(actual)


class Costs:
    """`estimate` for (workload, option) pairs, each computed once per check. `known` may hold
    estimates already computed for these same inputs (`placement plan` passes the ones it planned
    with: the same pure function of the same inputs, so nothing of the optimizer is trusted)."""

    def __init__(
        self, portfolio: Portfolio, catalog: Catalog, known: dict[tuple[str, str], Estimate] | None
    ) -> None:
        self.portfolio, self.catalog = portfolio, catalog
        self.known = known or {}
        self.made: dict[tuple[str, str], Estimate] = {}

    def __call__(self, w: Workload, o: Option) -> Estimate:
        key = (w.name, o.id)
        found = self.known.get(key) or self.made.get(key)
        if found is None:
            found = self.made[key] = estimate(self.portfolio, w, o, self.catalog)
        return found
