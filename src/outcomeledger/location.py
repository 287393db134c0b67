"""Where a ledger lives: ``--db`` parsed into a location (a SQLite file, a PostgreSQL
database), whether a ledger is there, and one-line errors when it cannot be used."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import sqldb
from .errors import LedgerError

DEFAULT_DB = "outcomeledger.db"
#: The recorder of a PostgreSQL ledger (pgrecorder.py), named so that eventsourcing loads
#: it (and psycopg) only for a ledger that needs it.
PG_RECORDER = "outcomeledger.pgrecorder:LedgerPostgresRecorder"


class StoreError(LedgerError):
    """The database could not be opened or used (unreachable, missing, not a ledger)."""


@dataclass(frozen=True, slots=True)
class Location:
    kind: str  # "sqlite" | "postgresql"
    env: dict[str, str]
    display: str
    path: Path | None = None


def locate(url: str | None) -> Location:
    """Parse ``--db``: a path, ``sqlite:///path`` or ``postgresql://user@host:port/db``."""
    raw = url or os.environ.get("OUTCOMELEDGER_DB") or DEFAULT_DB
    if raw.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(raw)
        dbname = parts.path.lstrip("/")
        if not dbname:
            raise StoreError(f"no database name in {raw!r} (expected postgresql://user@host"
                             ":port/dbname)")
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(dbname),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or os.environ.get("USER", "postgres")),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_LOCK_TIMEOUT": "30",
            # A CLI command needs one pooled connection; a follower two more (its
            # LISTEN thread holds one, its pull thread reads with another).
            "POSTGRES_POOL_SIZE": "1",
            "POSTGRES_MAX_OVERFLOW": "4",
            # eventsourcing's recorder, appending without psycopg's pipeline mode
            # (which deadlocks on multi-megabyte imports): see pgrecorder.py.
            "APPLICATION_RECORDER_TOPIC": PG_RECORDER,
        }
        return Location("postgresql", env, raw.split("@")[-1])
    path = Path(raw.removeprefix("sqlite:///") if raw.startswith("sqlite:///") else raw)
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path),
           "SQLITE_LOCK_TIMEOUT": "30"}
    return Location("sqlite", env, str(path), path)


def ledger_exists(location: Location) -> bool:
    """Whether ``location`` already holds a ledger (a file; an events table)."""
    if location.kind == "sqlite":
        return location.path is not None and location.path.exists()
    conn = connect_postgres(location)
    try:
        return has_events_table(conn, location)
    finally:
        conn.close()


def check_postgres(location: Location, *, create: bool) -> sqldb.PgConnection:
    """Fail fast, in one line, when the server is unreachable, the database is missing
    or holds no ledger. Without this, eventsourcing's connection pool would retry for
    its whole timeout and end with a generic "couldn't get a connection". Returns the
    connection, kept for the projector."""
    conn = connect_postgres(location)
    try:
        if not create and not has_events_table(conn, location):
            raise StoreError(f"no ledger in the PostgreSQL database at {location.display} "
                             "(run `outcomeledger --db URL init` first)")
    except BaseException:
        conn.close()
        raise
    return conn


def connect_postgres(location: Location) -> sqldb.PgConnection:
    try:
        return sqldb.pg_connect(location.env)
    except sqldb.ConnectError as e:
        raise StoreError(str(e)) from None


def has_events_table(conn: sqldb.PgConnection, location: Location) -> bool:
    try:
        row = conn.execute("SELECT to_regclass(?)", (sqldb.EVENTS_TABLE["postgresql"],)
                           ).fetchone()
    except sqldb.errors() as e:
        raise StoreError(f"cannot use the PostgreSQL database at {location.display}: "
                         f"{first_line(e)}") from None
    return row is not None and row[0] is not None


def first_line(error: BaseException) -> str:
    """Database messages run to several lines (DETAIL, HINT, CONTEXT); errors here are
    one line."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
