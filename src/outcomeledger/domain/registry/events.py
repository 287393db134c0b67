"""The events of the actor registry's stream, published and versioned as the contract and
programme events are (stored topic ``<tag>/<version>``, ``prev_hash`` chaining each to the
one before it in the registry's stream; an administrator's ``key_id`` and ``signature``
omitted when unset).

A union of its own: the readers of the whole ledger tell it apart by topic
(:func:`outcomeledger.domain.codec.is_registry_topic`), as they tell a programme's.

One event type: a registration states the whole registry from then on (register, rotate a
key, remove an actor: the file given is the new registry), so each event reads whole on
its own and the registry at any position is its last registration.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from msgspec import Struct

from ..events import GENESIS

#: How findings, evidence packs, the feed and the ledger head name the registry's stream
#: (a contract reference can hold a colon, but the chain verifier tells the registry apart
#: by its event types, never by this name).
REGISTRY = "registry:actors"

#: The programme-level roles. ``commissioner``: agree and vary programmes (the contract
#: commissioner's office one level up: domain/roles.py gives a contract's commissioner
#: its agreement and variations). ``administrator``: change the registry itself (kept
#: apart from the commissioner, so that no one grants themselves a key by the power they
#: hold over programmes; one name may hold both roles). ``auditor``: writes nothing, as on
#: a contract; registered so that its key identifies it.
RegistryRole = Literal["commissioner", "administrator", "auditor"]
REGISTRY_ROLES: tuple[str, ...] = RegistryRole.__args__  # type: ignore[attr-defined]


class RegisteredActor(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One actor of the registry: a name, a programme-level role, a public key."""

    name: str
    role: RegistryRole
    public_key: str


class ActorsDocument(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """An ``actors register`` file: the whole registry from then on."""

    actors: tuple[RegisteredActor, ...] = ()


class RegistryEvent(Struct, frozen=True, tag_field="type", tag=True, kw_only=True,
                    omit_defaults=True):
    VERSION: ClassVar[int] = 1

    recorded_at: datetime
    recorded_by: str
    reason: str = ""
    prev_hash: str = GENESIS
    # Signed by a registered administrator once the registry is keyed (the first
    # registration is trusted on first use): as an authenticated actor's contract event.
    key_id: str | None = None
    signature: str | None = None


class ActorsRegistered(RegistryEvent, frozen=True, kw_only=True):
    """The registry from this event on: every actor, its role and its key."""

    actors: tuple[RegisteredActor, ...]


AnyRegistryEvent = ActorsRegistered

REGISTRY_EVENT_TYPES: tuple[type[RegistryEvent], ...] = (ActorsRegistered,)


def registry_topic_of(cls: type[RegistryEvent]) -> str:
    return f"{cls.__name__}/{cls.VERSION}"
