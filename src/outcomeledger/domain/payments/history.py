"""What happened to one period before its current figures (``payments explain``): every
restatement of its figures (124 -> 120, when, by whom, why) and the payment runs through
it, with their true-ups. Read from the contract's records; nothing is recomputed."""

from __future__ import annotations

from decimal import Decimal

from msgspec import Struct

from ..contract.records import CertificationRecord, FigureKey, FigureRecord, Recorded
from ..contract.state import ContractState


class FigureChange(Struct, frozen=True, gc=False):
    """One change of one figure's value: ``original`` (recorded by ``first``) became
    ``restated`` (recorded by ``recorded``, a restatement with its reason)."""

    period: str
    provider: str
    outcome: str
    participant: str
    original: Decimal
    restated: Decimal
    first: Recorded
    recorded: Recorded


class PeriodHistory(Struct, frozen=True, gc=False):
    changes: tuple[FigureChange, ...]  # in stream order, then by figure key
    certifications: tuple[CertificationRecord, ...]  # runs for this period or earlier

    def changes_of(self, outcome: str) -> tuple[FigureChange, ...]:
        return tuple(c for c in self.changes if c.outcome == outcome)


def figure_changes(key: FigureKey, record: FigureRecord) -> list[FigureChange]:
    """Each change of one figure's value, oldest first: value i became value i + 1 by the
    event that recorded value i + 1 (the report's restatement register reads the same)."""
    values = [v for v, _r in record.history] + [record.value]
    by = [r for _v, r in record.history] + [record.recorded]
    return [FigureChange(period=key[0], provider=key[1], outcome=key[2], participant=key[3],
                         original=values[i], restated=values[i + 1], first=by[i],
                         recorded=by[i + 1]) for i in range(len(values) - 1)]


def period_history(state: ContractState, period_id: str) -> PeriodHistory:
    """The restatements of ``period_id``'s figures and the payment runs through it."""
    changes: list[FigureChange] = []
    for key, record in state.figures.items():
        if key[0] == period_id and record.history:
            changes += figure_changes(key, record)
    changes.sort(key=lambda c: (c.recorded.version, c.provider, c.outcome, c.participant))
    limit = state.period(period_id)
    runs = tuple(sorted((c for c in state.certifications if state.period(c.period) <= limit),
                        key=lambda c: c.recorded.version))
    return PeriodHistory(changes=tuple(changes), certifications=runs)
