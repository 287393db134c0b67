"""The stored read models against a replay of the events they track, piece by piece.

``audit verify`` must recompute every projection and compare it with the stored tables,
on ledgers of millions of events. A whole replay held in memory grows with the ledger
(hundreds of MB at 100,000 events), so the comparison goes one contract at a time (its
rows in every contract table) and one batch of positions at a time (the audit trail):
each piece is replayed into a scratch in-memory database through the same code that
writes the live tables, read back in key order beside the live rows of the same piece,
and forgotten. Memory stays flat whatever the ledger's size; the differences found are
exactly those of a full replay compared with the full tables.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from typing import Any

import msgspec

from ..sqldb import Conn
from . import source, sql
from .base import Projection, Row, Table
from .projector import ensure
from .registry import PROJECTIONS
from .source import Cutoff

#: Events of the audit trail compared at a time.
_BATCH = 20_000

_line = msgspec.json.Encoder()


class _Tracking(Row, frozen=True):
    projection: str
    position: int


_TRACKING = Table("tracking", _Tracking, ("projection",))


def _text(table: Table, values: Sequence[Any]) -> bytes:
    """A row as ``dump`` prints it (and so as a difference names it)."""
    return _line.encode({"table": table.name,
                         "row": dict(zip(table.columns, values, strict=True))})


def _differ(table: Table, live: Sequence[Sequence[Any]],
            replayed: Sequence[Sequence[Any]]) -> Iterator[str]:
    live_lines = {_text(table, tuple(r)) for r in live}
    replay_lines = {_text(table, tuple(r)) for r in replayed}
    for line in sorted(live_lines - replay_lines):
        yield f"live table has a row replay does not: {line.decode()}"
    for line in sorted(replay_lines - live_lines):
        yield f"replay has a row the live table lacks: {line.decode()}"


def _select(table: Table, where: str) -> str:
    return (f"SELECT {', '.join(table.columns)} FROM {table.name} WHERE {where} "
            f"ORDER BY {', '.join(table.key)}")


class _Scratch:
    """One piece's replayed rows, as the live tables would hold them (same writer, same
    column types), then emptied for the next piece."""

    def __init__(self, projections: Sequence[Projection]) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None)
        ensure(self.conn, projections)

    def close(self) -> None:
        self.conn.close()

    def rows(self, table: Table, rows: Sequence[Row]) -> list[Any]:
        sql.write(self.conn, table, table.name, rows)
        found = sql.select_ordered(self.conn, table, table.name).fetchall()
        self.conn.execute(f"DELETE FROM {table.name}")
        return found


def differences(conn: Conn, tracked: dict[str, int],
                projections: Sequence[Projection] = PROJECTIONS) -> Iterator[str]:
    """Every difference between the live tables (read in the caller's snapshot, with
    the ``tracked`` positions read in it) and a replay of the events up to the earliest
    of those positions: the tracking positions, then contract by contract, then the
    event read models batch by batch. Each difference is a row one side has and the
    other lacks, as ``dump`` prints rows."""
    contract_ps = [p for p in projections if p.scope == "contract"]
    event_ps = [p for p in projections if p.scope == "event"]
    position = min(tracked[p.name] for p in projections)
    for p in projections:  # a replay is tracked at the position it replayed to
        if tracked[p.name] != position:
            yield from _differ(_TRACKING, [(p.tracking_name, tracked[p.name])],
                               [(p.tracking_name, position)])
    cutoff = Cutoff(position)
    with closing(_Scratch(projections)) as scratch:
        seen: set[str] = set()
        for stream, _first, _count in source.streams(conn, position):
            view = source.contract_view(conn, stream, cutoff)
            if view is None:
                continue
            seen.add(view.reference)
            for p in contract_ps:
                assert p.contract_rows is not None
                for table, rows in zip(p.tables, p.contract_rows(view), strict=True):
                    live = conn.execute(_select(table, "contract = ?"),
                                        (view.reference,)).fetchall()
                    yield from _differ(table, live, scratch.rows(table, rows))
        for p in contract_ps:  # rows of contracts that have no events
            for table in p.tables:
                stray = sorted({str(r[0]) for r in conn.execute(
                    f"SELECT DISTINCT contract FROM {table.name}")} - seen)
                for contract in stray:
                    live = conn.execute(_select(table, "contract = ?"), (contract,)).fetchall()
                    yield from _differ(table, live, [])
        last = 0
        for events in source.scan(conn, 0, position, _BATCH):
            first, last = last, events[-1][0]
            for p in event_ps:
                assert p.event_rows is not None
                table = p.tables[0]
                live = conn.execute(_select(table, "position > ? AND position <= ?"),
                                    (first, last)).fetchall()
                yield from _differ(table, live, scratch.rows(table, p.event_rows(events)))
        for p in event_ps:  # rows beyond the last event
            table = p.tables[0]
            yield from _differ(table, conn.execute(_select(table, "position > ?"),
                                                   (last,)).fetchall(), [])
