"""The evidence behind the performance model: published measurements and the constants fitted to them.

- `calibration/measurements.yaml`: published, measured throughputs for named model × hardware
  pairs, each with its source and its conditions (`MeasurementSet`).
- `calibration/fit.yaml`: the efficiency constants `placement calibrate --fit` derives from them,
  per hardware group, with the points used and the residuals (`Fit`).
A catalog option names its `hardware`; the constants of that hardware's group fill the efficiency
fields the option leaves out, each citing the fit (`fill_from_fit`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from placement.inputs.models import FieldError, Frozen, Name, Source, Text, _finite

Count = Annotated[float, BeforeValidator(_finite), Field(gt=0, le=1e12)]
Hardware = Literal[
    "trn1",
    "trn2",
    "trn3",
    "inf2",
    "a100-40gb",
    "a100-80gb",
    "h100",
    "h200",
    "b200",
    "b300",
    "gb200",
    "l40s",
    "l4",
    "a10g",
]
MeasuredPrecision = Literal["bf16", "fp16", "fp8", "int8", "fp4", "int4"]


class Measurement(Frozen):
    """One published, measured condition (README "Calibration")."""

    id: Name
    source: Name
    kind: Literal["inference", "training"]
    hardware: Hardware
    option: Name | None = None
    chips: Annotated[int, Field(ge=1, le=100_000)]
    model: Name
    params_b: Count
    active_params_b: Count | None = None
    precision: MeasuredPrecision
    engine: Text | None = None
    tp: Annotated[int, Field(ge=1)] | None = None
    tp_unit: Literal["neuroncores", "chips"] | None = None
    replicas: Annotated[int, Field(ge=1)] | None = None
    batch: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    input_tokens: Count | None = None
    output_tokens: Count | None = None
    output_tokens_per_s: Count | None = None
    total_tokens_per_s: Count | None = None
    tpot_ms: Count | None = None
    ttft_ms: Count | None = None
    nodes: Annotated[int, Field(ge=1)] | None = None
    sequence_length: Annotated[int, Field(ge=1)] | None = None
    global_batch_sequences: Count | None = None
    tokens_per_s: Count | None = None
    sequences_per_s: Count | None = None
    mfu: Annotated[float, Field(gt=0, le=1)] | None = None
    notes: Text | None = None

    @model_validator(mode="after")
    def _enough(self) -> Measurement:
        if self.kind == "inference":
            if self.input_tokens is None or self.output_tokens is None:
                raise FieldError(
                    "input_tokens", "an inference measurement needs input_tokens and output_tokens"
                )
            if self.output_tokens_per_s is None and self.total_tokens_per_s is None and self.tpot_ms is None:
                raise FieldError(
                    "output_tokens_per_s", "give output_tokens_per_s, total_tokens_per_s or tpot_ms"
                )
        else:
            if self.sequence_length is None:
                raise FieldError("sequence_length", "a training measurement needs its sequence_length")
            if self.tokens_per_s is None and self.sequences_per_s is None:
                raise FieldError("tokens_per_s", "give tokens_per_s or sequences_per_s")
        return self

    @property
    def training_tokens_per_s(self) -> float:
        if self.tokens_per_s is not None:
            return self.tokens_per_s
        assert self.sequences_per_s is not None and self.sequence_length is not None
        return self.sequences_per_s * self.sequence_length


class MeasurementSet(Frozen):
    sources: dict[Name, Source]
    measurements: tuple[Measurement, ...]
    gaps: tuple[Text, ...] = ()

    @model_validator(mode="after")
    def _references(self) -> MeasurementSet:
        seen: set[str] = set()
        for index, m in enumerate(self.measurements):
            if m.id in seen:
                raise FieldError(("measurements", index, "id"), f"duplicate measurement id {m.id!r}")
            seen.add(m.id)
            if m.source not in self.sources:
                raise FieldError(
                    ("measurements", index, "source"), f"source key {m.source!r} is not in sources"
                )
        return self


class ServingFit(Frozen):
    bandwidth_efficiency: Annotated[float, Field(gt=0, le=1)]
    decode_overhead_ms: Annotated[float, Field(ge=0)]
    collective_us: Annotated[float, Field(ge=0)] = 0.0
    link_gb_per_s: Annotated[float, Field(gt=0)] | None = None  # None: no bandwidth term
    prefill_mfu: Annotated[float, Field(gt=0, le=1)]
    max_batch: Annotated[int, Field(ge=1)]
    max_batch_evidence: Text
    points: tuple[Name, ...] = ()
    fitted: tuple[str, ...] = ()  # which constants this group's own points determine
    borrowed_from: Name | None = None  # the group the other constants come from
    median_error: float | None = None  # median |predicted / measured − 1| over the points
    worst_ratio: float | None = None  # the predicted / measured ratio furthest from 1
    by_hardware: dict[Name, int] = Field(default_factory=dict)  # points per hardware of the group
    largest_batch: int | None = None  # the largest batch per replica the group's own points state
    precisions: tuple[Name, ...] = ()  # the weight precisions the points ran


class TrainingFit(Frozen):
    training_mfu: Annotated[float, Field(gt=0, le=1)]
    points: tuple[Name, ...] = ()
    borrowed_from: Name | None = None
    median_error: float | None = None
    worst_ratio: float | None = None
    by_hardware: dict[Name, int] = Field(default_factory=dict)


class FitGroup(Frozen):
    hardware: tuple[Hardware, ...]
    serving: ServingFit
    training: TrainingFit


class Fit(Frozen):
    generated_by: Text
    measurements_sha256: Name
    date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    groups: dict[Name, FitGroup]

    def group_of(self, hardware: str) -> str | None:
        for name, group in self.groups.items():
            if hardware in group.hardware:
                return name
        return None


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.0f}%"


WIDER = "uncertainty ±50%"


def serving_status(fit: Fit, group: str, hardware: str) -> str:
    """How well serving figures on this hardware are calibrated, in words (every plan shows it)."""
    s = fit.groups[group].serving
    own = s.by_hardware.get(hardware, 0)
    if not s.points:
        return f"serving: no public measurement; constants borrowed from group {s.borrowed_from} ({WIDER})"
    others = ", ".join(h for h in s.by_hardware if h != hardware)
    if not own:
        return (
            f"serving: no public measurement on {hardware}; constants fitted on {others} "
            f"({len(s.points)} measurements) ({WIDER})"
        )
    text = f"serving: {own} measurements on {hardware}"
    if len(s.points) > own:
        text += f" ({len(s.points)} in group {group})"
    text += f", median error {_pct(s.median_error)}, measured at {'/'.join(s.precisions)}"
    if s.borrowed_from:
        text += (
            f"; {', '.join(c for c in ('bandwidth_efficiency', 'prefill_mfu') if c not in s.fitted)} from "
            f"group {s.borrowed_from}"
        )
    if s.largest_batch is not None and s.largest_batch < s.max_batch:
        text += f"; batches above {s.largest_batch} are extrapolated (no public measurement; {WIDER})"
    return text


def training_status(fit: Fit, group: str, hardware: str) -> str:
    t = fit.groups[group].training
    own = t.by_hardware.get(hardware, 0)
    if not t.points:
        return f"training: no public measurement; MFU borrowed from group {t.borrowed_from} ({WIDER})"
    if not own:
        others = ", ".join(t.by_hardware)
        return f"training: no public measurement on {hardware}; MFU fitted on {others} ({WIDER})"
    return f"training: {own} measurements on {hardware}, median error {_pct(t.median_error)}"


def measured_on(fit: Fit, group: str, hardware: str, field: str) -> bool:
    """Whether this field's value rests on measurements of this very hardware."""
    g = fit.groups[group]
    if field == "training_mfu":
        return g.training.by_hardware.get(hardware, 0) > 0
    if not g.serving.by_hardware.get(hardware, 0):
        return False
    return field == "max_batch" or field in g.serving.fitted


def _reason(fit: Fit, group: str, hardware: str, field: str) -> str:
    """Why a filled constant is an estimate for this hardware, in words."""
    g = fit.groups[group]
    if field != "training_mfu" and g.serving.by_hardware.get(hardware, 0):
        return (
            f"the {g.serving.by_hardware[hardware]} measurements on {hardware} do not determine it; taken "
            f"from group {g.serving.borrowed_from} ({WIDER})"
        )
    status = (training_status if field == "training_mfu" else serving_status)(fit, group, hardware)
    return status.split(": ", 1)[1]


def _fill_option(option: dict[str, Any], fit: Fit, group: str) -> dict[str, Any]:
    g = fit.groups[group]
    values = {
        "training_mfu": g.training.training_mfu,
        "prefill_mfu": g.serving.prefill_mfu,
        "bandwidth_efficiency": g.serving.bandwidth_efficiency,
        "decode_overhead_ms": g.serving.decode_overhead_ms,
        "collective_us": g.serving.collective_us,
        "link_gb_per_s": g.serving.link_gb_per_s or 1e9,
        "max_batch": g.serving.max_batch,
    }
    option = dict(option)
    cited = dict(option["sources"]) if isinstance(option.get("sources"), dict) else {}
    estimates = dict(option["estimates"]) if isinstance(option.get("estimates"), dict) else {}
    for field, value in values.items():
        if field in option or (field == "training_mfu" and "training" not in (option.get("kinds") or ())):
            continue
        option[field] = value
        if measured_on(fit, group, option["hardware"], field):
            cited[field] = f"fit-{group}"
        else:
            estimates[field] = f"{_reason(fit, group, option['hardware'], field)} (fit {fit.date})"
    option["sources"] = cited
    if estimates:
        option["estimates"] = estimates
    return option


def fill_from_fit(data: dict[str, Any], fit: Fit, fit_address: str) -> dict[str, Any]:
    """The catalog document with every option's missing efficiency fields taken from its hardware
    group's fit, each citing the fit (a source key `fit-<group>` added to the sources block)."""
    out = dict(data)
    options = out.get("options")
    if not isinstance(options, list):
        return out
    sources = dict(out["sources"]) if isinstance(out.get("sources"), dict) else None
    filled: list[Any] = []
    for option in options:
        group = (
            fit.group_of(option["hardware"])
            if isinstance(option, dict) and isinstance(option.get("hardware"), str)
            else None
        )
        if group is None:
            filled.append(option)
            continue
        filled.append(_fill_option(option, fit, group))
        if sources is not None:
            g = fit.groups[group]
            sources[f"fit-{group}"] = {
                "title": f"placement calibrate --fit, group {group} ({', '.join(g.hardware)}): "
                f"{len(g.serving.points)} serving and {len(g.training.points)} training measurements",
                "address": fit_address,
                "date_read": fit.date,
            }
    out["options"] = filled
    if sources is not None:
        out["sources"] = sources
    return out
