"""The time-phased plan rendered: purchase schedule, month by month table, run calendar, port
schedule, in text, Markdown, JSON, CSV, xlsx, FOCUS and the memo, from the hand-made plan in
tests/schedule_plan.py (its docstring has the arithmetic)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from placement.cli import app
from placement.engine.plan import MonthUse, Period, PortSchedule, Purchase, RunMonth, RunSchedule
from placement.render import schedule
from placement.render.focus import render_focus
from placement.render.memo import MemoInputs, _question_3, _question_4
from placement.render.report import plan_dict, render_csv, render_json, render_markdown, render_table
from placement.render.xlsx import render_xlsx
from tests.conftest import ROOT, make_catalog, option
from tests.schedule_plan import schedule_plan

GOLDEN = ROOT / "tests" / "golden"


def _golden(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed: review, then run pytest --update-golden"


def test_purchase_schedule_lines() -> None:
    assert schedule.purchase_lines(schedule_plan()) == [
        # 12 · 2 months · 730 h · $0.50 = $8,760 inside; 12 · 10 · 730 · 0.50 = $43,800 after
        "M2: commit 12 × inf2.xlarge (us-east-1) for 1 year — $8,760 inside the horizon, $43,800 after it "
        "(not in the total); term ends after month 13",
        # 2,016 instance-hours ÷ (4 instances · 24 h) = 21 days; 2,016 · $30 = $60,480
        "M2: book 4 × p5.48xlarge (us-east-2) Capacity Block for 21 days (book no earlier than 8 weeks ahead)"
        " — $60,480",
        "M3: on demand, up to 2 × inf2.xlarge (us-east-1) at once, 1,460 instance-hours — $1,110",
        "M3: on demand, up to 4 × p5.48xlarge (us-east-2) at once, 672 instance-hours — $36,960",
    ]


def test_a_full_term_commitment_says_what_falls_inside_the_horizon() -> None:
    line = schedule.purchase_lines(schedule_plan("charge-full-term"))[0]
    # whole term 12 · 12 · 730 · 0.50 = $52,560; inside 52,560 · 17,520 / (12 · 12 · 730) = $8,760
    assert "$52,560 for the whole term, in the total ($8,760 inside the horizon)" in line
    assert "charge-full-term" in schedule.spend_line(schedule_plan("charge-full-term"))


def test_on_demand_lines_gather_an_options_months() -> None:
    plan = schedule_plan()
    more = Purchase(1, "inf2.xlarge", "us-east-1", "on-demand", 5, 1, 730.0, 554.8, 0.0, "")
    plan = dataclasses.replace(plan, purchases=(*plan.purchases, more))
    lines = [x for x in schedule.purchase_lines(plan) if "on demand" in x]
    # M1 and M3 (not M2): up to max(5, 2) instances, 730 + 1,460 h, $554.80 + $1,109.60
    assert (
        lines[0]
        == "M1, M3: on demand, up to 5 × inf2.xlarge (us-east-1) at once, 2,190 instance-hours — $1,664"
    )


def test_block_days_are_instance_hours_over_instances_times_24() -> None:
    block = next(p for p in schedule_plan().purchases if p.instrument == "capacity-block")
    assert schedule.block_days(block) == 21.0


def test_commitment_utilisation_is_used_over_paid_hours() -> None:
    plan = schedule_plan()
    assert schedule.utilisation_by_period(plan) == [(2, 12, 8760.0, 7300.0), (3, 12, 8760.0, 8760.0)]
    m2 = next(m for m in plan.monthly if m.period == 2 and m.option == "inf2.xlarge")
    assert m2.utilisation == pytest.approx(7300 / 8760)  # 83.3%
    assert schedule.utilisation_line(plan) == (
        "Commitment utilisation (instance-hours used ÷ paid): M2 83.3%, M3 100.0%; over the horizon 91.7% "
        "(16,060 of 17,520 committed instance-hours carry work)."  # (7,300 + 8,760) / 17,520
    )


def test_monthly_rows_show_purchase_types_against_capacity() -> None:
    rows = schedule.monthly_rows(schedule_plan())
    assert [r[:2] for r in rows] == [  # M1 holds and buys nothing: no rows
        ["M2", "inf2.xlarge"],
        ["M2", "p5.48xlarge"],
        ["M3", "inf2.xlarge"],
        ["M3", "p5.48xlarge"],
    ]
    # M3 inf2: 14 held = 12 committed + 2 on demand (1,460 h); capacity 14 is full; $4,380 + $1,109.60
    assert rows[2] == [
        "M3",
        "inf2.xlarge",
        "us-east-1",
        "14",
        "12",
        "0",
        "2",
        "1,460",
        "14 (full)",
        "100.0%",
        "$5,490",
    ]


def test_golden_plan_markdown_and_table(update_golden: bool) -> None:
    _golden("schedule-plan.md", render_markdown(schedule_plan()), update_golden)
    _golden("schedule-plan.txt", render_table(schedule_plan()), update_golden)


def test_golden_memo_answer(update_golden: bool) -> None:
    memo = MemoInputs(None, None, "schedule", schedule_plan(), (), (), (), "memo.png")  # type: ignore[arg-type]
    text = "\n".join(_question_3(memo)) + "\n"
    assert "No commitments" not in text and "Reserved capacity" not in text  # no post-hoc advice
    assert "At the price of each purchase" in "\n".join(_question_4(memo))  # not "On-demand prices"
    _golden("schedule-memo-q3.md", text, update_golden)


def test_a_single_period_on_demand_plan_renders_as_before() -> None:
    plan = dataclasses.replace(
        schedule_plan(),
        periods=(Period(1, "all", 3.0, 2190.0),),
        purchases=(Purchase(1, "p5.48xlarge", "us-east-2", "on-demand", 4, 1, 2688.0, 147840.0, 0.0, ""),),
    )
    assert not schedule.phased(plan)
    text = render_markdown(plan)
    assert "## Purchase schedule" not in text and "## Month by month" not in text
    assert "Capacity is counted as if every workload runs at once" in text
    memo = MemoInputs(None, None, "x", plan, (), (), (), None)  # type: ignore[arg-type]
    assert "The plan buys on demand only; no reservation advice applies." in _question_3(memo)


def _rebuild(data: dict[str, Any]) -> dict[str, Any]:
    """The time axis's dataclasses from the plan's JSON (the keys are their fields)."""
    return {
        "periods": tuple(Period(**p) for p in data["periods"]),
        "purchases": tuple(Purchase(**p) for p in data["purchases"]),
        "monthly": tuple(
            MonthUse(**{k: v for k, v in m.items() if k != "utilisation"}) for m in data["monthly"]
        ),
        "runs": tuple(
            RunSchedule(
                r["workload"],
                r["option"],
                r["earliest"],
                r["latest"],
                tuple(RunMonth(**m) for m in r["months"]),
            )
            for r in data["runs"]
        ),
        "ports": tuple(PortSchedule(**p) for p in data["ports"]),
        "beyond_horizon": data["beyond_horizon"],
        "committed_beyond_usd": data["committed_beyond_usd"],
        "region_usd": tuple((r["region"], r["compute_usd"]) for r in data["region_usd"]),
    }


def test_json_round_trip_of_the_time_axis() -> None:
    plan = schedule_plan()
    data = json.loads(render_json(plan))
    assert data["schema_version"] == "2"
    rebuilt = _rebuild(data)
    assert rebuilt == {key: getattr(plan, key) for key in rebuilt}
    assert [(p["option"], p["region"]) for p in data["placements"]] == [
        ("inf2.xlarge", "us-east-1"),
        ("p5.48xlarge", "us-east-2"),
    ]
    assert [c["region"] for c in data["capacity"]] == ["us-east-1", "us-east-2"]
    assert [m["utilisation"] for m in data["monthly"] if m["utilisation"] is not None] == [0.833333, 1.0]
    assert data["runs"][0]["region"] == "us-east-2"


def test_csv_tables() -> None:
    plan = schedule_plan()
    placements = list(csv.DictReader(io.StringIO(render_csv(plan))))
    assert list(placements[0])[:10] == [  # the columns before the time axis keep their places
        "workload",
        "kind",
        "option",
        "family",
        "share",
        "instances",
        "compute_usd",
        "usd_per_million_tokens",
        "cost_per_run_usd",
        "basis",
    ]
    assert [r["region"] for r in placements] == ["us-east-1", "us-east-2"]
    purchases = list(csv.DictReader(io.StringIO(schedule.render_schedule_csv(plan, "purchases"))))
    assert [(r["label"], r["instrument"], r["block_days"]) for r in purchases] == [
        ("M2", "1-year", ""),
        ("M2", "capacity-block", "21.0000"),
        ("M3", "on-demand", ""),
        ("M3", "on-demand", ""),
    ]
    monthly = list(csv.DictReader(io.StringIO(schedule.render_schedule_csv(plan, "monthly"))))
    assert len(monthly) == 6 and list(monthly[0]) == schedule.CSV_TABLES["monthly"]
    m3 = monthly[4]
    assert (m3["label"], m3["option"], m3["on_demand_instances"], m3["utilisation"], m3["usd"]) == (
        "M3",
        "inf2.xlarge",
        "2",
        "1.000000",
        "5489.60",
    )
    assert sum(float(r["usd"]) for r in monthly) == pytest.approx(plan.compute_usd)
    runs = list(csv.DictReader(io.StringIO(schedule.render_schedule_csv(plan, "runs"))))
    assert [(r["label"], r["instance_hours"]) for r in runs] == [("M2", "2016.0000"), ("M3", "672.0000")]
    ports = list(csv.DictReader(io.StringIO(schedule.render_schedule_csv(plan, "ports"))))
    assert [(r["codebase"], r["start_label"], r["ready_label"]) for r in ports] == [("chat", "M1", "M2")]


def test_xlsx_purchase_schedule_and_monthly_plan_read_back() -> None:
    openpyxl = pytest.importorskip("openpyxl")
    pytest.importorskip("xlsxwriter")
    plan = schedule_plan()
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(plan_dict(plan))))
    purchases = book["Purchase schedule"]
    rows = list(purchases.iter_rows(min_row=2, values_only=True))
    assert rows[0][:11] == ("M2", 2, "1-year", "inf2.xlarge", "us-east-1", 12, 2, 17520, None, 8760, 43800)
    assert rows[1][8] == 21  # block days, a number
    assert purchases["J2"].number_format == purchases["K2"].number_format == "$#,##0.00"
    monthly = book["Monthly plan"]
    header = [c.value for c in monthly[1]]
    m2 = dict(
        zip(
            header,
            next(r for r in monthly.iter_rows(min_row=2, values_only=True) if r[0] == "M2"),
            strict=True,
        )
    )
    assert m2["Commitment utilisation"] == pytest.approx(0.833333) and m2["Cost (USD)"] == 4380
    assert monthly["L4"].number_format == "0.0%" and monthly["R4"].number_format == "$#,##0.00"
    total = sum(r[-1] for r in monthly.iter_rows(min_row=2, values_only=True))
    assert total == pytest.approx(plan.compute_usd)
    summary = {r[0]: r[1] for r in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Committed after the horizon, not in the total"] == 43800


CATALOG = make_catalog(
    [
        option("inf2.xlarge", "inferentia", usd_per_hour=0.76, one_year_usd_per_hour=0.5, region="us-east-1"),
        option("p5.48xlarge", "gpu", usd_per_hour=55.0, capacity_block_usd_per_hour=30.0, region="us-east-2"),
    ]
)


@pytest.mark.parametrize("rule", ["horizon-only", "charge-full-term"])
def test_focus_rows_per_option_period_and_purchase(rule: str) -> None:
    plan = schedule_plan(rule)
    rows = list(csv.DictReader(io.StringIO(render_focus(plan, CATALOG, "2027-01"))))
    inside = [r for r in rows if "after the horizon" not in r["ChargeDescription"]]
    assert [
        (r["ChargePeriodStart"][:7], r["RegionId"], r["PricingCategory"], r["x_Purchase"]) for r in inside
    ] == [
        ("2027-02", "us-east-1", "Committed", "1-year"),
        ("2027-02", "us-east-2", "Standard", "capacity-block"),
        ("2027-03", "us-east-1", "Committed", "1-year"),
        ("2027-03", "us-east-1", "Standard", "on-demand"),
        ("2027-03", "us-east-2", "Standard", "on-demand"),
    ]
    committed = inside[0]
    # 8,760 h paid at $0.50 = $4,380; 7,300 h used; list 8,760 · $0.76 = $6,657.60
    assert (committed["EffectiveCost"], committed["ConsumedQuantity"], committed["ListCost"]) == (
        "4380.00",
        "7300.0000",
        "6657.60",
    )
    assert (
        inside[1]["EffectiveCost"] == "60480.00" and inside[1]["ListCost"] == "110880.00"
    )  # 2,016 · 30 / 55
    after = [r for r in rows if r not in inside]
    assert len(after) == 10 and {r["PricingCategory"] for r in after} == {"Committed"}  # months 4..13
    assert after[-1]["ChargePeriodStart"] == "2028-01-01T00:00:00Z"
    in_total = sum(float(r["EffectiveCost"]) for r in rows if r["x_InPlanTotal"] == "true")
    assert in_total == pytest.approx(plan.compute_usd)  # $107,309.60, or $151,109.60 with the whole term
    assert sum(float(r["EffectiveCost"]) for r in after) == pytest.approx(43800)


def test_focus_spreads_a_single_period_over_its_months() -> None:
    plan = schedule_plan()
    m = MonthUse(1, "p5.48xlarge", "us-east-2", "gpu", 0, 4, 2688.0, 0, 0.0, 0.0, 2688.0, 0, 0.0, 8, 147840.0)
    single = dataclasses.replace(
        plan,
        periods=(Period(1, "all", 3.0, 2190.0),),
        monthly=(m,),
        purchases=(Purchase(1, "p5.48xlarge", "us-east-2", "on-demand", 4, 1, 2688.0, 147840.0, 0.0, ""),),
    )
    rows = list(csv.DictReader(io.StringIO(render_focus(single, CATALOG, "2027-01"))))
    assert [r["ChargePeriodStart"][:7] for r in rows] == ["2027-01", "2027-02", "2027-03"]
    assert [r["EffectiveCost"] for r in rows] == ["49280.00"] * 3  # 2,688 h · $55 / 3


def test_chart_series_per_family() -> None:
    from placement.render.chart import monthly_families, monthly_series

    plan = schedule_plan()
    assert monthly_families(plan) == ["inferentia", "gpu"]
    inf = monthly_series(plan, "inferentia")
    assert (inf["committed"], inf["on demand"], inf["held"], inf["capacity"]) == (
        [0, 12, 12],
        [0, 0, 2],
        [0, 10, 14],
        [20, 20, 14],
    )
    gpu = monthly_series(plan, "gpu")
    assert (gpu["block"], gpu["on demand"]) == ([0, 4, 0], [0, 0, 4])


def test_memo_chart_has_the_monthly_panels() -> None:
    pytest.importorskip("matplotlib")
    from placement.render.chart import family_chart, monthly_chart

    picture = monthly_chart(schedule_plan())
    assert picture is not None and picture.startswith(b"\x89PNG")
    both = family_chart(schedule_plan(), ())
    assert both is not None and both.startswith(b"\x89PNG")
    assert family_chart(schedule_plan(), ()) == both  # deterministic


def test_csv_table_flag_needs_csv(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["plan", str(ROOT / "examples" / "startup.yaml"), "--csv-table", "monthly"]
    )
    assert result.exit_code == 2 and "--csv-table: applies to --format csv only" in result.stderr
    result = CliRunner().invoke(
        app, ["plan", str(ROOT / "examples" / "startup.yaml"), "-f", "csv", "--csv-table", "monthly"]
    )
    assert (
        result.exit_code == 0 and result.stdout.splitlines()[0].split(",") == schedule.CSV_TABLES["monthly"]
    )


def test_the_fixture_adds_up() -> None:
    """The fixture's own arithmetic, so the goldens rest on a consistent plan."""
    plan = schedule_plan()
    assert sum(m.usd for m in plan.monthly) == pytest.approx(plan.compute_usd)
    assert sum(p.usd for p in plan.purchases) == pytest.approx(plan.compute_usd)
    assert sum(x for _, x in plan.region_usd) == pytest.approx(plan.compute_usd)
    assert sum(p.compute_usd for p in plan.placements) == pytest.approx(plan.compute_usd)


def test_months_alike_share_a_row() -> None:
    plan = schedule_plan()
    m2 = next(m for m in plan.monthly if m.period == 2 and m.option == "inf2.xlarge")
    same = tuple(
        dataclasses.replace(m2, period=3) if (m.period, m.option) == (3, "inf2.xlarge") else m
        for m in plan.monthly
    )
    plan = dataclasses.replace(plan, monthly=same)
    rows = schedule.monthly_rows(plan)
    assert [r[:2] for r in rows] == [["M2–M3", "inf2.xlarge"], ["M2", "p5.48xlarge"], ["M3", "p5.48xlarge"]]
    assert schedule.utilisation_rows(plan) == [["M2–M3", "12", "8,760", "7,300", "83.3%"]]
    assert "M2–M3 83.3%; over the horizon 83.3%" in schedule.utilisation_line(plan)
    run = RunSchedule("r", "p5.48xlarge", 1, 3, (RunMonth(1, 10.0, 1), RunMonth(2, 10.0, 1)))
    plan = dataclasses.replace(plan, runs=(run,))
    assert schedule.run_rows(plan)[0][-1] == "M1–M2 10 h each"
