"""`placement risk` and the memo's risk figures: the report as printed (golden), its JSON checked
against its own futures by hand, the same bytes on one and two workers, the risk-aware mode,
located usage errors, and the memo's interval and question 6 probabilities.

Every run samples a handful of futures of the smallest example (waits-for-capacity: its plan signs
no commitment, so each future is two quick solves)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placement.analyses.futures import UncertainInput
from placement.analyses.hedge import Candidate, HedgeReport, Interval
from placement.analyses.risk import Spread
from placement.analyses.sensitivity import PortabilityPrice
from placement.cli import app
from placement.engine.formulation import FirstStage
from placement.engine.planner import make_plan
from placement.inputs.loading import load_catalog, load_portfolio
from placement.render.memo import MemoInputs, render_memo
from placement.render.risk_report import commitment_rows, render_hedge
from tests.conftest import ROOT

EXAMPLE = str(ROOT / "examples" / "waits-for-capacity.yaml")
RISK = ["risk", EXAMPLE, "--samples", "3", "--seed", "3"]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_risk_report_golden_and_the_same_on_two_workers(
    update_golden: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the title names the file as given
    args = ["risk", "examples/waits-for-capacity.yaml", "--samples", "3", "--seed", "3"]
    code, one, err = _run(*args, "--workers", "1")
    assert (code, err) == (0, "")
    for heading in (
        "== Total cost over the futures",
        "== Placement stability",
        "== What drives the spread",
        "== Uncertain inputs",
    ):
        assert heading in one
    assert "Probability the plan costs less than the all-GPU baseline: " in one
    # 3 futures are too few to rank the inputs (the ranking itself: tests/test_stochastic.py)
    assert "No ranking: 3 futures served, and it takes 10 to rank the inputs" in one
    assert "demand" in one and "assumption (default)" in one  # the default demand spread is marked
    golden = ROOT / "tests" / "golden" / "risk-waits-for-capacity.txt"
    if update_golden:
        golden.write_text(one)
    assert one == golden.read_text()
    code, two, _ = _run(*args, "--workers", "2")
    assert code == 0 and two == one  # byte for byte whatever the number of workers


def test_risk_json_agrees_with_its_own_futures() -> None:
    code, out, err = _run(*RISK, "--workers", "2", "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert list(data) == [
        "schema_version",
        "samples",
        "seed",
        "plan_usd",
        "baseline_usd",
        "first_stage",
        "cost_usd",
        "baseline_cost_usd",
        "saving_usd",
        "saving_share",
        "p_beats_baseline",
        "unserved",
        "regret_usd",
        "stability",
        "drivers",
        "linear_share",
        "inputs",
        "futures",
    ]
    assert (data["samples"], data["seed"], data["unserved"]) == (3, 3, 0)
    assert data["first_stage"] == {"commitments": [], "ports": []}  # this plan signs nothing
    futures = data["futures"]
    assert [f["index"] for f in futures] == [0, 1, 2]
    plan = sorted(f["plan_usd"] for f in futures)
    cost = data["cost_usd"]
    # quantiles of 3 values, interpolated at position q * 2: P10 at 0.2, P50 at 1, P90 at 1.8
    assert cost["p10"] == pytest.approx(plan[0] + 0.2 * (plan[1] - plan[0]), abs=0.02)
    assert cost["p50"] == pytest.approx(plan[1], abs=0.01)
    assert cost["p90"] == pytest.approx(plan[1] + 0.8 * (plan[2] - plan[1]), abs=0.02)
    # CVaR 90% of 3 equally likely costs: the worst 10% of the mass (0.3 of a future) is the worst one
    assert cost["cvar90"] == pytest.approx(plan[2], abs=0.01)
    assert cost["mean"] == pytest.approx(statistics.fmean(plan), abs=0.02)
    beats = sum(f["plan_usd"] < f["baseline_usd"] for f in futures)
    assert data["p_beats_baseline"] == round(beats / 3, 6)
    savings = [f["baseline_usd"] - f["plan_usd"] for f in futures]
    assert data["saving_usd"]["mean"] == pytest.approx(statistics.fmean(savings), abs=0.05)
    regrets = [f["plan_usd"] - f["scratch_usd"] for f in futures]
    assert data["regret_usd"]["mean"] == pytest.approx(statistics.fmean(regrets), abs=0.05)
    names = [i["name"] for i in data["inputs"]]
    assert set(futures[0]["values"]) == set(names)  # every input drawn in every future
    assert {d["name"] for d in data["drivers"]} <= set(names)
    shares = [d["variance_share"] for d in data["drivers"]]
    assert shares == sorted(shares, reverse=True) and all(0 <= s <= 1 for s in shares)
    demand = data["inputs"][names.index("demand")]
    assert (demand["low"], demand["likely"], demand["high"], demand["default"]) == (0.8, 1.0, 1.3, True)
    assert {s["workload"] for s in data["stability"]} == {"pretrain-70b", "chat-finetune", "assistant"}


def test_risk_aware_mode() -> None:
    code, out, err = _run(
        "risk",
        EXAMPLE,
        "--risk-aware",
        "--scenarios",
        "2",
        "--evaluate",
        "2",
        "--workers",
        "2",
        "-f",
        "markdown",
    )
    assert (code, err) == (0, "")
    for text in (
        "# Risk-aware commitments:",
        "## Commitments: deterministic plan against risk-aware",
        "## The sampled problem",
        "lower bound $",
        "proven gap",
        "## Out of sample: 2 fresh futures",
        "Value of the stochastic solution",
        "95% interval",
        "Statistical bound on the optimality gap",
    ):
        assert text in out
    # the plan signs no commitment, and no hindsight plan over these futures does either
    assert "Chosen: **deterministic plan**." in out and "Neither signs a commitment." in out


def _spread(mean: float) -> Spread:
    return Spread(3, mean, mean - 10, mean, mean + 10, mean + 15)


def test_hedge_report_tables_commitments_side_by_side() -> None:
    det = FirstStage(
        (("inf2.xlarge", "1-year", 1, 12), ("p5.48xlarge", "3-year", 2, 4)), (("app", "inferentia", 1),)
    )
    chosen = FirstStage((("inf2.xlarge", "1-year", 1, 8), ("trn2.48xlarge", "1-year", 3, 2)), ())
    assert commitment_rows(det, chosen) == [
        ["inf2.xlarge", "1-year", "M1", "12", "8"],
        ["p5.48xlarge", "3-year", "M2", "4", "0"],
        ["trn2.48xlarge", "1-year", "M3", "0", "2"],
    ]
    d = Candidate("deterministic plan", det, (100.0, 120.0), 110.0)
    c = Candidate("hindsight P25", chosen, (95.0, 105.0), 100.0)
    report = HedgeReport(
        scenarios=2,
        seed=0,
        measure="expected",
        alpha=0.9,
        inputs=(UncertainInput("demand", "demand", 0.8, 1.0, 1.3, "triangular", "a default", True),),
        deterministic=d,
        chosen=c,
        candidates=(c, d),
        lower_bound=90.0,
        gap=0.1,
        dropped=0,
        evaluation=3,
        deterministic_out=_spread(112.0),
        chosen_out=_spread(101.0),
        unserved_out=(0, 0),
        vss=Interval(11.0, 2.0, 20.0, 3),
        gap_bound=7.0,
    )
    text = render_hedge(report, False, "Risk-aware")
    assert "Chosen: hindsight P25." in text
    assert (
        "Objective (expected cost) of the risk-aware choice: $100; lower bound $90; proven gap 10.0%." in text
    )
    assert "expected cost on the same 3 fresh futures): +$11, 95% interval +$2 to +$20." in text
    assert "costs at most $7 (6.9% of its mean cost) more than the best possible one" in text
    assert "app" in text and "inferentia" in text  # the port the risk-aware plan does not make
    assert "**" not in text  # plain text has no Markdown emphasis


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--samples", "0"], "Invalid value for '--samples'"),
        (["--samples", "-5"], "Invalid value for '--samples'"),
        (["--scenarios", "5"], "<command line>: --scenarios: applies with --risk-aware only\n"),
        (
            ["--risk-aware", "--samples", "5"],
            "<command line>: --samples: the risk-aware plan samples --scenarios futures; give that instead\n",
        ),
        (["--risk-aware", "--measure", "cvr"], "choose one of expected, cvar (did you mean 'cvar'?)"),
        (["--risk-aware", "--measure", "cvar", "--alpha", "1"], "Invalid value for '--alpha'"),
        (
            ["--risk-aware", "--alpha", "0.95"],
            "<command line>: --alpha: applies with --measure cvar only (the expected cost takes no level)\n",
        ),
        (["-f", "csv"], "<command line>: --format: risk has no CSV form; use table, markdown or json\n"),
    ],
)
def test_bad_risk_options_are_usage_errors(args: list[str], message: str) -> None:
    code, out, err = _run("risk", EXAMPLE, *args)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_memo_carries_the_interval_and_question_6_probabilities(tmp_path: Path) -> None:
    out = tmp_path / "memo.md"
    code, _, err = _run("memo", EXAMPLE, "--samples", "3", "--seed", "3", "--workers", "2", "--out", str(out))
    assert code == 0, err
    memo = out.read_text()
    head, q6 = memo.split("## 1.")[0], memo.split("## 6.")[1].split("## Vendor claims")[0]
    assert "Over 3 sampled futures of the uncertain inputs the saving is **$" in head
    assert "from P10 to P90**" in head
    assert "**Over 3 sampled futures** (seed 3;" in q6
    assert "- Probability the plan costs less than the all-GPU baseline: **" in q6
    assert "can serve every future sampled (3 of 3)" in q6
    assert "P90 **$" in q6 and "CVaR 90% (the mean of the worst tenth) **$" in q6
    assert "The inputs that drive the spread are not ranked: 3 futures served, and it takes 10" in q6
    assert "**Against single shocks:**" in q6 and "With the base plan's commitments" not in head
    files = sorted(p.name for p in tmp_path.iterdir())
    if "memo.png" in files:  # matplotlib installed: the cost distribution beside the family chart
        assert files == ["memo-risk.png", "memo.md", "memo.png"]
        assert (tmp_path / "memo-risk.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert "](memo-risk.png)" in q6


def test_memo_says_when_the_risk_analysis_is_off() -> None:
    catalog = load_catalog(None)
    portfolio = load_portfolio(Path(EXAMPLE), catalog)
    plan = make_plan(portfolio, catalog, EXAMPLE)
    portability = (PortabilityPrice("as written", plan.total_usd, ()),)
    text = render_memo(MemoInputs(portfolio, catalog, "x", plan, (), portability, (), None))
    assert "The risk analysis is off (`--samples 0`): no probabilities over sampled futures." in text
    assert "sampled futures of the uncertain inputs" not in text and "P10 to P90" not in text
