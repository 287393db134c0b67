"""Forecast at targets: what a contract's own arithmetic pays over its whole term if every
outcome delivers exactly its target (DESIGN 10, the programme report).

Nothing is estimated here: the forecast is the payment schedule of the contract as it
stands plus the figures its targets promise, computed by the same :class:`.mechanism.Plan`,
so every price band, threshold, cap, fee and retention applies as it would to real
returns. What is already returned stays as returned; for each outcome with a target:

* a target per period (``target = { FY2025-Q1 = 10, ... }``): that many units in each
  period of the table that has no figure for the outcome yet;
* a target for the whole term (``target = 300``): the units still short of it, added in
  the term's last period.

An outcome without a target adds nothing (the forecast does not guess), and a closed
contract's forecast is what it pays.

The periods before the first promised figure are the same in both schedules: they are
computed once (:func:`with_forecast`), so the forecast costs the read models that keep it
little more than the schedule they compute anyway.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from ..contract.records import FigureKey, FigureRecord, Recorded, ReturnStatus
from ..contract.state import ContractState, evolve
from ..events import Figure, ReturnSubmitted
from ..money import ZERO
from ..periods import Period, period_containing
from .mechanism import Plan
from .running import Running
from .schedule import PeriodPayment, Schedule

#: Who "recorded" the figures a forecast adds (they never reach a ledger).
FORECAST = "forecast at targets"
#: The forecast's figures are returned by no provider of the network.
_PROVIDER = ""


def promised(state: ContractState) -> dict[str, list[Figure]]:
    """The figures the targets promise beyond what is returned, by period (see above)."""
    if not state.exists or state.closed is not None:
        return {}
    terms = state.current_terms
    if all(o.target is None for o in terms.outcomes):
        return {}  # nothing promised: the figures need not be read
    last = period_containing(terms.end, terms.cadence)
    returned: set[tuple[str, str]] = set()
    achieved: dict[str, Decimal] = defaultdict(Decimal)
    for (period, _provider, outcome, _participant), record in state.figures.items():
        returned.add((period, outcome))
        achieved[outcome] += record.value
    out: dict[str, list[Figure]] = defaultdict(list)
    for o in terms.outcomes:
        if isinstance(o.target, dict):
            for period, units in sorted(o.target.items()):
                if (period, o.code) not in returned and units > 0:
                    out[period].append(Figure(o.code, units))
        elif o.target is not None and o.target > achieved[o.code]:
            # Added to what the last period already holds: a figure of the same key is
            # replaced by a new return, not added to.
            held = state.figures.get((last.id, _PROVIDER, o.code, ""))
            units = o.target - achieved[o.code] + (held.value if held is not None else 0)
            out[last.id].append(Figure(o.code, units))
    return dict(out)


def at_targets(state: ContractState, figures: dict[str, list[Figure]] | None = None
               ) -> ContractState:
    """The contract with the figures its targets promise added (see the module)."""
    for period, added in sorted((promised(state) if figures is None else figures).items()):
        agreed = state.agreed_by
        assert agreed is not None
        state = evolve(state, ReturnSubmitted(
            contract=state.reference, recorded_at=agreed.recorded_at, recorded_by=FORECAST,
            reason=FORECAST, period=period, provider=_PROVIDER, figures=tuple(added)), "")
    return state


def with_forecast(state: ContractState, *, explain: bool = True
                  ) -> tuple[Schedule, Decimal]:
    """``compute(state)`` (the same schedule), and the total payable at targets."""
    plan = Plan(state, explain=explain)
    run = Running()
    out: list[PeriodPayment] = []
    figures = promised(state)
    if not figures:
        plan.periods_from(0, plan.by_period, run, out)
        schedule = plan.schedule(out)
        return schedule, schedule.total("payable")
    periods, by_period = _promised_plan(state, plan, figures)
    forecast = Plan(state, explain=False, periods=periods)
    index_of = {p.id: i for i, p in enumerate(periods)}
    first = min(*(index_of[period] for period in figures), len(plan.periods))
    plan.periods_from(0, plan.by_period, run, out, stop=first)
    carried = run.copy()
    plan.periods_from(first, plan.by_period, run, out)
    rest: list[PeriodPayment] = []
    forecast.periods_from(first, by_period, carried, rest)
    total = sum((p.payable for p in out[:first]), ZERO) + sum((p.payable for p in rest), ZERO)
    return plan.schedule(out), total


def _promised_plan(state: ContractState, plan: Plan, figures: dict[str, list[Figure]]
                   ) -> tuple[list[Period], dict[str, list[FigureRecord]]]:
    """The periods and each period's figures of ``at_targets(state, figures)``, as a
    :class:`.mechanism.Plan` of it would hold them, made from ``plan`` (of ``state``):
    the promised periods' figures merged in key order, the others shared. Folding the
    promised returns into a new state and sorting every figure again cost a projection
    write of a long contract more than the forecast's own arithmetic (tests hold the two
    equal: tests/domain/test_forecast.py)."""
    agreed = state.agreed_by
    assert agreed is not None
    keyed: dict[str, dict[FigureKey, FigureRecord]] = {pid: {} for pid in figures}
    returns = state.returns
    for key, record in state.figures.items():
        rows = keyed.get(key[0])
        if rows is not None and not _rejected(returns.get((key[0], key[1]))):
            rows[key] = record
    by_period = dict(plan.by_period)
    for n, (pid, added) in enumerate(sorted(figures.items()), 1):
        rows = keyed[pid]
        # The promised return is one more return of the period: refused with it if the
        # period's return without a provider was rejected, as a fold would leave it.
        if not _rejected(returns.get((pid, _PROVIDER))):
            recorded = Recorded(state.version + n, agreed.recorded_at, FORECAST, FORECAST)
            for f in added:
                rows[(pid, _PROVIDER, f.outcome, f.participant)] = FigureRecord(
                    f, recorded, None)
        by_period[pid] = [rows[key] for key in sorted(rows)]
    periods = list(plan.periods)
    last = max(state.period(pid) for pid in figures)
    p = periods[-1].next() if periods else state.first_period
    while p <= last:
        periods.append(p)
        p = p.next()
    return periods, by_period


def _rejected(status: ReturnStatus | None) -> bool:
    return status is not None and status.rejected is not None


def forecast_payable(state: ContractState) -> Decimal:
    """Total payable over the term at targets (see the module)."""
    return with_forecast(state, explain=False)[1] if state.exists else ZERO
