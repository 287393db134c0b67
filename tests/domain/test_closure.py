"""Closure stops the money (issue 18): nothing accrues for a period begun after a
contract's closure, retention is released in the period it closed in, and payment runs
recorded under the rule before it are still decided by that rule (``audit verify``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from conftest import (
    D,
    adjust,
    agreed,
    apply,
    certify,
    chain,
    close,
    fig,
    meta,
    period_of,
    schedule,
    submit,
    tally,
    terms,
)
from outcomeledger.domain import codec
from outcomeledger.domain.commands import AgreeContract, CertifyPayment
from outcomeledger.domain.contract.decide import decide
from outcomeledger.domain.contract.state import ContractState
from outcomeledger.domain.contract.validity import StreamRules
from outcomeledger.domain.events import CLOSURE_RULE, RAN_TO_END, AnyEvent, PaymentCertified
from outcomeledger.domain.payments.chain import provider_chain
from outcomeledger.domain.terms import Fee, Provider, ProviderTerms

MGMT = (Fee("MGMT", "Management fee", D("1000")),)


def fee_contract() -> ContractState:
    """FY2025-Q1..FY2026-Q4, a 1,000 fee each quarter, 5% retention, O1 at 100."""
    return agreed(fees=MGMT, retention=D("0.05"))


def amounts(state: ContractState, period: str) -> tuple[Decimal, ...]:
    """The period's earned, fees, retained and payable."""
    p = period_of(state, period)
    return (p.earned, p.fees, p.retained, p.payable)


def test_a_closure_inside_a_quarter_pays_its_fee_whole_and_none_after() -> None:
    state = apply(fee_contract(), tally("FY2025-Q1", O1=10), tally("FY2025-Q2", O1=4),
                  close(date(2025, 8, 15)))
    assert [p.period for p in schedule(state).periods] == ["FY2025-Q1", "FY2025-Q2"]
    # FY2025-Q2 (Jul-Sep) holds the closure: its fee is whole, never pro-rated; the 100
    # withheld in FY2025-Q1 is released in it and nothing of it is withheld.
    assert amounts(state, "FY2025-Q1") == (D(1000), D(1000), D(100), D(1900))
    assert amounts(state, "FY2025-Q2") == (D(400), D(1000), D(-100), D(1500))
    assert schedule(state).total("payable") == D(3400)


def test_figures_of_a_period_begun_after_the_closure_are_not_paid_and_say_so() -> None:
    state = apply(fee_contract(), tally("FY2025-Q1", O1=10), tally("FY2025-Q3", O1=7),
                  close(date(2025, 9, 30)))
    after = period_of(state, "FY2025-Q3")
    assert amounts(state, "FY2025-Q3") == (D(0), D(0), D(0), D(0))
    assert [(s.label, s.detail, s.refs) for s in after.other] == [(
        "closed", "contract closed on 2025-09-30: figures of a period begun after it are "
        "not paid", ("v3",))]
    assert amounts(state, "FY2025-Q2") == (D(0), D(1000), D(-100), D(1100))


def test_an_adjustment_for_a_later_period_counts_and_nothing_of_it_is_withheld() -> None:
    state = apply(fee_contract(), tally("FY2025-Q1", O1=10),
                  adjust("FY2025-Q4", "-300", kind="recovery"), close(date(2025, 6, 30)))
    p = period_of(state, "FY2025-Q4")
    assert (p.adjustments, p.fees, p.retained, p.payable) == (D(-300), D(0), D(0), D(-300))
    assert amounts(state, "FY2025-Q1") == (D(1000), D(1000), D(0), D(2000))


def test_a_contract_closed_after_its_term_releases_retention_in_its_last_period() -> None:
    state = apply(fee_contract(), tally("FY2025-Q1", O1=10), close(date(2027, 6, 30)))
    periods = schedule(state).periods
    assert (periods[-1].period, str(periods[-1].retained)) == ("FY2026-Q4", "-400.00")
    assert schedule(state).total("payable") == D(9000)  # 8 fees and 1,000 earned


@given(st.dates(min_value=date(2025, 4, 1), max_value=date(2027, 6, 30)),
       st.lists(st.sampled_from(["FY2025-Q1", "FY2025-Q2", "FY2025-Q4", "FY2026-Q3"]),
                max_size=4))
def test_nothing_accrues_after_a_closure_and_nothing_stays_withheld(
        closed_on: date, returned: list[str]) -> None:
    state = apply(fee_contract(), *(tally(p, O1=3) for p in returned), close(closed_on))
    periods = schedule(state).periods
    for p in periods:
        if state.period(p.period).start > closed_on:
            assert (p.earned, p.fees, p.retained, p.payable) == (D(0), D(0), D(0), D(0))
    assert sum((p.retained for p in periods), D(0)) == 0
    assert state.period(periods[-1].period).start <= max(closed_on, date(2027, 1, 1))


# -- payment runs recorded under the rule before issue 18 ---------------------------


def ran_to_end(state: ContractState, period: str) -> PaymentCertified:
    """A run as a ledger before issue 18 recorded it: the schedule ran through the end,
    and the event had no closure rule."""
    [event] = decide(state, CertifyPayment(period, closure_rule=RAN_TO_END), meta()).events
    assert isinstance(event, PaymentCertified)
    return msgspec.structs.replace(event, closure_rule=None)


def verified(events: list[AnyEvent]) -> list[str]:
    """What ``audit verify``'s rules find in the stream of ``events``, stored in turn."""
    rules = StreamRules()
    prev = "0" * 64
    for version, event in enumerate(events, 1):
        stored = codec.encode(msgspec.structs.replace(event, prev_hash=prev))
        rules.add(version, version, codec.topic(event), stored)
        prev = codec.event_hash(stored)
    return [v.rule for v in rules.violations]


def closed_early() -> tuple[ContractState, list[AnyEvent]]:
    """The fee contract with one return, closed at the end of FY2025-Q1: its state and
    every event of its stream."""
    commands = (AgreeContract(terms(fees=MGMT, retention=D("0.05"))),
                tally("FY2025-Q1", O1=10), close(date(2025, 6, 30)))
    state, events = ContractState("C-TEST"), list[AnyEvent]()
    for command in commands:
        decided = decide(state, command, meta()).events
        events += decided
        state = chain(state, decided)
    return state, events


def test_a_run_certified_after_a_closure_records_the_rule_it_was_decided_by() -> None:
    state, _ = closed_early()
    [event] = decide(state, certify("FY2026-Q4"), meta()).events
    assert isinstance(event, PaymentCertified)
    assert (event.closure_rule, str(event.amount)) == (CLOSURE_RULE, "2000.00")
    [before] = decide(agreed(), certify("FY2025-Q1"), meta()).events
    assert isinstance(before, PaymentCertified)
    assert before.closure_rule is None


def test_an_old_run_after_a_closure_verifies_and_the_next_run_trues_it_up() -> None:
    state, events = closed_early()
    old = ran_to_end(state, "FY2026-Q4")
    assert str(old.amount) == "9000.00"  # eight fees and 1,000 earned, under the old rule
    history = [*events, old]
    assert verified(history) == []
    # The same amounts claimed under today's rule are not what the rules record.
    forged = msgspec.structs.replace(old, closure_rule=CLOSURE_RULE)
    assert verified([*history[:-1], forged]) == [
        "amount is \"9000.00\", the rules record \"2000.00\"; cumulative_payable is "
        "\"9000.00\", the rules record \"2000.00\""]
    # The schedule shows today's rule; the next run carries the difference back.
    after = chain(state, [old])
    [next_run] = decide(after, certify("FY2026-Q4"), meta()).events
    assert isinstance(next_run, PaymentCertified)
    assert (str(next_run.amount), str(next_run.true_up)) == ("-7000.00", "-7000.00")
    assert verified([*history, next_run]) == []


def test_nothing_accrues_down_the_chain_after_the_closure_either() -> None:
    a = Provider("A", "Provider A", terms=ProviderTerms(prices={"O1": D(60)}, fee=D(25)))
    state = apply(agreed(providers=(a,)), submit("FY2025-Q1", fig("O1", 2), provider="A"),
                  submit("FY2025-Q3", fig("O1", 5), provider="A"), close(date(2025, 9, 30)))
    chain = provider_chain(state, schedule(state), "A")
    assert [(r.period, r.units, r.buyer_pays, r.fee, r.owed) for r in chain.periods] == [
        ("FY2025-Q1", D(2), D(200), D(25), D(145)),
        ("FY2025-Q2", D(0), D(0), D(25), D(25)),  # the quarter it closed in: fee whole
        ("FY2025-Q3", D(0), D(0), D(0), D(0))]
