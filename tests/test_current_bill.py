"""plan --current: the plan against a FOCUS bill, worked by hand on the fixture bill."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from placement.analyses.current_bill import compare_to_bill
from placement.cli import app
from placement.engine.planner import make_plan
from placement.inputs.focus import read_focus
from placement.inputs.loading import load_catalog, load_portfolio
from tests.conftest import ROOT

BILL = ROOT / "tests" / "fixtures" / "focus" / "aws-focus-1.2.csv"
EXAMPLE = ROOT / "examples" / "enterprise.yaml"


@pytest.fixture(scope="module")
def comparison():  # type: ignore[no-untyped-def]
    catalog = load_catalog(None)
    plan = make_plan(load_portfolio(EXAMPLE, catalog), catalog, "examples/enterprise.yaml")
    return plan, compare_to_bill(plan, catalog, read_focus(BILL))


def test_monthly_figures_scale_the_bill_period(comparison) -> None:  # type: ignore[no-untyped-def]
    plan, c = comparison
    month = 730 / 744  # October has 744 hours; a month is 730
    # accelerator usage in the bill: 2,256.40 + 45,683.20 + 4,219.97 + 2,150.00 + 922.56 + 2,160.00
    # (the Capacity Block's 72 used hours at $30; its 24 unused hours are sunk, not usage)
    usage = 2256.40 + 45683.20 + 4219.97 + 2150.00 + 922.56 + 72 * 30.0
    assert c.current_monthly_usd == pytest.approx(usage * month)
    assert c.plan_monthly_usd == pytest.approx(plan.compute_usd / plan.horizon_months)
    rows = {(r.instance_type, r.region): r for r in c.rows}
    assert rows[("inf2.xlarge", "us-east-1")].current_instances == pytest.approx(2976 / 744)  # 4 instances
    assert rows[("p5.48xlarge", "us-east-1")].current_instances == pytest.approx(1200 / 744)


def test_spend_the_plan_does_not_explain(comparison) -> None:  # type: ignore[no-untyped-def]
    plan, c = comparison
    used = {cap.option for cap in plan.capacity if cap.used > 0}
    unexplained = {(r.instance_type, r.region) for r in c.rows if not r.explained}
    # g5.12xlarge is in no catalog, trn1 runs in us-east-2 (the catalog is us-east-1); inf2.8xlarge only
    # if the plan buys none
    assert ("g5.12xlarge", "us-east-1") in unexplained and ("trn1.32xlarge", "us-east-2") in unexplained
    assert (("inf2.8xlarge", "us-east-1") in unexplained) == ("inf2.8xlarge" not in used)
    expected = sum(r.current_monthly_usd for r in c.rows if not r.explained)
    assert c.unexplained_monthly_usd == pytest.approx(expected)
    assert c.unexplained_monthly_usd >= (4219.97 + 2150.00) * 730 / 744


def test_reserved_instance_covers_plan_instances_as_sunk_cost(comparison) -> None:  # type: ignore[no-untyped-def]
    plan, c = comparison
    ri = next(k for k in c.commitments if k.type == "Reserved Instance")
    assert ri.committed_instances == pytest.approx(2.0)  # (1,000 + 488) h / 744 h
    p5 = next((cap.used for cap in plan.capacity if cap.option == "p5.48xlarge"), 0)
    assert ri.covers_plan_instances == min(2, p5)
    assert ri.monthly_usd == pytest.approx((34675.20 + 16921.50) * 730 / 744)
    assert ri.sunk_over_horizon_usd == pytest.approx(ri.monthly_usd * plan.horizon_months)
    sp = next(k for k in c.commitments if k.type == "Savings Plan")
    assert sp.instance_type == "" and sp.covers_plan_instances is None
    block = next(k for k in c.commitments if k.type == "Capacity reservation")
    # 96 h over 744 h = 0.129 instances on average, on trn2 in us-east-2
    # (a catalog option the plan uses none of)
    assert block.committed_instances == pytest.approx(96 / 744) and block.covers_plan_instances == 0
    assert block.monthly_usd == pytest.approx(96 * 30.0 * 730 / 744)
    assert block.sunk_over_horizon_usd == pytest.approx(96 * 30.0)  # a block is not extrapolated


def test_cli_plan_current_markdown_and_json() -> None:
    runner = CliRunner()
    md = runner.invoke(app, ["plan", str(EXAMPLE), "--current", str(BILL), "-f", "markdown"])
    assert md.exit_code == 0, md.output
    assert "## Against your current bill" in md.stdout
    assert "| g5.12xlarge" in md.stdout and "not explained by the workloads" in md.stdout
    js = runner.invoke(app, ["plan", str(EXAMPLE), "--current", str(BILL), "-f", "json"])
    data = json.loads(js.stdout)
    assert data["current_bill"]["focus_version"] == "1.2"
    assert data["current_bill"]["commitments"][0]["utilisation"] == pytest.approx(0.672, abs=1e-3)


def test_cli_current_refuses_csv_and_reports_bad_bill(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    result = runner.invoke(app, ["plan", str(EXAMPLE), "--current", str(BILL), "-f", "csv"])
    assert result.exit_code == 2 and "--current: has no csv form" in result.stderr
    bad = tmp_path / "bill.csv"
    bad.write_text("BilledCost\n1\n")
    result = runner.invoke(app, ["plan", str(EXAMPLE), "--current", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{bad}:1: not a FOCUS cost-and-usage file: missing column(s)")


@pytest.mark.usefixtures("memo_analyses_once")
def test_memo_current_appends_the_section() -> None:
    startup = str(ROOT / "examples" / "startup.yaml")
    result = CliRunner().invoke(
        app, ["memo", startup, "--no-chart", "--samples", "0", "--current", str(BILL)]
    )
    assert result.exit_code == 0, result.output
    section = result.stdout.split("## Against your current bill", 1)[1]
    assert "| p5.48xlarge" in section and "Reserved Instance" in section


def test_compare_current_lists_each_variant_against_the_bill() -> None:
    startup = str(ROOT / "examples" / "startup.yaml")
    scenario = str(ROOT / "examples" / "scenarios" / "trn2-price-cut.yaml")
    args = ["compare", startup, "--scenario", scenario, "--current", str(BILL), "-f", "markdown"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    section = result.stdout.split("## Each variant against your current bill", 1)[1]
    bill = (2256.40 + 45683.20 + 4219.97 + 2150.00 + 922.56 + 2160.00) * 730 / 744
    assert section.count(f"${bill:,.0f}") == 2  # base and the scenario
    refused = CliRunner().invoke(app, [*args[:-2], "-f", "json"])
    assert (
        refused.exit_code == 2
        and "--current: compare shows the bill in table or markdown only" in refused.stderr
    )


def test_a_reserved_instance_in_the_bill_is_used_first_and_paid_in_full() -> None:
    """The fixture's RI (2 × p5.48xlarge, us-east-1) is handed to the optimizer as bought: it is in
    the purchase schedule, paid for the whole horizon, and the plan buys no new p5.48xlarge
    commitment for what it already covers."""
    from placement.analyses.current_bill import sunk_purchases

    catalog = load_catalog(None)
    portfolio = load_portfolio(EXAMPLE, catalog)
    bill = read_focus(BILL)
    (ri,) = sunk_purchases(bill, catalog, portfolio)
    assert (ri.option, ri.region, ri.instrument, ri.instances) == ("p5.48xlarge", "us-east-1", "in-force", 2)
    assert ri.usd == pytest.approx((34675.20 + 16921.50) * 730 / 744 * portfolio.horizon_months)
    plan = make_plan(portfolio, catalog, "examples/enterprise.yaml", bought=(ri,))
    assert ri in plan.purchases
    in_force = {m.period: m.committed_instances for m in plan.monthly if m.option == "p5.48xlarge"}
    assert all(count >= 2 for count in in_force.values())
    assert sum(p.usd for p in plan.purchases) == pytest.approx(plan.compute_usd)
    assert sum(p.compute_usd for p in plan.placements) + plan.unused_commitment_usd == pytest.approx(
        plan.compute_usd
    )
