"""A progress bar on standard error for long sweeps, only when standard error is a terminal.

In a pipe, a file or CI (no terminal) it yields no callback and writes nothing. The bar shows the
tasks done, the time elapsed and an estimate of the time left, and is erased when the sweep ends
(or is interrupted), so it never mixes with the report or an error message.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from placement.analyses.fanout import Progress


def wanted(stream: TextIO) -> bool:
    """A bar only on an interactive terminal (not a pipe, a file, CI's log, or TERM=dumb)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


@contextmanager
def progress_bar(label: str, stream: TextIO | None = None) -> Iterator[Progress | None]:
    """Yield a `(done, total)` callback that draws the bar, or None where no bar is wanted."""
    stream = sys.stderr if stream is None else stream
    if not wanted(stream):
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("tasks, elapsed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=Console(file=stream),
        transient=True,
    )
    with bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
