"""Erasable participant data (issue 21): on a contract with pseudonymised participants an
erasure records the pseudonym alone, changes no figure or payment, and no new figure may
name an erased pseudonym or a clear id; a contract with clear ids refuses erasure."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import D, agreed, apply, close, fig, schedule, submit, terms, when
from outcomeledger.domain.commands import EraseParticipant
from outcomeledger.domain.contract.state import ContractState
from outcomeledger.domain.errors import InvalidInput, Refused
from outcomeledger.domain.events import ParticipantErased
from outcomeledger.domain.terms import ContractTerms

ANN = "P-" + "a" * 20
BEN = "P-" + "b" * 20


def pseudonymised() -> ContractState:
    """A pseudonymised contract with O1 achieved by ANN and BEN, and O2 by ANN."""
    return apply(agreed(participant_ids="pseudonymised", participant_cap=D("150")),
                 submit("FY2025-Q1", fig("O1", 1, ANN), fig("O1", 1, BEN)),
                 submit("FY2025-Q2", fig("O2", 1, ANN)))


def test_an_erasure_records_the_pseudonym_and_the_reason_only() -> None:
    [event] = when(pseudonymised(), EraseParticipant(ANN, "Art. 17 request R-1")).events
    assert isinstance(event, ParticipantErased)
    assert (event.pseudonym, event.reason) == (ANN, "Art. 17 request R-1")


def test_an_erasure_changes_no_payment() -> None:
    before = pseudonymised()
    after = apply(before, EraseParticipant(ANN, "Art. 17"))
    assert schedule(after) == schedule(before)
    assert after.figures == before.figures
    assert after.erased == (ANN,)


@given(st.sets(st.sampled_from([ANN, BEN])))
def test_erasures_in_any_combination_leave_the_schedule_as_it_was(erased: set[str]) -> None:
    before = pseudonymised()
    after = apply(before, *(EraseParticipant(p, "Art. 17") for p in sorted(erased)))
    assert schedule(after) == schedule(before)


def test_a_participant_is_erased_once() -> None:
    state = apply(pseudonymised(), EraseParticipant(ANN, "Art. 17"))
    with pytest.raises(Refused, match="erased already"):
        when(state, EraseParticipant(ANN, "again"))


def test_a_pseudonym_no_figure_names_is_refused() -> None:
    with pytest.raises(Refused, match=r"no figure .* names participant"):
        when(pseudonymised(), EraseParticipant("P-" + "c" * 20, "Art. 17"))


def test_an_erasure_needs_a_reason() -> None:
    with pytest.raises(InvalidInput, match="reason is required"):
        when(pseudonymised(), EraseParticipant(ANN, " "))


def test_a_contract_with_clear_ids_refuses_erasure_naming_why() -> None:
    state = apply(agreed(), submit("FY2025-Q1", fig("O1", 1, "P-0173")))
    with pytest.raises(Refused, match="records participant ids in clear"):
        when(state, EraseParticipant("P-0173", "Art. 17"))


def test_a_closed_contract_still_accepts_an_erasure() -> None:
    state = apply(pseudonymised(), close(date(2026, 3, 31)))
    assert when(state, EraseParticipant(BEN, "Art. 17")).events


def test_a_figure_naming_an_erased_pseudonym_is_refused() -> None:
    state = apply(pseudonymised(), EraseParticipant(BEN, "Art. 17"))
    with pytest.raises(InvalidInput, match="erased from contract"):
        when(state, submit("FY2025-Q3", fig("O2", 1, BEN)))


def test_a_clear_id_on_a_pseudonymised_contract_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not a pseudonym"):
        when(pseudonymised(), submit("FY2025-Q3", fig("O2", 1, "P-0173")))


def test_contracts_agreed_before_pseudonymisation_keep_their_bytes() -> None:
    encoded = msgspec.json.encode(terms())
    assert b"participant_ids" not in encoded
    assert msgspec.json.decode(encoded, type=ContractTerms).participant_ids == "clear"
