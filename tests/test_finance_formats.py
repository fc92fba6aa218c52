"""plan --format xlsx (read back with openpyxl) and --format focus (checked against the FOCUS
columns): same numbers as the JSON, deterministic, binary output never to a terminal."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placement.cli import app
from placement.inputs.focus import FOCUS_1_0_AWS_COLUMNS, FOCUS_MANDATORY
from tests.conftest import ROOT

EXAMPLE = str(ROOT / "examples" / "enterprise.yaml")
BILL = str(ROOT / "tests" / "fixtures" / "focus" / "aws-focus-1.2.csv")
openpyxl = pytest.importorskip("openpyxl")


def _plan_json(*more: str) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(app, ["plan", EXAMPLE, "-f", "json", *more])
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_xlsx_sheets_numbers_and_formats(tmp_path: Path) -> None:
    out = tmp_path / "plan.xlsx"
    result = CliRunner().invoke(app, ["plan", EXAMPLE, "-f", "xlsx", "-o", str(out), "--current", BILL])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [
        "summary",
        "placements",
        "migrations",
        "capacity",
        "reservations",
        "Purchase schedule",
        "Monthly plan",
        "estimates",
        "sources",
        "current bill",
    ]
    data = _plan_json("--current", BILL)  # the bill's Reserved Instance is bought already
    summary = {row[0]: row[1] for row in book["summary"].iter_rows(min_row=2, values_only=True)}
    # a number cell, not text (openpyxl reads a whole-dollar total back as an int)
    assert summary["Total"] == data["total_usd"] and isinstance(summary["Total"], int | float)
    total_cell = next(r[1] for r in book["summary"].iter_rows(min_row=2) if r[0].value == "Total")
    assert total_cell.number_format == "$#,##0.00"
    placements = list(book["placements"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[2], r[5], r[6]) for r in placements] == [
        (p["workload"], p["option"], p["instances"], p["compute_usd"]) for p in data["placements"]
    ]
    assert book["placements"]["G2"].number_format == "$#,##0.00"
    assert book["placements"]["E2"].number_format == "0.0%"
    for sheet in book.worksheets:  # no formulas anywhere
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
    assert sum(1 for _ in book["sources"].iter_rows(min_row=2)) == len(data["sources"])


def test_xlsx_is_byte_identical_across_runs(tmp_path: Path) -> None:
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    for out in (first, second):
        assert CliRunner().invoke(app, ["plan", EXAMPLE, "-f", "xlsx", "-o", str(out)]).exit_code == 0
    assert first.read_bytes() == second.read_bytes()


def test_xlsx_refuses_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from placement import cli

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(cli.sys, "stdout", Terminal())
    with pytest.raises(SystemExit) as caught:
        app(["plan", EXAMPLE, "-f", "xlsx"], standalone_mode=True)
    assert caught.value.code == 2


def test_xlsx_to_a_pipe_writes_the_workbook() -> None:
    result = CliRunner().invoke(app, ["plan", EXAMPLE, "-f", "xlsx"])
    assert result.exit_code == 0 and result.stdout_bytes.startswith(b"PK\x03\x04")


def test_focus_rows_carry_the_spec_columns_and_sum_to_the_plan() -> None:
    result = CliRunner().invoke(app, ["plan", EXAMPLE, "-f", "focus", "--start-month", "2027-03"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    header = list(rows[0])
    assert set(FOCUS_MANDATORY) <= set(header)
    assert {c for c in FOCUS_1_0_AWS_COLUMNS if not c.startswith("x_")} <= set(header)
    assert all(c in header for c in ("x_Projection", "x_Workload"))
    for row in rows:  # the mandatory columns that must not be null
        for column in FOCUS_MANDATORY:
            if column != "ChargeClass":  # null unless the row is a correction
                assert row[column] != "", column
        assert row["ChargeCategory"] == "Usage" and row["BillingCurrency"] == "USD"
        assert row["BilledCost"] == row["EffectiveCost"] == row["ContractedCost"]
        if row["x_Purchase"] == "on-demand":  # a commitment or block is below its list cost
            assert row["ListCost"] == row["EffectiveCost"]
        assert json.loads(row["SkuPriceDetails"])["InstanceType"] == row["ChargeDescription"].split(" ")[2]
    data = _plan_json()
    in_total = [r for r in rows if r["x_InPlanTotal"] == "true"]
    assert sum(float(r["EffectiveCost"]) for r in in_total) == pytest.approx(
        data["compute_usd"], abs=0.01 * len(rows)
    )
    # the horizon's months (a commitment running on after the horizon adds rows for its later months)
    months = sorted(
        {r["ChargePeriodStart"] for r in rows if "after the horizon" not in r["ChargeDescription"]}
    )
    assert months[0] == "2027-03-01T00:00:00Z" and len(months) == 12
    assert months[-1] == "2028-02-01T00:00:00Z"


def test_focus_rejects_a_bad_start_month() -> None:
    result = CliRunner().invoke(app, ["plan", EXAMPLE, "-f", "focus", "--start-month", "2027-13"])
    assert result.exit_code == 2 and "--start-month: give a month as YYYY-MM" in result.stderr
