"""Writing results: atomically, and never over an input file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from placement.errors import OutputError


def write_atomic(target: Path, text: str | bytes, inputs: list[Path]) -> None:
    """Write via a temporary file in the same folder and rename it into place.

    An interrupted run leaves the old file (or nothing) behind, never half a file. Refuses to
    write over any of `inputs`.
    """
    for source in inputs:
        try:
            if target.exists() and target.resolve() == source.resolve():
                raise OutputError(f"{target}: refusing to overwrite an input file; choose another --out")
        except OSError:
            continue
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{target}: folder {folder} does not exist")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8") if isinstance(text, str) else text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _mode(target))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode(target: Path) -> int:
    """The file mode a plain write would give: the existing file's, or 0o666 less the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
