"""The contract decider: given events -> when a command -> then events, or a refusal."""

from __future__ import annotations

from datetime import date

import pytest

from conftest import (
    LATER,
    REF,
    D,
    adjust,
    agreed,
    apply,
    certify,
    close,
    fig,
    refusal,
    submit,
    tally,
    terms,
    vary,
    when,
)
from outcomeledger.cli.base import as_flag
from outcomeledger.domain.commands import AgreeContract, Command, ValidateReturn
from outcomeledger.domain.contract.state import ContractState
from outcomeledger.domain.errors import COMMAND, InvalidInput, Problem, Refused
from outcomeledger.domain.events import (
    ContractAgreed,
    ContractClosed,
    ContractVaried,
    PaymentCertified,
    ReturnRestated,
    ReturnSubmitted,
)
from outcomeledger.domain.variations import Variation


def test_agreeing_a_contract_records_its_terms() -> None:
    [event] = when(ContractState(REF), AgreeContract(terms())).events
    assert isinstance(event, ContractAgreed)
    assert (event.contract, event.terms, event.reason) == (REF, terms(), "contract agreed")


def test_a_contract_cannot_be_agreed_twice() -> None:
    with pytest.raises(Refused, match="already exists"):
        when(agreed(), AgreeContract(terms()))


def test_nothing_is_recorded_against_a_contract_never_agreed() -> None:
    with pytest.raises(Refused, match="has not been agreed"):
        when(ContractState(REF), tally("FY2025-Q1", O1=1))


def test_a_return_for_a_new_period_is_recorded_with_its_figures() -> None:
    decision = when(agreed(), submit("FY2025-Q1", fig("O1", 3), fig("O2", 1), provider="P1"))
    [event] = decision.events
    assert isinstance(event, ReturnSubmitted)
    assert (event.period, event.provider, event.late) == ("FY2025-Q1", "P1", False)
    assert [(f.outcome, f.value) for f in event.figures] == [("O1", D(3)), ("O2", D(1))]
    assert (decision.receipt.added, decision.receipt.unchanged) == (2, 0)


def test_a_return_given_as_an_iso_range_is_recorded_under_the_period_id() -> None:
    [event] = when(agreed(), tally("2025-07-01..2025-09-30", O1=1)).events
    assert isinstance(event, ReturnSubmitted)
    assert event.period == "FY2025-Q2"


@pytest.mark.parametrize(("day", "late"), [(date(2025, 7, 30), False), (date(2025, 7, 31), True)])
def test_a_return_after_its_due_days_is_flagged_late(day: date, late: bool) -> None:
    # returns are due 30 days after the period ends (30 June + 30 days = 30 July)
    at = LATER.replace(month=day.month, day=day.day)
    [event] = when(agreed(), tally("FY2025-Q1", O1=1), at=at).events
    assert isinstance(event, ReturnSubmitted)
    assert event.late is late


def test_a_return_for_an_unknown_outcome_is_refused() -> None:
    assert refusal(agreed(), tally("FY2025-Q1", ZZ=1)) == (
        "outcome: unknown outcome for FY2025-Q1 (got 'ZZ', expected one of ['O1', 'O2'])")


def test_a_return_before_the_contract_starts_is_refused() -> None:
    assert refusal(agreed(), tally("FY2024-Q4", O1=1)).startswith(
        "period: before the contract starts (got FY2024-Q4")


def test_a_return_after_the_claims_window_is_refused() -> None:
    assert refusal(agreed(), tally("FY2027-Q1", O1=1)).startswith(
        "period: after the claims window closes (got FY2027-Q1")


def test_a_later_claims_window_accepts_periods_after_the_end() -> None:
    state = agreed(claims_until=date(2027, 9, 30))
    assert len(when(state, tally("FY2027-Q2", O1=1)).events) == 1


def test_a_monthly_period_on_a_quarterly_contract_is_refused() -> None:
    assert "a monthly period on a quarterly contract" in refusal(agreed(), tally("2025-04", O1=1))


def test_a_provider_outside_the_network_is_refused() -> None:
    command = submit("FY2025-Q1", fig("O1", 1), provider="ACME")
    assert refusal(agreed(), command) == (
        "provider: not in the contract's delivery network (got 'ACME', "
        "expected one of ['P1', 'P2'])")


@pytest.mark.parametrize(("value", "expected"), [
    ("-1", "value: negative (got -1, expected 0 or more)"),
    ("1.5", "value: fractional count (got 1.5, expected a whole number of outcomes)"),
])
def test_impossible_counts_are_refused(value: str, expected: str) -> None:
    assert refusal(agreed(), submit("FY2025-Q1", fig("O1", value))) == expected


def test_achieved_on_must_fall_inside_the_period() -> None:
    command = submit("FY2025-Q1", fig("O1", 1, achieved_on=date(2025, 7, 1)))
    assert refusal(agreed(), command) == (
        "achieved_on: outside its period (got 2025-07-01, expected 2025-04-01..2025-06-30)")


def test_every_problem_of_a_return_is_reported_at_once() -> None:
    command = submit("FY2025-Q1", fig("ZZ", 1, line=2), fig("O1", "-2", line=3),
                       fig("O2", "0.5", line=4))
    with pytest.raises(InvalidInput) as error:
        when(agreed(), command)
    assert [(p.line, p.field) for p in error.value.problems] == [
        (2, "outcome"), (3, "value"), (4, "value")]


def test_an_identical_re_import_is_a_no_op() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=3, O2=1))
    decision = when(state, tally("FY2025-Q1", O1=3, O2=1))
    assert decision.events == ()
    assert (decision.receipt.added, decision.receipt.unchanged,
            decision.receipt.restated) == (0, 2, 0)


def test_a_supplementary_return_adds_only_the_new_figures() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=3))
    decision = when(state, tally("FY2025-Q1", O1=3, O2=2))
    [event] = decision.events
    assert isinstance(event, ReturnSubmitted)
    assert [(f.outcome, f.value) for f in event.figures] == [("O2", D(2))]
    assert (decision.receipt.added, decision.receipt.unchanged) == (1, 1)


def test_a_changed_value_is_refused_without_restate() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=3))
    assert refusal(state, tally("FY2025-Q1", O1=4)) == (
        "value: FY2025-Q1 O1 was recorded as 3; a different value needs --restate --reason "
        "(got 4)")


def test_a_restatement_needs_a_reason() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=3))
    command = submit("FY2025-Q1", fig("O1", 4), restate=True, reason=" ")
    assert refusal(state, command) == "reason: a reason is required for a restatement"


def test_a_restatement_supersedes_exactly_the_changed_figures_keeping_the_originals() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=3, O2=5))
    command = submit("FY2025-Q1", fig("O1", 2), fig("O2", 5), restate=True,
                       reason="two claims withdrawn after audit")
    decision = when(state, command)
    [event] = decision.events
    assert isinstance(event, ReturnRestated)
    assert event.reason == "two claims withdrawn after audit"
    assert [(f.outcome, f.value) for f in event.figures] == [("O1", D(2))]
    assert [(f.outcome, f.value) for f in event.originals] == [("O1", D(3))]
    assert (decision.receipt.restated, decision.receipt.unchanged) == (1, 1)
    after = apply(state, command)
    record = after.figures[("FY2025-Q1", "", "O1", "")]
    assert record.value == D(2)
    assert [value for value, _ in record.history] == [D(3)]


def test_a_variation_is_recorded_with_its_effective_date_and_reason() -> None:
    [event] = when(agreed(), vary(Variation(retire=("O2",)), date(2025, 10, 1),
                                    "programme cut")).events
    assert isinstance(event, ContractVaried)
    assert (event.effective_from, event.reason) == (date(2025, 10, 1), "programme cut")


@pytest.mark.parametrize(("effective", "message"), [
    (date(2025, 8, 1), "effective: not on a period boundary (got 2025-08-01"),
    (date(2025, 1, 1), "effective: before the contract starts (got 2025-01-01"),
])
def test_a_variation_off_the_calendar_is_refused(effective: date, message: str) -> None:
    assert refusal(agreed(), vary(Variation(retire=("O2",)), effective)).startswith(message)


def test_a_variation_retiring_an_unknown_outcome_is_refused() -> None:
    assert refusal(agreed(), vary(Variation(retire=("O9",)), date(2025, 7, 1))) == (
        "retire: no outcome 'O9' to retire (got 'O9', expected one of ['O1', 'O2'])")


def test_a_variation_needs_a_reason() -> None:
    command = vary(Variation(retire=("O2",)), date(2025, 7, 1), reason="")
    assert refusal(agreed(), command) == "reason: a reason is required for a variation"


def test_a_retired_outcome_is_refused_for_later_periods_but_accepted_for_earlier() -> None:
    state = apply(agreed(), vary(Variation(retire=("O2",)), date(2025, 10, 1)))
    message = refusal(state, tally("FY2025-Q3", O2=1))
    assert "retired by a variation for this period" in message
    [event] = when(state, tally("FY2025-Q2", O2=1)).events
    assert isinstance(event, ReturnSubmitted)


@pytest.mark.parametrize("command", [
    tally("FY2025-Q2", O1=1),
    adjust("FY2025-Q2", "100"),
    vary(Variation(retire=("O2",)), date(2025, 10, 1)),
    close(),
    ValidateReturn("FY2025-Q1", ""),
], ids=["return", "adjustment", "variation", "close", "validate"])
def test_a_closed_contract_refuses_everything_but_payment_runs(command: object) -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=3), close(date(2026, 3, 31)))
    with pytest.raises(Refused, match="was closed on 2026-03-31"):
        when(state, command)  # type: ignore[arg-type]
    [event] = when(state, certify("FY2025-Q1")).events
    assert isinstance(event, PaymentCertified)
    assert event.amount == D("300.00")


def test_closing_records_the_date_and_reason() -> None:
    [event] = when(agreed(), close(date(2027, 3, 31), "service ended")).events
    assert isinstance(event, ContractClosed)
    assert (event.closed_on, event.reason) == (date(2027, 3, 31), "service ended")


def test_a_certification_pays_cumulative_payable_less_everything_certified() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=3), certify("FY2025-Q1"),
                  tally("FY2025-Q2", O1=2, O2=1))
    [event] = when(state, certify("FY2025-Q2")).events
    assert isinstance(event, PaymentCertified)
    assert (event.amount, event.cumulative_payable, event.true_up) == (
        D("450.00"), D("750.00"), D("0.00"))


def test_a_restatement_after_certification_is_carried_as_a_true_up() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=3), certify("FY2025-Q1"),
                  submit("FY2025-Q1", fig("O1", 1), restate=True, reason="audit"),
                  tally("FY2025-Q2", O1=5))
    [event] = when(state, certify("FY2025-Q2")).events
    assert isinstance(event, PaymentCertified)
    assert (event.amount, event.cumulative_payable, event.true_up) == (
        D("300.00"), D("600.00"), D("-200.00"))


def test_a_period_before_the_last_certified_cannot_be_certified() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=3), certify("FY2025-Q2"))
    with pytest.raises(Refused, match="FY2025-Q2 is already certified"):
        when(state, certify("FY2025-Q1"))


def test_certifying_the_same_period_twice_with_no_change_is_refused() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=3), certify("FY2025-Q1"))
    with pytest.raises(Refused, match="nothing has changed since"):
        when(state, certify("FY2025-Q1"))


def test_an_adjustment_needs_a_non_zero_amount_and_a_reason() -> None:
    assert refusal(agreed(), adjust("FY2025-Q1", "0")) == (
        "amount: expected a non-zero finite amount (got 0)")
    assert refusal(agreed(), adjust("FY2025-Q1", "-50", reason="")) == (
        "reason: a reason is required for an adjustment")


def test_the_decider_names_fields_and_never_the_command_lines_flags() -> None:
    """The domain speaks of ``reason`` and ``period``; the CLI shows ``--reason``."""
    state = apply(agreed(), tally("FY2025-Q1", O1=1))
    commands: list[Command] = [submit("FY2025-Q1", fig("O1", 2), restate=True),
                vary(Variation(max_value=D(1)), date(2025, 5, 1), reason="r"),
                adjust("FY2099-Q1", "5.00"), certify("1999-Q9"),
                close(on=date(2020, 1, 1))]
    for command in commands:
        with pytest.raises(InvalidInput) as error:
            when(state, command)
        for problem in error.value.problems:
            assert problem.source == COMMAND, problem
            assert not str(problem).startswith("-"), problem
    flagged = as_flag(Problem(COMMAND, None, "closed_on", "before the contract starts"))
    assert str(flagged) == "--on: before the contract starts"
    assert str(as_flag(Problem(COMMAND, None, "received_on", "x"))) == "--received-on: x"
