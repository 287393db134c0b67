"""The actor registry's state, who it lets write at programme level, and its decider.

While the registry holds no actor (a ledger that never registered any) programme-level
writes are taken as they always were: the name is a claim. Once it holds one, the
registry is *keyed*, for good (every registration keeps an administrator): a programme
agreed or varied must be signed (``--key``) with a key the registry gives the claimed
actor in the role ``commissioner``, and a change of the registry with one it gives an
``administrator``, the registry *before* the change (so a new key never authorises its own
registration; the first registration is trusted on first use). Each event is judged
against the registry as it stood when it was recorded: a key registered later never
validates an event before it. Refusals never say who holds a key or who would be allowed.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from ..actors import verified
from ..commands import Meta
from ..errors import COMMAND, InvalidInput, Problem, Refused
from ..events import GENESIS
from ..programme.events import ProgrammeEvent
from ..signing import SignatureError, key_id, key_index
from ..text_checks import control_problem
from .events import REGISTRY_ROLES, ActorsRegistered, RegisteredActor, RegistryEvent


@dataclass
class RegistryState:
    """The registry as its stream folds: the actors of the last registration."""

    actors: tuple[RegisteredActor, ...] = ()
    version: int = 0
    head_hash: str = GENESIS
    last: ActorsRegistered | None = None

    @property
    def keyed(self) -> bool:
        return bool(self.actors)

    def keys(self, name: str, role: str) -> dict[str, str]:
        """Key id -> public key of each key the registry gives ``name`` in ``role``."""
        return key_index(a.public_key for a in self.actors
                         if a.name == name and a.role == role)


def evolve_registry(state: RegistryState, event: ActorsRegistered,
                    event_hash: str) -> RegistryState:
    """Fold one event into ``state`` (in place: the caller's own)."""
    state.actors = event.actors
    state.last = event
    state.version += 1
    state.head_hash = event_hash
    return state


def fold_registry(events: list[tuple[ActorsRegistered, str]]) -> RegistryState:
    state = RegistryState()
    for event, digest in events:
        evolve_registry(state, event, digest)
    return state


def authenticate(registry: RegistryState, meta: Meta, role: str, action: str) -> bool:
    """Refuse a programme-level write on a keyed registry unless it is signed with a key
    the registry gives the claimed actor in ``role``; whether the event is to be signed.
    The same words whether the actor is unregistered, lacks the role or the key."""
    if not registry.keyed:
        return False
    if meta.key_id is None:
        raise Refused(f"the actor registry is keyed: to {action}, sign the write with "
                      "your key (--key FILE or $OUTCOMELEDGER_KEY)")
    if meta.key_id not in registry.keys(meta.recorded_by, role):
        raise Refused(f"actor {meta.recorded_by!r} signing with key {meta.key_id} may not "
                      f"{action}")
    return True


def signature_problem(registry: RegistryState, event: ProgrammeEvent | RegistryEvent,
                      role: str) -> str | None:
    """Why the signature of a stored programme-level ``event`` does not hold under the
    registry it was recorded against, or None. Unsigned events are the decider's to judge
    (a keyed registry's rules refuse them)."""
    return verified(event, registry.keys(event.recorded_by, role),
                    f"is not a key the actor registry gave {event.recorded_by!r} as {role} "
                    "when it was recorded")


# -- deciding a registration ------------------------------------------------------------------

class RegisterActors(msgspec.Struct, frozen=True):
    """Make ``actors`` the whole registry; ``source`` names the file in refusals."""

    actors: tuple[RegisteredActor, ...]
    reason: str
    source: str = "actors"


#: What a change of the registry is called in refusals.
CHANGE = "change the actor registry"


def decide_registry(state: RegistryState, command: RegisterActors,
                    meta: Meta) -> ActorsRegistered:
    signed = authenticate(state, meta, "administrator", CHANGE)
    problems = registry_problems(command.actors, command.source)
    if not command.reason.strip():
        problems.append(Problem(COMMAND, None, "reason",
                                "a change of the actor registry needs a reason (got none)"))
    if problems:
        raise InvalidInput(problems)
    if command.actors == state.actors:
        raise Refused("the actor registry already holds exactly these actors (nothing to "
                      "record)")
    return ActorsRegistered(recorded_at=meta.recorded_at, recorded_by=meta.recorded_by,
                            reason=command.reason, actors=command.actors,
                            key_id=meta.key_id if signed else None)


def registry_problems(actors: tuple[RegisteredActor, ...], source: str) -> list[Problem]:
    """Every problem of a registry: names, roles, keys, and at least one administrator
    (a registry no one may change, or one with no actor, would undo its own keys)."""
    p: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    holder: dict[str, str] = {}  # key id -> the name holding it
    for i, actor in enumerate(actors):
        where = f"actors[{i}]"
        if not actor.name.strip():
            p.append(Problem(source, None, f"{where}.name", "must not be empty"))
        elif (why := control_problem(actor.name)) is not None:
            p.append(Problem(source, None, f"{where}.name", why))
        if actor.role not in REGISTRY_ROLES:  # (the file's type check says so first)
            p.append(Problem(source, None, f"{where}.role", (
                f"got {actor.role!r}, expected one of {', '.join(REGISTRY_ROLES)}")))
        if (actor.name, actor.role) in seen:
            p.append(Problem(source, None, f"{where}.name", (
                f"given twice with role {actor.role} (got {actor.name!r}; expected each "
                "actor once per role, with one key)")))
        seen.add((actor.name, actor.role))
        try:
            kid = key_id(actor.public_key)
        except SignatureError as e:
            p.append(Problem(source, None, f"{where}.public_key",
                             f"{e} (expected the base64 public key `returns keygen` prints)"))
            continue
        other = holder.setdefault(kid, actor.name)
        if other != actor.name:
            p.append(Problem(source, None, f"{where}.public_key", (
                f"also the key of {other!r} (got key {kid}; expected a key of one actor "
                "only: a key id names who signed)")))
    if not any(a.role == "administrator" for a in actors):
        p.append(Problem(source, None, "actors", (
            "no administrator (expected at least one actor with role administrator: only "
            "an administrator's key may change the registry, and a registry is never "
            "unkeyed again once it holds an actor)")))
    return p
