"""The uncertainty inputs (inputs/uncertainty.py): the workload file's block, the catalog's ranges,
the efficiency spreads from the calibration residuals, and every mistake in tests/bad/uncertainty/
located as `file:line: field: message` with exit 2."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placement.analyses.futures import uncertain_inputs
from placement.cli import app
from placement.errors import InputError
from placement.inputs.loading import load_catalog, load_portfolio
from placement.inputs.models import Catalog, Portfolio
from placement.inputs.uncertainty import DEFAULT_DEMAND, DEFAULT_PORT_WEEKS, Spread
from tests.conftest import ROOT

BAD = "tests/bad/uncertainty"
WORKLOADS = {
    "demand-beyond-pricing.yaml": f"{BAD}/demand-beyond-pricing.yaml:9: uncertainty.demand.high: 200 × 1e+16 tokens is above 1e+18, outside what the model can price",
    "high-below-default-likely.yaml": f"{BAD}/high-below-default-likely.yaml:9: uncertainty.port_weeks.high: 0.9 is below likely 1 (the default): give likely, or a high of 1 or more",
    "low-above-default-likely.yaml": f"{BAD}/low-above-default-likely.yaml:15: uncertainty.workloads.chat.low: 1.2 is above likely 1 (the default): give likely, or a low of 1 or less",
    "low-above-high.yaml": f"{BAD}/low-above-high.yaml:14: uncertainty.demand.high: high 0.8 is below low 1.3",
    "misspelled-key.yaml": f"{BAD}/misspelled-key.yaml:14: uncertainty.port_weeks.high: required field is missing\n"
    f"{BAD}/misspelled-key.yaml:14: uncertainty.port_weeks.hihg: unknown field (did you mean 'high'?)",
    "month-past-horizon.yaml": f"{BAD}/month-past-horizon.yaml:16: uncertainty.capacity[0].months[1]: month 14 is past the horizon (its last month is 12)",
    "months-reversed.yaml": f"{BAD}/months-reversed.yaml:16: uncertainty.capacity[0].months: month 4 is before the window's first month 9",
    "negative-factor.yaml": f"{BAD}/negative-factor.yaml:14: uncertainty.port_weeks.low: Input should be greater than 0",
    "negative-instances.yaml": f"{BAD}/negative-instances.yaml:16: uncertainty.capacity[0].outcomes[0].instances: Input should be greater than or equal to 0",
    "outcome-twice.yaml": f"{BAD}/outcome-twice.yaml:16: uncertainty.capacity[0].outcomes: 8 instances is listed twice: give each outcome once",
    "probabilities-not-one.yaml": f"{BAD}/probabilities-not-one.yaml:17: uncertainty.capacity[0].outcomes: the probabilities sum to 0.9, not 1",
    "probability-text.yaml": f"{BAD}/probability-text.yaml:16: uncertainty.capacity[0].outcomes[0].probability: should be a number, not the text '60%'",
    "together-unknown.yaml": f"{BAD}/together-unknown.yaml:14: uncertainty.efficiency.together: Input should be 'neuron', 'family' or 'option'",
    "unknown-option.yaml": f"{BAD}/unknown-option.yaml:15: uncertainty.capacity[0].option: no option 'trn2.48xlarge' in catalog 'aws' (did you mean 'trn2.48xlarge@us-east-2'?)",
    "unknown-workload.yaml": f"{BAD}/unknown-workload.yaml:15: uncertainty.workloads.chta: no workload 'chta' in this file (did you mean 'chat'?)",
    "windows-overlap.yaml": f"{BAD}/windows-overlap.yaml:19: uncertainty.capacity[1].months: overlaps capacity[0] (the same option, months 4-9): give each month of an option one set of outcomes",
}
CATALOGS = {
    "catalog-capacity-probabilities.yaml": f"{BAD}/catalog-capacity-probabilities.yaml:26: options[0].ranges.capacity[0].outcomes: the probabilities sum to 1.4, not 1",
    "catalog-range-misses-figure.yaml": f"{BAD}/catalog-range-misses-figure.yaml:24: options[0].ranges.usd_per_hour.low: the range 1.5 to 2 does not hold the catalog's usd_per_hour 1 (likely, when not given, is the catalog's figure)",
    "catalog-range-no-reasoning.yaml": f"{BAD}/catalog-range-no-reasoning.yaml:24: options[0].ranges.usd_per_hour.reasoning: required field is missing",
    "catalog-range-no-such-price.yaml": f"{BAD}/catalog-range-no-such-price.yaml:24: options[0].ranges.one_year_usd_per_hour: the option has no one_year_usd_per_hour to give a range for",
    "catalog-range-unknown-field.yaml": f"{BAD}/catalog-range-unknown-field.yaml:24: options[0].ranges.bf16_tflops: bf16_tflops takes no range (it is held fixed); ranges are given for usd_per_hour, one_year_usd_per_hour, three_year_usd_per_hour, capacity_block_usd_per_hour and capacity",
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_every_file_in_the_corpus_has_an_expectation() -> None:
    assert sorted(p.name for p in (ROOT / BAD).iterdir()) == sorted({**WORKLOADS, **CATALOGS})


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_bad_uncertainty_block(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = run("plan", f"{BAD}/{name}")
    assert (code, out) == (2, "")
    assert err == WORKLOADS[name] + "\n"


@pytest.mark.parametrize("name", sorted(CATALOGS))
def test_bad_catalog_range(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = run("catalog", "show", "--catalog", f"{BAD}/{name}")
    assert (code, out) == (2, "")
    assert err == CATALOGS[name] + "\n"


# --------------------------------------------------------------------------- the README's example


def _readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Uncertainty\n", 1)[1]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_loads_and_gives_its_inputs(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "uncertain.yaml"
    path.write_text(_readme_example())
    portfolio = load_portfolio(path, catalog)
    block = portfolio.uncertainty
    assert block is not None
    assert block.workloads["chat"] == Spread(low=0.5, likely=1.0, high=2.0)
    assert block.capacity[0].months == (4, 9)
    inputs = {i.name: i for i in uncertain_inputs(portfolio, catalog)}
    # chat has its own factor, so the portfolio factor moves no workload and is not listed
    assert "demand" not in inputs
    assert (inputs["demand: chat"].low, inputs["demand: chat"].high) == (0.5, 2.0)
    assert inputs["demand: pretrain"].reasoning.endswith("scales its training tokens")
    trn2 = inputs["capacity: trn2.48xlarge@us-east-2 M4–M9"]
    assert (trn2.outcomes, trn2.reasoning) == (
        ((0.6, 8.0), (0.4, 0.0)),
        "the workload file's uncertainty.capacity: our account manager's read of the Q2 allocation",
    )


def test_the_readme_example_plans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "uncertain.yaml"
    path.write_text(_readme_example())
    code, out, err = run("plan", str(path))
    assert (code, err) == (0, "") and "Placement plan" in out


# --------------------------------------------------------------------------- the block's defaults


def test_an_empty_block_takes_every_default(catalog: Catalog) -> None:
    data = {
        "workloads": [
            {
                "name": "a",
                "kind": "inference",
                "framework": "jax",
                "model": {"params_b": 1},
                "tokens_per_month": "1B",
            }
        ]
    }
    portfolio = Portfolio.model_validate({**data, "uncertainty": {}})
    block = portfolio.uncertainty
    assert block is not None
    assert (block.demand, block.port_weeks, block.efficiency.together, block.capacity) == (
        None,
        None,
        "neuron",
        (),
    )
    assert (DEFAULT_DEMAND.low, DEFAULT_DEMAND.likely, DEFAULT_DEMAND.high) == (0.8, 1.0, 1.3)
    assert (DEFAULT_PORT_WEEKS.low, DEFAULT_PORT_WEEKS.likely, DEFAULT_PORT_WEEKS.high) == (0.8, 1.0, 2.0)
    same = uncertain_inputs(Portfolio.model_validate(data), catalog)
    assert uncertain_inputs(portfolio, catalog) == same


def test_probabilities_may_be_off_by_rounding_only() -> None:
    def risk(probabilities: list[float]) -> dict[str, object]:
        outcomes = [{"probability": p, "instances": i} for i, p in enumerate(probabilities)]
        return {"capacity": [{"option": "x", "outcomes": outcomes}]}

    from placement.inputs.uncertainty import Uncertainty

    assert Uncertainty.model_validate(risk([1 / 3, 1 / 3, 1 / 3]))
    with pytest.raises(ValueError, match="sum to 0.9999, not 1"):
        Uncertainty.model_validate(risk([0.3333, 0.3333, 0.3333]))


# --------------------------------------------------------------------------- efficiency spreads


def test_efficiency_spreads_come_from_the_calibration_residuals(catalog: Catalog) -> None:
    share = 1 - 1 / math.sqrt(2)  # median |x| of a symmetric triangular of half-width h is h · 0.2929
    spread = catalog.efficiency_spread
    # Trn2 serving: median error 8.31% over 4 measurements → 0.0831 / 0.2929 = ±28.37%
    assert spread["trn2.48xlarge@us-east-2"]["prefill_mfu"].half_width == pytest.approx(
        0.0831 / share, abs=1e-4
    )
    assert (
        "median error 8.3% over 4 measurements" in spread["trn2.48xlarge@us-east-2"]["prefill_mfu"].reasoning
    )
    # Trn2 training borrows neuron-v2's MFU (no measurement on trn2): ±50%
    assert spread["trn2.48xlarge@us-east-2"]["training_mfu"].half_width == 0.5
    # Trn1 training: 14.02% → ±47.87%; Trn1 serving: 16.49% → 56.3%, capped at ±50%
    assert spread["trn1.32xlarge"]["training_mfu"].half_width == pytest.approx(0.1402 / share, abs=1e-4)
    assert spread["trn1.32xlarge"]["prefill_mfu"].half_width == 0.5
    # B200 training: 3.5% → ±11.95%; its serving efficiencies are borrowed from hopper: ±50%
    assert spread["p6-b200.48xlarge"]["training_mfu"].half_width == pytest.approx(0.035 / share, abs=1e-4)
    assert spread["p6-b200.48xlarge"]["bandwidth_efficiency"].half_width == 0.5
    # Trn3: nothing measured
    assert {s.half_width for s in spread["trn3-ultraserver-gen1"].values()} == {0.5}
    # inference-only options have no training_mfu to spread
    assert "training_mfu" not in spread["inf2.xlarge"]


def test_a_benchmark_the_catalog_cites_has_no_spread(tmp_path: Path) -> None:
    text = (ROOT / "catalogs" / "aws.yaml").read_text()
    cited = (
        "    sources:\n      one_year_usd_per_hour: tsaol-prices\n      capacity_block_usd_per_hour: cbj\n"
    )
    assert text.count(cited) >= 1
    mine = text.replace(
        "    hbm_usable_fraction: 0.90\n    one_year_usd_per_hour: 13.22895\n",
        "    hbm_usable_fraction: 0.90\n    prefill_mfu: 0.3\n    one_year_usd_per_hour: 13.22895\n",
        1,
    ).replace(cited, cited + "      prefill_mfu: cbj\n", 1)
    path = tmp_path / "mine.yaml"
    path.write_text(mine)
    catalog = load_catalog(path)
    assert catalog.option("trn1.32xlarge").prefill_mfu == 0.3
    assert "prefill_mfu" not in catalog.efficiency_spread["trn1.32xlarge"]
    assert "bandwidth_efficiency" in catalog.efficiency_spread["trn1.32xlarge"]


# --------------------------------------------------------------------------- catalog ranges


def test_shipped_ranges_take_the_figure_as_likely(catalog: Catalog) -> None:
    trn3 = catalog.option("trn3-ultraserver-gen1")
    assert trn3.ranges is not None and trn3.ranges.usd_per_hour is not None
    assert (trn3.ranges.usd_per_hour.low, trn3.ranges.usd_per_hour.likely, trn3.ranges.usd_per_hour.high) == (
        143.04,
        193.0,
        250.9,
    )
    # every shipped range holds its figure and says why
    for option in catalog.options:
        for field, price in (option.ranges.prices() if option.ranges else {}).items():
            assert price.likely == getattr(option, field)
            assert price.low <= price.likely <= price.high and len(price.reasoning) > 40


def test_a_range_in_a_catalog_round_trips_through_validation(catalog: Catalog) -> None:
    assert Catalog.model_validate(catalog.model_dump()) == catalog


def test_a_bad_range_in_a_loaded_catalog_is_an_input_error(tmp_path: Path) -> None:
    text = (ROOT / "catalogs" / "aws.yaml").read_text()
    assert "high: 250.9," in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("high: 250.9,", "high: 150,", 1))
    with pytest.raises(
        InputError, match=r"options\[1\]\.ranges\.usd_per_hour\.high: the range 143.04 to 150"
    ):
        load_catalog(path)


def test_the_schema_describes_the_block() -> None:
    import json

    code, out, _ = run("schema")
    schema = json.loads(out)
    assert code == 0 and "uncertainty" in schema["properties"]
    assert schema["$defs"]["Uncertainty"]["additionalProperties"] is False
    assert set(schema["$defs"]["Uncertainty"]["properties"]) == {
        "demand",
        "workloads",
        "port_weeks",
        "efficiency",
        "capacity",
    }
    assert schema["$defs"]["EfficiencyTogether"]["properties"]["together"]["enum"] == [
        "neuron",
        "family",
        "option",
    ]
