"""One error root for everything `placement` reports to a user.

The CLI catches `PlacementError` once and maps each subclass to a documented exit code:
0 ok, 1 no feasible plan (`InfeasibleError`, `SolverError`) or a plan that fails verification,
2 bad input (`InputError`), 3 internal error.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0  # also: `placement verify` found the plan holds
EXIT_NO_PLAN = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


class PlacementError(Exception):
    """Root of every expected failure."""

    exit_code = EXIT_INTERNAL


@dataclass(frozen=True)
class Problem:
    """One located mistake in an input file: renders as `file:line: field: message`."""

    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class InputError(PlacementError):
    """Bad input: one or more located problems."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def __reduce__(self) -> tuple[type[InputError], tuple[list[Problem]]]:  # crosses process pools
        return (type(self), (self.problems,))


class InfeasibleError(PlacementError):
    """No plan satisfies the constraints; `reasons` say why in the user's terms."""

    exit_code = EXIT_NO_PLAN

    def __init__(self, headline: str, reasons: list[str]) -> None:
        self.headline = headline
        self.reasons = reasons
        super().__init__("\n".join([headline, *("  - " + r for r in reasons)]))

    def __reduce__(self) -> tuple[type[InfeasibleError], tuple[str, list[str]]]:
        return (type(self), (self.headline, self.reasons))


class SolverError(PlacementError):
    """The solver stopped without a usable plan (time limit with no incumbent, numerical trouble)."""

    exit_code = EXIT_NO_PLAN


class VerificationError(PlacementError):
    """A plan failed its independent check (`verify.py`)."""

    exit_code = EXIT_NO_PLAN

    def __init__(self, headline: str, problems: list[str]) -> None:
        self.headline = headline
        self.problems = problems
        super().__init__("\n".join([headline, *("  - " + p for p in problems)]))

    def __reduce__(self) -> tuple[type[VerificationError], tuple[str, list[str]]]:
        return (type(self), (self.headline, self.problems))


class OutputError(PlacementError):
    """The result could not be written where asked (would overwrite an input, unwritable path)."""

    exit_code = EXIT_BAD_INPUT
