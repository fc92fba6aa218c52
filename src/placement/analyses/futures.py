"""Sampled futures: every uncertain input with its distribution, draws of them, and the portfolio and
catalog a draw gives.

- `uncertain_inputs(portfolio, catalog)`: the uncertain inputs, in a stable order (demand, efficiency,
  prices, engineer-week cost, port weeks, capacity), each with its range and where the range comes
  from (README "Uncertainty"): the workload file's `uncertainty` block, the catalog's `ranges`, the
  calibration residuals (`Catalog.efficiency_spread`), or a documented default.
- `draw(inputs, rng)`: one future, a value per input name. Each input takes exactly one
  `rng.random()`, in the inputs' order, turned into a value by its inverse distribution function
  (`quantile`), so one rng state gives the same draw in every process.
- `likely(inputs)`: every input at its likely value (the mode; for a discrete input the most
  probable outcome, a tie going to the catalog's own figure, else to the first listed).
- `future(portfolio, catalog, values)`: the models with those values applied, via `model_copy`; a
  value equal to the input's nominal (a factor of 1, the catalog's price, the capacity the calendar
  already holds) leaves it untouched, so the models of `likely(...)` equal the originals whenever
  every likely value is nominal.

How a value applies:
- demand (a factor): an inference workload's `tokens_per_month` and `monthly_tokens`; a training
  workload's `tokens` (only when the file names it under `uncertainty.workloads`);
- efficiency (a factor): `training_mfu`, `prefill_mfu` and `bandwidth_efficiency` of every option in
  the group. The factor is drawn over the group's widest spread H; an option whose own spread is h
  moves the same share of its range: its factor is 1 + (value − 1) · h / H (a perfectly correlated
  group). Results are kept within (0, 1];
- a price (USD per hour): that figure; a drawn `usd_per_hour` also scales the option's other prices
  in proportion (1-year, 3-year, Capacity Block), except those with an input of their own;
- engineer_week_usd (USD per week) and port weeks (a factor on every port's weeks);
- capacity (instances): the option's capacity in the window's months, through its capacity calendar
  (the month after the window gets back the figure it had); a whole-horizon entry sets
  capacity_instances and every calendar month.

Pure: no I/O, no printing; only the `random.Random` passed in.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from placement.inputs.models import (
    FAMILIES,
    Catalog,
    Change,
    Migration,
    MonthWindow,
    Option,
    Portfolio,
    Workload,
    capacity_calendar,
    last_month,
)
from placement.inputs.uncertainty import (
    DEFAULT_DEMAND,
    DEFAULT_DEMAND_REASONING,
    DEFAULT_ESTIMATE,
    DEFAULT_ESTIMATE_REASONING,
    DEFAULT_PORT_WEEKS,
    DEFAULT_PORT_WEEKS_REASONING,
    EFFICIENCY_FIELDS,
    PRICE_FIELDS,
    CapacityChance,
    EfficiencySpread,
    Spread,
    Uncertainty,
    option_spread,
)

MIN_PRICE, MAX_PRICE = 1e-4, 1e6  # models.Price
TAG = "sampled future"
CHOSEN = ("what-if:", TAG)  # estimates marking a figure a scenario or a sampled future set


@dataclass(frozen=True)
class UncertainInput:
    """One uncertain input and its distribution, in the input's own unit: a factor for demand,
    efficiency and port weeks, USD per hour for a price, instances for capacity."""

    name: str  # "demand", "demand: chat", "efficiency: neuron", "usd_per_hour: trn3-...", "port weeks", ...
    kind: str  # "demand" | "efficiency" | "price" | "engineer-week" | "port-weeks" | "capacity"
    low: float
    likely: float
    high: float
    distribution: str  # "triangular" | "uniform" | "discrete"
    reasoning: str
    default: bool  # a documented default, not given by the workload file or the catalog
    outcomes: tuple[tuple[float, float], ...] = ()  # discrete: (probability, value), as listed

    @property
    def unit(self) -> str:
        """What low, likely and high count: "factor", "USD/h", "USD/week" or "instances"."""
        return UNITS.get(self.kind, "factor")


UNITS = {"price": "USD/h", "engineer-week": "USD/week", "capacity": "instances"}


@dataclass(frozen=True)
class _Effect:
    """What an input changes (private: `future` recomputes it from the models)."""

    nominal: float
    workloads: tuple[str, ...] = ()
    members: tuple[tuple[str, str, float], ...] = ()  # efficiency: (option id, field, share h / H)
    option: str = ""
    price_field: str = ""
    follow: tuple[str, ...] = ()  # prices scaled in proportion with usd_per_hour
    window: tuple[int, int] | None = None  # capacity: months; None: the whole horizon


@dataclass(frozen=True)
class _Resolved:
    input: UncertainInput
    effect: _Effect = field(default_factory=lambda: _Effect(nominal=1.0))


# --------------------------------------------------------------------------- the inputs


def uncertain_inputs(portfolio: Portfolio, catalog: Catalog) -> tuple[UncertainInput, ...]:
    """Every uncertain input with its resolved distribution, in a stable order."""
    return tuple(r.input for r in _resolve(portfolio, catalog))


def _resolve(portfolio: Portfolio, catalog: Catalog) -> list[_Resolved]:
    block = portfolio.uncertainty or Uncertainty()
    return [
        *_demand(portfolio, block),
        *_efficiency(catalog, block),
        *_prices(catalog),
        *_engineer_week(catalog),
        _port_weeks(block),
        *_capacity(portfolio, catalog, block),
    ]


def _factor(name: str, kind: str, spread: Spread, reasoning: str, default: bool) -> UncertainInput:
    return UncertainInput(
        name, kind, spread.low, spread.likely, spread.high, spread.distribution, reasoning, default
    )


def _demand(portfolio: Portfolio, block: Uncertainty) -> list[_Resolved]:
    spread = block.demand or DEFAULT_DEMAND
    default = block.demand is None
    reason = DEFAULT_DEMAND_REASONING if default else "the workload file's uncertainty.demand"
    shared = [w.name for w in portfolio.workloads if w.kind == "inference" and w.name not in block.workloads]
    out: list[_Resolved] = []
    if shared and spread.together == "portfolio":
        text = f"{reason}; one factor for every inference workload without its own range"
        out.append(_Resolved(_factor("demand", "demand", spread, text, default), _Effect(1.0, tuple(shared))))
    for w in portfolio.workloads:
        own = block.workloads.get(w.name)
        if own is not None:
            text = f"the workload file's uncertainty.workloads[{w.name!r}]" + (
                ": scales its training tokens" if w.kind == "training" else ""
            )
            out.append(
                _Resolved(_factor(f"demand: {w.name}", "demand", own, text, False), _Effect(1.0, (w.name,)))
            )
        elif w.name in shared and spread.together == "workload":
            text = f"{reason}; a factor of its own"
            out.append(
                _Resolved(
                    _factor(f"demand: {w.name}", "demand", spread, text, default), _Effect(1.0, (w.name,))
                )
            )
    return out


def _groups(catalog: Catalog, together: str) -> list[tuple[str, list[Option]]]:
    if together == "option":
        return [(o.id, [o]) for o in catalog.options]
    if together == "family":
        return [(f, [o for o in catalog.options if o.family == f]) for f in FAMILIES]
    neuron = [o for o in catalog.options if o.family != "gpu"]
    return [("neuron", neuron), ("gpu", [o for o in catalog.options if o.family == "gpu"])]


def _spreads(catalog: Catalog, option: Option) -> dict[str, EfficiencySpread]:
    if option.id in catalog.efficiency_spread:
        return catalog.efficiency_spread[option.id]
    row = {f: option_spread(option, f, None) for f in EFFICIENCY_FIELDS if getattr(option, f) is not None}
    return {f: s for f, s in row.items() if s is not None}


def _efficiency(catalog: Catalog, block: Uncertainty) -> list[_Resolved]:
    together = block.efficiency.together
    out: list[_Resolved] = []
    for label, options in _groups(catalog, together):
        spreads = [(o, f, s) for o in options for f, s in _spreads(catalog, o).items() if s.half_width > 0]
        if not spreads:
            continue
        widest = max(s.half_width for _, _, s in spreads)
        summary = sorted({f"{o.hardware or o.id}: ±{s.half_width:.0%}" for o, _, s in spreads})
        members = "one factor for these options" if len(options) > 1 else "this option's own factor"
        reasoning = (
            f"calibration residuals (calibration/fit.yaml): {members} (together: {together}), drawn over "
            f"the widest spread, ±{widest:.0%}; each option's efficiencies move the same share of their "
            f"own spread ({', '.join(summary)})"
        )
        spread = Spread(low=1 - widest, likely=1.0, high=1 + widest)
        effect = _Effect(1.0, members=tuple((o.id, f, s.half_width / widest) for o, f, s in spreads))
        out.append(_Resolved(_factor(f"efficiency: {label}", "efficiency", spread, reasoning, False), effect))
    return out


def _prices(catalog: Catalog) -> list[_Resolved]:
    out: list[_Resolved] = []
    for option in catalog.options:
        given = option.ranges.prices() if option.ranges is not None else {}
        own = [
            f
            for f in PRICE_FIELDS
            if getattr(option, f) is not None and (f in given or _estimated(option, f))
        ]
        for price in own:
            value = float(getattr(option, price))
            if price in given:
                low, mode, high = given[price].around(value)
                if mode != value:  # a scenario changed the figure: its range moves with it
                    low, mode, high = (x * value / mode for x in (low, mode, high))
                distribution, reasoning, default = given[price].distribution, given[price].reasoning, False
            else:
                low, mode, high = (value * k for k in DEFAULT_ESTIMATE)
                reasoning = f"{DEFAULT_ESTIMATE_REASONING}; the estimate: {option.estimates[price]}"
                distribution, default = "triangular", True
            follow = (
                tuple(f for f in PRICE_FIELDS[1:] if getattr(option, f) is not None and f not in own)
                if price == "usd_per_hour"
                else ()
            )
            if follow:
                reasoning += f"; {', '.join(follow)} scale in proportion"
            item = UncertainInput(
                f"{price}: {option.id}", "price", low, mode, high, distribution, reasoning, default
            )
            out.append(_Resolved(item, _Effect(value, option=option.id, price_field=price, follow=follow)))
    return out


def _estimated(record: Option | Migration, name: str) -> bool:
    """An estimate of the catalog's own: a what-if figure (a scenario's) or a sampled one is a chosen
    value, not an estimate to vary."""
    return record.is_estimate(name) and not record.estimates[name].startswith(CHOSEN)


def _engineer_week(catalog: Catalog) -> list[_Resolved]:
    migration = catalog.migration
    if not _estimated(migration, "engineer_week_usd"):
        return []
    value = migration.engineer_week_usd
    low, mode, high = (value * k for k in DEFAULT_ESTIMATE)
    reasoning = f"{DEFAULT_ESTIMATE_REASONING}; the estimate: {migration.estimates['engineer_week_usd']}"
    item = UncertainInput(
        "engineer_week_usd", "engineer-week", low, mode, high, "triangular", reasoning, True
    )
    return [_Resolved(item, _Effect(value))]


def _port_weeks(block: Uncertainty) -> _Resolved:
    spread = block.port_weeks or DEFAULT_PORT_WEEKS
    default = block.port_weeks is None
    reason = DEFAULT_PORT_WEEKS_REASONING if default else "the workload file's uncertainty.port_weeks"
    return _Resolved(_factor("port weeks", "port-weeks", spread, reason, default))


def _capacity(portfolio: Portfolio, catalog: Catalog, block: Uncertainty) -> list[_Resolved]:
    months = last_month(portfolio)
    named = {entry.option for entry in block.capacity}
    entries: list[tuple[Option, CapacityChance, str]] = []
    for option in catalog.options:
        chosen = any(
            _estimated(option, f) != option.is_estimate(f)
            for f in ("capacity_instances", "capacity_by_month")
        )
        if option.ranges is not None and option.id not in named and not chosen:
            entries += [(option, e, f"the catalog: {e.reasoning}") for e in option.ranges.capacity]
    for risk in block.capacity:
        text = "the workload file's uncertainty.capacity" + (f": {risk.reasoning}" if risk.reasoning else "")
        entries.append((catalog.option(risk.option), risk, text))
    out: list[_Resolved] = []
    for option, entry, reasoning in entries:
        window = None if entry.months is None else (entry.months[0], min(entry.months[1], months))
        if window is not None and window[0] > months:
            continue  # the window starts after this plan's horizon
        span = range(1, months + 1) if window is None else range(window[0], window[1] + 1)
        held = {option.capacity_in(m) for m in span}
        nominal = float(held.pop()) if len(held) == 1 else math.nan
        values = [float(o.instances) for o in entry.outcomes]
        top = max(o.probability for o in entry.outcomes)
        tied = [float(o.instances) for o in entry.outcomes if o.probability >= top - 1e-12]
        mode = nominal if nominal in tied else tied[0]
        name = f"capacity: {option.id}" + ("" if window is None else f" M{window[0]}–M{window[1]}")
        item = UncertainInput(
            name,
            "capacity",
            min(values),
            mode,
            max(values),
            "discrete",
            reasoning,
            False,
            tuple((o.probability, float(o.instances)) for o in entry.outcomes),
        )
        out.append(_Resolved(item, _Effect(nominal, option=option.id, window=window)))
    return out


# --------------------------------------------------------------------------- drawing


def quantile(item: UncertainInput, u: float) -> float:
    """The value below which a share `u` (0 ≤ u < 1) of the input's distribution lies."""
    if item.distribution == "discrete":
        total = 0.0
        for probability, value in item.outcomes:
            total += probability
            if u < total:
                return value
        return item.outcomes[-1][1]
    low, mode, high = item.low, item.likely, item.high
    if high <= low:
        return low
    if item.distribution == "uniform":
        return low + u * (high - low)
    cut = (mode - low) / (high - low)
    if u < cut:
        return low + math.sqrt(u * (high - low) * (mode - low))
    return high - math.sqrt((1 - u) * (high - low) * (high - mode))


def draw(inputs: Sequence[UncertainInput], rng: random.Random) -> dict[str, float]:
    """One sampled future: a value per input name, one `rng.random()` per input, in order."""
    return {item.name: quantile(item, rng.random()) for item in inputs}


def likely(inputs: Sequence[UncertainInput]) -> dict[str, float]:
    """Every input at its likely value (the mode; discrete: the most probable outcome)."""
    return {item.name: item.likely for item in inputs}


# --------------------------------------------------------------------------- applying a draw


def future(portfolio: Portfolio, catalog: Catalog, values: Mapping[str, float]) -> tuple[Portfolio, Catalog]:
    """The portfolio and catalog with these values applied; inputs not named keep their nominal."""
    resolved = {r.input.name: r for r in _resolve(portfolio, catalog)}
    unknown = sorted(set(values) - set(resolved))
    if unknown:
        raise KeyError(f"not an uncertain input of this portfolio and catalog: {', '.join(unknown)}")
    demand: dict[str, float] = {}
    options: dict[str, dict[str, Any]] = {}
    order = {name: index for index, name in enumerate(resolved)}
    changed = sorted(
        ((resolved[n], v) for n, v in values.items() if v != resolved[n].effect.nominal),
        key=lambda pair: order[pair[0].input.name],
    )
    migration: dict[str, Any] = {}
    for r, value in changed:
        kind, effect = r.input.kind, r.effect
        if kind == "demand":
            demand.update({name: value for name in effect.workloads})
        elif kind == "efficiency":
            for option_id, name, share in effect.members:
                _efficiency_change(catalog, options, option_id, name, 1 + (value - 1) * share)
        elif kind == "price":
            _price_change(catalog, options, effect, value)
        elif kind == "engineer-week":
            migration["engineer_week_usd"] = min(max(value, 1e-9), 1e9)
        elif kind == "port-weeks":
            migration["weeks"] = value
        elif kind == "capacity":
            _capacity_change(catalog, options, effect, int(round(value)), last_month(portfolio))
    return _portfolio(portfolio, demand), _catalog(catalog, options, migration)


def _current(catalog: Catalog, options: dict[str, dict[str, Any]], option_id: str) -> dict[str, Any]:
    if option_id not in options:
        option = catalog.option(option_id)
        options[option_id] = {"estimates": dict(option.estimates)}
    return options[option_id]


def _efficiency_change(
    catalog: Catalog, options: dict[str, dict[str, Any]], option_id: str, name: str, factor: float
) -> None:
    old = getattr(catalog.option(option_id), name)
    update = _current(catalog, options, option_id)
    update[name] = min(1.0, max(1e-6, old * factor))
    update["estimates"][name] = f"{TAG}: efficiency × {factor:.4g} (was {old:g})"


def _price_change(
    catalog: Catalog, options: dict[str, dict[str, Any]], effect: _Effect, value: float
) -> None:
    option = catalog.option(effect.option)
    update = _current(catalog, options, effect.option)
    ratio = value / effect.nominal
    for name in (effect.price_field, *effect.follow):
        old = getattr(option, name)
        update[name] = min(MAX_PRICE, max(MIN_PRICE, value if name == effect.price_field else old * ratio))
        update["estimates"][name] = f"{TAG}: {update[name]:.6g} (was {old:g})"


def _capacity_change(
    catalog: Catalog, options: dict[str, dict[str, Any]], effect: _Effect, instances: int, months: int
) -> None:
    update = _current(catalog, options, effect.option)
    option = catalog.option(effect.option).model_copy(
        update={k: v for k, v in update.items() if k in ("capacity_instances", "capacity_by_month")}
    )
    window = None if effect.window is None else MonthWindow(first=effect.window[0], last=effect.window[1])
    update["capacity_instances"], update["capacity_by_month"] = capacity_calendar(
        option, Change(value=instances), window, months
    )
    where = "the whole horizon" if window is None else window.describe()
    if update["capacity_by_month"]:
        update["estimates"]["capacity_by_month"] = f"{TAG}: {instances} instances {where}"
    if window is None:
        update["estimates"]["capacity_instances"] = f"{TAG}: {instances} instances {where}"


def _portfolio(portfolio: Portfolio, demand: Mapping[str, float]) -> Portfolio:
    if not demand:
        return portfolio
    return portfolio.model_copy(
        update={
            "workloads": tuple(
                _scaled(w, demand[w.name]) if w.name in demand else w for w in portfolio.workloads
            )
        }
    )


def _scaled(workload: Workload, factor: float) -> Workload:
    if workload.kind == "training":
        assert workload.tokens is not None
        return workload.model_copy(update={"tokens": workload.tokens * factor})
    assert workload.tokens_per_month is not None
    series = workload.monthly_tokens
    return workload.model_copy(
        update={
            "tokens_per_month": workload.tokens_per_month * factor,
            "monthly_tokens": None if series is None else tuple(v * factor for v in series),
        }
    )


def _catalog(
    catalog: Catalog, options: Mapping[str, dict[str, Any]], migration: Mapping[str, Any]
) -> Catalog:
    if not options and not migration:
        return catalog
    update: dict[str, Any] = {}
    if options:
        update["options"] = tuple(
            o.model_copy(update=options[o.id]) if o.id in options else o for o in catalog.options
        )
    if migration:
        update["migration"] = _migration(catalog, migration)
    return catalog.model_copy(update=update)


def _migration(catalog: Catalog, change: Mapping[str, Any]) -> Any:
    migration = catalog.migration
    update: dict[str, Any] = {}
    if "engineer_week_usd" in change:
        old = migration.engineer_week_usd
        update["engineer_week_usd"] = change["engineer_week_usd"]
        update["estimates"] = {**migration.estimates, "engineer_week_usd": f"{TAG}: (was {old:g})"}
    if "weeks" in change:
        factor = change["weeks"]
        update["items"] = {
            item: {
                family: effort
                if not effort.weeks
                else effort.model_copy(
                    update={
                        "weeks": min(1e9, effort.weeks * factor),
                        "estimate": f"{TAG}: port weeks × {factor:.4g} (was {effort.weeks:g})",
                    }
                )
                for family, effort in row.items()
            }
            for item, row in migration.items.items()
        }
    return migration.model_copy(update=update)
