"""What a business case would do to a contract's payments, before it is approved
(``contract business-case --what-if``, DESIGN 11).

The business case's event, as the decider would record it, is folded into the contract's
state (never stored), and both states are computed by the same arithmetic: at actuals (the
figures returned so far) and at targets (:mod:`.forecast`: every outcome delivering exactly
its target, the business case's own outcomes included). The difference is what the business
case adds after its budget and the contract's caps. Pure; nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..contract.state import ContractState, evolve
from ..events import BusinessCaseApproved
from ..money import ZERO
from .forecast import at_targets
from .mechanism import compute
from .schedule import PeriodPayment, Schedule


@dataclass(frozen=True, slots=True)
class WhatIfPeriod:
    period: str
    actual_payable: Decimal  # at actuals, with the business case
    target_payable: Decimal  # at targets, with the business case
    target_without: Decimal  # at targets, without it
    case_earned: Decimal  # the business case's outcomes at targets, before its budget
    case_payable: Decimal  # ... after its budget and the contract's caps
    target_cumulative: Decimal


@dataclass(frozen=True, slots=True)
class WhatIf:
    contract: str
    currency: str
    business_case: str
    budget: Decimal
    periods: tuple[WhatIfPeriod, ...]
    actual_without: Decimal
    actual_with: Decimal
    target_without: Decimal
    target_with: Decimal

    @property
    def case_earned(self) -> Decimal:
        return sum((p.case_earned for p in self.periods), ZERO)

    @property
    def case_payable(self) -> Decimal:
        return sum((p.case_payable for p in self.periods), ZERO)


def _case_lines(p: PeriodPayment | None, case: str) -> tuple[Decimal, Decimal]:
    if p is None:
        return ZERO, ZERO
    lines = [line for line in p.lines if line.business_case == case]
    return (sum((line.earned for line in lines), ZERO),
            sum((line.payable for line in lines), ZERO))


def what_if(state: ContractState, event: BusinessCaseApproved) -> WhatIf:
    """The contract's payments without and with the business case ``event`` records."""
    case = event.business_case
    varied = evolve(state, event, "")
    actual_without = compute(state, explain=False)
    actual_with = compute(varied, explain=False)
    target_without = compute(at_targets(state), explain=False)
    target_with = compute(at_targets(varied), explain=False)
    actual = {p.period: p for p in actual_with.periods}
    without = {p.period: p for p in target_without.periods}
    rows = []
    for p in target_with.periods:
        earned, payable = _case_lines(p, case.id)
        other = without.get(p.period)
        row = WhatIfPeriod(
            p.period, actual[p.period].payable if p.period in actual else ZERO, p.payable,
            other.payable if other is not None else ZERO, earned, payable,
            p.cumulative_payable)
        if row.actual_payable or row.target_payable or row.target_without or earned:
            rows.append(row)
    return WhatIf(state.reference, actual_with.currency, case.id, case.budget, tuple(rows),
                  _total(actual_without), _total(actual_with), _total(target_without),
                  _total(target_with))


def _total(schedule: Schedule) -> Decimal:
    return schedule.total("payable")
