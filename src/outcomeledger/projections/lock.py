"""One rebuild of a ledger's read models at a time.

A rebuild fills fresh ``<table>__new`` tables, over seconds or minutes and in several
transactions (and processes), before it swaps them in. A second rebuild starting
meanwhile would drop or fill the same tables under the first. So a rebuild holds a
ledger-wide lock from creating the fresh tables to swapping them in, and the next
waits for it: PostgreSQL, a session-level advisory lock (released with the connection
if its holder dies); a SQLite file, an exclusive ``flock`` on a lock file beside it
(released by the kernel if its holder dies). Catch-ups and event writers never take
it: their transactions already exclude each other and the swap.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..storage import sqldb
from ..storage.sqldb import Conn
from .sql import PG_LOCK

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite rebuilds are not serialised
    fcntl = None  # type: ignore[assignment]

#: The PostgreSQL advisory lock key of rebuilds (the projection writers' key + 1).
PG_REBUILD_LOCK = PG_LOCK + 1


@contextmanager
def rebuilding(conn: Conn) -> Iterator[None]:
    """Hold the ledger's rebuild lock (waiting for any rebuild under way)."""
    if sqldb.dialect(conn) == "postgresql":
        # Waiting for a rebuild under way is the point, however long it takes: the
        # session's lock timeout (meant for locks nobody is working under) is lifted.
        conn.execute("SET lock_timeout = 0")
        try:
            conn.execute("SELECT pg_advisory_lock(?)", (PG_REBUILD_LOCK,))
        finally:
            conn.execute("RESET lock_timeout")
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(?)", (PG_REBUILD_LOCK,))
        return
    assert isinstance(conn, sqlite3.Connection)
    path = sqldb.database_file(conn)
    if path is None or fcntl is None:  # a private in-memory database: nobody to wait for
        yield
        return
    # A file of its own: closing any descriptor of the database file would drop the
    # POSIX locks SQLite holds on it in this process.
    with Path(path + "-rebuild.lock").open("a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
