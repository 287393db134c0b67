"""Authenticated actors: a name bound to an Ed25519 key in the contract's ``actors``.

A contract whose ``actors`` give any ``public_key`` is *keyed*: every write to it must be
signed (``--key``) with the key of the actor it claims to be (``recorded_by``), and each
event it records carries the key's id and a signature of its canonical bytes
(:func:`outcomeledger.domain.codec.signed_bytes`), which ``audit verify`` checks again. A
contract without keyed actors takes writes as it always did (a key given is not used: it
identifies no one there). Refusals never say who holds a key or who would be allowed.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import codec
from .errors import Refused
from .events import Event
from .programme.events import ProgrammeEvent
from .registry.events import RegistryEvent
from .signing import SignatureError, key_index, verify_bytes
from .terms import ContractTerms


def keyed(terms: ContractTerms) -> bool:
    """Whether the contract's writes must be signed (an actor declares a key)."""
    # (Asked for every event a verifier decides: most contracts declare no actors.)
    return bool(terms.actors) and any(a.public_key for a in terms.actors)


def actor_keys(terms: ContractTerms, actor: str) -> dict[str, str]:
    """Key id -> public key of every key ``actor`` holds on the contract (none: an
    undeclared or unkeyed actor; a key that cannot be read identifies no one)."""
    return key_index(a.public_key for a in terms.actors if a.name == actor and a.public_key)


def authenticate(terms: ContractTerms, actor: str, key: str | None) -> bool:
    """Refuse a write to a keyed contract unless it is signed with a key of ``actor``;
    whether the write is to be signed (the contract is keyed)."""
    if not keyed(terms):
        return False
    if key is None:
        raise Refused(f"contract {terms.reference} takes signed writes only: sign with "
                      "your key (--key FILE or $OUTCOMELEDGER_KEY)")
    if key not in actor_keys(terms, actor):
        raise Refused(f"the key {key} is not the key of actor {actor!r} on contract "
                      f"{terms.reference}")
    return True


def signature_problem(terms: ContractTerms, event: Event) -> str | None:
    """Why the signature of a stored ``event`` does not hold under ``terms`` (the terms it
    was decided against), or None. Unsigned events are the decider's to judge (a keyed
    contract's rules refuse them)."""
    return verified(event, actor_keys(terms, event.recorded_by),
                    f"is not a key of actor {event.recorded_by!r} on the contract")


def verified(event: Event | ProgrammeEvent | RegistryEvent, keys: Mapping[str, str],
             unknown: str) -> str | None:
    """Why ``event``'s signature does not hold with the public key ``keys`` holds for its
    key id (``unknown``: what a key id ``keys`` lacks is, in words), or None; None too
    for an unsigned event (the rules judge whether it had to be signed)."""
    if event.key_id is None and event.signature is None:
        return None
    if event.key_id is None or event.signature is None:
        return "signature: a key id without a signature, or a signature without a key id"
    public = keys.get(event.key_id)
    if public is None:
        return f"signature: key {event.key_id} {unknown}"
    try:
        verify_bytes(public, codec.signed_bytes(event), event.signature)
    except SignatureError as e:
        return f"signature: {e} (key {event.key_id} of actor {event.recorded_by!r})"
    return None
