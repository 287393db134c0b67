"""Extensions and breaks earned on performance (DESIGN 11): given a contract's figures ->
when an option is exercised -> then ContractExtended / ContractBroken, or a refusal that
names every failing outcome with its figures."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import REF, T0, D, agreed, apply, chain, close, meta, outcome, tally, when
from outcomeledger.domain import codec
from outcomeledger.domain.commands import (
    AgreeContract,
    BreakContract,
    CertifyPayment,
    Command,
    ExtendContract,
    Meta,
)
from outcomeledger.domain.contract.decide import decide
from outcomeledger.domain.contract.options import judge, option_statuses
from outcomeledger.domain.contract.state import ContractState
from outcomeledger.domain.contract.validity import StreamRules
from outcomeledger.domain.errors import InvalidInput, Refused
from outcomeledger.domain.events import (
    GENESIS,
    AnyEvent,
    ContractBroken,
    ContractClosed,
    ContractExtended,
)
from outcomeledger.domain.term_checks import check_terms
from outcomeledger.domain.terms import Break, Condition, Extension
from outcomeledger.report import build_report
from outcomeledger.storage.head import Head

QUARTERS = ("FY2025-Q1", "FY2025-Q2", "FY2025-Q3", "FY2025-Q4",
            "FY2026-Q1", "FY2026-Q2", "FY2026-Q3", "FY2026-Q4")
#: Decisions are recorded in January 2026: FY2025-Q1..Q3 are complete by then.
JAN = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
ON = date(2026, 1, 5)

E1 = Extension("E1", 12, date(2026, 6, 30), Condition("good", 2))
E2 = Extension("E2", 6, date(2026, 12, 31), Condition("approaching target", 3))
B1 = Break("B1", date(2026, 9, 30), Condition("requires improvement", 2))


def flexible(**overrides: object) -> ContractState:
    """C-TEST with per-quarter targets (O1 10, O2 4), extensions E1, E2 and break B1."""
    fields: dict[str, object] = {
        "outcomes": (outcome("O1", target={q: D(10) for q in QUARTERS}),
                     outcome("O2", price=D("250"), target={q: D(4) for q in QUARTERS})),
        "extensions": (E1, E2), "breaks": (B1,)}
    fields.update(overrides)
    return agreed(**fields)


def returned(state: ContractState, *rows: tuple[str, int, int]) -> ContractState:
    return apply(state, *(tally(q, O1=o1, O2=o2) for q, o1, o2 in rows), at=JAN)


def extend(option: str = "E1", on: date = ON, reason: str = "performing well") -> ExtendContract:
    return ExtendContract(option, on, reason)


def problems(state: ContractState, command: ExtendContract | BreakContract) -> list[str]:
    with pytest.raises(InvalidInput) as error:
        when(state, command, JAN)
    return [f"{p.field}: {p.message}" for p in error.value.problems]


def test_an_extension_whose_condition_holds_moves_the_end_and_the_claims_window() -> None:
    state = returned(flexible(claims_until=date(2027, 5, 15)),
                     ("FY2025-Q2", 10, 4), ("FY2025-Q3", 12, 5))
    [event] = when(state, extend(), JAN).events
    assert isinstance(event, ContractExtended)
    assert (event.option, event.months, event.decided_on, event.effective_from, event.end,
            event.claims_until) == ("E1", 12, ON, date(2027, 4, 1), date(2028, 3, 31),
                                    date(2028, 5, 15))
    extended = chain(state, [event])
    assert extended.current_terms.end == date(2028, 3, 31)
    assert extended.current_terms.last_claim_date == date(2028, 5, 15)
    assert extended.terms_on(date(2027, 4, 1)).end == date(2028, 3, 31)
    assert extended.terms_on(date(2026, 4, 1)).end == date(2027, 3, 31)  # as it was then
    assert [r.option for r in extended.exercised] == ["E1"]


def test_the_extended_term_takes_returns_the_old_one_refused() -> None:
    state = returned(flexible(), ("FY2025-Q2", 10, 4), ("FY2025-Q3", 12, 5))
    later = datetime(2027, 10, 5, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="after the claims window closes"):
        decide(state, tally("FY2027-Q1", O1=1), Meta(later, "x"))
    extended = apply(state, extend(), at=JAN)
    assert decide(extended, tally("FY2027-Q1", O1=1), Meta(later, "x")).events


@pytest.mark.parametrize(("rows", "o1", "o2"), [
    # every failing outcome is named, with its figures in each period judged
    ((("FY2025-Q2", 9, 4), ("FY2025-Q3", 10, 2)),
     "FY2025-Q2 approaching target (9 against 10), FY2025-Q3 good (10 against 10)",
     "FY2025-Q2 good (4 against 4), FY2025-Q3 inadequate (2 against 4)"),
    # a period with a target and no return is rated on nothing
    ((("FY2025-Q3", 10, 4),),
     "FY2025-Q2 inadequate (0 against 10), FY2025-Q3 good (10 against 10)",
     "FY2025-Q2 inadequate (0 against 4), FY2025-Q3 good (4 against 4)"),
])
def test_a_refusal_names_every_failing_outcome_with_its_figures(
        rows: tuple[tuple[str, int, int], ...], o1: str, o2: str) -> None:
    assert problems(returned(flexible(), *rows), extend()) == [
        f"option: E1: O1 (Outcome O1) not rated good or better in every period judged (got "
        f"{o1})",
        f"option: E1: O2 (Outcome O2) not rated good or better in every period judged (got "
        f"{o2})"]


def test_a_lower_floor_accepts_what_good_refuses() -> None:
    state = returned(flexible(), ("FY2025-Q1", 9, 4), ("FY2025-Q2", 9, 4),
                     ("FY2025-Q3", 10, 4))
    [event] = when(state, extend("E2"), JAN).events
    assert isinstance(event, ContractExtended)
    assert event.end == date(2027, 9, 30)


@pytest.mark.parametrize(("command", "says"), [
    (extend("E9"), "option: no extension option 'E9' in C-TEST's terms (got 'E9', "
                   "expected one of ['E1', 'E2'])"),
    (extend("B1"), "option: no extension option 'B1'"),
    (BreakContract("E1", ON, "r"), "option: no break option 'E1'"),
    (extend(on=date(2026, 7, 1)), "on: in the future"),
    (extend(reason=" "), "reason: a reason is required for an extension"),
    (extend(on=date(2025, 5, 1)), "option: E1: 0 period(s) completed by 2025-05-01, 2 needed"),
])
def test_what_an_option_refuses(command: ExtendContract | BreakContract, says: str) -> None:
    state = returned(flexible(), ("FY2025-Q2", 10, 4), ("FY2025-Q3", 12, 5))
    [problem] = problems(state, command)
    assert problem.startswith(says)


def test_an_option_is_used_once_and_not_after_its_deadline() -> None:
    state = returned(flexible(), ("FY2025-Q2", 10, 4), ("FY2025-Q3", 12, 5))
    extended = apply(state, extend(), at=JAN)
    assert problems(extended, extend())[0].startswith(
        "option: E1: already exercised (v4, judged on 2026-01-05)")
    late = datetime(2026, 7, 10, tzinfo=UTC)
    with pytest.raises(InvalidInput) as error:
        decide(state, extend(on=date(2026, 7, 1)), Meta(late, "x"))
    assert str(error.value) == ("on: E1: after its decide_by (got 2026-07-01, expected on or "
                                "before 2026-06-30)")


def test_a_break_closes_the_contract_on_its_date() -> None:
    state = returned(flexible(), ("FY2025-Q2", 8, 3), ("FY2025-Q3", 8, 3))
    [event] = when(state, BreakContract("B1", ON, "agreed early end"), JAN).events
    assert isinstance(event, ContractBroken)
    assert isinstance(event, ContractClosed)
    assert (event.option, event.closed_on, event.decided_on) == ("B1", date(2026, 9, 30), ON)
    broken = chain(state, [event])
    assert broken.closed_on == date(2026, 9, 30)
    with pytest.raises(Refused, match="was closed on 2026-09-30"):
        when(broken, extend(), JAN)


def test_a_closed_contract_exercises_no_option() -> None:
    state = apply(returned(flexible(), ("FY2025-Q2", 10, 4), ("FY2025-Q3", 12, 5)),
                  close(date(2025, 12, 31)), at=JAN)
    with pytest.raises(Refused, match="closed"):
        when(state, extend(), JAN)


def test_option_terms_are_checked_each_at_its_field() -> None:
    state = flexible(extensions=(Extension("E1", 0, date(2030, 1, 1), Condition("good", 0)),),
                     breaks=(Break("E1", date(2027, 3, 31), Condition("good", 1)),))
    found = [f"{p.field}: {p.message}" for p in check_terms(state.base_terms, "c.toml")]
    assert found == [
        "extensions[0].condition.periods: completed periods judged (got 0, expected 1 to 600)",
        "extensions[0].months: months added to the term (got 0, expected 1 to 600)",
        "extensions[0].decide_by: outside the term (got 2030-01-01, expected 2025-04-01 to "
        "2027-03-31)",
        "breaks[0].id: option id 'E1' appears twice (extension and break ids are distinct)",
        "breaks[0].on: outside the term (got 2027-03-31, expected 2025-04-01 to 2027-03-30)"]


def test_terms_without_options_keep_their_bytes() -> None:
    plain = agreed().base_terms
    assert b"extensions" not in msgspec.json.encode(plain)
    assert b"breaks" not in msgspec.json.encode(plain)


def _verified(stream: list[AnyEvent]) -> list[str]:
    """What ``audit verify``'s rules find in ``stream``, chained and stored as the store
    does it."""
    rules = StreamRules()
    prev = GENESIS
    for version, event in enumerate(stream, start=1):
        stored = msgspec.structs.replace(event, prev_hash=prev)
        data = codec.encode(stored)
        rules.add(version, version, codec.topic(stored), data)
        prev = codec.event_hash(data)
    return [v.rule for v in rules.violations]


def _recorded(*commands: tuple[Command, datetime]) -> tuple[ContractState, list[AnyEvent]]:
    state, events = ContractState(REF), list[AnyEvent]()
    for command, at in commands:
        decided = decide(state, command, meta(at)).events
        state = chain(state, decided)
        events += decided
    return state, events


def test_audit_verify_decides_an_extension_again_and_finds_a_forged_one() -> None:
    base = flexible().base_terms
    state, stream = _recorded((AgreeContract(base), T0), (tally("FY2025-Q2", O1=10, O2=4), JAN),
                              (tally("FY2025-Q3", O1=9, O2=4), JAN))
    # Refused (O1 approaching target in FY2025-Q3), then written by hand all the same.
    forged = ContractExtended(contract=REF, recorded_at=JAN, recorded_by="mallory",
                              reason="r", option="E1", months=12, decided_on=ON,
                              effective_from=date(2027, 4, 1), end=date(2028, 3, 31))
    [finding] = _verified([*stream, forged])
    assert "O1 (Outcome O1) not rated good" in finding
    state, stream = _recorded((AgreeContract(base), T0), (tally("FY2025-Q2", O1=10, O2=4), JAN),
                              (tally("FY2025-Q3", O1=10, O2=4), JAN))
    [genuine] = decide(state, extend(), meta(JAN)).events
    [broken] = decide(state, BreakContract("B1", ON, "r"), meta(JAN)).events
    assert _verified([*stream, genuine]) == []
    assert _verified([*stream, broken]) == []
    [finding] = _verified([*stream, msgspec.structs.replace(genuine, end=date(2029, 3, 31))])
    assert "end is" in finding
    [finding] = _verified([*stream, msgspec.structs.replace(broken,
                                                            closed_on=date(2026, 6, 30))])
    assert "closed_on is" in finding


@given(st.lists(st.integers(min_value=0, max_value=15), min_size=4, max_size=4))
def test_the_judgement_is_the_reports_rating_of_each_period(values: list[int]) -> None:
    """The option's judgement and the report read one rating rule: an option holds
    exactly when the report rates every judged period at least the floor."""
    state = returned(flexible(), ("FY2025-Q2", values[0], values[1]),
                     ("FY2025-Q3", values[2], values[3]))
    judgement = judge(state, E1.condition, ON)
    report = build_report(state, Head(0, "0" * 64, 0), as_at=ON)
    rated = {(o.code, p.period): p.rating for o in report.performance.outcomes
             for p in o.periods if p.period in ("FY2025-Q2", "FY2025-Q3")}
    assert {(o.code, r.period): r.rating for o in judgement.outcomes
            for r in o.periods} == rated
    assert judgement.holds == all(r == "good" for r in rated.values())


def test_the_report_lists_every_option_eligible_or_not_and_why() -> None:
    state = returned(flexible(), ("FY2025-Q1", 10, 4), ("FY2025-Q2", 10, 4),
                     ("FY2025-Q3", 12, 3))
    statuses = {s.option.id: (s.kind, s.eligible, s.why) for s in option_statuses(state, ON)}
    assert statuses == {
        "E1": ("extension", False, "O2 (Outcome O2) below good: FY2025-Q2 good (4 against "
                                   "4), FY2025-Q3 requires improvement (3 against 4)"),
        "E2": ("extension", False, "O2 (Outcome O2) below approaching target: FY2025-Q1 good "
                                   "(4 against 4), FY2025-Q2 good (4 against 4), FY2025-Q3 "
                                   "requires improvement (3 against 4)"),
        "B1": ("break", True, "every outcome with a target rated requires improvement or "
                              "better in FY2025-Q2, FY2025-Q3")}
    broken = apply(state, BreakContract("B1", ON, "r"), at=JAN)
    assert [(s.option.id, s.eligible, s.why, s.exercised_on)
            for s in option_statuses(broken, ON)] == [
        ("E1", False, "the contract was closed on 2026-09-30", None),
        ("E2", False, "the contract was closed on 2026-09-30", None),
        ("B1", False, "already exercised (v5, judged on 2026-01-05): an option is used once",
         ON)]


def test_payment_runs_after_an_extension_verify() -> None:
    """``audit verify`` carries its payable on from the last payment run it decided; an
    extension changes the terms from its date, so the runs after it are decided on the
    extended terms, as the ledger decided them."""
    later = datetime(2027, 7, 10, tzinfo=UTC)
    _state, stream = _recorded(
        (AgreeContract(flexible().base_terms), T0),
        (tally("FY2025-Q2", O1=10, O2=4), JAN), (tally("FY2025-Q3", O1=10, O2=4), JAN),
        (CertifyPayment("FY2025-Q3"), JAN), (extend(), JAN),
        (tally("FY2027-Q1", O1=3), later), (CertifyPayment("FY2027-Q1"), later))
    assert _verified(stream) == []
    assert [type(e).__name__ for e in stream][-3:] == [
        "ContractExtended", "ReturnSubmitted", "PaymentCertified"]
