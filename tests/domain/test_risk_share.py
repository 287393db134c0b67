"""Shared risk on cost (DESIGN 11): costs recorded against a ``[risk_share]``, and the
gain_share / pain_share lines they give, through the bands, capped by ``pain_cap``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import (
    REF,
    D,
    agreed,
    apply,
    certify,
    chain,
    close,
    meta,
    period_of,
    refusal,
    schedule,
    tally,
    vary,
    when,
)
from outcomeledger.domain import codec
from outcomeledger.domain.commands import ReportCosts
from outcomeledger.domain.contract.state import ContractState
from outcomeledger.domain.contract.validity import StreamRules
from outcomeledger.domain.errors import InvalidInput
from outcomeledger.domain.events import (
    AnyEvent,
    ContractAgreed,
    Cost,
    CostsReported,
    PaymentCertified,
)
from outcomeledger.domain.payments.mechanism import compute
from outcomeledger.domain.payments.risk_share import cumulative_share, elapsed
from outcomeledger.domain.risk_share_terms import RiskShare, ShareBand
from outcomeledger.domain.term_checks import check_terms
from outcomeledger.domain.terms import Fee
from outcomeledger.domain.variations import Variation

#: Target 800,000 over the eight quarters FY2025-Q1..FY2026-Q4: 100,000 a quarter. The
#: supplier keeps 0.25 of a saving below 0.9 of target, shares 0.5 from 0.9 to 1.1, and
#: bears 0.8 of an overrun above 1.1.
BANDS = (ShareBand(D("0.25"), D("0.9")), ShareBand(D("0.5"), D("1.1")), ShareBand(D("0.8")))


def risky(pain_cap: str | None = None, **overrides: object) -> ContractState:
    risk = RiskShare(D("800000"), BANDS, None if pain_cap is None else D(pain_cap))
    return agreed(risk_share=risk, **overrides)


def costs(period: str, restate: bool = False, reason: str = "", **amounts: int | str
          ) -> ReportCosts:
    """``costs("FY2025-Q1", staff=70000)``: one period's costs by category."""
    return ReportCosts(period, tuple(Cost(c, D(a), line=n) for n, (c, a)
                                     in enumerate(amounts.items(), 2)),
                       restate=restate, reason=reason)


def shares(state: ContractState) -> list[tuple[str, str, Decimal | None]]:
    """Every period's risk-share step: (period, step, amount)."""
    return [(p.period, s.label, s.amount) for p in schedule(state).periods for s in p.other
            if s.label in ("gain_share", "pain_share")]


# -- the arithmetic, with worked figures ------------------------------------------------

def test_an_underrun_is_shared_band_by_band_like_income_tax() -> None:
    # Outturn 80,000 against 100,000: 10,000 below 0.9 of target at 0.25 and 10,000
    # between 0.9 and 1.0 at 0.5: 2,500 + 5,000.
    state = apply(risky(), costs("FY2025-Q1", staff=70000, premises=10000))
    q1 = period_of(state, "FY2025-Q1")
    [step] = q1.other
    assert (step.label, step.amount, step.refs) == ("gain_share", D("7500.00"), ("v2",))
    assert step.detail == (
        "cost outturn 80000 against target 100000.00 (800000 x 1/8 periods of the term; "
        "outturn / target 0.8000); underrun: 10000.00 in band 0-0.9 at 0.25; 10000.00 in "
        "band 0.9-1.1 at 0.5; cumulative share 7500.00, less 0 through earlier periods")
    assert (q1.adjustments, q1.payable) == (D("7500.00"), D("7500.00"))


def test_an_overrun_through_two_periods_gives_the_difference_of_the_cumulative_shares() -> None:
    # Through FY2025-Q2: 225,000 against 200,000. 20,000 up to 1.1 (220,000) at 0.5 and
    # 5,000 above it at 0.8: -14,000 cumulative, so the line is -14,000 - 7,500.
    state = apply(risky(), costs("FY2025-Q1", staff=80000),
                  costs("FY2025-Q2", staff=145000))
    assert shares(state) == [("FY2025-Q1", "gain_share", D("7500.00")),
                             ("FY2025-Q2", "pain_share", D("-21500.00"))]
    assert schedule(state).total("payable") == D("-14000.00")


def test_the_pain_is_capped_over_the_contracts_life() -> None:
    state = apply(risky(pain_cap="10000"), costs("FY2025-Q1", staff=80000),
                  costs("FY2025-Q2", staff=145000), costs("FY2025-Q3", staff=200000))
    assert shares(state) == [("FY2025-Q1", "gain_share", D("7500.00")),
                             ("FY2025-Q2", "pain_share", D("-17500.00")),
                             ("FY2025-Q3", "pain_share", D("0.00"))]
    step = period_of(state, "FY2025-Q3").other[0]
    assert "cumulative share -10000.00 (pain capped at 10000)" in step.detail


def test_the_docs_overrun_example() -> None:
    state = apply(risky(), costs("FY2025-Q1", staff=125000))
    assert shares(state) == [("FY2025-Q1", "pain_share", D("-17000.00"))]


def test_a_period_without_costs_has_no_line_and_is_measured_at_the_next() -> None:
    state = apply(risky(), costs("FY2025-Q1", staff=100000), tally("FY2025-Q2", O1=1),
                  costs("FY2025-Q3", staff=170000))
    # Through FY2025-Q3: 270,000 against 300,000, 0.9: 30,000 at 0.5.
    assert shares(state) == [("FY2025-Q1", "gain_share", D("0.00")),
                             ("FY2025-Q3", "gain_share", D("15000.00"))]
    assert period_of(state, "FY2025-Q2").adjustments == 0


def test_a_restatement_of_an_earlier_period_flows_into_the_schedule() -> None:
    state = apply(risky(), costs("FY2025-Q1", staff=80000), costs("FY2025-Q2", staff=100000))
    restated = apply(state, costs("FY2025-Q1", restate=True, reason="invoice found",
                                  staff=100000))
    assert shares(restated) == [("FY2025-Q1", "gain_share", D("0.00")),
                                ("FY2025-Q2", "gain_share", D("0.00"))]
    assert restated.costs[("FY2025-Q1", "staff")].history[0][0] == D(80000)


def test_it_comes_after_the_fees_and_before_retention() -> None:
    state = apply(risky(fees=(Fee("MGMT", "Management fee", D("1000")),),
                        retention=D("0.05")), costs("FY2025-Q1", staff=80000))
    q1 = period_of(state, "FY2025-Q1")
    assert [s.label for s in q1.other] == ["fee", "gain_share", "retention"]
    # 1,000 fee + 7,500 gain share = 8,500, of which 5% (425) is withheld.
    assert (q1.fees, q1.adjustments, q1.retained, q1.payable) == (
        D(1000), D("7500.00"), D("425.00"), D("8075.00"))


def test_nothing_is_shared_for_a_period_begun_after_the_closure() -> None:
    state = apply(risky(), costs("FY2025-Q1", staff=80000), costs("FY2025-Q3", staff=50000),
                  close(date(2025, 9, 30)))
    assert shares(state) == [("FY2025-Q1", "gain_share", D("7500.00"))]
    assert [(s.label, s.detail, s.refs) for s in period_of(state, "FY2025-Q3").other] == [(
        "closed", "contract closed on 2025-09-30: costs of a period begun after it share no "
        "risk", ("v3",))]


def test_a_variation_replaces_the_table_from_its_effective_date() -> None:
    half = RiskShare(D("800000"), (ShareBand(D("0.5")),))
    state = apply(risky(), costs("FY2025-Q1", staff=80000),
                  vary(Variation(risk_share=half), date(2025, 7, 1)),
                  costs("FY2025-Q2", staff=100000))
    # Through FY2025-Q2 under the new table: 20,000 under 200,000 at 0.5.
    assert shares(state) == [("FY2025-Q1", "gain_share", D("7500.00")),
                             ("FY2025-Q2", "gain_share", D("2500.00"))]


def test_the_target_is_pro_rated_by_periods_of_the_term() -> None:
    terms = risky().base_terms
    assert elapsed(terms, risky().period("FY2025-Q1")) == (1, 8)
    assert elapsed(terms, risky().period("FY2026-Q4")) == (8, 8)
    assert elapsed(terms, risky().period("FY2027-Q1")) == (8, 8)  # never past the term


def test_a_contract_without_a_risk_share_has_no_line() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=2))
    assert shares(state) == []
    assert compute(state).periods[0].other == ()


# -- recording costs ----------------------------------------------------------------------

def test_costs_are_recorded_once_and_the_same_costs_again_are_a_no_op() -> None:
    state = risky()
    decision = when(state, costs("FY2025-Q1", staff=70000, premises=10000))
    [event] = decision.events
    assert isinstance(event, CostsReported)
    assert [(c.category, c.amount) for c in event.costs] == [("staff", D(70000)),
                                                            ("premises", D(10000))]
    assert (decision.receipt.added, event.reason) == (2, "costs reported")
    again = when(apply(state, costs("FY2025-Q1", staff=70000, premises=10000)),
                 costs("FY2025-Q1", staff=70000, premises=10000))
    assert (again.events, again.receipt.unchanged) == ((), 2)


def test_a_changed_amount_needs_a_restatement_which_records_what_it_replaces() -> None:
    state = apply(risky(), costs("FY2025-Q1", staff=70000))
    assert refusal(state, costs("FY2025-Q1", staff=75000)) == (
        "amount: FY2025-Q1 staff was recorded as 70000; a different amount needs --restate "
        "--reason (got 75000)")
    assert refusal(state, costs("FY2025-Q1", restate=True, staff=75000)) == (
        "reason: a reason is required for a restatement")
    decision = when(state, costs("FY2025-Q1", restate=True, reason="audit", staff=75000,
                                 travel=500))
    [event] = decision.events
    assert isinstance(event, CostsReported)
    assert ([c.category for c in event.costs], [c.amount for c in event.restated],
            [c.amount for c in event.originals]) == (["travel"], [D(75000)], [D(70000)])
    assert (decision.receipt.added, decision.receipt.restated) == (1, 1)


@pytest.mark.parametrize(("command", "says"), [
    (costs("FY2025-Q1", staff=-5), "amount: not money spent (got -5"),
    (costs("FY2025-Q1", staff="1.001"), "amount: finer than the GBP minor unit"),
    (costs("FY2027-Q2", staff=5), "period: after the claims window closes"),
    (costs("FY2024-Q4", staff=5), "period: before the contract starts"),
    (costs("2025-13", staff=5), "period: "),
])
def test_a_bad_cost_is_refused_at_its_line(command: ReportCosts, says: str) -> None:
    assert refusal(risky(), command).startswith(says)


def test_costs_for_a_period_after_the_term_in_the_claims_window_are_refused() -> None:
    state = risky(claims_until=date(2027, 6, 30))
    assert refusal(state, costs("FY2027-Q1", staff=5)).startswith(
        "period: after the term ends (got FY2027-Q1")


def test_costs_for_a_contract_without_a_risk_share_are_refused() -> None:
    assert refusal(agreed(), costs("FY2025-Q1", staff=5)) == (
        "contract: C-TEST shares no risk on cost in FY2025-Q1 (got costs, expected a "
        "contract whose terms have a [risk_share] table)")


def test_a_category_twice_in_one_period_is_refused() -> None:
    command = ReportCosts("FY2025-Q1", (Cost("staff", D(1), line=2),
                                        Cost("staff", D(1), line=3)))
    assert refusal(risky(), command).startswith(
        "category: staff appears twice for one period")


def verified(events: list[AnyEvent]) -> list[str]:
    """What ``audit verify``'s rules find in the stream of ``events``, stored in turn."""
    rules, prev = StreamRules(), "0" * 64
    for version, event in enumerate(events, 1):
        stored = codec.encode(msgspec.structs.replace(event, prev_hash=prev))
        rules.add(version, version, codec.topic(event), stored)
        prev = codec.event_hash(stored)
    return [v.rule for v in rules.violations]


def test_audit_verify_decides_costs_and_the_runs_paying_their_shares_again() -> None:
    state = risky()
    events: list[AnyEvent] = [ContractAgreed(
        contract=REF, recorded_at=meta().recorded_at, recorded_by=meta().recorded_by,
        reason="contract agreed", terms=state.base_terms)]
    for command in (costs("FY2025-Q1", staff=80000), certify("FY2025-Q1"),
                    costs("FY2025-Q1", restate=True, reason="audit", staff=90000, travel=5),
                    costs("FY2025-Q2", staff=120000), certify("FY2025-Q2")):
        decided = when(state, command).events
        events += decided
        state = chain(state, decided)
    run = events[-1]
    assert isinstance(run, PaymentCertified)
    # 7,500 was paid for FY2025-Q1, whose share is now 4,997.50 (90,005 against 100,000:
    # 9,995 at 0.5), a true-up of -2,502.50; through FY2025-Q2, 210,005 against 200,000 is
    # -5,002.50 (10,005 at 0.5): the run certifies -5,002.50 - 7,500.
    assert (run.amount, run.true_up) == (D("-12502.50"), D("-2502.50"))
    assert verified(events) == []
    restated = events[3]
    assert isinstance(restated, CostsReported)
    forged = msgspec.structs.replace(restated, originals=(Cost("staff", D(1), line=2),))
    [rule] = verified([*events[:3], forged, *events[4:]])
    assert rule.startswith('originals is [{"category":"staff","amount":"1"')
    assert 'the rules record [{"category":"staff","amount":"80000"' in rule


# -- the terms ----------------------------------------------------------------------------

@pytest.mark.parametrize(("risk", "says"), [
    (RiskShare(D(0), BANDS), "risk_share.target_cost: the cost the term is expected to take "
     "(got 0, expected more than 0)"),
    (RiskShare(D(1), BANDS, D(-1)), "risk_share.pain_cap: must be at least 0 (got -1)"),
    (RiskShare(D(1), (ShareBand(D("1.5")),)), "risk_share.bands[0].supplier_share: must be "
     "at most 1 (got 1.5)"),
    (RiskShare(D(1), (ShareBand(D("-0.1")),)), "risk_share.bands[0].supplier_share: must "
     "be at least 0 (got -0.1)"),
    (RiskShare(D(1), (ShareBand(D("0.5"), D("1.1")), ShareBand(D("0.5"), D("0.9")),
                      ShareBand(D("0.5")))),
     "risk_share.bands[1].upto: bands must increase (got 0.9 after 1.1, expected more than "
     "1.1)"),
    (RiskShare(D(1), (ShareBand(D("0.5"), D("1.1")),)), "risk_share.bands[0].upto: the "
     "last band is open (got upto = 1.1, expected no upto)"),
    (RiskShare(D(1), (ShareBand(D("0.5")), ShareBand(D("0.5")))), "risk_share.bands[0].upto:"
     " only the last band is open"),
    (RiskShare(D(1), ()), "risk_share.bands: at least one band is required"),
])
def test_an_unsound_risk_share_is_refused(risk: RiskShare, says: str) -> None:
    [problem] = check_terms(msgspec.structs.replace(risky().base_terms, risk_share=risk),
                            "c.toml")
    assert f"{problem.field}: {problem.message}".startswith(says)


def test_old_terms_keep_their_bytes() -> None:
    assert b"risk_share" not in msgspec.json.encode(agreed().base_terms)


# -- properties ---------------------------------------------------------------------------

shares_ = st.decimals(min_value=0, max_value=1, places=2)


@st.composite
def risk_shares(draw: st.DrawFn) -> RiskShare:
    uptos = sorted(draw(st.sets(st.decimals(min_value="0.05", max_value="3", places=2),
                                max_size=3)))
    bands = [ShareBand(draw(shares_), u) for u in uptos] + [ShareBand(draw(shares_))]
    cap = draw(st.none() | st.decimals(min_value=0, max_value=200000, places=2))
    return RiskShare(draw(st.decimals(min_value=1000, max_value=2000000, places=2)),
                     tuple(bands), cap)


QUARTERS = ("FY2025-Q1", "FY2025-Q2", "FY2025-Q3", "FY2025-Q4", "FY2026-Q1", "FY2026-Q2")


@settings(max_examples=120, deadline=None)
@given(risk_shares(), st.lists(st.tuples(st.sampled_from(QUARTERS),
                                         st.integers(0, 600000)), max_size=6))
def test_the_lines_add_up_to_the_share_its_sign_follows_the_outturn_and_pain_is_capped(
        risk: RiskShare, reported: list[tuple[str, int]]) -> None:
    state = agreed(risk_share=risk)
    for quarter, amount in reported:
        state = apply(state, costs(quarter, restate=True, reason="r", staff=amount))
    running, position = D(0), D(0)
    for p in schedule(state).periods:
        through = state.period(p.period)
        outturn = sum((r.amount for (pid, _), r in state.costs.items()
                       if state.period(pid) <= through), D(0))
        k, n = elapsed(state.base_terms, through)
        target = risk.target_cost * k / n
        for step in p.other:
            running += step.amount or 0
            position = running
            assert step.label == ("gain_share" if outturn <= target else "pain_share")
            unrounded = cumulative_share(outturn, target, risk)
            if outturn < target:
                assert position >= 0
            if outturn > target:
                assert position <= 0
            if risk.pain_cap is not None:
                assert position >= -risk.pain_cap
            else:
                assert abs(position - unrounded) <= D("0.005")
    assert schedule(state).total("adjustments") == position


def test_refusing_a_cost_writes_nothing() -> None:
    with pytest.raises(InvalidInput):
        when(risky(), costs("FY2025-Q1", staff=-1))
