"""Contract state: the fold of one contract stream (``evolve``).

State is frozen; ``evolve`` returns a new state. Maps inside are treated as
immutable and copied on write, once per event (an event carries a whole return).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, assert_never

import msgspec
from msgspec import Struct

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


# The records below are frozen msgspec Structs rather than dataclasses: a large import
# or a replay makes one per figure, and a Struct is built several times faster than a
# frozen dataclass (whose __init__ goes through object.__setattr__ field by field).
# They hold no reference cycles, so the cyclic garbage collector need not track them.


class Recorded(Struct, frozen=True, gc=False):
    """Provenance of a fact: the event that recorded it."""

    version: int  # position in the contract stream, 1-based
    recorded_at: datetime
    recorded_by: str
    reason: str

    @property
    def ref(self) -> str:
        return f"v{self.version}"


class FigureRecord(Struct, frozen=True, gc=False):
    figure: Figure
    recorded: Recorded
    source: Source | None
    history: tuple[tuple[Decimal, Recorded], ...] = ()  # earlier values, oldest first

    @property
    def value(self) -> Decimal:
        return self.figure.value


class ReturnStatus(Struct, frozen=True, gc=False):
    submitted: tuple[Recorded, ...] = ()
    restated: tuple[Recorded, ...] = ()
    validated: Recorded | None = None
    rejected: Recorded | None = None
    late: bool = False


class VariationRecord(Struct, frozen=True, gc=False):
    effective_from: date
    variation: Variation
    recorded: Recorded


class AdjustmentRecord(Struct, frozen=True, gc=False):
    period: str
    kind: str
    amount: Decimal
    recorded: Recorded


class CertificationRecord(Struct, frozen=True, gc=False):
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
        return self._terms_applied[-1]

    @cached_property
    def ordered_variations(self) -> tuple[VariationRecord, ...]:
        return tuple(sorted(self.variations,
                            key=lambda v: (v.effective_from, v.recorded.version)))

    @cached_property
    def _terms_applied(self) -> tuple[ContractTerms, ...]:
        """The terms after each prefix of ``ordered_variations``: ``[0]`` the agreed terms,
        ``[n]`` as varied by the first n. Made once per state: a schedule asks for the
        terms in force of every period, and each is one of these."""
        terms = self.base_terms
        out = [terms]
        for v in self.ordered_variations:
            terms = apply_variation(terms, v.variation)
            out.append(terms)
        return tuple(out)

    @cached_property
    def _effective_dates(self) -> list[date]:
        return [v.effective_from for v in self.ordered_variations]

    def terms_on(self, day: date) -> ContractTerms:
        """The terms in force for business date ``day`` (variations effective by then)."""
        # Variations are ordered by effective date, so those effective by ``day`` are a
        # prefix of them: the agreed terms varied by that prefix, in order.
        return self._terms_applied[bisect_right(self._effective_dates, day)]

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


_NO_RETURN = ReturnStatus()


def _with_return(state: ContractState, key: ReturnKey, **changes: Any) -> dict[
        ReturnKey, ReturnStatus]:
    returns = dict(state.returns)
    returns[key] = msgspec.structs.replace(returns.get(key, _NO_RETURN), **changes)
    return returns


#: What a state caches about its terms (cached properties): still true of the next state
#: unless the event agreed or varied the contract.
_TERMS_CACHE = ("current_terms", "ordered_variations", "_terms_applied", "_effective_dates")


def _advance(state: ContractState, changes: dict[str, Any]) -> ContractState:
    """``dataclasses.replace(state, **changes)``, made for the hot path of deciding an
    import's returns one after another: the fields are copied as one dict rather than
    through ``__init__``, and the terms computed for ``state`` are kept when the event
    leaves them as they were (most events do)."""
    fields = dict(state.__dict__)
    if "agreed" in changes or "variations" in changes:
        for name in _TERMS_CACHE:
            fields.pop(name, None)
    fields.update(changes)
    new = object.__new__(ContractState)
    object.__setattr__(new, "__dict__", fields)
    return new


def evolve(state: ContractState, event: AnyEvent, event_hash: str) -> ContractState:
    """The state after ``event`` (whose stored hash is ``event_hash``)."""
    rec = _recorded(state, event)

    def advance(**changes: Any) -> ContractState:
        changes["version"] = rec.version
        changes["head_hash"] = event_hash
        return _advance(state, changes)

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
            status = state.returns.get(key, _NO_RETURN)
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
            status = state.returns.get(key, _NO_RETURN)
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


def evolve_owned(state: ContractState, event: AnyEvent, event_hash: str) -> ContractState:
    """``evolve`` for a state its caller holds alone and drops for the result: a return's
    figures and status are written into the state's own maps instead of copies of them.

    The decider's batch loop folds each return it decides into the state the next return
    is decided against; copying the maps there would cost O(figures) per return,
    quadratic over an import of a contract's whole history. The result equals
    ``evolve``'s (tests/test_projection_property.py); ``state`` must not be used after.
    """
    match event:
        case ReturnSubmitted():
            rec = _recorded(state, event)
            figures, period, provider, source = (state.figures, event.period,
                                                 event.provider, event.source)
            for f in event.figures:
                figures[(period, provider, f.outcome, f.participant)] = FigureRecord(
                    f, rec, source)
            status = state.returns.get((period, provider), _NO_RETURN)
            state.returns[(period, provider)] = msgspec.structs.replace(
                status, submitted=(*status.submitted, rec), late=status.late or event.late)
            return _advance(state, {"version": rec.version, "head_hash": event_hash})
        case ReturnRestated():
            rec = _recorded(state, event)
            figures = state.figures
            for f in event.figures:
                k = (event.period, event.provider, f.outcome, f.participant)
                old = figures.get(k)
                history = () if old is None else (*old.history, (old.value, old.recorded))
                figures[k] = FigureRecord(f, rec, event.source, history)
            status = state.returns.get((event.period, event.provider), _NO_RETURN)
            state.returns[(event.period, event.provider)] = msgspec.structs.replace(
                status, restated=(*status.restated, rec))
            return _advance(state, {"version": rec.version, "head_hash": event_hash})
        case ReturnValidated() | ReturnRejected():
            # (``audit verify`` folds every validation of a history: a copy of the
            # returns map for each would be quadratic in the contract's life.)
            rec = _recorded(state, event)
            key = (event.period, event.provider)
            status = state.returns.get(key, _NO_RETURN)
            state.returns[key] = (
                msgspec.structs.replace(status, validated=rec)
                if isinstance(event, ReturnValidated)
                else msgspec.structs.replace(status, rejected=rec))
            return _advance(state, {"version": rec.version, "head_hash": event_hash})
        case _:
            return evolve(state, event, event_hash)


def fold(reference: str, events: list[tuple[AnyEvent, str]]) -> ContractState:
    """Replay (event, hash) pairs of one stream into its state."""
    state = ContractState(reference)
    for event, digest in events:
        state = evolve(state, event, digest)
    return state


# -- the same fold, fast ------------------------------------------------------------------
#
# ``evolve`` is the one definition of contract state: frozen, one new state per event.
# That copy-on-write costs O(figures) per return event, quadratic over a long stream, and
# loading a contract (every command, every query) and every replay fold whole streams
# from their first event; so here the same steps are applied to mutable accumulators and
# frozen once at the end. tests/test_projection_property.py checks the result equals
# ``fold`` on the demo, the scenarios and random histories.


@dataclass(slots=True)
class _Return:
    submitted: list[Recorded] = field(default_factory=list)
    restated: list[Recorded] = field(default_factory=list)
    validated: Recorded | None = None
    rejected: Recorded | None = None
    late: bool = False

    def freeze(self) -> ReturnStatus:
        return ReturnStatus(tuple(self.submitted), tuple(self.restated), self.validated,
                            self.rejected, self.late)


def fold_events(reference: str, events: Iterable[AnyEvent], head: str = GENESIS
                ) -> ContractState:
    """The state after ``events`` of one stream, in stream order; ``head`` is the hash of
    the last one (the only hash the state keeps, so only that one is computed)."""
    version = 0
    agreed: ContractTerms | None = None
    agreed_by: Recorded | None = None
    closed: Recorded | None = None
    closed_on: date | None = None
    figures: dict[FigureKey, FigureRecord] = {}
    returns: dict[ReturnKey, _Return] = {}
    variations: list[VariationRecord] = []
    adjustments: list[AdjustmentRecord] = []
    certifications: list[CertificationRecord] = []
    for event in events:
        version += 1
        rec = Recorded(version, event.recorded_at, event.recorded_by, event.reason)
        # Cases in order of frequency (a return, its validation, a payment run): a match
        # tries each class pattern in turn, and a replay folds millions of events.
        match event:
            case ReturnSubmitted():
                period, provider, source = event.period, event.provider, event.source
                for f in event.figures:
                    figures[(period, provider, f.outcome, f.participant)] = FigureRecord(
                        f, rec, source)
                status = returns.get((period, provider))
                if status is None:
                    status = returns[(period, provider)] = _Return()
                status.submitted.append(rec)
                status.late = status.late or event.late
            case ReturnValidated():
                status = returns.get((event.period, event.provider))
                if status is None:
                    status = returns[(event.period, event.provider)] = _Return()
                status.validated = rec
            case PaymentCertified():
                certifications.append(CertificationRecord(
                    event.period, event.amount, event.cumulative_payable, event.true_up, rec))
            case ReturnRestated():
                for f in event.figures:
                    k = (event.period, event.provider, f.outcome, f.participant)
                    old = figures.get(k)
                    history = () if old is None else (*old.history, (old.value, old.recorded))
                    figures[k] = FigureRecord(f, rec, event.source, history)
                returns.setdefault((event.period, event.provider), _Return()).restated.append(
                    rec)
            case RewardAdjusted():
                adjustments.append(AdjustmentRecord(event.period, event.kind, event.amount,
                                                    rec))
            case ContractAgreed():
                agreed, agreed_by = event.terms, rec
            case ContractVaried():
                variations.append(VariationRecord(event.effective_from, event.variation, rec))
            case ReturnRejected():
                returns.setdefault((event.period, event.provider), _Return()).rejected = rec
            case ContractClosed():
                closed, closed_on = rec, event.closed_on
            case _:
                assert_never(event)
    return ContractState(
        reference, version, head, agreed, agreed_by, tuple(variations), figures,
        {k: r.freeze() for k, r in returns.items()}, tuple(adjustments),
        tuple(certifications), closed, closed_on)
