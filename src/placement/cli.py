"""The `placement` command: parse arguments, run the pipeline, print or write, exit with a code.

Exit codes: 0 ok; 1 no feasible plan (or the solver stopped without one); 2 bad input or usage;
3 internal error (a bug: please report it).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from placement.errors import EXIT_INTERNAL, InfeasibleError, InputError, PlacementError, Problem
from placement.inputs.loading import load_catalog, load_portfolio
from placement.inputs.models import Catalog, Portfolio, did_you_mean
from placement.output import write_atomic
from placement.progress import progress_bar
from placement.render.report import FORMATS, RENDERERS

app = typer.Typer(
    help="Place AI training and inference workloads across AWS Trainium, Inferentia and GPU "
    "instances at the lowest defensible cost.",
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
)
catalog_app = typer.Typer(help="Inspect catalogs.", no_args_is_help=True, rich_markup_mode=None)
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


def _emit(text: str, out: Path | None, inputs: list[Path | None]) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text, [p for p in inputs if p is not None])


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


@app.command()
def plan(
    workloads: WorkloadsArg,
    catalog: CatalogOpt = None,
    format: FormatOpt = "table",
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
    from placement.render.report import json_text, plan_dict

    def body() -> int:
        portfolio, cat = _load(workloads, catalog)
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
        _emit(json_text(data) if format == "json" else RENDERERS[format](result), out, [workloads, catalog])
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
        settings = SolveSettings(gap=gap, time_limit_s=time_limit)
        runner = make_runner(workers, cluster)
        base_catalog = load_catalog(catalogs[0] if catalogs else None)
        portfolio = load_portfolio(workloads, base_catalog)
        base_label = catalogs[0].name if catalogs else base_catalog.name
        variants = [(portfolio, base_catalog, base_label)]
        for path in catalogs[1:]:
            variant = load_catalog(path)
            variants.append((load_portfolio(workloads, variant), variant, path.name))
        for path in scenarios:
            spec = load_scenario(path, portfolio, base_catalog)
            variants.append((*apply_scenario(spec, portfolio, base_catalog), spec.name))
        with progress_bar("compare") as progress:
            results = compare_all(variants, str(workloads), settings, runner, progress)
        title = f"Comparison for {workloads}"
        _emit(COMPARE_RENDERERS[format](results, title), out, [workloads, *catalogs, *scenarios])
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
    most-used option removed. Reports each fallback plan, its extra cost, what moves and what cannot run."""
    from placement.analyses.fanout import make_runner
    from placement.analyses.scenarios import explain_if_none
    from placement.analyses.scenarios import stress as run_stress
    from placement.engine.optimizer import SolveSettings
    from placement.render.compare_report import render_comparisons_csv, render_stress, render_stress_json

    def body() -> int:
        runner = make_runner(workers, cluster)  # first: local workers start while the inputs load
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
        if picture is not None and chart_path is not None:
            write_atomic(chart_path, picture, [p for p in (workloads, catalog) if p is not None])
        elif chart and out is not None:
            typer.echo("placement: no chart: install the 'chart' extra (matplotlib) to draw one", err=True)
        _emit(text, out, [workloads, catalog])
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
