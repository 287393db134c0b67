"""Builders for behaviour tests: given events -> when a command -> then events or an error.

Tests import these helpers directly (``from conftest import agreed, submit, ...``): a
builder of a command is named as the imperative it is (``submit``, ``vary``, ``certify``).
Every timestamp is fixed, so a test's events are the same on every run.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import settings

from outcomeledger.domain import codec
from outcomeledger.domain.commands import (
    AdjustReward,
    AgreeContract,
    CertifyPayment,
    CloseContract,
    Command,
    Meta,
    SubmitReturn,
    VaryContract,
)
from outcomeledger.domain.contract.decide import Decision, decide
from outcomeledger.domain.contract.state import ContractState, evolve
from outcomeledger.domain.errors import InvalidInput
from outcomeledger.domain.events import AnyEvent, ContractAgreed, Figure
from outcomeledger.domain.payments.mechanism import compute
from outcomeledger.domain.payments.schedule import PeriodPayment, Schedule
from outcomeledger.domain.terms import ContractTerms, Outcome, Provider, Tier
from outcomeledger.domain.variations import ProviderChange, Variation

# Properties run the decider and the whole payment fold: no per-example deadline on slow CI.
settings.register_profile("outcomeledger", deadline=None)
settings.load_profile("outcomeledger")

D = Decimal
REF = "C-TEST"
T0 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
LATER = datetime(2025, 7, 10, 9, 0, tzinfo=UTC)
ACTOR = "commissioner:test@example.gov.uk"


def meta(at: datetime = T0, by: str = ACTOR) -> Meta:
    return Meta(at, by)


def outcome(code: str = "O1", **overrides: Any) -> Outcome:
    """A count outcome priced at 100 per unit unless ``overrides`` say otherwise."""
    fields: dict[str, Any] = {"code": code, "name": f"Outcome {code}"}
    if not {"tiers", "kind"} & set(overrides):
        fields["price"] = D("100")
    fields.update(overrides)
    return Outcome(**fields)


def tiers(*bands: tuple[int | None, int]) -> tuple[Tier, ...]:
    return tuple(Tier(price=D(price), upto=None if upto is None else D(upto))
                 for upto, price in bands)


def terms(**overrides: Any) -> ContractTerms:
    """Quarterly contract FY2025-Q1..FY2026-Q4, outcomes O1 (100) and O2 (250)."""
    fields: dict[str, Any] = {
        "reference": REF,
        "title": "Test outcomes contract",
        "buyer": "Test Council",
        "supplier": "Test Supplier Ltd",
        "start": date(2025, 4, 1),
        "end": date(2027, 3, 31),
        "cadence": "quarter",
        "outcomes": (outcome("O1"), outcome("O2", price=D("250"))),
        "providers": (Provider("P1", "Provider one"), Provider("P2", "Provider two")),
    }
    fields.update(overrides)
    return ContractTerms(**fields)


def chain(state: ContractState, events: Iterable[AnyEvent]) -> ContractState:
    """Evolve ``state`` by ``events``, hash-chained exactly as the store does it."""
    for event in events:
        chained = msgspec.structs.replace(event, prev_hash=state.head_hash)
        state = evolve(state, chained, codec.event_hash(codec.encode(chained)))
    return state


def agreed(**overrides: Any) -> ContractState:
    """The state of a contract just agreed with ``terms(**overrides)``."""
    t = terms(**overrides)
    event = ContractAgreed(contract=t.reference, recorded_at=T0, recorded_by=ACTOR,
                           reason="contract agreed", terms=t)
    return chain(ContractState(t.reference), [event])


def agreed_with(t: ContractTerms) -> ContractState:
    return apply(ContractState(t.reference), AgreeContract(t))


def when(state: ContractState, command: Command, at: datetime = T0) -> Decision:
    return decide(state, command, meta(at))


def refusal(state: ContractState, command: Command) -> str:
    """``field: message`` of the single problem when ``command`` is refused as invalid."""
    with pytest.raises(InvalidInput) as error:
        when(state, command)
    [problem] = error.value.problems
    return f"{problem.field}: {problem.message}"


def apply(state: ContractState, *commands: Command, at: datetime = T0) -> ContractState:
    """Decide each command in turn and evolve the state by its events."""
    for command in commands:
        state = chain(state, decide(state, command, meta(at)).events)
    return state


def fig(outcome_code: str, value: int | str | Decimal, participant: str = "",
        achieved_on: date | None = None, line: int | None = None) -> Figure:
    return Figure(outcome=outcome_code, value=D(value), participant=participant,
                  achieved_on=achieved_on, line=line)


def submit(period: str, *figures: Figure, provider: str = "", restate: bool = False,
             reason: str = "") -> SubmitReturn:
    return SubmitReturn(period=period, provider=provider, figures=figures, restate=restate,
                        reason=reason)


def tally(period: str, **values: int) -> SubmitReturn:
    """Submit an aggregate return: ``tally("FY2025-Q1", O1=3)``."""
    return submit(period, *(fig(code, v) for code, v in values.items()))


def vary(variation: Variation, effective: date, reason: str = "varied") -> VaryContract:
    return VaryContract(variation, effective, reason)


def retire_provider(provider: str, left: date, effective: date) -> VaryContract:
    """Vary the contract so that ``provider``'s last day in the network is ``left``."""
    return vary(Variation(providers=(ProviderChange(provider, left=left),)), effective,
                f"{provider} leaves")


def adjust(period: str, amount: str, kind: str = "bonus",
             reason: str = "adjusted") -> AdjustReward:
    return AdjustReward(period=period, kind=kind, amount=D(amount),  # type: ignore[arg-type]
                        reason=reason)


def certify(period: str) -> CertifyPayment:
    return CertifyPayment(period)


def close(on: date = date(2027, 3, 31), reason: str = "contract ended") -> CloseContract:
    return CloseContract(on, reason)


def schedule(state: ContractState) -> Schedule:
    return compute(state)


def period_of(state: ContractState, period_id: str) -> PeriodPayment:
    found = compute(state).period(period_id)
    assert found is not None, f"no {period_id} in the schedule"
    return found


# The storage backends (SQLite and PostgreSQL) every ledger-opening test runs against.
from backends import (  # noqa: E402, F401 - fixtures are registered by being named here
    Db,
    copy_of,
    ledger_db,
    ledger_url,
    module_ledger_db,
    new_db,
    pg_server,
    pytest_configure,
)
