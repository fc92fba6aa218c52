"""How uncertain each input is: the workload file's `uncertainty` block and the catalog's `ranges`.

README "Uncertainty" documents every field and default. In short:
- demand: a factor on every inference workload's tokens (default triangular 0.8 / 1.0 / 1.3), one
  factor for the whole file or one per workload, with per-workload overrides (training workloads only
  when named: the factor then scales their `tokens`);
- port_weeks: a factor on every port's engineer-weeks (default triangular 0.8 / 1.0 / 2.0);
- efficiency: which options' calibrated efficiencies move together (`neuron`, `family`, `option`);
  their spread comes from the calibration residuals (`efficiency_spreads`);
- capacity: a chance of each number of instances being obtainable, per option and window of months;
- catalog `ranges`: a price's low / likely / high with its reasoning, and capacity outcomes; a price
  the catalog marks as an estimate without a range gets ±25% (`DEFAULT_ESTIMATE`).

Pydantic models only, plus the checks that need the workload file and the catalog together
(`uncertainty_problems`, located like `models.cross_check`). This module does not import
`models.py` at load time (`models.py` imports it), so fields here are typed with pydantic's own
constraints and each check blames its field through a field validator.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

if TYPE_CHECKING:
    from placement.inputs.evidence import Fit
    from placement.inputs.models import Catalog, Location, Option, Portfolio

Distribution = Literal["triangular", "uniform"]
Together = Literal["neuron", "family", "option"]
DemandTogether = Literal["portfolio", "workload"]

Factor = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=1000)]
Amount = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=1e9)]
Probability = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=1)]
Instances = Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
Month = Annotated[int, Field(strict=True, ge=1, le=120)]
Key = Annotated[str, Field(strict=True, min_length=1, max_length=200)]
Reasoning = Annotated[str, Field(strict=True, min_length=1, max_length=2000)]

PROBABILITY_TOLERANCE = 1e-6
UNMEASURED_HALF_WIDTH = 0.5  # evidence.WIDER: "uncertainty ±50%" where no measurement backs a figure
# A symmetric triangular distribution of half-width h has median absolute deviation h·(1 − 1/√2).
MEDIAN_DEVIATION_SHARE = 1 - 1 / math.sqrt(2)
EFFICIENCY_FIELDS = ("training_mfu", "prefill_mfu", "bandwidth_efficiency")
PRICE_FIELDS = (
    "usd_per_hour",
    "one_year_usd_per_hour",
    "three_year_usd_per_hour",
    "capacity_block_usd_per_hour",
)

# An option's other numbers (models.Option.NUMBERS): named when a range is given for one of them.
OTHER_FIGURES = frozenset(
    {
        "chips",
        "bf16_tflops",
        "fp8_tflops",
        "hbm_gib",
        "hbm_tb_per_s",
        "capacity_instances",
        "capacity_by_month",
        *EFFICIENCY_FIELDS,
        "decode_overhead_ms",
        "collective_us",
        "link_gb_per_s",
        "max_batch",
        "hbm_usable_fraction",
    }
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def _ordered(value: float, info: ValidationInfo, before: str, default: str = "") -> float:
    """`value` (the field named by info) is not below the field `before`, validated before it."""
    earlier = info.data.get(before)
    if earlier is not None and value < earlier:
        raise ValueError(f"{info.field_name} {value:g} is below {before} {earlier:g}{default}")
    return value


class Spread(_Frozen):
    """A factor's range: low, likely (the mode; default 1, no change) and high."""

    low: Factor
    likely: Factor = Field(default=1.0, description="The mode (default 1: no change).")
    high: Factor
    distribution: Distribution = Field(
        default="triangular",
        description="triangular: low, likely (the mode), high; uniform: any value from low to high alike.",
    )

    @field_validator("likely")
    @classmethod
    def _likely_above_low(cls, value: float, info: ValidationInfo) -> float:
        return _ordered(value, info, "low")

    @field_validator("high")
    @classmethod
    def _high_above_the_rest(cls, value: float, info: ValidationInfo) -> float:
        _ordered(value, info, "low")
        return _ordered(value, info, "likely")

    @model_validator(mode="before")
    @classmethod
    def _around_the_default_likely(cls, data: object) -> object:
        """Without likely (1: no change), low may not exceed 1 nor high fall below it."""
        if not isinstance(data, dict) or "likely" in data:
            return data
        for end, wrong, fix in (
            ("low", (1.0).__lt__, "a low of 1 or less"),
            ("high", (1.0).__gt__, "a high of 1 or more"),
        ):
            value = data.get(end)
            if isinstance(value, int | float) and not isinstance(value, bool) and wrong(value):
                from placement.inputs.models import FieldError  # models imports this module

                side = "above" if end == "low" else "below"
                raise FieldError(end, f"{value:g} is {side} likely 1 (the default): give likely, or {fix}")
        return data


class DemandSpread(Spread):
    """The forecast spread of demand: one factor for the whole file, or one per workload."""

    together: DemandTogether = Field(
        default="portfolio",
        description="portfolio: one factor moves every inference workload's demand; workload: each its own.",
    )


class EfficiencyTogether(_Frozen):
    together: Together = Field(
        default="neuron",
        description="Which options' calibrated efficiencies move together: neuron (Trainium and "
        "Inferentia one factor, GPUs another), family (one factor per family) or option (each its own).",
    )


class Outcome(_Frozen):
    probability: Probability
    instances: Instances


class CapacityChance(_Frozen):
    """How many instances of an option can be had at once in a window of months, with what chance."""

    months: tuple[Month, Month] | None = Field(
        default=None,
        description="[first, last] months of the plan (the window); not given: the whole horizon. "
        "Outside it the option keeps its capacity calendar.",
    )
    outcomes: tuple[Outcome, ...] = Field(min_length=1, max_length=100)

    @field_validator("months")
    @classmethod
    def _first_then_last(cls, months: tuple[int, int] | None) -> tuple[int, int] | None:
        if months is not None and months[1] < months[0]:
            raise ValueError(f"month {months[1]} is before the window's first month {months[0]}")
        return months

    @field_validator("outcomes")
    @classmethod
    def _probabilities_sum_to_one(cls, outcomes: tuple[Outcome, ...]) -> tuple[Outcome, ...]:
        total = math.fsum(o.probability for o in outcomes)
        if abs(total - 1) > PROBABILITY_TOLERANCE:
            raise ValueError(f"the probabilities sum to {total:.6g}, not 1")
        seen: set[int] = set()
        for outcome in outcomes:
            if outcome.instances in seen:
                raise ValueError(f"{outcome.instances} instances is listed twice: give each outcome once")
            seen.add(outcome.instances)
        return outcomes


class CapacityRisk(CapacityChance):
    """A capacity chance in the workload file: it names the option."""

    option: Key
    reasoning: Reasoning | None = None


class CatalogCapacity(CapacityChance):
    reasoning: Reasoning


class Range(_Frozen):
    """A catalog figure's range in its own unit (USD per instance-hour for a price)."""

    low: Amount
    likely: Amount | None = Field(default=None, description="The mode; not given: the catalog's figure.")
    high: Amount
    distribution: Distribution = "triangular"
    reasoning: Reasoning

    @field_validator("likely")
    @classmethod
    def _likely_above_low(cls, value: float | None, info: ValidationInfo) -> float | None:
        return value if value is None else _ordered(value, info, "low")

    @field_validator("high")
    @classmethod
    def _high_above_the_rest(cls, value: float, info: ValidationInfo) -> float:
        _ordered(value, info, "low")
        return value if info.data.get("likely") is None else _ordered(value, info, "likely")

    def around(self, value: float) -> tuple[float, float, float]:
        """(low, likely, high) for a figure whose catalog value is `value`."""
        return self.low, value if self.likely is None else self.likely, self.high


class OptionRanges(_Frozen):
    """A catalog option's uncertain figures (README "Uncertainty")."""

    usd_per_hour: Range | None = None
    one_year_usd_per_hour: Range | None = None
    three_year_usd_per_hour: Range | None = None
    capacity_block_usd_per_hour: Range | None = None
    capacity: tuple[CatalogCapacity, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _rangeable(cls, data: object) -> object:
        """A figure without a range here is named, with what takes one (not a bare 'unknown field')."""
        if isinstance(data, dict):
            for key in data:
                if key in OTHER_FIGURES:
                    from placement.inputs.models import FieldError  # models imports this module

                    why = (
                        "efficiencies take their spread from the calibration residuals"
                        if key in EFFICIENCY_FIELDS
                        else "it is held fixed"
                    )
                    raise FieldError(
                        key,
                        f"{key} takes no range ({why}); ranges are given for {', '.join(PRICE_FIELDS)} "
                        "and capacity",
                    )
        return data

    def prices(self) -> dict[str, Range]:
        return {f: r for f in PRICE_FIELDS if (r := getattr(self, f)) is not None}


class Uncertainty(_Frozen):
    """The workload file's `uncertainty` block (README "Uncertainty"); every part has a default."""

    demand: DemandSpread | None = Field(
        default=None, description="Forecast spread of inference demand (default triangular 0.8 / 1.0 / 1.3)."
    )
    workloads: dict[Key, Spread] = Field(
        default_factory=dict,
        description="Per workload: its own demand factor (a training workload's factor scales its tokens).",
    )
    port_weeks: Spread | None = Field(
        default=None,
        description="A factor on every port's engineer-weeks (default triangular 0.8 / 1.0 / 2.0).",
    )
    efficiency: EfficiencyTogether = EfficiencyTogether()
    capacity: tuple[CapacityRisk, ...] = Field(
        default=(), description="Chances of instances being obtainable, per option and window of months."
    )


class EfficiencySpread(_Frozen):
    """How far one calibrated efficiency of one option may be off: ± half_width of its value."""

    half_width: Annotated[float, Field(ge=0, le=1)]
    reasoning: Reasoning


DEFAULT_DEMAND = DemandSpread(low=0.8, likely=1.0, high=1.3)
DEFAULT_DEMAND_REASONING = (
    "the default demand forecast spread (an assumption): triangular 0.8 / 1.0 / 1.3; a forecast a year "
    "out misses by tens of percent, and a growing service more often outgrows it than falls short"
)
DEFAULT_PORT_WEEKS = Spread(low=0.8, likely=1.0, high=2.0)
DEFAULT_PORT_WEEKS_REASONING = (
    "the default port effort spread (an assumption): triangular 0.8 / 1.0 / 2.0 on every port's weeks; "
    "software estimates overrun far more often than they underrun, and several Neuron paths are beta "
    "(TorchNeuron, vllm-neuron, JAX NeuronX), where one blocking bug can double a port"
)
DEFAULT_ESTIMATE = (0.75, 1.0, 1.25)
DEFAULT_ESTIMATE_REASONING = (
    "a catalog estimate without a range: the default ±25% triangular around it (an assumption)"
)


# --------------------------------------------------------------------------- calibration spread


def efficiency_spreads(catalog: Catalog, fit: Fit) -> dict[str, dict[str, EfficiencySpread]]:
    """Per option id and calibrated efficiency field: how far it may be off, from the fit.

    - cited to its group's fit (`fit-<group>`: measured on this hardware): the symmetric triangular
      spread whose median absolute deviation is the group's median error, median error / (1 − 1/√2)
      ≈ 3.4 × the median error, at most ±50%;
    - an estimate (filled from a group without measurements of this hardware, or written as an
      estimate in the catalog): ±50%, the uncertainty calibration states for such figures;
    - cited to another source (a benchmark the catalog names): no spread.
    """
    out: dict[str, dict[str, EfficiencySpread]] = {}
    for option in catalog.options:
        row = {f: option_spread(option, f, fit) for f in EFFICIENCY_FIELDS if getattr(option, f) is not None}
        out[option.id] = {f: s for f, s in row.items() if s is not None}
    return out


def option_spread(option: Option, field: str, fit: Fit | None) -> EfficiencySpread | None:
    """One efficiency figure's spread (see `efficiency_spreads`); `fit` None: no residuals at hand."""
    source = option.sources.get(field)
    if source is None:
        return EfficiencySpread(
            half_width=UNMEASURED_HALF_WIDTH,
            reasoning=f"{field}: ±50%, not measured on this hardware "
            f"({option.estimates.get(field, 'an estimate')})",
        )
    group = source.removeprefix("fit-")
    if not source.startswith("fit-"):
        return None
    if fit is None or group not in fit.groups:
        return EfficiencySpread(
            half_width=UNMEASURED_HALF_WIDTH, reasoning=f"{field}: fitted, residuals not at hand: ±50%"
        )
    g = fit.groups[group]
    error = g.training.median_error if field == "training_mfu" else g.serving.median_error
    points = len(g.training.points if field == "training_mfu" else g.serving.points)
    if error is None:
        return EfficiencySpread(half_width=UNMEASURED_HALF_WIDTH, reasoning=f"{field}: no residuals: ±50%")
    half = min(UNMEASURED_HALF_WIDTH, error / MEDIAN_DEVIATION_SHARE)
    capped = " (capped at the ±50% of unmeasured figures)" if half < error / MEDIAN_DEVIATION_SHARE else ""
    return EfficiencySpread(
        half_width=round(half, 4),
        reasoning=f"{field}: calibration group {group}, median error {error:.1%} over {points} "
        f"measurements: ±{half:.0%} triangular (median deviation = median error){capped}",
    )


# --------------------------------------------------------------------------- checks across files


def uncertainty_problems(portfolio: Portfolio, catalog: Catalog) -> list[tuple[Location, str]]:
    """Workload names and option ids the block names must exist; capacity windows lie inside the
    horizon and do not overlap for one option; demand stays within what the model can price."""
    from placement.inputs.models import MAX_TOKENS, did_you_mean, last_month  # models imports this module

    block = portfolio.uncertainty
    if block is None:
        return []
    problems: list[tuple[Location, str]] = []
    workloads = {w.name: w for w in portfolio.workloads}
    for name, spread in block.workloads.items():
        where: Location = ("uncertainty", "workloads", name)
        if name not in workloads:
            hint = did_you_mean(name, list(workloads))
            problems.append((where, f"no workload {name!r} in this file{hint}"))
            continue
        w = workloads[name]
        level = w.tokens_per_month if w.kind == "inference" else w.tokens
        if level is not None and level * spread.high > MAX_TOKENS:
            problems.append(
                (
                    (*where, "high"),
                    f"{spread.high:g} × {level:.3g} tokens is above {MAX_TOKENS:.0e}, outside what the "
                    "model can price",
                )
            )
    if block.demand is not None:
        own = set(block.workloads)
        largest = max(
            (
                w.tokens_per_month or 0.0
                for w in portfolio.workloads
                if w.kind == "inference" and w.name not in own
            ),
            default=0.0,
        )
        if largest * block.demand.high > MAX_TOKENS:
            problems.append(
                (
                    ("uncertainty", "demand", "high"),
                    f"{block.demand.high:g} × {largest:.3g} tokens is above {MAX_TOKENS:.0e}, outside what "
                    "the model can price",
                )
            )
    problems += _capacity_problems(block.capacity, catalog, last_month(portfolio))
    return problems


def _capacity_problems(
    entries: tuple[CapacityRisk, ...], catalog: Catalog, last: int
) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    options = list(catalog.option_ids)
    windows: dict[str, list[tuple[int, int, int]]] = {}
    for index, entry in enumerate(entries):
        where: Location = ("uncertainty", "capacity", index)
        if entry.option not in options:
            problems.append(
                (
                    (*where, "option"),
                    f"no option {entry.option!r} in catalog {catalog.name!r}"
                    + _nearest(entry.option, options),
                )
            )
            continue
        first, end = entry.months or (1, last)
        if entry.months is not None:
            for position, month in enumerate(entry.months):
                if month > last:
                    problems.append(
                        (
                            (*where, "months", position),
                            f"month {month} is past the horizon (its last month is {last})",
                        )
                    )
        for other, (o_first, o_end) in ((i, (f, e)) for i, f, e in windows.get(entry.option, [])):
            if first <= o_end and o_first <= end:
                problems.append(
                    (
                        (*where, "months"),
                        f"overlaps capacity[{other}] (the same option, months {o_first}-{o_end}): give "
                        "each month of an option one set of outcomes",
                    )
                )
                break
        windows.setdefault(entry.option, []).append((index, first, end))
    return problems


def _nearest(option_id: str, options: list[str]) -> str:
    """The option in another region when the id is an instance type only (`trn2.48xlarge`)."""
    from placement.inputs.models import did_you_mean

    elsewhere = [o for o in options if o.startswith(option_id + "@")]
    return f" (did you mean {elsewhere[0]!r}?)" if elsewhere else did_you_mean(option_id, options)
