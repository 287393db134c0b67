"""Deciding a batch of commands into chained, encoded events, ready to append.

Each command is decided against its contract's latest state (the store's, plus the events
this batch decided before it); each event is chained to the one before it in its stream
and encoded to its stored bytes. Nothing here writes: the ledger appends a plan in one
transaction, and an import decided by worker processes sends each event to a sink.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar
from uuid import UUID

import msgspec
from eventsourcing.persistence import StoredEvent

from ..domain import codec
from ..domain.commands import AgreeContract, CertifyPayment, Command, Meta, VaryContract
from ..domain.contract.decide import Decision, decide
from ..domain.contract.state import ContractState, evolve_owned
from ..domain.errors import InvalidInput, LedgerError, Problem, Refused
from ..domain.events import AnyEvent, PaymentCertified
from ..domain.programme.checks import joining_problems
from ..domain.programme.decide import ProgrammeCommand, decide_programme, draw
from ..domain.programme.events import AnyProgrammeEvent
from ..domain.programme.state import ProgrammeState, evolve_programme
from ..domain.registry.events import ActorsRegistered
from ..domain.registry.rules import (
    RegisterActors,
    RegistryState,
    decide_registry,
    evolve_registry,
)
from ..domain.signing import sign_bytes
from ..domain.variations import apply_variation
from .application import stream_id

#: Turns a refusal of the batch's command ``index`` (decided against ``state``) into
#: located problems, so that one report shows every refusal of a batch.
Refusals = Callable[[int, ContractState, LedgerError], list[Problem]]

#: Where :func:`plan_batch` sends each encoded event, with the index of its command.
Sink = Callable[[StoredEvent, int], None]

#: A contract's state as the store holds it (no events of this batch).
Load = Callable[[str], ContractState]

#: A programme's state as the store holds it (DESIGN 10).
LoadProgramme = Callable[[str], ProgrammeState]

#: The actor registry's state as the store holds it (issue 21).
LoadRegistry = Callable[[], RegistryState]

#: What a batch holds: commands on contracts, on programmes (the reference is the
#: programme's) and on the actor registry (the reference is ignored).
Entry = tuple[str, Command | ProgrammeCommand | RegisterActors]


@dataclass(slots=True)
class Plan:
    """A batch decided and encoded, ready to append."""

    stored: list[StoredEvent] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # command index of each stored event
    decisions: list[Decision] = field(default_factory=list)

    def emit(self, stored: StoredEvent, owner: int) -> None:
        self.stored.append(stored)
        self.owners.append(owner)


class _Programmes:
    """The programmes a batch touches, each loaded once and kept current with the events
    the batch decides on it (a programme's state is small: its terms and its draws)."""

    def __init__(self, load: LoadProgramme | None,
                 load_registry: LoadRegistry | None = None) -> None:
        self._load = load
        self._load_registry = load_registry
        self._states: dict[str, ProgrammeState] = {}
        self._registry: RegistryState | None = None

    def registry(self) -> RegistryState:
        """The actor registry (every programme command is authenticated against it),
        loaded once and kept current with the registrations the batch decides."""
        if self._registry is None:
            # A store without a registry (a batch planned by a worker that only decides
            # contracts' imports): none, so programme writes are judged unkeyed there. Those
            # batches hold no programme commands (planning refuses them without ``load``).
            self._registry = (RegistryState() if self._load_registry is None
                              else self._load_registry())
        return self._registry

    def __call__(self, reference: str) -> ProgrammeState:
        state = self._states.get(reference)
        if state is None:
            if self._load is None:
                raise ValueError("this batch was planned without access to programmes")
            state = self._states[reference] = self._load(reference)
        return state


def plan_batch(load: Load, batch: Sequence[Entry], meta: Meta,
               keep_events: bool, refused: Refusals | None, sink: Sink | None = None,
               load_programme: LoadProgramme | None = None,
               load_registry: LoadRegistry | None = None) -> Plan:
    """Decide the batch against the latest states and encode its events, chained.

    With a ``sink``, each encoded event goes to it (with its command's index) instead
    of into the plan: an import decided by a worker process streams them to a file.
    A payment run of a contract in a programme is decided against the programme's
    headroom, and its draw is chained onto the programme's stream right after it.
    """
    plan = Plan()
    emit = sink or plan.emit
    programmes = _Programmes(load_programme, load_registry)
    problems: list[Problem] = []
    current: str | None = None
    state = ContractState("")
    stream = stream_id("")
    # Only the state of the contract being decided is held: a batch grouped by
    # contract (as imports are) never holds every contract's figures at once.
    # A contract met again later is rebuilt from the store plus its pending events.
    left: set[str] = set()
    # Events decided but not yet folded into ``state``: folded only if another
    # command of the same contract follows (a one-return-per-contract import never
    # pays for it). Chaining needs only the previous event's hash.
    unfolded: list[tuple[AnyEvent, str]] = []
    for index, (reference, entry) in enumerate(batch):
        if isinstance(entry, RegisterActors):
            plan.decisions.append(_register(programmes.registry(), entry, meta, index,
                                            emit, problems))
            continue
        if isinstance(entry, ProgrammeCommand):
            plan.decisions.append(_programme(programmes(reference), entry, meta, index,
                                             emit, problems, programmes.registry()))
            continue
        command: Command = entry
        if reference != current:
            if current is not None:
                left.add(current)
            if sink is not None and reference in left:
                # Its earlier events went to the sink, out of reach of ``_resume``.
                raise ValueError(f"a batch decided into a sink must keep each "
                                 f"contract's commands together ({reference!r} again)")
            current, stream = reference, stream_id(reference)
            state = _resume(load, reference, plan.stored, stream) if (
                reference in left) else load(reference)
            unfolded.clear()
        for event, digest in unfolded:
            # ``state`` is this loop's own (loaded or resumed for this contract, or
            # the result of the last fold): folded in place, not copied per return.
            state = evolve_owned(state, event, digest)
        unfolded.clear()
        decision = _decide(state, command, meta, index, refused, problems, programmes)
        if decision is None:
            plan.decisions.append(Decision(()))
            continue
        _chain(decision, state, stream, index, emit, unfolded, meta.key)
        for drawn in decision.programme_events:
            _chain_programme(programmes(drawn.programme), drawn, index, emit, meta.key)
        plan.decisions.append(decision if keep_events else Decision(
            (), decision.receipt, decision.programme_events))
    if problems:
        raise InvalidInput(problems)
    return plan


def _decide(state: ContractState, command: Command, meta: Meta, index: int,
            refused: Refusals | None, problems: list[Problem],
            programmes: _Programmes) -> Decision | None:
    """The decision, or None with the refusal's problems added to ``problems``."""
    try:
        if isinstance(command, CertifyPayment) and state.exists and (
                programme := state.current_terms.programme):
            return _certify_in(programmes(programme), state, command, meta)
        decision = decide(state, command, meta)
        # After the contract's own checks: the terms are sound before they are joined.
        _check_joining(state, command, programmes)
        return decision
    except InvalidInput as e:
        problems.extend(e.problems)
    except LedgerError as e:
        if refused is None:
            raise
        problems.extend(refused(index, state, e))
    return None


def _check_joining(state: ContractState, command: Command, programmes: _Programmes) -> None:
    """A contract agreed or varied into a programme: the programme must exist, in the
    contract's currency (the one rule that needs another stream's state)."""
    if isinstance(command, AgreeContract):
        terms, source = command.terms, "contract"
    elif isinstance(command, VaryContract) and state.exists:
        terms, source = apply_variation(state.current_terms, command.variation), command.source
    else:
        return
    if terms.programme and (problems := joining_problems(terms, programmes(terms.programme),
                                                         source)):
        raise InvalidInput(problems)


def _certify_in(programme: ProgrammeState, state: ContractState, command: CertifyPayment,
                meta: Meta) -> Decision:
    """A payment run of a contract in ``programme``: capped at the programme's headroom,
    with the programme's draw as the decision's programme event."""
    if not programme.exists:
        raise Refused(f"contract {state.reference!r} names programme "
                      f"{programme.reference!r}, which has not been agreed")
    headroom = programme.headroom
    decision = decide(state, msgspec.structs.replace(command, headroom=headroom), meta)
    certified = decision.events[0]
    assert isinstance(certified, PaymentCertified)
    return msgspec.structs.replace(decision, programme_events=(
        draw(programme, state.current_terms, certified),))


def _programme(state: ProgrammeState, command: ProgrammeCommand, meta: Meta, index: int,
               emit: Sink, problems: list[Problem], registry: RegistryState) -> Decision:
    """A programme agreed or varied, chained onto its stream (no contract involved)."""
    try:
        event = decide_programme(state, command, meta, registry)
    except InvalidInput as e:
        problems.extend(e.problems)
        return Decision(())
    _chain_programme(state, event, index, emit, meta.key)
    return Decision((), programme_events=(event,))


def _register(state: RegistryState, command: RegisterActors, meta: Meta, index: int,
              emit: Sink, problems: list[Problem]) -> Decision:
    """A registration of the actor registry, chained onto its stream and folded into
    ``state`` (the batch's own: a programme command after it is judged by it)."""
    try:
        event = decide_registry(state, command, meta)
    except InvalidInput as e:
        problems.extend(e.problems)
        return Decision(())
    chained, digest = _append(codec.registry_stream_id(), state.version, state.head_hash,
                              event, index, emit, meta.key)
    evolve_registry(state, chained, digest)
    return Decision((), registry_events=(chained,))


_S = TypeVar("_S", AnyEvent, AnyProgrammeEvent, ActorsRegistered)


def _append(stream: UUID, version: int, head: str, event: _S, index: int, emit: Sink,
            key: bytes | None) -> tuple[_S, str]:
    """``event`` chained to ``head``, the stream's last event (``version``), signed with
    ``key`` when the decider named a key for it (an authenticated actor's: once chained,
    so its signature covers the head it extends), encoded and emitted as the next
    version; the event as stored, and its hash."""
    chained = msgspec.structs.replace(event, prev_hash=head)
    if chained.key_id is not None:
        if key is None:  # (the decider names a key only when the meta holds one)
            raise ValueError("an event to be signed, and no key to sign it")
        chained = msgspec.structs.replace(
            chained, signature=sign_bytes(key, codec.signed_bytes(chained)))
    data = codec.encode(chained)
    emit(StoredEvent(originator_id=stream, originator_version=version + 1,
                     topic=codec.topic(chained), state=data), index)
    return chained, codec.event_hash(data)


def _chain_programme(state: ProgrammeState, event: AnyProgrammeEvent, index: int,
                     emit: Sink, key: bytes | None) -> None:
    """Chain ``event`` to its programme stream's head (signed, when the decider named a
    key for it), fold it into ``state`` (the batch's own copy) and emit it."""
    chained, digest = _append(codec.programme_stream_id(state.reference), state.version,
                              state.head_hash, event, index, emit, key)
    evolve_programme(state, chained, digest)


def _chain(decision: Decision, state: ContractState, stream: UUID, index: int, emit: Sink,
           unfolded: list[tuple[AnyEvent, str]], key: bytes | None = None) -> None:
    """Chain the decision's events to the stream's head, encode them and emit them; an
    event the decider names a key for (an authenticated actor's) is signed with ``key``
    once chained, so its signature covers the head it extends."""
    head, version = state.head_hash, state.version
    for event in decision.events:
        chained, head = _append(stream, version, head, event, index, emit, key)
        version += 1
        unfolded.append((chained, head))


def _resume(load: Load, reference: str, pending: list[StoredEvent], stream: UUID
            ) -> ContractState:
    state = load(reference)
    for stored in pending:
        if stored.originator_id == stream:
            state = evolve_owned(state, codec.decode(stored.topic, stored.state),
                                 codec.event_hash(stored.state))
    return state
