"""Mutated examples always end cleanly: exit 0, 1 or 2, no exception, well-formed messages."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placement.cli import app
from tests.conftest import ROOT

HOSTILE_VALUES = [
    "-1",
    "0",
    "1e400",
    ".nan",
    "-.inf",
    "'x'",
    "[]",
    "{}",
    "~",
    "999999999999",
    "*a",
    "&a x",
    "!!python/object:os.system",
    "ü",
    "yes",
    "0x1F",
    "1_000",
    '"\\x00"',
]
HOSTILE_CHARS = [":", "-", "[", "{", "'", '"', "\t", "0", "a", "&", "*", "!", "#", "|", ">", "%", "@", "`"]
LOCATED = re.compile(r"^\S.*?(:\d+)?: .+$")


def mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    kind = rng.randrange(5)
    index = rng.randrange(len(lines))
    if kind == 0:
        del lines[index]
    elif kind == 1:
        lines.insert(index, lines[index])
    elif kind == 2 and lines[index]:
        position = rng.randrange(len(lines[index]))
        lines[index] = lines[index][:position] + rng.choice(HOSTILE_CHARS) + lines[index][position + 1 :]
    elif kind == 3:
        value = rng.choice(HOSTILE_VALUES)
        lines[index] = re.sub(r"(?<=: )[^,}\n]+", lambda _: value, lines[index], count=1)
    else:
        return text[: rng.randrange(len(text))]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "example,count", [("startup.yaml", 40), ("frontier-lab.yaml", 20), ("enterprise.yaml", 8)]
)
def test_mutated_examples_end_cleanly(example: str, count: int, tmp_path: Path) -> None:
    source = (ROOT / "examples" / example).read_text()
    rng = random.Random(example)
    seen = {0: 0, 1: 0, 2: 0}
    for attempt in range(count):
        text = source
        for _ in range(rng.randint(1, 3)):
            text = mutate(text, rng)
        target = tmp_path / f"m{attempt}.yaml"
        target.write_text(text)
        result = CliRunner().invoke(app, ["plan", str(target), "--time-limit", "5"])
        context = f"mutation {attempt} of {example}:\n{text}\nstderr:\n{result.stderr}"
        assert result.exception is None or isinstance(result.exception, SystemExit), context
        assert result.exit_code in seen, context
        assert "Traceback" not in result.stderr, context
        seen[result.exit_code] += 1
        if result.exit_code == 2:
            assert all(LOCATED.match(line) for line in result.stderr.splitlines()), context
        elif result.exit_code == 1:
            assert result.stderr.startswith(("no plan:", "placement: the solver")), context
    # the mutations reach the error path, and (with enough of them) the happy path too
    assert seen[2] > 0 and (seen[0] > 0 or count < 10), seen
