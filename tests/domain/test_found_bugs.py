"""Behaviour the code gets wrong today. Each test states the expected behaviour; see the
report that introduced this file for the analysis of each bug."""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import (
    D,
    agreed,
    apply,
    fig,
    outcome,
    period_of,
    schedule,
    submit,
    tally,
    when,
)
from outcomeledger.domain.commands import RejectReturn
from outcomeledger.domain.errors import InvalidInput
from outcomeledger.domain.events import ReturnSubmitted
from outcomeledger.domain.money import fmt, fmt_money
from outcomeledger.imports.returns import parse_returns

IMPROVEMENT = outcome("R", kind="improvement", price=D(1000), baseline=D(155), per=D(100),
                      cohort_size=D(100))


def test_floor_does_not_pay_back_a_shortfall_it_never_charged() -> None:
    """mechanism.compute, negative_periods = "floor": FY2025-Q1 is 10 events worse than
    baseline (floored to 0, nothing charged); FY2025-Q2's result is 10 events better.
    The cohort's latest result is a gap of 10 events (10,000), but the floored -10 units
    stay in the running paid units, so Q2 pays for 20 events (20,000)."""
    state = apply(agreed(outcomes=(IMPROVEMENT,), negative_periods="floor"),
                  tally("FY2025-Q1", R=165), tally("FY2025-Q2", R=145))
    assert period_of(state, "FY2025-Q1").payable == D(0)
    assert period_of(state, "FY2025-Q2").payable == D("10000.00")
    assert schedule(state).total("payable") == D("10000.00")


def test_a_participant_whose_return_was_rejected_can_still_achieve_the_outcome() -> None:
    """contract._participant_index counts figures of rejected returns, so once-per-participant
    refuses the claim in any other period, while mechanism.compute never pays the rejected
    one: the outcome can never be paid for this participant."""
    state = apply(agreed(), submit("FY2025-Q1", fig("O1", 1, "P-1")),
                  RejectReturn("FY2025-Q1", "", "evidence missing"))
    assert schedule(state).total("payable") == D(0)
    [event] = when(state, submit("FY2025-Q2", fig("O1", 1, "P-1"))).events
    assert isinstance(event, ReturnSubmitted)
    assert schedule(apply(state, submit("FY2025-Q2", fig("O1", 1, "P-1")))).total(
        "payable") == D("100.00")


def test_ndjson_numbers_are_read_exactly_never_through_a_float() -> None:
    """imports.rows._json_rows decodes JSON numbers as Python floats and parses str(float):
    0.12345678901234567890 becomes 0.12345678901234568 (DESIGN 3: never a float)."""
    problems: list[object] = []
    data = (b'{"contract":"C-TEST","period":"FY2025-Q1","outcome":"M",'
            b'"value":0.12345678901234567890}\n')
    parsed = parse_returns(data, "r.ndjson", "ndjson", problems)  # type: ignore[arg-type]
    assert problems == []
    [command] = parsed.commands.values()
    assert command.figures[0].value == Decimal("0.12345678901234567890")


def test_negative_zero_is_never_printed() -> None:
    """money.fmt normalises "-0" and "-0.0" only; a quantized negative zero prints "-0.00"
    (fmt_money(Decimal("-0.001"), "GBP") == "-0.00")."""
    assert fmt(Decimal("-0.00")) == "0.00"
    assert fmt_money(Decimal("-0.001"), "GBP") == "0.00"


def test_two_values_for_one_figure_in_one_return_are_refused() -> None:
    """contract._submit accepts a SubmitReturn holding the same (outcome, participant) twice
    with different values: it reports added=2 and the fold keeps only the last value.
    DESIGN 4.3: two rows with the same key and different values in one import are an error;
    the file parser catches it, the decider (the consistency boundary) does not."""
    command = submit("FY2025-Q1", fig("O1", 1, "P-1", line=2), fig("O1", 3, "P-1", line=3))
    with pytest.raises(InvalidInput) as error:
        when(agreed(), command)
    assert [(p.line, p.field) for p in error.value.problems] == [(3, "value")]
