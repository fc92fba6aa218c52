"""The calibration set (calibration/measurements.yaml): every row is traceable and complete enough to fit on.

The performance model is fitted on these rows, so a row that cannot be traced to its source, or that lacks
the conditions the model needs (request shape, chips, sequence length), is a defect of the data, not of
the model. These checks read the YAML directly: the file is data for the fitting code, not a user input.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MEASUREMENTS = ROOT / "calibration" / "measurements.yaml"
CATALOG = ROOT / "catalogs" / "aws.yaml"

# Instance types the catalog is being extended with in parallel (catalog-audit section 4).
PLANNED_OPTIONS = {
    "p4de.24xlarge",
    "p6-b300.48xlarge",
    "g6e.xlarge",
    "g6e.12xlarge",
    "g6e.24xlarge",
    "g6.xlarge",
    "g6.12xlarge",
    "g5.48xlarge",
    "trn1n.32xlarge",
    "p5.4xlarge",
}
HARDWARE = {"trn1", "trn2", "trn3", "inf2", "a100-40gb", "a100-80gb", "h100", "h200", "b200", "l40s", "l4"}
PRECISIONS = {"bf16", "fp16", "fp8", "int8", "fp4", "int4"}
SOURCE_KEYS = {"title", "address", "version", "date_read"}
ROW_KEYS = {
    "id", "source", "kind", "hardware", "option", "chips", "model", "params_b", "active_params_b",
    "precision", "engine", "tp", "tp_unit", "replicas", "batch", "input_tokens", "output_tokens",
    "output_tokens_per_s", "total_tokens_per_s", "tpot_ms", "ttft_ms", "nodes", "sequence_length",
    "global_batch_sequences", "tokens_per_s", "sequences_per_s", "mfu", "notes",
}  # fmt: skip
# Hardware for which only one public source was found (stated in calibration/README.md).
SINGLE_SOURCE_HARDWARE = {"a100-40gb"}


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    loaded = yaml.safe_load(MEASUREMENTS.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    measurements = data["measurements"]
    assert isinstance(measurements, list)
    return measurements


def _catalog_option_ids() -> set[str]:
    """The instance types the catalog sells, in any region (`p5.48xlarge@us-east-2` → `p5.48xlarge`):
    a measurement names the instance type it ran on, not a region."""
    catalog = yaml.safe_load(CATALOG.read_text())
    return {str(o["id"]).split("@")[0] for o in catalog["options"]}


def test_top_level_has_exactly_sources_measurements_gaps(data: dict[str, Any]) -> None:
    assert set(data) == {"sources", "measurements", "gaps"}
    assert all(isinstance(g, str) and g for g in data["gaps"])


def test_every_source_has_an_address_and_a_date(data: dict[str, Any]) -> None:
    for key, source in data["sources"].items():
        assert set(source) <= SOURCE_KEYS, f"{key}: unknown keys {set(source) - SOURCE_KEYS}"
        assert str(source.get("title", "")).strip(), f"{key}: no title"
        assert str(source.get("address", "")).startswith("https://"), f"{key}: no public address"
        assert isinstance(source.get("date_read"), datetime.date), f"{key}: date_read is not a date"


def test_every_row_names_a_known_source_and_every_source_is_used(
    data: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    used = {row["source"] for row in rows}
    for row in rows:
        assert row["source"] in data["sources"], f"{row['id']}: unknown source {row['source']!r}"
    assert used == set(data["sources"]), f"sources cited by no row: {set(data['sources']) - used}"


def test_ids_are_unique(rows: list[dict[str, Any]]) -> None:
    ids = [row["id"] for row in rows]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates


def test_rows_use_only_schema_keys_and_known_values(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        assert set(row) <= ROW_KEYS, f"{row['id']}: unknown keys {set(row) - ROW_KEYS}"
        assert row["kind"] in {"inference", "training"}, row["id"]
        assert row["hardware"] in HARDWARE, row["id"]
        assert row["precision"] in PRECISIONS, row["id"]
        assert isinstance(row["chips"], int) and row["chips"] >= 1, row["id"]
        assert 0 < row["active_params_b"] <= row["params_b"], row["id"]
        if "tp" in row:
            assert row["tp_unit"] in {"neuroncores", "chips"}, row["id"]
        if row.get("tp_unit") == "chips":
            assert row["tp"] * row.get("replicas", 1) <= row["chips"], row["id"]
        if row.get("mfu") is not None:
            assert 0 < row["mfu"] < 1, f"{row['id']}: mfu is a fraction"
        assert str(row.get("notes", "")).strip(), f"{row['id']}: every row says what it is"


def test_every_option_is_a_catalog_option_or_a_planned_one(rows: list[dict[str, Any]]) -> None:
    allowed = _catalog_option_ids() | PLANNED_OPTIONS
    for row in rows:
        assert row["option"] is None or row["option"] in allowed, f"{row['id']}: option {row['option']}"


def test_inference_rows_have_a_shape_and_a_result(rows: list[dict[str, Any]]) -> None:
    inference = [row for row in rows if row["kind"] == "inference"]
    assert inference
    for row in inference:
        assert row["input_tokens"] >= 1 and row["output_tokens"] >= 1, row["id"]
        results = [row.get(k) for k in ("output_tokens_per_s", "total_tokens_per_s", "tpot_ms")]
        assert any(r is not None and r > 0 for r in results), f"{row['id']}: no throughput or latency"


def test_training_rows_have_a_rate_and_its_sequence_length(rows: list[dict[str, Any]]) -> None:
    training = [row for row in rows if row["kind"] == "training"]
    assert training
    for row in training:
        assert row.get("tokens_per_s") or row.get("sequences_per_s"), row["id"]
        assert row.get("sequence_length"), f"{row['id']}: the fit needs the sequence length"


def test_tokens_per_second_agree_with_sequences_per_second(rows: list[dict[str, Any]]) -> None:
    # e.g. Llama-3.1-8B on 32 trn1: 47.95 seq/s x 8192 tokens = 392,806.4 tokens/s
    both = [row for row in rows if row.get("tokens_per_s") and row.get("sequences_per_s")]
    assert both
    for row in both:
        expected = row["sequences_per_s"] * row["sequence_length"]
        assert row["tokens_per_s"] == pytest.approx(expected, rel=1e-6), row["id"]


def test_each_hardware_has_two_sources_unless_stated(rows: list[dict[str, Any]]) -> None:
    sources: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        sources[row["hardware"]].add(row["source"])
    single = {hw for hw, keys in sources.items() if len(keys) < 2}
    assert single == SINGLE_SOURCE_HARDWARE
    # the hardware the catalog prices today (L4 and Trn3 have no public measurement: see gaps)
    assert {"trn1", "trn2", "inf2", "a100-40gb", "h100", "h200", "b200", "l40s"} <= set(sources)
