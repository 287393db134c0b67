"""The eventsourcing ``Application`` the ledger stores through, with a msgspec mapper of
our own: the stored topic is the event's tag and version (no module paths), the stored state
the event's canonical bytes, whose SHA-256 is the event hash.

One stream per contract, id ``uuid5(NAMESPACE_URL, "outcomeledger:/contracts/" + ref)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, Transcoder
from eventsourcing.utils import Environment

from ..domain import codec
from ..domain.events import AnyEvent


def stream_id(reference: str) -> UUID:
    return codec.stream_id_of(reference)


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event in its stream: what eventsourcing's recorders store and return."""

    originator_id: UUID
    originator_version: int
    event: AnyEvent


class MsgspecMapper(Mapper[UUID]):
    """Maps events to stored events by tag and canonical bytes (no module paths)."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        envelope: Envelope = domain_event
        return StoredEvent(originator_id=envelope.originator_id,
                           originator_version=envelope.originator_version,
                           topic=codec.topic(envelope.event),
                           state=codec.encode(envelope.event))

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        oid = stored_event.originator_id
        return Envelope(oid if isinstance(oid, UUID) else UUID(str(oid)),
                        stored_event.originator_version,
                        codec.decode(stored_event.topic, stored_event.state))


class LedgerApplication(Application[UUID]):
    name = "OutcomeLedger"

    def construct_env(self, name: str, env: Any = None) -> Environment:
        # Only the settings we pass: a stray PERSISTENCE_MODULE in the OS environment
        # must never redirect a ledger to another store.
        return Environment(name, dict(env or {}))

    def construct_transcoder(self) -> Transcoder:
        return JSONTranscoder()

    def construct_mapper(self) -> Mapper[UUID]:
        return MsgspecMapper(self.construct_transcoder())

