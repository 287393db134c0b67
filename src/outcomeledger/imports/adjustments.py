"""Adjustments files (DESIGN 4.4): one reward adjustment per row, all in one transaction.

Columns ``contract, period, kind, amount, reason`` in CSV, NDJSON or a JSON array. The
rules are those of returns: every problem of the file is collected and reported as
``FILE:LINE: field: message``, and a file with any problem writes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from ..commands import AdjustReward, Command, Meta
from ..errors import InvalidInput, LedgerError, Problem
from ..events import ADJUSTMENT_KINDS, AdjustmentKind, Source
from ..state import ContractState
from ..store import Ledger, Written
from .importer import contract_refusal
from .rows import detect_format, is_blank, read_table
from .sources import open_input, unreadable

REQUIRED = ("contract", "period", "kind", "amount", "reason")
_AMOUNT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


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
    try:
        source = open_input(path)
    except OSError as e:
        raise InvalidInput([unreadable(path, e)]) from None
    problems: list[Problem] = []
    table = read_table(source.stream, source.name, detect_format(path, input_format),
                       REQUIRED, (), problems)
    rows: list[tuple[int, str, AdjustReward]] = []
    count = 0
    for line, cells in table.rows:
        if is_blank(cells):
            continue
        count += 1
        row = _adjustment(source.name, line, dict(zip(table.columns, cells, strict=True)),
                          problems)
        if row is not None:
            rows.append((line, row[0], row[1]))
    sha256 = source.finish()
    origin = Source(file=source.name, sha256=sha256)
    # Grouped by contract (file order within each) so the ledger decides one contract
    # at a time.
    rows.sort(key=lambda r: r[1])
    batch: list[tuple[str, Command]] = [
        (reference, AdjustReward(period=cmd.period, kind=cmd.kind, amount=cmd.amount,
                                 reason=cmd.reason, source=origin, line=line))
        for line, reference, cmd in rows]
    reported: set[tuple[str, str]] = set()

    def refused(index: int, state: ContractState, error: LedgerError) -> list[Problem]:
        line, reference, _ = rows[index]
        return contract_refusal(source.name, line, reference, state, error, reported)

    written: list[Written] = []
    try:
        written = ledger.execute_batch(batch, meta, dry_run=dry_run or bool(problems),
                                       refused=refused)
    except InvalidInput as e:
        problems += e.problems
    if problems:
        raise InvalidInput(problems)
    return AdjustmentReceipt(source.name, sha256, count, len(batch),
                             sum(len(w.positions) for w in written), dry_run)


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
    amount = fields["amount"]
    if not _AMOUNT.fullmatch(amount):
        problems.append(Problem(name, line, "amount", f"not a number (got {amount!r}, "
                                "expected a decimal amount such as -120000 or 2500.50)"))
    if not fields["reason"]:
        problems.append(Problem(name, line, "reason", "missing (expected why the reward "
                                "is adjusted: every adjustment records a reason)"))
    if len(problems) > before:
        return None
    command = AdjustReward(period=fields["period"], kind=cast(AdjustmentKind, kind),
                           amount=Decimal(amount), reason=fields["reason"])
    return fields["contract"], command


__all__ = ["AdjustmentReceipt", "import_adjustments"]
