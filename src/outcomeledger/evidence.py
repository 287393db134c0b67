"""Evidence packs (DESIGN 6): a self-verifying NDJSON export an auditor replays alone.

Line 1 is a header (format, version, generator, heads); every further line is one
stored event with its position, stream, version, topic, hash and the exact stored
bytes (``state``, as text). ``replay_pack`` verifies every hash and chain link and the
pack head, then rebuilds each contract's state with no ledger database at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from uuid import UUID

import msgspec

from . import __version__, codec
from .chain import ChainVerifier, Head
from .errors import InvalidInput, Problem
from .events import AnyEvent
from .state import ContractState, evolve

FORMAT = "outcomeledger-evidence-pack"
FORMAT_VERSION = 1

_encoder = msgspec.json.Encoder(order="sorted")


class PackEvent(msgspec.Struct, forbid_unknown_fields=True):
    position: int
    contract: str
    stream: str
    version: int
    topic: str
    hash: str
    state: str


class PackHeader(msgspec.Struct, forbid_unknown_fields=True):
    format: str
    format_version: int
    generator: str
    pack_head: str
    events: int
    contracts: list[str]
    as_of: str | None = None
    ledger_head: str | None = None


@dataclass(frozen=True, slots=True)
class StoredRow:
    """The stored form of one event, as read from a store or a pack."""

    position: int
    stream: UUID
    version: int
    topic: str
    state: bytes


def _event_line(row: StoredRow, contract: str) -> bytes:
    return _encoder.encode(PackEvent(row.position, contract, str(row.stream), row.version,
                                     row.topic, codec.event_hash(row.state),
                                     row.state.decode())) + b"\n"


def write_pack(out: IO[bytes], rows: Iterable[StoredRow], contracts: list[str],
               as_of: str | None, ledger_head: Head | None) -> Head:
    """Write a pack; ``rows`` must be re-iterable (the head goes first, so two passes)."""
    verifier = ChainVerifier(full_decode=False)
    for row in rows:
        verifier.add(row.position, row.stream, row.version, row.topic, row.state)
    head = verifier.head()
    header = PackHeader(FORMAT, FORMAT_VERSION, f"outcomeledger {__version__}", str(head),
                        verifier.count, contracts, as_of,
                        None if ledger_head is None else str(ledger_head))
    out.write(_encoder.encode(header) + b"\n")
    for row in rows:
        out.write(_event_line(row, codec.decode(row.topic, row.state).contract))
    return head


@dataclass
class ReplayedPack:
    header: PackHeader
    states: dict[str, ContractState]
    head: Head


def _refuse(source: str, line: int, field: str, message: str) -> InvalidInput:
    return InvalidInput([Problem(source, line, field, message)])


def read_pack(lines: Iterator[bytes], source: str) -> ReplayedPack:
    """Verify a pack line by line (refusing at the first bad line) and fold its events."""
    try:
        first = next(lines)
    except StopIteration:
        raise _refuse(source, 1, "header", "empty pack (expected a header line)") from None
    try:
        header = msgspec.json.decode(first, type=PackHeader)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise _refuse(source, 1, "header", f"not an evidence pack header ({e})") from None
    if header.format != FORMAT or header.format_version > FORMAT_VERSION:
        raise _refuse(source, 1, "format", f"unsupported pack (got {header.format} "
                      f"v{header.format_version}, expected {FORMAT} v{FORMAT_VERSION})")
    verifier = ChainVerifier()
    states: dict[str, ContractState] = {}
    number = 1
    for number, raw in enumerate(lines, start=2):
        if not raw.strip():
            continue
        try:
            item = msgspec.json.decode(raw, type=PackEvent)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise _refuse(source, number, "line", f"not a pack event ({e})") from None
        state_bytes = item.state.encode()
        digest = codec.event_hash(state_bytes)
        if digest != item.hash:
            raise _refuse(source, number, "hash", f"the event's bytes hash to {digest[:16]}…, "
                          f"the pack says {item.hash[:16]}… (edited)")
        before = len(verifier.mismatches)
        verifier.add(item.position, UUID(item.stream), item.version, item.topic, state_bytes)
        if len(verifier.mismatches) > before:
            raise _refuse(source, number, "chain", str(verifier.mismatches[before]))
        event: AnyEvent = codec.decode(item.topic, state_bytes)
        if event.contract != item.contract:
            raise _refuse(source, number, "contract", f"line says {item.contract!r}, the "
                          f"event says {event.contract!r}")
        state = states.get(event.contract) or ContractState(event.contract)
        states[event.contract] = evolve(state, event, digest)
    head = verifier.head()
    if verifier.count != header.events:
        raise _refuse(source, number, "events", f"pack holds {verifier.count} events, the "
                      f"header says {header.events} (truncated or padded)")
    if str(head) != header.pack_head:
        raise _refuse(source, 1, "pack_head", f"recomputed head {head} differs from the "
                      f"header's {header.pack_head}")
    return ReplayedPack(header, states, head)


def parse_as_of(text: str) -> int | datetime:
    """``--as-of``: a global position (integer) or an ISO timestamp (UTC if no zone)."""
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput([Problem("--as-of", None, "as_of", f"expected a position or an "
                                    f"ISO timestamp (got {text!r})")]) from None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment


def header_dict(header: PackHeader) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(header)
    return data
