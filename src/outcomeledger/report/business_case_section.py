"""The report's "Base contract and business cases" section (DESIGN 11): what the base
contract and each business case were budgeted, earned and paid, their outcomes against
their targets and the cost of each outcome, read off the report's own schedule
(:mod:`outcomeledger.domain.payments.cases`)."""

from __future__ import annotations

from dataclasses import replace

from ..domain.payments.cases import parts
from .model import BusinessCaseEntry, CaseOutcome
from .view import View


def business_cases(view: View) -> tuple[BusinessCaseEntry, ...]:
    """Empty for a contract without business cases (its report is as it was)."""
    state = view.state
    if not state.business_cases:
        return ()
    schedule = replace(view.schedule, periods=view.periods)
    cur = view.currency
    out = []
    for part in parts(state, schedule):
        if view.as_at is not None and part.effective > view.as_at:
            continue  # approved, but not yet in force on the report's date
        out.append(BusinessCaseEntry(
            business_case=part.id or None, title=part.title, need=part.need or None,
            effective=part.effective,
            budget=None if part.budget is None else view.money(part.budget),
            earned=view.money(part.earned), above_cap=view.money(part.above_cap),
            payable=view.money(part.payable),
            remaining=None if part.remaining is None else view.money(part.remaining),
            outcomes=tuple(CaseOutcome(o.code, o.name, o.units, o.target,
                                       view.money(o.earned), view.money(o.payable),
                                       o.cost_per_unit(cur)) for o in part.outcomes)))
    return tuple(out)
