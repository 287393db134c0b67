"""Payment arithmetic (DESIGN 5): terms + the latest figures -> payment lines.

Pure functions. For each period, in order, with the terms in force for that period:

1. units per outcome (once-per-participant and ladder rules, deadweight);
2. earned = price (or cumulative marginal tiers) x units above ``threshold``;
   improvement outcomes earn on the gap to their baseline when the reduction
   clears ``threshold`` (or their pool clears ``pool_threshold``);
3. caps, each cumulative over the contract's life: per participant -> per outcome
   ``cap_units`` -> per outcome ``cap_value`` -> a business case's ``budget`` (its own
   outcomes, :mod:`outcomeledger.domain.payments.budgets`) -> contract ``max_value``;
4. adjustments, fees and KPI service credits of the period;
5. retention (released in the period a contract closes; nothing accrues after it:
   :mod:`outcomeledger.domain.payments.closure`);
6. payable, and the running cumulative payable.

Every amount is quantized once per payment line (:func:`outcomeledger.domain.money.quantize`).
Caps are cumulative (``min(cumulative, cap)`` differences), so a restatement of an
earlier period is absorbed by a binding cap exactly as domain.md S2 describes.

Each step is a function of :mod:`outcomeledger.domain.payments.steps` (improvement
outcomes': :mod:`outcomeledger.domain.payments.improvement`); this module runs them period
by period (:class:`Plan`), carrying the totals of
:class:`~outcomeledger.domain.payments.running.Running` from each period to the next.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from functools import cached_property

import msgspec

from ..contract.business_cases import case_of
from ..contract.records import AdjustmentRecord, CostRecord, FigureKey, FigureRecord
from ..contract.state import ContractState
from ..events import CLOSURE_RULE
from ..money import ZERO, quantize
from ..periods import Period
from ..terms import ContractTerms, Outcome
from .budgets import apply_budgets
from .closure import Closure, closure_of
from .improvement import evaluate_pools, improvement_units
from .plain import is_plain, plain_line
from .risk_share import risk_share_step
from .running import Running
from .schedule import OutcomeLine, PeriodPayment, Schedule, Step, event_refs
from .steps import (
    apply_contract_cap,
    fees_and_credits,
    outcome_line,
    retention,
)


def schedule_periods(state: ContractState, closure: Closure | None = None) -> list[Period]:
    """Periods from the contract's first through its last with any activity.

    A closed contract's schedule runs at least through the period it closed in (or the
    last of its term, closed after it), where retention is released (:mod:`.closure`).
    """
    ids = {k[0] for k in state.figures} | {a.period for a in state.adjustments} | {
        c.period for c in state.certifications} | {k[0] for k in state.costs}
    last: Period | None = None
    for pid in ids:
        p = state.period(pid)
        if last is None or p > last:
            last = p
    if closure is not None:
        last = closure.through if last is None or closure.through > last else last
    if last is None:
        return []
    out, p = [], state.first_period
    while p <= last:
        out.append(p)
        p = p.next()
    return out


def compute(state: ContractState, *, explain: bool = True,
            closure_rule: int = CLOSURE_RULE) -> Schedule:
    """The payment schedule of a contract, as its events stand.

    ``explain=False`` leaves out each outcome line's ``units`` and ``earned`` steps,
    whose words are most of the cost (every amount, and every other step, is the same):
    for readers of amounts only, never for ``payments explain`` or the projections.
    ``closure_rule``: what a closure does to the schedule (:mod:`.closure`); an earlier
    rule only to decide again a payment run recorded under it.
    """
    plan = Plan(state, explain=explain, closure_rule=closure_rule)
    run = Running()
    out: list[PeriodPayment] = []
    plan.periods_from(0, plan.by_period, run, out)
    return plan.schedule(out)


def compute_changed(state: ContractState, changes: Sequence[tuple[FigureKey, Decimal]], *,
                    explain: bool = True) -> tuple[Schedule, list[Schedule]]:
    """``compute(state)``, and for each (figure key, value) of ``changes``, ``compute`` of
    ``state`` with that one figure at that value (what the schedule would have been).

    Nothing a figure holds reaches the periods before its own, so the unchanged state is
    computed once and each change carries on from its figure's period. ``explain=False``
    is as for :func:`compute`.
    """
    plan = Plan(state, explain=explain)
    index_of = {p.id: i for i, p in enumerate(plan.periods)}
    starts = sorted({index_of[key[0]] for key, _value in changes})
    snapshots: dict[int, tuple[Running, int]] = {}
    run = Running()
    out: list[PeriodPayment] = []
    done = 0
    for at in starts:
        plan.periods_from(done, plan.by_period, run, out, stop=at)
        snapshots[at] = (run.copy(), len(out))
        done = at
    plan.periods_from(done, plan.by_period, run, out)
    unchanged = plan.schedule(out)
    schedules = []
    for key, value in changes:
        at = index_of[key[0]]
        carried, count = snapshots[at]
        record = state.figures[key]
        changed = msgspec.structs.replace(
            record, figure=msgspec.structs.replace(record.figure, value=value))
        by_period = dict(plan.by_period)
        if key[0] in by_period:
            by_period[key[0]] = [changed if r is record else r for r in by_period[key[0]]]
        resumed = out[:count]
        plan.periods_from(at, by_period, carried.copy(), resumed)
        schedules.append(plan.schedule(resumed))
    return unchanged, schedules


#: What a set of terms prices, by ``id`` of the terms: the terms themselves (held, so that
#: no other object takes their ``id`` while the entry lives), their improvement outcomes,
#: and each outcome priced with whether its line is plain (:func:`.plain.is_plain`).
Priced = tuple[ContractTerms, list[Outcome], list[tuple[Outcome, bool]]]


class Plan:
    """What a schedule is computed from, derived from the contract state once."""

    def __init__(self, state: ContractState, *, explain: bool = True,
                 periods: list[Period] | None = None,
                 closure_rule: int = CLOSURE_RULE,
                 priced: dict[int, Priced] | None = None) -> None:
        self.state = state
        self.closure = closure_of(state, closure_rule)
        self.explain = explain
        self.currency = state.base_terms.currency
        by_period: dict[str, list[FigureRecord]] = defaultdict(list)
        # Given ``periods``, the caller brings its own figures (see ``cumulative.Cumulative``).
        for key in sorted(state.figures) if periods is None else ():
            status = state.returns.get((key[0], key[1]))
            if status is not None and status.rejected is not None:
                continue
            by_period[key[0]].append(state.figures[key])
        self.by_period = by_period
        # Each period's adjustments, as steps when a period is computed (a payment run
        # re-decided by ``audit verify`` computes one period of a long history).
        self._adjusted: dict[str, list[AdjustmentRecord]] = defaultdict(list)
        for adj in state.adjustments:
            self._adjusted[adj.period].append(adj)
        self._adjustment_steps: dict[str, list[Step]] = {}
        # Each period's costs (shared risk on cost, DESIGN 11), in category order.
        self.costs: dict[str, list[CostRecord]] = defaultdict(list)
        for period_id, category in sorted(state.costs):
            self.costs[period_id].append(state.costs[(period_id, category)])
        self.periods = schedule_periods(state, self.closure) if periods is None else periods
        # The terms in force change only with a variation: what each set of terms prices
        # and measures is worked out once, not once per period (nor, given ``priced`` by
        # a caller computing one period at a time, once per plan).
        self.priced: dict[int, Priced] = {} if priced is None else priced
        self.labels: dict[int, str] = {}
        # Business cases' outcomes, capped first by their budgets (DESIGN 11).
        self.cases = case_of(record.business_case for record in state.business_cases)

    @cached_property
    def certified(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Each period's certified amount and true-up (for the schedule's rows only)."""
        certified: dict[str, tuple[Decimal, Decimal]] = {}
        for c in self.state.certifications:
            amount, true_up = certified.get(c.period, (ZERO, ZERO))
            certified[c.period] = (amount + c.amount, true_up + c.true_up)
        return certified

    def adjustments(self, period_id: str) -> list[Step]:
        """The period's adjustments as steps, in the order they were recorded."""
        steps = self._adjustment_steps.get(period_id)
        if steps is None:
            steps = self._adjustment_steps[period_id] = [
                Step("adjustment", f"{adj.kind}: {adj.recorded.reason}",
                     quantize(adj.amount, self.currency), (adj.recorded.ref,))
                for adj in self._adjusted.get(period_id, ())]
        return steps

    def schedule(self, out: list[PeriodPayment]) -> Schedule:
        state = self.state
        return Schedule(state.reference, self.currency, state.current_terms.max_value,
                        tuple(out), state.certified_total)

    def periods_from(self, start: int, by_period: dict[str, list[FigureRecord]],
                     run: Running, out: list[PeriodPayment] | None,
                     stop: int | None = None) -> None:
        """Append the payments of periods ``start`` to ``stop`` (excluded; default: to the
        end) to ``out``, carrying ``run`` from period to period: DESIGN 5, in its order.
        With ``out`` None only ``run`` is carried (what a cumulative payable needs)."""
        state, periods, closure = self.state, self.periods, self.closure
        release = -1 if closure is None else closure.releases_in(periods)
        for index in range(start, len(periods) if stop is None else stop):
            p = periods[index]
            terms = state.terms_for(p)
            if closure is not None and closure.after(p):
                self._closed_period(p, terms, by_period.get(p.id, []), run, out)
                continue
            by_outcome, present = _grouped(by_period.get(p.id, []))
            # Steps 1-3: each outcome's line, then the contract cap over them.
            lines, pool_steps = self._lines(terms, p, by_outcome, present, run)
            # Step 4: the period's adjustments, service credits and fees.
            fees, credits, other = fees_and_credits(terms, p, by_outcome)
            adjustments = self.adjustments(p.id)
            other = pool_steps + other + adjustments
            adjusted = sum((s.amount or ZERO for s in adjustments), ZERO) + credits
            # Step 4 too, after the fees: the period's share of risk on cost (.risk_share).
            if shared := risk_share_step(terms, p, self.costs.get(p.id, ()), run):
                other.append(shared)
                adjusted += shared.amount or ZERO
            gross = sum((line.payable for line in lines), ZERO) + adjusted + fees
            # Step 5: retention, released whole in the period a closed contract closed in.
            retained = retention(terms, self.currency, gross, index == release, run, other,
                                 whole=closure is None or closure.stops)
            # Step 6: payable, and the running total it adds to.
            payable = gross - retained
            run.payable += payable
            if out is not None:
                out.append(self._payment(p, terms, lines, other, adjusted, fees, retained,
                                         payable, run.payable))

    def _closed_period(self, p: Period, terms: ContractTerms, rows: list[FigureRecord],
                       run: Running, out: list[PeriodPayment] | None) -> None:
        """A period after a closed contract's closing period: no fee, no outcome payment
        for its figures and no share of risk on its costs (each said, with the events, when
        there are any), nothing withheld; only the adjustments recorded for it."""
        adjustments = self.adjustments(p.id)
        other: list[Step] = []
        unpaid: tuple[tuple[Sequence[FigureRecord | CostRecord], str], ...] = (
            (rows, "figures of a period begun after it are not paid"),
            (self.costs.get(p.id, []), "costs of a period begun after it share no risk"))
        for records, what in unpaid:
            if records:
                assert self.closure is not None
                other.append(Step("closed", f"contract closed on {self.closure.closed_on}: "
                                  f"{what}", None, event_refs(records)))
        adjusted = sum((s.amount or ZERO for s in adjustments), ZERO)
        run.payable += adjusted
        if out is not None:
            out.append(self._payment(p, terms, [], other + adjustments, adjusted, ZERO,
                                     ZERO, adjusted, run.payable))

    def _payment(self, p: Period, terms: ContractTerms, lines: list[OutcomeLine],
                 other: list[Step], adjusted: Decimal, fees: Decimal, retained: Decimal,
                 payable: Decimal, cumulative: Decimal) -> PeriodPayment:
        """The period's row of the schedule, from the amounts its steps computed."""
        cert, true_up = self.certified.get(p.id, (ZERO, ZERO))
        label = self.labels.get(id(terms))
        if label is None:
            label = self.labels[id(terms)] = terms_label(self.state, p)
        return PeriodPayment(
            period=p.id,
            earned=sum((line.earned for line in lines), ZERO),
            above_cap=sum((line.above_cap for line in lines), ZERO),
            adjustments=adjusted, fees=fees, retained=retained, payable=payable,
            cumulative_payable=cumulative, certified=cert, true_up=true_up,
            terms_in_force=label, lines=tuple(lines), other=tuple(other))

    def _lines(self, terms: ContractTerms, p: Period,
               by_outcome: dict[str, list[FigureRecord]], present: set[tuple[str, str]],
               run: Running) -> tuple[list[OutcomeLine], list[Step]]:
        """Steps 1-3 for every priced outcome of the period, then the contract cap; and
        the steps of any pooled improvement test evaluated on the way."""
        priced = self.priced.get(id(terms))
        if priced is None:
            priced = self.priced[id(terms)] = (
                terms, [o for o in terms.outcomes if o.kind == "improvement"],
                [(o, is_plain(o, terms)) for o in terms.outcomes if o.kind != "measure"])
        _, improvements, priced_outcomes = priced
        pool_steps: list[Step] = []
        for o in improvements:
            if by_outcome.get(o.code):
                improvement_units(o, terms, p, by_outcome, run, [])
        if improvements:
            evaluate_pools(terms, run, pool_steps)
        lines = []
        explain = self.explain
        for o, plain in priced_outcomes:
            line = None
            if plain and not explain:
                # The fast path of a plain outcome's single aggregate figure (plain.plain_line).
                rows = by_outcome.get(o.code)
                if not rows:
                    continue
                if len(rows) == 1 and not rows[0].figure.participant:
                    line = plain_line(o, terms, rows[0], run)
            if line is None:
                line = outcome_line(o, terms, p, by_outcome, present, run, explain)
            if line is not None:
                lines.append(line)
        if self.cases:
            lines = apply_budgets(lines, self.cases, run)
        return apply_contract_cap(lines, terms, run), pool_steps


def _grouped(rows: list[FigureRecord]) -> tuple[dict[str, list[FigureRecord]],
                                                set[tuple[str, str]]]:
    """A period's figures by outcome, and the (participant, outcome) pairs achieved."""
    by_outcome: dict[str, list[FigureRecord]] = defaultdict(list)
    present: set[tuple[str, str]] = set()
    for r in rows:
        by_outcome[r.figure.outcome].append(r)
        if r.figure.participant and r.value > 0:
            present.add((r.figure.participant, r.figure.outcome))
    return by_outcome, present


def terms_label(state: ContractState, p: Period) -> str:
    label = f"agreed ({state.agreed_by.ref if state.agreed_by else 'v1'})"
    for v in state.ordered_variations:
        if v.effective_from <= p.start:
            label = f"varied {v.recorded.ref}, effective {v.effective_from}"
    return label
