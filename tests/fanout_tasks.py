"""Tasks for test_fanout, in a module of their own: worker processes import them by name, and this
module imports almost nothing, so each freshly forked worker starts in milliseconds."""

from __future__ import annotations

import os
import time
from pathlib import Path

from placement.analyses.fanout import task_rng
from placement.errors import InputError, Problem


def slow_square(index: int, total: int) -> int:
    time.sleep(0.02 * (total - index))  # the first task finishes last
    return index * index


def fail_at(index: int, failing: tuple[int, ...]) -> int:
    if index in failing:
        time.sleep(0.2 if index == min(failing) else 0.0)  # the later failure finishes first
        raise InputError([Problem("task", index, "field", f"task {index} failed")])
    return index


def draws(seed: int, index: int) -> list[float]:
    rng = task_rng(seed, index)
    return [rng.random() for _ in range(3)]


def interrupt_or_wait(index: int, pid_file: str) -> int:
    if index == 0:
        time.sleep(0.5)  # let the other task start and record its process
        raise KeyboardInterrupt
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(120)  # far longer than the test: only terminating the worker ends it in time
    return index


def sleep_then(index: int, seconds: float) -> int:
    time.sleep(seconds)
    return index
