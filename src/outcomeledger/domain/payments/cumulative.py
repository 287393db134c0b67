"""Cumulative payable through a period, from a schedule or followed event by event.

:class:`Cumulative` is what ``audit verify`` re-decides every payment run of a history
with; it is apart from :mod:`outcomeledger.domain.payments.mechanism` because it keeps
its own totals per period and is told every event folded, which ``compute`` never needs.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from ..contract.records import FigureKey, FigureRecord
from ..contract.state import ContractState
from ..events import (
    AnyEvent,
    BusinessCaseApproved,
    ContractAgreed,
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
from ..money import ZERO
from ..periods import Period, period_containing
from .mechanism import Plan, Priced, compute
from .running import Running
from .schedule import Schedule


def cumulative_through(schedule: Schedule, period: Period, state: ContractState) -> Decimal:
    """Cumulative payable through ``period`` (zero before the first period)."""
    total = ZERO
    for pp in schedule.periods:
        if state.period(pp.period) <= period:
            total = pp.cumulative_payable
    return total


class Cumulative:
    """Cumulative payable through a period for the successive states of one contract:
    ``cumulative_through(compute(state), period, state)`` without computing the whole
    schedule each time (tests/audit/test_verify_rules.py checks they agree).

    Re-deciding every payment run of a history (``audit verify``) asks this once a
    period; ``compute`` each time would be quadratic in the contract's life. A period's
    payments depend only on the totals carried into it, its terms in force, its figures
    and its adjustments (and closure, for the final period), so the totals after each
    period are kept and the arithmetic is done again only from the earliest period an
    event has touched since. :meth:`follow` must be told every event folded, in order.
    """

    def __init__(self, *, whole: bool = False) -> None:
        self._periods: list[Period] = []  # first through last period with activity
        self._index: dict[str, int] = {}  # period id -> index in _periods
        self._keys: dict[str, set[FigureKey]] = defaultdict(set)  # figure keys per period
        self._rows: dict[str, list[FigureRecord]] = {}  # a period's figures, while valid
        self._after: list[Running] = []  # the totals after each period computed
        self._payable: list[Decimal] = []  # cumulative payable after each period computed
        self._valid = 0  # leading periods whose totals still hold
        #: Every question answered by ``compute``: a closed contract (its final period
        #: releases retention), or ``whole`` (a history this cannot follow).
        self._whole = whole
        self._priced: dict[int, Priced] = {}  # the plans' (one per payment run decided)

    def follow(self, state: ContractState, event: AnyEvent) -> None:
        """``event`` was folded into ``state`` (the state after it)."""
        match event:  # (the commonest first)
            case ReturnSubmitted() | ReturnRestated():
                keys, period, provider = self._keys[event.period], event.period, event.provider
                for f in event.figures:
                    keys.add((period, provider, f.outcome, f.participant))
                self._touch(state, event.period)
            case ReturnValidated() | ParticipantErased():  # no figure or amount changes
                pass
            case ReturnRejected() | RewardAdjusted() | CostsReported():
                self._touch(state, event.period)
            case PaymentCertified():  # the schedule runs through it; no amount changes
                self._touch(state, event.period, changed=False)
            case ContractVaried() | ContractExtended() | BusinessCaseApproved():
                # The terms change from a date.
                effective = period_containing(
                    event.business_case.effective if isinstance(event, BusinessCaseApproved)
                    else event.effective_from, state.base_terms.cadence)
                at = self._index.get(effective.id)
                if at is None:  # beyond every period known (none touched), or before them
                    at = len(self._periods) if (
                        self._periods and effective > self._periods[-1]) else 0
                self._valid = min(self._valid, at)
            case ContractAgreed() | ContractClosed():
                self._whole = self._whole or state.closed is not None
                self._valid = 0

    def _touch(self, state: ContractState, period_id: str, *, changed: bool = True) -> None:
        if changed:
            self._rows.pop(period_id, None)
        at = self._index.get(period_id)
        if at is not None:
            if changed:
                self._valid = min(self._valid, at)
            return
        period = state.period(period_id)
        p = state.first_period if not self._periods else self._periods[-1].next()
        while p <= period:
            self._index[p.id] = len(self._periods)
            self._periods.append(p)
            p = p.next()

    def _figures(self, state: ContractState, period_id: str) -> list[FigureRecord]:
        """The period's figures as ``compute`` takes them: in key order, rejected out."""
        rows = self._rows.get(period_id)
        if rows is None:
            rows = self._rows[period_id] = []
            for key in sorted(self._keys.get(period_id, ())):
                status = state.returns.get((key[0], key[1]))
                if status is None or status.rejected is None:
                    rows.append(state.figures[key])
        return rows

    def __call__(self, state: ContractState, period: Period) -> Decimal:
        if self._whole:
            return cumulative_through(compute(state, explain=False), period, state)
        periods = self._periods
        upto = len(periods) - 1
        while upto >= 0 and periods[upto] > period:
            upto -= 1
        if upto < 0:
            return ZERO
        start = self._valid
        if upto >= start:
            plan = Plan(state, explain=False, periods=periods, priced=self._priced)
            del self._after[start:], self._payable[start:]
            run = self._after[start - 1].copy() if start else Running()
            for index in range(start, upto + 1):
                pid = periods[index].id
                plan.periods_from(index, {pid: self._figures(state, pid)}, run, None,
                                  stop=index + 1)
                # The totals after the last period computed are kept as they are: the
                # next run carries on from a copy of them.
                self._after.append(run.copy() if index < upto else run)
                self._payable.append(run.payable)
            self._valid = upto + 1
        return self._payable[upto]
