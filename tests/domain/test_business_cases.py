"""Business cases (DESIGN 11): given a contract -> when a business case is approved ->
then BusinessCaseApproved, its outcomes paid within its budget first and the contract's
caps after, every line of its outcomes naming it; or a refusal naming each problem."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import (
    REF,
    D,
    agreed,
    apply,
    certify,
    meta,
    outcome,
    period_of,
    schedule,
    submit,
    tally,
    terms,
    when,
)
from conftest import fig as figure
from outcomeledger.domain import codec
from outcomeledger.domain.commands import (
    AgreeContract,
    ApproveBusinessCase,
    Command,
    VaryContract,
)
from outcomeledger.domain.contract.decide import decide
from outcomeledger.domain.contract.state import ContractState, evolve
from outcomeledger.domain.contract.validity import StreamRules
from outcomeledger.domain.errors import InvalidInput
from outcomeledger.domain.events import AnyEvent, BusinessCaseApproved, PaymentCertified
from outcomeledger.domain.payments.cases import BASE, case_periods, parts
from outcomeledger.domain.payments.what_if import what_if
from outcomeledger.domain.terms import BusinessCase, Outcome
from outcomeledger.domain.variations import OutcomeChange, Variation
from outcomeledger.report import build_report
from outcomeledger.report.tables import contract_sections
from outcomeledger.storage.head import Head


def case(case_id: str = "BC-1", *outcomes: Outcome, budget: str = "1000",
         effective: date = date(2025, 7, 1), providers: tuple[str, ...] = ()) -> BusinessCase:
    return BusinessCase(case_id, "More delivery", "An agreed need", effective, D(budget),
                        outcomes or (outcome("N1", price=D("100"), target=D(20)),),
                        providers)


def approve(c: BusinessCase, reason: str = "approved by cabinet") -> ApproveBusinessCase:
    return ApproveBusinessCase(c, reason, "bc.toml")


def problems(state: ContractState, c: BusinessCase, reason: str = "approved") -> list[str]:
    with pytest.raises(InvalidInput) as error:
        when(state, approve(c, reason))
    return [f"{p.field}: {p.message}" for p in error.value.problems]


def test_approval_records_the_business_case_and_its_outcomes_join_the_terms_from_effective(
        ) -> None:
    state = agreed()
    [event] = when(state, approve(case())).events
    assert isinstance(event, BusinessCaseApproved)
    assert event.business_case == case()
    assert event.reason == "approved by cabinet"
    state = apply(state, approve(case()))
    assert [o.code for o in state.terms_on(date(2025, 6, 30)).outcomes] == ["O1", "O2"]
    assert [o.code for o in state.terms_on(date(2025, 7, 1)).outcomes] == ["O1", "O2", "N1"]
    assert [r.business_case.id for r in state.business_cases] == ["BC-1"]


def test_its_outcomes_are_capped_by_its_budget_first_and_their_lines_name_it() -> None:
    # 6 + 5 units at 100 against a budget of 1,000: 600, then 400 of 500 (100 above).
    state = apply(agreed(), approve(case()), tally("FY2025-Q2", O1=2, N1=6),
                  tally("FY2025-Q3", N1=5))
    q2, q3 = period_of(state, "FY2025-Q2"), period_of(state, "FY2025-Q3")
    [o1, n1] = q2.lines
    assert (o1.business_case, n1.business_case) == ("", "BC-1")
    assert n1.payable == D("600.00")
    [n1] = q3.lines
    assert (n1.earned, n1.above_cap, n1.payable) == (D("500.00"), D("100.00"), D("400.00"))
    budget = [s for s in n1.steps if s.label == "budget"]
    assert [(s.amount, "BC-1" in s.detail) for s in budget] == [(D("-100.00"), True)]


def test_the_contract_cap_still_applies_after_the_budget() -> None:
    state = apply(agreed(max_value=D("700")), approve(case(budget="5000")),
                  tally("FY2025-Q2", O1=4, N1=6))
    q2 = period_of(state, "FY2025-Q2")
    # O1 400 within the cap; N1 600 within its budget but only 300 within the contract cap.
    assert [(line.outcome, line.payable) for line in q2.lines] == [
        ("O1", D("400.00")), ("N1", D("300.00"))]
    assert q2.lines[1].steps[-1].label == "max_value"
    assert q2.lines[1].business_case == "BC-1"


def test_a_restatement_down_under_a_binding_budget_changes_nothing_paid() -> None:
    state = apply(agreed(), approve(case()), tally("FY2025-Q2", N1=12), certify("FY2025-Q2"))
    restated = apply(state, submit("FY2025-Q2", figure("N1", 11), restate=True,
                                   reason="one duplicate"))
    assert schedule(restated).total("payable") == schedule(state).total("payable") == D("1000")


@given(st.lists(st.integers(0, 30), min_size=1, max_size=6),
       st.integers(1, 40).map(lambda n: n * 50))
def test_a_business_case_never_pays_more_than_its_budget(units: list[int], budget: int
                                                         ) -> None:
    quarters = ("FY2025-Q2", "FY2025-Q3", "FY2025-Q4", "FY2026-Q1", "FY2026-Q2", "FY2026-Q3")
    state = apply(agreed(), approve(case(budget=str(budget))),
                  *(tally(q, N1=n) for q, n in zip(quarters, units, strict=False)))
    lines = [line for p in schedule(state).periods for line in p.lines]
    paid = sum((line.payable for line in lines), Decimal(0))
    earned = sum((line.earned for line in lines), Decimal(0))
    assert paid == min(earned, D(budget))
    assert sum((line.above_cap for line in lines), Decimal(0)) == earned - paid
    assert all(line.business_case == "BC-1" for line in lines)


def test_refusals_name_every_problem_in_the_file() -> None:
    state = apply(agreed(), approve(case()))
    reused = case("BC-1", outcome("O2", price=D("5")), budget="0",
                  effective=date(2025, 8, 1), providers=("P9",))
    assert problems(state, reused) == [
        "id: business case 'BC-1' is already approved on C-TEST (expected a new id)",
        "budget: must be more than 0 (got 0): the most the business case pays",
        "effective: not on a period boundary (got 2025-08-01, expected the first day of a "
        "quarter)",
        "outcomes[0].code: 'O2' is already a code of C-TEST (a business case's outcomes "
        "are new: expected a code not used before)",
        "providers[0]: no provider 'P9' in the network (got 'P9', expected one of ['P1', "
        "'P2'])"]
    assert problems(state, case("BC-2", effective=date(2027, 4, 1))) == [
        "effective: outside the contract's term (got 2027-04-01, expected 2025-04-01 to "
        "2027-03-31)",
        "outcomes[0].code: 'N1' is already a code of C-TEST (a business case's outcomes are "
        "new: expected a code not used before)"]
    assert problems(agreed(), case(budget="-5")) == [
        "budget: must be more than 0 (got -5): the most the business case pays"]
    assert problems(agreed(), case(), reason=" ") == [
        "reason: a reason is required for a business case"]


def test_a_code_once_retired_is_still_taken() -> None:
    state = apply(agreed(), VaryContract(Variation(retire=("O2",)), date(2025, 7, 1),
                                         "O2 no longer bought"))
    assert problems(state, case("BC-9", outcome("O2", price=D("5")))) == [
        "outcomes[0].code: 'O2' is already a code of C-TEST (a business case's outcomes "
        "are new: expected a code not used before)"]


def test_a_business_case_naming_its_providers_refuses_its_outcomes_from_others() -> None:
    state = apply(agreed(), approve(case(providers=("P1",))))
    apply(state, submit("FY2025-Q2", figure("N1", 3), provider="P1"))
    with pytest.raises(InvalidInput) as error:
        when(state, submit("FY2025-Q2", figure("N1", 3), provider="P2"))
    [p] = error.value.problems
    assert p.field == "provider"
    assert "business case BC-1, delivered by P1" in p.message
    # Its own outcomes only: P2 still returns the contract's.
    apply(state, submit("FY2025-Q2", figure("O1", 3), provider="P2"))


def test_the_base_and_each_business_case_side_by_side() -> None:
    second = case("BC-2", outcome("N2", price=D("50")), budget="100",
                  effective=date(2025, 10, 1))
    state = apply(agreed(), approve(case()), approve(second),
                  tally("FY2025-Q2", O1=3, N1=4), tally("FY2025-Q3", O2=2, N2=3))
    base, one, two = parts(state, schedule(state))
    assert (base.id, base.payable, base.budget) == (BASE, D("800.00"), None)
    assert [(o.code, o.units, o.cost_per_unit("GBP")) for o in base.outcomes] == [
        ("O1", D(3), D("100.00")), ("O2", D(2), D("250.00"))]
    assert (one.id, one.payable, one.remaining) == ("BC-1", D("400.00"), D("600.00"))
    assert one.outcomes[0].target == D(20)
    assert (two.id, two.earned, two.payable, two.above_cap) == (
        "BC-2", D("150.00"), D("100.00"), D("50.00"))
    assert two.outcomes[0].cost_per_unit("GBP") == D("33.33")
    [row] = case_periods(state, schedule(state), "BC-2")
    assert (row.period, row.payable, row.remaining) == ("FY2025-Q3", D("100.00"), D("0.00"))
    with pytest.raises(InvalidInput, match="expected one of \\['BC-1', 'BC-2'\\]"):
        case_periods(state, schedule(state), "BC-3")


def test_what_if_is_the_schedule_with_it_at_targets_and_at_actuals() -> None:
    state = apply(agreed(outcomes=(outcome("O1", target=D(10)),)), tally("FY2025-Q2", O1=4))
    event = when(state, approve(case())).events[0]
    assert isinstance(event, BusinessCaseApproved)
    result = what_if(state, event)
    # At actuals nothing is returned for N1 yet; at targets N1's 20 units earn 2,000, of
    # which its budget pays 1,000; O1's remaining 6 units are promised either way.
    assert result.actual_with == result.actual_without == D("400.00")
    assert result.target_without == D("1000.00")
    assert result.target_with == D("2000.00")
    assert (result.case_earned, result.case_payable) == (D("2000.00"), D("1000.00"))


def recorded(*commands: Command) -> list[AnyEvent]:
    """The events ``commands`` record on a new contract, chained as the store chains them."""
    state, out = ContractState(REF), []
    for command in commands:
        for decided in decide(state, command, meta()).events:
            event = msgspec.structs.replace(decided, prev_hash=state.head_hash)
            state = evolve(state, event, codec.event_hash(codec.encode(event)))
            out.append(event)
    return out


def verified(events: list[AnyEvent]) -> list[str]:
    rules = StreamRules()
    for position, event in enumerate(events, 1):
        rules.add(position, position, codec.topic(event), codec.encode(event))
    return [v.rule for v in rules.violations]


def test_audit_verify_decides_a_business_case_again_and_its_budgeted_runs() -> None:
    events = recorded(AgreeContract(terms()), approve(case()), tally("FY2025-Q2", N1=12),
                      certify("FY2025-Q2"))
    assert verified(events) == []
    run = events[-1]
    assert isinstance(run, PaymentCertified)
    assert run.amount == D("1000.00")
    # A business case the rules would never approve (a code of the contract's reused),
    # written straight into the store, is found.
    forged = msgspec.structs.replace(events[1], business_case=case(
        "BC-1", outcome("O1", price=D("5"))))
    [rule] = verified([events[0], forged])
    assert "'O1' is already a code of C-TEST" in rule
    # So is a payment run that ignores the budget (1,200 certified for 12 units).
    overpaid = msgspec.structs.replace(run, amount=D("1200.00"),
                                       cumulative_payable=D("1200.00"))
    [rule] = verified([*events[:-1], overpaid])
    assert "amount" in rule


def test_a_business_case_folds_as_the_variation_adding_its_outcomes() -> None:
    # A business case is folded as the variation adding its outcomes: the same terms.
    c = case()
    by_case = apply(agreed(), approve(c))
    by_variation = apply(agreed(), VaryContract(Variation(outcomes=(OutcomeChange(
        "N1", name="Outcome N1", price=D("100"), target=D(20)),)), c.effective, "added"))
    assert by_case.terms_on(c.effective) == by_variation.terms_on(c.effective)


def test_the_report_shows_the_base_and_each_business_case_and_their_lines() -> None:
    state = apply(agreed(max_value=D("5000")), approve(case()),
                  tally("FY2025-Q2", O1=3, N1=12))
    report = build_report(state, Head(0, "0" * 64, 0))
    base, one = report.business_cases
    assert (base.business_case, base.budget, base.payable) == (None, D("5000.00"),
                                                               D("300.00"))
    assert (one.business_case, one.need, one.budget, one.earned, one.payable,
            one.remaining) == ("BC-1", "An agreed need", D("1000.00"), D("1200.00"),
                               D("1000.00"), D("0.00"))
    [n1] = one.outcomes
    assert (n1.units, n1.target, n1.cost_per_unit) == (D(12), D(20), D("83.33"))
    sections = {s.name: s for s in contract_sections(report)}
    assert [row[1] for row in sections["business_cases"].rows] == [
        "base contract", "base contract", "BC-1"]
    # Before the business case took effect, the report as at that day leaves it out.
    assert [b.business_case for b in build_report(
        state, Head(0, "0" * 64, 0), as_at=date(2025, 6, 30)).business_cases] == [None]
    # A contract without business cases has no such section.
    assert build_report(agreed(), Head(0, "0" * 64, 0)).business_cases == ()
