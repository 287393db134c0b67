"""Where a closed contract's money stops: its closing period, and the rule it is found by.

A contract closed on a day D (``ContractClosed.closed_on``) stops paying at D (issue 18):

* the period containing D is the *closing period*: its fees are paid whole (the terms
  have no way to split a period's fee, so nothing is pro-rated) and every retention
  still held is released in it; a contract closed after its term ended releases it in
  the last period of its schedule up to D (its last period of activity);
* a period that starts after D accrues nothing: no fee, and no outcome payment for its
  figures (returns after a closure are refused; figures recorded before it for a later
  period are shown as not paid); adjustments recorded for it still count, and nothing
  of them is withheld, as no later release would follow.

Payment runs recorded before this rule (no ``PaymentCertified.closure_rule``) were
decided with the schedule running through the contract's (varied) end: fees of every
period of the term, retention released in the schedule's last period. ``audit verify``
decides each payment run again by the rule it records, so an honest run certified then
is never called forged; the schedule shows the rule of today, and the next payment run
carries the difference as its ``true_up``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..contract.state import ContractState
from ..events import CLOSURE_RULE, RAN_TO_END
from ..periods import Period, period_containing


@dataclass(frozen=True, slots=True)
class Closure:
    """A closed contract's closure as its schedule applies it under ``rule``."""

    closed_on: date
    #: The schedule runs at least through this period.
    through: Period
    rule: int

    @property
    def stops(self) -> bool:
        """Whether nothing accrues after the closure (the rule of today)."""
        return self.rule != RAN_TO_END

    def after(self, period: Period) -> bool:
        """Whether ``period`` accrues nothing: it starts after the closure."""
        return self.stops and period.start > self.closed_on

    def releases_in(self, periods: list[Period]) -> int:
        """The index of the period of ``periods`` (the schedule's) that retention is
        released in: the last one begun by the closure (the last one, before issue 18)."""
        index = len(periods) - 1
        while self.stops and index > 0 and self.after(periods[index]):
            index -= 1
        return index


def closure_of(state: ContractState, rule: int = CLOSURE_RULE) -> Closure | None:
    """The contract's closure as the schedule applies it under ``rule`` (None: open)."""
    if state.closed is None or state.closed_on is None:
        return None
    terms = state.current_terms
    # Before issue 18 the schedule ran through the (varied) end; now through the closure,
    # or the end of the term for a contract closed after it.
    day = terms.end if rule == RAN_TO_END else min(state.closed_on, terms.end)
    return Closure(state.closed_on, period_containing(day, terms.cadence), rule)
