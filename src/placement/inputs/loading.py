"""The only module that reads files: YAML → validated models, every mistake located.

Guards, in the order they run: the file exists and is a regular file; it is at most
`MAX_FILE_BYTES` (checked with stat, before reading); it is UTF-8 text without NUL bytes; it parses
as YAML; its node graph, with aliases expanded, has at most `MAX_NODES` nodes or `EXPANSION` times
the nodes actually written, whichever is more (an alias bomb is refused before anything is built;
a 10,000-workload file, ~300,000 values and 2.4 MiB, is not); it has at most `MAX_DEPTH` levels;
the root is a mapping; keys are unique. Then pydantic validates, and each error becomes
`file:line: field: message`.

Parsing uses libyaml (PyYAML's C parser, 2.6× faster on a 10,000-workload file) where PyYAML has
it; a file it rejects is parsed again by the pure-Python parser, so error messages do not depend
on the build.
"""

from __future__ import annotations

import gc
import math
import os
import re
import stat
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

import yaml
from pydantic import BaseModel, ValidationError

from placement.errors import InputError, Problem
from placement.inputs.models import (
    Catalog,
    Change,
    FieldError,
    Location,
    Measured,
    Migration,
    ModelSize,
    Option,
    Policy,
    PortEffort,
    Portfolio,
    Porting,
    Purchase,
    Scenario,
    Settings,
    Source,
    Workload,
    WorkloadOverlay,
    cross_check,
    did_you_mean,
    scenario_problems,
)
from placement.inputs.saved_plan import SavedPlan
from placement.inputs.uncertainty import (
    CapacityRisk,
    CatalogCapacity,
    DemandSpread,
    OptionRanges,
    Outcome,
    Range,
    Uncertainty,
)

M = TypeVar("M", bound=BaseModel)

# 10,000 workloads take 2.4-3.2 MiB of YAML (the diverse benchmark's, with architectures and request
# shapes, 3.1 MiB: refused at the old 3 MiB) and their plan 7.8 MiB of JSON, which `verify` reads
# through the same guards; a file over the limit is refused from stat, in < 1 s
MAX_FILE_BYTES = 16 * 2**20
MAX_NODES = 200_000
EXPANSION = 2
FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 64
MAX_SCALAR_CHARS = 10_000  # the longest text field is 2,000 characters
MAX_KEY_CHARS = 200
MAX_PROBLEMS = 10  # problems reported per file
DEFAULT_CATALOG = "aws.yaml"

_KNOWN_FIELDS = sorted(
    {
        name
        for model in (
            Portfolio,
            Policy,
            Purchase,
            Porting,
            Workload,
            ModelSize,
            Measured,
            Catalog,
            Option,
            Migration,
            PortEffort,
            Settings,
            Source,
            Scenario,
            WorkloadOverlay,
            Change,
            Uncertainty,
            DemandSpread,
            CapacityRisk,
            CatalogCapacity,
            Outcome,
            OptionRanges,
            Range,
        )
        for name in model.model_fields
    }
)
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: its data and the line of every key and item."""

    path: str
    data: dict[str, Any]
    lines: dict[Location, int]

    def line_of(self, location: Location) -> int:
        """Line of the location, or of its nearest ancestor that is in the file."""
        for end in range(len(location), -1, -1):
            line = self.lines.get(tuple(location[:end]))
            if line is None and end and isinstance(location[end - 1], int):  # a number as a mapping key
                line = self.lines.get((*location[: end - 1], str(location[end - 1])))
            if line is not None:
                return line
        return 1

    def problem(self, location: Location, message: str) -> Problem:
        return Problem(self.path, self.line_of(location), field_name(location), message)


def field_name(location: Location) -> str:
    """('workloads', 2, 'framework') → 'workloads[2].framework'."""
    out = ""
    for part in location:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def _fail(path: str, message: str, line: int | None = None, field: str = "") -> InputError:
    return InputError([Problem(path, line, field, message)])


def read_yaml(path: Path, display: str | None = None) -> Document:
    """Read and parse one YAML file into a `Document` (no validation beyond YAML itself)."""
    name = display or str(path)
    return parse_yaml(read_bounded(path, name), name)


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(mode: int, name: str) -> InputError:
    kind = next((label for test, label in _KINDS if test(mode)), "a special file")
    return _fail(name, f"not a regular file: {kind}; give the path of a file")


SIZE_HINT = "; 10,000 workloads take about 2.5-3.3 MB"


def _too_large(size: str, name: str) -> InputError:
    return _fail(name, f"file too large: {size} bytes (limit {MAX_FILE_BYTES:,}){SIZE_HINT}")


def check_regular(path: Path, name: str, limit: int, hint: str = "") -> int:
    """The size of a regular, non-empty file within `limit` bytes; every other case one located
    error (missing, unreadable, a folder, pipe or device, empty, too large)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise _fail(name, "no such file") from None
    except OSError as exc:
        raise _fail(name, f"cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise _not_regular(info.st_mode, name)
    if info.st_size == 0:
        raise _fail(name, "file is empty", 1)
    if info.st_size > limit:
        raise _fail(name, f"file too large: {info.st_size:,} bytes (limit {limit:,}){hint}")
    return info.st_size


def read_bounded(path: Path, name: str) -> bytes:
    """A regular file's bytes, at most `MAX_FILE_BYTES`.

    Special files (directories, pipes, devices, sockets) are refused from `stat` before they are
    opened, and again from `fstat` on the opened descriptor (the path may have changed in between);
    the file is opened non-blocking (a pipe cannot stall the open) and read at most one byte past
    the limit, so a file that grows while it is read is still refused without reading it whole.
    """
    check_regular(path, name, MAX_FILE_BYTES, SIZE_HINT)
    flags = (
        os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    )
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _fail(name, f"cannot read: {exc.strerror}") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise _not_regular(opened.st_mode, name)
        chunks: list[bytes] = []
        remaining = MAX_FILE_BYTES + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 2**20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise _fail(name, f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > MAX_FILE_BYTES:
        raise _too_large(f"more than {MAX_FILE_BYTES:,}", name)
    return raw


def decode_text(raw: bytes, name: str) -> str:
    """UTF-8 text (a BOM is allowed) without NUL bytes, or a located refusal."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(name, "UTF-16 text; save the file as UTF-8")
    if b"\x00" in raw:
        raise _fail(name, "binary data, not a YAML text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _fail(name, f"not UTF-8 text (byte {exc.start}); save the file as UTF-8", line) from None


def parse_yaml(raw: bytes, name: str) -> Document:
    text = decode_text(raw, name)
    try:
        data, lines = _compose(text, name)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        mark_line = mark.line + 1 if mark is not None else None
        if "nesting depth" in str(exc.problem):  # libyaml ≥ 0.2.6 refuses deep nesting while scanning
            raise _fail(name, f"nesting too deep (limit {MAX_DEPTH} levels)", mark_line) from None
        raise _fail(name, f"YAML syntax error: {exc.problem or exc.context}", mark_line) from None
    except yaml.YAMLError as exc:
        raise _fail(name, f"YAML error: {exc}") from None
    if not isinstance(data, dict):
        raise _fail(name, "the top level must be a mapping of keys to values", lines.get((), 1))
    return Document(name, data, lines)


# YAML 1.2 core schema, stricter where 1.1 habits would mislead: `yes`, `on`, `1:30`, `012`,
# `0x1F`, `1_000` and dates stay strings (and a number field then refuses them by name).
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_SPECIAL_FLOAT = {
    ".inf": math.inf,
    ".Inf": math.inf,
    ".INF": math.inf,
    "+.inf": math.inf,
    "+.Inf": math.inf,
    "+.INF": math.inf,
    "-.inf": -math.inf,
    "-.Inf": -math.inf,
    "-.INF": -math.inf,
    ".nan": math.nan,
    ".NaN": math.nan,
    ".NAN": math.nan,
}
_MAYBE_TYPED = frozenset("0123456789+-.~nNtTfF")
_CORE = "tag:yaml.org,2002:"


def resolve_plain(value: str) -> Any:
    """A plain (unquoted) scalar under the YAML 1.2 core schema, as restricted above."""
    if not value:
        return None
    if value[0] not in _MAYBE_TYPED:
        return value
    if value in _NULL:
        return None
    if value in _BOOL:
        return _BOOL[value]
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    return _SPECIAL_FLOAT.get(value, value)


def _line(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 1


_TYPED: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "null": (type(None),),
}


def _scalar(event: yaml.ScalarEvent, name: str) -> Any:
    tag = event.tag
    if event.value and len(event.value) > MAX_SCALAR_CHARS:
        raise _fail(
            name,
            f"a value of {len(event.value):,} characters (limit {MAX_SCALAR_CHARS:,})",
            _line(event),
        )
    if tag is None:
        return resolve_plain(event.value) if event.implicit[0] else event.value
    if tag == "!":
        return event.value
    if tag == _CORE + "str":
        return event.value
    if tag in (_CORE + "int", _CORE + "float", _CORE + "bool", _CORE + "null"):
        value = resolve_plain(event.value)
        kinds = _TYPED[tag[len(_CORE) :]]
        if isinstance(value, kinds) and not (tag != _CORE + "bool" and isinstance(value, bool)):
            return float(cast(float, value)) if tag == _CORE + "float" else value
        raise _fail(name, f"{event.value!r} is not a valid {_short(tag)}", _line(event))
    raise _fail(name, f"YAML tag {_short(tag)} is not supported; write the value plainly", _line(event))


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


class _Frame:
    """An open mapping or sequence while the event stream is read."""

    __slots__ = ("container", "location", "key", "anchor", "size", "is_map")

    def __init__(self, container: Any, location: Location, anchor: str | None) -> None:
        self.container = container
        self.location = location
        self.key: str | None = None
        self.anchor = anchor
        self.size = 1
        self.is_map = isinstance(container, dict)


class _Composer:
    """Plain data from libyaml's event stream, built in one iterative pass.

    No recursion: a file nested 50,000 levels deep stops at `MAX_DEPTH` with its line, it cannot
    overflow a stack. An alias shares the anchored value and adds its expanded size to a count, so
    an alias bomb is refused by arithmetic before anything large exists. The line of every key and
    item is kept for the messages.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: dict[Location, int] = {}
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.documents = 0
        self.written = 0
        self.expanded = 0

    def run(self, text: str) -> tuple[Any, dict[Location, int]]:
        loader = FAST_LOADER(text)
        paused = gc.isenabled()
        gc.disable()  # millions of new containers, none in a cycle: collections would only cost
        try:
            self._loop(loader)
        finally:
            loader.dispose()
            if paused:
                gc.enable()
        if self.root is None and not self.lines:
            raise _fail(self.name, "file is empty", 1)
        return self.root, self.lines

    def _loop(self, loader: Any) -> None:
        """The hot path (plain keys and scalars) inline; everything else through `feed`."""
        stack, lines, name = self.stack, self.lines, self.name
        scalar_event, mapping_end = yaml.ScalarEvent, yaml.MappingEndEvent
        while loader.check_event():
            event = loader.get_event()
            kind = event.__class__
            top = stack[-1] if stack else None
            if top is not None and top.is_map and top.key is None and kind is not mapping_end:
                if kind is scalar_event and event.implicit[0] and event.tag is None:
                    key = event.value
                    if key not in top.container and len(key) <= MAX_KEY_CHARS and key != "<<":
                        self.written += 1
                        self.expanded += 1
                        top.size += 1
                        top.key = key
                        lines[(*top.location, key)] = _line(event)
                        continue
                self.key(event, top)
            elif kind is scalar_event and top is not None and event.anchor is None:
                value = event.value
                if event.tag is not None or len(value) > MAX_SCALAR_CHARS:
                    value = _scalar(event, name)
                elif event.implicit[0] and value and value[0] in _MAYBE_TYPED:
                    value = resolve_plain(value)
                self.written += 1
                self.expanded += 1
                top.size += 1
                if top.is_map:
                    top.container[top.key] = value
                    top.key = None
                else:
                    lines[(*top.location, len(top.container))] = _line(event)
                    top.container.append(value)
            else:
                self.feed(event)

    def feed(self, event: yaml.Event) -> None:
        stack = self.stack
        if (
            stack
            and stack[-1].is_map
            and stack[-1].key is None
            and not isinstance(event, yaml.MappingEndEvent)
        ):
            self.key(event, stack[-1])
        elif isinstance(event, yaml.ScalarEvent):
            self.written += 1
            value = _scalar(event, self.name)
            self.place(value, 1, _line(event))
            if event.anchor is not None:
                self.anchors[event.anchor] = (value, 1)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self.open(event)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            frame = stack.pop()
            self.expanded -= frame.size - 1  # its children were counted as they were placed
            self.place(frame.container, frame.size, self.lines.get(frame.location, 1))
            if frame.anchor is not None:
                self.anchors[frame.anchor] = (frame.container, frame.size)
        elif isinstance(event, yaml.AliasEvent):
            self.alias(event)
        elif isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise _fail(
                    self.name,
                    "more than one YAML document (---); put everything in one",
                    _line(event),
                )

    def fail(self, message: str, line: int, location: Location | None = None) -> InputError:
        return _fail(self.name, message, line, "" if location is None else field_name(location))

    def key(self, event: yaml.Event, top: _Frame) -> None:
        self.written += 1
        self.expanded += 1
        top.size += 1
        line = _line(event)
        if not isinstance(event, yaml.ScalarEvent):
            raise self.fail("a key must be a plain value, not a list, mapping or alias", line, top.location)
        key = event.value
        if len(key) > MAX_KEY_CHARS:
            raise self.fail(f"a key of {len(key):,} characters (limit {MAX_KEY_CHARS})", line, top.location)
        if key == "<<" and event.implicit[0]:
            raise self.fail("YAML merge keys (<<) are not supported; write the keys out", line, top.location)
        if key in top.container:
            raise self.fail(f"duplicate key {key!r}", line, (*top.location, key))
        top.key = key
        self.lines[(*top.location, key)] = line

    def open(self, event: yaml.MappingStartEvent | yaml.SequenceStartEvent) -> None:
        self.written += 1
        line = _line(event)
        if len(self.stack) >= MAX_DEPTH:
            raise self.fail(f"nesting too deep (limit {MAX_DEPTH} levels)", line)
        if event.tag is not None and event.tag not in ("!", _CORE + "map", _CORE + "seq"):
            raise self.fail(f"YAML tag {_short(event.tag)} is not supported; write the value plainly", line)
        location: Location = ()
        if self.stack:
            top = self.stack[-1]
            location = (*top.location, top.key if top.is_map and top.key is not None else len(top.container))
        self.lines.setdefault(location, line)
        container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
        self.stack.append(_Frame(container, location, event.anchor))

    def alias(self, event: yaml.AliasEvent) -> None:
        line = _line(event)
        anchor = event.anchor or ""
        if anchor not in self.anchors:
            if any(f.anchor == anchor for f in self.stack):
                raise self.fail(f"alias *{anchor} refers to the node that contains it", line)
            raise self.fail(f"alias *{anchor} names no anchor defined before it", line)
        value, size = self.anchors[anchor]
        self.place(value, size, line)

    def place(self, value: Any, size: int, line: int) -> None:
        """Put a finished value into the open container (or make it the root)."""
        self.expanded += size
        if self.expanded > MAX_NODES and self.expanded > EXPANSION * self.written:
            limit = max(MAX_NODES, EXPANSION * self.written)
            raise self.fail(
                f"the document expands to more than {limit:,} values "
                "(YAML aliases repeated too often, an alias bomb?)",
                line,
            )
        if not self.stack:
            self.root = value
            self.lines.setdefault((), line)
            return
        top = self.stack[-1]
        top.size += size
        if top.is_map:
            assert top.key is not None
            top.container[top.key] = value
            top.key = None
        else:
            self.lines[(*top.location, len(top.container))] = line
            top.container.append(value)


def _compose(text: str, name: str) -> tuple[Any, dict[Location, int]]:
    return _Composer(name).run(text)


# --------------------------------------------------------------------------- validation


_NUMBER_TYPES = {"float_type", "int_type", "float_parsing", "int_parsing", "int_from_float"}
_WORDS_NOT_NUMBERS = {"yes", "no", "on", "off", "y", "n", "true", "false"}


def _not_a_number(kind: str, given: object) -> str:
    """'should be a number' with what was written instead, and why it is not one."""
    want = "a whole number" if kind.startswith("int") else "a number"
    if isinstance(given, bool):
        return f"should be {want}, not {str(given).lower()}"
    if isinstance(given, float):
        return f"should be {want}, not {given!r}"
    if isinstance(given, str):
        hint = ""
        if given.lower() in _WORDS_NOT_NUMBERS:
            hint = " (a yes/no word is not a number)"
        elif re.fullmatch(r"[-+]?0[0-9]+", given):
            hint = " (write it without the leading zero)"
        elif re.fullmatch(r"[-+]?[0-9]+(:[0-5]?[0-9])+", given):
            hint = " (YAML 1.1's base-60 numbers are not read)"
        return f"should be {want}, not the text {given[:40]!r}{hint}"
    return f"should be {want}"


def _problems(doc: Document, error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        location = tuple(p for p in item["loc"] if isinstance(p, int | str) and p != "[key]")
        message = str(item["msg"])
        if "[key]" in item["loc"] and location:
            hint = did_you_mean(str(location[-1]), _KNOWN_FIELDS)
            message = f"unknown key{hint}; {message.replace('Input should be', 'expected')}"
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, FieldError):
            location, message = (*location, *cause.location), str(cause)
        if item["type"] == "extra_forbidden":
            last = location[-1] if location else ""
            message = "unknown field" + did_you_mean(str(last), _KNOWN_FIELDS)
        elif item["type"] == "missing":
            message = "required field is missing"
        elif item["type"] in ("tuple_type", "list_type"):
            message = "should be a list, such as [a, b]"
        elif item["type"] in ("model_type", "dict_type", "model_attributes_type"):
            message = "should be a mapping of keys to values"
        elif item["type"] in _NUMBER_TYPES:
            message = _not_a_number(item["type"], item.get("input"))
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        problems.append(doc.problem(location, message))
    return _first_problems(doc, problems)


def _first_problems(doc: Document, problems: list[Problem]) -> list[Problem]:
    """In file order, the first `MAX_PROBLEMS` and a count of the rest: the first few say what
    is wrong; 100,000 lines would not."""
    problems = sorted(problems, key=lambda p: (p.line or 0, p.field, p.message))
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        problems = problems[:MAX_PROBLEMS]
        problems.append(Problem(doc.path, None, "", f"... and {more:,} more problems of the same kinds"))
    return problems


def _validate(doc: Document, model: type[M]) -> M:
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(_problems(doc, exc)) from None


def load_catalog(path: Path | None = None) -> Catalog:
    """Load a catalog file, or the default catalog shipped in the package, completed with the
    shipped architecture table and fitted efficiency constants (inputs/shipped.py)."""
    return catalog_from_document(default_catalog_document() if path is None else read_yaml(path))


def catalog_from_document(doc: Document) -> Catalog:
    """Validate an already-parsed catalog document (errors located in its file), completed like
    every catalog with the shipped architecture table and fitted efficiencies."""
    from placement.inputs.shipped import complete

    return complete(doc)


def default_catalog_document() -> Document:
    shipped = resources.files("placement") / "catalogs" / DEFAULT_CATALOG
    if shipped.is_file():
        return parse_yaml(shipped.read_bytes(), f"<default catalog {DEFAULT_CATALOG}>")
    # Running from a source checkout (editable install): the repo's catalogs/ folder.
    return read_yaml(Path(__file__).resolve().parents[3] / "catalogs" / DEFAULT_CATALOG)


def shipped_catalog_paths() -> list[Path]:
    """The catalog files shipped with the package (inputs of every run that uses the default;
    `--out` never replaces them)."""
    folders = [
        Path(str(resources.files("placement") / "catalogs")),
        Path(__file__).resolve().parents[3] / "catalogs",
    ]
    return sorted({p for folder in folders if folder.is_dir() for p in folder.glob("*.yaml")})


def load_portfolio(path: Path, catalog: Catalog) -> Portfolio:
    """Load a workload file and check it against the catalog."""
    doc = read_yaml(path)
    portfolio = _validate(doc, Portfolio)
    problems = [doc.problem(loc, msg) for loc, msg in cross_check(portfolio, catalog)]
    if problems:
        raise InputError(_first_problems(doc, problems))
    return portfolio


def load_scenario(path: Path, portfolio: Portfolio, catalog: Catalog) -> Scenario:
    """Load a what-if overlay and check its references against the portfolio and catalog."""
    doc = read_yaml(path)
    scenario = _validate(doc, Scenario)
    problems = [doc.problem(loc, msg) for loc, msg in scenario_problems(scenario, portfolio, catalog)]
    if problems:
        raise InputError(_first_problems(doc, problems))
    return scenario


def load_plan_json(path: Path) -> dict[str, Any]:
    """A saved `placement plan --format json`, parsed and its structure checked, located by line.

    The same guards as YAML input (regular file, size, UTF-8, depth); JSON is YAML, so the
    composer gives every field its line, and `json` then checks it is strict JSON.
    """
    import json

    name = str(path)
    raw = read_bounded(path, name)
    text = decode_text(raw, name)
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise _fail(name, f"not valid JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        parse_yaml(raw, name)  # locates the nesting and refuses it
        raise _fail(name, f"nesting too deep (limit {MAX_DEPTH} levels)") from None
    except ValueError as exc:
        raise _fail(name, f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _fail(name, "not a plan: the top level must be a JSON object", 1)
    doc = parse_yaml(raw, name)  # every field's line; refuses nesting deeper than MAX_DEPTH
    missing = [
        key for key, field in SavedPlan.model_fields.items() if field.is_required() and key not in data
    ]
    if missing:
        raise _fail(name, f"not a plan from `placement plan --format json`: missing {', '.join(missing)}", 1)
    try:
        SavedPlan.model_validate(data)
    except ValidationError as exc:
        raise InputError(_problems(Document(name, data, doc.lines), exc)) from None
    return cast(dict[str, Any], data)


def _no_constant(word: str) -> None:
    raise ValueError(f"{word} is not a number JSON allows")
