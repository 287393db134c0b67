"""The forecast at targets (DESIGN 10): the contract's own arithmetic over the figures
returned plus those its targets promise; computed with the schedule, sharing its periods
before the first promised figure."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import D, agreed, apply, close, outcome, tally
from outcomeledger.domain.commands import RejectReturn
from outcomeledger.domain.contract.state import ContractState
from outcomeledger.domain.payments.forecast import at_targets, promised, with_forecast
from outcomeledger.domain.payments.mechanism import compute
from outcomeledger.domain.terms import Tier


def test_a_whole_term_target_adds_its_shortfall_in_the_last_period() -> None:
    state = apply(agreed(outcomes=(outcome("O1", target=D(10)), outcome("O2", price=D(250)))),
                  tally("FY2025-Q1", O1=4, O2=1))
    # 6 more O1 at 100; O2 has no target and adds nothing.
    assert [(p, [(f.outcome, str(f.value)) for f in fs]) for p, fs in
            promised(state).items()] == [("FY2026-Q4", [("O1", "6")])]
    schedule, forecast = with_forecast(state)
    assert schedule == compute(state)
    assert str(schedule.total("payable")) == "650.00"
    assert str(forecast) == "1250.00"


def test_per_period_targets_fill_the_periods_not_yet_returned() -> None:
    target = {"FY2025-Q1": D(5), "FY2025-Q2": D(5), "FY2025-Q3": D(5)}
    state = apply(agreed(outcomes=(outcome("O1", target=target),)), tally("FY2025-Q1", O1=2))
    assert sorted(promised(state)) == ["FY2025-Q2", "FY2025-Q3"]
    assert str(with_forecast(state)[1]) == "1200.00"  # 2 returned + 5 + 5, at 100


def test_the_forecast_pays_through_caps_and_bands_as_real_returns_would() -> None:
    bands = (Tier(D(100), D(8)), Tier(D(50)))
    state = apply(agreed(outcomes=(outcome("O1", tiers=bands, target=D(12)),),
                         max_value=D(1000)), tally("FY2025-Q1", O1=6))
    # 12 units: 8 x 100 + 4 x 50 = 1,000, the cap exactly.
    assert str(with_forecast(state)[1]) == "1000.00"


def test_a_met_target_and_a_closed_contract_forecast_what_they_pay() -> None:
    met = apply(agreed(outcomes=(outcome("O1", target=D(3)),)), tally("FY2025-Q1", O1=5))
    assert promised(met) == {}
    assert with_forecast(met)[1] == compute(met).total("payable")
    shut = apply(agreed(outcomes=(outcome("O1", target=D(30)),)), tally("FY2025-Q1", O1=5),
                 close(date(2025, 9, 30)))
    assert with_forecast(shut)[1] == compute(shut).total("payable")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["FY2025-Q1", "FY2025-Q2", "FY2025-Q4",
                                           "FY2026-Q3"]),
                          st.integers(0, 9), st.integers(0, 9)), max_size=4),
       st.integers(0, 40), st.integers(0, 12))
def test_the_shared_periods_give_what_a_whole_recomputation_gives(
        returns: list[tuple[str, int, int]], target: int, per_period: int) -> None:
    """Whatever was returned and whatever the targets: the schedule is ``compute``'s, and
    the forecast is ``compute`` of the contract with the promised figures."""
    outcomes = (outcome("O1", target=D(target), cap_units=D(30)),
                outcome("O2", price=D(250), target={"FY2025-Q3": D(per_period),
                                                     "FY2026-Q1": D(per_period)}))
    state: ContractState = agreed(outcomes=outcomes)
    for period, o1, o2 in sorted({r[0]: r for r in returns}.values()):
        state = apply(state, tally(period, O1=o1, O2=o2))
    schedule, forecast = with_forecast(state)
    assert schedule == compute(state)
    assert forecast == compute(at_targets(state)).total("payable")


def test_a_rejected_return_stays_rejected_in_the_forecast() -> None:
    """The promised figures of a period whose return was rejected are left out, as the
    fold of one more return of that period would leave them (the forecast is made without
    folding: domain/payments/forecast.py)."""
    outcomes = (outcome("O1", target={"FY2025-Q2": D(5), "FY2025-Q4": D(5)}),
                outcome("O2", price=D(250), target=D(9)))
    state = apply(agreed(outcomes=outcomes), tally("FY2025-Q2", O2=2),
                  RejectReturn("FY2025-Q2", "", "evidence missing"),
                  tally("FY2025-Q3", O1=3))
    _schedule, forecast = with_forecast(state)
    assert forecast == compute(at_targets(state)).total("payable")
