"""Counterfactuals (DESIGN 11): a contract's stream folded again without some events."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import REF, D, adjust, chain, fig, meta, submit, tally, terms, vary
from outcomeledger.domain.commands import AgreeContract, Command
from outcomeledger.domain.contract import counterfactual
from outcomeledger.domain.contract.decide import decide
from outcomeledger.domain.contract.state import ContractState, fold_events
from outcomeledger.domain.errors import InvalidInput, LedgerError
from outcomeledger.domain.events import AnyEvent
from outcomeledger.domain.payments.mechanism import compute
from outcomeledger.domain.variations import OutcomeChange, Variation


def recorded(*commands: Command) -> list[AnyEvent]:
    """The events ``commands`` record in turn, after the contract is agreed (a command
    refused records nothing)."""
    state, events = ContractState(REF), list[AnyEvent]()
    for command in (AgreeContract(terms()), *commands):
        try:
            decided = decide(state, command, meta()).events
        except LedgerError:
            continue
        events += decided
        state = chain(state, decided)
    return events


def test_the_events_left_keep_their_own_positions() -> None:
    events = recorded(tally("FY2025-Q1", O1=5),
                      vary(Variation(outcomes=(OutcomeChange(code="O1", price=D(120)),)),
                           date(2025, 4, 1)),
                      submit("FY2025-Q1", fig("O1", 4), restate=True, reason="one withdrawn"))
    state = counterfactual.without(REF, events, {3})
    [line] = compute(state).periods[0].lines
    assert (line.earned, line.steps[0].refs) == (D(400), ("v4",))  # 4 units at 100
    assert (state.version, state.variations) == (4, ())


def test_every_problem_with_the_positions_is_refused_at_once() -> None:
    events = recorded(tally("FY2025-Q1", O1=5))
    with pytest.raises(InvalidInput) as error:
        counterfactual.without(REF, events, {0, 1, 3})
    assert [str(p) for p in error.value.problems] == [
        "--without: C-TEST has no event at position 0 (its stream holds positions 1 to 2)",
        "--without: C-TEST has no event at position 3 (its stream holds positions 1 to 2)",
        "--without: position 1 is the agreement itself: without it nothing would remain "
        "(expected 2 to 2)"]


steps = st.lists(st.one_of(
    st.builds(lambda p, n: tally(p, O1=n), st.sampled_from(["FY2025-Q1", "FY2025-Q2"]),
              st.integers(0, 30)),
    st.builds(lambda p, a: adjust(p, str(a)), st.sampled_from(["FY2025-Q1", "FY2025-Q3"]),
              st.integers(1, 500))), min_size=1, max_size=6)


@given(steps, st.data())
def test_leaving_out_the_last_events_is_the_schedule_of_the_ledger_before_them(
        commands: list[Command], data: st.DataObject) -> None:
    events = recorded(*commands)
    assert compute(counterfactual.without(REF, events, set())) == compute(
        fold_events(REF, events))
    keep = data.draw(st.integers(1, len(events)))
    left_out = set(range(keep + 1, len(events) + 1))
    assert compute(counterfactual.without(REF, events, left_out)).periods == compute(
        fold_events(REF, events[:keep])).periods


def test_an_outcome_unknown_to_the_terms_left_is_not_paid() -> None:
    new = Variation(outcomes=(OutcomeChange(code="O3", name="New", price=D(50)),))
    events = recorded(vary(new, date(2025, 7, 1)), tally("FY2025-Q2", O3=2, O1=1))
    state = counterfactual.without(REF, events, {2})
    assert [line.outcome for line in compute(state).periods[-1].lines] == ["O1"]


def test_a_variation_left_out_of_the_state_is_the_stream_folded_without_it() -> None:
    cheaper = Variation(outcomes=(OutcomeChange(code="O1", price=D(80)),))
    dearer = Variation(outcomes=(OutcomeChange(code="O2", price=D(300)),))
    events = recorded(tally("FY2025-Q1", O1=5, O2=1), vary(cheaper, date(2025, 7, 1)),
                      tally("FY2025-Q2", O1=4, O2=2), vary(dearer, date(2025, 10, 1)),
                      tally("FY2025-Q3", O1=1, O2=1))
    state = fold_events(REF, events)
    for version in (3, 5):
        assert compute(counterfactual.without_variation(state, version)) == compute(
            counterfactual.without(REF, events, {version}))
    assert compute(counterfactual.without_variation(state, 3)).total("payable") == D(
        500 + 250 + 400 + 500 + 100 + 300)
