"""Benchmark `placement`: shipped examples end to end, and synthetic portfolios by size.

    python benchmarks/run.py                      # examples + 100 and 1,000 workloads
    python benchmarks/run.py --sizes 100 1000 10000 --time-limit 120

    python benchmarks/run.py --generator diverse --seeds 5 --sizes 1000 10000 --gap 0.001 --catalogs default

`--generator tuned` (the default) is the portfolio the formulation was tuned on; `diverse` is issue
13's varied one (`diverse_portfolio`), capacities × W / 6 so the cheapest options run short.
`--seeds N` runs seeds 1..N per size and prints min / median / worst across them.
`--time-axis` (with `--generator diverse`) adds launches, growth, early ends, run windows and run
order (`with_time_axis`), so the plan has many spans of months (issue 10).
Each synthetic size runs in a fresh process (so peak memory is that size's own), with a fixed seed.
It prints, per size, model build time, solve time, the rest of the pipeline (plan assembly and
rendering), end to end, peak RSS, the proven gap, and the model's variables and constraints.
Capacities of the default catalog are scaled with the portfolio (× W / 4): the shipped figures
are per-account allocations for a few dozen workloads, and a 1,000-workload portfolio on them is
simply infeasible.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

FRAMEWORKS = [("pytorch", 0.7), ("jax", 0.15), ("tensorflow", 0.15)]
STACKS = [
    [],
    ["huggingface"],
    ["vllm", "huggingface"],
    ["tensorrt-llm"],
    ["custom-cuda-kernels"],
    ["triton"],
    ["fsdp"],
    ["deepspeed"],
    ["megatron"],
]
SIZES_B = [0.3, 1, 3, 8, 13, 34, 70]


def synthetic_portfolio(count: int, seed: int) -> dict[str, Any]:
    """A realistic mix: 70% inference, 30% training; shared codebases; 10% gpu-only."""
    rng = random.Random(seed)
    codebases = [f"cb{i}" for i in range(max(1, count // 5))]
    workloads = []
    for i in range(count):
        framework = rng.choices([f for f, _ in FRAMEWORKS], [w for _, w in FRAMEWORKS])[0]
        item: dict[str, Any] = {
            "name": f"w{i}",
            "framework": framework,
            "codebase": rng.choice(codebases),
            "stack": rng.choice(STACKS),
            "model": {"params_b": rng.choice(SIZES_B)},
            "precision": rng.choice(["bf16", "bf16", "fp8"]),
        }
        if rng.random() < 0.1:
            item["portability"] = "gpu-only"
        if rng.random() < 0.3:
            item.update(
                kind="training",
                tokens=rng.choice([1e10, 5e10, 2e11]) * item["model"]["params_b"] / 8,
                runs=rng.choice([1, 4, 12]),
                deadline_days=rng.choice([3, 7, 30]),
            )
        else:
            item.update(
                kind="inference",
                tokens_per_month=rng.choice([2e8, 1e9, 5e9, 2e10]),
                peak_to_average=rng.choice([1.5, 2, 3]),
            )
            if rng.random() < 0.3:
                item["max_ms_per_token"] = rng.choice([30, 60, 100])
        workloads.append(item)
    return {"horizon_months": 12, "workloads": workloads}


def _round2(value: float) -> float:
    """Two significant figures, as a buyer would write a model size or a volume."""
    return float(f"{value:.2g}")


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return _round2(math.exp(rng.uniform(math.log(low), math.log(high))))


def _training(rng: random.Random, params: float, item: dict[str, Any]) -> None:
    item.update(
        kind="training",
        tokens=_round2(params * 1e9 * math.exp(rng.uniform(math.log(0.05), math.log(20)))),
        runs=rng.choice([1, 1, 2, 4, 12]),
    )
    if rng.random() < 0.5:
        item["deadline_days"] = rng.choice([2, 3, 7, 14, 30, 60])
    if rng.random() < 0.5:
        item["sequence_length"] = rng.choice([2048, 4096, 8192, 32768])
    if item.get("already_on") == ["inferentia"]:  # Inferentia runs no training
        item["already_on"] = ["trainium"]


def _inference(rng: random.Random, item: dict[str, Any]) -> None:
    item.update(
        kind="inference",
        tokens_per_month=_log_uniform(rng, 1e7, 1e11),
        peak_to_average=_round2(rng.uniform(1, 5)),
    )
    if rng.random() < 0.4:
        item["max_ms_per_token"] = rng.choice([8, 15, 25, 40, 60, 100, 150])
    if rng.random() < 0.7:  # chat, RAG with long prompts, summarisation, generation
        item["request"] = {
            "input_tokens": round(_log_uniform(rng, 64, 16000)),
            "output_tokens": round(_log_uniform(rng, 16, 2000)),
        }


def diverse_portfolio(count: int, seed: int, items: list[str], codebase_count: int) -> dict[str, Any]:
    """Portfolios unlike the one the formulation was tuned on (issue 13).

    Model sizes log-uniform over 0.1B-405B, a fifth of them mixture-of-experts (active 5-40% of
    total); a few dozen codebases (W/25, at least 24), each with a framework and a base stack
    drawn from the catalog's migration table, every workload adding 0-2 items of its own, so
    stacks overlap; 10% gpu-only, 3% already on a Neuron family; training runs (30%) of 0.05-20
    tokens per parameter, 1-12 runs, half with a deadline of 2-60 days, half with a sequence length
    of 2k-32k; inference of 1e7-1e11 tokens/month at peak/average 1-5, 40% with a latency limit of
    8-150 ms per token, 70% with a request shape of 64-16,000 prompt and 16-2,000 generated tokens
    (log-uniform).  Odd seeds
    carry no family-share policy, seeds 2, 6, ... a loose one (0.6-0.9) and seeds 4, 8, ... a
    strict one (0.45-0.5) that usually binds.
    """
    rng = random.Random(seed)
    frameworks = [("pytorch", 0.7), ("jax", 0.15), ("tensorflow", 0.15)]
    codebases = []
    for c in range(codebase_count):
        framework = rng.choices([f for f, _ in frameworks], [w for _, w in frameworks])[0]
        base = rng.sample(items, rng.randint(0, 3))
        codebases.append((f"cb{c}", framework, base))
    workloads = []
    for i in range(count):
        name, framework, base = rng.choice(codebases)
        stack = sorted(set(base) | set(rng.sample(items, rng.choice([0, 0, 1, 2]))))
        params = _log_uniform(rng, 0.1, 405)
        model: dict[str, Any] = {"params_b": params}
        if rng.random() < 0.2:
            model["active_params_b"] = max(0.1, _round2(params * rng.uniform(0.05, 0.4)))
        item: dict[str, Any] = {
            "name": f"w{i}",
            "framework": framework,
            "codebase": name,
            "stack": stack,
            "model": model,
            "precision": rng.choice(["bf16", "bf16", "fp8"]),
        }
        draw = rng.random()
        if draw < 0.1:
            item["portability"] = "gpu-only"
        elif draw < 0.13:
            item["already_on"] = [rng.choice(["trainium", "inferentia"])]
        if rng.random() < 0.3:
            _training(rng, params, item)
        else:
            _inference(rng, item)
        workloads.append(item)
    out: dict[str, Any] = {"horizon_months": 12, "workloads": workloads}
    if seed % 4 == 0:  # a strict cap, which usually binds
        out["policy"] = {"max_family_share": round(rng.uniform(0.45, 0.5), 2)}
    elif seed % 2 == 0:  # a loose one, which usually does not
        out["policy"] = {"max_family_share": round(rng.uniform(0.6, 0.9), 2)}
    return out


def with_time_axis(raw: dict[str, Any], seed: int) -> dict[str, Any]:
    """Issue 10's time axis on a generated portfolio: a third of the services launch in months 2-9,
    a third grow 1-8% a month, a fifth end early; half the training runs get a window of 2-8
    months inside the year, a tenth of them follow another run of their codebase (`after`)."""
    rng = random.Random(10_000 + seed)
    previous: dict[str, str] = {}
    for item in raw["workloads"]:
        if item["kind"] == "inference":
            draw = rng.random()
            if draw < 1 / 3:
                item["start_month"] = rng.randint(2, 9)
            elif draw < 2 / 3:
                item["growth_per_month"] = round(rng.uniform(0.01, 0.08), 3)
            if rng.random() < 0.2:
                item["end_month"] = max(item.get("start_month", 1), rng.randint(6, 11))
        else:
            if rng.random() < 0.5:
                first = rng.randint(1, 6)
                item["earliest_month"] = first
                item["latest_month"] = min(12, first + rng.randint(2, 8))
            before = previous.get(item["codebase"])
            if before is not None and rng.random() < 0.1 and "earliest_month" not in item:
                item["after"] = [before]
            previous[item["codebase"]] = item["name"]
    return raw


def synthetic_catalog(base: Any, size: int, seed: int) -> Any:
    """`size` options derived from the shipped ones: prices x0.7-1.3, efficiencies x0.8-1.2, each
    derived figure marked as a synthetic estimate (the catalog rules still apply)."""
    from placement.inputs.models import Catalog

    rng = random.Random(seed)
    options = []
    for i in range(size):
        source = base.options[i % len(base.options)].model_dump()
        if i >= len(base.options):
            source["id"] = f"{source['id']}-synthetic-{i}"
            source["usd_per_hour"] *= rng.uniform(0.7, 1.3)
            for field in ("prefill_mfu", "bandwidth_efficiency"):
                source[field] = min(1.0, source[field] * rng.uniform(0.8, 1.2))
            source["estimates"] = {
                **source["estimates"],
                **{
                    f: "synthetic benchmark figure"
                    for f in ("usd_per_hour", "prefill_mfu", "bandwidth_efficiency")
                },
            }
        options.append(source)
    return Catalog.model_validate({**base.model_dump(), "name": f"synthetic-{size}", "options": options})


def runnable_portfolio(
    count: int, seed: int, catalog: Any, time_axis: bool = False, single_period: bool = False
) -> Any:
    """The first `count` diverse workloads that at least one option sold all year, in a way the
    portfolio buys, can run (a 405B model with a 2-day deadline may fit nowhere; a service that
    only Trn3 can serve has nowhere to run before Trn3 arrives in month 3; one that only an option
    sold in Capacity Blocks can serve has nowhere to run in a plan bought on demand; a buyer would
    list none).  `single_period`: the model before the time axis, which issue 13's targets were
    set on (one period, on demand only)."""
    from placement.engine import timeline
    from placement.engine.costing import estimate
    from placement.engine.formulation import usable
    from placement.inputs.models import Portfolio

    items = [i for i in catalog.migration.items if i not in ("pytorch", "jax", "tensorflow")]
    raw = diverse_portfolio(2 * count, seed, items, max(24, count // 25))
    if time_axis:
        raw = with_time_axis(raw, seed)
    if single_period:
        raw |= {"periods": "single", "purchase": {"allow": ["on-demand"]}}
    probe = Portfolio.model_validate(raw)
    all_year = [o for o in catalog.options if min(timeline.capacity(probe, o)) > 0 and usable(probe, o)]
    kept = [
        w
        for w, spec in zip(probe.workloads, raw["workloads"], strict=True)
        if any(estimate(probe, w, o, catalog).ok for o in all_year)
    ]
    keep = {w.name for w in kept[:count]}
    raw["workloads"] = [spec for spec in raw["workloads"] if spec["name"] in keep]
    for spec in raw["workloads"]:  # an `after` whose first run was not kept
        spec["after"] = [name for name in spec.get("after", []) if name in keep]
    _orders_that_fit(raw, catalog)
    return Portfolio.model_validate(raw)


def _orders_that_fit(raw: dict[str, Any], catalog: Any) -> None:
    """Drop each `after` that no plan could keep: the runs it follows cannot finish, at their
    fastest, early enough for it to finish inside its window.  A run's fastest is a lower bound
    on its months: its instance-hours on its best option with as many runs at once as the
    option's largest month holds, all month.  (At 2,000 diverse workloads × 12 months, seed 1, a
    12-month run of 411 p4d instances at once followed a 5-month one: the greedy start, and any
    plan, could not place it.)  A buyer would not list such an order; only portfolios no plan
    could meet change."""
    from placement.engine import timeline
    from placement.engine.costing import estimate
    from placement.inputs.models import Portfolio

    if not any(spec.get("after") for spec in raw["workloads"]):
        return
    portfolio = Portfolio.model_validate(raw)
    horizon = timeline.months_in(portfolio)
    hours = catalog.settings.hours_per_month
    most = {o.id: max(timeline.capacity(portfolio, o)) for o in catalog.options}
    involved = {name for spec in raw["workloads"] for name in spec.get("after", [])}
    involved |= {spec["name"] for spec in raw["workloads"] if spec.get("after")}
    fastest: dict[str, float] = {}  # months
    for w in portfolio.workloads:
        if w.name not in involved:
            continue
        months = math.inf
        for o in catalog.options:
            est = estimate(portfolio, w, o, catalog)
            n = est.instances_at_once
            if not est.ok or n <= 0 or most[o.id] < n:
                continue
            at_once = min(w.run_count, most[o.id] // n)
            months = min(months, est.instance_hours_per_run * w.run_count / (n * at_once * hours))
        fastest[w.name] = months
    finish: dict[str, float] = {}
    for spec in raw["workloads"]:
        if spec["name"] not in fastest:
            continue
        begin = spec.get("earliest_month", 1) - 1
        # (it starts in the month after the last its runs hold instances in: whole months)
        after = max((math.ceil(finish.get(name, 0.0) - 1e-9) for name in spec.get("after", [])), default=0)
        if max(begin, after) + fastest[spec["name"]] > spec.get("latest_month", horizon) + 1e-9:
            spec["after"] = []
            after = 0
        finish[spec["name"]] = max(begin, after) + fastest[spec["name"]]


def one_size(
    count: int,
    seed: int,
    time_limit: float,
    gap: float,
    catalog_kind: str = "default",
    inputs: Path | None = None,
    generator: str = "tuned",
    time_axis: bool = False,
    single_period: bool = False,
) -> dict[str, Any]:
    start = time.perf_counter()
    from placement.engine import timeline
    from placement.engine.costing import estimates
    from placement.engine.optimizer import SolveSettings, model_size, optimize
    from placement.engine.planner import assemble, make_plan  # noqa: F401
    from placement.errors import SolverError
    from placement.inputs.loading import load_catalog
    from placement.inputs.models import Catalog, Portfolio
    from placement.render.report import render_json

    imports = time.perf_counter() - start
    base = load_catalog(None)
    if catalog_kind == "synthetic40":
        base = synthetic_catalog(base, 40, seed)
    scale = max(1, count // 4) if generator == "tuned" else max(1, count // 6)
    settings = base.settings.model_dump()
    if count > 1000:  # one account's Capacity Block quota per 1,000 workloads (AWS: 256 instances)
        account = timeline.block_term(base, "capacity_block_account_instances") * count // 1000
        settings["capacity_block_account_instances"] = account
        settings["notes"] = {**settings["notes"], "capacity_block_account_instances": "benchmark"}
    catalog = Catalog.model_validate(
        {
            **base.model_dump(),
            "settings": settings,
            "options": [
                {**o.model_dump(), "capacity_instances": o.capacity_instances * scale} for o in base.options
            ],
        }
    )
    if generator == "diverse":
        portfolio = runnable_portfolio(count, seed, catalog, time_axis, single_period)
    else:
        portfolio = Portfolio.model_validate(synthetic_portfolio(count, seed))
    if inputs is not None:
        write_inputs(portfolio, catalog, inputs)
    t0 = time.perf_counter()
    ests = estimates(portfolio, catalog)
    t1 = time.perf_counter()
    settings = SolveSettings(gap=gap, time_limit_s=time_limit)
    try:
        model, solution = optimize(portfolio, catalog, ests, settings)
    except SolverError as exc:  # stopped at the time limit before any plan: a row, not a crash
        return {"workloads": count, "seed": seed, "status": f"no plan ({exc})", "gap": math.inf}
    t3 = time.perf_counter()
    variables, integers, constraints = model_size(model)
    status, proven = solution.status, solution.gap
    text_bytes = 0
    if status != "infeasible":
        from placement.engine.plan import SolverReport

        report = SolverReport("HiGHS", status, gap, proven, time_limit, variables, integers, constraints)
        plan = assemble(portfolio, catalog, "synthetic", ests, model, solution, report)
        text_bytes = len(render_json(plan))
    t4 = time.perf_counter()
    return {
        "workloads": count,
        "catalog": base.name,
        "generator": generator,
        "imports_s": imports,
        "costing_s": t1 - t0,
        "build_solve_s": t3 - t1,
        "assemble_render_s": t4 - t3,
        "end_to_end_s": t4 - t0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "status": status,
        "gap": proven,
        "variables": variables,
        "integer_variables": integers,
        "constraints": constraints,
        "json_bytes": text_bytes,
    }


def write_inputs(portfolio: Any, catalog: Any, folder: Path) -> None:
    """The generated portfolio and catalog as YAML files, for timing `placement plan` itself."""
    import yaml

    dump = {"sort_keys": False, "allow_unicode": True}
    for name, model in (("catalog.yaml", catalog), ("workloads.yaml", portfolio)):
        (folder / name).write_text(yaml.safe_dump(model.model_dump(mode="json", exclude_none=True), **dump))


def cli_run(folder: Path, gap: float, time_limit: float) -> tuple[float, float]:
    """What a user sees: `placement plan` in a fresh process on the YAML files (start-up, parsing
    and validation, costing, solving, verifying, rendering, writing). Returns seconds and that
    process's own peak RSS in MB (os.wait4, launched from this small process)."""
    command = [sys.executable, "-m", "placement", "plan", str(folder / "workloads.yaml")]
    command += ["--catalog", str(folder / "catalog.yaml"), "--gap", str(gap), "--time-limit", str(time_limit)]
    command += ["--format", "json", "--out", str(folder / "plan.json")]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) == 1:  # no plan within the time limit
        return math.inf, usage.ru_maxrss / 1024
    if status != 0:
        raise SystemExit(
            f"placement plan failed: {child.stderr.read().decode()[-2000:] if child.stderr else ''}"
        )
    return seconds, usage.ru_maxrss / 1024


# an example planned with a what-if catalog of its own (its header says so)
EXAMPLE_ARGS = {
    "waits-for-capacity.yaml": ["--catalog", str(ROOT / "examples" / "catalogs" / "trn3-ramp.yaml")]
}


def examples(horizons: list[int]) -> list[tuple[str, float, str]]:
    """`placement plan` on each shipped example, best of 3, at its own horizon and at each of
    `horizons` months (a copy of the file with `horizon_months` replaced), with the solver's
    status and proven gap (a run stopped by the time limit is not a timing of the target)."""
    out = []
    with tempfile.TemporaryDirectory() as folder:
        for example in sorted((ROOT / "examples").glob("*.yaml")):
            text = example.read_text()
            runs = [(example.name, example)]
            for months in horizons:
                copy = Path(folder) / f"{months}-{example.name}"
                copy.write_text(re.sub(r"(?m)^horizon_months:.*$", f"horizon_months: {months}", text))
                runs.append((f"{example.name} at {months} months", copy))
            for label, path in runs:
                best = float("inf")
                for _ in range(3):
                    start = time.perf_counter()
                    done = subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "placement",
                            "plan",
                            str(path),
                            "--format",
                            "json",
                            *EXAMPLE_ARGS.get(example.name, []),
                        ],
                        capture_output=True,
                    )
                    best = min(best, time.perf_counter() - start)
                if done.returncode == 0:
                    solver = json.loads(done.stdout)["solver"]
                    outcome = f"{solver['status']}, proven gap {solver['gap_proven']:.3%}"
                else:
                    outcome = f"exit {done.returncode}"
                out.append((label, best, outcome))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import placement.cli, placement.engine.planner"], check=True)
    out.append(("(python start-up + imports only)", time.perf_counter() - start, ""))
    return out


def spread(rows: list[dict[str, Any]]) -> str:
    """Min / median / worst across seeds of what a buyer waits for and gets."""
    parts = []
    for key, unit in (("build_solve_s", "s"), ("cli_s", "s"), ("gap", "%"), ("cli_peak_rss_mb", "MB")):
        values = sorted(float(r.get(key, math.inf)) * (100 if unit == "%" else 1) for r in rows)
        digits = 3 if unit == "%" else 1 if unit == "MB" else 2
        low, mid, worst = values[0], statistics.median(values), values[-1]
        parts.append(f"{key} {low:.{digits}f} / {mid:.{digits}f} / {worst:.{digits}f} {unit}")
    slowest = max(rows, key=lambda r: float(r.get("cli_s", math.inf)))
    return "; ".join(parts) + f" (worst seed by CLI time: {slowest['seed']})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, help="run seeds 1..N per size and report the spread")
    parser.add_argument(
        "--generator",
        default="tuned",
        choices=["tuned", "diverse"],
        help="tuned: the portfolio the formulation was tuned on; diverse: issue 13's varied one",
    )
    parser.add_argument(
        "--time-axis", action="store_true", help="diverse portfolios with launches, growth and run windows"
    )
    parser.add_argument(
        "--single-period",
        action="store_true",
        help="diverse portfolios as one period bought on demand (the model issue 13's targets were set on)",
    )
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--gap", type=float, default=1e-6)
    parser.add_argument(
        "--catalogs", nargs="*", default=["default", "synthetic40"], choices=["default", "synthetic40"]
    )
    parser.add_argument("--skip-examples", action="store_true", help="only the synthetic portfolios")
    parser.add_argument(
        "--horizons",
        type=int,
        nargs="*",
        default=[12, 36],
        help="also time each shipped example at these horizons in months (issue 10's targets)",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--catalog-kind", default="default", help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        row = one_size(
            args.one,
            args.seed,
            args.time_limit,
            args.gap,
            args.catalog_kind,
            args.inputs,
            args.generator,
            args.time_axis,
            args.single_period,
        )
        print(json.dumps(row))
        return
    if not args.skip_examples:
        print("Shipped examples, `python -m placement plan` end to end (best of 3):")
        for name, seconds, outcome in examples(args.horizons):
            print(f"  {name:40s} {seconds:6.3f} s  {outcome}", flush=True)
        print()
    header = (
        "workloads",
        "catalog",
        "seed",
        "costing_s",
        "build_solve_s",
        "assemble_render_s",
        "end_to_end_s",
        "cli_s",
        "peak_rss_mb",
        "cli_peak_rss_mb",
        "status",
        "gap",
        "variables",
        "integer_variables",
        "constraints",
    )
    print(" | ".join(header), flush=True)
    seeds = list(range(1, args.seeds + 1)) if args.seeds else [args.seed]
    for kind, size in ((k, n) for k in args.catalogs for n in args.sizes):
        rows = []
        for seed in seeds:
            with tempfile.TemporaryDirectory() as folder:
                command = [sys.executable, __file__, "--one", str(size), "--seed", str(seed)]
                command += ["--time-limit", str(args.time_limit), "--gap", str(args.gap)]
                command += ["--catalog-kind", kind, "--inputs", folder, "--generator", args.generator]
                command += ["--time-axis"] if args.time_axis else []
                command += ["--single-period"] if args.single_period else []
                result = subprocess.run(command, check=True, capture_output=True, text=True)
                row = json.loads(result.stdout)
                row["cli_s"], row["cli_peak_rss_mb"] = cli_run(Path(folder), args.gap, args.time_limit)
            row["seed"] = seed
            rows.append(row)
            shown = {**row, "gap": f"{row['gap']:.3%}"}
            cells = (
                f"{shown[h]:.3f}" if isinstance(shown.get(h), float) else str(shown.get(h, "-"))
                for h in header
            )
            print(" | ".join(cells))
        if len(rows) > 1:
            label = f"{len(rows)} seeds, {size} workloads, {kind}"
            print(f"  spread over {label} (min / median / worst): {spread(rows)}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
