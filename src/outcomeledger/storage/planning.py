"""Deciding a batch of commands into chained, encoded events, ready to append.

Each command is decided against its contract's latest state (the store's, plus the events
this batch decided before it); each event is chained to the one before it in its stream
and encoded to its stored bytes. Nothing here writes: the ledger appends a plan in one
transaction, and an import decided by worker processes sends each event to a sink.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

import msgspec
from eventsourcing.persistence import StoredEvent

from ..domain import codec
from ..domain.commands import Command, Meta
from ..domain.contract.decide import Decision, decide
from ..domain.contract.state import ContractState, evolve_owned
from ..domain.errors import InvalidInput, LedgerError, Problem
from ..domain.events import AnyEvent
from .application import stream_id

#: Turns a refusal of the batch's command ``index`` (decided against ``state``) into
#: located problems, so that one report shows every refusal of a batch.
Refusals = Callable[[int, ContractState, LedgerError], list[Problem]]

#: Where :func:`plan_batch` sends each encoded event, with the index of its command.
Sink = Callable[[StoredEvent, int], None]

#: A contract's state as the store holds it (no events of this batch).
Load = Callable[[str], ContractState]


@dataclass(slots=True)
class Plan:
    """A batch decided and encoded, ready to append."""

    stored: list[StoredEvent] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # command index of each stored event
    decisions: list[Decision] = field(default_factory=list)

    def emit(self, stored: StoredEvent, owner: int) -> None:
        self.stored.append(stored)
        self.owners.append(owner)


def plan_batch(load: Load, batch: Sequence[tuple[str, Command]], meta: Meta,
               keep_events: bool, refused: Refusals | None, sink: Sink | None = None
               ) -> Plan:
    """Decide the batch against the latest states and encode its events, chained.

    With a ``sink``, each encoded event goes to it (with its command's index) instead
    of into the plan: an import decided by a worker process streams them to a file.
    """
    plan = Plan()
    emit = sink or plan.emit
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
    for index, (reference, command) in enumerate(batch):
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
        decision = _decide(state, command, meta, index, refused, problems)
        if decision is None:
            plan.decisions.append(Decision(()))
            continue
        _chain(decision, state, stream, index, emit, unfolded)
        plan.decisions.append(decision if keep_events else Decision((), decision.receipt))
    if problems:
        raise InvalidInput(problems)
    return plan


def _decide(state: ContractState, command: Command, meta: Meta, index: int,
            refused: Refusals | None, problems: list[Problem]) -> Decision | None:
    """The decision, or None with the refusal's problems added to ``problems``."""
    try:
        return decide(state, command, meta)
    except InvalidInput as e:
        problems.extend(e.problems)
    except LedgerError as e:
        if refused is None:
            raise
        problems.extend(refused(index, state, e))
    return None


def _chain(decision: Decision, state: ContractState, stream: UUID, index: int, emit: Sink,
           unfolded: list[tuple[AnyEvent, str]]) -> None:
    """Chain the decision's events to the stream's head, encode them and emit them."""
    head, version = state.head_hash, state.version
    for event in decision.events:
        chained = msgspec.structs.replace(event, prev_hash=head)
        data = codec.encode(chained)
        head, version = codec.event_hash(data), version + 1
        unfolded.append((chained, head))
        emit(StoredEvent(originator_id=stream, originator_version=version,
                         topic=codec.topic(chained), state=data), index)


def _resume(load: Load, reference: str, pending: list[StoredEvent], stream: UUID
            ) -> ContractState:
    state = load(reference)
    for stored in pending:
        if stored.originator_id == stream:
            state = evolve_owned(state, codec.decode(stored.topic, stored.state),
                                 codec.event_hash(stored.state))
    return state
