"""Ladders and once-only outcomes: the per-participant rules the decider enforces."""

from __future__ import annotations

from conftest import agreed, apply, fig, outcome, refusal, submit, when
from outcomeledger.domain.contract.state import ContractState


def ladder() -> ContractState:
    return agreed(outcomes=(outcome("ENTRY"), outcome("SUSTAIN", requires=("ENTRY",)),
                            outcome("WB", once_per_participant=False)))


def test_an_outcome_is_claimable_once_per_participant() -> None:
    state = apply(ladder(), submit("FY2025-Q1", fig("ENTRY", 1, "P-1")))
    assert refusal(state, submit("FY2025-Q2", fig("ENTRY", 1, "P-1"))) == (
        "participant: ENTRY is claimable once per participant and P-1 already has it in "
        "FY2025-Q1")


def test_a_repeatable_outcome_may_be_claimed_again() -> None:
    state = apply(ladder(), submit("FY2025-Q1", fig("WB", 1, "P-1")))
    assert len(when(state, submit("FY2025-Q2", fig("WB", 1, "P-1"))).events) == 1


def test_a_ladder_step_without_its_prerequisite_is_recorded_with_a_warning() -> None:
    # Recorded, not refused (issue 14 item 4); payments exclude it (test_trust_money).
    decision = when(ladder(), submit("FY2025-Q1", fig("SUSTAIN", 1, "P-1")))
    assert len(decision.events) == 1
    [warning] = decision.receipt.warnings
    assert warning.message.startswith("SUSTAIN requires ENTRY first and P-1 has not "
                                      "achieved it")


def test_a_prerequisite_in_a_later_period_does_not_count() -> None:
    state = apply(ladder(), submit("FY2025-Q2", fig("ENTRY", 1, "P-1")))
    [warning] = when(state, submit("FY2025-Q1", fig("SUSTAIN", 1, "P-1"))).receipt.warnings
    assert "requires ENTRY first" in warning.message


def test_a_prerequisite_in_the_same_return_or_earlier_counts() -> None:
    same = submit("FY2025-Q1", fig("ENTRY", 1, "P-1"), fig("SUSTAIN", 1, "P-1"))
    assert len(when(ladder(), same).events) == 1
    state = apply(ladder(), submit("FY2025-Q1", fig("ENTRY", 1, "P-2")))
    assert len(when(state, submit("FY2025-Q2", fig("SUSTAIN", 1, "P-2"))).events) == 1
