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
  pack can be checked against the checkpoint (:mod:`outcomeledger.audit.evidence`),

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
same key (a returns file's digest, say).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..domain import codec
from ..domain.errors import InvalidInput, Problem
from ..domain.signing import SignatureError, load_private_key, load_public_key, public_key_text
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


def _signed_bytes(checkpoint: Checkpoint) -> bytes:
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
    signature = base64.b64encode(key.sign(_signed_bytes(unsigned))).decode()
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


# -- reading keys and logs, refusing bad input with FILE:LINE: field: given, expected ------

def _read(path: Path, flag: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise InvalidInput([Problem(str(path), None, flag,
                                    f"cannot read ({e.strerror or e})")]) from None


def read_private_key(path: Path) -> Ed25519PrivateKey:
    """The signer's key file: an unencrypted PKCS8 PEM, as ``returns keygen`` writes."""
    try:
        return load_private_key(_read(path, "--key"))
    except SignatureError as e:
        raise InvalidInput([Problem(str(path), None, "--key", f"{e}; expected the private "
                                    "key file written by `returns keygen --out`")]) from None


def read_public_key(path: Path) -> Ed25519PublicKey:
    """The verifier's key file: base64 of the raw key (as ``returns keygen`` prints it)
    or a PEM public key. A private key is refused: checking needs only the public one,
    and asking for the private key would teach people to hand it around."""
    data = _read(path, "--key")
    if b"PRIVATE KEY" in data:
        raise InvalidInput([Problem(str(path), None, "--key", "is a private key; give the "
                                    "public key (the base64 line `returns keygen` printed)")])
    try:
        return load_public_key(data.decode("utf-8", errors="replace"))
    except SignatureError as e:
        raise InvalidInput([Problem(str(path), None, "--key", f"{e}; expected the base64 "
                                    "public key `returns keygen` printed, or a PEM public "
                                    "key")]) from None


_AT = re.compile(r" - at `\$\.?([A-Za-z_]*)(.*)`$")


def _given(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _problem_of(source: str, line: int, data: Any, error: msgspec.ValidationError) -> Problem:
    """msgspec's message turned into ``field: what was given, expected ...``."""
    message = str(error)
    match = _AT.search(message)
    expected = message[:match.start()] if match else message
    field = match.group(1) if match and match.group(1) else "line"
    named = re.search(r"field `([^`]*)`", expected)
    if field == "line" and named:  # a missing or unknown field is reported at `$`
        field = named.group(1)
    if expected.startswith("Object missing required field"):
        return Problem(source, line, field, "missing (every checkpoint line has it)")
    given = _given(data[field]) if isinstance(data, dict) and field in data else _given(data)
    return Problem(source, line, field, f"got {given}; {expected[0].lower()}{expected[1:]}")


def parse_line(raw: bytes, source: str, number: int) -> Checkpoint:
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as e:
        raise InvalidInput([Problem(source, number, "line", f"not JSON ({e}); expected one "
                                    "checkpoint object per line")]) from None
    except RecursionError:  # msgspec's untyped decode recurses per nesting level
        raise InvalidInput([Problem(source, number, "line", "JSON nested too deeply; "
                                    "expected one flat checkpoint object per line")]) from None
    if not isinstance(data, dict):
        raise InvalidInput([Problem(source, number, "line", f"got {_given(data)}; expected "
                                    "a JSON object")])
    try:
        checkpoint = msgspec.convert(data, Checkpoint)
    except msgspec.ValidationError as e:
        raise InvalidInput([_problem_of(source, number, data, e)]) from None
    problems: list[Problem] = []
    if checkpoint.checkpoint != KIND:
        problems.append(Problem(source, number, "checkpoint", f"got "
                                f"{_given(checkpoint.checkpoint)}; expected {KIND!r}"))
    if checkpoint.version != VERSION:
        problems.append(Problem(source, number, "version", f"got {checkpoint.version}; "
                                f"expected {VERSION}"))
    try:
        datetime.fromisoformat(checkpoint.time)
    except ValueError:
        problems.append(Problem(source, number, "time", f"got {_given(checkpoint.time)}; "
                                "expected an ISO timestamp"))
    if not checkpoint.signature:
        problems.append(Problem(source, number, "signature", "missing (an unsigned line "
                                "proves nothing)"))
    if problems:
        raise InvalidInput(problems)
    return checkpoint


def read_log(path: Path, *, missing_ok: bool = False) -> list[Entry]:
    """Every checkpoint of a log file, in file order (blank lines skipped); every bad
    line is reported, not only the first."""
    if missing_ok and not path.exists():
        return []
    data = _read(path, "--checkpoints" if not missing_ok else "--log")
    source = str(path)
    entries: list[Entry] = []
    problems: list[Problem] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            entries.append(Entry(source, number, parse_line(raw, source, number)))
        except InvalidInput as e:
            problems += e.problems
    if problems:
        raise InvalidInput(problems)
    if not entries and not missing_ok:
        raise InvalidInput([Problem(source, None, "--checkpoints", "holds no checkpoint; "
                                    "expected the log `audit checkpoint --log` appends to")])
    return entries


def check_signatures(entries: Sequence[Entry], key: Ed25519PublicKey, key_source: str) -> None:
    """Refuse unless every checkpoint is signed by ``key`` and says the same of itself."""
    expected = public_key_text(key)
    problems: list[Problem] = []
    for e in entries:
        c = e.checkpoint
        try:
            raw = base64.b64decode(c.signature, validate=True)
        except (ValueError, binascii.Error):
            problems.append(Problem(e.source, e.line, "signature", f"got {_given(c.signature)}"
                                    "; expected base64 of an Ed25519 signature"))
            continue
        if c.key != expected:
            problems.append(Problem(e.source, e.line, "key", f"got {_given(c.key)}; expected "
                                    f"the key in {key_source} ({expected})"))
            continue
        try:
            key.verify(raw, _signed_bytes(c))
        except InvalidSignature:
            problems.append(Problem(e.source, e.line, "signature", "does not verify with the "
                                    f"key in {key_source}: the checkpoint was altered or forged"))
            continue
        if c.stream_heads is not None:
            # Signed but self-contradictory (a faulty signer): its heads cannot be trusted.
            recomputed = ledger_head(c.stream_heads, c.position)
            if recomputed.hash != c.head or len(c.stream_heads) != c.streams:
                problems.append(Problem(e.source, e.line, "stream_heads", "do not hash to the "
                                        f"checkpoint's head {c.head[:16]}…"))
    if problems:
        raise InvalidInput(problems)


def load(log: Path, key: Path) -> list[Entry]:
    """A checkpoint log and its verifier's key, every signature checked."""
    public = read_public_key(key)
    entries = read_log(log)
    check_signatures(entries, public, str(key))
    return entries


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


def append(log: Path, checkpoint: Checkpoint) -> None:
    """Append one line and flush it to disk: a checkpoint the commissioner was told was
    written must survive a crash."""
    line = line_of(checkpoint)
    with log.open("ab") as out:
        # A last line without its newline (cut short by hand): start a line of our own.
        if out.tell() > 0:
            with log.open("rb") as previous:
                previous.seek(-1, os.SEEK_END)
                if previous.read(1) != b"\n":
                    line = b"\n" + line
        out.write(line)
        out.flush()
        os.fsync(out.fileno())
