"""What one report looks at: a contract state cut to ``--as-at``, and shared arithmetic.

Every section of the report is computed from a :class:`View`, so "periods up to the
as-at date" and "terms in force on it" are decided once, here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property

from ..domain.contract.records import FigureKey, FigureRecord
from ..domain.contract.state import ContractState
from ..domain.money import ZERO, quantize, round_places
from ..domain.payments.mechanism import compute, compute_changed
from ..domain.payments.schedule import PeriodPayment, Schedule
from ..domain.periods import Period
from ..domain.terms import DEFAULT_RATINGS, ContractTerms, Outcome, Ratings


@dataclass(frozen=True)
class View:
    state: ContractState
    as_at: date | None = None

    @cached_property
    def terms(self) -> ContractTerms:
        """Terms in force on the as-at date, else the latest terms."""
        if self.as_at is None:
            return self.state.current_terms
        return self.state.terms_on(self.as_at)

    @property
    def currency(self) -> str:
        return self.state.base_terms.currency

    @cached_property
    def schedule(self) -> Schedule:
        return self._schedules[0]

    def restated(self, key: FigureKey, value: Decimal) -> Schedule:
        """The schedule had the figure ``key`` (restated since) still had ``value``."""
        if str(value) == str(self.state.figures[key].value):
            return self.schedule
        return self._schedules[1][(key, str(value))]

    @cached_property
    def _schedules(self) -> tuple[Schedule, dict[tuple[FigureKey, str], Schedule]]:
        """The schedule, and the schedule with each restated figure at each value it had
        before its current one (by figure and exact decimal text), from one pass
        (``compute_changed``). The report reads amounts and cap steps, never the words
        of a line's units and earned steps: those are left out (``explain=False``)."""
        changes: dict[tuple[FigureKey, str], Decimal] = {}
        for key, record in self.figures.items():
            for value, _recorded in record.history:
                if str(value) != str(record.value):
                    changes.setdefault((key, str(value)), value)
        if not changes:
            return compute(self.state, explain=False), {}
        schedule, changed = compute_changed(
            self.state, [(key, value) for (key, _text), value in changes.items()],
            explain=False)
        return schedule, dict(zip(changes, changed, strict=True))

    @cached_property
    def periods(self) -> tuple[PeriodPayment, ...]:
        """Schedule periods that start on or before the as-at date."""
        return tuple(p for p in self.schedule.periods if self.included(p.period))

    def period(self, period_id: str) -> Period:
        return self.state.period(period_id)

    @cached_property
    def _outcome_index(self) -> dict[int, dict[str, Outcome]]:
        return {}

    def outcome_in(self, period_id: str, code: str) -> Outcome | None:
        """The outcome ``code`` in the terms in force for ``period_id`` (``terms.outcome``,
        indexed once per set of terms: the report asks for every outcome every period)."""
        terms = self.state.terms_for(self.period(period_id))
        index = self._outcome_index.get(id(terms))
        if index is None:
            index = self._outcome_index[id(terms)] = {}
            for o in terms.outcomes:
                index.setdefault(o.code, o)  # the first, as terms.outcome finds it
        return index.get(code)

    def included(self, period_id: str) -> bool:
        return self.as_at is None or self.period(period_id).start <= self.as_at

    @cached_property
    def figures(self) -> dict[FigureKey, FigureRecord]:
        """Latest figures of returns not rejected, in the included periods."""
        out = {}
        for key, record in self.state.figures.items():
            status = self.state.returns.get((key[0], key[1]))
            if status is not None and status.rejected is not None:
                continue
            if self.included(key[0]):
                out[key] = record
        return out

    @cached_property
    def actuals(self) -> dict[tuple[str, str], Decimal]:
        """(period id, outcome or social value code) -> sum of figure values."""
        totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for (period_id, _provider, code, _participant), record in self.figures.items():
            totals[(period_id, code)] += record.value
        return dict(totals)

    @cached_property
    def reported(self) -> frozenset[str]:
        """Period ids with at least one figure: a period with no return has no actual."""
        return frozenset(key[0] for key in self.figures)

    @cached_property
    def ratings(self) -> Ratings:
        return self.terms.ratings or DEFAULT_RATINGS

    def money(self, amount: Decimal) -> Decimal:
        return quantize(amount, self.currency)


def percent(actual: Decimal, target: Decimal | None) -> Decimal | None:
    if target is None or target == 0:
        return None
    return round_places(actual * 100 / target, 2)


def share(part: Decimal, whole: Decimal) -> Decimal:
    """``part`` / ``whole`` to four places (zero when there is no whole)."""
    return round_places(part / whole if whole else ZERO, 4)


def units(amount: Decimal) -> Decimal:
    """Units as written: integral counts without a trailing exponent."""
    return amount.quantize(Decimal(1)) if amount == amount.to_integral() else amount.normalize()
