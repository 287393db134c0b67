"""One ``apply`` defines each event's effect; the three folds differ only in ownership.

``evolve`` leaves the state it was given as it was (callers keep it: evidence packs, the
audit log's state before each event); ``evolve_owned`` may write into it; ``fold_events``
freezes a whole stream. All three give equal states; tests/projections/test_projection_property.py
checks the same over random histories.
"""

from __future__ import annotations

from dataclasses import replace

import msgspec

from conftest import (
    adjust,
    agreed,
    certify,
    fig,
    meta,
    submit,
    tally,
)
from outcomeledger.domain import codec
from outcomeledger.domain.commands import Command
from outcomeledger.domain.contract.decide import decide
from outcomeledger.domain.contract.state import (
    ContractState,
    InPlace,
    evolve,
    evolve_owned,
    fold_events,
)
from outcomeledger.domain.events import AnyEvent, ContractAgreed

COMMANDS: list[Command] = [
    tally("FY2025-Q1", O1=3), adjust("FY2025-Q1", "10.00"), certify("FY2025-Q1"),
    submit("FY2025-Q1", fig("O1", 2), restate=True, reason="miscounted"),
    adjust("FY2025-Q2", "5.00")]


def stream() -> list[tuple[AnyEvent, str, ContractState]]:
    """(event, hash, state before it) for an agreement and every command above."""
    state = agreed()
    out: list[tuple[AnyEvent, str, ContractState]] = []
    for command in COMMANDS:
        for event in decide(state, command, meta()).events:
            chained = msgspec.structs.replace(event, prev_hash=state.head_hash)
            digest = codec.event_hash(codec.encode(chained))
            out.append((chained, digest, state))
            state = evolve(state, chained, digest)
    return out


def test_evolve_leaves_the_state_before_each_event_as_it_was() -> None:
    for event, digest, before in stream():
        figures, returns = dict(before.figures), dict(before.returns)
        sequences = (before.variations, before.adjustments, before.certifications)
        after = evolve(before, event, digest)
        assert after.version == before.version + 1
        assert before.figures == figures
        assert before.returns == returns
        assert (before.variations, before.adjustments, before.certifications) == sequences


def test_owned_copied_and_folded_states_are_equal_and_frozen() -> None:
    events = stream()
    start = events[0][2]
    owned = evolve_owned(_copy(start), events[0][0], events[0][1])
    copied = evolve(start, events[0][0], events[0][1])
    for event, digest, _ in events[1:]:
        owned = evolve_owned(owned, event, digest)
        copied = evolve(copied, event, digest)
    assert owned == copied
    assert owned.adjustments
    assert owned.certifications
    for state in (owned, copied):
        assert isinstance(state.adjustments, tuple)
        assert isinstance(state.certifications, tuple)
        assert isinstance(state.variations, tuple)
    assert copied.current_terms == start.current_terms


def test_a_state_folded_in_place_event_after_event_equals_evolve_after_each() -> None:
    # One accumulator for the whole stream (StreamRules'): what an event appends or sets
    # reaches the state, including after a run of returns that write only the maps.
    events = stream()
    start = events[0][2]
    folding, copied = InPlace(_copy(start)), start
    for event, digest, _ in events:
        copied = evolve(copied, event, digest)
        state = folding.add(event, digest)
        assert state == copied
        assert isinstance(state.adjustments, tuple)
        assert isinstance(state.certifications, tuple)
    assert state.adjustments
    assert state.certifications
    assert state.current_terms == start.current_terms


def test_a_whole_stream_folds_to_the_state_evolve_builds() -> None:
    events = stream()
    start = events[0][2]
    built = start
    for event, digest, _ in events:
        built = evolve(built, event, digest)
    # fold_events starts from nothing: give it the agreement too (the first state's event).
    agreement = _agreement_of(start)
    folded = fold_events(start.reference, [agreement, *(e for e, _, _ in events)],
                         built.head_hash)
    assert folded == built
    assert isinstance(folded.adjustments, tuple)


def _copy(state: ContractState) -> ContractState:
    """A state equal to ``state`` that no one else holds (its own maps)."""
    return replace(state, figures=dict(state.figures), returns=dict(state.returns))


def _agreement_of(state: ContractState) -> AnyEvent:
    assert state.agreed_by is not None
    return ContractAgreed(contract=state.reference, recorded_at=state.agreed_by.recorded_at,
                          recorded_by=state.agreed_by.recorded_by,
                          reason=state.agreed_by.reason, terms=state.base_terms)
