"""Reading an evidence pack back (DESIGN 6): every line verified and its events folded
into contract states, then the pack compared with a head published outside it.

Apart from evidence.py, which says what a pack holds and writes it, because this is the
auditor's side: what a pack must hold to be believed, and what it can be anchored by.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import msgspec

from ..domain import codec
from ..domain.contract.state import ContractState, evolve
from ..domain.errors import InvalidInput, Problem
from ..domain.events import AnyEvent
from ..domain.programme.events import ProgrammeEvent
from ..domain.registry.events import RegistryEvent
from ..domain.timestamps import rfc3339
from ..storage.chain import ChainVerifier, is_ledger_stream
from ..storage.head import Head, StreamHead, ledger_head
from .checkpoints import Snapshot, snapshot_of
from .evidence import FORMAT, FORMAT_VERSION, PackEvent, PackHeader, PackHeaderV2, parse_as_of

_GENERATOR = re.compile(r"outcomeledger [0-9A-Za-z.+_-]{1,40}")


@dataclass
class ReplayedPack:
    header: PackHeader
    states: dict[str, ContractState]
    head: Head
    #: The ledger head the header's stream heads hash to, checked against the pack's own
    #: streams (format 2); for a format 1 pack, the pack head when the header says it is
    #: the ledger head; otherwise None.
    ledger: Head | None = None
    #: The pack holds every stream of the ledger it was exported from.
    whole: bool = False
    #: The pack's streams once every event up to each pinned position was read.
    snapshots: dict[int, Snapshot] = field(default_factory=dict)


def _refuse(source: str, line: int, field: str, message: str) -> InvalidInput:
    return InvalidInput([Problem(source, line, field, message)])


def read_pack(lines: Iterator[bytes], source: str, pins: Iterable[int] = ()) -> ReplayedPack:
    """Verify a pack line by line (refusing at the first bad line) and fold its events;
    every header field that can be computed from the events must match them.

    ``pins``: positions at which to keep a :class:`Snapshot` of the pack's streams, for
    :func:`anchor` to compare with heads published at those positions."""
    header = _read_header(lines, source)
    limit = None if header.as_of is None else _as_of(header.as_of, source)
    verifier, states, snapshots, number = _fold_events(lines, source, header, limit,
                                                       sorted(set(pins)))
    head = verifier.head()
    _check_totals(header, verifier, head, states, source, number)
    ledger, whole = _ledger_of(header, verifier, head, source)
    if isinstance(limit, int) and ledger is not None and ledger.position > limit:
        raise _refuse(source, 1, "ledger_head", f"at position {ledger.position}, after the "
                      f"header's as_of {header.as_of}")
    return ReplayedPack(header, states, head, ledger, whole, snapshots)


def _read_header(lines: Iterator[bytes], source: str) -> PackHeaderV2:
    """The first line: a pack header of a format this version reads, checked on its own."""
    try:
        first = next(lines)
    except StopIteration:
        raise _refuse(source, 1, "header", "empty pack (expected a header line)") from None
    try:
        header = msgspec.json.decode(first, type=PackHeaderV2)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise _refuse(source, 1, "header", f"not an evidence pack header ({e})") from None
    if header.format != FORMAT or not 1 <= header.format_version <= FORMAT_VERSION:
        raise _refuse(source, 1, "format", f"unsupported pack (got {header.format} "
                      f"v{header.format_version}, expected {FORMAT} v1 to v{FORMAT_VERSION})")
    _check_header(header, source)
    return header


def _fold_events(lines: Iterator[bytes], source: str, header: PackHeaderV2,
                 limit: int | datetime | None, pending: list[int]
                 ) -> tuple[ChainVerifier, dict[str, ContractState], dict[int, Snapshot], int]:
    """Every event line after the header checked (its hash, its chain link, its contract,
    the header's ``as_of``) and folded into its contract's state, with a snapshot of the
    streams at each ``pending`` position; and the number of the last line read."""
    snapshots: dict[int, Snapshot] = {}
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
        while pending and pending[0] < item.position:
            snapshots[pending.pop(0)] = snapshot_of(verifier)
        try:
            stream = UUID(item.stream)
        except ValueError:
            raise _refuse(source, number, "stream", f"got {item.stream[:60]!r}, expected a "
                          "UUID") from None
        before = len(verifier.mismatches)
        verifier.add(item.position, stream, item.version, item.topic, state_bytes)
        if len(verifier.mismatches) > before:
            raise _refuse(source, number, "chain", str(verifier.mismatches[before]))
        any_event = codec.decode_any(item.topic, state_bytes)
        if codec.stream_name(any_event) != item.contract:
            raise _refuse(source, number, "contract", f"line says {item.contract!r}, the "
                          f"event says {codec.stream_name(any_event)!r}")
        if isinstance(limit, int) and item.position > limit:
            raise _refuse(source, number, "position", f"{item.position} is after the "
                          f"header's as_of {header.as_of}")
        if isinstance(limit, datetime) and any_event.recorded_at > limit:
            raise _refuse(source, number, "recorded_at", f"{rfc3339(any_event.recorded_at)} "
                          f"is after the header's as_of {header.as_of}")
        if isinstance(any_event, ProgrammeEvent | RegistryEvent):
            continue  # a programme's or the registry's stream: no contract state to fold
        event: AnyEvent = any_event
        state = states.get(event.contract) or ContractState(event.contract)
        states[event.contract] = evolve(state, event, digest)
    for pin in pending:
        snapshots[pin] = snapshot_of(verifier)
    return verifier, states, snapshots, number


def _check_totals(header: PackHeaderV2, verifier: ChainVerifier, head: Head,
                  states: dict[str, ContractState], source: str, number: int) -> None:
    """The header's count, pack head and contracts against the events read."""
    if verifier.count != header.events:
        raise _refuse(source, number, "events", f"pack holds {verifier.count} events, the "
                      f"header says {header.events} (truncated or padded)")
    if str(head) != header.pack_head:
        raise _refuse(source, 1, "pack_head", f"recomputed head {head} differs from the "
                      f"header's {header.pack_head}")
    listed = set(header.contracts)
    # The streams the events belong to: contracts, and programmes and the actor registry
    # named as the chain does.
    owners = set(states) | {h[0] for h in verifier.streams.values()
                            if is_ledger_stream(h[0])}
    if header.format_version >= 2 and listed != owners:
        raise _refuse(source, 1, "contracts", f"the header lists {sorted(listed)}, the events "
                      f"belong to {sorted(owners)}")
    if not owners <= listed:
        raise _refuse(source, 1, "contracts", f"the header lists {sorted(listed)}, but the "
                      f"pack holds events of {sorted(owners - listed)}")


def _check_header(header: PackHeaderV2, source: str) -> None:
    """The header fields that say something of their own, before any event is read."""
    if not _GENERATOR.fullmatch(header.generator):
        raise _refuse(source, 1, "generator", f"got {header.generator[:60]!r}, expected "
                      "'outcomeledger VERSION'")
    if len(set(header.contracts)) != len(header.contracts):
        raise _refuse(source, 1, "contracts", "a contract is listed twice")
    if header.format_version == 1 and header.stream_heads is not None:
        raise _refuse(source, 1, "stream_heads", "format 1 packs have none (expected format 2)")
    if header.format_version >= 2 and header.stream_heads is None:
        raise _refuse(source, 1, "stream_heads", f"missing (format {header.format_version} "
                      "packs list every stream's head)")
    if header.ledger_head is not None:
        try:
            Head.parse(header.ledger_head)
        except ValueError as e:
            raise _refuse(source, 1, "ledger_head", str(e)) from None


def _as_of(text: str, source: str) -> int | datetime:
    try:
        return parse_as_of(text.strip())  # as `audit export --as-of` reads it
    except InvalidInput:
        raise _refuse(source, 1, "as_of", f"expected a position or an ISO timestamp (got "
                      f"{text[:60]!r})") from None


def _ledger_of(header: PackHeaderV2, verifier: ChainVerifier, head: Head,
               source: str) -> tuple[Head | None, bool]:
    """The ledger head the header vouches for, checked against the events, and whether
    the pack holds every stream of that ledger."""
    claimed = None if header.ledger_head is None else Head.parse(header.ledger_head)
    if header.stream_heads is None:  # format 1: only what the pack head itself shows
        if claimed is not None and claimed.position < head.position:
            raise _refuse(source, 1, "ledger_head", f"at position {claimed.position}, before "
                          f"the pack's last event at {head.position}")
        same = claimed is not None and claimed.hash == head.hash \
            and claimed.position == head.position
        return (head, True) if same else (None, False)
    listed: dict[str, tuple[int, str, int]] = {}
    for contract, version, digest, position in header.stream_heads:
        if contract in listed:
            raise _refuse(source, 1, "stream_heads", f"{contract!r} is listed twice")
        listed[contract] = (version, digest, position)
    for contract, version, digest, position, _topic, _state in verifier.streams.values():
        said = listed.get(contract)
        if said != (version, digest, position):
            raise _refuse(source, 1, "stream_heads", f"the pack's {contract} ends at "
                          f"v{version} (position {position}, hash {digest[:16]}…), the "
                          "header's stream heads say " + (
                              "nothing of it" if said is None else
                              f"v{said[0]} (position {said[2]}, hash {said[1][:16]}…)"))
    heads: list[StreamHead] = [(c, v, d, p) for c, (v, d, p) in listed.items()]
    computed = ledger_head(heads, max((p for _c, _v, _d, p in heads), default=0))
    if claimed is None or (claimed.position, claimed.hash) != (computed.position,
                                                               computed.hash):
        raise _refuse(source, 1, "ledger_head", f"the header's stream heads hash to "
                      f"{computed}, the header says {header.ledger_head}")
    return computed, len(listed) == len(verifier.streams)


class Unanchored(Exception):
    """A pack that holds too little to be compared with a given head."""


def anchor(pack: ReplayedPack, pinned: Head,
           streams: Sequence[StreamHead] | None = None) -> str | None:
    """Compare a pack (read with ``pinned.position`` among its pins) with a head published
    outside it: None when they agree, what differs when not. ``streams``: the stream heads
    a checkpoint lists at that position, which anchor a pack of some contracts only.

    Raises :class:`Unanchored` when the pack cannot tell (a head later than the pack, or a
    one-contract pack against a bare head at another position)."""
    if pinned.position == pack.head.position and pinned.hash == pack.head.hash:
        return None  # the pack's own streams are the whole ledger there
    ledger = pack.ledger
    if ledger is not None and pinned.position == ledger.position:
        if pinned.hash == ledger.hash:
            return None
        return (f"the pack's ledger head {ledger} differs from the published head "
                f"{pinned}: the pack's events (or its header) are not the ledger's")
    end = ledger.position if ledger is not None else pack.head.position
    snap = pack.snapshots.get(pinned.position)
    if snap is None:  # not pinned when the pack was read: a caller's mistake
        raise ValueError(f"position {pinned.position} was not pinned")
    if pack.whole and pinned.position <= end:
        at = snap.head()
        if (at.position, at.hash) == (pinned.position, pinned.hash):
            return None
        return (f"the pack's events up to position {pinned.position} hash to {at}, not the "
                f"published {pinned}: they are not the ledger's")
    if streams is not None:
        return _compare_streams(pack, snap, streams, pinned.position, end)
    if pinned.position > end:
        raise Unanchored(f"the head (position {pinned.position}) is later than the pack "
                         f"(ledger position {end}): export a newer pack")
    raise Unanchored(f"the pack holds {', '.join(sorted(pack.states)) or 'no contract'} "
                     f"only, at ledger position {end}, and the head is at position "
                     f"{pinned.position}: export the pack with --as-of {pinned.position}, or "
                     "check it against a checkpoint that lists stream heads")


def _compare_streams(pack: ReplayedPack, snap: Snapshot, streams: Sequence[StreamHead],
                     position: int, end: int) -> str | None:
    """The pack's contracts against the stream heads a checkpoint lists at ``position``.
    Each pack stream starts at v1, so its prefix up to ``position`` must end exactly at
    the listed head, unless the pack ends before ``position`` and the ledger had more
    of that stream by then (an older pack, which the checkpoint cannot vouch for)."""
    mine = {h[0]: h[1:] for h in snap.heads}
    then = {h[0]: h[1:] for h in streams}
    differ: list[str] = []
    short: list[str] = []
    for contract in sorted(pack.states):
        have, listed = mine.get(contract), then.get(contract)
        if have == listed:
            continue
        if (have is not None and listed is not None and end < position
                and listed[0] > have[0]):
            short.append(contract)
        else:
            differ.append(contract)
    if differ:
        return (f"the pack's history of {', '.join(differ)} up to position {position} "
                "differs from the stream heads published there")
    if short:
        raise Unanchored(f"the pack ends at position {end} and the ledger had more of "
                         f"{', '.join(short)} by position {position}: export a newer pack")
    return None
