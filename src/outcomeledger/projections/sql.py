"""SQL for projection tables, generated from their row types, on SQLite or PostgreSQL.

Column types follow the row Struct: text (quantities as exact decimal text), integer,
boolean, or money. On SQLite, tables keyed by contract are ``WITHOUT ROWID`` so a
contract's rows sit together and are replaced cheaply. On PostgreSQL integers are
``BIGINT`` and text is ``COLLATE "C"``: byte order, as SQLite compares, so key order (and
so every dump) is the same on both backends whatever the database's locale.

Booleans are ``BOOLEAN`` columns: true/false on PostgreSQL; SQLite has no boolean type
and stores 0/1 in them. Money is ``NUMERIC`` on PostgreSQL (exact: it sorts, compares and
sums as numbers) and exact decimal text on SQLite (``REAL`` would be inexact), which sorts
as text; so every money column ``x`` has a generated companion ``x_minor``, the amount
in integer minor units of the row's currency (pence), computed by the database from
``x`` on both backends: ``ORDER BY payable_minor``, ``SUM(payable_minor)`` are exact
everywhere. Companions are SQL only: rows (dumps, ``replay --as-of``, the published
schemas) are the Struct's fields. Our own reads see both backends alike (PostgreSQL
``NUMERIC`` as its text, ``BOOLEAN`` as 0/1: :mod:`..sqldb`); :func:`published` gives a
row its published JSON shape.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from itertools import chain
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import inspect

from ..storage import sqldb
from ..storage.sqldb import Conn, Dialect, PgConnection
from .base import Row, Table

if TYPE_CHECKING:
    import psycopg

#: eventsourcing's single-row tracking table (SQLiteTrackingRecorder and
#: PostgresTrackingRecorder lay it out the same way), created the same way, with its
#: migration marker, so eventsourcing readers recognise it.
TRACKING_DDL = ("CREATE TABLE IF NOT EXISTS tracking (application_name TEXT, "
                "notification_id INTEGER, PRIMARY KEY (application_name)) WITHOUT ROWID")
_PG_TRACKING_DDL = ("CREATE TABLE IF NOT EXISTS tracking (application_name TEXT, "
                    "notification_id BIGINT, PRIMARY KEY (application_name))")
TRACKING_MARKER = ("INSERT INTO tracking VALUES ('__migration__', 1) "
                   "ON CONFLICT (application_name) DO NOTHING")
#: Upsert of one tracking position (both dialects: SQLite >= 3.24 has ON CONFLICT).
TRACK = ("INSERT INTO tracking VALUES (?, ?) ON CONFLICT (application_name) "
         "DO UPDATE SET notification_id = excluded.notification_id")

#: Secondary indexes on live tables: name -> (table, columns).
INDEXES = {"proj_audit_trail_by_contract": ("proj_audit_trail", "contract, position")}

#: Key of the PostgreSQL advisory lock every projection transaction takes first (the
#: bytes of "proj" in ASCII). It is per database, so ledgers never block each other.
PG_LOCK = 0x70726F6A


def tracking_ddl(conn: Conn) -> str:
    return TRACKING_DDL if sqldb.dialect(conn) == "sqlite" else _PG_TRACKING_DDL


def begin(conn: Conn) -> None:
    """Open a projection write transaction holding the projection write lock.

    SQLite: ``BEGIN IMMEDIATE`` takes the database write lock up front. PostgreSQL: a
    transaction-scoped advisory lock does the same for projection writers only (event
    writers and readers never wait for it); taken before anything is read, so two
    projectors never read the same tracking position and both apply a batch, and a
    rebuild's swap never deadlocks with a catch-up. A killed holder's lock goes with
    its connection.
    """
    if sqldb.dialect(conn) == "sqlite":
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(?)", (PG_LOCK,))


@contextmanager
def snapshot(conn: Conn) -> Iterator[Conn]:
    """Read one moment of the database: tracking positions and rows read inside agree,
    however many projectors commit meanwhile (a plain autocommit read sees each of their
    commits as it lands). PostgreSQL: a REPEATABLE READ transaction; SQLite: a read
    transaction, which holds its WAL snapshot until it ends."""
    if sqldb.dialect(conn) == "sqlite":
        conn.execute("BEGIN")
    else:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


def _sql_type(t: Any, kind: str = "") -> tuple[str, bool]:
    """(column kind: TEXT, MONEY, INTEGER or BOOLEAN; nullable) of a msgspec type."""
    if isinstance(t, inspect.Metadata):
        return _sql_type(t.type, (t.extra or {}).get("kind", kind))
    if isinstance(t, inspect.UnionType):
        kinds = [x for x in t.types if not isinstance(x, inspect.NoneType)]
        assert len(kinds) == 1, f"unsupported union {t}"
        return _sql_type(kinds[0], kind)[0], True
    if isinstance(t, inspect.StrType):
        return ("MONEY" if kind == "money" else "TEXT"), False
    if isinstance(t, inspect.BoolType):
        return "BOOLEAN", False
    if isinstance(t, inspect.IntType):
        return "INTEGER", False
    raise TypeError(f"projection cells are text, integers or booleans (got {t})")


@cache
def columns(row: type[Row]) -> tuple[tuple[str, str, bool], ...]:
    """(name, SQL type, nullable) of every column of ``row``, in field order (cached:
    catch-up checks every table's layout each time, and msgspec's inspection is slow)."""
    info = inspect.type_info(row)
    assert isinstance(info, inspect.StructType)
    return tuple((f.name, *_sql_type(f.type)) for f in info.fields)


_PG_TYPE = {"TEXT": 'TEXT COLLATE "C"', "INTEGER": "BIGINT", "BOOLEAN": "BOOLEAN",
            "MONEY": "NUMERIC"}
_SQLITE_TYPE = {"TEXT": "TEXT", "INTEGER": "INTEGER", "BOOLEAN": "BOOLEAN", "MONEY": "TEXT"}
#: Column type as :func:`live_layout` reports it, per dialect.
_LAYOUT_TYPE: dict[Dialect, dict[str, str]] = {
    "sqlite": _SQLITE_TYPE,
    "postgresql": {"TEXT": "TEXT", "INTEGER": "INTEGER", "BOOLEAN": "BOOLEAN",
                   "MONEY": "NUMERIC"}}
#: Suffix of the generated integer minor-unit companion of every money column.
MINOR = "_minor"


def minor_columns(row: type[Row]) -> tuple[str, ...]:
    """The money columns of ``row`` (each has a companion ``<name>_minor`` in SQL)."""
    return tuple(n for n, t, _ in columns(row) if t == "MONEY")


def _companions(row: type[Row], dialect: Dialect) -> list[str]:
    """Generated ``<money>_minor`` columns: the amount in integer minor units (money text
    is fixed at the currency's minor unit, so dropping the point gives them exactly)."""
    if dialect == "postgresql":
        return [f"{n}{MINOR} BIGINT GENERATED ALWAYS AS "
                f"(replace({n}::text, '.', '')::bigint) STORED" for n in minor_columns(row)]
    return [f"{n}{MINOR} INTEGER GENERATED ALWAYS AS "
            f"(CAST(replace({n}, '.', '') AS INTEGER)) VIRTUAL" for n in minor_columns(row)]


def create(table: Table, name: str, dialect: Dialect = "sqlite") -> str:
    if dialect == "postgresql":
        cols = [f"{n} {_PG_TYPE[t]}{'' if nullable else ' NOT NULL'}"
                for n, t, nullable in columns(table.row)]
        cols += _companions(table.row, dialect)
        return (f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(cols)}, "
                f"PRIMARY KEY ({', '.join(table.key)}))")
    cols = [f"{n} {_SQLITE_TYPE[t]}{'' if nullable else ' NOT NULL'}" for n, t, nullable in
            columns(table.row)]
    cols += _companions(table.row, dialect)
    if table.key == ("position",):
        # The audit trail is keyed by the global position: make it the rowid.
        cols = [c.replace("position INTEGER NOT NULL", "position INTEGER PRIMARY KEY")
                for c in cols]
        return f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(cols)})"
    return (f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(cols)}, "
            f"PRIMARY KEY ({', '.join(table.key)})) WITHOUT ROWID")


def layout(table: Table, dialect: Dialect = "sqlite") -> list[tuple[str, str, int, int]]:
    """(column, type, not null, key position) as :func:`live_layout` reports them for a
    table created by :func:`create` (on SQLite, as ``PRAGMA table_info`` does)."""
    rowid = dialect == "sqlite" and table.key == ("position",)
    types = _LAYOUT_TYPE[dialect]
    return [(n, types[t], int(not nullable and not (rowid and n == "position")),
             table.key.index(n) + 1 if n in table.key else 0)
            for n, t, nullable in columns(table.row)] + [
            (f"{n}{MINOR}", "INTEGER", 0, 0) for n in minor_columns(table.row)]


_PG_LAYOUT = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       coalesce(array_position(k.conkey, a.attnum), 0)
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
  AND c.relname IN ({names})
ORDER BY c.relname, a.attnum"""
_PG_TYPES = {"text": "TEXT", "bigint": "INTEGER", "boolean": "BOOLEAN", "numeric": "NUMERIC"}


def live_layout(conn: Conn, name: str) -> list[tuple[str, str, int, int]]:
    return live_layouts(conn, [name]).get(name, [])


def live_layouts(conn: Conn, names: Sequence[str]) -> dict[str, list[tuple[str, str, int, int]]]:
    """The layout (as :func:`layout` describes it) of each existing table of ``names``;
    on PostgreSQL in one catalog query, as a catch-up checks every table each time."""
    if sqldb.dialect(conn) == "sqlite":
        # table_xinfo: table_info leaves out generated columns (the money companions).
        found = {name: [(r[1], r[2], r[3], r[5]) for r in
                        conn.execute(f"PRAGMA table_xinfo({name})")] for name in names}
        return {name: layout for name, layout in found.items() if layout}
    marks = ", ".join("?" * len(names))
    layouts: dict[str, list[tuple[str, str, int, int]]] = {}
    for table, column, kind, notnull, key in conn.execute(
            _PG_LAYOUT.format(names=marks), list(names)):
        layouts.setdefault(table, []).append(
            (column, _PG_TYPES.get(kind, kind), int(notnull), int(key)))
    return layouts


def swap(name: str, new: str, dialect: Dialect) -> list[str]:
    """Statements replacing table ``name`` with the freshly built ``new`` (inside the
    caller's transaction: DDL is transactional on both backends)."""
    # IF EXISTS: a table that a newer version added to a projection is missing until the
    # rebuild that fills it (see ``projector.ensure``).
    statements = [f"DROP TABLE IF EXISTS {name}", f"ALTER TABLE {new} RENAME TO {name}"]
    if dialect == "postgresql":
        # A rename keeps the primary key's index name; give it back the live name, or
        # the next rebuild could not create ``<new>_pkey`` again.
        statements.append(f"ALTER INDEX IF EXISTS {new}_pkey RENAME TO {name}_pkey")
    return statements


@contextmanager
def unzeroed_drops(conn: Conn) -> Iterator[None]:
    """Tables dropped meanwhile give their pages back without zeroing them.

    Debian's SQLite (Python's ``sqlite3`` here) is built with ``SECURE_DELETE`` on: a
    dropped table's every page is overwritten with zeros and written to the WAL, which
    made the swap of a replay on a ledger of 1,000,000 events spend 4.2 s on the old
    tables' gigabyte (0.3 s without). The read models hold nothing the events in the
    same file do not (they are computed from them), so nothing is kept from a reader of
    the file by zeroing them; everything else (the participant key store's erasures
    above all) keeps the build's setting, restored on leaving."""
    if sqldb.dialect(conn) != "sqlite":
        yield
        return
    row = conn.execute("PRAGMA secure_delete").fetchone()
    before = 1 if row is None else int(row[0])
    conn.execute("PRAGMA secure_delete=0")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA secure_delete={before}")


def insert(table: Table, name: str) -> str:
    marks = ", ".join("?" * len(table.columns))
    return f"INSERT INTO {name} ({', '.join(table.columns)}) VALUES ({marks})"


def write(conn: Conn, table: Table, name: str, rows: Sequence[Row]) -> None:
    if not rows:
        return
    if isinstance(conn, PgConnection):
        conn.copy(name, table.columns, (msgspec.structs.astuple(r) for r in rows))
    else:
        _sqlite_insert(conn, table, name, rows)


#: Rows per INSERT statement on SQLite: one statement step per row costs a fifth more
#: than one per 32 rows, and a replay inserts millions (32 x 14 columns stays far below
#: SQLite's limit of 32,766 parameters).
_ROWS_PER_INSERT = 32


@cache
def _multi_insert(table: Table, name: str) -> str:
    marks = "(" + ", ".join("?" * len(table.columns)) + ")"
    return (f"INSERT INTO {name} ({', '.join(table.columns)}) VALUES "
            + ", ".join([marks] * _ROWS_PER_INSERT))


def _sqlite_insert(conn: sqlite3.Connection, table: Table, name: str,
                   rows: Sequence[Row]) -> None:
    # Each statement's parameters straight from its rows' fields (no list of per-row
    # tuples first: a third of this Python side's cost, at millions of rows a replay).
    astuple = msgspec.structs.astuple
    whole = len(rows) - len(rows) % _ROWS_PER_INSERT
    if whole:
        conn.executemany(_multi_insert(table, name), [
            tuple(chain.from_iterable(map(astuple, rows[i:i + _ROWS_PER_INSERT])))
            for i in range(0, whole, _ROWS_PER_INSERT)])
    if whole < len(rows):
        conn.executemany(insert(table, name), map(astuple, rows[whole:]))


def same_rows(live: Sequence[Sequence[Any]], rows: Sequence[Row]) -> bool:
    """Whether ``live`` (rows read back from a table) holds exactly the values of ``rows``
    (as multisets): then writing ``rows`` in their place would leave the table as it is.
    A value goes into and comes out of a column the same way each time (SQLite's type
    affinity, applied again to what it returned, changes nothing; PostgreSQL's cells are
    read as SQLite gives them), so rows read back equal to the values are what writing
    the values would give back. Anything else (a difference, or only a type the writer
    would bring into line) is not the same."""
    if len(live) != len(rows):
        return False
    # As sets (compared in C): equal sets of equal sizes, the live rows holding no row
    # twice, are equal multisets.
    held = set(map(tuple, live))
    return len(held) == len(live) and held == set(map(msgspec.structs.astuple, rows))


def holds(conn: Conn, table: Table, name: str, contract: str, rows: Sequence[Row]) -> bool:
    """Whether ``contract``'s rows of the table are exactly ``rows`` (:func:`same_rows`).
    Counted first, from the key's index: a write that adds rows (a return, a period)
    reads none of them back."""
    assert table.key[0] == "contract"
    counted = conn.execute(f"SELECT COUNT(*) FROM {name} WHERE contract = ?",
                           (contract,)).fetchone()
    if counted is None or counted[0] != len(rows):
        return False
    live = conn.execute(f"SELECT {', '.join(table.columns)} FROM {name} WHERE contract = ?",
                        (contract,)).fetchall()
    return same_rows(live, rows)


def delete_contracts(conn: Conn, table: Table, name: str, contracts: Iterable[str]) -> None:
    assert table.key[0] == "contract"
    conn.executemany(f"DELETE FROM {name} WHERE contract = ?", [(c,) for c in contracts])


@cache
def _booleans(row: type[Row]) -> tuple[int, ...]:
    return tuple(i for i, (_, t, _) in enumerate(columns(row)) if t == "BOOLEAN")


def published(table: Table, values: Sequence[Any]) -> dict[str, Any]:
    """A stored row in its published JSON shape (``projections/*.schema.json``): booleans
    as true/false (SQLite stores 0/1), every other cell as read."""
    row = dict(zip(table.columns, values, strict=True))
    for i in _booleans(table.row):
        name = table.columns[i]
        if row[name] is not None:
            row[name] = bool(row[name])
    return row


def select_ordered(conn: Conn, table: Table,
                   name: str) -> sqlite3.Cursor | psycopg.Cursor[tuple[Any, ...]]:
    """Every row of a table in key order: the canonical order of dumps."""
    return conn.execute(f"SELECT {', '.join(table.columns)} FROM {name} "
                        f"ORDER BY {', '.join(table.key)}")


def existing(conn: Conn, names: Iterable[str]) -> set[str]:
    wanted = list(names)
    marks = ", ".join("?" * len(wanted))
    catalog = ("SELECT name FROM sqlite_master WHERE type = 'table' AND name" if
               sqldb.dialect(conn) == "sqlite" else
               "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND "
               "tablename")
    rows = conn.execute(f"{catalog} IN ({marks})", wanted).fetchall()
    return {r[0] for r in rows}
