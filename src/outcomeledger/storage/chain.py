"""Hash chains (DESIGN 2): tamper evidence, anchored by a head kept outside the store.

Each event stores ``prev_hash``, the SHA-256 of the previous event's stored bytes in its
contract stream (``GENESIS`` for the first). The ledger head (head.py) is the last
position plus a SHA-256 over every stream's latest event.

The chains alone only show the stored events agree with each other: whoever can write
the store can rewrite a whole chain with every later hash recomputed, delete the newest
events, or delete everything, and the chains still verify. Only a head published outside
the store (a board paper, a transparency page, a signed checkpoint: checkpoints.py) pins
the whole history, including its tail.

:meth:`ChainVerifier.add_rows` stays one function: its loop is the hash pass over every
stored event, and splitting the loop body would add a call per event to it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec

from ..domain import codec
from ..domain.events import GENESIS
from ..domain.registry.events import REGISTRY
from .head import Head, StreamHead, ledger_head


class _Link(msgspec.Struct):
    """Just the fields the chain needs; decoding skips the rest cheaply."""

    type: str = ""
    contract: str = ""
    programme: str = ""
    prev_hash: str = GENESIS

    @property
    def owner(self) -> str:
        """The stream's name: its contract's reference, or ``programme:REF`` for a
        programme's events (DESIGN 10; a draw names its contract too, but is the
        programme's), or ``registry:actors`` for the actor registry's. The name the ledger
        head hashes."""
        if self.type in _PROGRAMME_TAGS:
            return PROGRAMME_PREFIX + self.programme
        if self.type in _REGISTRY_TAGS:
            return REGISTRY
        return self.contract


#: How a programme's stream is named in findings and in the ledger head.
PROGRAMME_PREFIX = "programme:"  # as codec.stream_name
_PROGRAMME_TAGS = frozenset(t.split("/")[0] for t in codec.PROGRAMME_TOPICS)
_REGISTRY_TAGS = frozenset(t.split("/")[0] for t in codec.REGISTRY_TOPICS)


def is_ledger_stream(owner: str) -> bool:
    """Whether a stream so named is not a contract's (a programme's, the registry's)."""
    return owner.startswith(PROGRAMME_PREFIX) or owner == REGISTRY


def _expected_stream(owner: str) -> str:
    """The stream id (hex) an event of ``owner`` must be stored in."""
    if owner == REGISTRY:
        return codec.registry_stream_id().hex
    if owner.startswith(PROGRAMME_PREFIX):
        return codec.programme_stream_id(owner.removeprefix(PROGRAMME_PREFIX)).hex
    return codec.stream_id_of(owner).hex


def _marker(owner: str) -> bytes | None:
    """The bytes every event of ``owner``'s stream holds (the fast path's check); None for
    the registry, whose events name no reference: each takes the full path (a few)."""
    if owner == REGISTRY:
        return None
    if owner.startswith(PROGRAMME_PREFIX):
        return b'"programme":%s' % msgspec.json.encode(owner.removeprefix(PROGRAMME_PREFIX))
    return b'"contract":%s' % msgspec.json.encode(owner)


_link_decoder = msgspec.json.Decoder(_Link)


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
            contract = link.owner
            if position <= last:
                self._mismatch(contract, position, version,
                               f"positions out of order (after {last})", _ORDER)
            else:
                last = position
            expected_stream = stream_of.get(contract)
            if expected_stream is None:
                expected_stream = stream_of[contract] = _expected_stream(contract)
            marker = _marker(contract)
            if expected_stream != stream or marker is None:
                if expected_stream != stream:
                    self._mismatch(contract, position, version,
                                   f"event names contract {contract!r} but is stored in "
                                   f"stream {_uuid_text(stream)}", _STREAM)
                member.pop(stream, None)
            else:
                member[stream] = marker
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
            event = codec.decode_any(topic, state)
        except codec.DecodeError as e:
            self._mismatch(contract, position, version, f"does not decode as {topic}: {e}",
                           _DECODE)
            return
        if topic in codec.CANONICAL_TOPICS and codec.encode(event) != state:
            self._mismatch(contract, position, version, "stored bytes are not the canonical "
                           "encoding of the event (edited by hand?)", _DECODE)

    def head(self) -> Head:
        return ledger_head(((h[0], h[1], h[2], h[3]) for h in self.streams.values()),
                           self.position)


def head_of(latest: Iterable[tuple[int, int, bytes]], position: int) -> Head | None:
    """The ledger head from each stream's latest event alone, given as (position, version,
    stored bytes), and the ledger's last position: what :meth:`ChainVerifier.head` gives
    after reading every event, for a store whose streams are intact. None when an event
    does not parse (the full walk decides what such a ledger's head is)."""
    heads: list[StreamHead] = []
    for at, version, state in latest:
        try:
            contract = _link_decoder.decode(state).owner
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
