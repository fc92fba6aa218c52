"""Run a list of independent solves: in this process, on a local process pool, or on a Dask cluster.

A `Task` is a picklable top-level function and its arguments, plain data only (validated inputs,
settings, scenarios; never PuLP objects, whose names and hashes are per process): each worker
builds and solves its own model. Results are collected by task index, never by completion order,
and a sweep that draws random numbers seeds each task from (seed, index) with `task_rng`, so the
output is the same to the byte whatever the number or kind of workers.

- `InProcess`: one after the other, here (`--workers 1`; also any sweep of a single task).
- `LocalPool(n)`: `concurrent.futures.ProcessPoolExecutor` with a forkserver (spawn where there is
  none) context; no server, no extra install. Workers ignore SIGINT: Ctrl-C reaches this process
  only, which cancels what has not started, terminates the workers and re-raises.
- `DaskCluster(address)`: an existing `dask.distributed` scheduler (`pip install 'placement[cluster]'`;
  its workers need the same `placement` installed). Ctrl-C cancels this run's tasks on the
  cluster (those already running finish in the background: Dask cannot stop a running task) and
  disconnects; the cluster itself is left running.

When tasks fail, the failure of the lowest-indexed one is raised, as a sequential run would raise
it: the pool waits for the tasks before it and cancels those after it; the cluster lets every task
finish first. Progress is reported through a callback `(done, total)` that the caller supplies;
this module never prints.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import random
import signal
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from placement.errors import InputError, PlacementError, Problem

Progress = Callable[[int, int], None]  # (tasks done, tasks in all)


@dataclass(frozen=True)
class Task:
    """One independent unit of work: `fn(*args)`; `fn` importable by name, `args` picklable data."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]


class Runner(Protocol):
    """Anything that runs tasks and returns their results in task order."""

    def run(self, tasks: Sequence[Task], progress: Progress | None = None) -> list[Any]: ...


def task_rng(seed: int, index: int) -> random.Random:
    """The random stream of task `index` in a sweep seeded with `seed`: the same in every process."""
    return random.Random(f"placement:{seed}:{index}")  # str seeds hash with SHA-512, not hash()


class ClusterError(PlacementError):
    """The cluster could not be reached or used (not installed, wrong address, lost mid-run)."""

    exit_code = 2


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


class InProcess:
    """Every task in this process, in order."""

    workers = 1

    def run(self, tasks: Sequence[Task], progress: Progress | None = None) -> list[Any]:
        results = []
        _report(progress, 0, len(tasks))
        for done, task in enumerate(tasks, start=1):
            results.append(task.fn(*task.args))
            _report(progress, done, len(tasks))
        return results


IN_PROCESS = InProcess()


def _ignore_sigint() -> None:  # pragma: no cover - runs in the worker processes
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# Imported once by the fork server, so that each worker forked from it starts with the solver stack
# loaded (importing it takes ~0.9 s; forking takes milliseconds).
PRELOAD = ["placement.analyses.scenarios", "placement.analyses.sensitivity"]


def _context() -> multiprocessing.context.BaseContext:
    """forkserver where the platform has it (no inherited threads or locks; workers forked from a
    server that has already imported the solver stack), else spawn (each worker imports it)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _collect(futures: list[Future[Any]], progress: Progress | None) -> list[Any]:
    """Wait for every future, reporting progress as they finish; results by index; on failures,
    the lowest-indexed one is raised once every task before it has finished."""
    total = len(futures)
    index = {id(f): i for i, f in enumerate(futures)}
    pending = set(futures)
    first_failure = total
    _report(progress, 0, total)
    while any(index[id(f)] < first_failure for f in pending):
        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
        for f in finished:
            if not f.cancelled() and f.exception() is not None:
                first_failure = min(first_failure, index[id(f)])
        for f in pending:
            if index[id(f)] > first_failure:
                f.cancel()
        _report(progress, total - len(pending), total)
    if first_failure < total:
        for f in pending:
            f.cancel()
        raise futures[first_failure].exception()  # type: ignore[misc]
    return [f.result() for f in futures]


class LocalPool:
    """A pool of `workers` local processes, started for each run and stopped after it."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers

    def warm_up(self) -> None:
        """Start the fork server now, so that it imports the solver stack while this process reads
        the inputs and solves the base plan (on a 2-core machine the import is ~1 s of a short sweep)."""
        context = _context()
        if context.get_start_method() == "forkserver":
            import multiprocessing.forkserver

            multiprocessing.forkserver.ensure_running()

    def run(self, tasks: Sequence[Task], progress: Progress | None = None) -> list[Any]:
        if self.workers == 1 or len(tasks) <= 1:
            return IN_PROCESS.run(tasks, progress)
        executor = ProcessPoolExecutor(
            min(self.workers, len(tasks)), mp_context=_context(), initializer=_ignore_sigint
        )
        try:
            futures = [executor.submit(t.fn, *t.args) for t in tasks]
            results = _collect(futures, progress)
        except BaseException:  # Ctrl-C or a failed task: stop now, do not wait for the rest
            _stop(executor)
            raise
        executor.shutdown(wait=True)
        return results


def _stop(executor: ProcessPoolExecutor) -> None:
    """Stop the pool now: end the workers, cancel what has not started, and wait for the pool's own
    threads to finish before returning, so that nothing of the pool is left to run, or to print,
    while the interpreter exits. (Returning with those threads still tearing down, as
    `shutdown(wait=False)` does, lets them race the interpreter's exit: a traceback ending in
    `OSError: [Errno 9] Bad file descriptor` could follow the one-line "interrupted" message.)
    The teardown of a pool whose workers were ended may report broken pipes from its feeder
    thread; they are expected here and not shown."""
    workers = _processes(executor)
    for process in workers:
        process.terminate()
    for process in workers:
        process.join(timeout=5)
        if process.is_alive():  # pragma: no cover - a worker that outlives SIGTERM
            process.kill()
            process.join()
    with contextlib.redirect_stderr(io.StringIO()):
        executor.shutdown(wait=True, cancel_futures=True)


def _processes(executor: ProcessPoolExecutor) -> list[Any]:
    """The pool's worker processes (the standard library has no public accessor before 3.14)."""
    return list((getattr(executor, "_processes", None) or {}).values())


class DaskCluster:
    """The workers of a running Dask scheduler at `address` (e.g. tcp://10.0.0.5:8786)."""

    def __init__(self, address: str, connect_timeout_s: float = 10.0) -> None:
        """Checks the address's form now (a malformed one would leave Dask a half-made client to
        clean up at exit); whether a scheduler answers there is found on the first run."""
        try:
            from distributed.comm import parse_address
            from distributed.comm.addressing import parse_host_port
        except ImportError:
            raise ClusterError("--cluster needs Dask distributed: pip install 'placement[cluster]'") from None
        try:
            parse_host_port(parse_address(address)[1])
        except ValueError as exc:
            raise InputError(
                [Problem("<command line>", None, "--cluster", f"{exc}; expected e.g. tcp://10.0.0.5:8786")]
            ) from None
        self.address = address
        self.connect_timeout_s = connect_timeout_s

    def _client(self) -> Any:
        from distributed import Client

        try:
            return Client(self.address, timeout=self.connect_timeout_s, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None

    def run(self, tasks: Sequence[Task], progress: Progress | None = None) -> list[Any]:
        from distributed import KilledWorker, as_completed

        with self._client() as client:
            run_id = uuid.uuid4().hex
            futures = [
                client.submit(t.fn, *t.args, key=f"placement-{run_id}-{i}", pure=False)
                for i, t in enumerate(tasks)
            ]
            try:
                _report(progress, 0, len(tasks))
                try:
                    for done, _ in enumerate(as_completed(futures, loop=client.loop), start=1):
                        _report(progress, done, len(tasks))
                except OSError as exc:  # the scheduler went away (CommClosedError is an OSError)
                    raise ClusterError(f"lost the Dask scheduler at {self.address}: {exc}") from None
                for i, future in enumerate(futures):  # the lowest-indexed failure, as sequentially
                    if future.status == "error":
                        error = future.exception()
                        if isinstance(error, KilledWorker):
                            raise ClusterError(f"Dask workers died running task {i}: {error}") from None
                        raise error
                return list(client.gather(futures))
            except BaseException:
                with contextlib.suppress(Exception):  # the scheduler may be gone already
                    client.cancel(futures, force=True)
                raise


def make_runner(workers: int | None, cluster: str | None) -> Runner:
    """The runner the command line asked for: `--cluster ADDRESS`, or `--workers N` local processes
    (default: every core this process may use; 1 runs in this process)."""
    if cluster is not None:
        if workers is not None:
            raise InputError(
                [Problem("<command line>", None, "--workers", "give --workers or --cluster, not both")]
            )
        return DaskCluster(cluster)
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if workers == 1:
        return IN_PROCESS
    pool = LocalPool(workers)
    pool.warm_up()
    return pool
