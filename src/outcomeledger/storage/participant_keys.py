"""The participant key store: what links a pseudonym in the events to a person's id.

A contract agreed with ``participant_ids = "pseudonymised"`` never stores a participant id
in its events (README "Participant data and erasure"). Each participant gets a random
32-byte secret of its own, and its pseudonym is ``P-`` + the first 20 hex digits of
HMAC-SHA256(secret, contract + "\\n" + id): the events, projections, packs and feed hold
the pseudonym only. The store keeps, per (contract, participant):

* ``lookup``: HMAC-SHA256 of the id under the contract's own random salt (table
  ``participant_key_salts``), so that the store holds no id either and the same id finds
  the same row (a later return, a restatement, ``participant erase``);
* ``pseudonym`` and ``secret``: the link. Erasure sets both to NULL (with SQLite's
  ``secure_delete``, and the write-ahead log truncated after it): nothing left can map the
  id to the pseudonym or the pseudonym back to anyone;
* ``erased_at``: set by the erasure; the row stays as a tombstone, so that a later return
  naming the erased id is refused rather than linked back or counted as a new person.

Two tables beside the events (``participant_keys``, ``participant_key_salts``), in the
same database so that a key is written in the same transaction as the first events
that use it, never a projection (``replay`` neither reads nor rebuilds them) and never
in an evidence pack: back them up separately (README).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import sqldb

KEYS = "participant_keys"
SALTS = "participant_key_salts"
#: Hex digits of the HMAC a pseudonym keeps (80 bits).
PSEUDONYM_DIGITS = 20

_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {SALTS} (contract TEXT PRIMARY KEY, salt TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {KEYS} (contract TEXT NOT NULL, lookup TEXT NOT NULL, "
    "pseudonym TEXT, secret TEXT, created_at TEXT NOT NULL, erased_at TEXT, "
    "PRIMARY KEY (contract, lookup))",
    f"CREATE UNIQUE INDEX IF NOT EXISTS {KEYS}_pseudonym ON {KEYS} (contract, pseudonym)",
)


def pseudonym_of(secret: bytes, contract: str, participant: str) -> str:
    """The pseudonym ``secret`` makes of ``participant`` in ``contract``."""
    digest = hmac.new(secret, f"{contract}\n{participant}".encode(), hashlib.sha256)
    return "P-" + digest.hexdigest()[:PSEUDONYM_DIGITS]


def evidence_digest(secret: bytes, evidence: str) -> str:
    """A participant's evidence reference as stored: a keyed digest under the participant's
    secret (whoever holds the document can show it matches while the key exists)."""
    return "E-" + hmac.new(secret, evidence.encode(), hashlib.sha256).hexdigest()


def _lookup(salt: bytes, participant: str) -> str:
    return hmac.new(salt, participant.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Key:
    """One participant's key: the pseudonym and the secret that made it."""

    pseudonym: str
    secret: bytes


@dataclass(frozen=True, slots=True)
class Erased:
    """A participant whose key was destroyed, and when."""

    erased_at: str


@dataclass(slots=True)
class ContractKeys:
    """The keys of one contract's participants that an import names: those found in the
    store and those made for participants new to it (written with the import's events)."""

    contract: str
    salt: bytes
    new_salt: bool
    found: dict[str, Key | Erased] = field(default_factory=dict)
    made: dict[str, tuple[str, Key]] = field(default_factory=dict)  # id -> (lookup, key)

    def key(self, participant: str) -> Key | Erased:
        """The participant's key, made now if the store has none (and no tombstone)."""
        known = self.found.get(participant)
        if known is not None:
            return known
        made = self.made.get(participant)
        if made is None:
            secret = secrets.token_bytes(32)
            made = (_lookup(self.salt, participant),
                    Key(pseudonym_of(secret, self.contract, participant), secret))
            self.made[participant] = made
        return made[1]


def ensure_tables(conn: sqldb.Conn) -> None:
    """Create the key store's tables if missing (idempotent; its own statements)."""
    for statement in _CREATE:
        conn.execute(statement)


def has_tables(conn: sqldb.Conn) -> bool:
    if sqldb.dialect(conn) == "postgresql":
        rows = conn.execute("SELECT to_regclass(?)", (KEYS,)).fetchall()
        return rows[0][0] is not None
    return bool(conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                             (KEYS,)).fetchall())


def load(conn: sqldb.Conn, contract: str, participants: Iterable[str] | None) -> ContractKeys:
    """The keys the store holds for ``participants`` of ``contract``; None: the store has
    no tables yet (so no keys)."""
    rows = [] if participants is None else conn.execute(
        f"SELECT salt FROM {SALTS} WHERE contract = ?", (contract,)).fetchall()
    salt, new_salt = (bytes.fromhex(rows[0][0]), False) if rows else (
        secrets.token_bytes(32), True)
    keys = ContractKeys(contract, salt, new_salt)
    if new_salt or participants is None:
        return keys
    for participant in set(participants):
        found = conn.execute(
            f"SELECT pseudonym, secret, erased_at FROM {KEYS} WHERE contract = ? AND "
            "lookup = ?", (contract, _lookup(salt, participant))).fetchall()
        if found:
            pseudonym, secret, erased_at = found[0]
            keys.found[participant] = Erased(erased_at) if erased_at is not None else Key(
                pseudonym, bytes.fromhex(secret))
    return keys


def save(conn: sqldb.Conn, keys: Iterable[ContractKeys], created_at: str) -> None:
    """Write the keys made for an import, inside the caller's transaction (the one that
    appends the events naming them). A key another writer made first for the same
    participant is a unique-key conflict: the caller retries, and finds that key."""
    ensure_tables(conn)
    for contract in keys:
        if contract.new_salt and contract.made:
            conn.execute(f"INSERT INTO {SALTS} (contract, salt) VALUES (?, ?)",
                         (contract.contract, contract.salt.hex()))
        for lookup, key in contract.made.values():
            conn.execute(f"INSERT INTO {KEYS} (contract, lookup, pseudonym, secret, "
                         "created_at) VALUES (?, ?, ?, ?, ?)",
                         (contract.contract, lookup, key.pseudonym, key.secret.hex(),
                          created_at))


def erase(conn: sqldb.Conn, contract: str, participant: str, erased_at: str) -> None:
    """Destroy a participant's key, inside the caller's transaction (the one appending the
    erasure event): the pseudonym and secret are overwritten; the lookup stays as a
    tombstone. SQLite is told to zero what it frees (``secure_delete``)."""
    if sqldb.dialect(conn) == "sqlite":
        conn.execute("PRAGMA secure_delete = ON")
    salt = conn.execute(f"SELECT salt FROM {SALTS} WHERE contract = ?",
                        (contract,)).fetchall()[0][0]
    conn.execute(f"UPDATE {KEYS} SET pseudonym = NULL, secret = NULL, erased_at = ? WHERE "
                 "contract = ? AND lookup = ?",
                 (erased_at, contract, _lookup(bytes.fromhex(salt), participant)))


def scrub(conn: sqldb.Conn) -> None:
    """After an erasure, outside its transaction. SQLite: copy the write-ahead log into the
    database and truncate it, so the log keeps no copy of the page that held the destroyed
    key. PostgreSQL: vacuum the key table, so no dead row version keeps it."""
    if sqldb.dialect(conn) == "sqlite":
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        conn.execute(f"VACUUM {KEYS}")
