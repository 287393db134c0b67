"""What each contract's rows of each live table were when the projector last wrote or
checked them, as a digest, so a catch-up can tell a table it would leave as it is
without reading the rows back.

A write's catch-up recomputes every read model of the contract it touched, and most
tables come out unchanged (a payment run leaves a contract's outcome lines, returns and
targets as they were): it used to read each table's rows back to find that out
(:func:`.sql.holds`), some 900 lines with their steps for a contract of fifty quarters,
about a fifth of a certification's time. The digest of the rows computed is compared
with the one kept instead; only without one (a table rebuilt since, or a contract not
yet written by a catch-up) are the rows read back.

A digest is kept only beside the rows it describes: written in the transaction that
wrote (or read back and found) those rows, and forgotten in the transaction that drops
or replaces the table (:mod:`.projector`'s rebuild and ``ensure``). It is a cache, never
evidence: ``audit verify`` compares the tables themselves. Rows changed behind the
projector's back (by hand, in SQL) are not noticed by the next catch-up, as they were
not before for a contract it did not touch; ``audit verify`` finds them, ``replay``
mends them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import msgspec

from ..storage import sqldb
from ..storage.sqldb import Conn
from .base import Row

TABLE = "projection_digests"

_DDL = ("CREATE TABLE IF NOT EXISTS projection_digests (contract TEXT NOT NULL, "
        "table_name TEXT NOT NULL, digest {blob} NOT NULL, "
        "PRIMARY KEY (contract, table_name)){tail}")
_KEEP = ("INSERT INTO projection_digests VALUES (?, ?, ?) ON CONFLICT (contract, "
         "table_name) DO UPDATE SET digest = excluded.digest")

_encode = msgspec.msgpack.Encoder().encode


def ddl(conn: Conn) -> str:
    if sqldb.dialect(conn) == "sqlite":
        return _DDL.format(blob="BLOB", tail=" WITHOUT ROWID")
    return _DDL.format(blob="BYTEA", tail="")


def of(rows: Sequence[Row]) -> bytes:
    """The rows' digest: their values, in their order (the same rows computed again come
    in the same order; rows equal in another order only miss the shortcut). SHA-256 cut
    to 16 bytes: OpenSSL's SHA-256 hashes a contract's rows in half BLAKE2b's time here,
    and 128 bits leave no chance of two different sets of rows passing for each other."""
    return hashlib.sha256(_encode(rows)).digest()[:16]


def kept(conn: Conn, contract: str) -> dict[str, bytes]:
    """The digest kept for each table of ``contract`` (by live table name)."""
    return {name: bytes(digest) for name, digest in conn.execute(
        "SELECT table_name, digest FROM projection_digests WHERE contract = ?",
        (contract,)).fetchall()}


def keep(conn: Conn, contract: str, digests: Iterable[tuple[str, bytes]]) -> None:
    conn.executemany(_KEEP, [(contract, name, digest) for name, digest in digests])


def forget(conn: Conn, tables: Sequence[str]) -> None:
    """Forget every digest of ``tables`` (in the transaction that replaces them)."""
    marks = ", ".join("?" * len(tables))
    conn.execute(f"DELETE FROM projection_digests WHERE table_name IN ({marks})",
                 list(tables))
