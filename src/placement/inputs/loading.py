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

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

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
    Scenario,
    Settings,
    Source,
    Workload,
    WorkloadOverlay,
    cross_check,
    did_you_mean,
    scenario_problems,
)

M = TypeVar("M", bound=BaseModel)

MAX_FILE_BYTES = 16 * 2**20
MAX_NODES = 200_000
EXPANSION = 2
FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 64
DEFAULT_CATALOG = "aws-us-east-1.yaml"

_KNOWN_FIELDS = sorted(
    {
        name
        for model in (
            Portfolio,
            Policy,
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
    try:
        info = path.stat()
    except FileNotFoundError:
        raise _fail(name, "no such file") from None
    except OSError as exc:
        raise _fail(name, f"cannot read: {exc.strerror}") from None
    if not path.is_file():
        raise _fail(name, "not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise _fail(
            name,
            f"file too large: {info.st_size:,} bytes (limit {MAX_FILE_BYTES:,}); "
            "10,000 workloads take about 2.5 MB",
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(name, f"cannot read: {exc.strerror}") from None
    return parse_yaml(raw, name)


def parse_yaml(raw: bytes, name: str) -> Document:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(name, "UTF-16 text; save the file as UTF-8")
    if b"\x00" in raw:
        raise _fail(name, "binary data, not a YAML text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _fail(name, f"not UTF-8 text (byte {exc.start}); save the file as UTF-8", line) from None
    try:
        try:
            root = yaml.compose(text, Loader=FAST_LOADER)
        except (yaml.YAMLError, RecursionError):
            root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        mark_line = mark.line + 1 if mark is not None else None
        raise _fail(name, f"YAML syntax error: {exc.problem or exc.context}", mark_line) from None
    except yaml.YAMLError as exc:
        raise _fail(name, f"YAML error: {exc}") from None
    except RecursionError:
        raise _fail(name, f"nesting too deep (limit {MAX_DEPTH} levels)") from None
    if root is None:
        raise _fail(name, "file is empty", 1)
    _check_size(root, name)
    if not isinstance(root, yaml.MappingNode):
        raise _fail(name, "the top level must be a mapping of keys to values", root.start_mark.line + 1)
    lines: dict[Location, int] = {(): root.start_mark.line + 1}
    data = _build(root, (), lines, name)
    assert isinstance(data, dict)  # root is a MappingNode
    return Document(name, data, lines)


def _check_size(root: yaml.Node, name: str) -> None:
    """Refuse alias bombs and deep nesting by counting the expanded graph, memoised per node."""
    limit = max(MAX_NODES, EXPANSION * _distinct_nodes(root))
    expanded: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, children_done = stack.pop()
        if depth > MAX_DEPTH:
            raise _fail(name, f"nesting too deep (limit {MAX_DEPTH} levels)", node.start_mark.line + 1)
        if id(node) in expanded:
            continue
        kids = _children(node)
        if children_done or not kids:
            total = 1 + sum(expanded.get(id(k), 1) for k in kids)
            if total > limit:
                raise _fail(
                    name,
                    f"the document expands to more than {limit:,} values "
                    "(YAML aliases repeated too often, an alias bomb?)",
                    node.start_mark.line + 1,
                )
            expanded[id(node)] = total
            continue
        stack.append((node, depth, True))
        stack.extend((k, depth + 1, False) for k in kids if id(k) not in expanded)


def _distinct_nodes(root: yaml.Node) -> int:
    """Nodes as written: an alias counts once, however often it is used."""
    seen = {id(root)}
    stack = [root]
    while stack:
        for kid in _children(stack.pop()):
            if id(kid) not in seen:
                seen.add(id(kid))
                stack.append(kid)
    return len(seen)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


_SCALARS = yaml.constructor.SafeConstructor()
_TYPED_TAGS = {
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


def _build(node: yaml.Node, location: Location, lines: dict[Location, int], name: str) -> Any:
    if isinstance(node, yaml.ScalarNode):
        if node.tag in _TYPED_TAGS:
            return _SCALARS.construct_object(node)
        return str(node.value)  # strings, and dates kept as written
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, child in enumerate(node.value):
            lines[(*location, index)] = child.start_mark.line + 1
            items.append(_build(child, (*location, index), lines, name))
        return items
    if isinstance(node, yaml.MappingNode):
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise _fail(
                    name, "a key must be a plain value, not a list or mapping", line, field_name(location)
                )
            key = str(key_node.value)
            if key == "<<":
                raise _fail(
                    name,
                    "YAML merge keys (<<) are not supported; write the keys out",
                    line,
                    field_name(location),
                )
            if key in mapping:
                raise _fail(name, f"duplicate key {key!r}", line, field_name((*location, key)))
            lines[(*location, key)] = line
            mapping[key] = _build(value_node, (*location, key), lines, name)
        return mapping
    raise _fail(name, "unsupported YAML node", node.start_mark.line + 1)


# --------------------------------------------------------------------------- validation


def _problems(doc: Document, error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        location = tuple(p for p in item["loc"] if isinstance(p, int | str))
        message = str(item["msg"])
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
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        problems.append(doc.problem(location, message))
    return sorted(problems, key=lambda p: (p.line or 0, p.field, p.message))


def _validate(doc: Document, model: type[M]) -> M:
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(_problems(doc, exc)) from None


def load_catalog(path: Path | None = None) -> Catalog:
    """Load a catalog file, or the default catalog shipped in the package."""
    if path is None:
        return _validate(default_catalog_document(), Catalog)
    return _validate(read_yaml(path), Catalog)


def catalog_from_document(doc: Document) -> Catalog:
    """Validate an already-parsed catalog document (errors located in its file)."""
    return _validate(doc, Catalog)


def default_catalog_document() -> Document:
    shipped = resources.files("placement") / "catalogs" / DEFAULT_CATALOG
    if shipped.is_file():
        return parse_yaml(shipped.read_bytes(), f"<default catalog {DEFAULT_CATALOG}>")
    # Running from a source checkout (editable install): the repo's catalogs/ folder.
    return read_yaml(Path(__file__).resolve().parents[3] / "catalogs" / DEFAULT_CATALOG)


def load_portfolio(path: Path, catalog: Catalog) -> Portfolio:
    """Load a workload file and check it against the catalog."""
    doc = read_yaml(path)
    portfolio = _validate(doc, Portfolio)
    problems = sorted(
        (doc.problem(loc, msg) for loc, msg in cross_check(portfolio, catalog)),
        key=lambda p: (p.line or 0, p.field),
    )
    if problems:
        raise InputError(problems)
    return portfolio


def load_scenario(path: Path, portfolio: Portfolio, catalog: Catalog) -> Scenario:
    """Load a what-if overlay and check its references against the portfolio and catalog."""
    doc = read_yaml(path)
    scenario = _validate(doc, Scenario)
    problems = [doc.problem(loc, msg) for loc, msg in scenario_problems(scenario, portfolio, catalog)]
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.line or 0, p.field)))
    return scenario


def load_plan_json(path: Path) -> dict[str, Any]:
    """A saved `placement plan --format json`, parsed; structure problems located by line."""
    import json

    doc_text = read_bytes_checked(path)
    try:
        data = json.loads(doc_text)
    except json.JSONDecodeError as exc:
        raise _fail(str(path), f"not valid JSON: {exc.msg}", exc.lineno) from None
    required = (
        "schema_version",
        "catalog",
        "total_usd",
        "compute_usd",
        "migration_usd",
        "placements",
        "migrations",
        "capacity",
    )
    if not isinstance(data, dict):
        raise _fail(str(path), "not a plan: the top level must be a JSON object", 1)
    missing = [key for key in required if key not in data]
    if missing:
        raise _fail(
            str(path), f"not a plan from `placement plan --format json`: missing {', '.join(missing)}", 1
        )
    try:
        for p in data["placements"]:
            for key, kind in (
                ("workload", str),
                ("option", str),
                ("family", str),
                ("share", (int, float)),
                ("instances", int),
                ("compute_usd", (int, float)),
            ):
                if not isinstance(p[key], kind):
                    raise TypeError(key)
        for m in data["migrations"]:
            _ = (str(m["codebase"]), str(m["family"]), float(m["usd"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail(str(path), f"a placement or migration entry is malformed ({exc})", 1) from None
    return data


def read_bytes_checked(path: Path) -> str:
    """A text file's content with the same guards as YAML input (exists, size, UTF-8, no NUL)."""
    name = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _fail(name, "no such file") from None
    except OSError as exc:
        raise _fail(name, f"cannot read: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise _fail(name, f"file too large: {size:,} bytes (limit {MAX_FILE_BYTES:,})")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise _fail(name, "binary data, not a text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(name, f"not UTF-8 text (byte {exc.start})", raw[: exc.start].count(b"\n") + 1) from None
