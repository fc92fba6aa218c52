"""Writing outputs (`src/placement/output.py`): devices and pipes written directly, never replaced;
folders, missing folders, full disks and permission problems as one `file: message` line with
exit 2; symbolic and hard links; the shipped catalog; the memo and its chart all or nothing;
an interrupt leaves nothing partial."""

from __future__ import annotations

import errno
import os
import signal
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from placement import output
from placement.cli import app
from placement.inputs.loading import shipped_catalog_paths
from tests.conftest import ROOT

STARTUP = str(ROOT / "examples" / "startup.yaml")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def plan_text() -> str:
    code, out, _ = run("plan", STARTUP, "-f", "csv")
    assert code == 0
    return out


def _device(tmp_path: Path, name: str, minor: int) -> Path:
    """A private copy of /dev/null (minor 3) or /dev/full (minor 7), so that a regression replaces
    this node, not the machine's."""
    node = tmp_path / name
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except (PermissionError, AttributeError):
        pytest.skip("cannot create device nodes here (not root)")
    return node


def test_out_to_a_null_device_writes_through_it(tmp_path: Path) -> None:
    node = _device(tmp_path, "null", 3)
    assert run("plan", STARTUP, "-f", "csv", "--out", str(node)) == (0, "", "")
    assert stat.S_ISCHR(node.lstat().st_mode)  # still the device, not a regular file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]  # no temporary file beside it


def test_out_to_dev_null_keeps_dev_null() -> None:
    before = os.lstat("/dev/null")
    assert run("plan", STARTUP, "-f", "csv", "--out", "/dev/null") == (0, "", "")
    after = os.lstat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_out_to_a_full_device_is_a_clean_error(tmp_path: Path) -> None:
    node = _device(tmp_path, "full", 7)
    code, out, err = run("plan", STARTUP, "-f", "csv", "--out", str(node))
    assert (code, out) == (2, "")
    assert err == f"{node}: cannot write: no space left on the device; nothing was written\n"
    assert stat.S_ISCHR(node.lstat().st_mode)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_out_to_dev_full() -> None:
    code, _, err = run("plan", STARTUP, "--out", "/dev/full")
    assert (code, err) == (2, "/dev/full: cannot write: no space left on the device; nothing was written\n")
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)


def test_out_to_a_fifo_writes_into_the_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    code = run("plan", STARTUP, "-f", "csv", "--out", str(fifo))[0]
    reader.join(timeout=30)
    if reader.is_alive():  # the FIFO was replaced by a file, so no writer ever opened it
        with open(fifo, "wb"):
            pass
    assert code == 0 and received == [plan_text().encode()]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.mark.parametrize("given", [".", "..", "{tmp}", "{tmp}/", "{tmp}/new/", "{tmp}/."])
def test_out_naming_a_folder_is_a_usage_error(given: str, tmp_path: Path) -> None:
    target = given.format(tmp=tmp_path)
    code, out, err = run("plan", STARTUP, "--out", target)
    assert (code, out, err) == (2, "", f"{target}: is a folder; give a file name\n")
    assert list(tmp_path.iterdir()) == []  # not even `new` as a file


def test_out_into_a_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "no" / "plan.md"
    code, _, err = run("plan", STARTUP, "--out", str(target))
    assert (code, err) == (2, f"{target}: folder {target.parent} does not exist\n")


def test_permission_denied_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(output.tempfile, "mkstemp", denied)
    target = tmp_path / "plan.md"
    code, _, err = run("plan", STARTUP, "--out", str(target))
    assert (code, err) == (2, f"{target}: cannot write: permission denied\n")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    code, _, err = run("plan", STARTUP, "--out", str(folder / "plan.md"))
    assert (code, err) == (2, f"{folder / 'plan.md'}: cannot write: permission denied\n")


def test_disk_full_on_a_regular_file_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "plan.csv"
    target.write_text("old\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output.os, "fsync", full)
    code, _, err = run("plan", STARTUP, "-f", "csv", "--out", str(target))
    assert (code, err) == (2, f"{target}: cannot write: no space left on the device; nothing was written\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.csv"]


def test_out_through_a_symlink_writes_the_file_it_points_to(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert run("plan", STARTUP, "-f", "csv", "--out", str(link))[0] == 0
    assert link.is_symlink() and real.read_text() == plan_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "real.csv"]


def test_out_through_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "made.csv")
    assert run("plan", STARTUP, "-f", "csv", "--out", str(link))[0] == 0
    assert link.is_symlink() and (tmp_path / "made.csv").read_text() == plan_text()


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "input-is-the-link"])
def test_a_link_to_an_input_is_refused(kind: str, tmp_path: Path) -> None:
    workloads = tmp_path / "w.yaml"
    original = Path(STARTUP).read_bytes()
    workloads.write_bytes(original)
    alias = tmp_path / "alias.yaml"
    if kind == "hardlink":
        os.link(workloads, alias)
    else:
        alias.symlink_to(workloads)
    given, target = (alias, workloads) if kind == "input-is-the-link" else (workloads, alias)
    code, out, err = run("plan", str(given), "--out", str(target))
    alias, workloads = target, given
    assert (code, out) == (2, "")
    assert err == f"{alias}: refusing to overwrite an input file; choose another --out\n"
    assert workloads.read_bytes() == original and alias.read_bytes() == original


def test_the_shipped_default_catalog_is_an_input(tmp_path: Path) -> None:
    shipped = shipped_catalog_paths()
    assert any(p.name == "aws.yaml" for p in shipped)
    for path in shipped:
        original = path.read_bytes()
        code, _, err = run("plan", STARTUP, "--out", str(path))
        assert (code, err) == (2, f"{path}: refusing to overwrite an input file; choose another --out\n")
        assert path.read_bytes() == original


def test_memo_named_png_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "memo.png"
    for extra in ([], ["--no-chart"]):
        code, _, err = run("memo", STARTUP, "--out", str(target), *extra)
        assert code == 2
        assert err == (
            f"{target}: the memo is Markdown and its chart goes beside it as <name>.png; "
            "give the memo a name such as memo.md\n"
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("memo_analyses_once")
@pytest.mark.parametrize("failing_call", [1, 2])
def test_a_failed_memo_leaves_no_chart(
    failing_call: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    calls = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == failing_call:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(output.os, "fsync", fsync)
    code, _, err = run("memo", STARTUP, "--samples", "0", "--out", str(tmp_path / "memo.md"))
    assert code == 2 and "no space left" in err
    assert list(tmp_path.iterdir()) == []


def test_memo_into_a_folder_fails_before_planning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("planned before checking --out")

    monkeypatch.setattr("placement.engine.planner.make_plan", boom)
    (tmp_path / "memo.png").mkdir()  # the chart's place is taken by a folder
    code, _, err = run("memo", STARTUP, "--out", str(tmp_path / "memo.md"))
    assert (code, err) == (2, f"{tmp_path / 'memo.png'}: is a folder; give a file name\n")
    assert [p.name for p in tmp_path.iterdir()] == ["memo.png"]


@pytest.mark.usefixtures("memo_analyses_once")
def test_memo_to_a_device_writes_no_chart(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    node = _device(tmp_path, "null", 3)
    assert run("memo", STARTUP, "--samples", "0", "--out", str(node))[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]  # no null.png beside it


def _interrupt(*args: Any) -> None:
    os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered while the output is being written


@pytest.mark.usefixtures("memo_analyses_once")
@pytest.mark.parametrize("command", [["plan", "-f", "csv"], ["memo", "--samples", "0"]])
@pytest.mark.parametrize("at", ["fsync", "replace"])
def test_interrupt_while_writing_leaves_nothing_partial(
    command: list[str], at: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.md"
    target.write_text("old\n")
    if at == "fsync":
        monkeypatch.setattr(output.os, "fsync", _interrupt)
    else:
        monkeypatch.setattr(output.os, "replace", _interrupt)
        # the renames run with Ctrl-C held, so deliver it just before them instead
        real_held = output._interrupts_held

        def held() -> Any:
            _interrupt()
            return real_held()

        monkeypatch.setattr(output, "_interrupts_held", held)
    code, out, err = run(command[0], STARTUP, *command[1:], "--out", str(target))
    assert (code, err) == (130, "placement: interrupted; nothing was written\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]  # no temporary file, no chart


@pytest.mark.usefixtures("memo_analyses_once")
def test_interrupt_during_the_renames_is_held_until_they_are_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    real_replace = os.replace

    def replace(a: Any, b: Any) -> None:
        _interrupt()
        real_replace(a, b)

    monkeypatch.setattr(output.os, "replace", replace)
    assert run("memo", STARTUP, "--samples", "0", "--out", str(tmp_path / "memo.md"))[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memo.md", "memo.png"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_internal_error_names_no_invented_address(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("placement.engine.planner.make_plan", bug)
    code, _, err = run("plan", STARTUP)
    assert code == 3
    assert err == (
        "placement: internal error: RuntimeError: boom "
        "(please report it to the maintainers of placement with the command and input files)\n"
    )
    assert "://" not in err
