"""Fanning sweeps out: results by task index, the lowest-indexed failure, Ctrl-C, seeds per task,
and the same output to the byte in this process, on a local process pool and on a real local Dask
cluster (two worker processes)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from placement.analyses.fanout import (
    IN_PROCESS,
    ClusterError,
    DaskCluster,
    LocalPool,
    Runner,
    Task,
    make_runner,
)
from placement.cli import app
from placement.errors import InputError
from tests.conftest import ROOT
from tests.fanout_tasks import draws, fail_at, interrupt_or_wait, sleep_then, slow_square

distributed = pytest.importorskip("distributed")  # in the `test` extra; CI installs it


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A real Dask cluster on this machine: a scheduler and two single-threaded worker processes."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local.scheduler_address


def runners(address: str) -> list[Runner]:
    return [IN_PROCESS, LocalPool(2), DaskCluster(address)]


def test_results_come_back_in_task_order_with_progress(cluster: str) -> None:
    tasks = [Task(slow_square, (i, 6)) for i in range(6)]
    for runner in runners(cluster):
        seen: list[tuple[int, int]] = []
        results = runner.run(tasks, lambda done, total, seen=seen: seen.append((done, total)))
        assert results == [i * i for i in range(6)]
        assert seen[0] == (0, 6) and seen[-1] == (6, 6), type(runner).__name__
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_the_lowest_indexed_failure_is_raised_like_a_sequential_run(cluster: str) -> None:
    tasks = [Task(fail_at, (i, (1, 3))) for i in range(5)]
    for runner in runners(cluster):
        with pytest.raises(InputError) as caught:
            runner.run(tasks)
        assert [str(p) for p in caught.value.problems] == ["task:1: field: task 1 failed"]


def test_each_task_draws_the_same_random_numbers_wherever_it_runs(cluster: str) -> None:
    tasks = [Task(draws, (7, i)) for i in range(4)]
    results = [runner.run(tasks) for runner in runners(cluster)]
    assert results[0] == results[1] == results[2]
    assert len({tuple(r) for r in results[0]}) == 4  # each task has its own stream
    assert draws(7, 0) != draws(8, 0)


def test_ctrl_c_in_a_sweep_terminates_the_pool_workers(tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.pid"
    tasks = [Task(interrupt_or_wait, (i, str(pid_file))) for i in range(2)]
    with pytest.raises(KeyboardInterrupt):
        LocalPool(2).run(tasks)
    pid = int(pid_file.read_text())
    for _ in range(100):  # the terminated worker is reaped by its parent within moments
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid), "the worker still running the long task was not terminated"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_make_runner_reads_the_command_line_choice(cluster: str) -> None:
    assert make_runner(1, None) is IN_PROCESS
    pool = make_runner(3, None)
    assert isinstance(pool, LocalPool) and pool.workers == 3
    default = make_runner(None, None)
    assert default is IN_PROCESS or isinstance(default, LocalPool)
    assert isinstance(make_runner(None, cluster), DaskCluster)
    with pytest.raises(InputError, match="give --workers or --cluster, not both"):
        make_runner(2, cluster)


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        DaskCluster("tcp://127.0.0.1:9", connect_timeout_s=0.5).run([Task(draws, (1, 0))])


# --------------------------------------------------------------------------- the sweeps, byte for byte

SCENARIO = str(ROOT / "examples" / "scenarios" / "trn2-price-cut.yaml")
SWEEPS = {
    "stress": ["stress", str(ROOT / "examples" / "waits-for-capacity.yaml"), "-f", "json"],
    "compare": [
        "compare",
        str(ROOT / "examples" / "startup.yaml"),
        "-s",
        SCENARIO,
        "-f",
        "json",
    ],
    # two workloads over 3 months: about 80 re-plans in seconds (waits-for-capacity's took minutes)
    "sensitivity": [
        "sensitivity",
        str(ROOT / "tests" / "fixtures" / "portfolios" / "small-sweep.yaml"),
        "-f",
        "json",
    ],
}


@pytest.mark.parametrize("sweep", sorted(SWEEPS))
def test_sweeps_are_byte_identical_on_one_two_workers_and_the_cluster(sweep: str, cluster: str) -> None:
    outputs: dict[str, Any] = {}
    for label, extra in (
        ("1", ["--workers", "1"]),
        ("2", ["--workers", "2"]),
        ("cluster", ["--cluster", cluster]),
    ):
        result = CliRunner().invoke(app, [*SWEEPS[sweep], *extra])
        assert result.exit_code == 0, (label, result.stderr)
        assert result.stderr == ""  # no progress bar outside a terminal
        outputs[label] = result.stdout
    assert outputs["1"] == outputs["2"] == outputs["cluster"]
    assert len(outputs["1"]) > 500


def test_a_malformed_cluster_address_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, [*SWEEPS["stress"], "--cluster", "scheduler-without-port"])
    assert result.exit_code == 2
    assert result.stderr == (
        "<command line>: --cluster: missing port number in address 'scheduler-without-port'; "
        "expected e.g. tcp://10.0.0.5:8786\n"
    )
    assert result.stdout == ""


def test_cluster_and_workers_together_is_a_usage_error(cluster: str) -> None:
    result = CliRunner().invoke(app, [*SWEEPS["stress"], "--workers", "2", "--cluster", cluster])
    assert result.exit_code == 2
    assert result.stderr == "<command line>: --workers: give --workers or --cluster, not both\n"


def test_ctrl_c_while_waiting_on_the_cluster_cancels_this_runs_tasks(cluster: str) -> None:
    """Last in the file: Dask cannot stop a task already running (it finishes in the background), so
    the two running now keep the workers busy for their two seconds."""

    def interrupt(done: int, total: int) -> None:
        if done == 1:  # Ctrl-C arrives while the long tasks are still queued or running
            raise KeyboardInterrupt

    tasks = [Task(sleep_then, (0, 0.0)), *(Task(sleep_then, (i, 2.0)) for i in range(1, 5))]
    with pytest.raises(KeyboardInterrupt):
        DaskCluster(cluster).run(tasks, interrupt)
    with distributed.Client(cluster, set_as_default=False) as client:
        for _ in range(100):
            left = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
            if left == 0:
                break
            time.sleep(0.1)
        assert left == 0, "tasks of the interrupted run are still on the cluster"
        assert len(client.scheduler_info()["workers"]) == 2  # the cluster itself keeps running
