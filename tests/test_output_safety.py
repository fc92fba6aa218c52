"""Property: every output format keeps its structure whatever the names hold (Hypothesis).

Names are drawn from characters that mean something to CSV, Markdown, spreadsheets, shells and
JSON (the input models already refuse control and invisible characters in names); the plan's
label, which is the workload file's name and reaches every heading, is drawn from those plus
terminal control, bidirectional and line-separator characters. Checked: CSV parses back to the
same columns with every name in its cell (a would-be formula behind an apostrophe); every
Markdown table, in the plan and in the memo, keeps its column count; JSON parses and gives back
every name and the label exactly; no text, Markdown, CSV or memo output carries a character
that could drive a terminal or reorder a line.
"""

from __future__ import annotations

import csv
import io
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from placement.analyses.scenarios import shocks_for
from placement.analyses.sensitivity import price_of_portability, vendor_claims
from placement.engine.optimizer import SolveSettings
from placement.engine.planner import make_plan
from placement.inputs.models import Name, name_key
from placement.render.memo import MemoInputs, render_memo
from placement.render.report import CSV_COLUMNS, render_csv, render_json, render_markdown, render_table
from placement.render.text import csv_cell, md_cell
from tests.conftest import inference, make_catalog, make_portfolio, option

MEANINGFUL = list("|=+-@,;\"'`*_#<>[](){}\\$%!?~^&: .→€1aZe") + ["\u00e9", "\u0301", "\ufb01"]
CONTROL = ["\x1b", "\x9b", "\x7f", "\x00", "\r", "\n", "\t", "\u202e", "\u2066", "\u2028", "\u2029", "\u200b"]
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
NAME = TypeAdapter(Name)


def _valid(text: str) -> bool:
    try:
        NAME.validate_python(text)
    except ValidationError:
        return False
    return True


names = st.text(st.sampled_from(MEANINGFUL), min_size=1, max_size=10).filter(_valid).map(NAME.validate_python)
# (an NFC-normalised name is what the models keep: `e` + U+0301 becomes `é`)
labels = st.text(st.sampled_from(MEANINGFUL + CONTROL), min_size=1, max_size=12)
SAFETY = settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def _markdown_tables_keep_their_columns(text: str) -> None:
    block: list[int] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(len(re.findall(r"(?<!\\)\|", line)))
            continue
        assert len(set(block)) <= 1, f"a Markdown table lost its shape: {block}"
        block = []


def _distinct(values: list[str]) -> bool:
    return len({name_key(v) for v in values}) == len(values)


@SAFETY
@given(
    workloads=st.lists(names, min_size=2, max_size=2).filter(_distinct),
    options=st.lists(names, min_size=2, max_size=2).filter(_distinct),
    label=labels,
)
def test_every_format_keeps_its_structure(workloads: list[str], options: list[str], label: str) -> None:
    catalog = make_catalog([option(options[0], "gpu"), option(options[1], "inferentia", usd_per_hour=4.0)])
    portfolio = make_portfolio([inference(n) for n in workloads])
    plan = make_plan(portfolio, catalog, label, SolveSettings())

    table = render_table(plan)
    markdown = render_markdown(plan)
    for text in (table, markdown):
        assert not UNSAFE.search(text)
    assert all(n in table for n in workloads)
    assert all(md_cell(n) in markdown for n in workloads)  # as an escaped cell: `1|` is `1\|`
    _markdown_tables_keep_their_columns(markdown)

    data = json.loads(render_json(plan))
    assert data["portfolio"] == label
    assert sorted(p["workload"] for p in data["placements"]) == sorted(workloads)

    text = render_csv(plan)
    assert not UNSAFE.search(text.replace("\n", ""))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == CSV_COLUMNS and {len(r) for r in rows} == {len(CSV_COLUMNS)}
    assert sorted(r[0] for r in rows[1:]) == sorted(str(csv_cell(n)) for n in workloads)
    assert all(not r[0].startswith(("=", "@")) for r in rows[1:])


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(workloads=st.lists(names, min_size=2, max_size=2).filter(_distinct), label=labels)
def test_the_memo_keeps_its_structure(workloads: list[str], label: str) -> None:
    catalog = make_catalog([option("gpu.one", "gpu"), option("inf.one", "inferentia", usd_per_hour=4.0)])
    portfolio = make_portfolio([inference(n) for n in workloads])
    plan = make_plan(portfolio, catalog, label, SolveSettings())
    memo = render_memo(
        MemoInputs(
            portfolio,
            catalog,
            label,
            plan,
            shocks_for(plan, portfolio, catalog, label, SolveSettings()),
            tuple(price_of_portability(portfolio, catalog, SolveSettings())),
            tuple(vendor_claims(catalog)),
            None,
        )
    )
    assert not UNSAFE.search(memo)
    assert all(md_cell(n) in memo for n in workloads)
    _markdown_tables_keep_their_columns(memo)
