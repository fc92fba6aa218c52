"""Mutated price files and FOCUS bills always end cleanly: a result or an InputError with a located
message, never another exception (seeded, 120 cases per file)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from placement.errors import InputError
from placement.inputs.focus import read_focus
from placement.inputs.prices import read_price_file
from tests.conftest import ROOT

FILES = [
    ROOT / "tests" / "fixtures" / "prices" / "ec2-offer-excerpt.json",
    ROOT / "tests" / "fixtures" / "prices" / "ec2-offer-excerpt.csv",
    ROOT / "tests" / "fixtures" / "prices" / "savings-plans-excerpt.json",
    ROOT / "tests" / "fixtures" / "prices" / "capacity-blocks-excerpt.json",
    ROOT / "tests" / "fixtures" / "focus" / "aws-focus-1.0.csv",
    ROOT / "tests" / "fixtures" / "focus" / "aws-focus-1.2.csv",
]
NASTY = [
    b"",
    b"\x00",
    b"\xff",
    b'"',
    b",",
    b"\n",
    b"{",
    b"}",
    b"[",
    b"nan",
    b"-1e999",
    b"\xc3",
    b"\r\n",
    b":",
]


def mutate(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(data))
        kind = rng.random()
        if kind < 0.4:
            data[at : at + rng.randint(1, 3)] = rng.choice(NASTY)
        elif kind < 0.7:
            del data[at : at + rng.randint(1, 40)]
        else:
            cut = rng.randrange(len(data))
            data[cut:] = b""
            if not data:
                data = bytearray(b"x")
    return bytes(data)


@pytest.mark.parametrize("source", FILES, ids=lambda p: p.name)
def test_mutated_finance_files_end_cleanly(source: Path, tmp_path: Path) -> None:
    rng = random.Random(source.name)
    raw = source.read_bytes()
    target = tmp_path / source.name
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(120):
        target.write_bytes(mutate(raw, rng))
        try:
            if "focus" in source.name:
                read_focus(target)
            else:
                read_price_file(target, None, None, "2026-11-20")
            outcomes["ok"] += 1
        except InputError as exc:
            outcomes["refused"] += 1
            assert all(p.path == str(target) and p.message for p in exc.problems)
    assert outcomes["refused"] > 0  # the mutations do hit the guards
