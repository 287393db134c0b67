"""Hash chains and the ledger head (DESIGN 2): tamper evidence without trusting the store.

Each event stores ``prev_hash``, the SHA-256 of the previous event's stored bytes in its
contract stream (``GENESIS`` for the first). The ledger head is the last position plus a
SHA-256 over every stream's head ``contract<TAB>version<TAB>hash`` line, in the global
order of those head events; publishing it (a board paper, a transparency page) pins the
whole history, including its tail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

import msgspec

from . import codec
from .events import GENESIS


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


@dataclass(slots=True)
class _StreamHead:
    contract: str
    version: int
    hash: str
    position: int


@dataclass
class ChainVerifier:
    """Checks stored events fed in global order; collects every mismatch found."""

    full_decode: bool = True
    streams: dict[UUID, _StreamHead] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)
    position: int = 0
    count: int = 0

    def add(self, position: int, stream: UUID, version: int, topic: str,
            state: bytes) -> str:
        """Check one stored event; returns its hash."""
        self.count += 1
        digest = codec.event_hash(state)
        try:
            link = _link_decoder.decode(state)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            self.mismatches.append(Mismatch(str(stream), position, version,
                                            f"stored bytes do not parse: {e}"))
            self.position = max(self.position, position)
            return digest
        contract = link.contract
        if position <= self.position:
            self.mismatches.append(Mismatch(contract, position, version, "positions out of "
                                            f"order (after {self.position})"))
        self.position = max(self.position, position)
        if codec.stream_id_of(contract) != stream:
            self.mismatches.append(Mismatch(contract, position, version,
                                            f"event names contract {contract!r} but is stored "
                                            f"in stream {stream}"))
        head = self.streams.get(stream)
        expected_version = 1 if head is None else head.version + 1
        expected_prev = GENESIS if head is None else head.hash
        if version != expected_version:
            self.mismatches.append(Mismatch(contract, position, version,
                                            f"stream version v{version} follows "
                                            f"v{expected_version - 1}: events missing or "
                                            "reordered"))
        if link.prev_hash != expected_prev:
            self.mismatches.append(Mismatch(
                contract, position, version,
                f"prev_hash {link.prev_hash[:16]}… does not match the hash of the previous "
                f"event ({expected_prev[:16]}…): an earlier event was edited, deleted or "
                "reordered"))
        if self.full_decode:
            self._check_decodes(contract, position, version, topic, state)
        self.streams[stream] = _StreamHead(contract, version, digest, position)
        return digest

    def _check_decodes(self, contract: str, position: int, version: int, topic: str,
                       state: bytes) -> None:
        try:
            event = codec.decode(topic, state)
        except codec.DecodeError as e:
            self.mismatches.append(Mismatch(contract, position, version,
                                            f"does not decode as {topic}: {e}"))
            return
        if topic in codec.CURRENT_TOPICS and codec.encode(event) != state:
            self.mismatches.append(Mismatch(contract, position, version,
                                            "stored bytes are not the canonical encoding of "
                                            "the event (edited by hand?)"))

    def head(self) -> Head:
        return ledger_head(self.streams.values(), self.position)


def ledger_head(heads: Iterable[_StreamHead], position: int) -> Head:
    ordered = sorted(heads, key=lambda h: h.position)
    digest = hashlib.sha256()
    for h in ordered:
        digest.update(f"{h.contract}\t{h.version}\t{h.hash}\n".encode())
    return Head(position, digest.hexdigest(), len(ordered))
