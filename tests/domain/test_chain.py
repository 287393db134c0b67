"""Down the chain (DESIGN 10): what the buyer pays for one provider's outcomes, what the
integrator owes it on its own terms, and the margin, period by period.

Given a contract whose network has terms -> when returns are recorded -> then the chain.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import D, agreed, apply, fig, outcome, submit
from outcomeledger.domain.commands import RejectReturn
from outcomeledger.domain.contract.state import ContractState
from outcomeledger.domain.errors import Refused
from outcomeledger.domain.payments.chain import ChainPeriod, ProviderChain, provider_chain
from outcomeledger.domain.payments.mechanism import compute
from outcomeledger.domain.terms import Provider, ProviderTerms

Q1, Q2, Q3 = "FY2025-Q1", "FY2025-Q2", "FY2025-Q3"


def network(**terms_of: ProviderTerms | None) -> ContractState:
    """O1 at 100 a unit, O2 at 250; providers A and B with the terms given."""
    providers = tuple(Provider(pid, f"Provider {pid}", terms=t) for pid, t in terms_of.items())
    return agreed(providers=providers)


def chain_of(state: ContractState, provider: str) -> ProviderChain:
    return provider_chain(state, compute(state), provider)


def row(chain: ProviderChain, period: str) -> ChainPeriod:
    return next(r for r in chain.periods if r.period == period)


def test_the_buyer_pays_for_a_providers_outcomes_pro_rata_to_its_units() -> None:
    state = apply(network(A=ProviderTerms(share=D("0.8")), B=None),
                  submit(Q1, fig("O1", 3), provider="A"),
                  submit(Q1, fig("O1", 1), fig("O2", 2), provider="B"))
    a = row(chain_of(state, "A"), Q1)
    # O1's line pays 400 for 4 units: A returned 3 of them; O2 is all B's.
    assert (a.units, a.buyer_pays) == (D(3), D("300.00"))
    assert (a.share_part, a.prices_part, a.fee) == (D("240.00"), None, None)
    assert (a.owed, a.margin) == (D("240.00"), D("60.00"))
    b = row(chain_of(state, "B"), Q1)
    assert (b.buyer_pays, b.owed, b.margin) == (D("600.00"), None, None)


def test_figures_returned_without_a_provider_stay_with_the_integrator() -> None:
    state = apply(network(A=ProviderTerms(share=D(1))),
                  submit(Q1, fig("O1", 1), provider="A"), submit(Q1, fig("O1", 3)))
    assert row(chain_of(state, "A"), Q1).buyer_pays == D("100.00")


def test_own_prices_and_a_fee_per_period_of_membership() -> None:
    terms = ProviderTerms(prices={"O1": D("90"), "O2": D("100.5")}, fee=D("50"))
    state = agreed(providers=(Provider("A", "Provider A", terms=terms,
                                       left=date(2025, 9, 30)),))
    state = apply(state, submit(Q1, fig("O1", 2), fig("O2", 1), provider="A"),
                  submit(Q3, fig("O1", 1)))
    chain = chain_of(state, "A")
    q1 = row(chain, Q1)
    assert (q1.prices_part, q1.fee, q1.owed) == (D("280.50"), D("50.00"), D("330.50"))
    assert q1.margin == D("119.50")
    assert q1.buyer_pays == D("450.00")
    # Q3 (October to December) begins after A left: no fee, nothing returned.
    q3 = row(chain, Q3)
    assert (q3.buyer_pays, q3.fee, q3.owed) == (D("0"), D("0"), D("0"))
    # Q2 returned nothing, but A was a member: its fee is owed.
    assert row(chain, Q2).owed == D("50.00")
    assert chain.owed == D("380.50") == sum((r.owed or D(0) for r in chain.periods), D(0))
    assert chain.margin == chain.buyer_pays - chain.owed


def test_a_rejected_return_earns_and_is_owed_nothing() -> None:
    state = apply(network(A=ProviderTerms(share=D(1), prices={"O1": D(10)})),
                  submit(Q2, fig("O1", 4), provider="A"),
                  RejectReturn(Q2, "A", "evidence missing"))
    q2 = row(chain_of(state, "A"), Q2)
    assert (q2.units, q2.buyer_pays, q2.prices_part, q2.owed) == (D(0), D(0), D(0), D(0))


def test_a_provider_not_in_the_network_is_refused_by_name() -> None:
    state = network(A=None)
    with pytest.raises(Refused, match=r"no provider 'Z' \(its providers: A\)"):
        chain_of(state, "Z")


def test_rounding_is_once_per_part_and_period() -> None:
    state = apply(agreed(outcomes=(outcome("O1", price=D("100")),),
                         providers=(Provider("A", "A", terms=ProviderTerms(share=D("0.333"))),
                                    Provider("B", "B"))),
                  submit(Q1, fig("O1", 1), provider="A"), submit(Q1, fig("O1", 2), provider="B"))
    a = row(chain_of(state, "A"), Q1)
    assert a.buyer_pays == D("100.00")
    assert a.share_part == D("33.30")
    assert isinstance(a.share_part, Decimal)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([Q1, Q2, Q3]), st.sampled_from(["A", "B", ""]),
                          st.sampled_from(["O1", "O2"]), st.integers(0, 9)),
                min_size=1, max_size=12),
       st.sets(st.sampled_from([(Q1, "A"), (Q2, "B"), (Q3, "")])))
def test_units_are_the_sum_of_every_unrejected_figure_in_any_order(
        returns: list[tuple[str, str, str, int]], rejected: set[tuple[str, str]]) -> None:
    """Returns for the same period and provider arrive apart (a later one adds outcomes),
    some returns are rejected: each provider's units are still the plain sum."""
    state = network(A=None, B=None)
    for period, provider, code, value in returns:
        figure = fig(code, value)
        if (period, provider, code, "") in state.figures:
            continue  # a different value would be a restatement: not what this is about
        state = apply(state, submit(period, figure, provider=provider))
    for period, provider in rejected:
        if (period, provider) in state.returns:
            state = apply(state, RejectReturn(period, provider, "rejected"))
    expected: dict[tuple[str, str], Decimal] = {}
    for (period, provider, _code, _p), record in state.figures.items():
        status = state.returns[(period, provider)]
        if status.rejected is None:
            expected[(period, provider)] = expected.get((period, provider), D(0)) + record.value
    schedule = compute(state)
    for provider in ("A", "B"):
        chain = provider_chain(state, schedule, provider)
        for r in chain.periods:
            assert r.units == expected.get((r.period, provider), D(0))
