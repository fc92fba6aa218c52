"""How the figures behind the choice of Dask over Ray were measured (README, "Why Dask rather than
Ray"): start-up of a 2-worker local cluster and the overhead per task (N empty tasks submitted one
by one, after a warm-up), for the stdlib process pool, Dask distributed and Ray.

    python3 -m venv /tmp/vdask && /tmp/vdask/bin/pip install distributed   # timed: install
    python3 -m venv /tmp/vray && /tmp/vray/bin/pip install ray
    /tmp/vdask/bin/python benchmarks/engines.py pool dask
    /tmp/vray/bin/python benchmarks/engines.py ray

Run each engine in its own environment (neither is needed by `placement` itself). Install size is
`du -sh <venv>/lib/python3.11/site-packages` less that of an empty venv (26 MB).
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

TASKS = 500


def nothing(index: int) -> int:
    return index


def pool(count: int) -> tuple[float, float]:
    start = time.perf_counter()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver")) as executor:
        list(executor.map(nothing, range(2)))
        ready = time.perf_counter()
        futures = [executor.submit(nothing, i) for i in range(count)]
        [f.result() for f in futures]
        done = time.perf_counter()
    return ready - start, (done - ready) / count


def dask(count: int) -> tuple[float, float]:
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster.scheduler_address)
    client.gather(client.map(nothing, range(2), pure=False))
    ready = time.perf_counter()
    client.gather([client.submit(nothing, i, pure=False) for i in range(count)])
    done = time.perf_counter()
    client.close()
    cluster.close()
    return ready - start, (done - ready) / count


def ray(count: int) -> tuple[float, float]:
    import ray as engine

    start = time.perf_counter()
    engine.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    remote: Any = engine.remote(nothing)
    engine.get([remote.remote(i) for i in range(2)])
    ready = time.perf_counter()
    engine.get([remote.remote(i) for i in range(count)])
    done = time.perf_counter()
    engine.shutdown()
    return ready - start, (done - ready) / count


if __name__ == "__main__":
    for name in sys.argv[1:]:
        started, per_task = {"pool": pool, "dask": dask, "ray": ray}[name](TASKS)
        print(f"{name}: start {started:.2f} s, overhead per task {per_task * 1000:.2f} ms ({TASKS} tasks)")
