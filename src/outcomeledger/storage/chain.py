"""Hash chains and the ledger head (DESIGN 2): tamper evidence, anchored by a head kept
outside the store.

Each event stores ``prev_hash``, the SHA-256 of the previous event's stored bytes in its
contract stream (``GENESIS`` for the first). The ledger head is the last position plus a
SHA-256 over every stream's head ``contract<TAB>version<TAB>hash`` line, in the global
order of those head events.

The chains alone only show the stored events agree with each other: whoever can write
the store can rewrite a whole chain with every later hash recomputed, delete the newest
events, or delete everything, and the chains still verify. Only a head published outside
the store (a board paper, a transparency page, a signed checkpoint: checkpoints.py) pins
the whole history, including its tail.
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from uuid import UUID

import msgspec

from ..domain import codec
from ..domain.events import GENESIS
from . import workers as processes


class _Link(msgspec.Struct):
    """Just the fields the chain needs; decoding skips the rest cheaply."""

    contract: str
    prev_hash: str = GENESIS


_link_decoder = msgspec.json.Decoder(_Link)


@dataclass(frozen=True, slots=True)
class Head:
    position: int
    hash: str
    streams: int

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        position, _, digest = text.partition(":")
        if not position.isdigit() or len(digest) != 64:
            raise ValueError(f"expected POSITION:SHA256 (got {text!r})")
        return cls(int(position), digest, -1)


@dataclass(frozen=True, slots=True)
class Mismatch:
    contract: str
    position: int | None
    version: int | None
    what: str

    def __str__(self) -> str:
        where = [self.contract]
        if self.position is not None:
            where.append(f"position {self.position}")
        if self.version is not None:
            where.append(f"v{self.version}")
        return f"{' '.join(where)}: {self.what}"


# The checks of one event, in the order a verifier makes them (mismatches of segments
# verified apart are put back in this order when joined).
_PARSE, _ORDER, _STREAM, _VERSION, _PREV, _DECODE = range(6)

#: What the verifier keeps per stream: (contract, version, hash, position, topic, state)
#: of the stream's latest event. A plain tuple: it is replaced once per event verified.
_Head = tuple[str, int, str, int, str, bytes]


@dataclass
class ChainVerifier:
    """Checks stored events fed in global order; collects every mismatch found.

    Every event's hash and chain link is always checked. ``full_decode`` also decodes
    every event and checks its bytes are the canonical encoding; without it, only each
    stream's latest event gets that check (:meth:`check_heads`): an edit anywhere else
    already breaks the next event's ``prev_hash``, so the chain catches it, and the full
    decode costs several times the hashing (``audit verify --full`` still does it).
    """

    full_decode: bool = True
    #: A segment of the ledger that starts after position 1 (see :meth:`join`): the first
    #: event met of each stream links to events another verifier has seen.
    opened: bool = False
    streams: dict[str, _Head] = field(default_factory=dict)  # by stream id (uuid hex)
    mismatches: list[Mismatch] = field(default_factory=list)
    position: int = 0
    count: int = 0
    # contract -> its stream id (uuid hex): uuid5 costs more than the rest of a check.
    _stream_of: dict[str, str] = field(default_factory=dict, repr=False)
    # (position, check) of each mismatch, in the order a single pass finds them.
    _order: list[tuple[int, int]] = field(default_factory=list, repr=False)
    # With ``opened``: (contract, position, version, prev_hash) of the first event of each
    # stream, whose link is checked when the segment is joined to the one before it.
    _first: dict[str, tuple[str, int, int, str]] = field(default_factory=dict, repr=False)
    # Stream id -> the canonical ``"contract":"REF"`` bytes of a stream whose latest event
    # names the contract the stream belongs to: the fast path's membership check.
    _member: dict[str, bytes] = field(default_factory=dict, repr=False)

    def add(self, position: int, stream: UUID, version: int, topic: str,
            state: bytes) -> str:
        """Check one stored event; returns its hash."""
        key = stream.hex
        self.add_rows(((position, key, version, topic, state),))
        head = self.streams.get(key)
        return head[2] if head is not None and head[5] is state else codec.event_hash(state)

    def add_rows(self, rows: Iterable[Sequence[Any]], *, topics: bool = True) -> None:
        """Check stored events given as (position, stream id as uuid hex, version, topic,
        stored bytes) in global order: the rows a raw cursor returns, so a whole ledger
        is checked without building an object per event.

        ``topics=False``: rows without the topic (position, stream, version, bytes). The
        chain never needs it; only the canonical decode of each stream's latest event
        does, so :meth:`fill_topics` reads those few afterwards (the column costs a
        sixth of a raw read). Not with ``full_decode``, which decodes every event.
        """
        assert topics or not self.full_decode
        sha256 = hashlib.sha256
        decode = _link_decoder.decode
        heads = self.streams
        stream_of = self._stream_of
        member = self._member
        full = self.full_decode
        opened = self.opened
        last = self.position
        count = 0
        topic = ""
        for row in rows:
            if topics:
                position, stream, version, topic, state = row
            else:
                position, stream, version, state = row
            count += 1
            digest = sha256(state).hexdigest()
            head = heads.get(stream)
            # The fast path, taken by every event of an intact ledger but a stream's first:
            # the event follows its stream's head in position and version, and its bytes
            # hold the head's hash as `prev_hash` and name the stream's contract. That is
            # a commitment to the head as strong as the parsed field (its own hash, checked
            # by the next event or pinned as a head, covers every byte), at the price of
            # two substring searches instead of a parse. Anything else takes the full path
            # below, which names what is wrong.
            if (head is not None and not full and position > last
                    and version == head[1] + 1 and stream in member
                    and b'"prev_hash":"%s"' % head[2].encode() in state
                    and member[stream] in state):
                last = position
                heads[stream] = (head[0], version, digest, position, topic, state)
                continue
            try:
                link = decode(state)
            except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as e:
                # (msgspec reports bytes that are not UTF-8 inside a string as the last)
                self._mismatch(_uuid_text(stream), position, version,
                               f"stored bytes do not parse: {e}", _PARSE)
                last = max(last, position)
                continue
            contract = link.contract
            if position <= last:
                self._mismatch(contract, position, version,
                               f"positions out of order (after {last})", _ORDER)
            else:
                last = position
            expected_stream = stream_of.get(contract)
            if expected_stream is None:
                expected_stream = stream_of[contract] = codec.stream_id_of(contract).hex
            if expected_stream != stream:
                self._mismatch(contract, position, version,
                               f"event names contract {contract!r} but is stored in stream "
                               f"{_uuid_text(stream)}", _STREAM)
                member.pop(stream, None)
            else:
                member[stream] = b'"contract":%s' % msgspec.json.encode(contract)
            if head is None:
                if opened:
                    self._first[stream] = (contract, position, version, link.prev_hash)
                elif version != 1 or link.prev_hash != GENESIS:
                    self._link(contract, position, version, link.prev_hash, None)
            elif version != head[1] + 1 or link.prev_hash != head[2]:
                self._link(contract, position, version, link.prev_hash, head)
            if full:
                self._check_decodes(contract, position, version, topic, state)
            heads[stream] = (contract, version, digest, position, topic, state)
        self.position = last
        self.count += count

    def fill_topics(self, topics: Callable[[list[int]], dict[int, str]]) -> None:
        """The topics of the stream heads left without one (``add_rows(topics=False)``),
        from ``topics``: positions -> topic of each stored event."""
        missing = [h[3] for h in self.streams.values() if not h[4]]
        if not missing:
            return
        found = topics(missing)
        for stream, (contract, version, digest, position, topic, state) in list(
                self.streams.items()):
            if not topic:
                self.streams[stream] = (contract, version, digest, position,
                                        found.get(position, ""), state)

    def _mismatch(self, contract: str, position: int, version: int, what: str,
                  check: int) -> None:
        self.mismatches.append(Mismatch(contract, position, version, what))
        self._order.append((position, check))

    def _link(self, contract: str, position: int, version: int, prev_hash: str,
              head: _Head | None) -> None:
        """The mismatches of an event that does not follow ``head`` (None: the stream's
        first event) in its stream."""
        expected_version, expected_prev = (1, GENESIS) if head is None else (
            head[1] + 1, head[2])
        if version != expected_version:
            self._mismatch(contract, position, version,
                           f"stream version v{version} follows v{expected_version - 1}: "
                           "events missing or reordered", _VERSION)
        if prev_hash != expected_prev:
            previous = "" if head is None else f"at position {head[3]}, "
            self._mismatch(contract, position, version,
                           f"prev_hash {prev_hash[:16]}… does not match the hash of the "
                           f"previous event ({previous}{expected_prev[:16]}…): that event "
                           "or an earlier one was edited, deleted or reordered", _PREV)

    def join(self, later: ChainVerifier) -> None:
        """Take in ``later``, a verifier fed (``opened``) the events that follow this one's:
        its streams' first links are checked against this one's heads, and the result is
        exactly what one verifier fed every event in order would hold."""
        for stream, (contract, position, version, prev_hash) in later._first.items():
            head = self.streams.get(stream)
            if head is None and self.opened:
                self._first.setdefault(stream, (contract, position, version, prev_hash))
            elif head is None:
                if version != 1 or prev_hash != GENESIS:
                    self._link(contract, position, version, prev_hash, None)
            elif version != head[1] + 1 or prev_hash != head[2]:
                self._link(contract, position, version, prev_hash, head)
        found = sorted(zip(self._order + later._order, self.mismatches + later.mismatches,
                           strict=True), key=lambda item: item[0])
        self._order = [order for order, _ in found]
        self.mismatches = [mismatch for _, mismatch in found]
        self.streams.update(later.streams)
        self._stream_of.update(later._stream_of)
        self.position = max(self.position, later.position)
        self.count += later.count

    def check_heads(self) -> None:
        """The canonical decode check of each stream's latest event (the one event no
        later ``prev_hash`` vouches for); a no-op when every event had it already."""
        if self.full_decode:
            return
        for contract, version, _digest, position, topic, state in sorted(
                self.streams.values(), key=lambda h: h[3]):
            self._check_decodes(contract, position, version, topic, state)

    def _check_decodes(self, contract: str, position: int, version: int, topic: str,
                       state: bytes) -> None:
        try:
            event = codec.decode(topic, state)
        except codec.DecodeError as e:
            self._mismatch(contract, position, version, f"does not decode as {topic}: {e}",
                           _DECODE)
            return
        if topic in codec.CURRENT_TOPICS and codec.encode(event) != state:
            self._mismatch(contract, position, version, "stored bytes are not the canonical "
                           "encoding of the event (edited by hand?)", _DECODE)

    def head(self) -> Head:
        return ledger_head(((h[0], h[1], h[2], h[3]) for h in self.streams.values()),
                           self.position)


def verify(batches: Iterable[Iterable[tuple[int, str, int, str, bytes]]], *,
           full_decode: bool = False) -> ChainVerifier:
    """Every chain of the stored events fed as raw rows in global order, then the canonical
    decode check of each stream's latest event (of every event with ``full_decode``)."""
    verifier = ChainVerifier(full_decode=full_decode)
    for rows in batches:
        verifier.add_rows(rows)
    verifier.check_heads()
    return verifier


# -- a SQLite ledger, verified by several processes at once ------------------------------

_RANGE_SQL = ("SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
              "WHERE rowid > ? AND rowid <= ? ORDER BY rowid")
#: The same rows without the topic (see ``ChainVerifier.add_rows``).
_RANGE_CHAIN_SQL = ("SELECT rowid, originator_id, originator_version, state FROM stored_events "
                    "WHERE rowid > ? AND rowid <= ? ORDER BY rowid")
#: Rows fetched at a time: small enough that a batch stays in the CPU caches.
_FETCH = 2000


class _Segment(msgspec.Struct, array_like=True):
    """A verifier's findings as a worker process hands them back."""

    count: int
    position: int
    streams: dict[str, tuple[str, int, str, int, str, bytes]]
    mismatches: list[tuple[str, int | None, int | None, str]]
    order: list[tuple[int, int]]
    first: dict[str, tuple[str, int, int, str]]
    stream_of: dict[str, str]


def verify_sqlite(path: str, upto: int, *, full_decode: bool = False,
                  workers: int = 2) -> ChainVerifier:
    """:func:`verify` of a SQLite ledger file through position ``upto``, with the positions
    split into ``workers`` consecutive ranges verified in parallel processes and joined
    in order (:meth:`ChainVerifier.join`): the same result in a fraction of the time,
    since hashing and parsing every event is CPU work each process does alone.

    Workers are fresh interpreters (``python -m outcomeledger.storage.chain``; see
    :mod:`outcomeledger.storage.workers` for why not forks).
    """
    bounds = [upto * k // workers for k in range(workers + 1)]
    ranges = list(itertools.pairwise(bounds))
    procs = [subprocess.Popen(  # noqa: S603 (our own interpreter and module, no shell)
        [sys.executable, "-m", "outcomeledger.storage.chain", path, str(after), str(until),
         "full" if full_decode else "chains"], stdout=subprocess.PIPE,
        env=processes.environment())
        for after, until in ranges[1:]]
    # The first range is this process's own share: one interpreter fewer to start.
    parts = [_range_verifier(path, *ranges[0], full_decode)]
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"a verification worker failed (exit {proc.returncode})")
        parts.append(_from_segment(_segment_decoder.decode(out), full_decode))
    whole = parts[0]
    for part in parts[1:]:
        whole.join(part)
    whole.check_heads()
    return whole


_segment_decoder = msgspec.msgpack.Decoder(_Segment)


def _from_segment(seg: _Segment, full_decode: bool) -> ChainVerifier:
    return ChainVerifier(full_decode=full_decode, opened=bool(seg.first), streams=seg.streams,
                         mismatches=[Mismatch(*m) for m in seg.mismatches],
                         position=seg.position, count=seg.count, _stream_of=seg.stream_of,
                         _order=seg.order, _first=seg.first)


def _range_verifier(path: str, after: int, upto: int, full_decode: bool) -> ChainVerifier:
    verifier = ChainVerifier(full_decode=full_decode, opened=after > 0)
    with closing(sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True,
                                 isolation_level=None)) as conn:
        conn.execute("BEGIN")  # one snapshot: the heads' topics are those of the rows read
        # Only the full decode needs every event's topic (see ``add_rows``).
        cursor = conn.execute(_RANGE_SQL if full_decode else _RANGE_CHAIN_SQL, (after, upto))
        while rows := cursor.fetchmany(_FETCH):
            verifier.add_rows(rows, topics=full_decode)

        def topics(positions: list[int]) -> dict[int, str]:
            found: dict[int, str] = {}
            for i in range(0, len(positions), 500):
                part = positions[i:i + 500]
                found.update(conn.execute(
                    "SELECT rowid, topic FROM stored_events WHERE rowid IN "
                    f"({', '.join('?' * len(part))})", part).fetchall())
            return found

        verifier.fill_topics(topics)
    return verifier


def _verify_range(path: str, after: int, upto: int, full_decode: bool) -> bytes:
    verifier = _range_verifier(path, after, upto, full_decode)
    return msgspec.msgpack.encode(_Segment(
        verifier.count, verifier.position, verifier.streams,
        [(m.contract, m.position, m.version, m.what) for m in verifier.mismatches],
        verifier._order, verifier._first, verifier._stream_of))


def head_of(latest: Iterable[tuple[int, int, bytes]], position: int) -> Head | None:
    """The ledger head from each stream's latest event alone, given as (position, version,
    stored bytes), and the ledger's last position: what :meth:`ChainVerifier.head` gives
    after reading every event, for a store whose streams are intact. None when an event
    does not parse (the full walk decides what such a ledger's head is)."""
    heads: list[StreamHead] = []
    for at, version, state in latest:
        try:
            contract = _link_decoder.decode(state).contract
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
            return None
        heads.append((contract, version, codec.event_hash(state), at))
    return ledger_head(heads, position)


def _uuid_text(stream: str) -> str:
    """A stream id as messages print it (``8-4-4-4-12``), or as stored if it is no uuid."""
    try:
        return str(UUID(stream))
    except ValueError:
        return stream


#: (contract, version, hash, position) of a stream's latest event.
StreamHead = tuple[str, int, str, int]


def ledger_head(heads: Iterable[StreamHead], position: int) -> Head:
    """The head over every stream's latest event, taken in global order of those events."""
    ordered = sorted(heads, key=lambda h: h[3])
    digest = hashlib.sha256()
    for contract, version, event_hash, _position in ordered:
        digest.update(f"{contract}\t{version}\t{event_hash}\n".encode())
    return Head(position, digest.hexdigest(), len(ordered))


if __name__ == "__main__":  # a worker of verify_sqlite: PATH AFTER UPTO full|chains
    sys.stdout.buffer.write(_verify_range(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                          sys.argv[4] == "full"))
