"""One piece of a replay beside the same piece of the live tables.

A piece's replayed rows go through a scratch in-memory database by the same writer as
the live tables (same column types), and both sides are read back in key order; a
difference is a row one side has and the other lacks, as ``dump`` prints rows. Apart
from :mod:`.compare` because both the contract comparison (:mod:`.contract_compare`, in
this process or a worker's) and the audit trail's use it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

from . import sql
from .base import Projection, Row, Table
from .projector import ensure

_line = msgspec.json.Encoder()


def _text(table: Table, values: Sequence[Any]) -> bytes:
    """A row as ``dump`` prints it (and so as a difference names it)."""
    return _line.encode({"table": table.name,
                         "row": dict(zip(table.columns, values, strict=True))})


def differ(table: Table, live: Sequence[Sequence[Any]],
           replayed: Sequence[Sequence[Any]]) -> Iterator[str]:
    live_lines = {_text(table, tuple(r)) for r in live}
    replay_lines = {_text(table, tuple(r)) for r in replayed}
    for line in sorted(live_lines - replay_lines):
        yield f"live table has a row replay does not: {line.decode()}"
    for line in sorted(replay_lines - live_lines):
        yield f"replay has a row the live table lacks: {line.decode()}"


def select(table: Table, where: str) -> str:
    return (f"SELECT {', '.join(table.columns)} FROM {table.name} WHERE {where} "
            f"ORDER BY {', '.join(table.key)}")


class Scratch:
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
