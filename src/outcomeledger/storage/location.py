"""Where a ledger lives: ``--db`` parsed into a location (a SQLite file, a PostgreSQL
database), whether a ledger is there, and one-line errors when it cannot be used."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from ..domain.errors import LedgerError
from . import sqldb

DEFAULT_DB = "outcomeledger.db"
#: The recorder of a PostgreSQL ledger (pgrecorder.py), named so that eventsourcing loads
#: it (and psycopg) only for a ledger that needs it.
PG_RECORDER = "outcomeledger.storage.pgrecorder:LedgerPostgresRecorder"


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
        try:
            parts = urlsplit(raw)
            port = parts.port
        except ValueError as e:  # a bad port, an unclosed [IPv6] bracket
            raise StoreError(f"malformed PostgreSQL URL {raw!r}: {e} (expected "
                             "postgresql://user@host:port/dbname)") from None
        dbname = parts.path.lstrip("/")
        if not dbname:
            raise StoreError(f"no database name in {raw!r} (expected postgresql://user@host"
                             ":port/dbname)")
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(dbname),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(port or 5432),
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
    check_sqlite_file(path)
    target = sqlite_target(path)
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": target,
           "SQLITE_LOCK_TIMEOUT": "30"}
    if target != str(path):
        # Read-only: the tables are there or this is no ledger; CREATE ... IF NOT EXISTS
        # in a write transaction would fail on a read-only database.
        env["CREATE_TABLE"] = "no"
    return Location("sqlite", env, str(path), path)


#: The first bytes of every SQLite database file.
_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_sqlite_file(path: Path) -> None:
    """Refuse, before SQLite opens it, a path that is not a SQLite database: a text file
    given as --db would otherwise end in a DatabaseError traceback. An empty file is
    what SQLite makes of a new database, so it passes; the file is never written."""
    if ":memory:" in str(path) or str(path).startswith("file:"):
        return
    try:
        with path.open("rb") as f:
            magic = f.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise StoreError(f"{path} is a directory, not a ledger database (pass --db "
                         "FILE)") from None
    except OSError as e:
        raise StoreError(f"cannot open the ledger at {path}: {e.strerror or e}") from None
    if magic and magic != _SQLITE_MAGIC:
        raise StoreError(f"{path} is not a ledger database (not a SQLite file; pass --db "
                         "with the ledger's file)")


def sqlite_target(path: Path) -> str:
    """What SQLite is asked to open for ``path``: the path itself, or, when this process
    cannot write the file or its directory (a read-only file or filesystem, an auditor's
    copy), a read-only URI, so that every read command works and a write is refused by
    SQLite ("attempt to write a readonly database") instead of failing to open at all.

    ``immutable=1`` is added only on a filesystem mounted read-only with no write-ahead
    log beside the file: SQLite cannot create there the ``-shm`` file a WAL database
    needs, and nobody can be writing to the file. (A folder merely not writable by this
    user may be by another, who could be writing; and a ``-wal`` file's committed
    transactions must be read, which ``immutable`` would skip.)"""
    text = str(path)
    if ":memory:" in text or text.startswith("file:") or not path.is_file():
        return text
    directory = path.parent
    if os.access(path, os.W_OK) and os.access(directory, os.W_OK):
        return text
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    wal = Path(f"{path}-wal")
    if _mounted_read_only(directory) and not (wal.exists() and wal.stat().st_size):
        uri += "&immutable=1"
    return uri


def _mounted_read_only(directory: Path) -> bool:
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows): never assume immutable
        return False


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


def locked(display: str, seconds: int) -> StoreError:
    """The refusal when another session held a lock on the ledger longer than the lock
    timeout (SQLite's busy timeout, PostgreSQL's ``lock_timeout``): one line, not a
    traceback, and never a wait without end."""
    return StoreError(f"the ledger at {display} stayed locked by another session for "
                      f"{seconds} s (a long import or replay, or a LOCK TABLE left open); "
                      "nothing was written; try again once it is released")


def first_line(error: BaseException) -> str:
    """Database messages run to several lines (DETAIL, HINT, CONTEXT); errors here are
    one line."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
