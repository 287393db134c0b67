"""Contract state: the fold of one contract stream (``evolve``).

State is frozen; ``evolve`` returns a new state. Maps inside are treated as
immutable and copied on write, once per event (an event carries a whole return).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, assert_never

from .events import (
    GENESIS,
    AnyEvent,
    ContractAgreed,
    ContractClosed,
    ContractVaried,
    Figure,
    PaymentCertified,
    ReturnRejected,
    ReturnRestated,
    ReturnSubmitted,
    ReturnValidated,
    RewardAdjusted,
    Source,
)
from .periods import Period, parse_period, period_containing
from .terms import ContractTerms, Variation, apply_variation

#: (period id, provider, outcome, participant)
FigureKey = tuple[str, str, str, str]
#: (period id, provider)
ReturnKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Recorded:
    """Provenance of a fact: the event that recorded it."""

    version: int  # position in the contract stream, 1-based
    recorded_at: datetime
    recorded_by: str
    reason: str

    @property
    def ref(self) -> str:
        return f"v{self.version}"


@dataclass(frozen=True, slots=True)
class FigureRecord:
    figure: Figure
    recorded: Recorded
    source: Source | None
    history: tuple[tuple[Decimal, Recorded], ...] = ()  # earlier values, oldest first

    @property
    def value(self) -> Decimal:
        return self.figure.value


@dataclass(frozen=True, slots=True)
class ReturnStatus:
    submitted: tuple[Recorded, ...] = ()
    restated: tuple[Recorded, ...] = ()
    validated: Recorded | None = None
    rejected: Recorded | None = None
    late: bool = False


@dataclass(frozen=True, slots=True)
class VariationRecord:
    effective_from: date
    variation: Variation
    recorded: Recorded


@dataclass(frozen=True, slots=True)
class AdjustmentRecord:
    period: str
    kind: str
    amount: Decimal
    recorded: Recorded


@dataclass(frozen=True, slots=True)
class CertificationRecord:
    period: str
    amount: Decimal
    cumulative_payable: Decimal
    true_up: Decimal
    recorded: Recorded


@dataclass(frozen=True)
class ContractState:
    reference: str
    version: int = 0
    head_hash: str = GENESIS
    agreed: ContractTerms | None = None
    agreed_by: Recorded | None = None
    variations: tuple[VariationRecord, ...] = ()
    figures: dict[FigureKey, FigureRecord] = field(default_factory=dict)
    returns: dict[ReturnKey, ReturnStatus] = field(default_factory=dict)
    adjustments: tuple[AdjustmentRecord, ...] = ()
    certifications: tuple[CertificationRecord, ...] = ()
    closed: Recorded | None = None
    closed_on: date | None = None

    @property
    def exists(self) -> bool:
        return self.agreed is not None

    @property
    def base_terms(self) -> ContractTerms:
        assert self.agreed is not None, "contract not agreed"
        return self.agreed

    @cached_property
    def current_terms(self) -> ContractTerms:
        """The terms as varied by every recorded variation (the latest terms)."""
        terms = self.base_terms
        for v in self.ordered_variations:
            terms = apply_variation(terms, v.variation)
        return terms

    @cached_property
    def ordered_variations(self) -> tuple[VariationRecord, ...]:
        return tuple(sorted(self.variations,
                            key=lambda v: (v.effective_from, v.recorded.version)))

    def terms_on(self, day: date) -> ContractTerms:
        """The terms in force for business date ``day`` (variations effective by then)."""
        terms = self.base_terms
        for v in self.ordered_variations:
            if v.effective_from <= day:
                terms = apply_variation(terms, v.variation)
        return terms

    def terms_for(self, period: Period) -> ContractTerms:
        return self.terms_on(period.start)

    def period(self, period_id: str) -> Period:
        return parse_period(period_id, self.base_terms.cadence)

    @property
    def first_period(self) -> Period:
        terms = self.base_terms
        return period_containing(terms.start, terms.cadence)

    @property
    def certified_total(self) -> Decimal:
        return sum((c.amount for c in self.certifications), Decimal(0))


def _recorded(state: ContractState, event: AnyEvent) -> Recorded:
    return Recorded(state.version + 1, event.recorded_at, event.recorded_by, event.reason)


def _with_return(state: ContractState, key: ReturnKey, **changes: object) -> dict[
        ReturnKey, ReturnStatus]:
    returns = dict(state.returns)
    returns[key] = replace(returns.get(key, ReturnStatus()), **changes)  # type: ignore[arg-type]
    return returns


def evolve(state: ContractState, event: AnyEvent, event_hash: str) -> ContractState:
    """The state after ``event`` (whose stored hash is ``event_hash``)."""
    rec = _recorded(state, event)

    def advance(**changes: Any) -> ContractState:
        return replace(state, version=rec.version, head_hash=event_hash, **changes)

    match event:
        case ContractAgreed():
            return advance(agreed=event.terms, agreed_by=rec)
        case ContractVaried():
            record = VariationRecord(event.effective_from, event.variation, rec)
            return advance(variations=(*state.variations, record))
        case ReturnSubmitted():
            figures = dict(state.figures)
            for f in event.figures:
                figures[(event.period, event.provider, f.outcome, f.participant)] = (
                    FigureRecord(f, rec, event.source))
            key = (event.period, event.provider)
            status = state.returns.get(key, ReturnStatus())
            returns = _with_return(state, key, submitted=(*status.submitted, rec),
                                   late=status.late or event.late)
            return advance(figures=figures, returns=returns)
        case ReturnRestated():
            figures = dict(state.figures)
            for f in event.figures:
                k = (event.period, event.provider, f.outcome, f.participant)
                old = figures.get(k)
                history = () if old is None else (*old.history, (old.value, old.recorded))
                figures[k] = FigureRecord(f, rec, event.source, history)
            key = (event.period, event.provider)
            status = state.returns.get(key, ReturnStatus())
            returns = _with_return(state, key, restated=(*status.restated, rec))
            return advance(figures=figures, returns=returns)
        case ReturnValidated():
            returns = _with_return(state, (event.period, event.provider), validated=rec)
            return advance(returns=returns)
        case ReturnRejected():
            returns = _with_return(state, (event.period, event.provider), rejected=rec)
            return advance(returns=returns)
        case RewardAdjusted():
            adj = AdjustmentRecord(event.period, event.kind, event.amount, rec)
            return advance(adjustments=(*state.adjustments, adj))
        case PaymentCertified():
            cert = CertificationRecord(event.period, event.amount, event.cumulative_payable,
                                       event.true_up, rec)
            return advance(certifications=(*state.certifications, cert))
        case ContractClosed():
            return advance(closed=rec, closed_on=event.closed_on)
        case _:
            assert_never(event)


def fold(reference: str, events: list[tuple[AnyEvent, str]]) -> ContractState:
    """Replay (event, hash) pairs of one stream into its state."""
    state = ContractState(reference)
    for event, digest in events:
        state = evolve(state, event, digest)
    return state
