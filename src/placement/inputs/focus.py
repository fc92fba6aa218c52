"""Reading a FOCUS cost-and-usage export (the company's own bill): accelerator spend per instance type
and region, and the commitments in force.

FOCUS is the FinOps Foundation's FinOps Open Cost and Usage Specification
(https://focus.finops.org, repository FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec). AWS Data Exports
emit it as "FOCUS 1.0 with AWS columns" (43 FOCUS columns + `x_CostCategories`, `x_Discounts`,
`x_Operation`, `x_ServiceCode`, `x_UsageType`) and "FOCUS 1.2 with AWS columns" (57 FOCUS columns +
`x_Discounts`, `x_Operation`, `x_ServiceCode`; the usage type moved to `SkuMeter`)
(https://docs.aws.amazon.com/cur/latest/userguide/table-dictionary-focus-1-0-aws-columns.html and
.../table-dictionary-focus-1-2-aws-columns.html). CSV (plain or gzip, as Data Exports deliver it)
is streamed row by row; Parquet needs the optional `focus` extra (pyarrow) and is read in batches
of the needed columns only.

Which column carries the instance type: FOCUS 1.1+ defines `SkuPriceDetails` (JSON) with the key
`InstanceType`; it is used when present. Otherwise the EC2 usage type, `USE1-BoxUsage:p5.48xlarge`
(`x_UsageType` in AWS's FOCUS 1.0, `SkuMeter` in 1.2): the instance type is the part after the last
colon. Accelerator instance types are those of the P, G, Trn, Inf and DL families.

Rules: only `ChargeCategory` = Usage rows count as spend (upfront fees reach them amortised through
`EffectiveCost`); hours are `ConsumedQuantity` when `ConsumedUnit` is hours. A row with a
`CommitmentDiscountId` belongs to that commitment: `CommitmentDiscountStatus` Used (usage it covered)
or Unused (paid, not used). Likewise a row with a `CapacityReservationId` (FOCUS 1.1+: On-Demand
Capacity Reservations and EC2 Capacity Blocks for ML, per AWS's FOCUS 1.2 announcement) belongs to
that reservation, Used or Unused by `CapacityReservationStatus`; unused hours are not usage.
Utilisation = used ÷ (used + unused) effective cost. FOCUS 1.0/1.2 cost-and-usage rows do not
carry a commitment's end date, so the remaining term is not derivable from the file (the Contract
Commitment dataset of FOCUS 1.3 has it).

Guards: size and row limits, UTF-8 (a BOM is fine; UTF-16 and binary data are refused), required
columns named when missing, unknown columns ignored, and each malformed value reported as
`file:line: Column: message` (at most 20, then a count).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from placement.errors import InputError, Problem
from placement.inputs.loading import check_regular

MAX_FOCUS_BYTES = 20 * 2**30
MAX_ROWS = 50_000_000
MAX_FIELD_CHARS = 1 << 20
MAX_PROBLEMS = 20

REQUIRED = ("ChargeCategory", "EffectiveCost", "ChargePeriodStart", "ChargePeriodEnd", "RegionId")
INSTANCE_COLUMNS = ("SkuPriceDetails", "x_UsageType", "SkuMeter")
OPTIONAL = (
    "BilledCost",
    "ListCost",
    "ConsumedQuantity",
    "ConsumedUnit",
    "PricingCategory",
    "BillingCurrency",
    "CommitmentDiscountId",
    "CommitmentDiscountType",
    "CommitmentDiscountCategory",
    "CommitmentDiscountStatus",
    "CommitmentDiscountName",
    "CapacityReservationId",
    "CapacityReservationStatus",
)
# The columns AWS Data Exports write (table dictionaries cited in the module docstring).
FOCUS_1_0_AWS_COLUMNS = (
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription",
    "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory",
    "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice", "EffectiveCost",
    "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit",
    "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType",
    "ServiceCategory", "ServiceName", "SkuId", "SkuPriceId", "SubAccountId", "SubAccountName", "Tags",
    "x_CostCategories", "x_Discounts", "x_Operation", "x_ServiceCode", "x_UsageType",
)  # fmt: skip
FOCUS_1_2_AWS_COLUMNS = (
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType",
    "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "CapacityReservationId",
    "CapacityReservationStatus", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId",
    "CommitmentDiscountName", "CommitmentDiscountQuantity", "CommitmentDiscountStatus",
    "CommitmentDiscountType", "CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
    "ContractedUnitPrice", "EffectiveCost", "InvoiceId", "InvoiceIssuerName", "ListCost", "ListUnitPrice",
    "PricingCategory", "PricingCurrency", "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
    "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName",
    "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId",
    "SubAccountName", "SubAccountType", "Tags", "x_Discounts", "x_Operation", "x_ServiceCode",
)  # fmt: skip
# The Cost-and-Usage columns FOCUS marks mandatory (the 21 listed in FOCUS_Spec issue #1194).
FOCUS_MANDATORY = (
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost",
    "PricingQuantity",
    "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
)  # fmt: skip
ACCELERATOR = re.compile(r"^(?:p\d|g\d|trn\d|inf\d|dl\d)[a-z0-9-]*\.[a-z0-9-]+$")
_INSTANCE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")
_HOURS = {"", "hrs", "hours", "hour", "hr"}
_UNDECODABLE = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class SpendLine:
    """Accelerator usage on one instance type in one region over the file's period."""

    instance_type: str
    region: str
    hours: float
    effective_usd: float
    billed_usd: float
    list_usd: float
    committed_usd: float  # part covered by a commitment (PricingCategory Committed)


@dataclass(frozen=True)
class CommitmentInForce:
    id: str
    type: str  # CommitmentDiscountType, e.g. "Reserved Instance", "Savings Plan"
    category: str  # CommitmentDiscountCategory: "Usage" or "Spend"
    name: str
    instance_types: tuple[str, ...]  # instance types its rows name
    region: str
    used_usd: float
    unused_usd: float
    used_hours: float
    unused_hours: float

    @property
    def utilisation(self) -> float | None:
        total = self.used_usd + self.unused_usd
        return self.used_usd / total if total > 0 else None


@dataclass(frozen=True)
class FocusBill:
    path: str
    version: str  # "1.2" when 1.1+ columns are present, else "1.0"
    rows: int
    period_start: str
    period_end: str
    period_hours: float
    currency: str
    spend: tuple[SpendLine, ...]
    commitments: tuple[CommitmentInForce, ...]
    # On-Demand Capacity Reservations and EC2 Capacity Blocks (CapacityReservationId, FOCUS 1.1+):
    # paid whether used or not, like a commitment; type "Capacity reservation", category "Capacity"
    capacity_reservations: tuple[CommitmentInForce, ...]
    other_usage_usd: float  # Usage rows on non-accelerator services or instance types
    unmapped_usd: float  # Usage rows whose instance type could not be read (no column carried one)
    unmapped_rows: int


@dataclass
class _Acc:
    hours: float = 0.0
    effective: float = 0.0
    billed: float = 0.0
    listed: float = 0.0
    committed: float = 0.0


@dataclass
class _Commit:
    type: str = ""
    category: str = ""
    name: str = ""
    region: str = ""
    types: set[str] = field(default_factory=set)
    used: float = 0.0
    unused: float = 0.0
    used_hours: float = 0.0
    unused_hours: float = 0.0


def _fail(path: str, message: str, line: int | None = None, column: str = "") -> InputError:
    return InputError([Problem(path, line, column, message)])


def instance_type_of(price_details: str, usage_type: str) -> str:
    """The instance type a row names: SkuPriceDetails.InstanceType, else the usage type's tail."""
    if price_details and "InstanceType" in price_details:
        try:
            details = json.loads(price_details)
        except ValueError:
            details = None
        if isinstance(details, dict) and isinstance(details.get("InstanceType"), str):
            return str(details["InstanceType"])
    if ":" in usage_type:
        tail = usage_type.rsplit(":", 1)[1]
        if _INSTANCE.match(tail):
            return tail
    return ""


def read_focus(path: Path) -> FocusBill:
    name = str(path)
    check_regular(path, name, MAX_FOCUS_BYTES)
    with path.open("rb") as probe:
        magic = probe.read(4)
    if magic == b"PAR1":
        header, rows = _parquet_rows(path)
    else:
        header, rows = _csv_rows(path)
    return _aggregate(name, header, rows)


# --------------------------------------------------------------------------- sources of rows


def _open_text(path: Path) -> IO[str]:
    raw: IO[bytes] = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")  # type: ignore[assignment]
    head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raw.close()
        raise _fail(str(path), "UTF-16 text; export the file as UTF-8")
    # Undecodable bytes become lone surrogates, found per row below, so the error names its line.
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")


def _csv_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    name = str(path)
    csv.field_size_limit(MAX_FIELD_CHARS)
    stream = _open_text(path)
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as exc:
        stream.close()
        raise _fail(name, f"cannot read the header: {exc}", 1) from None
    if header is None:
        stream.close()
        raise _fail(name, "file is empty")
    if any("\x00" in cell for cell in header):
        stream.close()
        raise _fail(name, "binary data, not a FOCUS CSV file", 1)
    if _UNDECODABLE.search("".join(header)):
        stream.close()
        raise _fail(name, "not UTF-8 text; export the file as UTF-8", 1)

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise _fail(name, f"malformed CSV row: {exc}", reader.line_num) from None
                joined = "".join(row)
                if not joined.isascii() and _UNDECODABLE.search(joined):
                    raise _fail(name, "not UTF-8 text; export the file as UTF-8", reader.line_num)
                yield reader.line_num, row
        finally:
            stream.close()

    return [h.strip() for h in header], rows()


def _parquet_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    name = str(path)
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise _fail(name, "reading Parquet needs the 'focus' extra: pip install 'placement[focus]'") from None
    try:
        source = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own error types for a damaged file
        raise _fail(name, f"not a readable Parquet file: {exc}") from None
    header = list(source.schema_arrow.names)
    wanted = [c for c in (*REQUIRED, *INSTANCE_COLUMNS, *OPTIONAL) if c in header]

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 1  # the header is "line 1" in CSV; rows count from 2 in both forms
        for batch in source.iter_batches(batch_size=16_384, columns=wanted):
            columns = [_strings(batch.column(i)) for i in range(batch.num_columns)]
            for values in zip(*columns, strict=True):
                number += 1
                yield number, list(values)

    return wanted, rows()  # only the columns read: the rows carry those, in this order


def _strings(column: Any) -> list[str]:
    """An Arrow column as the strings a CSV export would hold (timestamps in ISO 8601, UTC)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_timestamp(kind):
        text = pc.strftime(column, format="%Y-%m-%dT%H:%M:%S")  # %S carries the unit's fraction
        return [f"{v[:19]}Z" if v else "" for v in text.to_pylist()]
    if (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_decimal(kind)
    ):
        return [v or "" for v in column.cast(pa.string()).to_pylist()]
    out = []
    for v in column.to_pylist():  # maps and structs (SkuPriceDetails, Tags) as JSON text
        if v is None:
            out.append("")
        elif isinstance(v, list):  # an Arrow map arrives as [(key, value), ...]
            out.append(json.dumps(dict(v)))
        elif isinstance(v, dict):
            out.append(json.dumps(v))
        else:
            out.append(str(v))
    return out


# --------------------------------------------------------------------------- aggregation


def _finite(text: str) -> float:
    value = float(text) if text else 0.0
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _aggregate(  # noqa: C901 (one pass over the rows, every rule in one place; kept flat for speed)
    name: str, header: list[str], rows: Iterator[tuple[int, list[str]]]
) -> FocusBill:
    missing = [c for c in REQUIRED if c not in header]
    if not any(c in header for c in INSTANCE_COLUMNS):
        missing.append(" or ".join(INSTANCE_COLUMNS))
    if missing:
        raise _fail(name, f"not a FOCUS cost-and-usage file: missing column(s) {', '.join(missing)}", 1)
    width = len(header)
    # A column the file lacks reads the empty cell appended to every row (index `width`).
    ix = {c: header.index(c) if c in header else width for c in (*REQUIRED, *INSTANCE_COLUMNS, *OPTIONAL)}
    i_start, i_end, i_category = ix["ChargePeriodStart"], ix["ChargePeriodEnd"], ix["ChargeCategory"]
    i_currency, i_commitment, i_meter, i_usage = (
        ix["BillingCurrency"],
        ix["CommitmentDiscountId"],
        ix["SkuMeter"],
        ix["x_UsageType"],
    )
    i_details, i_effective, i_unit, i_quantity = (
        ix["SkuPriceDetails"],
        ix["EffectiveCost"],
        ix["ConsumedUnit"],
        ix["ConsumedQuantity"],
    )
    i_reservation, i_reservation_status = ix["CapacityReservationId"], ix["CapacityReservationStatus"]
    i_billed, i_list, i_region, i_status, i_pricing = (
        ix["BilledCost"],
        ix["ListCost"],
        ix["RegionId"],
        ix["CommitmentDiscountStatus"],
        ix["PricingCategory"],
    )
    numbers = {i_effective: "EffectiveCost", i_quantity: "ConsumedQuantity", i_billed: "BilledCost"}
    numbers[i_list] = "ListCost"
    kinds: dict[tuple[str, str], tuple[str, bool]] = {}  # (details, usage) → (instance type, accelerator?)
    spend: dict[tuple[str, str], _Acc] = {}
    commitments: dict[str, _Commit] = {}
    reservations: dict[str, _Commit] = {}
    problems: list[Problem] = []
    extra_problems = 0
    count = 0
    other = unmapped = 0.0
    unmapped_rows = 0
    period_start = period_end = ""
    currency = ""
    for line, row in rows:
        count += 1
        if count > MAX_ROWS:
            raise _fail(name, f"more than {MAX_ROWS:,} rows; export a shorter period", line)
        if len(row) != width:
            if len(problems) < MAX_PROBLEMS:
                problems.append(Problem(name, line, "", f"{len(row)} fields, the header has {width}"))
            else:
                extra_problems += 1
            continue
        row.append("")
        start, end = row[i_start], row[i_end]
        if start and (not period_start or start < period_start):
            period_start = start
        if end > period_end:
            period_end = end
        if row[i_category] != "Usage":
            continue
        currency = currency or row[i_currency]
        commitment = row[i_commitment]
        reservation = row[i_reservation]
        usage = row[i_meter] or row[i_usage]
        key = (row[i_details], usage)
        known = kinds.get(key)
        if known is None:
            instance = instance_type_of(*key)
            known = kinds[key] = (instance, bool(instance) and bool(ACCELERATOR.match(instance)))
        instance, accelerator = known
        hours = billed = listed = 0.0
        index = i_effective
        try:
            effective = _finite(row[index])
            if accelerator or commitment or reservation:
                if row[i_unit].strip().lower() in _HOURS:
                    index = i_quantity
                    hours = _finite(row[index])
                index = i_billed
                billed = _finite(row[index])
                index = i_list
                listed = _finite(row[index])
        except ValueError:
            if len(problems) < MAX_PROBLEMS:
                problems.append(Problem(name, line, numbers[index], f"not a number: {row[index]!r}"))
            else:
                extra_problems += 1
            continue
        if not accelerator and not commitment and not reservation:
            if not instance and ("BoxUsage" in usage or "Usage:" in usage):
                unmapped += effective
                unmapped_rows += 1
            else:
                other += effective
            continue
        region = row[i_region]
        status = row[i_status]
        reservation_status = row[i_reservation_status]
        if accelerator and status != "Unused" and reservation_status != "Unused":
            acc = spend.get((instance, region))
            if acc is None:
                acc = spend[(instance, region)] = _Acc()
            acc.hours += hours
            acc.effective += effective
            acc.billed += billed
            acc.listed += listed
            if commitment or row[i_pricing] == "Committed":
                acc.committed += effective
        if commitment:
            _commit(commitments, commitment, row, ix, instance, status, effective, hours)
        if reservation:
            _commit(reservations, reservation, row, ix, instance, reservation_status, effective, hours, True)
    if problems:
        if extra_problems:
            problems.append(Problem(name, None, "", f"... and {extra_problems:,} more malformed rows"))
        raise InputError(problems)
    if count == 0:
        raise _fail(name, "no rows after the header", 2)
    return FocusBill(
        path=name,
        version="1.2"
        if any(c in header for c in ("SkuMeter", "SkuPriceDetails", "BillingAccountType"))
        else "1.0",
        rows=count,
        period_start=period_start,
        period_end=period_end,
        period_hours=_hours_between(period_start, period_end, name),
        currency=currency or "USD",
        spend=tuple(
            SpendLine(t, r, a.hours, a.effective, a.billed, a.listed, a.committed)
            for (t, r), a in sorted(spend.items())
        ),
        commitments=_in_force(commitments),
        capacity_reservations=_in_force(reservations),
        other_usage_usd=other,
        unmapped_usd=unmapped,
        unmapped_rows=unmapped_rows,
    )


def _in_force(entries: dict[str, _Commit]) -> tuple[CommitmentInForce, ...]:
    return tuple(
        CommitmentInForce(
            key,
            c.type,
            c.category,
            c.name,
            tuple(sorted(c.types)),
            c.region,
            c.used,
            c.unused,
            c.used_hours,
            c.unused_hours,
        )
        for key, c in sorted(entries.items())
    )


def _commit(
    commitments: dict[str, _Commit],
    commitment: str,
    row: list[str],
    ix: dict[str, int],
    instance: str,
    status: str,
    effective: float,
    hours: float,
    capacity: bool = False,
) -> None:
    entry = commitments.get(commitment)
    if entry is None:
        entry = commitments[commitment] = (
            _Commit(type="Capacity reservation", category="Capacity", region=row[ix["RegionId"]])
            if capacity
            else _Commit(
                type=row[ix["CommitmentDiscountType"]],
                category=row[ix["CommitmentDiscountCategory"]],
                name=row[ix["CommitmentDiscountName"]],
                region=row[ix["RegionId"]],
            )
        )
    if instance:
        entry.types.add(instance)
    if status == "Unused":
        entry.unused += effective
        entry.unused_hours += hours
    else:
        entry.used += effective
        entry.used_hours += hours


def _parse_time(text: str) -> dt.datetime:
    cleaned = text.strip().replace(" ", "T").replace("Z", "+00:00")
    moment = dt.datetime.fromisoformat(cleaned)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _hours_between(start: str, end: str, name: str) -> float:
    if not start or not end:
        raise _fail(
            name, "no ChargePeriodStart/ChargePeriodEnd values: cannot tell the period the bill covers"
        )
    try:
        hours = (_parse_time(end) - _parse_time(start)).total_seconds() / 3600
    except ValueError:
        raise _fail(name, f"cannot read the charge period {start!r} to {end!r} as timestamps") from None
    if hours <= 0:
        raise _fail(name, f"the charge period {start} to {end} is empty")
    return hours
