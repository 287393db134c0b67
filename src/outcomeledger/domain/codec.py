"""Canonical encoding, hashing and decoding (with upcasting) of events.

The canonical encoding is msgspec JSON with sorted keys and decimals as strings;
an event's hash is SHA-256 over exactly the bytes stored, so any edit is detectable.
Old event versions are upcast on read: stored bytes are never rewritten.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

import msgspec

from .events import EVENT_TYPES, AnyEvent, Event, topic_of
from .programme.events import (
    PROGRAMME_EVENT_TYPES,
    AnyProgrammeEvent,
    ProgrammeDrawn,
    ProgrammeEvent,
    programme_topic_of,
)
from .registry.events import (
    REGISTRY,
    REGISTRY_EVENT_TYPES,
    AnyRegistryEvent,
    RegistryEvent,
    registry_topic_of,
)

_encoder = msgspec.json.Encoder(order="sorted", decimal_format="string")
_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)

CURRENT_TOPICS = frozenset(topic_of(cls) for cls in EVENT_TYPES)
#: The topics of programme streams (DESIGN 10): a union of their own, never a contract's.
PROGRAMME_TOPICS = frozenset(programme_topic_of(cls) for cls in PROGRAMME_EVENT_TYPES)
#: The topic of a draw (the programme read models pick these out of a batch).
programme_topic_of_drawn = programme_topic_of(ProgrammeDrawn)
_programme_decoder: msgspec.json.Decoder[AnyProgrammeEvent] = msgspec.json.Decoder(
    AnyProgrammeEvent)
#: The topics of the actor registry's stream (issue 21): a union of its own too.
REGISTRY_TOPICS = frozenset(registry_topic_of(cls) for cls in REGISTRY_EVENT_TYPES)
_registry_decoder: msgspec.json.Decoder[AnyRegistryEvent] = msgspec.json.Decoder(
    AnyRegistryEvent)
#: The topics of the streams that are not a contract's (programmes, the actor registry):
#: the readers of contract streams skip them.
LEDGER_TOPICS = PROGRAMME_TOPICS | REGISTRY_TOPICS
#: Topics whose stored bytes are the canonical encoding of the current version (no
#: upcasting): the feed sends them as stored, the verifier re-encodes them to compare.
CANONICAL_TOPICS = CURRENT_TOPICS | LEDGER_TOPICS

#: Any event of the ledger: a contract's, a programme's, the registry's.
LedgerEvent = AnyEvent | AnyProgrammeEvent | AnyRegistryEvent

#: Upcasters from an old stored topic to the next version's dict form.
#: Key: old topic (``Name/version``); value: (function on the decoded dict, next topic).
UPCASTERS: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], str]] = {}


class DecodeError(ValueError):
    """Stored bytes that do not decode to a known event."""


def encode(event: Event | ProgrammeEvent | RegistryEvent) -> bytes:
    """Canonical bytes of ``event``: the stored form and the input to its hash."""
    return _encoder.encode(event)


def signed_bytes(event: Event | ProgrammeEvent | RegistryEvent) -> bytes:
    """What an authenticated actor's key signs: the event's canonical encoding without its
    ``signature`` (everything else, ``key_id`` and ``prev_hash`` included); a programme's
    and the registry's events alike."""
    return _encoder.encode(msgspec.structs.replace(event, signature=None))


def stream_id_of(reference: str) -> UUID:
    """The stream of a contract: ``uuid5(NAMESPACE_URL, "outcomeledger:/contracts/" + ref)``."""
    return uuid5(NAMESPACE_URL, "outcomeledger:/contracts/" + reference)


def programme_stream_id(reference: str) -> UUID:
    """The stream of a programme: ``uuid5(NAMESPACE_URL, "outcomeledger:/programmes/" + ref)``."""
    return uuid5(NAMESPACE_URL, "outcomeledger:/programmes/" + reference)


def registry_stream_id() -> UUID:
    """The stream of the actor registry: ``uuid5(NAMESPACE_URL, "outcomeledger:/actors")``."""
    return uuid5(NAMESPACE_URL, "outcomeledger:/actors")


def is_registry_topic(topic_name: str) -> bool:
    """Whether a stored topic is an event of the actor registry's stream."""
    return topic_name in REGISTRY_TOPICS


def is_ledger_topic(topic_name: str) -> bool:
    """Whether a stored topic is of a stream that is not a contract's (a programme's, the
    actor registry's): no contract state folds it."""
    return topic_name in LEDGER_TOPICS


def is_programme_topic(topic_name: str) -> bool:
    """Whether a stored topic is a programme event's (its stream is a programme's)."""
    return topic_name in PROGRAMME_TOPICS


def event_hash(state: bytes) -> str:
    return hashlib.sha256(state).hexdigest()


def topic(event: Event | ProgrammeEvent | RegistryEvent) -> str:
    if isinstance(event, ProgrammeEvent):
        return programme_topic_of(type(event))
    if isinstance(event, RegistryEvent):
        return registry_topic_of(type(event))
    return topic_of(type(event))


def decode_programme(topic_name: str, state: bytes) -> AnyProgrammeEvent:
    """Decode a programme event's stored bytes (no older versions exist yet)."""
    return _decode_current(_programme_decoder, PROGRAMME_TOPICS, "programme event",
                           topic_name, state)


def decode_registry(topic_name: str, state: bytes) -> AnyRegistryEvent:
    """Decode an actor registry event's stored bytes (no older versions exist yet)."""
    return _decode_current(_registry_decoder, REGISTRY_TOPICS, "actor registry event",
                           topic_name, state)


_T = TypeVar("_T")


def _decode_current(decoder: msgspec.json.Decoder[_T], topics: frozenset[str], kind: str,
                    topic_name: str, state: bytes) -> _T:
    """Decode stored bytes of a union with no older versions (one topic per type)."""
    if topic_name not in topics:
        raise DecodeError(f"unknown {kind} topic {topic_name!r}")
    try:
        return decoder.decode(state)
    except (msgspec.DecodeError, UnicodeDecodeError) as e:
        raise DecodeError(f"{topic_name}: {e}") from None


def decode_any(topic_name: str, state: bytes) -> LedgerEvent:
    """Decode any stored event: a reader of the whole ledger meets every kind."""
    if topic_name in PROGRAMME_TOPICS:
        return decode_programme(topic_name, state)
    if topic_name in REGISTRY_TOPICS:
        return decode_registry(topic_name, state)
    return decode(topic_name, state)


def decode(topic_name: str, state: bytes) -> AnyEvent:
    """Decode stored bytes; older versions are upcast step by step to the current one."""
    if topic_name in CURRENT_TOPICS:
        try:
            return _decoder.decode(state)
        except (msgspec.DecodeError, UnicodeDecodeError) as e:  # (bytes that are not UTF-8)
            raise DecodeError(f"{topic_name}: {e}") from None
    try:
        data: dict[str, Any] = msgspec.json.decode(state)
    except (msgspec.DecodeError, UnicodeDecodeError) as e:
        raise DecodeError(f"{topic_name}: {e}") from None
    current = topic_name
    while current not in CURRENT_TOPICS:
        step = UPCASTERS.get(current)
        if step is None:
            raise DecodeError(f"unknown event topic {topic_name!r}")
        upcast, current = step
        data = upcast(data)
    try:
        event: AnyEvent = msgspec.convert(data, AnyEvent)
        return event
    except msgspec.ValidationError as e:
        raise DecodeError(f"{topic_name}: {e}") from None


def owner(event: LedgerEvent) -> str:
    """The reference of the event's stream: its contract's, or its programme's (a draw
    names a contract too, but is stored in its programme's stream), or ``registry:actors``
    for the actor registry's."""
    if isinstance(event, ProgrammeEvent):
        return event.programme
    if isinstance(event, RegistryEvent):
        return REGISTRY
    return event.contract


def stream_name(event: LedgerEvent) -> str:
    """How evidence names the event's stream: its contract's reference,
    ``programme:REF`` (never a contract's: a programme may share a contract's reference),
    or ``registry:actors``."""
    if isinstance(event, ProgrammeEvent):
        return "programme:" + event.programme
    if isinstance(event, RegistryEvent):
        return REGISTRY
    return event.contract


def to_builtins(event: Event | ProgrammeEvent | RegistryEvent) -> dict[str, Any]:
    """The event as plain JSON-ready data (decimals as strings), for feeds and packs."""
    data: dict[str, Any] = msgspec.to_builtins(event, order="sorted")
    return data
