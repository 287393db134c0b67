"""Actors and roles: a contract that declares who acts refuses everyone else."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import msgspec
import pytest

from outcomeledger.domain import codec
from outcomeledger.domain.commands import (
    AdjustReward,
    AgreeContract,
    ApproveBusinessCase,
    BreakContract,
    CertifyPayment,
    ExtendContract,
    Meta,
    SubmitReturn,
    VaryContract,
)
from outcomeledger.domain.contract.decide import decide
from outcomeledger.domain.contract.state import ContractState, evolve
from outcomeledger.domain.errors import Refused
from outcomeledger.domain.events import Figure
from outcomeledger.domain.terms import BusinessCase, ContractTerms, Outcome
from outcomeledger.domain.variations import Variation

WHEN = datetime(2025, 7, 10, 9, 0, tzinfo=UTC)
TERMS = msgspec.convert({
    "reference": "ROLES-1", "title": "t", "buyer": "b", "supplier": "s",
    "start": "2025-04-01", "end": "2026-03-31", "cadence": "quarter",
    "providers": [{"id": "P1", "name": "One"}, {"id": "P2", "name": "Two"}],
    "actors": [{"name": "ann", "role": "commissioner"},
               {"name": "pat", "role": "provider", "provider": "P1"},
               {"name": "val", "role": "validator"},
               {"name": "aud", "role": "auditor"}],
    "outcomes": [{"code": "O1", "name": "Outcome", "price": "100"}],
}, ContractTerms)


def agreed() -> ContractState:
    state = ContractState("ROLES-1")
    for event in decide(state, AgreeContract(TERMS), Meta(WHEN, "ann")).events:
        state = evolve(state, event, codec.event_hash(codec.encode(event)))
    return state


def a_return(provider: str) -> SubmitReturn:
    return SubmitReturn("FY2025-Q1", provider, (Figure("O1", Decimal(3)),))


def test_only_a_declared_commissioner_may_agree_the_contract() -> None:
    with pytest.raises(Refused, match=r"^actor 'pat' may not agree the contract on contract "
                       r"ROLES-1$"):
        decide(ContractState("ROLES-1"), AgreeContract(TERMS), Meta(WHEN, "pat"))


def test_an_undeclared_actor_is_refused_and_not_told_who_is_declared() -> None:
    with pytest.raises(Refused) as undeclared:
        decide(agreed(), a_return("P1"), Meta(WHEN, "mallory"))
    message = str(undeclared.value)
    assert message == ("actor 'mallory' may not submit returns for provider 'P1' on "
                       "contract ROLES-1")
    assert not any(name in message for name in ("ann", "pat", "val", "aud", "--actor"))


def test_a_refusal_reads_the_same_for_an_undeclared_actor_and_a_declared_one() -> None:
    """Probing names with refusals learns nothing: the words are the same either way."""
    refusals = []
    for actor in ("aud", "nobody"):
        with pytest.raises(Refused) as refused:
            decide(agreed(), a_return("P1"), Meta(WHEN, actor))
        refusals.append(str(refused.value).replace(repr(actor), "ACTOR"))
    assert refusals[0] == refusals[1]


def test_a_provider_submits_returns_for_its_own_provider_only() -> None:
    decision = decide(agreed(), a_return("P1"), Meta(WHEN, "pat"))
    assert len(decision.events) == 1
    assert decision.events[0].recorded_by == "pat"
    with pytest.raises(Refused, match="may not submit returns for provider 'P2'"):
        decide(agreed(), a_return("P2"), Meta(WHEN, "pat"))


def test_a_provider_may_not_vary_adjust_or_certify() -> None:
    for command in (VaryContract(Variation(title="x"), date(2025, 7, 1), "r"),
                    AdjustReward("FY2025-Q1", "bonus", Decimal(1), "r"),
                    CertifyPayment("FY2025-Q1")):
        with pytest.raises(Refused, match=r"^actor 'pat' may not"):
            decide(agreed(), command, Meta(WHEN, "pat"))


def test_an_auditor_is_read_only() -> None:
    with pytest.raises(Refused, match=r"^actor 'aud' may not submit returns"):
        decide(agreed(), a_return("P1"), Meta(WHEN, "aud"))


def test_a_commissioner_varies_and_a_validator_submits_results() -> None:
    varied = decide(agreed(), VaryContract(Variation(title="x"), date(2025, 7, 1), "r"),
                    Meta(WHEN, "ann"))
    assert varied.events[0].recorded_by == "ann"
    results = decide(agreed(), a_return(""), Meta(WHEN, "val"))
    assert results.events[0].recorded_by == "val"


def test_a_contract_without_actors_accepts_anyone() -> None:
    open_terms = msgspec.structs.replace(TERMS, actors=())
    state = ContractState("ROLES-1")
    event = decide(state, AgreeContract(open_terms), Meta(WHEN, "anyone")).events[0]
    assert event.recorded_by == "anyone"


def test_options_and_business_cases_are_the_commissioners_to_decide() -> None:
    # Each of these raised KeyError (a traceback) on a contract with actors: the role
    # table knew nothing of them.
    case = BusinessCase("BC-1", "More", "A need", date(2025, 7, 1), Decimal(500),
                        (Outcome("N1", "New", price=Decimal(10)),))
    for command in (ExtendContract("E1", date(2025, 7, 1), "r"),
                    BreakContract("B1", date(2025, 7, 1), "r"),
                    ApproveBusinessCase(case, "r")):
        with pytest.raises(Refused, match=r"^actor 'pat' may not"):
            decide(agreed(), command, Meta(WHEN, "pat"))
    approved = decide(agreed(), ApproveBusinessCase(case, "r"), Meta(WHEN, "ann"))
    assert approved.events[0].recorded_by == "ann"
