"""An import's returns as one batch of commands, and what it reports: the pieces the
one-process import (``importer``) and the worker import (``parallel``) share.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import overload

import msgspec

from ..domain.commands import Command
from ..domain.contract.decide import Decision
from ..domain.contract.state import ContractState
from ..domain.errors import LedgerError, Problem
from ..domain.events import Source
from ..domain.periods import PeriodError, parse_period
from .returns import Return, ReturnsFile
from .signatures import Signatures


@dataclass(frozen=True, slots=True)
class ImportReceipt:
    """What one file of an import did (or, refused, would have been)."""

    file: str
    sha256: str
    rows: int  # data rows read
    added: int  # figures recorded for the first time
    unchanged: int  # figures already recorded with the same value
    restated: int  # figures whose recorded value this import replaced
    refused: int  # rows with a problem (then nothing at all was written)
    late: int  # returns recorded after they were due
    returns: int  # (contract, period, provider) returns in the file
    events: int  # events written
    dry_run: bool
    warnings: tuple[Problem, ...] = ()
    # Each late return: "CONTRACT PERIOD [PROVIDER]: N day(s) late".
    late_returns: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {name: getattr(self, name) for name in self.__slots__}
        data["warnings"] = [w.as_dict() for w in self.warnings]
        data["late_returns"] = list(self.late_returns)
        return data


@dataclass(frozen=True, slots=True)
class Parsed:
    file: ReturnsFile
    source: Source  # the file and its SHA-256
    signatures: Signatures | None = None  # its FILE.sig, signing each contract's returns


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Parsing and deciding allocate millions of objects and no reference cycles worth
    collecting; the cyclic collector would re-scan them over and over."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def conflicts_between_files(parsed: list[Parsed]) -> list[Problem]:
    """Two files of one import giving one figure different values (DESIGN 4.3)."""
    problems: list[Problem] = []
    first: dict[tuple[str, str, str], tuple[str, Return]] = {}
    for p in parsed:
        for key, ret in p.file.returns.items():
            earlier = first.setdefault(key, (p.file.name, ret))
            if earlier[1] is ret:
                continue
            name, other = earlier
            for fkey in ret.keys.keys() & other.keys.keys():
                if ret.value_of(fkey) != other.value_of(fkey):
                    ret.drop(fkey)  # or the ledger would refuse it again, as changed
                    problems.append(Problem(p.file.name, ret.line_of(fkey), p.file.columns.value, (
                        f"{fkey if isinstance(fkey, str) else ' for '.join(fkey)} in "
                        f"{' '.join(filter(None, key))} differs between the files of this "
                        f"import (got {ret.value_of(fkey)}, expected {other.value_of(fkey)} "
                        f"as in {name}:{other.line_of(fkey)}, or one row only)")))
    return problems


class Batch(Sequence[tuple[str, Command]]):
    """The import's returns as commands, in contract then period order.

    Each command (and its figures) is built when the ledger decides it and dropped once
    its events are encoded. Grouping by contract lets the ledger hold one contract's
    state at a time; period order lets a ladder rung or a once-only outcome in this
    import be checked against the earlier periods of the same import.
    """

    def __init__(self, parsed: list[Parsed], *, restate: bool, reason: str,
                 received_on: date | None = None) -> None:
        self.restate = restate
        self.reason = reason
        self.received_on = received_on
        self.entries = [(ret, index) for index, p in enumerate(parsed)
                        for ret in p.file.returns.values()]
        self.sources = [p.source for p in parsed]
        self.commands = [p.file.columns.command for p in parsed]
        self.signatures = [p.signatures for p in parsed]
        self.names = [p.file.name for p in parsed]
        starts: dict[str, tuple[int, int, int]] = {}
        self.entries.sort(key=lambda e: (e[0].contract, _period_order(e[0].period, starts),
                                         e[0].provider, e[1]))
        self.reported: set[tuple[str, str]] = set()

    def __len__(self) -> int:
        return len(self.entries)

    @overload
    def __getitem__(self, index: int) -> tuple[str, Command]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[str, Command]]: ...

    def __getitem__(self, index: int | slice) -> tuple[str, Command] | Sequence[
            tuple[str, Command]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        ret, owner = self.entries[index]
        source, signatures = self.sources[owner], self.signatures[owner]
        if signatures is not None:
            source = signatures.source(source, ret.contract)
        command = self.commands[owner](ret, source, self.restate, self.reason)
        if self.received_on is not None:
            command = msgspec.structs.replace(command, received_on=self.received_on)
        return ret.contract, command

    def owner(self, index: int) -> int:
        return self.entries[index][1]

    def refusal(self, index: int, state: ContractState, error: LedgerError) -> list[Problem]:
        """A refusal of a whole return, at the line of its first row."""
        ret, owner = self.entries[index]
        return contract_refusal(self.names[owner], ret.first_line, ret.contract, state, error,
                                self.reported)


def contract_refusal(name: str, line: int, reference: str, state: ContractState,
                     error: LedgerError, reported: set[tuple[str, str]]) -> list[Problem]:
    """A contract's refusal of a row (unknown, closed, actor not allowed) as a located
    problem; once per file and message, as it refuses every row of that contract alike."""
    message = str(error)
    if not state.exists:
        message = (f"unknown contract (got {reference!r}, expected the reference of a "
                   "contract agreed in this ledger)")
    if (name, message) in reported:
        return []
    reported.add((name, message))
    return [Problem(name, line, getattr(error, "field", "contract"), message)]


def _period_order(period: str, memo: dict[str, tuple[int, int, int]]) -> tuple[int, int, int]:
    """Sort key of a period id of either cadence; unparseable ids sort last (the decider
    reports them)."""
    key = memo.get(period)
    if key is None:
        key = (9999, 12, 31)
        for cadence in ("quarter", "month"):
            try:
                start = parse_period(period, cadence).start
            except PeriodError:
                continue
            key = (start.year, start.month, start.day)
            break
        memo[period] = key
    return key


def receipts_of(parsed: list[Parsed], batch: Batch, decisions: Sequence[Decision],
                events: Sequence[int], dry_run: bool, problems: list[Problem]
                ) -> list[ImportReceipt]:
    """Each file's receipt, from the batch's decisions and the events each one wrote."""
    totals = [dict.fromkeys(("added", "unchanged", "restated", "late", "events"), 0)
              for _ in parsed]
    warnings: list[list[Problem]] = [list(p.file.warnings) for p in parsed]
    late: list[list[str]] = [[] for _ in parsed]
    for index, (decision, written) in enumerate(zip(decisions, events, strict=True)):
        owner = batch.owner(index)
        receipt = decision.receipt
        counts = totals[owner]
        counts["added"] += receipt.added
        counts["unchanged"] += receipt.unchanged
        counts["restated"] += receipt.restated
        counts["late"] += receipt.late
        if receipt.late:
            ret = batch.entries[index][0]
            late[owner].append(f"{' '.join(filter(None, (ret.contract, ret.period, ret.provider)))}"
                               f": {receipt.late_days} day(s) late")
        counts["events"] += written
        warnings[owner].extend(receipt.warnings)
    out = []
    for p, counts, notes, lates in zip(parsed, totals, warnings, late, strict=True):
        refused = len({pr.line for pr in problems if pr.source == p.file.name})
        out.append(ImportReceipt(
            file=p.file.name, sha256=p.source.sha256, rows=p.file.rows,
            added=counts["added"], unchanged=counts["unchanged"], restated=counts["restated"],
            refused=refused, late=counts["late"], returns=len(p.file.returns),
            events=counts["events"], dry_run=dry_run,
            warnings=tuple(sorted(notes, key=lambda n: n.line or 0)),
            late_returns=tuple(sorted(lates))))
    return out
