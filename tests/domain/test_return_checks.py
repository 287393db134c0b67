"""Returns and provider membership (DESIGN 10): given a network whose providers join and
leave -> when a return or a variation -> then it is recorded, or refused naming the dates."""

from __future__ import annotations

from datetime import date

import pytest

from conftest import agreed, apply, fig, refusal, retire_provider, submit, terms, vary, when
from outcomeledger.domain.commands import RejectReturn
from outcomeledger.domain.events import ContractVaried, ReturnSubmitted
from outcomeledger.domain.terms import Provider
from outcomeledger.domain.variations import ProviderChange, Variation

# P1 is there throughout; P2's last day is 30 September 2025, the last of FY2025-Q2;
# P3 joins on 15 May 2026, in FY2026-Q1.
NETWORK = (Provider("P1", "Provider one"),
           Provider("P2", "Provider two", left=date(2025, 9, 30)),
           Provider("P3", "Provider three", kind="vcse", joined=date(2026, 5, 15)))


def test_a_return_for_a_provider_without_dates_is_recorded_in_any_period() -> None:
    [event] = when(agreed(), submit("FY2026-Q4", fig("O1", 1), provider="P1")).events
    assert isinstance(event, ReturnSubmitted)


@pytest.mark.parametrize(("period", "provider"), [
    ("FY2025-Q2", "P2"),  # its last period: it left on the period's last day
    ("FY2026-Q1", "P3"),  # joined mid-period (15 May): the period overlaps its membership
    ("FY2026-Q2", "P3"),
])
def test_a_return_for_a_period_overlapping_the_membership_is_recorded(period: str,
                                                                      provider: str) -> None:
    [event] = when(agreed(providers=NETWORK), submit(period, fig("O1", 1),
                                                     provider=provider)).events
    assert isinstance(event, ReturnSubmitted)


def test_a_return_for_a_provider_after_it_left_is_refused_naming_the_dates() -> None:
    assert refusal(agreed(providers=NETWORK), submit("FY2025-Q3", fig("O1", 1, line=2),
                                                     provider="P2")) == (
        "provider: P2 left the network on 2025-09-30, before FY2025-Q3 (got FY2025-Q3, "
        "2025-10-01..2025-12-31; expected a period overlapping left 2025-09-30)")


def test_a_return_for_a_provider_before_it_joined_is_refused_naming_the_dates() -> None:
    assert refusal(agreed(providers=NETWORK), submit("FY2025-Q4", fig("O1", 1),
                                                     provider="P3")) == (
        "provider: P3 joined the network on 2026-05-15, after FY2025-Q4 (got FY2025-Q4, "
        "2026-01-01..2026-03-31; expected a period overlapping joined 2026-05-15)")


def test_a_figure_achieved_before_the_provider_joined_is_refused() -> None:
    command = submit("FY2026-Q1", fig("O1", 1, "p1", achieved_on=date(2026, 5, 1)),
                     provider="P3")
    assert refusal(agreed(providers=NETWORK), command) == (
        "achieved_on: outside P3's membership of the network (got 2026-05-01, expected "
        "joined 2026-05-15)")


def test_a_figure_achieved_within_the_membership_is_recorded() -> None:
    command = submit("FY2026-Q1", fig("O1", 1, "p1", achieved_on=date(2026, 5, 15)),
                     provider="P3")
    assert len(when(agreed(providers=NETWORK), command).events) == 1


def test_a_provider_retired_by_a_variation_may_not_return_after_it_left() -> None:
    retire = retire_provider("P1", date(2025, 12, 31), date(2026, 1, 1))
    state = apply(agreed(), retire)
    assert refusal(state, submit("FY2026-Q1", fig("O1", 1), provider="P1")).startswith(
        "provider: P1 left the network on 2025-12-31, before FY2026-Q1")
    assert len(when(state, submit("FY2025-Q3", fig("O1", 1), provider="P1")).events) == 1


def test_a_provider_added_by_a_variation_returns_from_the_period_it_joined() -> None:
    add = vary(Variation(providers=(ProviderChange("P4", "Newcomer", joined=date(2026, 4, 1)),)),
               date(2026, 4, 1))
    state = apply(agreed(), add)
    [event] = when(state, submit("FY2026-Q1", fig("O1", 1), provider="P4")).events
    assert isinstance(event, ReturnSubmitted)


def test_membership_dates_are_the_latest_a_variation_gave() -> None:
    """A date is a fact, not a term of a period: a variation correcting ``left`` applies
    to every period, including those before it takes effect."""
    retire = retire_provider("P1", date(2025, 6, 30), date(2026, 1, 1))
    state = apply(agreed(), retire)
    assert refusal(state, submit("FY2025-Q3", fig("O1", 1), provider="P1")).startswith(
        "provider: P1 left the network on 2025-06-30, before FY2025-Q3")


def test_a_variation_leaving_a_recorded_return_outside_the_membership_is_refused() -> None:
    state = apply(agreed(), submit("FY2025-Q4", fig("O1", 1), provider="P1"))
    retire = retire_provider("P1", date(2025, 9, 30), date(2025, 10, 1))
    assert refusal(state, retire) == (
        "providers[P1]: P1 has a return recorded for FY2025-Q4 (2026-01-01..2026-03-31), "
        "outside its membership (got left 2025-09-30, expected dates that period overlaps)")


def test_a_rejected_return_does_not_hold_a_provider_in_the_network() -> None:
    state = apply(agreed(), submit("FY2025-Q4", fig("O1", 1), provider="P1"),
                  RejectReturn("FY2025-Q4", "P1", "no evidence"))
    retire = retire_provider("P1", date(2025, 9, 30), date(2025, 10, 1))
    [event] = when(state, retire).events
    assert isinstance(event, ContractVaried)


def test_old_contracts_whose_providers_have_no_dates_are_unchanged() -> None:
    state = apply(agreed(), *(submit(p, fig("O1", 1), provider="P2")
                              for p in ("FY2025-Q1", "FY2026-Q4")))
    assert sorted(state.returns) == [("FY2025-Q1", "P2"), ("FY2026-Q4", "P2")]
    assert terms().providers[1].left is None
