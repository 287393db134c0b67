"""Rows into a SQLite file at the rate a replay makes them: the rebuild workers' connection.

A replay inserts some four rows per event, millions of them; through the standard
library's ``sqlite3`` binding each row cost 3.2 CPU-µs, about 40 % of the whole replay.
apsw (Another Python SQLite Wrapper) binds parameters and steps statements with less
Python-side work and carries a current SQLite: the same rows cost 1.8 µs, and reading a
stream's events 0.5 µs an event against 0.8 (bench/README.md). Only the replay workers
go through it; every other reader, and every write of a command, keeps the ``sqlite3``
connections of :mod:`outcomeledger.storage.sqldb`. The file, its WAL and its locks are
SQLite's own whichever binding opened it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import apsw
import msgspec

from . import source, sql
from .base import Row, Table


class Writer:
    """A worker's connection to the SQLite file at ``path``: it reads the streams and
    writes the rebuild's fresh tables."""

    def __init__(self, path: str) -> None:
        self.conn = apsw.Connection(path)
        # Queued behind the other writers' lock for as long as a rebuild may take;
        # commits not waiting for the disk (the fresh tables are discarded unless the
        # rebuild completes; NORMAL still keeps a WAL database consistent on power
        # loss); checkpoints less often.
        self.conn.set_busy_timeout(300_000)
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA wal_autocheckpoint=16384")

    def execute(self, statement: str) -> None:
        self.conn.execute(statement)

    def stream_rows(self, stream: str, upto: int) -> list[tuple[int, int, str, bytes]]:
        """As :func:`.source.stream_rows`."""
        rows = self.conn.execute(source.SQLITE_STREAM, (stream, upto)).fetchall()
        return cast(list[tuple[int, int, str, bytes]], rows)

    def write(self, table: Table, name: str, rows: Sequence[Row]) -> None:
        # One row per statement: apsw steps a prepared statement per row faster than it
        # binds the 32-row statements the sqlite3 path uses.
        if rows:
            self.conn.executemany(sql.insert(table, name),
                                  map(msgspec.structs.astuple, rows))

    def close(self) -> None:
        self.conn.close()
