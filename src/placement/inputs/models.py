"""Input models: the workload file (`Portfolio`) and the catalog (`Catalog`).

Pure pydantic v2 models, frozen, `extra="forbid"` so a misspelled key is an error. No I/O here:
`loading.py` reads YAML and turns validation errors into `file:line: field: message`.
Cross-field checks that need both files, or several parts of the workload file (a `measured` option
the catalog lacks, an unknown stack item, region or codebase, a month past the horizon, an `after`
that goes round in a circle), are in `cross_check`, which returns located problems instead of raising.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date
from difflib import get_close_matches
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from placement.inputs.uncertainty import (
    PRICE_FIELDS,
    EfficiencySpread,
    OptionRanges,
    Uncertainty,
    uncertainty_problems,
)

Family = Literal["trainium", "inferentia", "gpu"]
FAMILIES: tuple[Family, ...] = ("trainium", "inferentia", "gpu")
Kind = Literal["inference", "training"]
Framework = Literal["pytorch", "jax", "tensorflow"]
Precision = Literal["bf16", "fp8"]

BYTES_PER_PARAM: dict[Precision, int] = {"bf16": 2, "fp8": 1}
TRAINING_BYTES_PER_PARAM = 16  # weights, gradients and Adam state in mixed precision

MAX_TOKENS = 1e18  # a quintillion tokens: far beyond any real run or monthly demand
_SUFFIXES = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}
_TOKEN_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([KMBGT]?)\s*$", re.I)


def parse_token_count(value: object) -> float:
    """`30B` → 3e10; accepts K, M, B (or G), T suffixes and plain numbers."""
    if isinstance(value, bool):
        raise ValueError("expected a token count such as 30B, 1.5T, 250M or a plain number")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        match = _TOKEN_RE.match(value)
        if not match:
            raise ValueError(
                f"cannot read {value!r} as a token count: use a number with an optional"
                " K, M, B or T suffix, such as 30B or 1.5T"
            )
        number = float(match.group(1)) * _SUFFIXES[match.group(2).upper()]
    else:
        raise ValueError("expected a token count such as 30B, 1.5T, 250M or a plain number")
    if not math.isfinite(number) or number <= 0:
        raise ValueError("must be a positive, finite token count")
    if number > MAX_TOKENS:
        raise ValueError(f"more than {MAX_TOKENS:.0e} tokens is outside what the model can price")
    return number


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


# Strict at the root: a number field takes a number and nothing else (not `true`, not the text
# "12"); the loader's YAML 1.2 reading already keeps `yes`, `1:30` and `012` as text.
Finite = Annotated[float, BeforeValidator(_finite), Field(strict=True, allow_inf_nan=False)]
Count = Annotated[int, Field(strict=True)]
TokenCount = Annotated[float, BeforeValidator(parse_token_count)]


def _token_count_or_zero(value: object) -> float:
    """A month's tokens: a token count, or 0 for a month without demand."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return 0.0
    return parse_token_count(value)


MonthTokens = Annotated[float, BeforeValidator(_token_count_or_zero)]
Positive = Annotated[Finite, Field(gt=0, le=1e9)]
Billions = Annotated[Finite, Field(gt=0, le=100_000)]  # up to 100T parameters
NonNegative = Annotated[Finite, Field(ge=0, le=1e9)]
Fraction = Annotated[Finite, Field(gt=0, le=1)]
Price = Annotated[Finite, Field(ge=1e-4, le=1e6)]  # USD per instance-hour: a hundredth of a cent to $1M

# Characters that print as nothing, move the cursor, reorder text or end a line: refused in names,
# and (except tab and newline) in free text. Renderers escape them too, for text that did not
# come through these types (file names).
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _unprintable(text: str, allowed: str = "") -> str | None:
    for char in text:
        if char in allowed:
            continue
        category = unicodedata.category(char)
        if category in _INVISIBLE or (category == "Zs" and char != " "):
            return f"U+{ord(char):04X} {unicodedata.name(char, 'CONTROL CHARACTER')}"
    return None


def _printable_name(value: str) -> str:
    """Names are NFC-normalised (canonically equal spellings become one) and printable."""
    value = unicodedata.normalize("NFC", value)
    if value != value.strip():
        raise ValueError("must not start or end with a space")
    bad = _unprintable(value)
    if bad is not None:
        raise ValueError(f"contains an invisible or control character ({bad}); use printable characters")
    return value


def _printable_text(value: str) -> str:
    bad = _unprintable(value, "\n\t")
    if bad is not None:
        raise ValueError(f"contains an invisible or control character ({bad})")
    return value


def name_key(name: str) -> str:
    """What two names must differ in to be distinct: NFKC folds compatibility look-alikes."""
    return unicodedata.normalize("NFKC", name)


def _real_date(value: str) -> str:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a real date (YYYY-MM-DD)") from None
    return value


Name = Annotated[str, Field(strict=True, min_length=1, max_length=200), AfterValidator(_printable_name)]
Label = Annotated[str, Field(strict=True, min_length=1, max_length=300), AfterValidator(_printable_name)]
Text = Annotated[str, Field(strict=True, min_length=1, max_length=2000), AfterValidator(_printable_text)]
Day = Annotated[str, Field(strict=True), AfterValidator(_real_date)]
MAX_MONTHS = 120  # the longest horizon (Portfolio.horizon_months)
Month = Annotated[Count, Field(ge=1, le=120)]  # 1 = the first month of the horizon


def _month_key(value: object) -> object:
    """YAML mapping keys arrive as text (the loader keeps every key a string): "4" is month 4."""
    if isinstance(value, str) and re.fullmatch(r"[1-9][0-9]{0,2}", value):
        return int(value)
    return value


MonthKey = Annotated[Month, BeforeValidator(_month_key)]
YearMonth = Annotated[str, Field(strict=True, pattern=r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$")]
Instrument = Literal["on-demand", "1-year", "3-year", "capacity-block"]
INSTRUMENTS: tuple[Instrument, ...] = ("on-demand", "1-year", "3-year", "capacity-block")


class FieldError(ValueError):
    """A model-level check that blames one field (or a path below the model): the loader points
    at that line."""

    def __init__(self, field: str | tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.location: tuple[str | int, ...] = (field,) if isinstance(field, str) else field


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


# --------------------------------------------------------------------------- workload file


class ModelSize(Frozen):
    """A published architecture by name, or a size with an optional shape (README "Model shape")."""

    name: Name | None = Field(
        default=None, description="A published architecture from the shipped table (catalogs/models.yaml)."
    )
    params_b: Billions | None = Field(default=None, description="Total parameters, in billions.")
    active_params_b: Billions | None = Field(
        default=None, description="Active parameters per token for mixture-of-experts models."
    )
    layers: Annotated[Count, Field(ge=1, le=1000)] | None = None
    hidden_size: Annotated[Count, Field(ge=1, le=1_000_000)] | None = None
    kv_heads: Annotated[Count, Field(ge=1, le=10_000)] | None = None
    head_dim: Annotated[Count, Field(ge=1, le=10_000)] | None = None

    SHAPE: ClassVar[tuple[str, ...]] = ("layers", "hidden_size", "kv_heads", "head_dim")

    @model_validator(mode="after")
    def _name_or_size(self) -> ModelSize:
        given = [f for f in ("params_b", "active_params_b", *self.SHAPE) if getattr(self, f) is not None]
        if self.name is not None:
            if given:
                raise FieldError(given[0], "give either a model name or its size and shape, not both")
            return self
        if self.params_b is None:
            raise FieldError("params_b", "give a model name (e.g. llama-3.1-8b) or params_b")
        shape = [f for f in self.SHAPE if getattr(self, f) is not None]
        if shape and len(shape) != len(self.SHAPE):
            missing = [f for f in self.SHAPE if getattr(self, f) is None]
            raise FieldError(missing[0], "give all of layers, hidden_size, kv_heads and head_dim, or none")
        if self.active_params_b is not None and self.active_params_b > self.params_b:
            raise FieldError("active_params_b", "cannot exceed params_b")
        return self

    @property
    def active_params(self) -> float:
        assert self.params_b is not None, "a named model is resolved by the loader"
        return (self.active_params_b or self.params_b) * 1e9

    @property
    def total_params(self) -> float:
        assert self.params_b is not None, "a named model is resolved by the loader"
        return self.params_b * 1e9


class Request(Frozen):
    """The mean request of an inference service."""

    input_tokens: Annotated[Finite, Field(ge=0, le=10_000_000)] = Field(
        description="Prompt tokens per request (system prompt, history and retrieved context included)."
    )
    output_tokens: Annotated[Finite, Field(ge=1, le=10_000_000)] = Field(
        description="Generated tokens per request."
    )


DEFAULT_REQUEST = Request(input_tokens=1024, output_tokens=256)
DEFAULT_SEQUENCE_LENGTH = 4096


class Measured(Frozen):
    tokens_per_second: Positive = Field(
        description="Measured throughput of one instance: generated tokens/s (inference) or "
        "trained tokens/s (training)."
    )


class Workload(Frozen):
    name: Name
    kind: Kind
    framework: Framework
    stack: tuple[Name, ...] = Field(default=(), description="Libraries that matter for porting.")
    codebase: Name | None = Field(
        default=None, description="Workloads sharing a codebase pay one port per family."
    )
    model: ModelSize
    precision: Precision = "bf16"
    portability: Literal["any", "gpu-only"] = "any"
    already_on: tuple[Family, ...] = Field(
        default=(),
        description="Families this workload already runs on today: its codebase pays no port there, "
        "and a blocked port does not rule the family out for this workload (README 'Rules').",
    )
    measured: dict[Name, Measured] = Field(default_factory=dict)
    # inference
    tokens_per_month: TokenCount | None = None
    peak_to_average: Annotated[Finite, Field(ge=1, le=1000)] | None = None
    max_ms_per_token: Positive | None = None
    request: Request | None = Field(
        default=None, description="Mean request shape; tokens_per_month counts generated tokens."
    )
    # training
    tokens: TokenCount | None = None
    runs: Annotated[Count, Field(ge=1, le=10_000)] | None = None
    deadline_days: Annotated[Finite, Field(ge=0.01, le=3650)] | None = None
    sequence_length: Annotated[Count, Field(ge=1, le=10_000_000)] | None = Field(
        default=None, description="Training sequence length in tokens (attention FLOPs)."
    )
    # time axis (README "Time axis"); months count from 1, the horizon's first month
    start_month: Month | None = Field(default=None, description="Inference: first month with demand (1).")
    end_month: Month | None = Field(default=None, description="Inference: last month with demand (the last).")
    growth_per_month: Annotated[Finite, Field(gt=-1, le=10)] | None = Field(
        default=None, description="Inference: demand grows by this fraction each month after start_month."
    )
    monthly_tokens: tuple[MonthTokens, ...] | None = Field(
        default=None,
        description="Inference: generated tokens in each month from start_month on (replaces growth); "
        "tokens_per_month, when not given, is the series' largest month.",
    )
    earliest_month: Month | None = Field(default=None, description="Training: runs start no earlier (1).")
    latest_month: Month | None = Field(
        default=None, description="Training: runs finish by the end of this month (the last)."
    )
    after: tuple[Name, ...] = Field(
        default=(), description="Training: starts only after these training workloads have finished."
    )
    regions: tuple[Name, ...] = Field(
        default=(), description="Regions this workload may run in (data residency); none given: any."
    )

    @model_validator(mode="before")
    @classmethod
    def _peak_of_series(cls, data: object) -> object:
        """`monthly_tokens` alone: tokens_per_month is its largest month (the level sized against)."""
        if isinstance(data, dict) and data.get("tokens_per_month") is None and data.get("monthly_tokens"):
            series = data["monthly_tokens"]
            if isinstance(series, list | tuple) and len(series) > MAX_MONTHS:
                return data  # refused by the field's own check, without reading every entry
            try:
                data = {**data, "tokens_per_month": max(_token_count_or_zero(v) for v in series)}
            except (TypeError, ValueError):
                pass  # the field's own validation reports the bad entry
        return data

    @field_validator("monthly_tokens", mode="before")
    @classmethod
    def _at_most_a_horizon(cls, series: object) -> object:
        if isinstance(series, list | tuple) and len(series) > MAX_MONTHS:
            raise FieldError(
                (MAX_MONTHS,),
                f"{len(series):,} months given; the longest horizon is {MAX_MONTHS} months",
            )
        return series

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Workload:
        inference_only: tuple[str, ...] = (
            "tokens_per_month",
            "peak_to_average",
            "max_ms_per_token",
            "request",
            "start_month",
            "end_month",
            "growth_per_month",
            "monthly_tokens",
        )
        training_only: tuple[str, ...] = (
            "tokens",
            "runs",
            "deadline_days",
            "sequence_length",
            "earliest_month",
            "latest_month",
        )
        if self.kind == "inference":
            wrong, needed = training_only, "tokens_per_month"
        else:
            wrong, needed = inference_only, "tokens"
        article = "an" if self.kind == "inference" else "a"
        present = [f for f in wrong if getattr(self, f) is not None]
        if present:
            raise FieldError(present[0], f"does not apply to {article} {self.kind} workload")
        if getattr(self, needed) is None:
            raise FieldError(needed, f"required for {article} {self.kind} workload")
        if self.after and self.kind != "training":
            raise FieldError("after", f"does not apply to {article} {self.kind} workload")
        if self.growth_per_month is not None and self.monthly_tokens is not None:
            raise FieldError("growth_per_month", "give growth_per_month or monthly_tokens, not both")
        first, last = self.start_month or 1, self.end_month
        if last is not None and last < first:
            raise FieldError("end_month", f"month {last} is before start_month {first}")
        if (
            self.monthly_tokens is not None
            and last is not None
            and len(self.monthly_tokens) > last - first + 1
        ):
            raise FieldError(
                "monthly_tokens", f"{len(self.monthly_tokens)} months given for months {first}..{last}"
            )
        if self.earliest_month and self.latest_month and self.latest_month < self.earliest_month:
            raise FieldError(
                "latest_month", f"month {self.latest_month} is before earliest_month {self.earliest_month}"
            )
        return self

    @property
    def codebase_name(self) -> str:
        return self.codebase or self.name

    @property
    def peak_factor(self) -> float:
        return self.peak_to_average or 1.0

    def defaults_used(self) -> list[str]:
        """The documented defaults this workload relies on, in words (explain and every plan show them)."""
        out = []
        if self.kind == "inference" and self.request is None:
            r = DEFAULT_REQUEST
            out.append(
                f"request shape not given: {r.input_tokens:g} prompt and {r.output_tokens:g} generated "
                "tokens per request (the default); tokens_per_month counts generated tokens"
            )
        if self.kind == "training" and self.sequence_length is None:
            out.append(f"sequence_length not given: {DEFAULT_SEQUENCE_LENGTH} tokens (the default)")
        if self.model.name is None and self.model.layers is None:
            out.append("model shape not given: taken from the nearest published architecture (an estimate)")
        return out

    @property
    def request_shape(self) -> Request:
        return self.request or DEFAULT_REQUEST

    @property
    def context(self) -> int:
        return self.sequence_length or DEFAULT_SEQUENCE_LENGTH

    @property
    def run_count(self) -> int:
        return self.runs or 1

    @property
    def port_items(self) -> tuple[str, ...]:
        """What must work on a new family: the framework, then each stack item."""
        return (self.framework, *self.stack)


class Policy(Frozen):
    max_family_share: Fraction | None = Field(
        default=None, description="No accelerator family above this share of compute spend."
    )
    max_region_usd: dict[Name, Annotated[Finite, Field(ge=0, le=1e13)]] = Field(
        default_factory=dict, description="Spend cap per region over the horizon, USD."
    )


class Purchase(Frozen):
    """How the plan may buy capacity (README "Purchases")."""

    allow: tuple[Instrument, ...] = Field(
        default=INSTRUMENTS, min_length=1, description="Instruments the optimizer may use."
    )
    beyond_horizon: Literal["charge-full-term", "horizon-only"] = Field(
        default="charge-full-term",
        description="A commitment whose term runs past the horizon: charged for its whole term, or only "
        "for the months inside it (the rest reported as committed spend beyond the horizon).",
    )

    @field_validator("allow", mode="before")
    @classmethod
    def _something_allowed(cls, value: object) -> object:
        if isinstance(value, list | tuple) and not value:
            raise ValueError(f"list at least one way to buy: {', '.join(INSTRUMENTS)}")
        return value


class Porting(Frozen):
    """Who ports codebases, so a port takes calendar time (README "Port schedule")."""

    engineers: Annotated[Count, Field(ge=1, le=100_000)] | None = Field(
        default=None,
        description="The shared porting team; not given: ports take no calendar time (usable in month 1).",
    )
    per_port: Annotated[Count, Field(ge=1, le=100_000)] | None = Field(
        default=None, description="Engineers on one port from the shared team (default: the whole team)."
    )
    codebases: dict[Name, Annotated[Count, Field(ge=1, le=100_000)]] = Field(
        default_factory=dict, description="Engineers a codebase ports itself with, outside the shared team."
    )

    @model_validator(mode="after")
    def _fits_team(self) -> Porting:
        if self.per_port is not None and self.engineers is None:
            raise FieldError("per_port", "give engineers (the team) too")
        if self.per_port is not None and self.engineers is not None and self.per_port > self.engineers:
            raise FieldError("per_port", f"{self.per_port} is more than the team of {self.engineers}")
        return self


class Portfolio(Frozen):
    horizon_months: Annotated[Finite, Field(gt=0, le=120)] = 12
    periods: Literal["monthly", "single"] = Field(
        default="monthly",
        description="monthly: one period per month; single: one period for the whole horizon "
        "(every workload at once, as before the time axis).",
    )
    start: YearMonth | None = Field(default=None, description="Calendar month of month 1 (YYYY-MM).")
    policy: Policy = Policy()
    purchase: Purchase = Purchase()
    porting: Porting = Porting()
    workloads: tuple[Workload, ...]
    uncertainty: Uncertainty | None = Field(
        default=None,
        description="How uncertain demand, port weeks, efficiencies and capacity are (README "
        "'Uncertainty'); not given: the documented defaults.",
    )

    @field_validator("start", mode="before")
    @classmethod
    def _calendar_month(cls, value: object) -> object:
        if isinstance(value, str) and not re.fullmatch(r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])", value):
            raise ValueError(f"{value[:40]!r} is not a calendar month: write YYYY-MM, such as 2027-01")
        return value

    @field_validator("workloads")
    @classmethod
    def _not_empty(cls, workloads: tuple[Workload, ...]) -> tuple[Workload, ...]:
        if not workloads:
            raise ValueError("list at least one workload")
        return workloads


# --------------------------------------------------------------------------- catalog


class Source(Frozen):
    title: Text
    address: Text = Field(description="URL, repository@commit path, or seed file name.")
    date_read: Day
    version: Text | None = Field(default=None, description="Version, release or commit of what was read.")
    note: Text | None = None


class Sourced(Frozen):
    """A record whose every number names a source key or carries an estimate's reasoning."""

    sources: dict[str, Name] = Field(default_factory=dict)
    estimates: dict[str, Text] = Field(default_factory=dict)
    notes: dict[str, Text] = Field(default_factory=dict)

    NUMBERS: ClassVar[tuple[str, ...]] = ()
    # Tables of numbers (a capacity calendar) that take one source or estimate for the whole table
    TABLES: ClassVar[tuple[str, ...]] = ()

    def numeric_fields(self) -> tuple[str, ...]:
        """The numbers this record holds (those left unset need no source)."""
        return tuple(name for name in self.NUMBERS if getattr(self, name) is not None)

    def sourced_fields(self) -> tuple[str, ...]:
        """The numbers and non-empty tables of numbers this record holds: each needs a source."""
        return self.numeric_fields() + tuple(name for name in self.TABLES if getattr(self, name))

    @model_validator(mode="after")
    def _every_number_sourced(self) -> Sourced:
        numeric = set(self.sourced_fields())
        for mapping, label in ((self.sources, "sources"), (self.estimates, "estimates")):
            for key in mapping:
                if key not in numeric:
                    raise ValueError(f"{label} names {key!r}, which is not a number of this record")
        unsourced = [f for f in self.sourced_fields() if f not in self.sources and f not in self.estimates]
        if unsourced:
            raise FieldError(
                unsourced[0],
                "this number has no source: name a key of the catalog's sources "
                "block under sources, or give one line of reasoning under estimates",
            )
        return self

    def is_estimate(self, field: str) -> bool:
        return field in self.estimates


# The constants fitted to published measurements (calibration/fit.yaml); the loader fills those an
# option leaves out (inputs/evidence.py).
EFFICIENCY_FIELDS = (
    "training_mfu",
    "prefill_mfu",
    "bandwidth_efficiency",
    "decode_overhead_ms",
    "collective_us",
    "link_gb_per_s",
    "max_batch",
)


class Option(Sourced):
    NUMBERS: ClassVar[tuple[str, ...]] = (
        "chips",
        "bf16_tflops",
        "fp8_tflops",
        "hbm_gib",
        "hbm_tb_per_s",
        "usd_per_hour",
        "capacity_instances",
        *EFFICIENCY_FIELDS,
        "hbm_usable_fraction",
        "one_year_usd_per_hour",
        "three_year_usd_per_hour",
        "capacity_block_usd_per_hour",
    )
    TABLES: ClassVar[tuple[str, ...]] = ("capacity_by_month",)

    id: Name
    accelerator: Name
    hardware: Name | None = Field(
        default=None,
        description="Accelerator key (e.g. h100, trn1): the fitted efficiencies of its group fill the "
        "efficiency fields this option leaves out (calibration/fit.yaml).",
    )
    family: Family
    kinds: tuple[Kind, ...] = Field(min_length=1)
    chips: Annotated[Count, Field(ge=1, le=1024)]
    bf16_tflops: Positive = Field(description="Dense BF16 TFLOPS per chip.")
    fp8_tflops: Positive | None = Field(default=None, description="Dense FP8 TFLOPS per chip.")
    hbm_gib: Positive = Field(description="Accelerator memory per chip, GiB.")
    hbm_tb_per_s: Positive = Field(description="Memory bandwidth per chip, TB/s (1e12 bytes/s).")
    usd_per_hour: Price = Field(description="On-demand price of one instance.")
    capacity_instances: Annotated[Count, Field(ge=0, le=1_000_000)] = Field(
        description="Instances obtainable at once."
    )
    training_mfu: Fraction | None = None
    prefill_mfu: Fraction = Field(description="Share of peak FLOPS reached in prefill and decode compute.")
    bandwidth_efficiency: Fraction = Field(
        description="Share of HBM bandwidth reached reading weights and KV."
    )
    decode_overhead_ms: Annotated[Finite, Field(ge=0, le=1000)] = Field(
        description="Fixed cost of one decode step (kernel launches, collectives), ms."
    )
    link_gb_per_s: Annotated[Finite, Field(gt=0, le=1e9)] = Field(
        description="Bandwidth one chip moves an all-reduce's data at, GB/s (the batch's activations)."
    )
    collective_us: Annotated[Finite, Field(ge=0, le=100_000)] = Field(
        description="Latency of one all-reduce across a tensor-parallel group, µs (two per layer)."
    )
    max_batch: Annotated[Count, Field(ge=1, le=65_536)] = Field(
        description="Largest batch per replica with public evidence on this hardware."
    )
    hbm_usable_fraction: Fraction
    one_year_usd_per_hour: Price | None = Field(default=None, description="1-year commitment, per hour.")
    three_year_usd_per_hour: Price | None = Field(default=None, description="3-year commitment, per hour.")
    capacity_block_usd_per_hour: Price | None = Field(
        default=None, description="EC2 Capacity Block price, per instance-hour."
    )
    region: Name = Field(default="", description="AWS region (default: the catalog's region).")
    on_demand: bool = Field(
        default=True,
        description="Sold on demand and by commitment in this region; false: only as Capacity Blocks "
        "(usd_per_hour is then the reference price the estimates use; note it).",
    )
    capacity_by_month: dict[MonthKey, Annotated[Count, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=dict,
        description="Capacity calendar: from month N on, this many instances at once "
        "(capacity_instances before the first month listed).",
    )
    ranges: OptionRanges | None = Field(
        default=None,
        description="Uncertain figures: a price's low / likely / high with its reasoning, and chances "
        "of capacity (README 'Uncertainty').",
    )

    @field_validator("capacity_by_month", mode="before")
    @classmethod
    def _month_keys(cls, calendar: object) -> object:
        """YAML and JSON keys are text: `5: 10` arrives as {"5": 10}. A plain month number is read
        as a number; anything else ("05", "may") stays text and is refused by name."""
        if not isinstance(calendar, dict):
            return calendar
        out = {
            int(k) if isinstance(k, str) and re.fullmatch(r"[-+]?(0|[1-9][0-9]{0,5})", k) else k: v
            for k, v in calendar.items()
        }
        for month in out:
            if isinstance(month, int) and not 1 <= month <= 120:
                raise FieldError(
                    (month,), f"month {month}: calendar months count from 1 (the horizon's first) to 120"
                )
        return out

    @model_validator(mode="after")
    def _training_needs_mfu(self) -> Option:
        if "training" in self.kinds and self.training_mfu is None:
            raise FieldError("training_mfu", "required when kinds include training")
        if not self.on_demand and self.capacity_block_usd_per_hour is None:
            raise FieldError(
                "on_demand",
                "false, and the option has no capacity_block_usd_per_hour: nothing can buy it; give "
                "its Capacity Block price or set on_demand: true",
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _ranges_around_the_figure(cls, data: object) -> object:
        """A price range without likely takes the catalog's figure as likely, which must lie between
        low and high. Filled here, on the file's data: a scenario that later changes the figure
        carries the range along in proportion (analyses/futures.py)."""
        if not isinstance(data, dict) or not isinstance(data.get("ranges"), dict):
            return data
        ranges = dict(data["ranges"])
        for field in PRICE_FIELDS:
            given, value = ranges.get(field), data.get(field)
            if not isinstance(given, dict) or "likely" in given or not isinstance(value, int | float):
                continue
            low, high = given.get("low"), given.get("high")
            if not (isinstance(low, int | float) and isinstance(high, int | float)):
                continue  # the range's own validation refuses it
            if not low <= value <= high:
                raise FieldError(
                    ("ranges", field, "low" if value < low else "high"),
                    f"the range {low:g} to {high:g} does not hold the catalog's {field} {value:g} "
                    "(likely, when not given, is the catalog's figure)",
                )
            ranges[field] = {**given, "likely": value}
        return {**data, "ranges": ranges}

    @model_validator(mode="after")
    def _ranges_name_figures(self) -> Option:
        if self.ranges is None:
            return self
        for field in self.ranges.prices():
            if getattr(self, field) is None:
                raise FieldError(("ranges", field), f"the option has no {field} to give a range for")
        spans: list[tuple[int, int, int]] = []
        for index, entry in enumerate(self.ranges.capacity):
            first, last = entry.months or (1, 120)
            for other, o_first, o_last in spans:
                if first <= o_last and o_first <= last:
                    raise FieldError(
                        ("ranges", "capacity", index, "months"),
                        f"overlaps capacity[{other}] (months {o_first}-{o_last}): give each month one "
                        "set of outcomes",
                    )
            spans.append((index, first, last))
        return self

    def peak_tflops(self, precision: Precision) -> float:
        if precision == "fp8" and self.fp8_tflops is not None:
            return self.fp8_tflops
        return self.bf16_tflops

    def effective_precision(self, precision: Precision) -> Precision:
        """A chip without FP8 runs the workload in BF16."""
        return "fp8" if precision == "fp8" and self.fp8_tflops is not None else "bf16"

    @property
    def instance_hbm_bytes(self) -> float:
        return self.chips * self.hbm_gib * 2**30

    @property
    def instance_type(self) -> str:
        """The EC2 instance type: the id up to an `@region` suffix (`trn2.48xlarge@us-east-2`)."""
        return self.id.split("@", 1)[0]

    def capacity_in(self, month: int) -> int:
        """Instances obtainable at once in a month (1-based), from the capacity calendar."""
        out = self.capacity_instances
        for start in sorted(self.capacity_by_month):
            if start <= month:
                out = self.capacity_by_month[start]
        return out

    def price(self, instrument: Instrument) -> float | None:
        """Per instance-hour under an instrument, or None where it is not sold."""
        if instrument == "on-demand":
            return self.usd_per_hour if self.on_demand else None
        if instrument == "capacity-block":
            return self.capacity_block_usd_per_hour
        if not self.on_demand:
            return None
        return self.one_year_usd_per_hour if instrument == "1-year" else self.three_year_usd_per_hour


class PortEffort(Frozen):
    """Porting one item (framework or stack entry) to one family: weeks, or blocked."""

    weeks: NonNegative | None = None
    blocked: Text | None = None
    source: Name | None = None
    estimate: Text | None = None

    @model_validator(mode="after")
    def _one_of(self) -> PortEffort:
        if (self.weeks is None) == (self.blocked is None):
            raise ValueError("give either weeks or blocked (the reason), not both")
        if self.source is None and self.estimate is None:
            raise ValueError("give a source key or an estimate's reasoning")
        return self


class Migration(Sourced):
    NUMBERS: ClassVar[tuple[str, ...]] = ("engineer_week_usd",)

    engineer_week_usd: Positive
    items: dict[Name, dict[Family, PortEffort]]

    @field_validator("items")
    @classmethod
    def _all_families(cls, items: dict[str, dict[Family, PortEffort]]) -> dict[str, dict[Family, PortEffort]]:
        for name, row in items.items():
            missing = [f for f in FAMILIES if f not in row]
            if missing:
                raise ValueError(f"item {name!r} has no entry for family {missing[0]!r}")
        return items


class Settings(Sourced):
    NUMBERS: ClassVar[tuple[str, ...]] = (
        "hours_per_month",
        "capacity_block_max_instances",
        "capacity_block_account_instances",
        "capacity_block_max_days",
        "capacity_block_lead_weeks",
    )

    hours_per_month: Positive = 730
    # EC2 Capacity Blocks for ML terms (the shipped catalog cites AWS's user guide for each); left out,
    # AWS's documented terms apply (engine/timeline.py BLOCK_TERMS) and the plan lists them as assumed
    capacity_block_max_instances: Annotated[Count, Field(ge=1, le=100_000)] | None = None
    capacity_block_account_instances: Annotated[Count, Field(ge=1, le=1_000_000)] | None = None
    capacity_block_max_days: Annotated[Count, Field(ge=1, le=3650)] | None = None
    capacity_block_lead_weeks: Annotated[Count, Field(ge=0, le=520)] | None = None


class Architecture(Frozen):
    """A published model architecture (catalogs/models.yaml), from its config file."""

    params_b: Billions
    active_params_b: Billions | None = None
    layers: Annotated[Count, Field(ge=1, le=1000)]
    hidden_size: Annotated[Count, Field(ge=1, le=1_000_000)]
    attention_heads: Annotated[Count, Field(ge=1, le=10_000)] | None = None
    kv_heads: Annotated[Count, Field(ge=1, le=10_000)]
    head_dim: Annotated[Count, Field(ge=1, le=10_000)]
    intermediate_size: Annotated[Count, Field(ge=1)] | None = None
    vocab_size: Annotated[Count, Field(ge=1)] | None = None
    max_context: Annotated[Count, Field(ge=1)] | None = None
    experts: Annotated[Count, Field(ge=1)] | None = None
    experts_per_token: Annotated[Count, Field(ge=1)] | None = None
    moe_intermediate_size: Annotated[Count, Field(ge=1)] | None = None
    tied_embeddings: bool | None = None
    kv_lora_rank: Annotated[Count, Field(ge=1)] | None = None
    qk_rope_head_dim: Annotated[Count, Field(ge=1)] | None = None
    sliding_window: Annotated[Count, Field(ge=1)] | None = None
    source: Name
    notes: Text | None = None

    @property
    def is_moe(self) -> bool:
        return self.active_params_b is not None and self.active_params_b < self.params_b


class ModelTable(Frozen):
    sources: dict[Name, Source]
    models: dict[Name, Architecture]

    @model_validator(mode="after")
    def _sourced(self) -> ModelTable:
        if not self.models:
            raise FieldError("models", "list at least one architecture")
        for name, arch in self.models.items():
            if arch.source not in self.sources:
                raise FieldError(("models", name, "source"), f"source key {arch.source!r} is not in sources")
        return self


class Catalog(Frozen):
    name: Name
    region: Name
    settings: Settings = Settings(sources={}, estimates={"hours_per_month": "AWS bills 730 h/month"})
    sources: dict[Name, Source]
    options: tuple[Option, ...]
    migration: Migration
    # Filled by the loader from the shipped files, not written in a catalog:
    models: dict[Name, Architecture] = Field(default_factory=dict)
    calibration: dict[Name, Text] = Field(
        default_factory=dict, description="Per option id: how well its figures are calibrated."
    )
    efficiency_spread: dict[Name, dict[str, EfficiencySpread]] = Field(
        default_factory=dict,
        description="Per option id and calibrated efficiency: how far it may be off, from the "
        "calibration residuals (inputs/uncertainty.py efficiency_spreads).",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_regions(cls, data: object) -> object:
        """An option without a region is in the catalog's region."""
        if isinstance(data, dict) and isinstance(data.get("options"), list | tuple):
            region = data.get("region")
            data = {
                **data,
                "options": [
                    {**o, "region": region} if isinstance(o, dict) and not o.get("region") else o
                    for o in data["options"]
                ],
            }
        return data

    @model_validator(mode="after")
    def _references(self) -> Catalog:
        if not self.options:
            raise FieldError("options", "list at least one option")
        seen: set[str] = set()
        for index, option in enumerate(self.options):
            if name_key(option.id) in seen:
                raise FieldError(("options", index, "id"), f"duplicate option id {option.id!r}")
            seen.add(name_key(option.id))
        records: list[tuple[tuple[str | int, ...], Sourced]] = [
            *((("options", i), o) for i, o in enumerate(self.options)),
            (("migration",), self.migration),
            (("settings",), self.settings),
        ]
        for where, record in records:
            for field, key in record.sources.items():
                self._check_key(key, (*where, "sources", field))
        for item, row in self.migration.items.items():
            for family, effort in row.items():
                if effort.source is not None:
                    self._check_key(effort.source, ("migration", "items", item, family, "source"))
        for framework in ("pytorch", "jax", "tensorflow"):
            if framework not in self.migration.items:
                raise FieldError(("migration", "items"), f"no entry for framework {framework!r}")
        return self

    def _check_key(self, key: str, where: tuple[str | int, ...]) -> None:
        if key not in self.sources:
            hint = did_you_mean(key, list(self.sources))
            raise FieldError(where, f"source key {key!r} is not in the sources block{hint}")

    def option(self, option_id: str) -> Option:
        for option in self.options:
            if option.id == option_id:
                return option
        raise KeyError(option_id)

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.options)

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({o.region for o in self.options}))


# --------------------------------------------------------------------------- cross checks

Location = tuple[str | int, ...]


def did_you_mean(word: str, choices: list[str]) -> str:
    near = get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


def cross_check(portfolio: Portfolio, catalog: Catalog) -> list[tuple[Location, str]]:
    """Problems that need both files, or several fields of the workload file at once: duplicate
    names, unknown options, stack items, regions and codebases, months past the horizon, `after`
    entries that name no training workload or go round in a circle, and purchase options that
    leave a workload nothing to buy."""
    return (
        _reference_problems(portfolio, catalog)
        + month_problems(portfolio)
        + order_problems(portfolio)
        + region_problems(portfolio, catalog)
        + porting_problems(portfolio)
        + purchase_problems(portfolio, catalog)
        + uncertainty_problems(portfolio, catalog)
    )


def _reference_problems(portfolio: Portfolio, catalog: Catalog) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    first_seen: dict[str, tuple[int, str]] = {}
    known_items = sorted(set(catalog.migration.items) - {"pytorch", "jax", "tensorflow"})
    options = list(catalog.option_ids)
    for index, workload in enumerate(portfolio.workloads):
        key = name_key(workload.name)
        if key in first_seen:
            first, spelled = first_seen[key]
            alike = "" if spelled == workload.name else f", written {spelled!r}: the same after Unicode NFKC"
            problems.append(
                (
                    ("workloads", index, "name"),
                    f"duplicate workload name {workload.name!r} (first used at workloads[{first}]{alike})",
                )
            )
        first_seen.setdefault(key, (index, workload.name))
        for position, item in enumerate(workload.stack):
            if item not in catalog.migration.items:
                problems.append(
                    (
                        ("workloads", index, "stack", position),
                        f"unknown stack item {item!r}{did_you_mean(item, known_items)}; "
                        f"the catalog knows: {', '.join(known_items)}",
                    )
                )
        name = workload.model.name
        if name is not None and name not in catalog.models:
            known = sorted(catalog.models)
            problems.append(
                (
                    ("workloads", index, "model", "name"),
                    f"unknown model {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}",
                )
            )
        for position, family in enumerate(workload.already_on):
            if not any(family == o.family and workload.kind in o.kinds for o in catalog.options):
                problems.append(
                    (
                        ("workloads", index, "already_on", position),
                        f"no {family} option in catalog {catalog.name!r} runs {workload.kind}, so this "
                        f"{workload.kind} workload cannot already run on {family}; list the family on "
                        "the workload that runs there",
                    )
                )
        for option_id in workload.measured:
            if option_id not in options:
                problems.append(
                    (
                        ("workloads", index, "measured", option_id),
                        f"option {option_id!r} is not in catalog {catalog.name!r}"
                        f"{did_you_mean(option_id, options)}",
                    )
                )
    return problems


def last_month(portfolio: Portfolio) -> int:
    """The horizon's last month: 12 for 12 months, 13 for 12.5 (a half month at the end)."""
    return max(1, math.ceil(portfolio.horizon_months - 1e-9))


def _some(names: list[str], limit: int = 12) -> str:
    """A readable list of names, cut after `limit` (a file may hold 10,000 workloads)."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


def month_problems(portfolio: Portfolio) -> list[tuple[Location, str]]:
    """Months past the horizon, a monthly series longer than the months left in it, and growth
    that takes demand beyond what the model can price."""
    problems: list[tuple[Location, str]] = []
    last = last_month(portfolio)
    ends = f"horizon_months: {portfolio.horizon_months:g} ends with month {last}"
    for index, w in enumerate(portfolio.workloads):
        for field in ("start_month", "end_month", "earliest_month", "latest_month"):
            month = getattr(w, field)
            if month is not None and month > last:
                problems.append(
                    (
                        ("workloads", index, field),
                        f"month {month} is past the horizon ({ends}); give a month from 1 to {last}, "
                        "or lengthen horizon_months",
                    )
                )
        first = w.start_month or 1
        if first > last or w.tokens_per_month is None:
            continue
        room = last - first + 1
        if w.monthly_tokens is not None and len(w.monthly_tokens) > room:
            problems.append(
                (
                    ("workloads", index, "monthly_tokens", room),
                    f"this entry is month {last + 1}, past the horizon ({ends}): the series starts in "
                    f"month {first}, so give at most {room} months",
                )
            )
        growth = w.growth_per_month
        if growth is not None and growth > 0:
            months = min(w.end_month or last, last) - first
            log_peak = math.log10(w.tokens_per_month) + months * math.log10(1 + growth)
            if log_peak > math.log10(MAX_TOKENS):
                problems.append(
                    (
                        ("workloads", index, "growth_per_month"),
                        f"{growth:g} a month for {months} months takes {w.tokens_per_month:.3g} tokens a "
                        f"month to 1e+{math.floor(log_peak)} by month {first + months}, beyond "
                        f"{MAX_TOKENS:.0e} tokens, which is outside what the model can price",
                    )
                )
    return problems


def order_problems(portfolio: Portfolio) -> list[tuple[Location, str]]:
    """`after` entries: each names another training workload of the file; the order has no
    cycle; and every workload keeps a month of its window once those before it have had theirs.
    With `periods: single` every workload runs in the one period, so none can wait for another."""
    problems: list[tuple[Location, str]] = []
    index_of: dict[str, int] = {}
    for index, w in enumerate(portfolio.workloads):
        index_of.setdefault(w.name, index)
    training = [w.name for w in portfolio.workloads if w.kind == "training"]
    edges: dict[int, list[tuple[int, int]]] = {}  # workload → (position in after, workload it waits for)
    for index, w in enumerate(portfolio.workloads):
        seen: dict[str, int] = {}
        for position, name in enumerate(w.after):
            where: Location = ("workloads", index, "after", position)
            if name == w.name:
                problems.append(
                    (where, f"{name!r} is this workload itself: a workload cannot wait for itself")
                )
            elif name not in index_of:
                others = [t for t in training if t != w.name]
                problems.append(
                    (where, f"no workload named {name!r} in this file{did_you_mean(name, others)}")
                )
            elif portfolio.workloads[index_of[name]].kind != "training":
                problems.append(
                    (
                        where,
                        f"{name!r} is an inference workload: `after` names training workloads, whose "
                        "runs must all be done before this one starts",
                    )
                )
            elif name in seen:
                problems.append((where, f"{name!r} is already listed at after[{seen[name]}]"))
            else:
                seen[name] = position
                edges.setdefault(index, []).append((position, index_of[name]))
    if portfolio.periods == "single":
        for index in sorted(edges):
            problems.append(
                (
                    ("workloads", index, "after"),
                    "periods: single plans the whole horizon as one period with every workload in "
                    "it, so no workload can run after another; use periods: monthly (the default) "
                    "or remove after",
                )
            )
        return problems
    cycles = _cycles(portfolio, edges)
    problems += cycles
    if not cycles:
        problems += _window_problems(portfolio, edges)
    return problems


def _cycles(portfolio: Portfolio, edges: dict[int, list[tuple[int, int]]]) -> list[tuple[Location, str]]:
    """One problem per circle of `after` entries (iterative depth-first search: a chain of
    10,000 workloads cannot overflow a stack). Each is located at the `after` entry of the
    circle's first workload in the file."""
    state: dict[int, int] = {}  # 1 on the current path, 2 done
    reported: set[int] = set()
    problems: list[tuple[Location, str]] = []
    names = [w.name for w in portfolio.workloads]
    for root in sorted(edges):
        if root in state:
            continue
        path: list[int] = [root]
        state[root] = 1
        todo: list[list[tuple[int, int]]] = [list(reversed(edges.get(root, [])))]
        while todo:
            if not todo[-1]:
                state[path.pop()] = 2
                todo.pop()
                continue
            _, nxt = todo[-1].pop()
            if state.get(nxt) == 1:
                circle = path[path.index(nxt) :]
                if reported.isdisjoint(circle):
                    reported.update(circle)
                    problems.append(_cycle_problem(circle, edges, names))
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                todo.append(list(reversed(edges.get(nxt, []))))
    return problems


def _cycle_problem(
    circle: list[int], edges: dict[int, list[tuple[int, int]]], names: list[str]
) -> tuple[Location, str]:
    start = circle.index(min(circle))
    circle = circle[start:] + circle[:start]  # from the circle's first workload in the file
    first, second = circle[0], circle[1 % len(circle)]
    position = next(p for p, target in edges[first] if target == second)
    shown = [repr(names[i]) for i in circle]
    if len(shown) > 8:
        shown = [*shown[:6], f"… {len(shown) - 7:,} more …", shown[-1]]
    chain = " → ".join([*shown, repr(names[first])])
    return (
        ("workloads", first, "after", position),
        f"the after entries go round in a circle: {chain} (each waits for the next), so none of "
        "them can ever start; remove one of these entries",
    )


def _window_problems(
    portfolio: Portfolio, edges: dict[int, list[tuple[int, int]]]
) -> list[tuple[Location, str]]:
    """A workload runs after those it names, so it cannot start before the month after their
    earliest start; if that is past its latest_month (or the horizon), no plan can order them.
    (Whether the runs fit in the months left is the optimizer's question: see `placement plan`.)"""
    last = last_month(portfolio)
    workloads = portfolio.workloads
    earliest: dict[int, int] = {}
    binding: dict[int, tuple[int, int]] = {}  # workload → (after position, workload) that sets it
    blamed: set[int] = set()  # reported, or after one that is: only the first in a chain is blamed
    problems: list[tuple[Location, str]] = []
    for index in _topological(len(workloads), edges):
        start = workloads[index].earliest_month or 1
        for position, before in edges.get(index, []):
            if earliest[before] + 1 > start:
                start, binding[index] = earliest[before] + 1, (position, before)
        earliest[index] = start
        w = workloads[index]
        latest = min(w.latest_month or last, last)
        if index not in binding or start <= latest:
            continue
        blamed.add(index)
        if any(before in blamed for _, before in edges[index]):
            continue
        position, before = binding[index]
        reason = (
            f"it runs after {workloads[before].name!r}, which cannot start before month "
            f"{earliest[before]}, so it cannot start before month {start}"
        )
        if w.latest_month is not None and w.latest_month <= last:
            problems.append(
                (
                    ("workloads", index, "latest_month"),
                    f"month {w.latest_month} leaves this workload no month: {reason}; give a later "
                    "latest_month or earlier windows to the workloads before it",
                )
            )
        else:
            problems.append(
                (
                    ("workloads", index, "after", position),
                    f"no month is left in the horizon (its last is month {last}): {reason}",
                )
            )
    return problems


def _topological(count: int, edges: dict[int, list[tuple[int, int]]]) -> list[int]:
    """Workload indexes, each after every workload it waits for (Kahn; the order has no cycle)."""
    waiting = {index: len(targets) for index, targets in edges.items()}
    followers: dict[int, list[int]] = {}
    for index, targets in edges.items():
        for _, before in targets:
            followers.setdefault(before, []).append(index)
    ready = [index for index in range(count) if not waiting.get(index)]
    out: list[int] = []
    while ready:
        index = ready.pop()
        out.append(index)
        for later in followers.get(index, []):
            waiting[later] -= 1
            if waiting[later] == 0:
                ready.append(later)
    return out


def region_problems(portfolio: Portfolio, catalog: Catalog) -> list[tuple[Location, str]]:
    """Regions a workload is pinned to, or a spend cap is set for, must hold a catalog option."""
    regions = list(catalog.regions)
    known = f"catalog {catalog.name!r} has options in {_some(regions)}"
    problems: list[tuple[Location, str]] = []
    for index, w in enumerate(portfolio.workloads):
        unknown = False
        for position, region in enumerate(w.regions):
            if region not in regions:
                unknown = True
                problems.append(
                    (
                        ("workloads", index, "regions", position),
                        f"no option is in region {region!r}{did_you_mean(region, regions)}; {known}",
                    )
                )
        if w.regions and not unknown:
            if not any(o.region in w.regions and w.kind in o.kinds for o in catalog.options):
                problems.append(
                    (
                        ("workloads", index, "regions"),
                        f"no option in {', '.join(w.regions)} runs {w.kind} in catalog {catalog.name!r}; "
                        "add a region or remove the pin",
                    )
                )
    for region in portfolio.policy.max_region_usd:
        if region not in regions:
            problems.append(
                (
                    ("policy", "max_region_usd", region),
                    f"no option is in region {region!r}{did_you_mean(region, regions)}; {known}",
                )
            )
    return problems


def porting_problems(portfolio: Portfolio) -> list[tuple[Location, str]]:
    """`porting.codebases` names codebases of the file (a workload without `codebase` is its own)."""
    codebases = sorted({w.codebase_name for w in portfolio.workloads})
    return [
        (
            ("porting", "codebases", name),
            f"no workload has codebase {name!r}{did_you_mean(name, codebases)}; the codebases are "
            f"{_some(codebases)} (a workload without codebase is its own)",
        )
        for name in portfolio.porting.codebases
        if name not in codebases
    ]


def purchase_problems(portfolio: Portfolio, catalog: Catalog) -> list[tuple[Location, str]]:
    """Every workload has an option it may run on that is sold by an instrument in
    `purchase.allow` (workloads no option can run at all are the optimizer's to explain)."""
    allow = portfolio.purchase.allow
    stranded: list[str] = []
    sold: set[str] = set()
    for w in portfolio.workloads:
        candidates = [
            o
            for o in catalog.options
            if w.kind in o.kinds
            and (not w.regions or o.region in w.regions)
            and (w.portability == "any" or o.family == "gpu")
        ]
        if candidates and not any(o.price(i) is not None for o in candidates for i in allow):
            stranded.append(repr(w.name))
            sold.update(i for o in candidates for i in INSTRUMENTS if o.price(i) is not None)
    if not stranded:
        return []
    ways = [i for i in INSTRUMENTS if i in sold]
    return [
        (
            (
                "purchase",
                "allow",
            ),
            f"allows {', '.join(allow)}, and no option that can run {_some(stranded)} is sold that "
            f"way; their options are sold as {', '.join(ways)}: allow one of those",
        )
    ]


# --------------------------------------------------------------------------- scenarios


class MonthWindow(Frozen):
    """Months of the horizon a change holds in: `first` to `last` (not given: to the horizon's end).
    Outside the window the figure keeps its value (its capacity calendar's, its demand's)."""

    first: Month
    last: Month | None = None

    @model_validator(mode="after")
    def _ordered(self) -> MonthWindow:
        if self.last is not None and self.last < self.first:
            raise FieldError("last", f"month {self.last} is before first month {self.first}")
        return self

    def end(self, months: int) -> int:
        """The last month of the window inside a horizon of `months` months."""
        return min(self.last or months, months)

    def describe(self) -> str:
        if self.last is None:
            return f"from month {self.first}"
        if self.last == self.first:
            return f"in month {self.first}"
        return f"in months {self.first}-{self.last}"


class Change(Frozen):
    """A new value for one number: `value`, or a relative `percent` change, or a `factor`; with
    `months`, only in those months of the horizon (capacity and demand vary by month; README
    "Scenarios")."""

    value: Annotated[Finite, Field(ge=0)] | None = None  # the field it lands in bounds it
    percent: Annotated[Finite, Field(gt=-100, le=10_000)] | None = None
    factor: Annotated[Finite, Field(ge=0, le=1e6)] | None = None
    months: MonthWindow | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Change:
        if sum(x is not None for x in (self.value, self.percent, self.factor)) != 1:
            raise ValueError("give exactly one of value, percent or factor")
        return self

    def apply(self, old: float) -> float:
        if self.value is not None:
            return self.value
        if self.percent is not None:
            return old * (1 + self.percent / 100)
        assert self.factor is not None
        return old * self.factor

    def describe(self) -> str:
        if self.value is not None:
            text = f"set to {self.value:g}"
        elif self.percent is not None:
            text = f"{self.percent:+g}%"
        else:
            text = f"× {self.factor:g}"
        return text if self.months is None else f"{text} {self.months.describe()}"


def _as_change(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"value": value}
    if not isinstance(value, dict | Change):
        raise ValueError(
            f"should be a number or one of {{value: N}}, {{percent: P}}, {{factor: F}}, not {value!r}"
        )
    return value


ChangeSpec = Annotated[Change, BeforeValidator(_as_change)]
OptionField = Literal[
    "usd_per_hour",
    "capacity_instances",
    "training_mfu",
    "prefill_mfu",
    "bandwidth_efficiency",
    "decode_overhead_ms",
    "collective_us",
    "link_gb_per_s",
    "max_batch",
    "hbm_usable_fraction",
    "bf16_tflops",
    "fp8_tflops",
    "hbm_gib",
    "hbm_tb_per_s",
    "one_year_usd_per_hour",
    "three_year_usd_per_hour",
    "capacity_block_usd_per_hour",
]
# What varies month by month, so a change to it may hold in a window of months only: an option's
# capacity (its calendar) and an inference workload's demand.
MONTHLY_OPTION_FIELDS = frozenset({"capacity_instances"})
MONTHLY_WORKLOAD_FIELDS = frozenset({"tokens_per_month"})


class WorkloadOverlay(Frozen):
    tokens_per_month: ChangeSpec | None = None
    peak_to_average: ChangeSpec | None = None
    tokens: ChangeSpec | None = None
    runs: ChangeSpec | None = None
    deadline_days: ChangeSpec | None = None
    max_ms_per_token: ChangeSpec | None = None


class Scenario(Frozen):
    """A what-if overlay on a catalog and a workload file (see examples/scenarios/)."""

    name: Label  # longer than a Name: a stress shock's name holds an option id and more
    reason: Text | None = Field(default=None, description="Why this scenario is worth pricing.")
    options: dict[Name, dict[OptionField, ChangeSpec]] = Field(default_factory=dict)
    remove_options: tuple[Name, ...] = ()
    engineer_week_usd: ChangeSpec | None = None
    migration_weeks: dict[Name, dict[Family, ChangeSpec]] = Field(default_factory=dict)
    demand_growth: Positive | None = Field(
        default=None,
        description="Multiplies every inference workload's demand (tokens_per_month and monthly_tokens).",
    )
    workloads: dict[Name, WorkloadOverlay] = Field(default_factory=dict)
    months: MonthWindow | None = Field(
        default=None,
        description="The shock holds in these months only: capacity changes edit the capacity calendar "
        "(the previous figure returns after the window), remove_options take the option's capacity to 0, "
        "demand_growth and tokens_per_month changes scale those months' demand.",
    )

    def window(self, change: Change) -> MonthWindow | None:
        """The months a change holds in: its own window, else the scenario's (None: the horizon)."""
        return change.months or self.months


def scenario_problems(
    scenario: Scenario, portfolio: Portfolio, catalog: Catalog
) -> list[tuple[Location, str]]:
    """References a scenario makes that the portfolio or catalog lack, changes to figures that are
    not there (nothing would change), and changes whose result the field does not allow."""
    return (
        _option_changes(scenario, catalog, last_month(portfolio))
        + _migration_changes(scenario, catalog)
        + _workload_changes(scenario, portfolio)
        + _month_window_problems(scenario, portfolio)
    )


def _scenario_changes(scenario: Scenario) -> list[tuple[Location, Change, bool]]:
    """Every change a scenario makes: (where, change, whether its figure can vary by month)."""
    changes: list[tuple[Location, Change, bool]] = [
        (("options", oid, field), change, field in MONTHLY_OPTION_FIELDS)
        for oid, row in scenario.options.items()
        for field, change in row.items()
    ]
    changes += [
        (("migration_weeks", item, family), change, False)
        for item, row in scenario.migration_weeks.items()
        for family, change in row.items()
    ]
    if scenario.engineer_week_usd is not None:
        changes.append((("engineer_week_usd",), scenario.engineer_week_usd, False))
    for name, overlay in scenario.workloads.items():
        for field in sorted(overlay.model_fields_set):
            change = getattr(overlay, field)
            if change is not None:
                changes.append((("workloads", name, field), change, field in MONTHLY_WORKLOAD_FIELDS))
    return changes


def _month_window_problems(scenario: Scenario, portfolio: Portfolio) -> list[tuple[Location, str]]:
    """Month windows inside the horizon, on changes that can vary by month, given once."""
    months = last_month(portfolio)
    problems: list[tuple[Location, str]] = []

    def inside(window: MonthWindow, where: Location) -> None:
        for end in ("first", "last"):
            month = getattr(window, end)
            if month is not None and month > months:
                problems.append(
                    (
                        (*where, end),
                        f"month {month} is after the horizon's last month ({months}: horizon_months "
                        f"{portfolio.horizon_months:g})",
                    )
                )

    if scenario.months is not None:
        inside(scenario.months, ("months",))
    for where, change, monthly in _scenario_changes(scenario):
        if change.months is not None and not monthly:
            problems.append(
                (
                    (*where, "months"),
                    f"{where[-1]} holds for the whole horizon; a month window applies to "
                    "capacity_instances and tokens_per_month only",
                )
            )
        elif change.months is not None and scenario.months is not None:
            problems.append(((*where, "months"), "the scenario gives months already; give the window once"))
        elif change.months is not None:
            inside(change.months, (*where, "months"))
        elif scenario.months is not None and not monthly:
            problems.append(
                (
                    where,
                    f"{where[-1]} holds for the whole horizon, and this scenario holds "
                    f"{scenario.months.describe()} only: a month window applies to capacity_instances, "
                    "remove_options, demand_growth and tokens_per_month; put this change in a scenario "
                    "of its own",
                )
            )
    return problems


def _no_option(option_id: str, catalog: Catalog) -> str:
    options = list(catalog.option_ids)
    return f"no option {option_id!r} in catalog {catalog.name!r}{did_you_mean(option_id, options)}"


def _option_changes(scenario: Scenario, catalog: Catalog, months: int) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    for option_id, changes in scenario.options.items():
        if option_id not in catalog.option_ids:
            problems.append((("options", option_id), _no_option(option_id, catalog)))
            continue
        option = catalog.option(option_id)
        for field, change in changes.items():
            where: Location = ("options", option_id, field)
            if field == "capacity_instances":
                problems += _changed_capacity(option, change, scenario.window(change), months, where)
            else:
                problems += _changed_figure(option, field, change, where)
    for index, option_id in enumerate(scenario.remove_options):
        if option_id not in catalog.option_ids:
            problems.append((("remove_options", index), _no_option(option_id, catalog)))
    return problems


def _migration_changes(scenario: Scenario, catalog: Catalog) -> list[tuple[Location, str]]:
    items = sorted(catalog.migration.items)
    problems: list[tuple[Location, str]] = []
    for item, row in scenario.migration_weeks.items():
        if item not in catalog.migration.items:
            problems.append(
                (("migration_weeks", item), f"unknown migration item {item!r}{did_you_mean(item, items)}")
            )
            continue
        for family, change in row.items():
            effort = catalog.migration.items[item][family]
            where: Location = ("migration_weeks", item, family)
            if effort.weeks is None:
                problems.append(
                    (where, f"{item} on {family} is blocked ({effort.blocked}): no weeks to change")
                )
            elif not 0 <= change.apply(effort.weeks) <= 1e9:
                problems.append((where, f"the change gives {change.apply(effort.weeks):g} weeks"))
    return problems


def _workload_changes(scenario: Scenario, portfolio: Portfolio) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    growth = scenario.demand_growth
    inference = [w for w in portfolio.workloads if w.kind == "inference"]
    if growth is not None and not inference:
        problems.append((("demand_growth",), "the workload file has no inference workload to grow"))
    largest = max((w.tokens_per_month or 0.0 for w in inference), default=0.0)
    if growth is not None and largest * growth > MAX_TOKENS:
        problems.append(
            (
                ("demand_growth",),
                f"grows a workload to {largest * growth:.3g} tokens a month, above {MAX_TOKENS:.0e}",
            )
        )
    workloads = {w.name: w for w in portfolio.workloads}
    for name, overlay in scenario.workloads.items():
        if name not in workloads:
            hint = did_you_mean(name, list(workloads))
            problems.append((("workloads", name), f"no workload {name!r} in the workload file{hint}"))
            continue
        workload = workloads[name]
        for overlaid in sorted(overlay.model_fields_set):
            change = getattr(overlay, overlaid)
            if change is None:
                continue
            where: Location = ("workloads", name, overlaid)
            old = getattr(workload, overlaid)
            if old is None:
                problems.append((where, f"workload {name!r} ({workload.kind}) has no {overlaid} to change"))
                continue
            new = change.apply(float(old))
            if overlaid == "runs" and math.isfinite(new):
                new = max(1, round(new))
            try:
                Workload.model_validate({**workload.model_dump(), overlaid: new})
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                message = str(first["msg"]).removeprefix("Value error, ")
                problems.append((where, f"the change gives {new:g} (was {old:g}): {message}"))
    return problems


INTEGER_FIGURES = frozenset({"capacity_instances", "max_batch"})


def capacity_calendar(
    option: Option, change: Change, window: MonthWindow | None, months: int
) -> tuple[int, dict[int, int]]:
    """An option's capacity (capacity_instances, capacity_by_month) under a change of its capacity.

    Whole horizon: the figure and every calendar entry change.  In a window of months: the
    calendar takes the changed figure from the window's first month (and at each calendar step
    inside it) and the previous calendar figure again from the month after it; the months outside
    keep theirs.  `months`: the horizon's month count (a window without `last` runs to it)."""

    def new(value: int) -> int:
        result = change.apply(float(value))
        if not math.isfinite(result):
            raise ValueError(f"the change gives {result:g}")
        return math.floor(result + 1e-9)

    calendar = option.capacity_by_month
    if window is None:
        return new(option.capacity_instances), {m: new(v) for m, v in calendar.items()}
    first, last = window.first, window.end(months)
    out = {m: v for m, v in calendar.items() if not first <= m <= last}
    for month in range(first, last + 1):
        if month == first or month in calendar:
            out[month] = new(option.capacity_in(month))
    if last < months and last + 1 not in out:
        out[last + 1] = option.capacity_in(last + 1)
    return option.capacity_instances, dict(sorted(out.items()))


def changed_figure(option: Option, field: str, change: Change) -> float:
    """The new value of one option figure under a change (whole numbers stay whole)."""
    new = change.apply(float(getattr(option, field)))
    if not math.isfinite(new):
        raise ValueError(f"the change gives {new:g}")
    if field == "capacity_instances":
        return math.floor(new + 1e-9)
    if field == "max_batch":
        return max(1, round(new))
    return new


def _changed_capacity(
    option: Option, change: Change, window: MonthWindow | None, months: int, where: Location
) -> list[tuple[Location, str]]:
    """A capacity change checked on the figure and on every calendar entry it gives."""
    try:
        instances, calendar = capacity_calendar(option, change, window, months)
        data = option.model_dump()
        Option.model_validate(
            {
                **data,
                "capacity_instances": instances,
                "capacity_by_month": calendar,
                "estimates": {**data["estimates"], "capacity_by_month": "what-if"}
                if calendar
                else data["estimates"],
            }
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = first["loc"]
        month = f" in month {loc[1]}" if len(loc) > 1 and loc[0] == "capacity_by_month" else ""
        return [
            (
                where,
                f"the change gives {first['input']}{month} (was {option.capacity_instances:g}): "
                f"{first['msg']}",
            )
        ]
    except ValueError as exc:
        return [(where, str(exc))]
    return []


def _changed_figure(
    option: Option, field: str, change: Change, where: Location
) -> list[tuple[Location, str]]:
    old = getattr(option, field)
    if old is None:
        return [(where, f"option {option.id!r} has no {field} to change")]
    try:
        new = changed_figure(option, field, change)
        Option.model_validate({**option.model_dump(), field: new})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        return [(where, f"the change gives {new:g} (was {old:g}): {first['msg']}")]
    except ValueError as exc:
        return [(where, str(exc))]
    return []
