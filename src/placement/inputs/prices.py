"""Reading AWS price files a user downloaded: EC2 offer files, Savings Plans rate files, Capacity
Block offerings. Never fetched here; nothing leaves the machine.

Formats read (public documentation: "Using the bulk API" and "Reading the offer files",
https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/using-ppslong.html, and the Savings
Plans offer file page sp-offer-file.html in the same guide):

- **EC2 offer file, JSON**: top-level `formatVersion`, `offerCode`, `version`, `publicationDate`,
  then `products{sku: {productFamily, attributes{instanceType, regionCode, operatingSystem,
  tenancy, preInstalledSw, capacitystatus, licenseModel, usagetype, operation, ...}}}` and
  `terms{OnDemand|Reserved: {sku: {offerTermCode: {priceDimensions{rateCode: {unit,
  pricePerUnit{USD}}}, termAttributes{LeaseContractLength, OfferingClass, PurchaseOption}}}}}`.
  Streamed with ijson (three passes over the file, each building one SKU's record at a time), so
  memory does not grow with the file.
- **EC2 offer file, CSV**: five metadata rows (`FormatVersion`, `Disclaimer`, `Publication Date`,
  `Version`, `OfferCode`), then a header row (`SKU, OfferTermCode, RateCode, TermType,
  PriceDescription, EffectiveDate, StartingRange, EndingRange, Unit, PricePerUnit, Currency,
  RelatedTo, LeaseContractLength, PurchaseOption, OfferingClass, Product Family, serviceCode,
  Location, Location Type, Instance Type, ..., Tenancy, ..., Operating System, License Model, ...,
  usageType, operation, CapacityStatus, ..., Pre Installed S/W, ..., Region Code, ...`).
- **Savings Plans rate file, JSON** (one per region): `products[{sku, productFamily
  (ComputeSavingsPlans | EC2InstanceSavingsPlans), attributes{purchaseOption, purchaseTerm}}]` and
  `terms{savingsPlan[{sku, leaseContractLength{duration, unit}, rates[{discountedUsageType,
  discountedOperation, discountedRate{price, currency}, discountedRegionCode?,
  discountedInstanceType?}]}]}`.
- **Capacity Block offerings, JSON**: the output of `aws ec2 describe-capacity-block-offerings`
  (`CapacityBlockOfferings[{InstanceType, AvailabilityZone, InstanceCount,
  CapacityBlockDurationHours, UpfrontFee, CurrencyCode, ...}]`). It has no publication date; the
  quote date is the file's modification date unless given.

Kept rows: Linux, shared tenancy, no pre-installed software, no license, `CapacityStatus` Used,
`RunInstances` without an OS suffix, prices in USD. A Reserved Instance or Savings Plan price is the
effective hourly rate: the hourly fee plus any upfront fee spread over the term's hours
(8,760 per year).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from placement.errors import InputError, Problem
from placement.inputs.loading import check_regular

Kind = Literal["on-demand", "reserved", "savings-plan", "capacity-block"]
HOURS_PER_YEAR = 8760
MAX_PRICE_FILE_BYTES = 20 * 2**30  # a full EC2 offer file is a few GB; refuse anything wildly larger
_USAGE_TYPE = re.compile(r"(?:^|-)(?:BoxUsage|HeavyUsage|Reservation)?:?([a-z][a-z0-9-]*\.[a-z0-9-]+)$")


@dataclass(frozen=True)
class PriceFile:
    """Where a set of prices came from."""

    path: str  # as given on the command line
    kind: Literal["ec2-json", "ec2-csv", "savings-plans-json", "capacity-blocks-json"]
    offer_code: str
    version: str
    publication_date: str  # YYYY-MM-DD


@dataclass(frozen=True)
class PriceQuote:
    """One price for one instance type in one region."""

    instance_type: str
    region: str
    kind: Kind
    term_years: int | None  # 1 or 3 for commitments
    purchase_option: str  # "No Upfront", "Partial Upfront", "All Upfront"; "" otherwise
    offering: str  # "standard"/"convertible" (RI), "EC2InstanceSavingsPlans"/"ComputeSavingsPlans" (SP)
    usd_per_hour: float  # effective: hourly fee + upfront fee / term hours
    file: PriceFile


@dataclass(frozen=True)
class PriceBook:
    files: tuple[PriceFile, ...]
    quotes: tuple[PriceQuote, ...]
    products_read: int  # products (or rows) examined, for throughput figures


def _fail(path: str, message: str, line: int | None = None, field: str = "") -> InputError:
    return InputError([Problem(path, line, field, message)])


def read_price_files(
    paths: list[Path], regions: set[str] | None, instance_types: set[str] | None, quoted_on: str | None = None
) -> PriceBook:
    """Read each file (kind detected from its content) and keep the quotes for `regions` and
    `instance_types` (None: all)."""
    files: list[PriceFile] = []
    quotes: list[PriceQuote] = []
    products = 0
    for path in paths:
        file, found, count = read_price_file(path, regions, instance_types, quoted_on)
        files.append(file)
        quotes.extend(found)
        products += count
    return PriceBook(tuple(files), tuple(quotes), products)


def read_price_file(
    path: Path, regions: set[str] | None, instance_types: set[str] | None, quoted_on: str | None = None
) -> tuple[PriceFile, list[PriceQuote], int]:
    name = str(path)
    _check_file(path)
    head = _head(path)
    if head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff"):
        raise _fail(name, "UTF-16 text; AWS price files are UTF-8")
    if b"\x00" in head:
        raise _fail(name, "binary data, not a price file")
    text_head = head.decode("utf-8", errors="replace").lstrip("\ufeff \r\n\t")
    if text_head.startswith('"FormatVersion"') or text_head.startswith("FormatVersion"):
        return _read_csv(path, regions, instance_types)
    if not text_head.startswith("{"):
        raise _fail(name, "not an AWS price file: expected a JSON offer file or the CSV form", 1)
    if '"CapacityBlockOfferings"' in text_head:
        return _read_capacity_blocks(path, regions, instance_types, quoted_on)
    if '"savingsPlan' in text_head or "SavingsPlans" in text_head:
        return _read_savings_plans(path, regions, instance_types)
    return _read_offer_json(path, regions, instance_types)


def _check_file(path: Path) -> None:
    name = str(path)
    check_regular(path, name, MAX_PRICE_FILE_BYTES)


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _head(path: Path) -> bytes:
    try:
        with _open(path) as stream:
            return stream.read(4096)
    except (OSError, EOFError) as exc:
        raise _fail(str(path), f"cannot read: {exc}") from None


def _date(value: str, name: str, field: str) -> str:
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        raise _fail(name, f"not a date: {value!r}", None, field) from None


def _price(value: object, name: str, where: str) -> float:
    try:
        number = float(str(value))
    except ValueError:
        raise _fail(name, f"not a price: {value!r}", None, where) from None
    if not (number >= 0 and number < 1e9):
        raise _fail(name, f"price out of range: {value!r}", None, where)
    return number


def _years(value: str) -> int | None:
    return {"1yr": 1, "3yr": 3, "1 yr": 1, "3 yr": 3}.get(value.strip().lower())


def _wanted_product(attributes: dict[str, Any], regions: set[str] | None, types: set[str] | None) -> bool:
    instance_type = str(attributes.get("instanceType", ""))
    if not instance_type or (types is not None and instance_type not in types):
        return False
    return (
        (regions is None or str(attributes.get("regionCode", "")) in regions)
        and attributes.get("operatingSystem") == "Linux"
        and attributes.get("tenancy") == "Shared"
        and attributes.get("preInstalledSw", "NA") == "NA"
        and attributes.get("licenseModel", "No License required") == "No License required"
        and attributes.get("capacitystatus", "Used") == "Used"
        and str(attributes.get("operation", "RunInstances")) == "RunInstances"
    )


# --------------------------------------------------------------------------- EC2 offer file, JSON


def _structure(name: str, where: str) -> InputError:
    return _fail(name, "not the structure of an AWS price file here", None, where)


def _json_errors() -> tuple[type[BaseException], ...]:
    import ijson

    return (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError, ValueError)


def _header(path: Path) -> dict[str, str]:
    """The top-level scalars before `products` (format, offer code, version, publication date)."""
    import ijson

    header: dict[str, str] = {}
    with _open(path) as stream:
        try:
            for prefix, event, value in ijson.parse(stream):
                if prefix in ("products", "terms") and event in ("start_map", "start_array"):
                    break
                if "." not in prefix and event in ("string", "number") and prefix:
                    header[prefix] = str(value)
        except _json_errors() as exc:
            raise _fail(str(path), f"not valid JSON: {exc}") from None
    return header


def _read_offer_json(
    path: Path, regions: set[str] | None, types: set[str] | None
) -> tuple[PriceFile, list[PriceQuote], int]:
    import ijson

    name = str(path)
    header = _header(path)
    for key in ("offerCode", "publicationDate"):
        if key not in header:
            raise _fail(name, f"not an AWS offer file: no {key!r} before the products", 1, key)
    file = PriceFile(
        name,
        "ec2-json",
        header["offerCode"],
        header.get("version", ""),
        _date(header["publicationDate"], name, "publicationDate"),
    )
    wanted: dict[str, tuple[str, str]] = {}
    count = 0
    try:
        with _open(path) as stream:
            for sku, product in ijson.kvitems(stream, "products"):
                count += 1
                attributes = product.get("attributes", {}) if isinstance(product, dict) else {}
                if isinstance(attributes, dict) and _wanted_product(attributes, regions, types):
                    wanted[str(sku)] = (str(attributes["instanceType"]), str(attributes["regionCode"]))
        quotes: list[PriceQuote] = []
        for term_type in ("OnDemand", "Reserved"):
            with _open(path) as stream:
                for sku, offers in ijson.kvitems(stream, f"terms.{term_type}"):
                    if sku in wanted:
                        try:
                            quotes.extend(_json_terms(file, term_type, wanted[sku], offers))
                        except (AttributeError, TypeError, KeyError):
                            raise _structure(name, f"terms.{term_type}.{sku}") from None
    except _json_errors() as exc:
        raise _fail(name, f"not valid JSON: {exc}") from None
    return file, quotes, count


def _json_terms(
    file: PriceFile, term_type: str, product: tuple[str, str], offers: dict[str, Any]
) -> Iterator[PriceQuote]:
    for code, offer in sorted(offers.items()):
        hourly = upfront = 0.0
        ok = False
        for dimension in offer.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if usd is None:
                continue
            value = _price(usd, file.path, f"terms.{term_type}.{code}.pricePerUnit")
            if dimension.get("unit") == "Hrs":
                hourly, ok = value, True
            elif dimension.get("unit") == "Quantity":
                upfront, ok = value, True
        attributes = offer.get("termAttributes", {})
        quote = _quote(file, term_type, product, hourly, upfront, attributes) if ok else None
        if quote is not None:
            yield quote


def _quote(
    file: PriceFile,
    term_type: str,
    product: tuple[str, str],
    hourly: float,
    upfront: float,
    attributes: dict[str, Any],
) -> PriceQuote | None:
    instance_type, region = product
    if term_type == "OnDemand":
        if hourly <= 0:
            return None
        return PriceQuote(instance_type, region, "on-demand", None, "", "", hourly, file)
    years = _years(str(attributes.get("LeaseContractLength", "")))
    if years is None:
        return None
    effective = hourly + upfront / (years * HOURS_PER_YEAR)
    if effective <= 0:
        return None
    return PriceQuote(
        instance_type,
        region,
        "reserved",
        years,
        str(attributes.get("PurchaseOption", "")),
        str(attributes.get("OfferingClass", "")),
        round(effective, 6),
        file,
    )


# --------------------------------------------------------------------------- EC2 offer file, CSV

CSV_METADATA_ROWS = 5
CSV_REQUIRED = (
    "SKU",
    "TermType",
    "Unit",
    "PricePerUnit",
    "Currency",
    "LeaseContractLength",
    "PurchaseOption",
    "OfferingClass",
    "Instance Type",
    "Region Code",
    "Operating System",
    "Tenancy",
)


def _read_csv(
    path: Path, regions: set[str] | None, types: set[str] | None
) -> tuple[PriceFile, list[PriceQuote], int]:
    name = str(path)
    csv.field_size_limit(1 << 20)
    with _open(path) as raw:
        stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(stream)
        try:
            meta = {
                row[0]: row[1]
                for row in (next(reader, []) for _ in range(CSV_METADATA_ROWS))
                if len(row) >= 2
            }
            header = next(reader, None)
            if header is None or "Publication Date" not in meta:
                raise _fail(name, "not an AWS offer CSV: expected 5 metadata rows then the header", 1)
            missing = [c for c in CSV_REQUIRED if c not in header]
            if missing:
                raise _fail(name, f"header lacks column(s): {', '.join(missing)}", reader.line_num)
            file = PriceFile(
                name,
                "ec2-csv",
                meta.get("OfferCode", ""),
                meta.get("Version", ""),
                _date(meta["Publication Date"], name, "Publication Date"),
            )
            at = {column: header.index(column) for column in header}
            quotes, count = _csv_rows(reader, at, file, regions, types)
        except UnicodeDecodeError as exc:
            raise _fail(name, f"not UTF-8 text ({exc.reason})", reader.line_num + 1) from None
        except csv.Error as exc:
            raise _fail(name, f"malformed CSV: {exc}", reader.line_num) from None
    return file, quotes, count


def _csv_rows(
    reader: Any, at: dict[str, int], file: PriceFile, regions: set[str] | None, types: set[str] | None
) -> tuple[list[PriceQuote], int]:
    def get(row: list[str], column: str, default: str = "") -> str:
        index = at.get(column)
        return row[index] if index is not None and index < len(row) else default

    # A reserved offer is two rows (hourly fee, upfront fee) sharing SKU and OfferTermCode.
    pending: dict[tuple[str, str], list[Any]] = {}
    quotes: list[PriceQuote] = []
    count = 0
    for row in reader:
        count += 1
        instance_type = get(row, "Instance Type")
        if not instance_type or (types is not None and instance_type not in types):
            continue
        attributes = {
            "instanceType": instance_type,
            "regionCode": get(row, "Region Code"),
            "operatingSystem": get(row, "Operating System"),
            "tenancy": get(row, "Tenancy"),
            "preInstalledSw": get(row, "Pre Installed S/W", "NA"),
            "licenseModel": get(row, "License Model", "No License required"),
            "capacitystatus": get(row, "CapacityStatus", "Used"),
            "operation": get(row, "operation", "RunInstances"),
        }
        if not _wanted_product(attributes, regions, types) or get(row, "Currency") != "USD":
            continue
        where = f"PricePerUnit (line {reader.line_num})"
        value = _price(get(row, "PricePerUnit"), file.path, where)
        term_type = get(row, "TermType")
        product = (instance_type, attributes["regionCode"])
        if term_type == "OnDemand" and get(row, "Unit") == "Hrs":
            quote = _quote(file, "OnDemand", product, value, 0.0, {})
            if quote is not None:
                quotes.append(quote)
        elif term_type == "Reserved":
            key = (get(row, "SKU"), get(row, "OfferTermCode"))
            entry = pending.setdefault(
                key,
                [
                    product,
                    0.0,
                    0.0,
                    {
                        "LeaseContractLength": get(row, "LeaseContractLength"),
                        "PurchaseOption": get(row, "PurchaseOption"),
                        "OfferingClass": get(row, "OfferingClass"),
                    },
                ],
            )
            if get(row, "Unit") == "Hrs":
                entry[1] = value
            elif get(row, "Unit") == "Quantity":
                entry[2] = value
    for key in sorted(pending):
        product, hourly, upfront, attributes = pending[key]
        quote = _quote(file, "Reserved", product, hourly, upfront, attributes)
        if quote is not None:
            quotes.append(quote)
    return quotes, count


# --------------------------------------------------------------------------- Savings Plans


def _read_savings_plans(
    path: Path, regions: set[str] | None, types: set[str] | None
) -> tuple[PriceFile, list[PriceQuote], int]:
    import ijson

    name = str(path)
    header = _header(path)
    if "publicationDate" not in header:
        raise _fail(name, "not a Savings Plans rate file: no 'publicationDate'", 1, "publicationDate")
    file = PriceFile(
        name,
        "savings-plans-json",
        header.get("offerCode", "SavingsPlans"),
        header.get("version", ""),
        _date(header["publicationDate"], name, "publicationDate"),
    )
    plans: dict[str, tuple[str, str]] = {}
    quotes: list[PriceQuote] = []
    count = 0
    try:
        with _open(path) as stream:
            for index, product in enumerate(ijson.items(stream, "products.item")):
                try:
                    attributes = product.get("attributes", {})
                    plans[str(product.get("sku"))] = (
                        str(product.get("productFamily", "")),
                        str(attributes.get("purchaseOption", "")),
                    )
                except (AttributeError, TypeError):
                    raise _structure(name, f"products[{index}]") from None
        with _open(path) as stream:
            for index, term in enumerate(ijson.items(stream, "terms.savingsPlan.item")):
                try:
                    count += _sp_term(file, term, plans, regions, types, quotes)
                except (AttributeError, TypeError, KeyError):
                    raise _structure(name, f"terms.savingsPlan[{index}]") from None
    except _json_errors() as exc:
        raise _fail(name, f"not valid JSON: {exc}") from None
    return file, quotes, count


def _sp_term(
    file: PriceFile,
    term: dict[str, Any],
    plans: dict[str, tuple[str, str]],
    regions: set[str] | None,
    types: set[str] | None,
    quotes: list[PriceQuote],
) -> int:
    family, purchase = plans.get(str(term.get("sku")), ("", ""))
    length = term.get("leaseContractLength", {})
    try:
        years = int(length.get("duration", 0)) if str(length.get("unit", "year")) == "year" else 0
    except ValueError:
        years = 0
    if years not in (1, 3):
        return 0
    rates = term.get("rates", [])
    for rate in rates:
        quote = _sp_quote(file, rate, family, purchase, years, regions, types)
        if quote is not None:
            quotes.append(quote)
    return len(rates)


def _sp_quote(
    file: PriceFile,
    rate: dict[str, Any],
    family: str,
    purchase: str,
    years: int,
    regions: set[str] | None,
    types: set[str] | None,
) -> PriceQuote | None:
    usage = str(rate.get("discountedUsageType", ""))
    if "BoxUsage" not in usage or str(rate.get("discountedOperation", "")) != "RunInstances":
        return None
    match = _USAGE_TYPE.search(usage)
    instance_type = str(rate.get("discountedInstanceType") or (match.group(1) if match else ""))
    region = str(rate.get("discountedRegionCode", ""))
    if not instance_type or (regions is not None and region not in regions):
        return None
    if types is not None and instance_type not in types:
        return None
    price = rate.get("discountedRate", {})
    if price.get("currency", "USD") != "USD":
        return None
    value = _price(price.get("price"), file.path, "discountedRate.price")
    if value <= 0:
        return None
    return PriceQuote(instance_type, region, "savings-plan", years, purchase, family, value, file)


# --------------------------------------------------------------------------- Capacity Blocks


def _read_capacity_blocks(
    path: Path, regions: set[str] | None, types: set[str] | None, quoted_on: str | None
) -> tuple[PriceFile, list[PriceQuote], int]:
    import ijson

    name = str(path)
    date = quoted_on or dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date().isoformat()
    file = PriceFile(name, "capacity-blocks-json", "CapacityBlockOfferings", "", date)
    per_hour: dict[tuple[str, str], list[float]] = {}
    count = 0
    try:
        with _open(path) as stream:
            for offering in ijson.items(stream, "CapacityBlockOfferings.item"):
                count += 1
                if not isinstance(offering, dict):
                    raise _structure(name, f"CapacityBlockOfferings[{count - 1}]")
                instance_type = str(offering.get("InstanceType", ""))
                zone = str(offering.get("AvailabilityZone", ""))
                region = re.sub(r"[a-z]$", "", zone)
                if (regions is not None and region not in regions) or (
                    types is not None and instance_type not in types
                ):
                    continue
                if str(offering.get("CurrencyCode", "USD")) != "USD":
                    continue
                where = f"CapacityBlockOfferings[{count - 1}]"
                fee = _price(offering.get("UpfrontFee"), name, f"{where}.UpfrontFee")
                hours = _price(
                    offering.get("CapacityBlockDurationHours"), name, f"{where}.CapacityBlockDurationHours"
                )
                instances = _price(offering.get("InstanceCount"), name, f"{where}.InstanceCount")
                if hours > 0 and instances > 0 and fee > 0:
                    per_hour.setdefault((instance_type, region), []).append(fee / (hours * instances))
    except _json_errors() as exc:
        raise _fail(name, f"not valid JSON: {exc}") from None
    quotes = [
        PriceQuote(
            t, r, "capacity-block", None, "", "median of offerings", round(statistics.median(v), 6), file
        )
        for (t, r), v in sorted(per_hour.items())
    ]
    return file, quotes, count
