"""Deciding the costs of one period (DESIGN 11, shared risk on cost): ``costs import``'s
command against the contract stream.

The rules are those of returns (DESIGN 4.3, :mod:`.superseding`): a category not yet
reported for the period is added, the same amount again is unchanged, a different one is
refused unless restated with a reason. Costs are taken only by a contract whose terms for
the period share risk on cost (``[risk_share]``), for a period of the term (not the claims
window after it: costs are what the term's work cost), each amount money the supplier
spent: 0 or more, finite, within the currency's minor unit (refused, never rounded).
Pure, like the decider that calls it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from ..commands import Meta, ReportCosts
from ..errors import InvalidInput, Problem
from ..events import Cost, CostsReported
from ..money import MAX_AMOUNT, minor_unit
from ..periods import Period, days_after
from .command_checks import claim_period, received_on
from .state import ContractState
from .superseding import compared


class CostCounts(NamedTuple):
    """What a costs command did, for the import's receipt."""

    added: int
    unchanged: int
    restated: int
    late_days: int  # 0: on time (or nothing new)


def report_costs(state: ContractState, cmd: ReportCosts, meta: Meta
                 ) -> tuple[tuple[CostsReported, ...], CostCounts]:
    """The event recording ``cmd``'s new and restated costs (none when every line is
    recorded already), and its counts; or a refusal naming every line at fault."""
    source = cmd.source.file if cmd.source else "costs"
    first_line = cmd.costs[0].line if cmd.costs else None
    period = claim_period(state, cmd.period, source, first_line)
    terms = state.terms_for(period)
    if period.start > state.current_terms.end:
        raise InvalidInput([Problem(source, first_line, "period", (
            f"after the term ends (got {period.id}, the term ends {state.current_terms.end}; "
            "expected a period of the term: costs are what the term's work cost)"))])
    if terms.risk_share is None:
        raise InvalidInput([Problem(source, first_line, "contract", (
            f"{state.reference} shares no risk on cost in {period.id} (got costs, expected "
            "a contract whose terms have a [risk_share] table)"))])
    if problems := _cost_problems(cmd.costs, terms.currency, source):
        raise InvalidInput(problems)
    pid = period.id

    def recorded(c: Cost) -> Cost | None:
        rec = state.costs.get((pid, c.category))
        return None if rec is None else rec.cost

    def refusal(c: Cost, o: Cost) -> Problem:
        return Problem(source, c.line, "amount", (
            f"{pid} {c.category} was recorded as {o.amount}; a different amount needs "
            f"--restate --reason (got {c.amount})"))

    lines = compared(cmd.costs, recorded, _amount, restate=cmd.restate, reason=cmd.reason,
                     refusal=refusal)
    late_days = _late_days(cmd, meta, period, terms.returns_due_days) if lines.new else 0
    counts = CostCounts(len(lines.new), lines.unchanged, len(lines.changed), late_days)
    if not (lines.new or lines.changed):
        return (), counts
    return (CostsReported(
        contract=state.reference, recorded_at=meta.recorded_at, recorded_by=meta.recorded_by,
        reason=cmd.reason or "costs reported", period=pid, costs=tuple(lines.new),
        restated=tuple(lines.changed), originals=tuple(lines.originals), source=cmd.source,
        late=late_days > 0, received_on=cmd.received_on),), counts


def _amount(c: Cost) -> Decimal:
    return c.amount


def _cost_problems(costs: tuple[Cost, ...], currency: str, source: str) -> list[Problem]:
    """Each line's problems: a category given twice, an amount that is not money spent."""
    problems: list[Problem] = []
    first: dict[str, Cost] = {}
    quantum = minor_unit(currency)
    for c in costs:
        if not c.category.strip():
            problems.append(Problem(source, c.line, "category", "missing (expected a "
                                    "cost category, e.g. staff)"))
        earlier = first.setdefault(c.category, c)
        if earlier is not c:
            problems.append(Problem(source, c.line, "category", (
                f"{c.category} appears twice for one period (got a second row, expected "
                f"one row per category and period, as on line {earlier.line}: add the "
                "amounts up)")))
        amount = c.amount
        if not amount.is_finite() or not 0 <= amount <= MAX_AMOUNT:
            problems.append(Problem(source, c.line, "amount", (
                f"not money spent (got {amount}, expected a finite amount from 0 to "
                f"{MAX_AMOUNT:.0E})")))
        elif amount % quantum:
            problems.append(Problem(source, c.line, "amount", (
                f"finer than the {currency} minor unit (got {amount}, expected a multiple "
                f"of {quantum})")))
    return problems


def _late_days(cmd: ReportCosts, meta: Meta, period: Period, due_days: int) -> int:
    """How many days after the period's return was due the costs were received (0: on
    time): costs are due when the returns are."""
    received = received_on(cmd, meta, period)
    return max((received - days_after(period.end, due_days)).days, 0)
