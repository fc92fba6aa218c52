"""Benchmark the sweep fan-out: `placement stress` and `placement sensitivity` on 1 and 2 local
workers (speed-up), and the per-task overhead of a local Dask cluster against the process pool.

    python benchmarks/fanout.py [--example examples/enterprise.yaml] [--repeat 3] [--tasks 400]

First the work in each sweep: the CPU seconds of every task, measured one after the other in one
process, and when the last would end on 2 workers taking tasks in order; their ratio bounds the
speed-up on 2 idle cores (start-up and the fork server's import not counted).

Each CLI run is a fresh `python -m placement` process (best of --repeat, wall clock); the runs
alternate between 1 and 2 workers so that both see the same load, and every output is compared
byte for byte. The 1-minute load average is printed with each table: on a machine shared with other
work, a second worker process adds no CPU share (Linux groups a session's processes), so the
speed-up is only meaningful when the load stays below the number of cores.

The overhead is measured with tasks that do nothing: (wall time of a run of N tasks, after a
warm-up run) / N, so it is what the fan-out itself costs per task; a solve on the enterprise example
takes 0.1-0.4 s. Needs the `cluster` extra for the Dask rows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def cli(args: list[str]) -> tuple[float, bytes]:
    """Wall seconds of a fresh `python -m placement` process, and its standard output."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "placement", *args], capture_output=True, check=True)
    return time.perf_counter() - start, done.stdout


def sweeps(example: str, repeat: int) -> None:
    """Runs alternate between 1 and 2 workers, so both see the same load on a shared machine."""
    print(f"\n## `placement stress|sensitivity {example} -f json`, best of {repeat}, seconds\n")
    print("| command | --workers 1 | --workers 2 | speed-up | output identical | load average during |")
    print("|---|---|---|---|---|---|")
    for command in ("stress", "sensitivity"):
        best = {1: float("inf"), 2: float("inf")}
        outputs = set()
        loads = []
        for _ in range(repeat):
            for workers in (1, 2):
                wall, out = cli([command, example, "-f", "json", "--workers", str(workers)])
                outputs.add(out)
                best[workers] = min(best[workers], wall)
                loads.append(os.getloadavg()[0])
        print(
            f"| {command} | {best[1]:.2f} | {best[2]:.2f} | {best[1] / best[2]:.2f}× | {len(outputs) == 1} "
            f"| {min(loads):.1f}–{max(loads):.1f} |"
        )


def cpu_timed(task: Any) -> tuple[float, Any]:
    start = time.process_time()
    result = task.fn(*task.args)
    return time.process_time() - start, result


def fifo_makespan(durations: list[float], workers: int) -> float:
    """When the last task ends if each goes, in order, to the first worker free (as the pool does)."""
    free = [0.0] * workers
    for duration in durations:
        free[free.index(min(free))] += duration
    return max(free)


def work(example: str) -> None:
    """CPU seconds of each sweep's tasks, measured one after the other in this process: what the
    speed-up on 2 otherwise idle cores can be at most, whatever the load on this machine now."""
    from placement.analyses import sensitivity
    from placement.analyses.fanout import Task
    from placement.analyses.scenarios import plan_scenario, plan_what_fits, shocks
    from placement.engine.optimizer import SolveSettings
    from placement.inputs.loading import load_catalog, load_portfolio

    catalog = load_catalog(None)
    portfolio = load_portfolio(Path(example), catalog)
    settings = SolveSettings()
    base_seconds, base = cpu_timed(Task(plan_what_fits, (portfolio, catalog, "x", "base", settings)))
    stress = [Task(plan_scenario, (s, portfolio, catalog, "x", settings)) for s in shocks(catalog, base.plan)]
    batches = [
        sensitivity._break_even_batch(base.plan, portfolio, catalog, settings),
        sensitivity._shadow_batch(base.plan, portfolio, catalog, settings),
        sensitivity._portability_batch(portfolio, catalog, settings),
    ]
    probes = [t for b in batches for t in b.tasks]
    print(f"\n## Work in each sweep, CPU seconds in one process (base plan {base_seconds:.2f} s)\n")
    print("| sweep | tasks | all tasks | longest task | on 2 workers, in order | bound on speed-up |")
    print("|---|---|---|---|---|---|")
    for name, tasks in (("stress", stress), ("sensitivity", probes)):
        durations = [cpu_timed(t)[0] for t in tasks]
        one, two = sum(durations), fifo_makespan(durations, 2)
        bound = (base_seconds + one) / (base_seconds + two)
        print(f"| {name} | {len(tasks)} | {one:.2f} | {max(durations):.2f} | {two:.2f} | {bound:.2f}× |")


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def nothing(index: int) -> int:
    return index


def overhead(count: int) -> None:
    from distributed import LocalCluster

    from placement.analyses.fanout import DaskCluster, LocalPool, Task

    tasks = [Task(nothing, (i,)) for i in range(count)]
    rows: list[tuple[str, float]] = []
    pool = LocalPool(2)
    rows.append(
        (
            "process pool, 2 workers: first run (starts the fork server, which imports the solver)",
            timed(lambda: pool.run(tasks[:2])),
        )
    )
    rows.append(
        (
            "process pool, 2 workers: a later run of 2 tasks (forks 2 workers)",
            timed(lambda: pool.run(tasks[:2])),
        )
    )
    pool_total = timed(lambda: pool.run(tasks))
    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        rows.append(("Dask LocalCluster, 2 worker processes: start", time.perf_counter() - start))
        cluster = DaskCluster(local.scheduler_address)
        rows.append(
            (
                "Dask cluster: first run of 2 tasks (connects; workers import)",
                timed(lambda: cluster.run(tasks[:2])),
            )
        )
        rows.append(
            ("Dask cluster: a later run of 2 tasks (connects)", timed(lambda: cluster.run(tasks[:2])))
        )
        dask_total = timed(lambda: cluster.run(tasks))
    print("\n## Fan-out overhead, seconds\n")
    print("| what | seconds |")
    print("|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.3f} |")
    print(f"\n| {count} empty tasks | wall | per task |")
    print("|---|---|---|")
    print(f"| process pool, 2 workers (with forks) | {pool_total:.3f} | {pool_total / count * 1000:.2f} ms |")
    print(f"| Dask LocalCluster, 2 workers | {dask_total:.3f} | {dask_total / count * 1000:.2f} ms |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="examples/enterprise.yaml")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=400)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}; load average before: {os.getloadavg()[0]:.2f}")
    work(str(ROOT / args.example))
    sweeps(str(ROOT / args.example), args.repeat)
    overhead(args.tasks)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
