"""A catalog updated from price files: which numbers change, which options the files lack.

Per option, matched by its instance type (the id up to any `@region`) and its own region:
- `usd_per_hour` ← the On-Demand price;
- `one_year_usd_per_hour`, `three_year_usd_per_hour` ← the commitment chosen (`reserved`: a
  standard Reserved Instance; `instance-savings-plan` / `compute-savings-plan`: the Savings Plan
  rate), at the purchase option chosen (default No Upfront), as an effective hourly rate;
- `capacity_block_usd_per_hour` ← the median per-instance-hour rate of the Capacity Block offerings;
  an option sold only as Capacity Blocks (`on_demand: false`) takes it as its `usd_per_hour` too
  (the reference price its estimates use).
Each number set names a new source: the file, its offer code and version, its publication date.
A number set from a file replaces an estimate for that field (the estimate's reasoning and any
note on the old number are dropped). An option the files do not price is kept as it was and
reported; nothing is removed. When several files price the same number, the latest publication
date wins (then the order given).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from placement.errors import InputError, Problem
from placement.inputs.evidence import fill_from_fit
from placement.inputs.loading import Document, catalog_from_document, default_catalog_document, read_yaml
from placement.inputs.models import Catalog, Option
from placement.inputs.prices import PriceBook, PriceFile, PriceQuote
from placement.inputs.shipped import shipped_fit

Commitment = Literal["reserved", "instance-savings-plan", "compute-savings-plan"]
COMMITMENTS: tuple[Commitment, ...] = ("reserved", "instance-savings-plan", "compute-savings-plan")
PURCHASE_OPTIONS = ("No Upfront", "Partial Upfront", "All Upfront")
FIELDS = ("usd_per_hour", "one_year_usd_per_hour", "three_year_usd_per_hour", "capacity_block_usd_per_hour")


@dataclass(frozen=True)
class PriceChange:
    option: str
    field: str
    old: float | None
    new: float
    source: str  # key in the catalog's sources block


@dataclass(frozen=True)
class PriceUpdate:
    catalog: str
    region: str
    files: tuple[PriceFile, ...]
    changes: tuple[PriceChange, ...]  # every number set, changed or not
    missing: tuple[str, ...]  # options no file prices (kept as they were)
    partial: tuple[tuple[str, str], ...]  # (option, field) the files do not price (kept)
    hours_per_month: float
    text: str  # the new catalog, YAML


def base_document(path: Path | None) -> Document:
    return default_catalog_document() if path is None else read_yaml(path)


def _source_key(file: PriceFile, taken: set[str]) -> str:
    stem = {
        "capacity-blocks-json": "aws-capacity-blocks",
        "savings-plans-json": "aws-savings-plans",
    }.get(file.kind, f"aws-price-list-{file.offer_code or 'offer'}")
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{stem}-{file.publication_date}")
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    taken.add(key)
    return key


def _source_entry(file: PriceFile) -> dict[str, str]:
    name = Path(file.path).name
    if file.kind == "capacity-blocks-json":
        return {
            "title": "EC2 Capacity Block offerings (aws ec2 describe-capacity-block-offerings output)",
            "address": f"file {name}; https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-capacity-blocks.html",
            "date_read": file.publication_date,
            "note": "quote date (file date); price per instance-hour = UpfrontFee / "
            "(InstanceCount × CapacityBlockDurationHours), median over the offerings",
        }
    what = "Savings Plans rate file" if file.kind == "savings-plans-json" else "offer file"
    return {
        "title": f"AWS Price List {what} {file.offer_code}, version {file.version or 'unknown'}",
        "address": f"file {name}; AWS Price List bulk API, "
        "https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/using-ppslong.html",
        "date_read": file.publication_date,
        "note": "the file's publication date; Linux, shared tenancy, no pre-installed software; "
        "commitments as effective hourly rates (upfront fee / term hours + hourly fee)",
    }


def _pick(quotes: list[PriceQuote], field: str, commitment: Commitment, purchase: str) -> PriceQuote | None:
    def fits(q: PriceQuote) -> bool:
        if field == "usd_per_hour":
            return q.kind == "on-demand"
        if field == "capacity_block_usd_per_hour":
            return q.kind == "capacity-block"
        years = 1 if field == "one_year_usd_per_hour" else 3
        if q.term_years != years or q.purchase_option != purchase:
            return False
        if commitment == "reserved":
            return q.kind == "reserved" and q.offering == "standard"
        family = "EC2InstanceSavingsPlans" if commitment == "instance-savings-plan" else "ComputeSavingsPlans"
        return q.kind == "savings-plan" and q.offering == family

    found = [q for q in quotes if fits(q)]
    if not found:
        return None
    latest = max(q.file.publication_date for q in found)
    return next(q for q in found if q.file.publication_date == latest)


def update_catalog(
    doc: Document, book: PriceBook, commitment: Commitment = "reserved", purchase: str = "No Upfront"
) -> PriceUpdate:
    """The catalog in `doc` with the prices of `book` applied; pure (no files written)."""
    catalog = catalog_from_document(doc)
    data: dict[str, Any] = copy.deepcopy(doc.data)
    sources: dict[str, Any] = data.setdefault("sources", {})
    taken = set(sources)
    keys = {f.path: _source_key(f, taken) for f in book.files}
    by_type: dict[tuple[str, str], list[PriceQuote]] = {}  # (instance type, region) → quotes
    for quote in book.quotes:
        by_type.setdefault((quote.instance_type, quote.region), []).append(quote)
    changes: list[PriceChange] = []
    missing: list[str] = []
    partial: list[tuple[str, str]] = []
    used_files: set[str] = set()
    for index, option in enumerate(catalog.options):
        quotes = by_type.get((option.instance_type, option.region), [])
        if not quotes:
            missing.append(option.id)
            continue
        record = data["options"][index]
        for field in FIELDS:
            chosen = _pick(quotes, field, commitment, purchase)
            if chosen is None:
                if getattr(option, field) is not None:
                    partial.append((option.id, field))
                continue
            used_files.add(chosen.file.path)
            changes += _apply(option, record, field, chosen, keys[chosen.file.path])
    if not changes:
        raise _nothing_priced(doc, catalog, book)
    for file in book.files:
        if file.path in used_files:
            sources[keys[file.path]] = _source_entry(file)
    text = _dump(data, catalog.name, book.files)
    try:
        Catalog.model_validate(fill_from_fit(data, shipped_fit(), "calibration/fit.yaml"))
    except ValidationError as exc:  # a bug in this module, not in the user's files
        raise InputError([Problem(doc.path, None, "", f"updated catalog does not validate: {exc}")]) from None
    return PriceUpdate(
        catalog.name,
        catalog.region,
        book.files,
        tuple(changes),
        tuple(missing),
        tuple(partial),
        catalog.settings.hours_per_month,
        text,
    )


def _apply(
    option: Option, record: dict[str, Any], field: str, chosen: PriceQuote, key: str
) -> list[PriceChange]:
    """One field of an option set from its quote (a blocks-only option's reference price follows
    its block rate)."""
    targets = [field]
    if field == "capacity_block_usd_per_hour" and not option.on_demand:
        targets.append("usd_per_hour")
    changes = []
    for target in targets:
        changes.append(PriceChange(option.id, target, getattr(option, target), chosen.usd_per_hour, key))
        _set(record, target, chosen.usd_per_hour, key)
    return changes


def _nothing_priced(doc: Document, catalog: Catalog, book: PriceBook) -> InputError:
    """No option of the catalog is priced: say in which regions the files do price its types."""
    types = {o.instance_type for o in catalog.options}
    elsewhere = sorted({q.region for q in book.quotes if q.instance_type in types})
    hint = f"; they price its instance types in: {', '.join(elsewhere)}" if elsewhere else ""
    return InputError(
        [
            Problem(
                doc.path,
                None,
                "region",
                f"the price files price no option of catalog {catalog.name!r} in its regions "
                f"({', '.join(catalog.regions)}){hint}",
            )
        ]
    )


def _set(record: dict[str, Any], field: str, value: float, key: str) -> None:
    """The figure from the price file: sourced to it, no longer an estimate, and without the range
    an uncertain figure carried (the published price is known)."""
    record[field] = value
    record.setdefault("sources", {})[field] = key
    for block in ("estimates", "notes", "ranges"):
        if field in record.get(block, {}):
            del record[block][field]
            if not record[block]:
                del record[block]


def _dump(data: dict[str, Any], name: str, files: tuple[PriceFile, ...]) -> str:
    lines = [
        f"# placement catalog {name}: prices updated by `placement catalog import-prices` from",
        *(f"#   {Path(f.path).name} ({f.offer_code}, published {f.publication_date})" for f in files),
        "# Comments of the base catalog are not carried over; every number still names its source.",
    ]
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    return "\n".join(lines) + "\n" + body
