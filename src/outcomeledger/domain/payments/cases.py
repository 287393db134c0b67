"""The base contract and each business case side by side (DESIGN 11): what each was
budgeted, earned and paid, its outcomes against their targets and what each outcome cost.

Read from a computed schedule: every outcome line names its business case (or none: the
base contract's), so nothing is computed again. Fees, adjustments, service credits and
retention belong to the contract as a whole and are not shared out between its parts;
``payable`` here is what the outcome lines pay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..contract.business_cases import case_of
from ..contract.state import ContractState
from ..errors import InvalidInput, Problem
from ..money import ZERO, quantize
from ..terms import BusinessCase, Outcome
from .schedule import Schedule

#: The part of a contract that is not a business case.
BASE = ""


@dataclass(frozen=True, slots=True)
class OutcomeResult:
    code: str
    name: str
    units: Decimal  # counted from the latest figures, every period
    target: Decimal | None  # the whole-term target (per-period targets summed); None: none
    earned: Decimal
    payable: Decimal

    def cost_per_unit(self, currency: str) -> Decimal | None:
        """What one unit of this outcome cost (payable / units); None with no units."""
        return quantize(self.payable / self.units, currency) if self.units > 0 else None


@dataclass(frozen=True, slots=True)
class CasePart:
    """The base contract (``id`` empty) or one business case."""

    id: str
    title: str
    need: str
    effective: date
    budget: Decimal | None  # a business case's budget; the base: the contract cap, if any
    earned: Decimal
    above_cap: Decimal
    payable: Decimal
    outcomes: tuple[OutcomeResult, ...]

    @property
    def remaining(self) -> Decimal | None:
        return None if self.budget is None else self.budget - self.payable


@dataclass(frozen=True, slots=True)
class CasePeriod:
    """One period of one business case's outcome payments."""

    period: str
    units: Decimal
    earned: Decimal
    above_cap: Decimal
    payable: Decimal
    cumulative_payable: Decimal
    remaining: Decimal  # of its budget, after the period


def _target(o: Outcome) -> Decimal | None:
    if o.target is None:
        return None
    if isinstance(o.target, dict):
        return sum(o.target.values(), ZERO)
    return o.target


def parts(state: ContractState, schedule: Schedule) -> tuple[CasePart, ...]:
    """The base contract and each business case approved, in approval order."""
    terms = state.current_terms
    by_code: dict[str, list[Decimal]] = {}
    line_case: dict[str, str] = {}  # an outcome paid -> its business case (BASE: none)
    for p in schedule.periods:
        for line in p.lines:
            totals = by_code.setdefault(line.outcome, [ZERO, ZERO, ZERO, ZERO])
            totals[0] += line.units
            totals[1] += line.earned
            totals[2] += line.above_cap
            totals[3] += line.payable
            line_case[line.outcome] = line.business_case
    cases = [record.business_case for record in state.business_cases]
    in_case = case_of(cases)
    outcomes_of: dict[str, list[Outcome]] = {BASE: []}
    for case in cases:
        outcomes_of[case.id] = []
    for o in terms.outcomes:
        if o.kind != "measure":
            outcomes_of[in_case[o.code].id if o.code in in_case else BASE].append(o)
    out = []
    heads = [(BASE, terms.title, "", terms.start, terms.max_value)] + [
        (c.id, c.title, c.need, c.effective, c.budget) for c in cases]
    for case_id, title, need, effective, budget in heads:
        results = []
        for o in outcomes_of[case_id]:
            units, earned, _above, payable = by_code.get(o.code, [ZERO] * 4)
            results.append(OutcomeResult(o.code, o.name, units, _target(o), earned, payable))
        codes = {o.code for o in outcomes_of[case_id]} | {
            code for code, case in line_case.items() if case == case_id}
        sums = [sum((by_code[c][i] for c in codes if c in by_code), ZERO) for i in (1, 2, 3)]
        out.append(CasePart(case_id, title, need, effective, budget, sums[0], sums[1],
                            sums[2], tuple(results)))
    return tuple(out)


def business_case(state: ContractState, case_id: str,
                  source: str = "--business-case") -> BusinessCase:
    """The business case ``case_id`` of the contract; refused, naming the business cases
    there are, when it has none of that id."""
    cases = {record.business_case.id: record.business_case
             for record in state.business_cases}
    case = cases.get(case_id)
    if case is None:
        expected = (f"one of {sorted(cases)}" if cases else
                    f"none: {state.reference} has no business cases")
        raise InvalidInput([Problem(source, None, "business_case", (
            f"no business case {case_id!r} on {state.reference} (got {case_id!r}, "
            f"expected {expected})"))])
    return case


def case_periods(state: ContractState, schedule: Schedule, case_id: str,
                 source: str = "--business-case") -> tuple[CasePeriod, ...]:
    """Each period's payments for business case ``case_id``'s outcomes (refused, naming
    the business cases there are, when the contract has none of that id)."""
    case = business_case(state, case_id, source)
    rows = []
    cumulative = ZERO
    for p in schedule.periods:
        lines = [line for line in p.lines if line.business_case == case_id]
        if not lines:
            continue
        payable = sum((line.payable for line in lines), ZERO)
        cumulative += payable
        rows.append(CasePeriod(
            p.period, sum((line.units for line in lines), ZERO),
            sum((line.earned for line in lines), ZERO),
            sum((line.above_cap for line in lines), ZERO), payable, cumulative,
            case.budget - cumulative))
    return tuple(rows)
