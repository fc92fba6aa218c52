"""Files that ship with the tool besides the default catalog: the model architecture table, the
published measurements and the fitted efficiency constants; and the completion of a catalog with them."""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from pathlib import Path

from placement.inputs.evidence import (
    Fit,
    MeasurementSet,
    fill_from_fit,
    serving_status,
    training_status,
)
from placement.inputs.loading import Document, _validate, parse_yaml, read_yaml
from placement.inputs.models import EFFICIENCY_FIELDS, Catalog, ModelTable
from placement.inputs.uncertainty import efficiency_spreads

MODELS = ("catalogs", "models.yaml")
MEASUREMENTS = ("calibration", "measurements.yaml")
FIT = ("calibration", "fit.yaml")


def shipped_path(folder: str, name: str) -> Path:
    """The file inside the installed package, or in the source checkout (editable install)."""
    packaged = resources.files("placement") / folder / name
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / folder / name


def _document(folder: str, name: str) -> Document:
    path = shipped_path(folder, name)
    return parse_yaml(path.read_bytes(), f"<shipped {folder}/{name}>")


@functools.cache
def model_table() -> ModelTable:
    return _validate(_document(*MODELS), ModelTable)


def measurements_bytes(path: Path | None = None) -> bytes:
    return (path or shipped_path(*MEASUREMENTS)).read_bytes()


def load_measurements(path: Path | None = None) -> MeasurementSet:
    doc = read_yaml(path) if path is not None else _document(*MEASUREMENTS)
    return _validate(doc, MeasurementSet)


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@functools.cache
def shipped_fit() -> Fit:
    return _validate(_document(*FIT), Fit)


def load_fit(path: Path | None) -> Fit:
    return shipped_fit() if path is None else _validate(read_yaml(path), Fit)


def complete(doc: Document, fit: Fit | None = None) -> Catalog:
    """Validate a catalog document after filling its options' efficiency fields from the fit, and
    attach the architecture table and each option's calibration status."""
    fit = fit or shipped_fit()
    data = fill_from_fit(
        doc.data, fit, "calibration/fit.yaml (placement calibrate --fit on calibration/measurements.yaml)"
    )
    catalog = _validate(Document(doc.path, data, doc.lines), Catalog)
    given = {o.get("id"): o for o in doc.data.get("options", []) if isinstance(o, dict)}
    status: dict[str, str] = {}
    for option in catalog.options:
        group = fit.group_of(option.hardware) if option.hardware else None
        own = [f for f in EFFICIENCY_FIELDS if f in given.get(option.id, {})]
        if group is None:
            status[option.id] = (
                "efficiency constants set in the catalog, not fitted to published measurements"
            )
            continue
        assert option.hardware is not None
        text = serving_status(fit, group, option.hardware)
        if "training" in option.kinds:
            text += f"; {training_status(fit, group, option.hardware)}"
        if own:
            text += f"; set in the catalog instead of the fit: {', '.join(own)}"
        status[option.id] = text
    return catalog.model_copy(
        update={
            "models": model_table().models,
            "calibration": status,
            "efficiency_spread": efficiency_spreads(catalog, fit),
        }
    )
