"""Writing results where the user asked, safely.

Rules (README "Output files"):
- A regular file or a new path is written atomically: a temporary file in the same folder, then a
  rename over the target. An interrupted or failed run leaves the old file (or nothing) behind,
  never half a file, and no temporary file.
- A character device or a FIFO (`/dev/null`, `/dev/stdout`, a named pipe, `>(...)` in a shell) is
  written to directly: renaming over it would replace the device node itself. Any other special
  file (block device, socket) is refused.
- `--out` through a symbolic link writes the file the link points to, atomically; the link stays a
  link. A link to an input file is refused like the input itself.
- Never over an input: the target is compared with each input by device and inode, so a symbolic
  or hard link to an input is refused too.
- A folder (`.`, `..`, `DIR/`), a missing folder, a full disk, a permission problem: one line
  `file: message` (`OutputError`, exit 2), nothing written.
- Several files written together (the memo and its chart) are all prepared first and renamed into
  place only when every one is ready; an interrupt during the renames is held until they are done.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from placement.errors import OutputError


@dataclass(frozen=True)
class _Target:
    shown: str  # the path as the user gave it, for messages
    real: Path  # where the bytes go (symbolic links followed)
    special: bool  # a character device or FIFO: written directly


def check_output(target: Path | str, inputs: Sequence[Path]) -> None:
    """Raise the `OutputError` writing to `target` would raise before any byte is written (run it
    before a long solve so a mistyped --out fails at once)."""
    _check(target, inputs)


def is_special(target: Path | str) -> bool:
    """Whether `target` is a character device or FIFO (written directly, nothing beside it)."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def write_atomic(target: Path | str, text: str | bytes, inputs: Sequence[Path]) -> None:
    """Write one output file (see the module rules); refuses to write over any of `inputs`."""
    write_all([(target, text)], inputs)


def write_all(files: Sequence[tuple[Path | str, str | bytes]], inputs: Sequence[Path]) -> None:
    """Write several output files all or nothing: every target is checked and every temporary file
    written before the first is renamed into place."""
    targets = [_check(target, inputs) for target, _ in files]
    for i, a in enumerate(targets):
        if any(_same(a.real, b.real) or a.real == b.real for b in targets[:i]):
            raise OutputError(f"{a.shown}: two outputs of this command would go to the same file")
    staged: list[tuple[_Target, Path | None, bytes]] = []
    try:
        for t, (_, text) in zip(targets, files, strict=True):
            data = text.encode("utf-8") if isinstance(text, str) else text
            staged.append((t, None if t.special else _stage(t, data), data))
        with _interrupts_held():
            for t, temporary, data in staged:
                if temporary is None:
                    _write_direct(t, data)
                else:
                    try:
                        os.replace(temporary, t.real)
                    except OSError as exc:
                        raise _error(t, exc) from None
    finally:
        for _, temporary, _ in staged:
            if temporary is not None:
                temporary.unlink(missing_ok=True)


def _check(target: Path | str, inputs: Sequence[Path]) -> _Target:
    shown = str(target)
    path = Path(target)
    if shown.endswith(("/", os.sep)) or path.name in ("", ".", ".."):
        raise OutputError(f"{shown}: is a folder; give a file name")
    for source in inputs:
        if _same(path, source):
            raise OutputError(f"{shown}: refusing to overwrite an input file; choose another --out")
    real = Path(os.path.realpath(path))
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"{shown}: cannot write: {exc.strerror}") from None
    if mode is not None:
        if stat.S_ISDIR(mode):
            raise OutputError(f"{shown}: is a folder; give a file name")
        if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
            return _Target(shown, real, special=True)
        if not stat.S_ISREG(mode):
            raise OutputError(f"{shown}: not a regular file, character device or FIFO; refusing to write")
    folder = real.parent
    if not folder.is_dir():
        raise OutputError(f"{shown}: folder {path.parent} does not exist")
    return _Target(shown, real, special=False)


def _same(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (symbolic and hard links included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _stage(t: _Target, data: bytes) -> Path:
    """The bytes in a temporary file beside the target, flushed to disk, with the target's mode."""
    try:
        handle, name = tempfile.mkstemp(prefix=f".{t.real.name}.", suffix=".tmp", dir=t.real.parent)
    except OSError as exc:
        raise _error(t, exc) from None
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _mode(t.real))
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise _error(t, exc) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _write_direct(t: _Target, data: bytes) -> None:
    try:
        with open(t.real, "wb") as stream:
            stream.write(data)
            stream.flush()
    except OSError as exc:
        raise _error(t, exc) from None


def _error(t: _Target, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason = "no space left on the device; nothing was written"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        reason = "permission denied"
    return OutputError(f"{t.shown}: cannot write: {reason}")


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT while the renames run (microseconds), so the outputs are all in place or none
    is. An interrupt that arrives then is ignored: the work it would stop is already done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: None)
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _mode(target: Path) -> int:
    """The file mode a plain write would give: the existing file's, or 0o666 less the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
