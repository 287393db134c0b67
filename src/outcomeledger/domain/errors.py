"""Domain errors. Each carries enough to tell a person what to fix."""

from __future__ import annotations

from dataclasses import dataclass

#: The source of a problem with a value a command carries rather than a file's: the domain
#: names only the field; the command line shows it as the flag that gave the value.
COMMAND = "command"


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem with an input: where it is and what was expected."""

    source: str  # file name, "-" for stdin, COMMAND, or a command-line flag
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        if self.source == COMMAND and self.line is None:
            return f"{self.field}: {self.message}"
        if self.source.startswith("--") and self.line is None:
            return f"{self.source}: {self.message}"  # the flag names the field
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.field}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.source, "line": self.line, "field": self.field,
                "message": self.message}


class LedgerError(Exception):
    """Base class: a command was refused and nothing was written."""


class InvalidInput(LedgerError):
    """One or more problems in an input file or flags; collects every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Refused(LedgerError):
    """A command that the contract's history does not allow (closed, outside term...).

    ``field`` names what a row of a file would have to change (the ``provider`` a provider
    may not return for); a refusal of the contract as a whole leaves it ``contract``.
    """

    def __init__(self, message: str, field: str = "contract") -> None:
        super().__init__(message)
        self.field = field


class UnknownContract(LedgerError):
    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(f"no contract with reference {reference!r} in this ledger")


class ConcurrencyExhausted(LedgerError):
    """Optimistic-concurrency retries ran out; nothing was written."""
