"""The time axis: periods, each workload's demand and window over them, port durations.

A portfolio is planned over periods (README "Time axis"):
- `periods: monthly` (the default): one period per month of the horizon, the last one shorter when
  the horizon is fractional (12.5 months → 13 periods, the last half a month);
- `periods: single`: one period for the whole horizon, every workload at once (the model before
  the time axis; with `purchase: {allow: [on-demand]}` it reproduces those plans to the cent).

Month numbers in the inputs (start_month, latest_month, capacity_by_month, …) are months of the
horizon, 1-based.  In a single-period plan every month maps to period 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from placement.engine.plan import Period
from placement.inputs.models import Catalog, Option, Portfolio, Porting, Workload

# EC2 Capacity Blocks for ML, as AWS documents them ("Capacity Blocks for ML", EC2 User Guide,
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-capacity-blocks.html, read 2026-11-23):
# up to 64 instances per block, 256 across blocks, 1 to 182 days, start up to 8 weeks ahead.
# A catalog's settings override each; the plan lists the ones it assumed.
BLOCK_TERMS = {
    "capacity_block_max_instances": 64,
    "capacity_block_account_instances": 256,
    "capacity_block_max_days": 182,
    "capacity_block_lead_weeks": 8,
}
TERM_MONTHS = {"1-year": 12, "3-year": 36}
HOURS_PER_WEEK = 168.0


def block_term(catalog: Catalog, name: str) -> int:
    value = getattr(catalog.settings, name)
    return int(value if value is not None else BLOCK_TERMS[name])


def months_in(portfolio: Portfolio) -> int:
    """Calendar months the horizon touches (12.5 → 13)."""
    return max(1, math.ceil(portfolio.horizon_months - 1e-9))


def periods(portfolio: Portfolio, catalog: Catalog) -> tuple[Period, ...]:
    hours = catalog.settings.hours_per_month
    if portfolio.periods == "single":
        return (Period(1, "all", portfolio.horizon_months, portfolio.horizon_months * hours),)
    count = months_in(portfolio)
    out = []
    for index in range(1, count + 1):
        length = min(1.0, portfolio.horizon_months - (index - 1))
        out.append(Period(index, label(portfolio, index), length, length * hours))
    return tuple(out)


def label(portfolio: Portfolio, month: int) -> str:
    """ "M3", or "2027-03" when the portfolio gives `start: 2027-01`."""
    if portfolio.start is None:
        return f"M{month}"
    year, first = (int(part) for part in portfolio.start.split("-"))
    total = year * 12 + (first - 1) + (month - 1)
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


@dataclass(frozen=True)
class Span:
    """Consecutive months the model solves as one period: every input is the same in each of them
    (demand, capacity, windows, the months a commitment or port could begin or end), so one
    period's answer is each month's answer.  A plan with no time axis is one span."""

    index: int  # 1-based
    first: int  # months of the horizon, 1-based, inclusive
    last: int
    months: float
    hours: float
    label: str


def spans(portfolio: Portfolio, catalog: Catalog, extra: Iterable[int] = ()) -> tuple[Span, ...]:
    """The model's periods: months grouped where nothing can change between them.  A span breaks
    where a workload's demand starts, ends or changes, a window opens or closes, a capacity
    calendar steps, a port could first be ready, and (so commitments cover whole spans) 12 and 36
    months after every break; every month is its own span when training runs are ordered
    (`after`).  `extra` months break too (the months decisions signed elsewhere start in, and the
    common spans of a stochastic model's futures)."""
    hours = catalog.settings.hours_per_month
    count = months_in(portfolio)
    if portfolio.periods == "single":
        return (Span(1, 1, count, portfolio.horizon_months, portfolio.horizon_months * hours, "all"),)
    breaks = {1, *extra}
    for w in portfolio.workloads:
        if w.kind == "inference":
            factors = demand(portfolio, w)
            breaks.update(m + 1 for m in range(1, count) if factors[m] != factors[m - 1])
        else:
            breaks.update(m for m in (w.earliest_month, (w.latest_month or count) + 1) if m)
    for option in catalog.options:
        breaks.update(option.capacity_by_month)
    breaks.update(1 + d for d in _port_delays(portfolio, catalog))
    if any(w.after for w in portfolio.workloads):  # run order is decided month by month
        breaks.update(range(1, count + 1))
    breaks = {b for b in breaks if 1 <= b <= count}
    grown = True
    while grown:
        more = {b + t for b in breaks for t in TERM_MONTHS.values() if b + t <= count} - breaks
        breaks |= more
        grown = bool(more)
    starts = sorted(breaks)
    out = []
    for index, first in enumerate(starts, start=1):
        last = starts[index] - 1 if index < len(starts) else count
        length = min(float(last), portfolio.horizon_months) - (first - 1)
        name = (
            label(portfolio, first)
            if first == last
            else f"{label(portfolio, first)}–{label(portfolio, last)}"
        )
        out.append(Span(index, first, last, length, length * hours, name))
    return tuple(out)


def _port_delays(portfolio: Portfolio, catalog: Catalog) -> set[int]:
    """Port durations in months that a porting team could give (their first ready month breaks a
    span).  Weeks are the catalog's per-item figures summed per codebase and family."""
    if portfolio.porting.engineers is None and not portfolio.porting.codebases:
        return set()
    from placement.engine.costing import port_weeks  # here: costing imports this module

    groups: dict[str, list[Workload]] = {}
    for w in portfolio.workloads:
        groups.setdefault(w.codebase_name, []).append(w)
    out = set()
    for codebase, members in groups.items():
        for family in ("trainium", "inferentia", "gpu"):
            weeks = port_weeks(catalog, members, family)[0]
            if weeks > 0:
                out.add(port_months(portfolio, catalog, codebase, weeks))
    return out


def span_demand(portfolio: Portfolio, w: Workload, parts: tuple[Span, ...]) -> tuple[float, ...]:
    factors = demand(portfolio, w)
    if portfolio.periods == "single":
        return factors
    return tuple(factors[span.first - 1] for span in parts)


def span_capacity(portfolio: Portfolio, option: Option, parts: tuple[Span, ...]) -> tuple[int, ...]:
    return tuple(min(option.capacity_in(m) for m in range(span.first, span.last + 1)) for span in parts)


def span_window(portfolio: Portfolio, w: Workload, parts: tuple[Span, ...]) -> tuple[int, int]:
    """The spans a training workload's runs may use."""
    count = months_in(portfolio)
    first = min(w.earliest_month or 1, count)
    last = min(w.latest_month or count, count)
    inside = [s.index for s in parts if s.first >= first and s.last <= last] or [
        s.index for s in parts if s.first <= first <= s.last
    ]
    return inside[0], inside[-1]


def span_commitment(
    portfolio: Portfolio, term: str, start: Span, parts: tuple[Span, ...]
) -> Commitment | None:
    """A `term` commitment bought at the start of a span: the spans it covers (whole, by
    construction of `spans`) and its months after the horizon."""
    months = TERM_MONTHS[term]
    if portfolio.periods == "single":
        if months + 1e-9 < portfolio.horizon_months:
            return None
        return Commitment(term, 1, (1,), months - portfolio.horizon_months)
    end = start.first + months - 1
    covers = tuple(s.index for s in parts if s.first >= start.first and s.last <= end)
    inside = sum(parts[c - 1].months for c in covers)
    return Commitment(term, start.index, covers, months - inside)


def period_of(portfolio: Portfolio, month: int) -> int:
    """The period a horizon month falls in."""
    return 1 if portfolio.periods == "single" else min(month, months_in(portfolio))


def demand(portfolio: Portfolio, w: Workload) -> tuple[float, ...]:
    """An inference workload's demand per period as a multiple of tokens_per_month (0 outside
    start..end).  Per month: 1 from start_month on, × (1 + growth)^(months since start), or the
    explicit monthly_tokens series ÷ tokens_per_month; months after the series repeat its last
    value.  A single period takes the largest month (instances are sized for the peak) — with no
    time axis fields that is 1, as before."""
    assert w.tokens_per_month is not None
    count = months_in(portfolio)
    first = w.start_month or 1
    last = min(w.end_month or count, count)
    factors = []
    for month in range(1, count + 1):
        if not first <= month <= last:
            factors.append(0.0)
        elif w.monthly_tokens is not None:
            series = w.monthly_tokens
            factors.append(series[min(month - first, len(series) - 1)] / w.tokens_per_month)
        else:
            factors.append((1 + (w.growth_per_month or 0.0)) ** (month - first))
    if portfolio.periods == "single":
        return (max(factors),)
    return tuple(factors)


def tokens_over_horizon(portfolio: Portfolio, w: Workload) -> float:
    """Generated tokens an inference workload serves over the horizon."""
    assert w.tokens_per_month is not None
    if portfolio.periods == "single":
        return w.tokens_per_month * demand(portfolio, w)[0] * portfolio.horizon_months
    lengths = [min(1.0, portfolio.horizon_months - m) for m in range(months_in(portfolio))]
    return w.tokens_per_month * sum(f * n for f, n in zip(demand(portfolio, w), lengths, strict=True))


def window(portfolio: Portfolio, w: Workload) -> tuple[int, int]:
    """The periods a training workload's runs may use: earliest_month .. latest_month."""
    count = months_in(portfolio)
    first = min(w.earliest_month or 1, count)
    last = min(w.latest_month or count, count)
    return period_of(portfolio, first), period_of(portfolio, last)


def capacity(portfolio: Portfolio, option: Option) -> tuple[int, ...]:
    """Instances obtainable at once, per period (a single period takes the calendar's least month:
    everything runs at once, so it must fit in every month)."""
    values = tuple(option.capacity_in(m) for m in range(1, months_in(portfolio) + 1))
    if portfolio.periods == "single":
        return (min(values),)
    return values


def port_engineers(porting: Porting, codebase: str) -> int:
    """Engineers on one port of the codebase; 0 when ports take no calendar time."""
    if codebase in porting.codebases:
        return porting.codebases[codebase]
    if porting.engineers is None:
        return 0
    return porting.per_port or porting.engineers


def port_months(portfolio: Portfolio, catalog: Catalog, codebase: str, weeks: float) -> int:
    """Whole periods a port occupies before its family is usable: ⌈weeks / (engineers · weeks per
    month)⌉, 0 with no porting team (usable from month 1, as before the time axis).  In a single
    period a port that takes any time at all is still usable (the period is the whole horizon) as
    long as it finishes inside the horizon."""
    engineers = port_engineers(portfolio.porting, codebase)
    if engineers == 0 or weeks <= 0:
        return 0
    weeks_per_month = catalog.settings.hours_per_month / HOURS_PER_WEEK
    months = math.ceil(weeks / (engineers * weeks_per_month) - 1e-9)
    if portfolio.periods == "single":
        return 0 if months < portfolio.horizon_months else months
    return months


@dataclass(frozen=True)
class Commitment:
    """A commitment bought at the start of a period: the periods it pays for inside the horizon,
    and the months it pays for after it."""

    term: str
    start: int
    covers: tuple[int, ...]
    months_beyond: float


def commitment(portfolio: Portfolio, term: str, start: int) -> Commitment | None:
    """A `term` commitment starting in period `start`, or None if it cannot cover a period.
    A single period is covered only by a term at least as long as the horizon."""
    months = TERM_MONTHS[term]
    if portfolio.periods == "single":
        if months + 1e-9 < portfolio.horizon_months:
            return None
        return Commitment(term, 1, (1,), months - portfolio.horizon_months)
    count = months_in(portfolio)
    covers = tuple(range(start, min(count, start + months - 1) + 1))
    inside = sum(min(1.0, portfolio.horizon_months - (p - 1)) for p in covers)
    return Commitment(term, start, covers, months - inside)
