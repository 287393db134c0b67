"""Contract state: the fold of one contract stream (the records it keeps of each fact are
in :mod:`outcomeledger.domain.contract.records`).

``apply`` says once what each event does; ``evolve`` (a new state, the old one untouched),
``evolve_owned`` (the caller's state written in place) and ``fold_events`` (a whole stream)
are built on it. A state is frozen: its maps are never written once it is handed out,
except by ``evolve_owned`` on a state its caller holds alone.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any, TypeVar, assert_never

import msgspec

from ..events import (
    GENESIS,
    AnyEvent,
    BusinessCaseApproved,
    ContractAgreed,
    ContractBroken,
    ContractClosed,
    ContractExtended,
    ContractVaried,
    CostsReported,
    ParticipantErased,
    PaymentCertified,
    ReturnRejected,
    ReturnRestated,
    ReturnSubmitted,
    ReturnValidated,
    RewardAdjusted,
)
from ..periods import Period, parse_period, period_containing
from ..terms import ContractTerms
from ..variations import Variation, apply_variation
from .business_cases import as_variation
from .records import (
    AdjustmentRecord,
    BusinessCaseRecord,
    CertificationRecord,
    CostKey,
    CostRecord,
    FigureKey,
    FigureRecord,
    OptionRecord,
    Recorded,
    ReturnKey,
    ReturnStatus,
    VariationRecord,
)

T = TypeVar("T")


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
    #: Extension and break options exercised (DESIGN 11), in recording order. An
    #: extension is also in ``variations``: it changes the term as a variation of ``end``.
    exercised: tuple[OptionRecord, ...] = ()
    #: Business cases approved (DESIGN 11), in recording order. Each is also in
    #: ``variations``: its outcomes join the terms as a variation adding them would.
    business_cases: tuple[BusinessCaseRecord, ...] = ()
    #: The latest amount of each (period, category) of costs reported (DESIGN 11).
    costs: dict[CostKey, CostRecord] = field(default_factory=dict)
    #: Pseudonyms whose link to a person was destroyed (``participant erase``), in
    #: recording order: their figures stay and keep paying; no new figure may name them.
    erased: tuple[str, ...] = ()

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


_NO_RETURN = ReturnStatus()

#: What a state caches about its terms (cached properties): still true of the next state
#: unless the event agreed or varied the contract (one of ``_CHANGES_TERMS``).
_TERMS_CACHE = ("current_terms", "ordered_variations", "_terms_applied", "_effective_dates")
_CHANGES_TERMS = (ContractAgreed, ContractVaried, ContractExtended, BusinessCaseApproved)


# -- each event's effect, written once ------------------------------------------------------
#
# ``apply`` is the one definition of what an event does to a contract's state. It works on
# mutable accumulators (``_Fold``); the three ways of folding differ only in where those
# come from and how the result is frozen:
# * ``fold_events``: fresh accumulators for a whole stream, frozen once at the end (loading a
#   contract, every replay);
# * ``evolve``: a new state from a state left untouched (the maps an event writes are copied
#   first), for callers that keep the state before;
# * ``evolve_owned``: the state's own maps written in place, for a caller that holds the state
#   alone and drops it for the result (the decider's loop over an import's returns, where a
#   copy per return would be quadratic over a contract's history).


@dataclass(slots=True)
class _Fold:
    """The state of one stream while events are applied to it."""

    version: int = 0
    agreed: ContractTerms | None = None
    agreed_by: Recorded | None = None
    closed: Recorded | None = None
    closed_on: date | None = None
    figures: dict[FigureKey, FigureRecord] = field(default_factory=dict)
    returns: dict[ReturnKey, ReturnStatus] = field(default_factory=dict)
    # A state's own tuples until an event appends (then a list of this fold's own): a state
    # advanced by one event must not copy what the event leaves alone.
    variations: Sequence[VariationRecord] = ()
    adjustments: Sequence[AdjustmentRecord] = ()
    certifications: Sequence[CertificationRecord] = ()
    exercised: Sequence[OptionRecord] = ()
    business_cases: Sequence[BusinessCaseRecord] = ()
    costs: dict[CostKey, CostRecord] = field(default_factory=dict)  # copied on write
    erased: Sequence[str] = ()

    @classmethod
    def of(cls, state: ContractState, *, copy_maps: bool) -> _Fold:
        figures, returns = state.figures, state.returns
        if copy_maps:
            figures, returns = dict(figures), dict(returns)
        return cls(state.version, state.agreed, state.agreed_by, state.closed,
                   state.closed_on, figures, returns, state.variations, state.adjustments,
                   state.certifications, state.exercised, state.business_cases,
                   state.costs, state.erased)

    def fields(self, head_hash: str) -> dict[str, Any]:
        return {"version": self.version, "head_hash": head_hash, "agreed": self.agreed,
                "agreed_by": self.agreed_by, "variations": tuple(self.variations),
                "figures": self.figures, "returns": self.returns,
                "adjustments": tuple(self.adjustments),
                "certifications": tuple(self.certifications), "closed": self.closed,
                "closed_on": self.closed_on, "exercised": tuple(self.exercised),
                "business_cases": tuple(self.business_cases), "costs": self.costs,
                "erased": tuple(self.erased)}


def _return(acc: _Fold, period: str, provider: str) -> ReturnStatus:
    return acc.returns.get((period, provider), _NO_RETURN)


def _appended(records: Sequence[T], record: T) -> list[T]:
    """``records`` with ``record`` at the end: in place when it is the fold's own list, a
    new list when it is a state's tuple (which stays as it was)."""
    if isinstance(records, list):
        records.append(record)
        return records
    return [*records, record]


def apply(acc: _Fold, event: AnyEvent) -> None:
    """What ``event`` does to the state: the next version, and the facts it records."""
    acc.version += 1
    rec = Recorded(acc.version, event.recorded_at, event.recorded_by, event.reason)
    # Cases in order of frequency (a return, its validation, a payment run): a match tries
    # each class pattern in turn, and a replay applies millions of events.
    match event:
        case ReturnSubmitted():
            period, provider, source, figures = (event.period, event.provider, event.source,
                                                 acc.figures)
            for f in event.figures:
                figures[(period, provider, f.outcome, f.participant)] = FigureRecord(
                    f, rec, source)
            key = (period, provider)
            status = acc.returns.get(key)
            acc.returns[key] = (
                ReturnStatus((rec,), late=event.late) if status is None else
                msgspec.structs.replace(status, submitted=(*status.submitted, rec),
                                        late=status.late or event.late))
        case ReturnValidated():
            acc.returns[(event.period, event.provider)] = msgspec.structs.replace(
                _return(acc, event.period, event.provider), validated=rec)
        case PaymentCertified():
            acc.certifications = _appended(acc.certifications, CertificationRecord(
                event.period, event.amount, event.cumulative_payable, event.true_up, rec,
                event.above_budget or Decimal(0)))
        case ReturnRestated():
            figures = acc.figures
            for f in event.figures:
                k = (event.period, event.provider, f.outcome, f.participant)
                old = figures.get(k)
                history = () if old is None else (*old.history, (old.value, old.recorded))
                figures[k] = FigureRecord(f, rec, event.source, history)
            status = _return(acc, event.period, event.provider)
            acc.returns[(event.period, event.provider)] = msgspec.structs.replace(
                status, restated=(*status.restated, rec))
        case RewardAdjusted():
            acc.adjustments = _appended(acc.adjustments, AdjustmentRecord(
                event.period, event.kind, event.amount, rec))
        case ContractAgreed():
            acc.agreed, acc.agreed_by = event.terms, rec
        case ContractVaried():
            acc.variations = _appended(acc.variations, VariationRecord(
                event.effective_from, event.variation, rec))
        case ReturnRejected():
            acc.returns[(event.period, event.provider)] = msgspec.structs.replace(
                _return(acc, event.period, event.provider), rejected=rec)
        case ContractExtended():
            # The new end (and claims window) applies from the day after the end it
            # replaces: terms_on gives it for every period beyond the old term.
            change = Variation(end=event.end) if event.claims_until is None else Variation(
                end=event.end, claims_until=event.claims_until)
            acc.variations = _appended(acc.variations, VariationRecord(
                event.effective_from, change, rec))
            acc.exercised = _appended(acc.exercised, OptionRecord(
                event.option, "extension", event.decided_on, rec))
        case ContractBroken():  # a closure that names its option (before ContractClosed)
            acc.closed, acc.closed_on = rec, event.closed_on
            acc.exercised = _appended(acc.exercised, OptionRecord(
                event.option, "break", event.decided_on, rec))
        case ContractClosed():
            acc.closed, acc.closed_on = rec, event.closed_on
        case BusinessCaseApproved():
            approved = event.business_case
            acc.variations = _appended(acc.variations, VariationRecord(
                approved.effective, as_variation(approved), rec))
            acc.business_cases = _appended(acc.business_cases,
                                           BusinessCaseRecord(approved, rec))
        case CostsReported():
            # A new map each time (costs are few): no fold ever writes a state's own.
            costs = dict(acc.costs)
            for c in event.costs:
                costs[(event.period, c.category)] = CostRecord(c, rec, event.source)
            for c in event.restated:
                was = costs.get((event.period, c.category))
                past = () if was is None else (*was.history, (was.amount, was.recorded))
                costs[(event.period, c.category)] = CostRecord(c, rec, event.source, past)
            acc.costs = costs
        case ParticipantErased():
            acc.erased = _appended(acc.erased, event.pseudonym)
        case _:
            assert_never(event)


def _next_state(state: ContractState, acc: _Fold, event: AnyEvent,
                event_hash: str) -> ContractState:
    """The state after ``event`` from ``acc``, its fields set as one dict rather than
    through ``__init__`` (the hot path of deciding an import's returns one after another);
    the terms computed for ``state`` are kept when the event leaves them as they were
    (most events do)."""
    fields = acc.fields(event_hash)
    fields["reference"] = state.reference
    if not isinstance(event, _CHANGES_TERMS):
        cached = state.__dict__
        for name in _TERMS_CACHE:
            if name in cached:
                fields[name] = cached[name]
    new = object.__new__(ContractState)
    object.__setattr__(new, "__dict__", fields)
    return new


#: The events that write the figures or returns maps (``evolve`` copies those first).
_WRITES_MAPS = (ReturnSubmitted, ReturnRestated, ReturnValidated, ReturnRejected)


def evolve(state: ContractState, event: AnyEvent, event_hash: str) -> ContractState:
    """The state after ``event`` (whose stored hash is ``event_hash``); ``state`` is left
    as it was."""
    acc = _Fold.of(state, copy_maps=isinstance(event, _WRITES_MAPS))
    apply(acc, event)
    return _next_state(state, acc, event, event_hash)


def evolve_owned(state: ContractState, event: AnyEvent, event_hash: str) -> ContractState:
    """``evolve`` for a state its caller holds alone and drops for the result: the event is
    applied to the state's own maps instead of copies of them. The result equals
    ``evolve``'s (tests/projections/test_projection_property.py); ``state`` must not be
    used after (it is the result, changed in place)."""
    return InPlace(state).add(event, event_hash)


class InPlace:
    """One owner's state folded event after event in place (``evolve_owned`` for a run of
    events): the accumulator is kept from one event to the next instead of built from the
    state and written back whole each time, and only what the event changed is written
    back. A verifier folds every event of a ledger this way, one state per contract.

    ``state`` is changed in place by :meth:`add` and must not be folded by anything
    else meanwhile. The result equals ``evolve``'s (tests/domain/test_state_apply.py)."""

    __slots__ = ("_acc", "state")

    def __init__(self, state: ContractState) -> None:
        self.state = state
        self._acc = _Fold.of(state, copy_maps=False)

    def add(self, event: AnyEvent, event_hash: str) -> ContractState:
        """The state after ``event`` (whose stored hash is ``event_hash``): ``state``."""
        acc = self._acc
        apply(acc, event)
        # The state itself becomes the result: its owner drops the state before, so a new
        # object and a copy of its cached terms per event buy nothing. What it cached
        # about its terms goes when the event changes them.
        fields = self.state.__dict__
        if isinstance(event, _CHANGES_TERMS):
            for name in _TERMS_CACHE:
                fields.pop(name, None)
        fields["version"] = acc.version
        fields["head_hash"] = event_hash
        if isinstance(event, _MAPS_ONLY):  # (most events): nothing else to write back
            return self.state
        for name in _REPLACED:  # set anew by an event (a map written in place stays)
            value = getattr(acc, name)
            if value is not fields[name]:
                fields[name] = value
        for name in _APPENDED:  # only ever appended to: a longer one is a changed one
            records = getattr(acc, name)
            if len(records) != len(fields[name]):
                fields[name] = tuple(records)
        return self.state


#: The events ``apply`` folds by writing into the figures and returns maps alone (the
#: state's own maps, for ``InPlace``): a return, its review or restatement.
_MAPS_ONLY = (ReturnSubmitted, ReturnValidated, ReturnRestated, ReturnRejected)
#: The fields of a state an event sets anew (``_Fold`` holds the same value until then),
#: and those it appends a record to (``_Fold`` holds its own list once it has).
_REPLACED = ("agreed", "agreed_by", "closed", "closed_on", "figures", "returns", "costs")
_APPENDED = ("variations", "adjustments", "certifications", "exercised", "business_cases",
             "erased")


def fold(reference: str, events: list[tuple[AnyEvent, str]]) -> ContractState:
    """Replay (event, hash) pairs of one stream into its state, one state per event."""
    state = ContractState(reference)
    for event, digest in events:
        state = evolve(state, event, digest)
    return state


def fold_events(reference: str, events: Iterable[AnyEvent], head: str = GENESIS
                ) -> ContractState:
    """The state after ``events`` of one stream, in stream order; ``head`` is the hash of
    the last one (the only hash the state keeps, so only that one is computed)."""
    acc = _Fold()
    for event in events:
        apply(acc, event)
    return ContractState(reference, **acc.fields(head))


def fold_without(reference: str, events: Iterable[AnyEvent], versions: Collection[int]
                 ) -> ContractState:
    """``fold_events`` leaving out the events at stream ``versions`` (from 1), each event
    folded keeping its own version, so ``v12`` names the same event with or without the
    others (:mod:`.counterfactual`). The state keeps no head hash: it was never stored."""
    acc = _Fold()
    for version, event in enumerate(events, 1):
        if version in versions:
            acc.version += 1
            continue
        apply(acc, event)
    return ContractState(reference, **acc.fields(GENESIS))
