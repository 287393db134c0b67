"""The ledger's SQL database as projections, replay and audit reach it, on either backend.

eventsourcing owns the events table and every write to it. Projections, replay and the
stored-event scans read and write the same database through one plain connection:
``sqlite3`` for a SQLite file, ``psycopg`` for PostgreSQL. :class:`PgConnection` gives a
psycopg connection the few ``sqlite3.Connection`` methods the projector uses (``execute``
with ``?`` placeholders, ``executemany``, ``close``), so the projector's SQL is written
once; the statements that differ between the two dialects live in ``projections/sql.py``
and ``projections/source.py``, chosen by :func:`dialect`.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    # Imported where a PostgreSQL ledger needs it: psycopg takes a fifth of a second to
    # import, which every command on a SQLite ledger (and every worker process) paid.
    import psycopg

Dialect = Literal["sqlite", "postgresql"]

#: The events table eventsourcing creates for the ``OutcomeLedger`` application, and
#: the column holding the global position (the notification id) in it.
EVENTS_TABLE: dict[Dialect, str] = {"sqlite": "stored_events",
                                    "postgresql": "outcomeledger_events"}
POSITION: dict[Dialect, str] = {"sqlite": "rowid", "postgresql": "notification_id"}

def errors() -> tuple[type[Exception], ...]:
    """Every error a database driver raises: what callers catch (``except
    sqldb.errors()``, evaluated only once something was raised) to report "database
    trouble" without a traceback."""
    import psycopg

    return (sqlite3.Error, psycopg.Error)


def integrity_errors() -> tuple[type[Exception], ...]:
    """A constraint violation on either driver (a stream version already taken)."""
    import psycopg

    return (sqlite3.IntegrityError, psycopg.IntegrityError)


def lock_timed_out(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a lock wait that ran out of time: SQLite's
    busy timeout ("database is locked") or PostgreSQL's ``lock_timeout``."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlite3.OperationalError) and (
                "database is locked" in str(current) or "database table is locked" in str(
                    current)):
            return True
        if getattr(current, "sqlstate", None) == "55P03":  # lock_not_available
            return True
        current = current.__cause__ or current.__context__
    return False


def lock_timeout_option(seconds: float) -> str:
    """libpq ``options`` making a session wait at most ``seconds`` for any lock (a table
    lock another session holds, an advisory lock), instead of forever."""
    return f"-c lock_timeout={int(seconds * 1000)}"


def connection_lost() -> tuple[type[Exception], ...]:
    """What a PostgreSQL connection that died (server restart, network, idle timeout)
    raises."""
    import psycopg

    return (psycopg.OperationalError, psycopg.InterfaceError)


@lru_cache(maxsize=512)
def _paramstyle(statement: str) -> str:
    """``?`` placeholders as psycopg's ``%s``, a literal ``%`` as ``%%`` (so no statement
    may hold a ``?`` of its own, in a string literal or elsewhere)."""
    return statement.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """A psycopg connection in autocommit mode, with sqlite3's calling conventions.

    Autocommit, like ``sqlite3.connect(..., isolation_level=None)``: the projector issues
    its own ``BEGIN`` ... ``COMMIT``, so a batch is exactly one transaction on both
    backends.
    """

    def __init__(self, raw: psycopg.Connection[tuple[Any, ...]]) -> None:
        self.raw = raw
        _read_as_sqlite(raw)

    def execute(self, statement: str,
                parameters: Sequence[Any] = ()) -> psycopg.Cursor[tuple[Any, ...]]:
        return self.raw.execute(_paramstyle(statement), tuple(parameters))

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        # psycopg runs this in pipeline mode: fine for the small parameters it is used
        # with (keys to delete), not for megabytes (see pgrecorder.py).
        with self.raw.cursor() as cursor:
            cursor.executemany(_paramstyle(statement), rows)

    def copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Bulk insert with ``COPY ... FROM STDIN``: a rebuild writes millions of rows.

        Cells are text, integers, booleans (stored as 0/1, as SQLite stores them) or
        None; the rows are formatted here, in COPY's text format, rather than cell by
        cell through psycopg's adapters, which cost most of a rebuild's time.
        """
        with self.raw.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            lines: list[str] = []
            for row in rows:
                # Most cells are text needing no escape: those go through as they are.
                lines.append("\t".join([
                    v if v.__class__ is str and not _needs_escape(v) else _copy_cell(v)
                    for v in row]))
                if len(lines) == _COPY_CHUNK:
                    copy.write(("\n".join(lines) + "\n").encode())
                    lines.clear()
            if lines:
                copy.write(("\n".join(lines) + "\n").encode())

    def fetch(self, statement: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query, read in PostgreSQL's binary format: stored events come
        back as they are (``bytea`` needs no hex decoding), integers without parsing."""
        with self.raw.cursor(binary=True) as cursor:
            return cursor.execute(_paramstyle(statement), tuple(parameters)).fetchall()

    def fetch_arrays(self, statement: str,
                     parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of a query made by :func:`pg_arrays`, as :meth:`fetch` gives rows."""
        [columns] = self.fetch(statement, parameters)
        # (No rows: array_agg of none is NULL.)
        return [] if columns[0] is None else list(zip(*columns, strict=True))

    def close(self) -> None:
        self.raw.close()


def pg_arrays(order: str, columns: Sequence[str], where: str, *, limit: bool = False) -> str:
    """A query of the events table giving its rows as one row of an array per column, in
    ``order`` (then ``LIMIT ?``, given ``limit``): psycopg (pure Python here) pays per
    value fetched, and reads an array's elements several times faster than as many
    cells. :meth:`PgConnection.fetch_arrays` turns the arrays back into rows."""
    return ("SELECT " + ", ".join(f"array_agg(c{i} ORDER BY {order})"
                                  for i in range(len(columns)))
            + " FROM (SELECT " + ", ".join(f"{c} AS c{i}" for i, c in enumerate(columns))
            + f", {order} FROM outcomeledger_events WHERE {where}"
            + (f" ORDER BY {order} LIMIT ?" if limit else "") + ") page")


def _read_as_sqlite(raw: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Read projection cells as SQLite gives them, so every reader of ours (dumps, the
    comparison with a replay) sees both backends alike: money (``NUMERIC``) as its exact
    decimal text, booleans as 0/1. Other clients read the types themselves."""
    from psycopg.adapt import Buffer, Loader
    from psycopg.types.string import TextLoader

    class BoolAsInt(Loader):
        def load(self, data: Buffer) -> int:
            return 1 if bytes(data) == b"t" else 0

    raw.adapters.register_loader("numeric", TextLoader)
    raw.adapters.register_loader("bool", BoolAsInt)


_COPY_CHUNK = 2000
#: COPY's text format: backslash escapes for the characters that delimit it.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_needs_escape = re.compile(r"[\\\n\r\t]").search


def _copy_cell(value: Any) -> str:
    if value is None:
        return "\\N"
    if value.__class__ is str:
        text: str = value
        return text.translate(_COPY_ESCAPES)
    if value.__class__ is bool:
        return "1" if value else "0"
    return str(value)


Conn = sqlite3.Connection | PgConnection


def database_file(conn: sqlite3.Connection) -> str | None:
    """The file of a SQLite connection's main database (None: in memory)."""
    for _seq, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return str(file) or None  # "" for an in-memory or temporary database
    return None


def dialect(conn: Conn) -> Dialect:
    return "sqlite" if isinstance(conn, sqlite3.Connection) else "postgresql"


def head(conn: Conn) -> int:
    """The global position of the ledger's last stored event (0: none)."""
    kind = dialect(conn)
    row = conn.execute(f"SELECT MAX({POSITION[kind]}) FROM {EVENTS_TABLE[kind]}").fetchone()
    return int(row[0] or 0) if row is not None else 0


def pg_params(env: Mapping[str, str]) -> dict[str, Any]:
    """psycopg connection keywords from the ``POSTGRES_*`` settings given to eventsourcing."""
    params: dict[str, Any] = {
        "host": env["POSTGRES_HOST"], "port": int(env["POSTGRES_PORT"]),
        "dbname": env["POSTGRES_DBNAME"], "user": env["POSTGRES_USER"],
        "password": env.get("POSTGRES_PASSWORD") or None,
        "connect_timeout": int(env.get("POSTGRES_CONNECT_TIMEOUT") or 5)}
    if lock_timeout := int(env.get("POSTGRES_LOCK_TIMEOUT") or 0):
        params["options"] = lock_timeout_option(lock_timeout)
    return params


def pg_connect(env: Mapping[str, str]) -> PgConnection:
    """A fresh connection (never one of eventsourcing's pool: the projector holds its
    connection for a whole catch-up, and a follower for as long as it runs)."""
    import psycopg

    params = pg_params(env)
    try:
        raw = psycopg.connect(autocommit=True, **params)
    except psycopg.OperationalError as e:
        raise ConnectError(describe_connect_error(e, params)) from None
    return PgConnection(raw)


class ConnectError(Exception):
    """The PostgreSQL server could not be reached, or refused us; the message says why."""


def describe_connect_error(error: psycopg.OperationalError, params: Mapping[str, Any]) -> str:
    """One line naming what was expected: psycopg's messages span several lines and list
    every address tried."""
    where = f"{params['host']}:{params['port']}"
    text = str(error)
    dbname = params["dbname"]
    if f'database "{dbname}" does not exist' in text:
        return (f"database {params['dbname']!r} does not exist on the PostgreSQL server at "
                f"{where} (create it, e.g. `createdb {params['dbname']}`, then run "
                "`outcomeledger --db URL init`)")
    if "Connection refused" in text:
        return (f"cannot reach a PostgreSQL server at {where}: connection refused (expected "
                "a running server; check the host and port in --db)")
    if "timeout" in text.lower():
        return (f"cannot reach a PostgreSQL server at {where}: no answer within "
                f"{params['connect_timeout']} s (check the host, port and firewall)")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # psycopg prefixes each attempt with 'connection to server at ... failed:'; the
    # last line is the server's or the OS's reason.
    reason = lines[-1] if lines else type(error).__name__
    reason = reason.rsplit("failed: ", 1)[-1].removeprefix("FATAL:").strip()
    return f"cannot connect to PostgreSQL at {where} as {params['user']!r}: {reason}"
