"""A whole-stream fold that builds exactly the state ``state.evolve`` builds, faster.

``evolve`` is the one definition of contract state: frozen, one new state per event.
That copy-on-write costs O(figures) per return event, which is quadratic over a long
stream; a replay folds every stream from its first event, so here the same steps are
applied to mutable accumulators and frozen once at the end. ``tests/test_projection_fold``
checks the result equals ``state.fold`` on the demo, the scenarios and random histories.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import assert_never

from ..events import (
    GENESIS,
    AnyEvent,
    ContractAgreed,
    ContractClosed,
    ContractVaried,
    PaymentCertified,
    ReturnRejected,
    ReturnRestated,
    ReturnSubmitted,
    ReturnValidated,
    RewardAdjusted,
)
from ..state import (
    AdjustmentRecord,
    CertificationRecord,
    ContractState,
    FigureKey,
    FigureRecord,
    Recorded,
    ReturnKey,
    ReturnStatus,
    VariationRecord,
)
from ..terms import ContractTerms


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
        match event:
            case ContractAgreed():
                agreed, agreed_by = event.terms, rec
            case ContractVaried():
                variations.append(VariationRecord(event.effective_from, event.variation, rec))
            case ReturnSubmitted():
                for f in event.figures:
                    figures[(event.period, event.provider, f.outcome, f.participant)] = (
                        FigureRecord(f, rec, event.source))
                status = returns.setdefault((event.period, event.provider), _Return())
                status.submitted.append(rec)
                status.late = status.late or event.late
            case ReturnRestated():
                for f in event.figures:
                    k = (event.period, event.provider, f.outcome, f.participant)
                    old = figures.get(k)
                    history = () if old is None else (*old.history, (old.value, old.recorded))
                    figures[k] = FigureRecord(f, rec, event.source, history)
                returns.setdefault((event.period, event.provider), _Return()).restated.append(
                    rec)
            case ReturnValidated():
                returns.setdefault((event.period, event.provider), _Return()).validated = rec
            case ReturnRejected():
                returns.setdefault((event.period, event.provider), _Return()).rejected = rec
            case RewardAdjusted():
                adjustments.append(AdjustmentRecord(event.period, event.kind, event.amount,
                                                    rec))
            case PaymentCertified():
                certifications.append(CertificationRecord(
                    event.period, event.amount, event.cumulative_payable, event.true_up, rec))
            case ContractClosed():
                closed, closed_on = rec, event.closed_on
            case _:
                assert_never(event)
    return ContractState(
        reference, version, head, agreed, agreed_by, tuple(variations), figures,
        {k: r.freeze() for k, r in returns.items()}, tuple(adjustments),
        tuple(certifications), closed, closed_on)
