"""Pure rendering of the catalog (`catalog show`) and of one estimate's arithmetic (`explain`)."""

from __future__ import annotations

from typing import Any

from placement.engine.costing import Estimate, num, port_weeks
from placement.engine.optimizer import codebases
from placement.engine.plan import SCHEMA_VERSION
from placement.engine.planner import already_on
from placement.inputs.models import FAMILIES, Catalog, Option, Portfolio, Sourced, Workload
from placement.render.report import already_on_line
from placement.render.text import table, visible


def _cell(record: Sourced, field: str, value: object) -> str:
    if value is None:
        return "-"
    text = num(float(value)) if isinstance(value, int | float) else str(value)
    return text + ("*" if record.is_estimate(field) else "")


OPTION_COLUMNS = [
    ("chips", "chips"),
    ("bf16_tflops", "BF16 TF"),
    ("fp8_tflops", "FP8 TF"),
    ("hbm_gib", "HBM GiB"),
    ("hbm_tb_per_s", "TB/s"),
    ("usd_per_hour", "USD/h"),
    ("capacity_instances", "capacity"),
    ("training_mfu", "train MFU"),
    ("prefill_mfu", "prefill MFU"),
    ("bandwidth_efficiency", "BW eff"),
    ("decode_overhead_ms", "step ms"),
    ("collective_us", "all-reduce µs"),
    ("link_gb_per_s", "link GB/s"),
    ("max_batch", "max batch"),
]


def render_catalog(catalog: Catalog, markdown: bool = False) -> str:
    fmt = "github" if markdown else "simple"
    rows = [
        [o.id, o.region, o.family, o.accelerator, "/".join(o.kinds)]
        + [_cell(o, f, getattr(o, f)) for f, _ in OPTION_COLUMNS]
        for o in catalog.options
    ]
    headers = ["option", "region", "family", "accelerator", "kinds"] + [h for _, h in OPTION_COLUMNS]
    out = [f"Catalog {catalog.name} ({catalog.region}); per-chip figures; * = estimate", ""]
    out += [table(rows, headers=headers, tablefmt=fmt, disable_numparse=True), ""]
    migration_rows = []
    for item, row in catalog.migration.items.items():
        cells = []
        for family in FAMILIES:
            effort = row[family]
            if effort.blocked is not None:
                cells.append("blocked")
            else:
                cells.append(f"{effort.weeks:g}" + ("*" if effort.estimate else ""))
        migration_rows.append([item, *cells])
    out += [
        f"Migration: engineer-weeks per codebase, ${catalog.migration.engineer_week_usd:,.0f}"
        + ("*" if catalog.migration.estimates else "")
        + " per engineer-week",
        "",
    ]
    out += [table(migration_rows, headers=["item", *FAMILIES], tablefmt=fmt, disable_numparse=True), ""]
    out += ["Sources and estimates per option", ""]
    for o in catalog.options:
        out.append(f"{o.id}:")
        for field in o.numeric_fields():
            out.append(f"  {field} = {num(float(getattr(o, field)))}: {_provenance(o, field)}")
    out += ["", "Sources", ""]
    out += [f"[{k}] {s.title}. {s.address} (read {s.date_read})" for k, s in catalog.sources.items()]
    return visible("\n".join(out) + "\n")


def model_label(workload: Workload) -> str:
    m = workload.model
    if m.name is not None:
        return m.name
    moe = f", {m.active_params_b:g}B active" if m.active_params_b is not None else ""
    return f"{m.params_b:g}B params{moe}"


def _provenance(record: Sourced, field: str) -> str:
    parts = []
    if field in record.sources:
        parts.append(f"[{record.sources[field]}]")
    if field in record.notes:
        parts.append(record.notes[field])
    if field in record.estimates:
        parts.append(f"ESTIMATE: {record.estimates[field]}")
    return "; ".join(parts)


def render_explain(
    portfolio: Portfolio, catalog: Catalog, workload: Workload, option: Option, est: Estimate
) -> str:
    out = [
        f"{workload.name} ({workload.kind}, {workload.framework}, "
        f"{model_label(workload)}, {workload.precision}) on {option.id} "
        f"({option.accelerator}, {option.family}, {option.region})",
        "",
    ]
    out += [f"Assumption: {a}" for a in workload.defaults_used()]
    if option.id in catalog.calibration:
        out.append(f"Calibration of {option.id}: {catalog.calibration[option.id]}")
    if len(out) > 2:
        out.append("")
    if est.steps:
        rows = [[s.what, s.formula, s.arithmetic, f"{num(s.value)} {s.unit}"] for s in est.steps]
        out += [
            table(
                rows,
                headers=["step", "formula", "arithmetic", "value"],
                tablefmt="simple",
                disable_numparse=True,
            ),
            "",
        ]
    if est.ok:
        out.append(
            "Result: runs; "
            + (
                f"{est.instances} instances at peak"
                if workload.kind == "inference"
                else f"{est.instances_at_once} instances at once"
            )
            + f", compute over the horizon ${est.compute_usd:,.2f} (alone on this option)."
        )
    else:
        out.append(f"Result: ruled out: {est.reason}")
    out += ["", "Catalog figures used"]
    for field in option.numeric_fields():
        if field in est.inputs or field in ("chips",):
            out.append(f"  {field} = {num(float(getattr(option, field)))}: {_provenance(option, field)}")
    if est.measured:
        out.append(
            f"  measured tokens/s = {num(workload.measured[option.id].tokens_per_second)}: "
            "from the workload file"
        )
    members = codebases(portfolio)[workload.codebase_name]
    weeks, items = port_weeks(catalog, members, option.family)
    out += [
        "",
        f"Migration of codebase {workload.codebase_name!r} to {option.family}: {weeks:g} "
        f"engineer-weeks = ${weeks * catalog.migration.engineer_week_usd:,.0f} (one-time, shared "
        "by the codebase)",
    ]
    entries = [
        a
        for a in already_on(portfolio, catalog)
        if a.family == option.family and a.codebase == workload.codebase_name
    ]
    for entry in entries:
        out.append(f"  Rule: {already_on_line(entry)}")
    for item in items:
        effort = catalog.migration.items[item][option.family]
        basis = f"[{effort.source}] " if effort.source else ""
        basis += f"ESTIMATE: {effort.estimate}" if effort.estimate else ""
        out.append(f"  {item}: {effort.weeks:g} weeks; {basis}")
    cited = sorted(
        {option.sources[f] for f in est.inputs if f in option.sources}
        | {catalog.migration.items[i][option.family].source or "" for i in items} - {""}
    )
    if cited:
        out += ["", "Sources"]
        out += [
            f"  [{k}] {catalog.sources[k].title}. {catalog.sources[k].address} "
            f"(read {catalog.sources[k].date_read})"
            for k in cited
        ]
    return visible("\n".join(out) + "\n")


def explain_dict(catalog: Catalog, workload: Workload, option: Option, est: Estimate) -> dict[str, Any]:
    """`placement explain --format json`: the same steps as data (README "explain JSON")."""
    s = est.serving
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "workload": workload.name,
        "kind": workload.kind,
        "option": option.id,
        "family": option.family,
        "runs": est.ok,
        "reason": est.reason or None,
        "measured": est.measured,
        "assumptions": workload.defaults_used(),
        "calibration": catalog.calibration.get(option.id),
        "steps": [
            {
                "what": st.what,
                "formula": st.formula,
                "arithmetic": st.arithmetic,
                "value": st.value,
                "unit": st.unit,
            }
            for st in est.steps
        ],
        "compute_usd": round(est.compute_usd, 2) if est.ok else None,
    }
    if workload.kind == "inference":
        data["serving"] = (
            {
                "tp": s.tp,
                "replicas": s.replicas,
                "batch": s.batch,
                "batch_limited_by": s.batch_limit,
                "kv_cache_batch_limit": s.kv_batch_limit,
                "step_ms": s.step_s * 1000,
                "prefill_ms_per_request": s.prefill_s * 1000,
                "latency_ms_per_token": s.latency_ms,
                "tokens_per_second_per_instance": s.tokens_per_s,
            }
            if s is not None
            else None
        )
        data["tokens_per_second_per_instance"] = est.tokens_per_second_per_instance if est.ok else None
        data["peak_tokens_per_second"] = est.peak_tokens_per_second if est.ok else None
        data["instances"] = est.instances if est.ok else None
    else:
        data["instance_hours_per_run"] = est.instance_hours_per_run if est.ok else None
        data["instances_at_once"] = est.instances_at_once if est.ok else None
    return data
