"""Text that is safe to print and to paste: every renderer's cells and documents pass through here.

Names, file names, catalog and scenario text reach the outputs; the input models already refuse
control and invisible characters in names and text, but a file name or a figure's reasoning is
not a name, so the outputs defend themselves too:

- `visible`: terminal control characters (C0 but tab and newline, DEL, C1 such as the CSI that
  starts an escape sequence), bidirectional overrides and isolates, zero-width characters and the
  Unicode line and paragraph separators become `\\uXXXX` escapes, in every text and Markdown output.
- `md_cell`: a Markdown table cell keeps its table: `|` is escaped and a line break becomes a space.
- `csv_cell`: a CSV cell a spreadsheet would run as a formula (starting with = + - @, tab or
  carriage return) gets a leading apostrophe, as spreadsheet exporters do; numbers are left alone.
- `json_visible`: the same characters escaped inside JSON strings (the JSON still parses to the
  exact same values).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from typing import Any

from tabulate import tabulate

_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def visible(text: str) -> str:
    """`text` with every character that could move the cursor, recolour the terminal, reorder the
    line or hide itself shown as an escape."""
    return _UNSAFE.sub(_escape, text)


def json_visible(text: str) -> str:
    """JSON text with the same characters as `\\uXXXX` escapes (they occur only inside strings)."""
    return _UNSAFE.sub(_escape, text)


def md_cell(value: object) -> str:
    if not isinstance(value, str):
        return str(value)
    return visible(" ".join(value.splitlines())).replace("|", "\\|")


def term_cell(value: object) -> object:
    if not isinstance(value, str):
        return value
    return visible(" ".join(value.splitlines()))


def csv_cell(value: object) -> object:
    if not isinstance(value, str) or not value or _NUMBER.fullmatch(value):
        return value
    return "'" + value if value.startswith(_FORMULA_START) else value


_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def table(rows: Sequence[Sequence[Any]], headers: Sequence[Any], tablefmt: str, **options: Any) -> str:
    """`tabulate` with every cell and header made safe for the format (GitHub Markdown or plain).

    Cells are never re-read as numbers (a workload named `1e5` or `0012` prints as written); a
    column whose every cell is a plain number is aligned as numbers are, as before.
    """
    cell = md_cell if tablefmt == "github" else term_cell
    body = [[cell(value) for value in row] for row in rows]
    if "disable_numparse" not in options:
        width = max((len(row) for row in body), default=len(headers))
        numeric = [
            any(i < len(row) and str(row[i]) != "" for row in body)
            and all(
                i >= len(row) or str(row[i]) == "" or _PLAIN_NUMBER.fullmatch(str(row[i])) for row in body
            )
            for i in range(width)
        ]
        options = {
            **options,
            "disable_numparse": True,
            "colalign": ["decimal" if n else "left" for n in numeric],
        }
    return tabulate(body, headers=[str(cell(h)) for h in headers], tablefmt=tablefmt, **options)


def usd(x: float) -> str:
    """Whole dollars: $1,235, -$40, and $0 for anything that rounds to it (never "$-0")."""
    return f"-${-x:,.0f}" if x < -0.5 else f"${max(x, 0.0):,.0f}"


def usd_signed(x: float) -> str:
    return f"+${x:,.0f}" if x >= 0.5 else usd(x) if x <= -0.5 else "$0"


def pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def pct_signed(x: float) -> str:
    """+1.2%, -3.4%, and +0.0% for anything that rounds to it (never "-0.0%")."""
    return f"{x:+.1%}" if abs(x) >= 0.0005 else "+0.0%"


class CsvWriter:
    """`csv.writer` whose every cell passes through `csv_cell`."""

    def __init__(self, stream: Any) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")

    def writerow(self, row: Sequence[object]) -> None:
        self._writer.writerow([csv_cell(value) for value in row])
