"""Signed checkpoints: the ledger head anchored outside the database (issue 15, item 4).

Why they are needed. Every check :mod:`outcomeledger.storage.chain` makes is a check of the
stored events against each other. Whoever can write the events table can therefore
rewrite the whole chain consistently (edit an event, recompute every later hash), delete
the newest events, or delete everything and ``replay`` an empty ledger, and ``audit
verify`` still says "verified": nothing inside the database says what it held before.
What does is a head kept *outside* it. ``audit checkpoint --key KEY`` signs, with the
commissioner's Ed25519 key, one statement of

* ``position``: the ledger's last position, ``head``: the ledger head there (head.py:
  SHA-256 over every stream's head line, the same ``POSITION:HASH`` as ``audit head``),
* ``events`` and ``streams``: how many events and contract streams it covers,
* ``time``: when it was signed, ``key``: the public key that signed it,
* ``stream_heads`` (unless ``--no-streams``): each contract's ``[contract, version,
  hash, position]``, so a later mismatch names the contract, and a one-contract evidence
  pack can be checked against the checkpoint
  (:mod:`outcomeledger.audit.pack_verification`),

and appends it as one JSON line to a log the commissioner keeps or publishes (as
Certificate Transparency's signed tree heads and immudb's signed states).
``audit verify --checkpoints LOG --key PUB`` checks every line's signature and that the
ledger *extends* every checkpoint: up to its position the ledger still hashes to its head
and holds as many events, and it is not shorter. ``audit checkpoint --log`` makes the same
check before it appends, so a log is never extended over a rewritten ledger.

Why no Merkle tree. Merkle consistency and inclusion proofs exist so that a client
*without* the log can check, in O(log n) hashes, that a later tree extends an earlier one.
Here whoever checks holds what is checked: ``audit verify`` reads every event anyway (the
chains, the rules and the projections cost far more than one more hash pass) and an
evidence pack carries every event of its contracts. The head already commits to all that
came before it: each stream's head hash covers its whole stream through ``prev_hash``,
and the ledger head covers every stream's head, so the head at a checkpoint's position,
recomputed from today's ledger, equals the checkpointed one only if no event at or before
it was changed, removed or added. That is the consistency a Merkle proof would give, at the
cost of reading the prefix, which verification reads in any case. A second hash structure
(and its storage, written with every event) would buy only proof sizes nobody here needs.
One limit is shared with the head itself: the order of events *across* streams is only
pinned at stream heads (a stream's own order is pinned by its chain), which is all any
figure depends on, since each contract's state is a fold of its own stream.

The signed bytes are ``outcomeledger checkpoint v1\\n`` followed by the statement as
canonical JSON (sorted keys, no whitespace, without ``signature``): the prefix keeps a
checkpoint signature from ever being valid for another kind of message signed with the
same key (a returns file's digest, say). Reading, checking and appending to the log file
is checkpoint_log.py.
"""

from __future__ import annotations

import base64
import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..domain import codec
from ..domain.signing import public_key_text
from ..domain.timestamps import rfc3339
from ..storage import sqldb
from ..storage.chain import ChainVerifier
from ..storage.head import Head, StreamHead, ledger_head

KIND = "outcomeledger-checkpoint"
VERSION = 1
_DOMAIN = b"outcomeledger checkpoint v1\n"

_Hash = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
_Count = Annotated[int, msgspec.Meta(ge=0)]


class Checkpoint(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One line of a checkpoint log. ``signature`` (base64) is left out of the signed
    bytes; ``stream_heads`` is left out of the line when not taken."""

    checkpoint: str
    version: int
    position: Annotated[int, msgspec.Meta(ge=1)]
    head: _Hash
    events: _Count
    streams: _Count
    time: str
    key: str
    stream_heads: list[tuple[str, Annotated[int, msgspec.Meta(ge=1)], _Hash,
                             Annotated[int, msgspec.Meta(ge=1)]]] | None = None
    signature: str = ""

    def pinned(self) -> Head:
        return Head(self.position, self.head, self.streams)


_encoder = msgspec.json.Encoder(order="sorted")


def signed_bytes(checkpoint: Checkpoint) -> bytes:
    return _DOMAIN + _encoder.encode(msgspec.structs.replace(checkpoint, signature=""))


def make(verifier: ChainVerifier, key: Ed25519PrivateKey, *, streams: bool = True,
         now: datetime | None = None) -> Checkpoint:
    """A checkpoint of the ledger ``verifier`` has read, signed with ``key``."""
    head = verifier.head()
    heads = sorted(((h[0], h[1], h[2], h[3]) for h in verifier.streams.values()),
                   key=lambda h: h[3])
    moment = rfc3339((now or datetime.now(UTC)).replace(microsecond=0))
    unsigned = Checkpoint(KIND, VERSION, head.position, head.hash, verifier.count,
                          head.streams, moment, public_key_text(key.public_key()),
                          heads if streams else None)
    signature = base64.b64encode(key.sign(signed_bytes(unsigned))).decode()
    return msgspec.structs.replace(unsigned, signature=signature)


def line_of(checkpoint: Checkpoint) -> bytes:
    return _encoder.encode(checkpoint) + b"\n"


@dataclass(frozen=True, slots=True)
class Entry:
    """A checkpoint and where it was read."""

    source: str
    line: int
    checkpoint: Checkpoint

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


# -- the ledger against its checkpoints --------------------------------------------------

@dataclass(frozen=True, slots=True)
class Snapshot:
    """The chain verifier's state once every event up to a position was read."""

    position: int  # the last position read (at most the pin)
    events: int
    heads: tuple[StreamHead, ...]

    def head(self) -> Head:
        return ledger_head(self.heads, self.position)


def snapshot_of(verifier: ChainVerifier) -> Snapshot:
    return Snapshot(verifier.position, verifier.count,
                    tuple((h[0], h[1], h[2], h[3]) for h in verifier.streams.values()))


def walk(batches: Iterable[Sequence[Sequence[Any]]],
         pins: Iterable[int]) -> tuple[ChainVerifier, dict[int, Snapshot]]:
    """Read the stored events (raw rows in global order, as ``stored_batches`` gives
    them) once, taking a snapshot at each pinned position: the ledger's state at every
    checkpoint in one pass, however many checkpoints there are."""
    verifier = ChainVerifier(full_decode=False)
    pending = sorted(set(pins))
    snapshots: dict[int, Snapshot] = {}
    i = 0
    for batch in batches:
        rows = list(batch)
        positions = [r[0] for r in rows]
        start = 0
        while i < len(pending):
            cut = bisect.bisect_right(positions, pending[i], lo=start)
            verifier.add_rows(rows[start:cut])
            start = cut
            if cut == len(rows):
                break  # the pin may lie in a later batch
            snapshots[pending[i]] = snapshot_of(verifier)
            i += 1
        verifier.add_rows(rows[start:])
    for pin in pending[i:]:
        snapshots[pin] = snapshot_of(verifier)
    return verifier, snapshots


#: Each stream's latest event up to a position, and the events up to it.
_LATEST: dict[sqldb.Dialect, str] = {
    "sqlite": "SELECT rowid, originator_version, state FROM stored_events WHERE rowid IN "
              "(SELECT MAX(rowid) FROM stored_events WHERE rowid <= ? GROUP BY originator_id)",
    "postgresql": "SELECT DISTINCT ON (originator_id) notification_id, originator_version, "
                  "state FROM outcomeledger_events WHERE notification_id <= ? "
                  "ORDER BY originator_id, notification_id DESC",
}
_UPTO: dict[sqldb.Dialect, str] = {
    "sqlite": "SELECT COUNT(*), MAX(rowid) FROM stored_events WHERE rowid <= ?",
    "postgresql": "SELECT COUNT(*), MAX(notification_id) FROM outcomeledger_events "
                  "WHERE notification_id <= ?",
}


class _Named(msgspec.Struct):
    contract: str


_named = msgspec.json.Decoder(_Named)


def snapshots_of_heads(conn: sqldb.Conn, pins: Iterable[int]) -> dict[int, Snapshot] | None:
    """The snapshots :func:`walk` takes, from each stream's latest event up to each pin
    alone: one indexed query per checkpoint instead of another pass over every event.

    Only for a store whose every chain was just verified intact (``audit verify``'s own
    pass): then each latest event's hash vouches for its whole stream, as in
    :func:`outcomeledger.storage.chain.head_of`. None when a latest event does not parse (the
    walk then says what is wrong)."""
    kind = sqldb.dialect(conn)
    found: dict[int, Snapshot] = {}
    for pin in set(pins):
        if isinstance(conn, sqldb.PgConnection):
            rows, ((count, last),) = (conn.fetch(_LATEST[kind], (pin,)),
                                      conn.fetch(_UPTO[kind], (pin,)))
        else:
            rows = conn.execute(_LATEST[kind], (pin,)).fetchall()
            ((count, last),) = conn.execute(_UPTO[kind], (pin,)).fetchall()
        heads: list[StreamHead] = []
        for position, version, raw in rows:
            state = bytes(raw)
            try:
                contract = _named.decode(state).contract
            except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
                return None
            heads.append((contract, int(version), codec.event_hash(state), int(position)))
        found[pin] = Snapshot(int(last or 0), int(count), tuple(heads))
    return found


def problems(entries: Sequence[Entry], verifier: ChainVerifier,
             snapshots: dict[int, Snapshot]) -> list[str]:
    """What is wrong with the ledger (read by :func:`walk` with every entry's position
    pinned) against each checkpoint: an empty list when it extends them all."""
    found: list[str] = []
    end = verifier.position
    for e in entries:
        c = e.checkpoint
        if end < c.position:
            found.append(f"checkpoint {e.where} ({c.time}): the ledger ends at position "
                         f"{end} ({verifier.count} events) but the checkpoint is at position "
                         f"{c.position} ({c.events} events): events were deleted from the "
                         "tail, or the ledger was replaced")
            continue
        snap = snapshots[c.position]
        head = snap.head()
        if head.hash != c.head or snap.position != c.position:
            found.append(f"checkpoint {e.where} ({c.time}): the ledger up to position "
                         f"{c.position} hashes to {head.hash}, not the checkpointed "
                         f"{c.head}: an event at or before it was changed, removed or "
                         "inserted" + _streams_differ(c, snap))
        elif snap.events != c.events:
            found.append(f"checkpoint {e.where} ({c.time}): {snap.events} events up to "
                         f"position {c.position}, the checkpoint says {c.events}")
    return found


def _streams_differ(checkpoint: Checkpoint, snap: Snapshot) -> str:
    """Which contracts differ, when the checkpoint lists its stream heads."""
    if checkpoint.stream_heads is None:
        return ""
    then = {h[0]: tuple(h[1:]) for h in checkpoint.stream_heads}
    now = {h[0]: h[1:] for h in snap.heads}
    changed = sorted(c for c in then.keys() | now.keys() if then.get(c) != now.get(c))
    if not changed:
        return ""
    shown = ", ".join(changed[:10]) + (f" and {len(changed) - 10} more"
                                       if len(changed) > 10 else "")
    return f" (contracts whose history differs: {shown})"
