"""Reading a FOCUS bill: both AWS layouts (1.0 and 1.2), CSV, gzip and Parquet; sums worked by hand
from tests/fixtures/focus/make_fixtures.py; hostile files give located errors."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from placement.errors import InputError
from placement.inputs.focus import (
    FOCUS_1_0_AWS_COLUMNS,
    FOCUS_1_2_AWS_COLUMNS,
    FOCUS_MANDATORY,
    instance_type_of,
    read_focus,
)
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "focus"
V10 = FIXTURES / "aws-focus-1.0.csv"
V12 = FIXTURES / "aws-focus-1.2.csv"


def test_aws_column_sets_match_the_published_counts() -> None:
    # AWS Data Exports: FOCUS 1.0 = 43 FOCUS + 5 AWS columns; FOCUS 1.2 = 57 FOCUS + 3 AWS columns
    assert len(FOCUS_1_0_AWS_COLUMNS) == 48 and len(set(FOCUS_1_0_AWS_COLUMNS)) == 48
    assert len(FOCUS_1_2_AWS_COLUMNS) == 60 and len(set(FOCUS_1_2_AWS_COLUMNS)) == 60
    focus_10 = {c for c in FOCUS_1_0_AWS_COLUMNS if not c.startswith("x_")}
    assert focus_10 <= set(FOCUS_1_2_AWS_COLUMNS)
    assert set(FOCUS_MANDATORY) <= focus_10 and len(FOCUS_MANDATORY) == 21


def test_instance_type_from_price_details_or_usage_type() -> None:
    assert (
        instance_type_of('{"InstanceType": "p5.48xlarge", "OperatingSystem": "Linux"}', "") == "p5.48xlarge"
    )
    assert instance_type_of("", "USE2-BoxUsage:trn1.32xlarge") == "trn1.32xlarge"
    assert instance_type_of("", "BoxUsage:p6-b200.48xlarge") == "p6-b200.48xlarge"
    assert instance_type_of("", "TimedStorage-ByteHrs") == ""
    assert instance_type_of("{not json InstanceType", "BoxUsage:inf2.xlarge") == "inf2.xlarge"


@pytest.mark.parametrize("path", [V10, V12], ids=["1.0", "1.2"])
def test_spend_per_instance_type_and_region(path: Path) -> None:
    bill = read_focus(path)
    assert bill.version == path.stem.split("-")[-1]
    assert bill.rows == 14 and bill.period_hours == 744  # October 2026
    spend = {(s.instance_type, s.region): s for s in bill.spend}
    assert sorted(spend) == [
        ("g5.12xlarge", "us-east-1"),
        ("inf2.8xlarge", "us-east-1"),
        ("inf2.xlarge", "us-east-1"),
        ("p5.48xlarge", "us-east-1"),
        ("trn1.32xlarge", "us-east-2"),
        ("trn2.48xlarge", "us-east-2"),
    ]
    trn2 = spend[("trn2.48xlarge", "us-east-2")]
    if bill.version == "1.2":  # the Capacity Block's 24 unused hours are not usage
        assert (trn2.hours, trn2.effective_usd) == (72, 72 * 30.0)
        (block,) = bill.capacity_reservations
        assert (block.used_hours, block.unused_hours, block.utilisation) == (72, 24, 0.75)
        assert block.type == "Capacity reservation" and block.instance_types == ("trn2.48xlarge",)
    else:  # FOCUS 1.0 has no CapacityReservation columns: all 96 hours read as usage
        assert (trn2.hours, trn2.effective_usd) == (96, 96 * 30.0) and bill.capacity_reservations == ()
    p5 = spend[("p5.48xlarge", "us-east-1")]
    # used by the RI: 1,000 h, $34,675.20; on demand: 200 h, $11,008 (the RI's 488 unused hours are not usage)
    assert p5.hours == 1200 and p5.effective_usd == pytest.approx(45683.20)
    assert p5.committed_usd == pytest.approx(34675.20) and p5.list_usd == pytest.approx(1200 * 55.04)
    # m5.large ($71.42), S3 ($11.50) are not accelerators; the Purchase and Tax rows are not usage
    assert bill.other_usage_usd == pytest.approx(82.92)


@pytest.mark.parametrize("path", [V10, V12], ids=["1.0", "1.2"])
def test_commitments_in_force_and_utilisation(path: Path) -> None:
    bill = read_focus(path)
    ri, sp = bill.commitments
    assert ri.type == "Reserved Instance" and ri.instance_types == ("p5.48xlarge",)
    assert (ri.used_hours, ri.unused_hours) == (1000, 488)
    # utilisation by cost: 34,675.20 / (34,675.20 + 16,921.50) = 0.67204
    assert ri.utilisation == pytest.approx(34675.20 / (34675.20 + 16921.50))
    assert sp.type == "Savings Plan" and sp.category == "Spend"
    assert sp.utilisation == pytest.approx(922.56 / 1022.56)


def test_gzip_and_parquet_read_the_same(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    gz = tmp_path / "bill.csv.gz"
    gz.write_bytes(gzip.compress(V12.read_bytes()))
    with V12.open() as stream:
        rows = list(csv.DictReader(stream))
    table = pa.table({c: [r[c] or None for r in rows] for c in rows[0]})
    parquet = tmp_path / "bill.parquet"
    pq.write_table(table, parquet)
    expected = read_focus(V12)
    for other in (read_focus(gz), read_focus(parquet)):
        assert other.spend == expected.spend and other.commitments == expected.commitments
        assert other.period_hours == expected.period_hours


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "bill.csv"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _with_value(column: str, line: int, value: str, tmp_path: Path) -> Path:
    with V12.open() as stream:
        rows = list(csv.reader(stream))
    rows[line - 1][rows[0].index(column)] = value
    path = tmp_path / "edited.csv"
    with path.open("w", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(rows)
    return path


def test_bad_number_names_file_line_and_column(tmp_path: Path) -> None:
    path = _with_value("EffectiveCost", 3, "12,5", tmp_path)
    with pytest.raises(InputError) as caught:
        read_focus(path)
    assert str(caught.value) == f"{path}:3: EffectiveCost: not a number: '12,5'"


def test_missing_required_columns_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "BilledCost,ChargeCategory,Foo\n1,Usage,x\n")
    with pytest.raises(InputError) as caught:
        read_focus(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:1: not a FOCUS cost-and-usage file: missing column(s) EffectiveCost")
    assert "RegionId" in message and "SkuPriceDetails or x_UsageType or SkuMeter" in message


def test_unknown_columns_are_tolerated(tmp_path: Path) -> None:
    text = V12.read_text().splitlines()
    text = [line + ",extra" for line in text]
    text[0] = text[0].replace(",extra", ",x_MyOwnColumn")
    assert read_focus(_write(tmp_path, "\n".join(text) + "\n")).spend == read_focus(V12).spend


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"\xff\xfeB\x00i\x00", "UTF-16 text"),
        (b"ChargeCategory,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,RegionId,SkuMeter\n", "no rows"),
        (
            b"ChargeCategory,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,RegionId,SkuMeter\n"
            b"Usage,1,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,us-east-1,BoxUsage:p5.48xlarge,extra\n",
            ":2: 7 fields, the header has 6",
        ),
        (
            b"ChargeCategory,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,RegionId,SkuMeter\n"
            b"Usage,1,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,us-east-1,BoxUsage:p5.48xlarge\n"
            b"Usage,1,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,us-east-1,caf\xe9\n",
            ":3: not UTF-8 text",
        ),
        (
            b"ChargeCategory,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,RegionId,SkuMeter\n"
            b"Usage,1,yesterday,today,us-east-1,BoxUsage:p5.48xlarge\n",
            "cannot read the charge period",
        ),
    ],
)
def test_hostile_files_give_located_errors(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(InputError) as caught:
        read_focus(_write(tmp_path, content))
    assert message in str(caught.value)


def test_many_bad_rows_are_capped(tmp_path: Path) -> None:
    header = "ChargeCategory,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,RegionId,SkuMeter\n"
    row = "Usage,oops,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,us-east-1,BoxUsage:p5.48xlarge\n"
    with pytest.raises(InputError) as caught:
        read_focus(_write(tmp_path, header + row * 25))
    assert len(caught.value.problems) == 21
    assert caught.value.problems[-1].message == "... and 5 more malformed rows"


def test_parquet_with_typed_columns_as_aws_writes_them(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    import datetime as dt
    import json

    with V12.open() as stream:
        rows = list(csv.DictReader(stream))
    utc = dt.UTC

    def moment(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(utc)

    columns = {
        "ChargeCategory": pa.array([r["ChargeCategory"] for r in rows]),
        "ChargePeriodStart": pa.array(
            [moment(r["ChargePeriodStart"]) for r in rows], pa.timestamp("ms", tz="UTC")
        ),
        "ChargePeriodEnd": pa.array(
            [moment(r["ChargePeriodEnd"]) for r in rows], pa.timestamp("ms", tz="UTC")
        ),
        "RegionId": pa.array([r["RegionId"] for r in rows]),
        "SkuMeter": pa.array([r["SkuMeter"] or None for r in rows]),
        "SkuPriceDetails": pa.array(
            [list(json.loads(r["SkuPriceDetails"]).items()) if r["SkuPriceDetails"] else None for r in rows],
            pa.map_(pa.string(), pa.string()),
        ),
    }
    for name in ("EffectiveCost", "BilledCost", "ListCost", "ConsumedQuantity"):
        columns[name] = pa.array([float(r[name]) if r[name] else None for r in rows], pa.float64())
    for name in ("ConsumedUnit", "PricingCategory", "CommitmentDiscountId", "CommitmentDiscountType"):
        columns[name] = pa.array([r[name] or None for r in rows])
    for name in (
        "CommitmentDiscountCategory",
        "CommitmentDiscountStatus",
        "CapacityReservationId",
        "CapacityReservationStatus",
    ):
        columns[name] = pa.array([r[name] or None for r in rows])
    path = tmp_path / "typed.parquet"
    pq.write_table(pa.table(columns), path)
    bill, expected = read_focus(path), read_focus(V12)
    assert bill.spend == expected.spend and bill.commitments == expected.commitments
    assert bill.capacity_reservations == expected.capacity_reservations
    assert (bill.period_start, bill.period_end) == ("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
