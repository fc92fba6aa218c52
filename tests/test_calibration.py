"""The calibration: the shipped fit is what `placement calibrate --fit` makes of the shipped
measurements, every measurement is predicted within the README's tolerance, and the report runs."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from placement.cli import app
from placement.inputs.loading import load_catalog
from placement.inputs.shipped import (
    FIT,
    digest,
    load_measurements,
    measurements_bytes,
    model_table,
    shipped_path,
)
from placement.perf.calibration import GROUPS, fit, option_finder
from placement.render.calibration_report import render_fit

TOLERANCE = 1.5  # README "Calibration": every shipped point within ±150%
CORE_TOLERANCE = 0.35  # and at least 85% of them within ±35%


def test_shipped_fit_is_what_the_fit_command_makes() -> None:
    evidence = load_measurements()
    fresh = fit(
        evidence,
        option_finder(load_catalog(None).options),
        model_table().models,
        digest(measurements_bytes()),
    )
    assert render_fit(fresh) == shipped_path(*FIT).read_text(), (
        "run: placement calibrate --fit --out calibration/fit.yaml"
    )


def test_every_group_is_fitted_or_says_where_it_borrows() -> None:
    fresh = load_catalog(None)
    for option in fresh.options:
        assert option.hardware is not None
        status = fresh.calibration[option.id]
        assert "measurements on" in status or "no public measurement" in status
        for field in ("prefill_mfu", "bandwidth_efficiency", "decode_overhead_ms", "max_batch"):
            if not option.sources.get(field, "").startswith("fit-"):
                reason = option.estimates[field]
                assert "no public measurement" in reason or "taken from group" in reason


def test_calibrate_within_the_stated_tolerance() -> None:
    result = CliRunner().invoke(app, ["calibrate", "--format", "json", "--tolerance", str(TOLERANCE)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    points = data["measurements"]
    assert len(points) >= 30
    assert all(abs(p["ratio"] - 1) <= TOLERANCE for p in points)
    inside = sum(abs(p["ratio"] - 1) <= CORE_TOLERANCE for p in points)
    assert inside / len(points) >= 0.85
    assert {p["group"] for p in points} >= {"neuron-v2", "trainium2", "hopper", "blackwell", "ada"}
    assert all(p["loso_ratio"] is not None for p in points)


def test_tolerance_fails_when_a_point_is_outside() -> None:
    result = CliRunner().invoke(app, ["calibrate", "--tolerance", "0.01"])
    assert result.exit_code == 1
    assert "outside ±1%" in result.stderr


def test_groups_cover_every_catalog_hardware() -> None:
    members = {h for hw in GROUPS.values() for h in hw}
    assert {o.hardware for o in load_catalog(None).options} <= members
