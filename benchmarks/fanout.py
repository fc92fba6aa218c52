"""Benchmark the sweep fan-out: `placement stress` and `placement sensitivity` on 1 and 2 local
workers (speed-up), and the per-task overhead of a local Dask cluster against the process pool.

    python benchmarks/fanout.py [--example examples/enterprise.yaml] [--repeat 3] [--tasks 400]

Each CLI run is a fresh `python -m placement` process (best of --repeat by wall clock, with its CPU
time, workers included); the runs alternate between 1 and 2 workers so that both see the same load,
and every output is compared byte for byte. The overhead is measured with tasks that do nothing:
(wall time of a run of N tasks, after a warm-up run) / N, so it is what the fan-out itself costs per
task; a solve on the enterprise example takes 0.1-0.4 s. Needs the `cluster` extra for the Dask rows.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli(args: list[str]) -> tuple[float, float, bytes]:
    """Wall seconds, CPU seconds (the command and every process it started) and standard output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "placement", *args], capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, done.stdout


def sweeps(example: str, repeat: int) -> None:
    """Runs alternate between 1 and 2 workers, so both see the same load on a shared machine."""
    print(f"\n## `placement stress|sensitivity {example} -f json`, best of {repeat}, seconds\n")
    print("| command | --workers 1 wall (CPU) | --workers 2 wall (CPU) | speed-up | output identical |")
    print("|---|---|---|---|---|")
    for command in ("stress", "sensitivity"):
        best: dict[int, tuple[float, float]] = {}
        outputs = set()
        for _ in range(repeat):
            for workers in (1, 2):
                wall, cpu, out = cli([command, example, "-f", "json", "--workers", str(workers)])
                outputs.add(out)
                if wall < best.get(workers, (float("inf"), 0.0))[0]:
                    best[workers] = (wall, cpu)
        (one, cpu1), (two, cpu2) = best[1], best[2]
        print(
            f"| {command} | {one:.2f} ({cpu1:.2f}) | {two:.2f} ({cpu2:.2f}) | {one / two:.2f}× "
            f"| {len(outputs) == 1} |"
        )


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
    sweeps(str(ROOT / args.example), args.repeat)
    overhead(args.tasks)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
