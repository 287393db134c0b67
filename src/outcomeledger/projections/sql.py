"""SQL for projection tables, generated from their row types.

Column types follow the row Struct: text (money and quantities included, as exact
decimal text), integer, or boolean stored as 0/1. Tables keyed by contract are
``WITHOUT ROWID`` so a contract's rows sit together and are replaced cheaply.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from msgspec import inspect

from .base import Row, Table

#: eventsourcing's single-row tracking table (SQLiteTrackingRecorder), created the same
#: way, with its migration marker, so eventsourcing readers recognise it.
TRACKING_DDL = ("CREATE TABLE IF NOT EXISTS tracking (application_name TEXT, "
                "notification_id INTEGER, PRIMARY KEY (application_name)) WITHOUT ROWID")
TRACKING_MARKER = "INSERT OR IGNORE INTO tracking VALUES ('__migration__', 1)"

#: Secondary indexes on live tables: name -> (table, columns).
INDEXES = {"proj_audit_trail_by_contract": ("proj_audit_trail", "contract, position")}


def _sql_type(t: Any) -> tuple[str, bool]:
    """(SQL type, nullable) of a msgspec type."""
    if isinstance(t, inspect.Metadata):
        return _sql_type(t.type)
    if isinstance(t, inspect.UnionType):
        kinds = [x for x in t.types if not isinstance(x, inspect.NoneType)]
        assert len(kinds) == 1, f"unsupported union {t}"
        return _sql_type(kinds[0])[0], True
    if isinstance(t, inspect.StrType):
        return "TEXT", False
    if isinstance(t, inspect.IntType | inspect.BoolType):
        return "INTEGER", False
    raise TypeError(f"projection cells are text, integers or booleans (got {t})")


def columns(row: type[Row]) -> list[tuple[str, str, bool]]:
    """(name, SQL type, nullable) of every column of ``row``, in field order."""
    info = inspect.type_info(row)
    assert isinstance(info, inspect.StructType)
    return [(f.name, *_sql_type(f.type)) for f in info.fields]


def create(table: Table, name: str) -> str:
    cols = [f"{n} {t}{'' if nullable else ' NOT NULL'}" for n, t, nullable in
            columns(table.row)]
    if table.key == ("position",):
        # The audit trail is keyed by the global position: make it the rowid.
        cols = [c.replace("position INTEGER NOT NULL", "position INTEGER PRIMARY KEY")
                for c in cols]
        return f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(cols)})"
    return (f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(cols)}, "
            f"PRIMARY KEY ({', '.join(table.key)})) WITHOUT ROWID")


def layout(table: Table) -> list[tuple[str, str, int, int]]:
    """(column, type, not null, key position) as ``PRAGMA table_info`` reports them for a
    table created by :func:`create`."""
    rowid = table.key == ("position",)
    return [(n, t, int(not nullable and not (rowid and n == "position")),
             table.key.index(n) + 1 if n in table.key else 0)
            for n, t, nullable in columns(table.row)]


def live_layout(conn: sqlite3.Connection, name: str) -> list[tuple[str, str, int, int]]:
    return [(r[1], r[2], r[3], r[5]) for r in conn.execute(f"PRAGMA table_info({name})")]


def insert(table: Table, name: str) -> str:
    marks = ", ".join("?" * len(table.columns))
    return f"INSERT INTO {name} ({', '.join(table.columns)}) VALUES ({marks})"


def write(conn: sqlite3.Connection, table: Table, name: str, rows: Sequence[Row]) -> None:
    if rows:
        conn.executemany(insert(table, name), [msgspec.structs.astuple(r) for r in rows])


def delete_contracts(conn: sqlite3.Connection, table: Table, name: str,
                     contracts: Iterable[str]) -> None:
    assert table.key[0] == "contract"
    conn.executemany(f"DELETE FROM {name} WHERE contract = ?", [(c,) for c in contracts])


def select_ordered(conn: sqlite3.Connection, table: Table, name: str) -> sqlite3.Cursor:
    """Every row of a table in key order: the canonical order of dumps."""
    return conn.execute(f"SELECT {', '.join(table.columns)} FROM {name} "
                        f"ORDER BY {', '.join(table.key)}")


def existing(conn: sqlite3.Connection, names: Iterable[str]) -> set[str]:
    wanted = list(names)
    marks = ", ".join("?" * len(wanted))
    rows = conn.execute(f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
                        f"({marks})", wanted).fetchall()
    return {r[0] for r in rows}
