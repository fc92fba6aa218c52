"""The progress bar: drawn on a terminal only, silent in pipes; and Ctrl-C during a sweep on a real
terminal stops cleanly (exit 130, one line, nothing written, no worker left behind)."""

from __future__ import annotations

import io
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from placement.progress import progress_bar
from tests.conftest import ROOT


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_and_nothing_written_when_not_a_terminal() -> None:
    stream = io.StringIO()
    with progress_bar("stress", stream) as progress:
        assert progress is None
    assert stream.getvalue() == ""


def test_no_bar_on_a_dumb_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    with progress_bar("stress", Terminal()) as progress:
        assert progress is None


def test_a_bar_with_counts_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    stream = Terminal()
    with progress_bar("stress", stream) as progress:
        assert progress is not None
        for done in range(4):
            progress(done, 3)
    text = stream.getvalue()
    assert "stress" in text and "3/3" in text and "left" in text


def test_the_sweeps_draw_no_bar_in_a_pipe_and_leave_no_process_behind() -> None:
    # a two-workload portfolio: a few seconds of sweep on two workers (the startup example's took a minute)
    small = ROOT / "tests" / "fixtures" / "portfolios" / "small-sweep.yaml"
    command = [sys.executable, "-m", "placement", "stress", str(small)]
    process = subprocess.Popen(
        [*command, "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    stdout, stderr = process.communicate(timeout=120)
    assert (process.returncode, stderr) == (0, b"")
    assert b"Stress test" in stdout
    if sys.platform.startswith("linux"):  # the fork server and its workers have exited too
        assert _session_processes(process.pid) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find leftover workers")
def test_ctrl_c_on_a_terminal_stops_the_sweep_cleanly(tmp_path: Path) -> None:
    """Run a sweep with its standard error on a pseudo-terminal; once the bar shows the fan-out has
    started, send SIGINT to the whole process group, as the terminal does on Ctrl-C."""
    import pty

    out = tmp_path / "sensitivity.md"
    master, slave = pty.openpty()
    command = [sys.executable, "-m", "placement", "sensitivity", str(ROOT / "examples" / "enterprise.yaml")]
    process = subprocess.Popen(
        [*command, "--workers", "2", "--out", str(out)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        start_new_session=True,
        env={**os.environ, "TERM": "xterm"},
    )
    os.close(slave)
    seen = _read_until(master, rb"sensitivity.* \d+/\d+", process)  # the bar, with its task count
    assert re.search(rb"sensitivity.* \d+/\d+", seen), seen
    os.killpg(process.pid, signal.SIGINT)
    stdout, _ = process.communicate(timeout=60)
    seen += _read_until(master, rb"written", process)
    os.close(master)
    assert process.returncode == 130
    assert stdout == b""
    assert not out.exists()
    last = seen.replace(b"\r", b"\n").strip().splitlines()[-1].decode()
    assert last.endswith("placement: interrupted; nothing was written"), last
    assert _session_processes(process.pid) == []


def _read_until(fd: int, pattern: bytes, process: subprocess.Popen[bytes]) -> bytes:
    seen = b""
    deadline = time.monotonic() + 120  # a guard against hanging, not a timing assertion
    while not re.search(pattern, seen) and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the terminal closed: every writer has exited
                break
        elif process.poll() is not None and not ready:
            break
    return seen


def _session_processes(session: int) -> list[int]:
    """Processes still in the sweep's session (its workers, fork server), after a grace period."""
    left: list[int] = []
    for _ in range(100):
        left = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getsid(int(entry.name)) == session:
                        left.append(int(entry.name))
                except (ProcessLookupError, PermissionError):
                    continue
        if not left:
            break
        time.sleep(0.1)
    return left
