"""Returns files (DESIGN 4.3): rows -> one return per (contract, period, provider).

Rows are checked as they stream past and every problem is collected, each reported
as ``FILE:LINE: field: message``. A return's figures are held compactly (a value, a
line number and a key per row) until the ledger decides them: a file of millions of
rows costs tens of bytes per row, and a :class:`~outcomeledger.events.Figure` is built
only when its return is decided.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ..commands import SubmitReturn
from ..errors import Problem
from ..events import Figure, Source
from .rows import Format, Table, is_blank, read_table
from .sources import bytes_input

REQUIRED = ("contract", "period", "outcome", "value")
OPTIONAL = ("provider", "participant", "achieved_on", "evidence")

#: (contract, period, provider): the rows of one return.
ReturnKey = tuple[str, str, str]
#: outcome for an aggregate figure, (outcome, participant) for a participant's.
FigureKey = str | tuple[str, str]

# Plain ASCII decimals only: Decimal() itself would also take "1_000", "١٢" or "NaN".
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CACHED_VALUES = 4096  # distinct value strings parsed once (counts repeat endlessly)


class Return:
    """The figures of one return, held compactly until it is decided."""

    __slots__ = ("contract", "details", "keys", "lines", "period", "provider", "values")

    def __init__(self, key: ReturnKey) -> None:
        self.contract, self.period, self.provider = key
        self.keys: dict[FigureKey, int] = {}  # -> position in values and lines
        self.values: list[Decimal] = []
        self.lines = array("q")
        self.details: dict[int, tuple[date | None, str]] = {}  # achieved_on, evidence

    @property
    def first_line(self) -> int:
        return self.lines[0]

    def line_of(self, key: FigureKey) -> int:
        return self.lines[self.keys[key]]

    def value_of(self, key: FigureKey) -> Decimal:
        return self.values[self.keys[key]]

    def figures(self) -> tuple[Figure, ...]:
        # Keys, values and lines were appended together, so they line up position by
        # position (insertion order is dict order).
        rows = zip(self.keys, self.values, self.lines, strict=True)
        if not self.details:
            return tuple(Figure(outcome=key, value=value, line=line) if isinstance(key, str)
                         else Figure(outcome=key[0], value=value, participant=key[1],
                                     line=line)
                         for key, value, line in rows)
        out = []
        for i, (key, value, line) in enumerate(rows):
            outcome, participant = (key, "") if isinstance(key, str) else key
            achieved_on, evidence = self.details.get(i, (None, ""))
            out.append(Figure(outcome=outcome, value=value, participant=participant,
                              achieved_on=achieved_on, evidence=evidence, line=line))
        return tuple(out)

    def command(self, source: Source, *, restate: bool, reason: str) -> SubmitReturn:
        return SubmitReturn(period=self.period, provider=self.provider,
                            figures=self.figures(), source=source, restate=restate,
                            reason=reason)


@dataclass
class ReturnsFile:
    """One parsed returns file: its returns, row count and non-blocking warnings."""

    name: str
    returns: dict[ReturnKey, Return] = field(default_factory=dict)
    rows: int = 0
    warnings: list[Problem] = field(default_factory=list)


def read_returns(table: Table, name: str, problems: list[Problem]) -> ReturnsFile:
    """Group the rows of ``table`` into returns; row problems go to ``problems``."""
    parsed = ReturnsFile(name)
    if not table.columns:
        return parsed
    column = {c: i for i, c in enumerate(table.columns)}
    i_contract, i_period, i_outcome, i_value = (column[c] for c in REQUIRED)
    i_provider, i_participant, i_achieved, i_evidence = (column.get(c, -1) for c in OPTIONAL)
    detailed = i_achieved >= 0 or i_evidence >= 0
    returns = parsed.returns
    values: dict[str, Decimal] = {}
    outcomes: dict[str, str] = {}  # one string object per outcome code, not one per row
    current: Return | None = None
    rows = 0
    # The loop below runs once per row of files with millions of rows: the common case
    # (a value seen before, no optional details) takes the fewest steps.
    for line, cells in table.rows:
        rows += 1
        contract = cells[i_contract].strip()
        period = cells[i_period].strip()
        outcome = cells[i_outcome].strip()
        text = cells[i_value].strip()
        provider = cells[i_provider].strip() if i_provider >= 0 else ""
        participant = cells[i_participant].strip() if i_participant >= 0 else ""
        value = values.get(text)
        details: tuple[date | None, str] | None = None
        if value is None or not (contract and period and outcome) or detailed:
            checked = _check_row(name, line, cells, contract, period, outcome, text,
                                 i_achieved, i_evidence, problems)
            if checked is None:
                if is_blank(cells):
                    rows -= 1  # a row of empty cells (spreadsheet residue) is a blank line
                continue
            value, details = checked
            if len(values) < _CACHED_VALUES:
                values[text] = value
        if (current is None or contract != current.contract or period != current.period
                or provider != current.provider):
            key = (contract, period, provider)
            current = returns.get(key)
            if current is None:
                current = returns[key] = Return(key)
        outcome = outcomes.setdefault(outcome, outcome)
        fkey: FigureKey = (outcome, participant) if participant else outcome
        position = current.keys.get(fkey)
        if position is not None:
            _repeated(parsed, current, position, line, fkey, value, problems)
            continue
        position = current.keys[fkey] = len(current.values)
        current.values.append(value)
        current.lines.append(line)
        if details is not None and details != (None, ""):
            current.details[position] = details
    parsed.rows = rows
    return parsed


def _check_row(name: str, line: int, cells: list[str], contract: str, period: str,
               outcome: str, text: str, i_achieved: int, i_evidence: int,
               problems: list[Problem]) -> tuple[
                   Decimal, tuple[date | None, str]] | None:
    """The value and details of a row, or None when it has problems (all recorded)."""
    if is_blank(cells):
        return None
    before = len(problems)
    for column, given in (("contract", contract), ("period", period), ("outcome", outcome)):
        if not given:
            problems.append(Problem(name, line, column, "missing (expected a value)"))
    value = Decimal(0)
    if not text:
        problems.append(Problem(name, line, "value", "missing (expected a number)"))
    elif not _NUMBER.fullmatch(text):
        problems.append(Problem(name, line, "value", f"not a finite number (got {text!r}, "
                                "expected a decimal like 12 or 3.5)"))
    else:
        value = Decimal(text)
    achieved: date | None = None
    raw_date = cells[i_achieved].strip() if i_achieved >= 0 else ""
    if raw_date:
        try:
            if not _ISO_DATE.fullmatch(raw_date):
                raise ValueError(raw_date)
            achieved = date.fromisoformat(raw_date)
        except ValueError:
            problems.append(Problem(name, line, "achieved_on", f"not a date (got "
                                    f"{raw_date!r}, expected YYYY-MM-DD)"))
    evidence = cells[i_evidence].strip() if i_evidence >= 0 else ""
    if len(problems) > before:
        return None
    return value, (achieved, evidence)


def _repeated(parsed: ReturnsFile, ret: Return, position: int, line: int, key: FigureKey,
              value: Decimal, problems: list[Problem]) -> None:
    """A second row for a figure: an error when the value differs, else a warning."""
    first_line, first_value = ret.lines[position], ret.values[position]
    what = key if isinstance(key, str) else f"{key[0]} for {key[1]}"
    where = f"{ret.contract} {ret.period}{' ' + ret.provider if ret.provider else ''}"
    if value != first_value:
        problems.append(Problem(parsed.name, line, "value", f"{what} in {where} appears "
                                f"twice with different values (got {value}, expected "
                                f"{first_value} as on line {first_line}, or one row only)"))
    else:
        parsed.warnings.append(Problem(parsed.name, line, "row", f"repeats line {first_line} "
                                       f"({what} in {where} = {value}); counted once"))


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A whole returns file parsed in memory (small inputs and tests)."""

    source: Source
    rows: int
    commands: dict[ReturnKey, SubmitReturn]


def parse_returns(data: bytes, name: str, fmt: Format, problems: list[Problem], *,
                  restate: bool = False, reason: str = "") -> ParsedFile:
    """Parse the bytes of a returns file into one SubmitReturn per return."""
    source_input = bytes_input(name, data)
    table = read_table(source_input.stream, name, fmt, REQUIRED, OPTIONAL, problems)
    parsed = read_returns(table, name, problems)
    source = Source(file=name, sha256=source_input.finish())
    commands = {key: ret.command(source, restate=restate, reason=reason)
                for key, ret in parsed.returns.items()}
    return ParsedFile(source, parsed.rows, commands)
