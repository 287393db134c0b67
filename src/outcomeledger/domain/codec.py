"""Canonical encoding, hashing and decoding (with upcasting) of events.

The canonical encoding is msgspec JSON with sorted keys and decimals as strings;
an event's hash is SHA-256 over exactly the bytes stored, so any edit is detectable.
Old event versions are upcast on read: stored bytes are never rewritten.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import msgspec

from .events import EVENT_TYPES, AnyEvent, Event, topic_of

_encoder = msgspec.json.Encoder(order="sorted", decimal_format="string")
_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)

CURRENT_TOPICS = frozenset(topic_of(cls) for cls in EVENT_TYPES)

#: Upcasters from an old stored topic to the next version's dict form.
#: Key: old topic (``Name/version``); value: (function on the decoded dict, next topic).
UPCASTERS: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], str]] = {}


class DecodeError(ValueError):
    """Stored bytes that do not decode to a known event."""


def encode(event: Event) -> bytes:
    """Canonical bytes of ``event``: the stored form and the input to its hash."""
    return _encoder.encode(event)


def stream_id_of(reference: str) -> UUID:
    """The stream of a contract: ``uuid5(NAMESPACE_URL, "outcomeledger:/contracts/" + ref)``."""
    return uuid5(NAMESPACE_URL, "outcomeledger:/contracts/" + reference)


def event_hash(state: bytes) -> str:
    return hashlib.sha256(state).hexdigest()


def topic(event: Event) -> str:
    return topic_of(type(event))


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


def to_builtins(event: Event) -> dict[str, Any]:
    """The event as plain JSON-ready data (decimals as strings), for feeds and packs."""
    data: dict[str, Any] = msgspec.to_builtins(event, order="sorted")
    return data
