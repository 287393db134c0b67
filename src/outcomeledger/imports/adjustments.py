"""Adjustments files (DESIGN 4.4): one reward adjustment per row, all in one transaction.

Columns ``contract, period, kind, amount, reason`` in CSV, NDJSON or a JSON array. The
rules are those of returns: every problem of the file is collected and reported as
``FILE:LINE: field: message``, and a file with any problem writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import msgspec

from ..domain.adjustment_rules import parse_amount
from ..domain.commands import AdjustReward, Command, Meta
from ..domain.contract.state import ContractState
from ..domain.errors import InvalidInput, LedgerError, Problem
from ..domain.events import ADJUSTMENT_KINDS, AdjustmentKind, RewardAdjusted, Source
from ..storage.store import Ledger, Written
from .batch import contract_refusal
from .rows import detect_format, read_table
from .sources import open_input, unreadable
from .table import is_blank

REQUIRED = ("contract", "period", "kind", "amount", "reason")


@dataclass(frozen=True, slots=True)
class AdjustmentReceipt:
    file: str
    sha256: str
    rows: int
    adjustments: int  # adjustments recorded (or, in a dry run, accepted)
    events: int  # events written
    dry_run: bool

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


def import_adjustments(ledger: Ledger, path: str, meta: Meta, *,
                       input_format: str | None = None,
                       dry_run: bool = False) -> AdjustmentReceipt:
    """Record every adjustment of the file (``-`` is standard input) in one transaction,
    or none of them."""
    try:
        source = open_input(path)
    except OSError as e:
        raise InvalidInput([unreadable(path, e)]) from None
    problems: list[Problem] = []
    rows: list[tuple[str, AdjustReward]] = []
    count = 0
    try:
        table = read_table(source.stream, source.name, detect_format(path, input_format),
                           REQUIRED, (), problems)
        for line, cells in table.rows:
            if is_blank(cells):
                continue
            count += 1
            row = _adjustment(source.name, line, dict(zip(table.columns, cells, strict=True)),
                              problems)
            if row is not None:
                rows.append(row)
        sha256 = source.finish()
    finally:
        source.close()
    origin = Source(file=source.name, sha256=sha256)
    problems += _already_recorded(ledger, origin, {reference for reference, _ in rows})
    # Grouped by contract (file order within each): the ledger decides one contract at
    # a time.
    rows.sort(key=lambda r: r[0])
    batch: list[tuple[str, Command]] = [(reference, msgspec.structs.replace(cmd, source=origin))
                                        for reference, cmd in rows]
    reported: set[tuple[str, str]] = set()

    def refused(index: int, state: ContractState, error: LedgerError) -> list[Problem]:
        reference, cmd = rows[index]
        return contract_refusal(source.name, cmd.line or 0, reference, state, error,
                                reported)

    written: list[Written] = []
    try:
        written = ledger.execute_batch(batch, meta, dry_run=dry_run or bool(problems),
                                       refused=refused)
    except InvalidInput as e:
        problems += e.problems
    if problems:
        raise InvalidInput(sorted(problems, key=lambda p: p.line or 0))
    return AdjustmentReceipt(source.name, sha256, count, len(batch),
                             sum(len(w.positions) for w in written), dry_run)


def _already_recorded(ledger: Ledger, origin: Source, references: set[str]) -> list[Problem]:
    """Adjustments add up, unlike returns: the same file imported twice would count every
    adjustment twice, so a file already recorded is refused."""
    for reference in sorted(references):
        for event, _ in ledger.stream(reference):
            if (isinstance(event, RewardAdjusted) and event.source is not None
                    and event.source.sha256 == origin.sha256):
                return [Problem(origin.file, None, "file", (
                    f"already recorded on {event.recorded_at:%Y-%m-%d %H:%M} by "
                    f"{event.recorded_by} as {event.source.file} (got a file with SHA-256 "
                    f"{origin.sha256}, expected adjustments not yet recorded)"))]
    return []


def _adjustment(name: str, line: int, row: dict[str, str],
                problems: list[Problem]) -> tuple[str, AdjustReward] | None:
    before = len(problems)
    fields = {k: v.strip() for k, v in row.items()}
    for column in ("contract", "period"):
        if not fields[column]:
            problems.append(Problem(name, line, column, "missing (expected a value)"))
    kind = fields["kind"]
    if kind not in ADJUSTMENT_KINDS:
        problems.append(Problem(name, line, "kind", f"unknown kind (got {kind!r}, expected "
                                f"one of {', '.join(ADJUSTMENT_KINDS)})"))
    amount: Decimal | None = None
    try:
        amount = parse_amount(fields["amount"])
    except ValueError as e:
        problems.append(Problem(name, line, "amount", str(e)))
    if not fields["reason"]:
        problems.append(Problem(name, line, "reason", "missing (expected why the reward "
                                "is adjusted: every adjustment records a reason)"))
    if len(problems) > before or amount is None:
        return None
    command = AdjustReward(period=fields["period"], kind=cast(AdjustmentKind, kind),
                           amount=amount, reason=fields["reason"], line=line)
    return fields["contract"], command


__all__ = ["AdjustmentReceipt", "import_adjustments"]
