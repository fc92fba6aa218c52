"""The `placement` command: parse arguments, run the pipeline, print or write, exit with a code.

Exit codes: 0 ok; 1 no feasible plan (or the solver stopped without one); 2 bad input or usage;
3 internal error (a bug: please report it).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from placement.errors import EXIT_INTERNAL, InfeasibleError, InputError, PlacementError, Problem
from placement.inputs.focus import FocusBill
from placement.inputs.loading import load_catalog, load_portfolio
from placement.inputs.models import Catalog, Portfolio, did_you_mean
from placement.output import write_atomic
from placement.render.report import FORMATS

app = typer.Typer(
    help="Place AI training and inference workloads across AWS Trainium, Inferentia and GPU "
    "instances at the lowest defensible cost.",
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
)
catalog_app = typer.Typer(
    help="Inspect catalogs and update their prices.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(catalog_app, name="catalog")

REPORT_URL = "https://github.com/placement-tool/placement/issues"

WorkloadsArg = Annotated[
    Path, typer.Argument(help="Workload file (YAML).", show_default=False, metavar="WORKLOADS")
]
CatalogOpt = Annotated[
    Path | None,
    typer.Option("--catalog", "-c", help="Catalog file; default: the shipped aws-us-east-1 catalog."),
]


def _run(action: Callable[[], int]) -> None:
    """Run a command body; turn every expected error into stderr lines and an exit code."""
    try:
        code = action()
    except InputError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(exc.exit_code) from None
    except InfeasibleError as exc:
        typer.echo(exc.headline, err=True)
        for reason in exc.reasons:
            typer.echo(f"  - {reason}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except PlacementError as exc:
        typer.echo(f"placement: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("placement: interrupted; nothing was written", err=True)
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: one line, no traceback, and where to report it
        typer.echo(
            f"placement: internal error: {type(exc).__name__}: {exc} "
            f"(please report it at {REPORT_URL} with the command and input files)",
            err=True,
        )
        raise typer.Exit(EXIT_INTERNAL) from None
    raise typer.Exit(code)


def _load(workloads: Path, catalog_path: Path | None) -> tuple[Portfolio, Catalog]:
    catalog = load_catalog(catalog_path)
    return load_portfolio(workloads, catalog), catalog


def _emit(text: str | bytes, out: Path | None, inputs: list[Path | None]) -> None:
    if out is None and isinstance(text, bytes):
        sys.stdout.buffer.write(text)
    elif out is None:
        sys.stdout.write(str(text))
    else:
        write_atomic(out, text, [p for p in inputs if p is not None])


def _plan_usage(
    format: str, out: Path | None, current: Path | None, start_month: str
) -> list[tuple[str, str]]:
    """Option combinations `plan` refuses, as (option, message)."""
    problems = []
    if format == "xlsx" and out is None and sys.stdout.isatty():
        problems.append(("--format", "xlsx is binary: give --out FILE.xlsx or redirect the output"))
    if current is not None and format in ("csv", "focus"):
        problems.append(("--current", f"has no {format} form; use table, markdown, json or xlsx"))
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", start_month):
        problems.append(("--start-month", "give a month as YYYY-MM"))
    return problems


def _read_bill(path: Path | None) -> FocusBill | None:
    if path is None:
        return None
    from placement.inputs.focus import read_focus

    return read_focus(path)


def _check_format(value: str) -> str:
    if value not in FORMATS:
        raise typer.BadParameter(f"choose one of {', '.join(FORMATS)}{did_you_mean(value, list(FORMATS))}")
    return value


CatalogsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--catalog",
        "-c",
        help="Catalog file; repeat to compare. The first is the base (default: the shipped catalog).",
    ),
]
ScenariosOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--scenario", "-s", help="What-if overlay on the base (see examples/scenarios/); repeatable."
    ),
]
FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help="table, markdown, json or csv.", callback=_check_format)
]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file (atomically).")]
TimeLimitOpt = Annotated[
    float, typer.Option("--time-limit", min=0.1, help="Solver time limit per plan, seconds.")
]
GapOpt = Annotated[float, typer.Option("--gap", min=0.0, max=0.5, help="Relative MIP gap per plan.")]


PLAN_FORMATS = (*FORMATS, "xlsx", "focus")


def _check_plan_format(value: str) -> str:
    if value not in PLAN_FORMATS:
        raise typer.BadParameter(
            f"choose one of {', '.join(PLAN_FORMATS)}{did_you_mean(value, list(PLAN_FORMATS))}"
        )
    return value


@app.command()
def plan(
    workloads: WorkloadsArg,
    catalog: CatalogOpt = None,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="table, markdown, json, csv, xlsx (a workbook; needs the 'xlsx' extra and --out or a "
            "redirect) or focus (projected charges as FOCUS rows, CSV).",
            callback=_check_plan_format,
        ),
    ] = "table",
    current: Annotated[
        Path | None,
        typer.Option(
            "--current",
            help="Your current bill, a FOCUS export (CSV, .csv.gz, or Parquet with the 'focus' extra): "
            "adds 'Against your current bill' (table, markdown, json, xlsx).",
        ),
    ] = None,
    start_month: Annotated[
        str,
        typer.Option("--start-month", help="First month of the projected charges (--format focus), YYYY-MM."),
    ] = "2027-01",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write to this file (atomically) instead of standard output."),
    ] = None,
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit",
            min=0.1,
            help="Solver time limit, seconds; the plan states the gap proven when it stops.",
        ),
    ] = 60.0,
    gap: Annotated[
        float, typer.Option("--gap", min=0.0, max=0.5, help="Relative MIP gap at which the solver may stop.")
    ] = 1e-6,
) -> None:
    """Place every workload at the lowest total cost and explain the plan."""
    from placement.engine.optimizer import SolveSettings
    from placement.engine.planner import make_plan
    from placement.engine.verify import verify
    from placement.render.plan_output import plan_output
    from placement.render.report import plan_dict

    def body() -> int:
        usage = _plan_usage(format, out, current, start_month)
        if usage:
            raise InputError([Problem("<command line>", None, field, message) for field, message in usage])
        portfolio, cat = _load(workloads, catalog)
        bill = _read_bill(current)
        result = make_plan(portfolio, cat, str(workloads), SolveSettings(gap=gap, time_limit_s=time_limit))
        data = plan_dict(result)  # what the JSON format prints, so verified as it will be read back
        problems = verify(data, portfolio, cat)
        if problems:  # the optimizer produced something its independent check rejects: a bug
            typer.echo(
                "placement: internal error: the plan failed its independent check "
                f"(please report it at {REPORT_URL}):",
                err=True,
            )
            for problem in problems:
                typer.echo(f"  - {problem}", err=True)
            return EXIT_INTERNAL
        inputs: list[Path | None] = [workloads, catalog, current]
        comparison = None
        if bill is not None:
            from placement.analyses.current_bill import compare_to_bill

            comparison = compare_to_bill(result, cat, bill)
        _emit(plan_output(result, data, cat, format, comparison, start_month), out, inputs)
        return 0

    _run(body)


@app.command()
def explain(
    workloads: WorkloadsArg,
    workload: Annotated[str, typer.Argument(help="Workload name.", show_default=False)],
    option: Annotated[str, typer.Argument(help="Option id, e.g. trn2.48xlarge.", show_default=False)],
    catalog: CatalogOpt = None,
) -> None:
    """Show the arithmetic behind one workload's cost on one option, with sources."""
    from placement.engine.costing import estimate
    from placement.render.views import render_explain

    def body() -> int:
        portfolio, cat = _load(workloads, catalog)
        names = [w.name for w in portfolio.workloads]
        if workload not in names:
            raise InputError(
                [
                    Problem(
                        "<command line>",
                        None,
                        "workload",
                        f"no workload {workload!r} in {workloads}{did_you_mean(workload, names)}",
                    )
                ]
            )
        if option not in cat.option_ids:
            raise InputError(
                [
                    Problem(
                        "<command line>",
                        None,
                        "option",
                        f"no option {option!r} in catalog "
                        f"{cat.name}{did_you_mean(option, list(cat.option_ids))}",
                    )
                ]
            )
        w = portfolio.workloads[names.index(workload)]
        o = cat.option(option)
        sys.stdout.write(render_explain(portfolio, cat, w, o, estimate(portfolio, w, o, cat)))
        return 0

    _run(body)


@app.command()
def compare(
    workloads: WorkloadsArg,
    catalog: CatalogsOpt = None,
    scenario: ScenariosOpt = None,
    format: FormatOpt = "table",
    out: OutOpt = None,
    time_limit: TimeLimitOpt = 60.0,
    gap: GapOpt = 1e-6,
    current: Annotated[
        Path | None,
        typer.Option(
            "--current", help="Your current bill (a FOCUS export): each plan against it (table, markdown)."
        ),
    ] = None,
) -> None:
    """Compare the plan across catalogs and what-if scenarios: totals, families, what moved and why."""
    from placement.analyses.scenarios import apply_scenario, plan_what_fits
    from placement.analyses.scenarios import compare as diff
    from placement.engine.optimizer import SolveSettings
    from placement.inputs.loading import load_scenario
    from placement.render.compare_report import COMPARE_RENDERERS

    def body() -> int:
        catalogs = list(catalog or [])
        scenarios = list(scenario or [])
        if len(catalogs) < 2 and not scenarios:
            raise InputError(
                [
                    Problem(
                        "<command line>",
                        None,
                        "compare",
                        "give a second --catalog or a --scenario to compare against",
                    )
                ]
            )
        if current is not None and format not in ("table", "markdown"):
            raise InputError(
                [
                    Problem(
                        "<command line>",
                        None,
                        "--current",
                        "compare shows the bill in table or markdown only",
                    )
                ]
            )
        bill = _read_bill(current)
        settings = SolveSettings(gap=gap, time_limit_s=time_limit)
        base_catalog = load_catalog(catalogs[0] if catalogs else None)
        portfolio = load_portfolio(workloads, base_catalog)
        base_label = catalogs[0].name if catalogs else base_catalog.name
        base = plan_what_fits(portfolio, base_catalog, str(workloads), base_label, settings)
        results = []
        for path in catalogs[1:]:
            variant = load_catalog(path)
            variant_portfolio = load_portfolio(workloads, variant)
            outcome = plan_what_fits(variant_portfolio, variant, str(workloads), path.name, settings)
            results.append(diff(base, outcome, variant))
        for path in scenarios:
            spec = load_scenario(path, portfolio, base_catalog)
            new_portfolio, new_catalog = apply_scenario(spec, portfolio, base_catalog)
            outcome = plan_what_fits(new_portfolio, new_catalog, str(workloads), spec.name, settings)
            results.append(diff(base, outcome, new_catalog))
        title = f"Comparison for {workloads}"
        text = COMPARE_RENDERERS[format](results, title)
        if bill is not None:
            from placement.analyses.current_bill import variants_against_bill
            from placement.render.current_bill import render_variants_against_bill

            outcomes = [(base.label, base.plan), *((r.new.label, r.new.plan) for r in results)]
            rows = variants_against_bill(outcomes, bill, base_catalog.settings.hours_per_month)
            text += "\n" + render_variants_against_bill(rows, format == "markdown")
        _emit(text, out, [workloads, *catalogs, *scenarios, current])
        return 0

    _run(body)


@app.command()
def stress(
    workloads: WorkloadsArg,
    catalog: CatalogOpt = None,
    format: FormatOpt = "table",
    out: OutOpt = None,
    time_limit: TimeLimitOpt = 60.0,
    gap: GapOpt = 1e-6,
) -> None:
    """Re-plan under shocks: each non-GPU family's capacity at zero and half, inference demand ×2, the
    most-used option removed. Reports each fallback plan, its extra cost, what moves and what cannot run."""
    from placement.analyses.scenarios import explain_if_none
    from placement.analyses.scenarios import stress as run_stress
    from placement.engine.optimizer import SolveSettings
    from placement.render.compare_report import render_comparisons_csv, render_stress, render_stress_json

    def body() -> int:
        portfolio, cat = _load(workloads, catalog)
        settings = SolveSettings(gap=gap, time_limit_s=time_limit)
        base, results = run_stress(portfolio, cat, str(workloads), settings)
        explain_if_none(base, portfolio, cat, settings)
        title = f"Stress test: {workloads} on catalog {cat.name}"
        if format == "json":
            text = render_stress_json(base, results)
        elif format == "csv":
            text = render_comparisons_csv([r.comparison for r in results])
        else:
            text = render_stress(base, results, format == "markdown", title)
        _emit(text, out, [workloads, catalog])
        return 0

    _run(body)


@app.command()
def sensitivity(
    workloads: WorkloadsArg,
    catalog: CatalogOpt = None,
    format: FormatOpt = "table",
    out: OutOpt = None,
    time_limit: TimeLimitOpt = 60.0,
    gap: GapOpt = 1e-6,
) -> None:
    """Shadow prices of binding capacity, break-even prices, the price of portability and a check of
    the vendors' price-performance claims against the catalog; every figure by re-solving."""
    from placement.analyses.sensitivity import analyse
    from placement.engine.optimizer import SolveSettings
    from placement.render.analysis_report import render_sensitivity, render_sensitivity_json

    def body() -> int:
        if format == "csv":
            raise InputError(
                [
                    Problem(
                        "<command line>",
                        None,
                        "--format",
                        "sensitivity has no CSV form; use table, markdown or json",
                    )
                ]
            )
        portfolio, cat = _load(workloads, catalog)
        result = analyse(portfolio, cat, str(workloads), SolveSettings(gap=gap, time_limit_s=time_limit))
        title = f"Sensitivity: {workloads} on catalog {cat.name}"
        text = (
            render_sensitivity_json(result)
            if format == "json"
            else render_sensitivity(result, format == "markdown", title)
        )
        _emit(text, out, [workloads, catalog])
        return 0

    _run(body)


@app.command()
def memo(
    workloads: WorkloadsArg,
    catalog: CatalogOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write the memo here (atomically); the chart goes beside it as <name>.png."
        ),
    ] = None,
    chart: Annotated[
        bool,
        typer.Option("--chart/--no-chart", help="Draw the PNG chart (needs the 'chart' extra: matplotlib)."),
    ] = True,
    current: Annotated[
        Path | None,
        typer.Option(
            "--current", help="Your current bill (a FOCUS export): adds 'Against your current bill'."
        ),
    ] = None,
    time_limit: TimeLimitOpt = 60.0,
    gap: GapOpt = 1e-6,
) -> None:
    """Write a Markdown procurement memo answering the six enterprise checklist questions."""
    from placement.analyses.scenarios import shocks_for
    from placement.analyses.sensitivity import price_of_portability, vendor_claims
    from placement.engine.optimizer import SolveSettings
    from placement.engine.planner import make_plan
    from placement.render.chart import family_chart
    from placement.render.memo import MemoInputs, render_memo

    def body() -> int:
        portfolio, cat = _load(workloads, catalog)
        bill = _read_bill(current)
        settings = SolveSettings(gap=gap, time_limit_s=time_limit)
        plan_ = make_plan(portfolio, cat, str(workloads), settings)
        results = shocks_for(plan_, portfolio, cat, str(workloads), settings)
        picture = family_chart(plan_, results) if chart and out is not None else None
        chart_path = out.with_suffix(".png") if out is not None else None
        inputs = MemoInputs(
            portfolio,
            cat,
            workloads.stem,
            plan_,
            results,
            tuple(price_of_portability(portfolio, cat, settings)),
            tuple(vendor_claims(cat)),
            chart_path.name if picture is not None and chart_path is not None else None,
        )
        text = render_memo(inputs)
        if bill is not None:
            from placement.analyses.current_bill import compare_to_bill
            from placement.render.current_bill import render_current_bill

            text += "\n" + render_current_bill(compare_to_bill(plan_, cat, bill), markdown=True)
        if picture is not None and chart_path is not None:
            write_atomic(chart_path, picture, [p for p in (workloads, catalog) if p is not None])
        elif chart and out is not None:
            typer.echo("placement: no chart: install the 'chart' extra (matplotlib) to draw one", err=True)
        _emit(text, out, [workloads, catalog, current])
        return 0

    _run(body)


@app.command(name="verify")
def verify_command(
    plan_file: Annotated[
        Path, typer.Argument(help="A plan saved with --format json.", show_default=False, metavar="PLAN_JSON")
    ],
    workloads: WorkloadsArg,
    catalog: CatalogOpt = None,
) -> None:
    """Check a saved plan against its inputs, independently of the optimizer: placement, instances,
    capacity, migration charges and every cost recomputed from the formulas."""
    from placement.engine.verify import verify
    from placement.errors import VerificationError
    from placement.inputs.loading import load_plan_json

    def body() -> int:
        portfolio, cat = _load(workloads, catalog)
        data = load_plan_json(plan_file)
        problems = verify(data, portfolio, cat)
        if problems:
            raise VerificationError(
                f"{plan_file}: the plan does not hold ({len(problems)} problem(s))", problems
            )
        typer.echo(
            f"{plan_file}: verified against {workloads} and catalog {cat.name}: "
            f"{len(data['placements'])} placements, {len(data['migrations'])} migrations, "
            f"total ${data['total_usd']:,.2f}"
        )
        return 0

    _run(body)


@catalog_app.command("show")
def catalog_show(
    catalog: CatalogOpt = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="GitHub Markdown tables.")] = False,
) -> None:
    """List the options, their prices, capacity, migration efforts and sources (* = estimate)."""
    from placement.render.views import render_catalog

    def body() -> int:
        sys.stdout.write(render_catalog(load_catalog(catalog), markdown=markdown))
        return 0

    _run(body)


@catalog_app.command("import-prices")
def catalog_import_prices(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="AWS price files: EC2 offer file (JSON or CSV, .gz allowed), Savings Plans rate file "
            "(JSON), Capacity Block offerings (JSON from aws ec2 describe-capacity-block-offerings).",
            show_default=False,
            metavar="FILE",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Write the updated catalog here (atomically).")],
    catalog: CatalogOpt = None,
    commitment: Annotated[
        str,
        typer.Option(
            "--commitment",
            help="What the 1- and 3-year prices are: reserved (standard RI), instance-savings-plan "
            "or compute-savings-plan.",
        ),
    ] = "reserved",
    upfront: Annotated[
        str,
        typer.Option("--upfront", help="Purchase option: 'No Upfront', 'Partial Upfront' or 'All Upfront'."),
    ] = "No Upfront",
    quoted_on: Annotated[
        str | None,
        typer.Option(
            "--quoted-on", help="Date of Capacity Block quotes, YYYY-MM-DD (default: the file's date)."
        ),
    ] = None,
) -> None:
    """Update a catalog's on-demand, commitment and Capacity Block prices from AWS price files for
    its region; print what changed. Options the files lack are kept and reported, never dropped."""
    from placement.inputs.price_update import COMMITMENTS, PURCHASE_OPTIONS, base_document, update_catalog
    from placement.inputs.prices import read_price_files
    from placement.render.price_diff import render_price_diff

    def body() -> int:
        problems = []
        if commitment not in COMMITMENTS:
            problems.append(f"--commitment: choose one of {', '.join(COMMITMENTS)}")
        if upfront not in PURCHASE_OPTIONS:
            problems.append(f"--upfront: choose one of {', '.join(PURCHASE_OPTIONS)}")
        if quoted_on is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", quoted_on):
            problems.append("--quoted-on: give a date as YYYY-MM-DD")
        if problems:
            raise InputError([Problem("<command line>", None, "", p) for p in problems])
        doc = base_document(catalog)
        ids = {str(o.get("id")) for o in doc.data.get("options", []) if isinstance(o, dict)}
        book = read_price_files(list(files), None, ids, quoted_on)  # every region: see update_catalog
        update = update_catalog(doc, book, commitment, upfront)  # type: ignore[arg-type]
        write_atomic(out, update.text, [*files, *([catalog] if catalog else [])])
        sys.stdout.write(render_price_diff(update))
        typer.echo(f"wrote {out}", err=True)
        return 0

    _run(body)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the workload file, for editor autocompletion."""

    def body() -> int:
        sys.stdout.write(json.dumps(Portfolio.model_json_schema(), indent=2, sort_keys=True) + "\n")
        return 0

    _run(body)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
