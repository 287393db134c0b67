"""Read model ``audit_trail``: every event, who recorded it, when, why, and its hash.

One row per event, a function of the stored event alone. Only the header fields are
decoded (msgspec skips the rest without building it), so this fold costs little more
than hashing the stored bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import msgspec
from msgspec import Meta

from ..domain import codec
from ..domain.events import GENESIS
from ..domain.registry.events import REGISTRY
from .base import Projection, RawEvent, Row, Sha256, Table, Timestamp, timestamp


class AuditRow(Row, frozen=True, kw_only=True):
    """One event of the ledger, in global order."""

    position: Annotated[int, Meta(
        description="Global position (notification id): the order events were recorded "
        "in; the `events --after` cursor.", ge=1)]
    contract: Annotated[str, Meta(description=(
        "Reference of the event's stream: its contract's, for a programme's events "
        "(ProgrammeAgreed, ProgrammeVaried, ProgrammeDrawn) its programme's, and "
        "`registry:actors` for the actor registry's (ActorsRegistered)."))]
    version: Annotated[int, Meta(description="Version of the event in its contract stream.",
                                 ge=1)]
    type: Annotated[str, Meta(description="Event type, e.g. `ReturnRestated`.")]
    topic: Annotated[str, Meta(
        description="Stored topic `<Type>/<schema version>` (older versions are upcast on "
        "read, never rewritten).")]
    recorded_at: Annotated[Timestamp, Meta(description="When the ledger learned it (UTC).")]
    recorded_by: Annotated[str, Meta(description="Who recorded it (actor).")]
    reason: Annotated[str, Meta(description="Why, as recorded (may be empty).")]
    hash: Annotated[Sha256, Meta(description="SHA-256 of the stored bytes of the event.")]
    prev_hash: Annotated[Sha256, Meta(
        description="Hash of the previous event in the stream (64 zeros for the first).")]


class _Header(msgspec.Struct, kw_only=True):
    """The header fields of a current-version event; decoding skips everything else.
    (A programme's events name the programme, and a draw its contract too.)"""

    contract: str = ""
    programme: str = ""
    type: str
    recorded_at: str
    recorded_by: str
    reason: str = ""
    prev_hash: str = GENESIS


_header = msgspec.json.Decoder(_Header)

TRAIL = Table("proj_audit_trail", AuditRow, ("position",))


def rows(events: Sequence[RawEvent]) -> list[Row]:
    out: list[Row] = []
    canonical, registry = codec.CANONICAL_TOPICS, codec.REGISTRY_TOPICS
    for position, _stream, version, topic, state in events:
        digest = codec.event_hash(state)
        if topic in canonical:
            h = _header.decode(state)
            owner = REGISTRY if topic in registry else h.programme or h.contract
            out.append(AuditRow(position=position, contract=owner,
                                version=version,
                                type=h.type, topic=topic, recorded_at=h.recorded_at,
                                recorded_by=h.recorded_by, reason=h.reason, hash=digest,
                                prev_hash=h.prev_hash))
            continue
        # An older schema version: upcast it like every other reader does.
        event = codec.decode(topic, state)
        out.append(AuditRow(position=position, contract=event.contract, version=version,
                            type=type(event).__name__, topic=topic,
                            recorded_at=timestamp(event.recorded_at),
                            recorded_by=event.recorded_by, reason=event.reason, hash=digest,
                            prev_hash=event.prev_hash))
    return out


PROJECTION = Projection("audit_trail", (TRAIL,), "event", event_rows=rows)
