"""Evidence packs (DESIGN 6): a self-verifying NDJSON export an auditor replays alone.

Line 1 is a header (format, version, generator, heads); every further line is one
stored event with its position, stream, version, topic, hash and the exact stored
bytes (``state``, as text). ``read_pack`` (pack_verification.py) verifies every hash
and chain link and the pack head, then rebuilds each contract's state with no ledger
database at all.

A pack's own hashes only show it is self-consistent: whoever edits an event can recompute
every hash and the pack head (issue 15, item 5). What ties a pack to the real ledger is a
head published outside it (``audit head``, a signed checkpoint), so format 2 carries what
that comparison needs: ``stream_heads``, the ``[contract, version, hash, position]`` of
every contract stream of the ledger at export, from which the ledger head is recomputed.
The pack's own streams must end exactly at their listed heads, so a pack whose events were
edited yields a different ledger head than the published one, however consistently its
hashes were redone (the other streams' lines cannot be chosen to make up for it without
breaking SHA-256). ``pack_verification.anchor`` makes that comparison. Every header field
that can be computed from the events is checked against them (``contracts``, ``events``,
``pack_head``, ``ledger_head``, ``as_of``); ``generator`` is a claim no pack can prove and
is only checked to be well formed. Format 1 packs (no ``stream_heads``: the recorded
scenarios in ``replay/``) still replay, and can be anchored when the pack is the whole
ledger at the head's position or by a checkpoint listing stream heads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from uuid import UUID

import msgspec

from .. import __version__
from ..domain import codec
from ..domain.errors import InvalidInput, Problem
from ..storage.chain import ChainVerifier
from ..storage.head import Head, StreamHead

FORMAT = "outcomeledger-evidence-pack"
#: Format 2 adds ``stream_heads``; packs written without the ledger's heads stay format 1,
#: byte for byte what they were (the recorded scenarios compare packs byte for byte).
FORMAT_VERSION = 2

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


class PackHeaderV2(PackHeader, forbid_unknown_fields=True):
    """The format 2 header; read for every pack (a format 1 pack has no stream heads)."""

    stream_heads: list[tuple[str, int, str, int]] | None = None


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
               as_of: str | None, ledger_head: Head | None,
               stream_heads: Sequence[StreamHead] | None = None) -> Head:
    """Write a pack; ``rows`` must be re-iterable (the head goes first, so two passes).

    With ``stream_heads`` (every stream's head in the ledger ``ledger_head`` was taken
    of), a format 2 pack whose ``contracts`` are those its events belong to; without,
    a format 1 pack listing ``contracts`` as given."""
    verifier = ChainVerifier(full_decode=False)
    for row in rows:
        verifier.add(row.position, row.stream, row.version, row.topic, row.state)
    head = verifier.head()
    generator = f"outcomeledger {__version__}"
    pinned = None if ledger_head is None else str(ledger_head)
    header: PackHeader
    if stream_heads is None:
        header = PackHeader(FORMAT, 1, generator, str(head), verifier.count, contracts,
                            as_of, pinned)
    else:
        listed = sorted(((h[0], h[1], h[2], h[3]) for h in stream_heads), key=lambda h: h[3])
        header = PackHeaderV2(FORMAT, FORMAT_VERSION, generator, str(head), verifier.count,
                              sorted({h[0] for h in verifier.streams.values()}), as_of,
                              pinned, listed)
    out.write(_encoder.encode(header) + b"\n")
    for row in rows:
        out.write(_event_line(row, codec.stream_name(codec.decode_any(row.topic, row.state))))
    return head


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
