"""Returns files (DESIGN 4.3): rows -> one return per (contract, period, provider).

Rows are checked as they stream past and every problem is collected, each reported
as ``FILE:LINE: field: message``. A return's figures are held compactly (a value, a
line number and a key per row) until the ledger decides them: a file of millions of
rows costs tens of bytes per row, and a :class:`~outcomeledger.domain.events.Figure` is built
only when its return is decided.

:func:`read_returns` stays one function, longer than a screen: its loop runs once per row
of files of millions of rows, with its state (the current return, its lists, the caches)
in locals; split into steps, every row would pay for the calls and lookups between them
(``import_rows_per_s`` in bench/).
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import repeat

from ..domain.commands import Command, SubmitReturn
from ..domain.errors import Problem
from ..domain.events import Figure, Source
from ..domain.text_checks import is_negative_zero
from .rows import Format, read_table
from .sources import bytes_input
from .table import Table, is_blank

REQUIRED = ("contract", "period", "outcome", "value")
OPTIONAL = ("provider", "participant", "achieved_on", "evidence")

#: (contract, period, provider): the rows of one return.
ReturnKey = tuple[str, str, str]
#: outcome for an aggregate figure, (outcome, participant) for a participant's.
FigureKey = str | tuple[str, str]

# Plain ASCII decimals only: Decimal() itself would also take "1_000", "١٢" or "NaN"
# (and without re.ASCII, \d matches "١٢" and "５" too).
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_CACHED_VALUES = 4096  # distinct value strings parsed once (counts repeat endlessly)


class Return:
    """The figures of one return, held compactly until it is decided."""

    __slots__ = ("by_participant", "contract", "details", "dropped", "keys", "lines", "period",
                 "provider", "values")

    def __init__(self, key: ReturnKey) -> None:
        self.contract, self.period, self.provider = key
        self.keys: dict[FigureKey, int] = {}  # -> position in values and lines
        self.values: list[Decimal] = []
        self.lines = array("q")
        # Rare, so made on first use: an empty dict or set per return would cost more
        # than the return's figures in a large aggregate import.
        self.details: dict[int, tuple[date | None, str]] | None = None  # achieved_on, evidence
        self.dropped: set[FigureKey] | None = None  # already refused: not decided again
        self.by_participant = False  # some key is (outcome, participant)

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
        if not self.details and not self.dropped and not self.by_participant:
            # Aggregate counts, the bulk of a large import: Figure(outcome, value, "",
            # None, "", line) made by map, without a Python step per figure.
            return tuple(map(Figure, self.keys, self.values, repeat(""), repeat(None),
                             repeat(""), self.lines))
        rows = zip(self.keys, self.values, self.lines, strict=True)
        if not self.details and not self.dropped:
            # Positional arguments (outcome, value, participant, achieved_on, evidence,
            # line): a million figures are built this way in a large import.
            return tuple([Figure(key, value, "", None, "", line) if isinstance(key, str)
                          else Figure(key[0], value, key[1], None, "", line)
                          for key, value, line in rows])
        out = []
        details, dropped = self.details or {}, self.dropped or set()
        for position, (key, value, line) in enumerate(rows):
            if key in dropped:
                continue
            outcome, participant = (key, "") if isinstance(key, str) else key
            achieved_on, evidence = details.get(position, (None, ""))
            out.append(Figure(outcome=outcome, value=value, participant=participant,
                              achieved_on=achieved_on, evidence=evidence, line=line))
        return tuple(out)

    def absorb(self, later: Return) -> bool:
        """Take the figures of ``later``, the same return read from rows further down the
        file; False, changing nothing, when the two share a figure (a repeated row,
        which only a reading of the whole file reports as it must)."""
        if later.dropped or not self.keys.keys().isdisjoint(later.keys):
            return False
        offset = len(self.values)
        for key, position in later.keys.items():
            self.keys[key] = offset + position
        self.values.extend(later.values)
        self.lines.extend(later.lines)
        self.by_participant |= later.by_participant
        if later.details:
            if self.details is None:
                self.details = {}
            for position, details in later.details.items():
                self.details[offset + position] = details
        return True

    def drop(self, key: FigureKey) -> None:
        if self.dropped is None:
            self.dropped = set()
        self.dropped.add(key)

    def command(self, source: Source, *, restate: bool, reason: str) -> SubmitReturn:
        return SubmitReturn(period=self.period, provider=self.provider,
                            figures=self.figures(), source=source, restate=restate,
                            reason=reason)


def _submit(ret: Return, source: Source, restate: bool, reason: str) -> Command:
    return ret.command(source, restate=restate, reason=reason)


@dataclass(frozen=True, slots=True)
class Columns:
    """What a file of figures holds, for the one reader of returns (DESIGN 4.3) and of
    costs (DESIGN 11, ``imports.costs``): rows of ``contract`` and ``period``, a figure
    named by the ``key`` column with its number in the ``value`` column, grouped into one
    command per (contract, period, provider) by ``command``."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    key: str
    value: str
    command: Callable[[Return, Source, bool, str], Command]
    #: Whether a row repeating another exactly is counted once, with a warning (returns:
    #: a figure is a count of people, given twice by mistake); else it is refused.
    repeats_counted: bool = True


RETURNS = Columns(REQUIRED, OPTIONAL, "outcome", "value", _submit)


@dataclass
class ReturnsFile:
    """One parsed returns file: its returns, row count and non-blocking warnings."""

    name: str
    returns: dict[ReturnKey, Return] = field(default_factory=dict)
    rows: int = 0
    warnings: list[Problem] = field(default_factory=list)
    columns: Columns = RETURNS


def read_returns(table: Table, name: str, problems: list[Problem],
                 columns: Columns = RETURNS) -> ReturnsFile:
    """Group the rows of ``table`` into returns; row problems go to ``problems``."""
    parsed = ReturnsFile(name, columns=columns)
    if not table.columns:
        return parsed
    column = {c: i for i, c in enumerate(table.columns)}
    i_contract, i_period, i_outcome, i_value = (
        column[c] for c in ("contract", "period", columns.key, columns.value))
    i_provider, i_participant = column.get("provider", -1), column.get("participant", -1)
    detailed = "achieved_on" in column or "evidence" in column
    returns = parsed.returns
    # Caches keyed by the raw cell: a cell seen before was already stripped, checked
    # and (for outcome codes) made one shared string, not one string per row.
    values: dict[str, Decimal] = {}
    outcomes: dict[str, str] = {}
    current = Return(("", "", ""))
    keys, values_of, lines = current.keys, current.values, current.lines
    raw_key = ("", "", "")  # the cells that selected ``current``
    rows = 0
    # This loop runs once per row of files with millions of rows: a row of the return
    # before it, with a known outcome and value and no details, takes the fewest steps.
    for line, cells in table.rows:
        rows += 1
        contract, period = cells[i_contract], cells[i_period]
        provider = cells[i_provider] if i_provider >= 0 else ""
        outcome = outcomes.get(cells[i_outcome])
        value = values.get(cells[i_value])
        details: tuple[date | None, str] | None = None
        key: ReturnKey | None = None
        if outcome is None or value is None or detailed:
            checked = _check_row(name, line, cells, column, columns, problems)
            if checked is None:
                if is_blank(cells):
                    rows -= 1  # a row of empty cells (spreadsheet residue) is a blank line
                continue
            key, outcome, value, details = checked
            if len(values) < _CACHED_VALUES:
                values[cells[i_value]] = value
            outcome = outcomes.setdefault(cells[i_outcome], outcome)
        if contract != raw_key[0] or period != raw_key[1] or provider != raw_key[2]:
            if key is None:
                key = (contract.strip(), period.strip(), provider.strip())
                if not (key[0] and key[1]):
                    _check_row(name, line, cells, column, columns, problems)
                    continue
            raw_key = (contract, period, provider)
            found = returns.get(key)
            if found is None:
                found = returns[key] = Return(key)
            current = found
            keys, values_of, lines = current.keys, current.values, current.lines
        participant = cells[i_participant].strip() if i_participant >= 0 else ""
        fkey: FigureKey = outcome
        if participant:
            fkey = (outcome, participant)
            current.by_participant = True
        position = keys.get(fkey)
        if position is not None:
            _repeated(parsed, current, position, line, fkey, value, problems)
            continue
        position = keys[fkey] = len(values_of)
        values_of.append(value)
        lines.append(line)
        if details:
            if current.details is None:
                current.details = {}
            current.details[position] = details
    parsed.rows = rows
    return parsed


def _check_row(name: str, line: int, cells: list[str], column: dict[str, int],
               columns: Columns, problems: list[Problem]) -> tuple[ReturnKey, str, Decimal, tuple[
                   date | None, str] | None] | None:
    """A row's return key, figure key (outcome), value and details (None when there are
    none), or None when it has problems (all recorded)."""
    if is_blank(cells):
        return None
    fields = {c: cells[i].strip() for c, i in column.items()}
    before = len(problems)
    for name_ in ("contract", "period", columns.key):
        if not fields[name_]:
            problems.append(Problem(name, line, name_, "missing (expected a value)"))
    number = columns.value
    text = fields[number]
    value = Decimal(0)
    if not text:
        problems.append(Problem(name, line, number, "missing (expected a number)"))
    elif not _NUMBER.fullmatch(text):
        problems.append(Problem(name, line, number, f"not a finite number (got {text!r}, "
                                "expected a decimal like 12 or 3.5)"))
    else:
        value = Decimal(text)
        if is_negative_zero(value):
            problems.append(Problem(name, line, number, f"a negative zero (got {text!r}, "
                                    "expected 0 or a number with a sign on its digits)"))
    achieved: date | None = None
    raw_date = fields.get("achieved_on", "")
    if raw_date:
        try:
            if not _ISO_DATE.fullmatch(raw_date):
                raise ValueError(raw_date)
            achieved = date.fromisoformat(raw_date)
        except ValueError:
            problems.append(Problem(name, line, "achieved_on", f"not a date (got "
                                    f"{raw_date!r}, expected YYYY-MM-DD)"))
    if len(problems) > before:
        return None
    evidence = fields.get("evidence", "")
    details = (achieved, evidence) if achieved or evidence else None
    key = (fields["contract"], fields["period"], fields.get("provider", ""))
    return key, fields[columns.key], value, details


def _repeated(parsed: ReturnsFile, ret: Return, position: int, line: int, key: FigureKey,
              value: Decimal, problems: list[Problem]) -> None:
    """A second row for a figure: an error when the value differs (or when the file's
    repeats are not counted once), else a warning."""
    first_line, first_value = ret.lines[position], ret.values[position]
    what = key if isinstance(key, str) else f"{key[0]} for {key[1]}"
    where = f"{ret.contract} {ret.period}{' ' + ret.provider if ret.provider else ''}"
    number = parsed.columns.value
    if value != first_value:
        problems.append(Problem(parsed.name, line, number, f"{what} in {where} appears "
                                f"twice with different values (got {value}, expected "
                                f"{first_value} as on line {first_line}, or one row only)"))
    elif not parsed.columns.repeats_counted:
        problems.append(Problem(parsed.name, line, parsed.columns.key, (
            f"{what} in {where} appears twice (got the row of line {first_line} again, "
            f"expected one row per {parsed.columns.key}: add the {number}s up)")))
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
