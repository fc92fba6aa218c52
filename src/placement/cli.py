"""The `placement` command: parse arguments, run the pipeline, print or write, exit with a code.

Exit codes: 0 ok; 1 no feasible plan (or the solver stopped without one); 2 bad input or usage;
3 internal error (a bug: please report it).
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from placement.errors import EXIT_INTERNAL, InfeasibleError, InputError, OutputError, PlacementError, Problem
from placement.inputs.focus import FocusBill
from placement.inputs.loading import load_catalog, load_portfolio, shipped_catalog_paths
from placement.inputs.models import Catalog, Portfolio, did_you_mean
from placement.output import check_output, is_special, write_all
from placement.progress import progress_bar
from placement.render.report import FORMATS
from placement.render.text import visible

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

# No public issue tracker exists yet: the hint names none rather than invent an address.
REPORT_HINT = "please report it to the maintainers of placement with the command and input files"

WorkloadsArg = Annotated[
    Path, typer.Argument(help="Workload file (YAML).", show_default=False, metavar="WORKLOADS")
]
CatalogOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--catalog",
        "-c",
        help="Catalog file (give it once); default: the shipped aws catalog (us-east-1 and us-east-2).",
    ),
]


def _one_catalog(paths: list[Path] | None) -> Path | None:
    """The catalog of a command that reads one: the same file given twice is fine, two are not."""
    if not paths:
        return None
    if len({p.resolve() for p in paths}) > 1:
        raise InputError(
            [
                Problem(
                    "<command line>",
                    None,
                    "--catalog",
                    f"given {len(paths)} times with different files ({', '.join(map(str, paths))}); "
                    "this command reads one catalog (`placement compare` takes several)",
                )
            ]
        )
    return paths[0]


def _tolerant_output() -> None:
    """Print what the console can show: a character its encoding lacks (→ on a cp1252 Windows
    console) becomes an escape such as \\u2192 instead of an internal error."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a closed or unusual stream: leave it as it is
                continue


def _error(line: str) -> None:
    """One line on stderr, with control characters (from a file name, say) shown as escapes."""
    typer.echo(visible(line), err=True)


def _run(action: Callable[[], int]) -> None:
    """Run a command body; turn every expected error into stderr lines and an exit code."""
    _tolerant_output()
    try:
        code = action()
    except InputError as exc:
        for problem in exc.problems:
            _error(str(problem))
        raise typer.Exit(exc.exit_code) from None
    except InfeasibleError as exc:
        _error(exc.headline)
        for reason in exc.reasons:
            _error(f"  - {reason}")
        raise typer.Exit(exc.exit_code) from None
    except OutputError as exc:  # `file: message`, like every other located problem
        typer.echo(str(exc), err=True)
        raise typer.Exit(exc.exit_code) from None
    except PlacementError as exc:
        _error(f"placement: {exc}")
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _error("placement: interrupted; nothing was written")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: one line, no traceback, and where to report it
        _error(f"placement: internal error: {type(exc).__name__}: {exc} ({REPORT_HINT})")
        raise typer.Exit(EXIT_INTERNAL) from None
    raise typer.Exit(code)


def _load(workloads: Path, catalog_paths: list[Path] | None) -> tuple[Portfolio, Catalog]:
    catalog = load_catalog(_one_catalog(catalog_paths))
    return load_portfolio(workloads, catalog), catalog


Inputs = list[Path | list[Path] | None]


def _protected(inputs: Inputs) -> list[Path]:
    """Files `--out` must never replace: the command's inputs and the catalogs shipped in the
    package (the default catalog is an input even when no --catalog is given)."""
    flat = [q for p in inputs for q in (p if isinstance(p, list) else [p])]
    return [p for p in flat if p is not None] + shipped_catalog_paths()


def _check_out(out: str | None, inputs: Inputs) -> None:
    """Refuse a bad --out before any solve (a folder, a missing folder, an input file)."""
    if out is not None:
        check_output(out, _protected(inputs))


def _emit(text: str | bytes, out: str | None, inputs: Inputs) -> None:
    if out is None and isinstance(text, bytes):
        sys.stdout.buffer.write(text)
    elif out is None:
        sys.stdout.write(str(text))
    else:
        write_all([(out, text)], _protected(inputs))


def _plan_usage(
    format: str, out: str | None, current: Path | None, start_month: str, csv_table: str = "placements"
) -> list[tuple[str, str]]:
    """Option combinations `plan` refuses, as (option, message)."""
    problems = []
    if format == "xlsx" and out is None and sys.stdout.isatty():
        problems.append(("--format", "xlsx is binary: give --out FILE.xlsx or redirect the output"))
    if current is not None and format in ("csv", "focus"):
        problems.append(("--current", f"has no {format} form; use table, markdown, json or xlsx"))
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", start_month):
        problems.append(("--start-month", "give a month as YYYY-MM"))
    if csv_table != "placements" and format != "csv":
        problems.append(("--csv-table", "applies to --format csv only"))
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
OutOpt = Annotated[
    str | None,
    typer.Option("--out", "-o", help="Write to this file (atomically; see README 'Output files')."),
]
TimeLimitOpt = Annotated[
    float,
    typer.Option("--time-limit", min=0.1, help="Time limit per plan for building and solving it, seconds."),
]
GapOpt = Annotated[float, typer.Option("--gap", min=0.0, max=0.5, help="Relative MIP gap per plan.")]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        "-j",
        min=1,
        help="Solve the independent plans on N local processes (default: every core; 1: in this process).",
        show_default=False,
    ),
]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        metavar="ADDRESS",
        help="Solve them on the Dask scheduler at ADDRESS (e.g. tcp://10.0.0.5:8786) instead; "
        "needs the 'cluster' extra. Same output to the byte either way.",
    ),
]


PLAN_FORMATS = (*FORMATS, "xlsx", "focus")


def _check_plan_format(value: str) -> str:
    if value not in PLAN_FORMATS:
        raise typer.BadParameter(
            f"choose one of {', '.join(PLAN_FORMATS)}{did_you_mean(value, list(PLAN_FORMATS))}"
        )
    return value


def _check_csv_table(value: str) -> str:
    from placement.render.plan_output import PLAN_CSV_TABLES

    if value not in PLAN_CSV_TABLES:
        raise typer.BadParameter(
            f"choose one of {', '.join(PLAN_CSV_TABLES)}{did_you_mean(value, list(PLAN_CSV_TABLES))}"
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
    csv_table: Annotated[
        str,
        typer.Option(
            "--csv-table",
            help="With --format csv: placements (default), purchases, monthly, runs or ports "
            "(README 'CSV output').",
            callback=_check_csv_table,
        ),
    ] = "placements",
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            help="Write to this file (atomically; see README 'Output files') instead of standard output.",
        ),
    ] = None,
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit",
            min=0.1,
            help=(
                "Time limit for building and solving the models, seconds; "
                "the plan states the gap proven when it stops."
            ),
        ),
    ] = 60.0,
    gap: Annotated[
        float, typer.Option("--gap", min=0.0, max=0.5, help="Relative MIP gap at which the solver may stop.")
    ] = 1e-6,
) -> None:
    """Place every workload at the lowest total cost and explain the plan."""
    from placement.engine.costing import estimates
    from placement.engine.optimizer import SolveSettings
    from placement.engine.plan import Purchase
    from placement.engine.planner import make_plan
    from placement.engine.verify import verify
    from placement.render.plan_output import plan_output
    from placement.render.report import plan_dict

    def body() -> int:
        usage = _plan_usage(format, out, current, start_month, csv_table)
        if usage:
            raise InputError([Problem("<command line>", None, field, message) for field, message in usage])
        _check_out(out, [workloads, catalog, current])
        portfolio, cat = _load(workloads, catalog)
        bill = _read_bill(current)
        ests = estimates(portfolio, cat)  # costed once, for the plan and for its check
        settings = SolveSettings(gap=gap, time_limit_s=time_limit)
        bought: tuple[Purchase, ...] = ()
        if bill is not None:
            from placement.analyses.current_bill import sunk_purchases

            bought = sunk_purchases(bill, cat, portfolio)
        result = make_plan(portfolio, cat, str(workloads), settings, ests, bought)
        data = plan_dict(result)  # what the JSON format prints, so verified as it will be read back
        problems = verify(data, portfolio, cat, ests, result.split)
        if problems:  # the optimizer produced something its independent check rejects: a bug
            typer.echo(
                f"placement: internal error: the plan failed its independent check ({REPORT_HINT}):",
                err=True,
            )
            for problem in problems:
                _error(f"  - {problem}")
            return EXIT_INTERNAL
        inputs: Inputs = [workloads, catalog, current]
        comparison = None
        if bill is not None:
            from placement.analyses.current_bill import compare_to_bill

            comparison = compare_to_bill(result, cat, bill)
        _emit(plan_output(result, data, cat, format, comparison, start_month, csv_table), out, inputs)
        return 0

    _run(body)


@app.command()
def explain(
    workloads: WorkloadsArg,
    workload: Annotated[str, typer.Argument(help="Workload name.", show_default=False)],
    option: Annotated[str, typer.Argument(help="Option id, e.g. trn2.48xlarge.", show_default=False)],
    catalog: CatalogOpt = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Show the arithmetic behind one workload's cost on one option, with sources."""
    from placement.engine.costing import estimate
    from placement.render.report import json_text
    from placement.render.views import explain_dict, render_explain

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
        if format not in ("table", "json"):
            raise InputError([Problem("<command line>", None, "--format", "choose one of table, json")])
        w = portfolio.workloads[names.index(workload)]
        o = cat.option(option)
        est = estimate(portfolio, w, o, cat)
        if format == "json":
            sys.stdout.write(json_text(explain_dict(cat, w, o, est)))
        else:
            sys.stdout.write(render_explain(portfolio, cat, w, o, est))
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
    workers: WorkersOpt = None,
    cluster: ClusterOpt = None,
) -> None:
    """Compare the plan across catalogs and what-if scenarios: totals, families, what moved and why."""
    from placement.analyses.fanout import make_runner
    from placement.analyses.scenarios import apply_scenario, compare_all
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
        _check_out(out, [workloads, *catalogs, *scenarios, current])
        settings = SolveSettings(gap=gap, time_limit_s=time_limit)
        runner = make_runner(workers, cluster)
        # Every input is read and checked before the first solve: a mistake in the last of 100
        # scenarios is reported at once, with every other mistake found, not after 99 plans.
        base_catalog = load_catalog(catalogs[0] if catalogs else None)
        portfolio = load_portfolio(workloads, base_catalog)
        problems: list[Problem] = []
        variants = []
        for path in catalogs[1:]:
            try:
                variant = load_catalog(path)
                variants.append((path.name, load_portfolio(workloads, variant), variant))
            except InputError as exc:
                problems += exc.problems
        for path in scenarios:
            try:
                spec = load_scenario(path, portfolio, base_catalog)
                variants.append((spec.name, *apply_scenario(spec, portfolio, base_catalog)))
            except InputError as exc:  # a change the loader could not foresee: blame the file
                problems += [replace(p, path=str(path)) if p.path != str(path) else p for p in exc.problems]
        if problems:
            raise InputError(problems)
        base_label = catalogs[0].name if catalogs else base_catalog.name
        base = (portfolio, base_catalog, base_label)
        with progress_bar("compare") as progress:
            results = compare_all(
                [base, *((p, c, label) for label, p, c in variants)],
                str(workloads),
                settings,
                runner,
                progress,
            )
        title = f"Comparison for {workloads}"
        text = COMPARE_RENDERERS[format](results, title)
        if bill is not None:
            from placement.analyses.current_bill import variants_against_bill
            from placement.render.current_bill import render_variants_against_bill

            first = results[0].base
            outcomes = [(first.label, first.plan), *((r.new.label, r.new.plan) for r in results)]
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
    workers: WorkersOpt = None,
    cluster: ClusterOpt = None,
) -> None:
    """Re-plan under shocks: each non-GPU family's capacity at zero and half, inference demand ×2, the
    most-used option removed, and (monthly plans) a family's capacity gone in months 4-6, demand ×2
    from month 7, a Capacity Block option unavailable. Each shock is re-planned from scratch and with
    the base plan's commitments kept (committed recourse). Reports each fallback plan, its extra cost,
    what moves and what cannot run, and the commitment spend a shock strands."""
    from placement.analyses.fanout import make_runner
    from placement.analyses.scenarios import explain_if_none
    from placement.analyses.scenarios import stress as run_stress
    from placement.engine.optimizer import SolveSettings
    from placement.render.compare_report import render_comparisons_csv, render_stress, render_stress_json

    def body() -> int:
        runner = make_runner(workers, cluster)  # first: local workers start while the inputs load
        _check_out(out, [workloads, catalog])
        portfolio, cat = _load(workloads, catalog)
        settings = SolveSettings(gap=gap, time_limit_s=time_limit)
        with progress_bar("stress") as progress:
            base, results = run_stress(portfolio, cat, str(workloads), settings, runner, progress)
        explain_if_none(base, portfolio, cat, settings)
        title = f"Stress test: {workloads} on catalog {cat.name}"
        if format == "json":
            text = render_stress_json(base, results)
        elif format == "csv":
            text = render_comparisons_csv([r.comparison for r in results])
        else:
            text = render_stress(base, results, format == "markdown", title)
        _emit(text, out, [workloads, *(catalog or [])])
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
    workers: WorkersOpt = None,
    cluster: ClusterOpt = None,
) -> None:
    """Shadow prices of binding capacity, break-even prices, the price of portability and a check of
    the vendors' price-performance claims against the catalog; every figure by re-solving."""
    from placement.analyses.fanout import make_runner
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
        runner = make_runner(workers, cluster)  # first: local workers start while the inputs load
        _check_out(out, [workloads, catalog])
        portfolio, cat = _load(workloads, catalog)
        settings = SolveSettings(gap=gap, time_limit_s=time_limit)
        with progress_bar("sensitivity") as progress:
            result = analyse(portfolio, cat, str(workloads), settings, runner, progress)
        title = f"Sensitivity: {workloads} on catalog {cat.name}"
        text = (
            render_sensitivity_json(result)
            if format == "json"
            else render_sensitivity(result, format == "markdown", title)
        )
        _emit(text, out, [workloads, *(catalog or [])])
        return 0

    _run(body)


MEASURES = ("expected", "cvar")


def _check_measure(value: str) -> str:
    if value not in MEASURES:
        raise typer.BadParameter(f"choose one of {', '.join(MEASURES)}{did_you_mean(value, list(MEASURES))}")
    return value


def _risk_usage(
    format: str,
    risk_aware: bool,
    samples: int | None,
    given: Mapping[str, object],
) -> list[tuple[str, str]]:
    """Option combinations `risk` refuses, as (option, message)."""
    problems = []
    if format == "csv":
        problems.append(("--format", "risk has no CSV form; use table, markdown or json"))
    if risk_aware and samples is not None:
        problems.append(("--samples", "the risk-aware plan samples --scenarios futures; give that instead"))
    if risk_aware and given.get("--alpha") is not None and given.get("--measure") != "cvar":
        problems.append(("--alpha", "applies with --measure cvar only (the expected cost takes no level)"))
    if not risk_aware:
        problems += [
            (name, "applies with --risk-aware only") for name, value in given.items() if value is not None
        ]
    return problems


@app.command()
def risk(
    workloads: WorkloadsArg,
    catalog: CatalogOpt = None,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            min=1,
            help="Futures to sample (default 100); each is re-planned with the plan's commitments and "
            "ports kept, and from scratch.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Seed of the futures: the same seed gives the same output.")
    ] = 0,
    risk_aware: Annotated[
        bool,
        typer.Option(
            "--risk-aware",
            help="Choose the commitments and ports over sampled futures (two-stage, sample average "
            "approximation) and compare them with the deterministic plan's.",
        ),
    ] = False,
    scenarios: Annotated[
        int | None,
        typer.Option(
            "--scenarios",
            min=2,
            help="With --risk-aware: futures the choice is made over (default 50).",
            show_default=False,
        ),
    ] = None,
    measure: Annotated[
        str | None,
        typer.Option(
            "--measure",
            help="With --risk-aware: minimise the expected cost (default) or its CVaR at --alpha (cvar).",
            callback=lambda v: None if v is None else _check_measure(v),
            show_default=False,
        ),
    ] = None,
    alpha: Annotated[
        float | None,
        typer.Option(
            "--alpha",
            min=0.5,
            max=0.99,
            help="With --risk-aware --measure cvar: the CVaR level (default 0.9: the worst 10%).",
            show_default=False,
        ),
    ] = None,
    evaluate: Annotated[
        int | None,
        typer.Option(
            "--evaluate",
            min=2,
            help="With --risk-aware: fresh futures the two plans are compared on (default: --scenarios, "
            "at least 30).",
            show_default=False,
        ),
    ] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="table, markdown or json.", callback=_check_format)
    ] = "table",
    out: OutOpt = None,
    time_limit: TimeLimitOpt = 60.0,
    gap: GapOpt = 1e-6,
    workers: WorkersOpt = None,
    cluster: ClusterOpt = None,
) -> None:
    """The plan over sampled futures of every uncertain input: the distribution of its total cost
    against the all-GPU baseline, the chance it beats it, how stable each placement is and which
    inputs drive the spread. With --risk-aware: the commitments and ports that hold up best across
    the futures, against the deterministic plan's."""
    from placement.analyses.fanout import make_runner
    from placement.engine.optimizer import SolveSettings
    from placement.engine.planner import make_plan
    from placement.render import risk_report

    def body() -> int:
        given = {"--scenarios": scenarios, "--measure": measure, "--alpha": alpha, "--evaluate": evaluate}
        usage = _risk_usage(format, risk_aware, samples, given)
        if usage:
            raise InputError([Problem("<command line>", None, field, message) for field, message in usage])
        runner = make_runner(workers, cluster)  # first: local workers start while the inputs load
        _check_out(out, [workloads, catalog])
        portfolio, cat = _load(workloads, catalog)
        settings = SolveSettings(gap=gap, time_limit_s=time_limit)
        plan_ = make_plan(portfolio, cat, str(workloads), settings)
        if risk_aware:
            from placement.analyses.hedge import hedge

            count = 50 if scenarios is None else scenarios
            with progress_bar("risk-aware") as progress:
                report = hedge(
                    plan_,
                    portfolio,
                    cat,
                    count,
                    seed,
                    settings,
                    measure or "expected",
                    0.9 if alpha is None else alpha,
                    evaluate,
                    runner,
                    progress,
                )
            title = f"Risk-aware commitments: {workloads} on catalog {cat.name}"
            text = (
                risk_report.render_hedge_json(report)
                if format == "json"
                else risk_report.render_hedge(report, format == "markdown", title)
            )
        else:
            from placement.analyses.risk import assess

            with progress_bar("risk") as progress:
                result = assess(
                    plan_,
                    portfolio,
                    cat,
                    100 if samples is None else samples,
                    seed,
                    settings,
                    runner,
                    progress,
                )
            title = f"Risk: {workloads} on catalog {cat.name}"
            text = (
                risk_report.render_risk_json(result)
                if format == "json"
                else risk_report.render_risk(result, format == "markdown", title)
            )
        _emit(text, out, [workloads, *(catalog or [])])
        return 0

    _run(body)


@app.command()
def memo(
    workloads: WorkloadsArg,
    catalog: CatalogOpt = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the memo here (Markdown, atomically); the chart goes beside it as <name>.png.",
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
    samples: Annotated[
        int,
        typer.Option(
            "--samples",
            min=0,
            help="Futures sampled for the saving's P10-P90 and question 6's probabilities "
            "(see `placement risk`); 0 turns the risk analysis off.",
        ),
    ] = 50,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the sampled futures.")] = 0,
    time_limit: TimeLimitOpt = 60.0,
    gap: GapOpt = 1e-6,
    workers: WorkersOpt = None,
    cluster: ClusterOpt = None,
) -> None:
    """Write a Markdown procurement memo answering the six enterprise checklist questions."""
    from placement.analyses.fanout import make_runner
    from placement.analyses.scenarios import shocks_for
    from placement.analyses.sensitivity import price_of_portability, vendor_claims
    from placement.engine.optimizer import SolveSettings
    from placement.engine.planner import make_plan
    from placement.render.chart import family_chart, risk_chart
    from placement.render.memo import MemoInputs, render_memo

    def body() -> int:
        inputs: Inputs = [workloads, catalog, current]
        runner = make_runner(workers, cluster)  # first: local workers start while the inputs load
        _check_out(out, inputs)
        beside = _memo_chart_path(out)
        chart_path = beside if chart else None
        risk_path = _risk_chart_path(chart_path) if samples else None
        for path in (chart_path, risk_path):
            if path is not None:
                check_output(path, _protected(inputs))
        portfolio, cat = _load(workloads, catalog)
        bill = _read_bill(current)
        settings = SolveSettings(gap=gap, time_limit_s=time_limit)
        plan_ = make_plan(portfolio, cat, str(workloads), settings)
        with progress_bar("memo: stress") as progress:
            results = shocks_for(plan_, portfolio, cat, str(workloads), settings, runner, progress)
        risk = None
        if samples:
            from placement.analyses.risk import assess

            with progress_bar("memo: risk") as progress:
                risk = assess(plan_, portfolio, cat, samples, seed, settings, runner, progress)
        picture = family_chart(plan_, results) if chart_path is not None else None
        spread = risk_chart(risk) if risk is not None and risk_path is not None else None
        inputs_ = MemoInputs(
            portfolio,
            cat,
            workloads.stem,
            plan_,
            results,
            tuple(price_of_portability(portfolio, cat, settings, runner)),
            tuple(vendor_claims(cat)),
            chart_path.name if picture is not None and chart_path is not None else None,
            risk,
            risk_path.name if spread is not None and risk_path is not None else None,
        )
        text = render_memo(inputs_)
        if bill is not None:
            from placement.analyses.current_bill import compare_to_bill
            from placement.render.current_bill import render_current_bill

            text += "\n" + render_current_bill(compare_to_bill(plan_, cat, bill), markdown=True)
        if out is None:
            sys.stdout.write(text)
            return 0
        if chart_path is not None and picture is None:
            typer.echo("placement: no chart: install the 'chart' extra (matplotlib) to draw one", err=True)
        files: list[tuple[str | Path, str | bytes]] = [(out, text)]
        if picture is not None and chart_path is not None:
            files.append((chart_path, picture))
        if spread is not None and risk_path is not None:
            files.append((risk_path, spread))
        write_all(files, _protected(inputs))  # all or none
        return 0

    _run(body)


def _memo_chart_path(out: str | None) -> Path | None:
    """Where the memo's chart goes: beside the memo as <name>.png; none without --out or when the
    memo goes to a device or pipe. A memo named *.png is refused: the memo is Markdown, and the
    chart would take that very name."""
    if out is None or is_special(out):
        return None
    path = Path(out)
    if path.suffix.lower() == ".png":
        raise OutputError(
            f"{out}: the memo is Markdown and its chart goes beside it as <name>.png; "
            "give the memo a name such as memo.md"
        )
    return path.with_suffix(".png")


def _risk_chart_path(chart_path: Path | None) -> Path | None:
    """The cost-distribution chart's place: beside the memo's chart as <name>-risk.png."""
    return None if chart_path is None else chart_path.with_name(f"{chart_path.stem}-risk.png")


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
            visible(
                f"{plan_file}: verified against {workloads} and catalog {cat.name}: "
                f"{len(data['placements'])} placements, {len(data['migrations'])} migrations, "
                f"total ${data['total_usd']:,.2f}"
            )
        )
        return 0

    _run(body)


@app.command()
def calibrate(
    catalog: CatalogOpt = None,
    measurements: Annotated[
        Path | None,
        typer.Option(
            "--measurements", help="Measurement set; default: the shipped calibration/measurements.yaml."
        ),
    ] = None,
    fit: Annotated[
        bool, typer.Option("--fit", help="Fit the constants from the measurements and print the fit file.")
    ] = False,
    tolerance: Annotated[
        float | None,
        typer.Option(
            "--tolerance",
            min=0.0,
            help="Exit 1 when a prediction is off by more than this fraction (e.g. 0.35).",
        ),
    ] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table, markdown or json.")] = "table",
    out: OutOpt = None,
) -> None:
    """Check the performance model against published measurements: predicted vs published for
    every point, per hardware group, and a leave-one-source-out score; or, with --fit, refit the
    efficiency constants (calibration/fit.yaml)."""
    from placement.inputs.shipped import (
        digest,
        load_measurements,
        measurements_bytes,
        model_table,
        shipped_fit,
    )
    from placement.perf.calibration import calibrate as run
    from placement.perf.calibration import fit as refit
    from placement.perf.calibration import option_finder
    from placement.render.calibration_report import render_calibration, render_calibration_json, render_fit

    def body() -> int:
        if format not in ("table", "markdown", "json"):
            raise InputError(
                [Problem("<command line>", None, "--format", "choose one of table, markdown, json")]
            )
        cat = load_catalog(_one_catalog(catalog))
        evidence = load_measurements(measurements)
        sha = digest(measurements_bytes(measurements))
        table = model_table().models
        if fit:
            _emit(
                render_fit(refit(evidence, option_finder(cat.options), table, sha)),
                out,
                [catalog, measurements],
            )
            return 0
        result = run(evidence, cat.options, shipped_fit(), table, sha)
        limit = 0.35 if tolerance is None else tolerance
        if format == "json":
            text = render_calibration_json(result.predictions, result.loso, limit)
        else:
            text = render_calibration(
                result.predictions,
                result.loso,
                shipped_fit(),
                limit,
                evidence.gaps,
                result.skipped,
                result.stale,
                markdown=format == "markdown",
            )
        _emit(text, out, [catalog, measurements])
        outside = [p.measurement.id for p in result.predictions if not p.error <= limit]
        if tolerance is not None and outside:
            typer.echo(
                f"placement: {len(outside)} measurement(s) outside ±{limit * 100:g}%: {', '.join(outside)}",
                err=True,
            )
            return 1
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
        sys.stdout.write(render_catalog(load_catalog(_one_catalog(catalog)), markdown=markdown))
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
    out: Annotated[str, typer.Option("--out", "-o", help="Write the updated catalog here (atomically).")],
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
        _check_out(out, [*files, catalog])
        doc = base_document(_one_catalog(catalog))
        ids = {str(o.get("id")) for o in doc.data.get("options", []) if isinstance(o, dict)}
        book = read_price_files(list(files), None, ids, quoted_on)  # every region: see update_catalog
        update = update_catalog(doc, book, commitment, upfront)  # type: ignore[arg-type]
        write_all([(out, update.text)], _protected([*files, catalog]))
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
