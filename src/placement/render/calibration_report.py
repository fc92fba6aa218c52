"""Rendering the calibration: every measurement predicted against its published figure, summaries
per hardware group and family, the leave-one-source-out score, and the fit file itself."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from typing import Any

from placement.engine.plan import SCHEMA_VERSION
from placement.inputs.evidence import Fit
from placement.perf.calibration import GROUPS, Prediction
from placement.render.text import json_visible, table, visible

FAMILY = {"neuron-v2": "trainium/inferentia", "trainium2": "trainium", "trainium3": "trainium"}


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "does not fit"
    return f"{x:,.3g}" if abs(x) < 100 else f"{x:,.0f}"


def _ratio(p: Prediction) -> str:
    return f"{p.ratio:.2f}" if math.isfinite(p.ratio) else "—"


def _conditions(p: Prediction) -> str:
    m = p.measurement
    if m.kind == "training":
        return f"{m.chips} chips, seq {m.sequence_length}, {m.precision}"
    batch = f"batch {m.batch}" if m.batch is not None else "saturated"
    return f"{m.chips} chips, {batch}, {m.input_tokens:g}/{m.output_tokens:g} tokens, {m.precision}"


def summary_rows(predictions: Sequence[Prediction], tolerance: float) -> list[list[str]]:
    rows = []
    for group in GROUPS:
        for kind in ("inference", "training"):
            pts = [p for p in predictions if p.group == group and p.measurement.kind == kind]
            if not pts:
                continue
            errors = [p.error for p in pts]
            worst = max(pts, key=lambda p: (p.error, p.measurement.id))
            inside = sum(e <= tolerance for e in errors)
            rows.append(
                [
                    group,
                    kind,
                    str(len(pts)),
                    f"{statistics.median(errors) * 100:.0f}%",
                    f"{_ratio(worst)} ({worst.measurement.id})",
                    f"{inside}/{len(pts)}",
                ]
            )
    return rows


def score(predictions: Sequence[Prediction], within: float) -> tuple[int, int, float]:
    """(points within ±within, points, geometric-mean error as a fraction)."""
    finite = [p for p in predictions if math.isfinite(p.ratio) and p.ratio > 0]
    inside = sum(p.error <= within for p in predictions)
    geo = math.exp(statistics.fmean(abs(math.log(p.ratio)) for p in finite)) - 1 if finite else math.inf
    return inside, len(predictions), geo


def render_calibration(
    predictions: Sequence[Prediction],
    loso: Sequence[Prediction],
    fit: Fit,
    tolerance: float,
    gaps: Sequence[str],
    skipped: Sequence[str],
    stale: bool,
    markdown: bool,
) -> str:
    fmt = "github" if markdown else "simple"
    out: list[str] = []
    head = "## " if markdown else ""
    out.append(
        f"{head}Calibration: the performance model against {len(predictions)} published measurements\n"
    )
    if stale:
        out.append(
            "WARNING: the fit file was made from a different measurements file; "
            "run `placement calibrate --fit`.\n"
        )
    inside, total, geo = score(predictions, tolerance)
    l_in, l_total, l_geo = score(loso, 0.5)
    out.append(
        f"In-sample: {inside} of {total} within ±{tolerance * 100:.0f}%, "
        f"geometric-mean error {geo * 100:.1f}%. "
        f"Leave-one-source-out: {l_in} of {l_total} within ±50%, geometric-mean error {l_geo * 100:.1f}%.\n"
    )
    out.append(f"{head}Per hardware group\n")
    out.append(
        table(
            summary_rows(predictions, tolerance),
            headers=[
                "group",
                "kind",
                "points",
                "median error",
                "worst ratio",
                f"within ±{tolerance * 100:.0f}%",
            ],
            tablefmt=fmt,
        )
    )
    out.append(f"\n{head}Fitted constants (calibration/fit.yaml, {fit.generated_by}, {fit.date})\n")
    rows = []
    for name, g in fit.groups.items():
        s, t = g.serving, g.training
        rows.append(
            [
                name,
                ", ".join(g.hardware),
                f"{s.bandwidth_efficiency:.3f}",
                f"{s.decode_overhead_ms:.2f}",
                f"{s.collective_us:.0f}",
                f"{s.link_gb_per_s:.0f}" if s.link_gb_per_s else "-",
                f"{s.prefill_mfu:.3f}",
                str(s.max_batch),
                f"{t.training_mfu:.3f}",
                _basis(len(s.points), s.fitted, s.borrowed_from, len(t.points), t.borrowed_from),
            ]
        )
    out.append(
        table(
            rows,
            headers=[
                "group",
                "hardware",
                "bw eff",
                "overhead ms",
                "all-reduce µs",
                "link GB/s",
                "prefill mfu",
                "max batch",
                "train mfu",
                "basis",
            ],
            tablefmt=fmt,
        )
    )
    out.append(f"\n{head}Every measurement (predicted / published)\n")
    loso_by_id = {p.measurement.id: p for p in loso}
    rows = []
    for p in predictions:
        m = p.measurement
        held = loso_by_id.get(m.id)
        rows.append(
            [
                m.id,
                m.source,
                f"{m.hardware} ({m.option or '-'})",
                m.model,
                _conditions(p),
                p.metric,
                _fmt(p.measured),
                _fmt(p.predicted),
                _ratio(p),
                _ratio(held) if held else "—",
                p.detail,
            ]
        )
    out.append(
        table(
            rows,
            headers=[
                "id",
                "source",
                "hardware",
                "model",
                "conditions",
                "metric",
                "published",
                "predicted",
                "ratio",
                "LOSO ratio",
                "model's configuration",
            ],
            tablefmt=fmt,
            disable_numparse=True,
        )
    )
    if skipped:
        out.append(f"\n{head}Not predicted (no catalog option with this hardware)\n")
        out.extend(f"- {s}" for s in skipped)
    if gaps:
        out.append(f"\n{head}No public measurement\n")
        out.extend(f"- {g}" for g in gaps)
    return visible("\n".join(out) + "\n")


def _basis(
    serve: int, fitted: Sequence[str], borrowed: str | None, train: int, t_borrowed: str | None
) -> str:
    parts = []
    if serve and not borrowed:
        parts.append(f"serving fitted on {serve}")
    elif serve:
        parts.append(f"serving: {', '.join(fitted)} fitted on {serve}, rest from {borrowed}")
    else:
        parts.append(f"serving from {borrowed} (no measurement)")
    parts.append(f"training on {train}" if train else f"training from {t_borrowed} (no measurement)")
    return "; ".join(parts)


def calibration_dict(
    predictions: Sequence[Prediction], loso: Sequence[Prediction], tolerance: float
) -> dict[str, Any]:
    loso_by_id = {p.measurement.id: p for p in loso}

    def num(x: float) -> float | None:
        return round(x, 6) if math.isfinite(x) else None

    inside, total, geo = score(predictions, tolerance)
    l_in, l_total, l_geo = score(loso, 0.5)
    return {
        "schema_version": SCHEMA_VERSION,
        "tolerance": tolerance,
        "in_sample": {"within": inside, "points": total, "geometric_mean_error": num(geo)},
        "leave_one_source_out": {"within_50pct": l_in, "points": l_total, "geometric_mean_error": num(l_geo)},
        "measurements": [
            {
                "id": p.measurement.id,
                "source": p.measurement.source,
                "group": p.group,
                "hardware": p.measurement.hardware,
                "metric": p.metric,
                "published": p.measured,
                "predicted": num(p.predicted),
                "ratio": num(p.ratio),
                "loso_ratio": num(loso_by_id[p.measurement.id].ratio)
                if p.measurement.id in loso_by_id
                else None,
                "configuration": p.detail,
            }
            for p in predictions
        ],
    }


def render_calibration_json(
    predictions: Sequence[Prediction], loso: Sequence[Prediction], tolerance: float
) -> str:
    return json_visible(json.dumps(calibration_dict(predictions, loso, tolerance), indent=2) + "\n")


def render_fit(fit: Fit) -> str:
    """The fit file: JSON, which is also YAML, so the loader reads it like every other input."""
    header = (
        "# Generated by `placement calibrate --fit` from calibration/measurements.yaml;\n"
        "# do not edit by hand.\n"
        "# Each group's constants, the measurements they were fitted on, and the residuals.\n"
    )
    return header + json.dumps(fit.model_dump(mode="json"), indent=2) + "\n"
