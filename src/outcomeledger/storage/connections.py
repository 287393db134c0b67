"""The ledger's own database connections, beside the ones eventsourcing's recorder keeps.

Projections, replay and the write transaction (events and their read models together)
run on connections of ours: a plain autocommit connection per use on SQLite, one kept
connection on PostgreSQL (a new server process per write would pay a cold catalog cache
every time). Part of :class:`~outcomeledger.storage.store.Ledger`.
"""

from __future__ import annotations

import sqlite3

from . import sqldb
from .location import Location, StoreError, first_line, locked


class Connections:
    """The connections half of the ledger: where its read models can live, and how."""

    location: Location
    # PostgreSQL: the connection kept for this ledger's writes and catch-ups.
    _pg: sqldb.PgConnection | None

    @property
    def has_projections(self) -> bool:
        """Projections live beside the events: in a SQLite file or a PostgreSQL database
        (an in-memory SQLite ledger has no second connection to keep them in)."""
        if self.location.kind == "postgresql":
            return True
        path = self.location.path
        return (path is not None
                and ":memory:" not in str(path) and "mode=memory" not in str(path))

    def connect(self) -> sqldb.Conn:
        """A plain connection to the ledger's database, in autocommit mode: projections
        and replay issue their own transactions (see ``projections.sql.begin``)."""
        if not self.has_projections:
            raise StoreError(f"projections are kept in SQLite files or PostgreSQL only (got "
                             f"{self.location.display})")
        if self.location.kind == "postgresql":
            try:
                return sqldb.pg_connect(self.location.env)
            except sqldb.ConnectError as e:
                raise StoreError(str(e)) from None
        assert self.location.path is not None
        try:
            return sqlite3.connect(self.location.env["SQLITE_DBNAME"], uri=True,
                                   timeout=self.lock_timeout_s() or 30, isolation_level=None)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open {self.location.display}: {e}") from None

    def kept_connection(self) -> sqldb.PgConnection:
        """The kept PostgreSQL connection, a new one if there is none or it died."""
        if self._pg is not None and (self._pg.raw.closed or self._pg.raw.broken):
            self._pg.close()
            self._pg = None
        if self._pg is None:
            conn = self.connect()
            assert isinstance(conn, sqldb.PgConnection)
            self._pg = conn
        return self._pg

    def lock_timeout_s(self) -> int:
        """How long a command waits for a lock another session holds (both backends)."""
        key = "POSTGRES_LOCK_TIMEOUT" if self.location.kind == "postgresql" else (
            "SQLITE_LOCK_TIMEOUT")
        return int(self.location.env.get(key) or 0)

    def database_refusal(self, error: BaseException) -> StoreError:
        """A database error met while writing, as the one-line refusal a user reads."""
        if sqldb.lock_timed_out(error):
            return locked(self.location.display, self.lock_timeout_s())
        return StoreError(f"the ledger could not be written ({first_line(error)}); nothing "
                          "was written")
