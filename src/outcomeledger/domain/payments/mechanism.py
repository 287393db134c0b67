"""Payment arithmetic (DESIGN 5): terms + the latest figures -> payment lines.

Pure functions. For each period, in order, with the terms in force for that period:

1. units per outcome (once-per-participant and ladder rules, deadweight);
2. earned = price (or cumulative marginal tiers) x units above ``threshold``;
   improvement outcomes earn on the gap to their baseline when the reduction
   clears ``threshold`` (or their pool clears ``pool_threshold``);
3. caps, each cumulative over the contract's life: per participant -> per outcome
   ``cap_units`` -> per outcome ``cap_value`` -> contract ``max_value``;
4. adjustments, fees and KPI service credits of the period;
5. retention (released when the contract closes);
6. payable, and the running cumulative payable.

Every amount is quantized once per payment line (:func:`outcomeledger.domain.money.quantize`).
Caps are cumulative (``min(cumulative, cap)`` differences), so a restatement of an
earlier period is absorbed by a binding cap exactly as domain.md S2 describes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from ..contract.state import ContractState, FigureKey, FigureRecord
from ..events import (
    AnyEvent,
    ContractAgreed,
    ContractClosed,
    ContractVaried,
    PaymentCertified,
    ReturnRejected,
    ReturnRestated,
    ReturnSubmitted,
    ReturnValidated,
    RewardAdjusted,
)
from ..money import ROUNDING, ZERO, fmt, minor_unit, quantize
from ..periods import Period, period_containing
from ..terms import ContractTerms, Outcome
from .pricing import capped_delta, describe_price, price_between, tiered_value
from .schedule import OutcomeLine, PeriodPayment, Schedule, Step, as_at

__all__ = ["Cumulative", "OutcomeLine", "PeriodPayment", "Schedule", "Step", "as_at", "compute",
           "compute_changed", "cumulative_through", "schedule_periods", "tiered_value"]

def schedule_periods(state: ContractState) -> list[Period]:
    """Periods from the contract's first through its last with any activity.

    A closed contract runs through its (varied) end, so fees accrue and retention
    is released in the final period.
    """
    terms = state.base_terms
    ids = {k[0] for k in state.figures} | {a.period for a in state.adjustments} | {
        c.period for c in state.certifications}
    last: Period | None = None
    for pid in ids:
        p = state.period(pid)
        if last is None or p > last:
            last = p
    if state.closed is not None:
        end = period_containing(state.current_terms.end, terms.cadence)
        last = end if last is None or end > last else last
    if last is None:
        return []
    out, p = [], state.first_period
    while p <= last:
        out.append(p)
        p = p.next()
    return out


@dataclass
class _Running:
    """Cumulative totals carried from period to period (the fold's accumulator)."""

    achieved: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    paid_units: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    value: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    participant: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    results: dict[str, tuple[Decimal, Decimal, str]] = field(default_factory=dict)
    pools_triggered: set[str] = field(default_factory=set)
    contract: Decimal = ZERO
    retained: Decimal = ZERO
    payable: Decimal = ZERO

    def copy(self) -> _Running:
        """An independent copy (to carry on from the same period more than once)."""
        achieved: dict[str, dict[str, str]] = defaultdict(dict)
        achieved.update((who, dict(codes)) for who, codes in self.achieved.items())
        return _Running(achieved, defaultdict(Decimal, self.paid_units),
                        defaultdict(Decimal, self.value), defaultdict(Decimal, self.participant),
                        dict(self.results), set(self.pools_triggered), self.contract,
                        self.retained, self.payable)


def _fmt(amount: Decimal) -> str:
    """:func:`outcomeledger.domain.money.fmt`, with the common case (not zero) first."""
    return format(amount, "f") if amount else fmt(amount)


#: A line with no participant-level figures (shared, never written to).
_NO_PARTICIPANTS: dict[str, Decimal] = {}


def _refs(records: Iterable[FigureRecord]) -> tuple[str, ...]:
    """The events behind ``records``, each once, in stream order (``v3``, ``v12``)."""
    return tuple([f"v{v}" for v in sorted({r.recorded.version for r in records})])


def _count_units(o: Outcome, p: Period, rows: list[FigureRecord],
                 present: set[tuple[str, str]], run: _Running,
                 steps: list[Step]) -> tuple[Decimal, dict[str, Decimal]]:
    """Units of a count outcome, with the per-participant rules applied."""
    units = ZERO
    per_participant: dict[str, Decimal] = {}
    once = o.once_per_participant is not False
    for r in rows:
        f = r.figure
        if not f.participant:
            units += f.value
            continue
        if f.value <= 0:
            continue
        first = run.achieved[f.participant].get(o.code)
        if once and first is not None and first != p.id:
            steps.append(Step("excluded", f"participant {f.participant} already achieved "
                              f"{o.code} in {first} (once per participant)", None,
                              (r.recorded.ref,)))
            continue
        missing = [req for req in o.requires
                   if req not in run.achieved[f.participant]
                   and (f.participant, req) not in present]
        if missing:
            steps.append(Step("excluded", f"participant {f.participant} has not achieved "
                              f"prerequisite {', '.join(missing)}", None, (r.recorded.ref,)))
            continue
        units += f.value
        per_participant[f.participant] = per_participant.get(f.participant, ZERO) + f.value
    for participant in per_participant:
        run.achieved[participant].setdefault(o.code, p.id)
    return units, per_participant


def _improvement_units(o: Outcome, terms: ContractTerms, p: Period,
                       by_outcome: dict[str, list[FigureRecord]], run: _Running,
                       steps: list[Step]) -> Decimal:
    """Units (events avoided) newly payable in ``p``: cumulative target minus paid so far."""
    rows = by_outcome.get(o.code, [])
    if rows:
        observed = sum((r.value for r in rows), ZERO)
        if o.cohort_size is not None:
            exposure = o.cohort_size
        else:
            exposure = sum((r.value for r in by_outcome.get(o.exposure or "", [])), ZERO)
        per = o.per or Decimal(1)
        expected = (o.baseline or ZERO) * exposure / per
        if expected > 0:
            gap = expected - observed
            run.results[o.code] = (gap, expected, p.id)
            steps.append(Step("result", f"observed {fmt(observed)} against expected "
                              f"{fmt(expected)} (baseline {fmt(o.baseline or ZERO)} per "
                              f"{fmt(per)} x exposure {fmt(exposure)}): gap {fmt(gap)}, "
                              f"reduction {fmt(round(gap / expected * 100, 4))}%",
                              None, _refs(rows)))
        else:
            steps.append(Step("result", "no exposure reported for the period: no result",
                              None, _refs(rows)))
    result = run.results.get(o.code)
    if result is None:
        return ZERO
    gap, expected, result_period = result
    # Thresholds compare unrounded ratios: 8.387% must never round up to 10%.
    earned_alone = o.threshold is None or gap / expected >= o.threshold
    pooled = o.pool is not None and o.pool in run.pools_triggered
    target = gap if (earned_alone or pooled) else ZERO
    if rows and not earned_alone and not pooled:
        steps.append(Step("threshold", f"reduction below the {fmt(o.threshold or ZERO)} "
                          "threshold: nothing earned" + (f" unless pool {o.pool} clears "
                          f"{fmt(o.pool_threshold or ZERO)}" if o.pool else "")))
    due = target - run.paid_units[o.code]
    if due and pooled and not earned_alone:
        steps.append(Step("pool", f"paid on the pooled result of {o.pool}: this outcome's "
                          f"gap of {fmt(gap)} (result returned for {result_period})"))
    return due


def _evaluate_pools(terms: ContractTerms, run: _Running, steps: list[Step]) -> None:
    pools: dict[str, list[Outcome]] = defaultdict(list)
    for o in terms.outcomes:
        if o.kind == "improvement" and o.pool is not None:
            pools[o.pool].append(o)
    for name, members in pools.items():
        if name in run.pools_triggered or any(m.code not in run.results for m in members):
            continue
        gap = sum((run.results[m.code][0] for m in members), ZERO)
        expected = sum((run.results[m.code][1] for m in members), ZERO)
        threshold = members[0].pool_threshold or ZERO
        reduction = gap / expected
        cleared = reduction >= threshold
        steps.append(Step("pool", f"pool {name} ({', '.join(m.code for m in members)}): "
                          f"pooled reduction {fmt(round(reduction * 100, 4))}% "
                          f"{'clears' if cleared else 'misses'} {fmt(threshold)}"))
        if cleared:
            run.pools_triggered.add(name)


def _outcome_line(o: Outcome, terms: ContractTerms, p: Period,
                  by_outcome: dict[str, list[FigureRecord]],
                  present: set[tuple[str, str]], run: _Running,
                  explain: bool = True) -> OutcomeLine | None:
    """One outcome's line for one period: DESIGN 5 steps 1-3, each a function below, in
    order (the contract cap, the last cap of step 3, clips the lines afterwards)."""
    counted = _units(o, terms, p, by_outcome, present, run, explain)
    if counted is None:
        return None
    units, paid, per_participant, steps = counted
    before, earned = _earned(o, terms, run, paid, steps, explain)
    value = _participant_cap(terms, earned, units, per_participant, run, steps)
    if terms.participant_cap is not None and o.kind != "improvement" and (
            (aggregate := units - sum(per_participant.values(), ZERO)) > 0):
        # The cap is per participant; units returned without participant ids carry none,
        # so it cannot reach them. Said on the line rather than left silent (issue 14).
        steps.append(Step("participant_cap", f"not applied to {_fmt(aggregate)} aggregate "
                          f"units (returned without participant ids): the cap of "
                          f"{fmt(terms.participant_cap)} needs participant-level figures"))
    value = _outcome_caps(o, terms.currency, run, before, earned, value, steps)
    return OutcomeLine(o.code, o.name, units, paid, earned, earned - value, value,
                       tuple(steps))


def _units(o: Outcome, terms: ContractTerms, p: Period,
           by_outcome: dict[str, list[FigureRecord]], present: set[tuple[str, str]],
           run: _Running, explain: bool
           ) -> tuple[Decimal, Decimal, dict[str, Decimal], list[Step]] | None:
    """Step 1: the units counted (ladder and once-per-participant rules applied) and the
    units paid on (after deadweight and threshold; for an improvement outcome, the gap to
    its baseline), with the units per participant and the steps so far. None: no line."""
    rows = by_outcome.get(o.code)
    per_participant: dict[str, Decimal] = _NO_PARTICIPANTS
    if o.kind == "improvement":
        steps: list[Step] = []
        units = paid = _improvement_units(o, terms, p, by_outcome, run, steps)
        if not rows and paid == 0:
            return None
        return units, paid, per_participant, steps
    if not rows:
        return None
    excluded: list[Step] = []
    if len(rows) == 1 and not rows[0].figure.participant:
        # The common line: one aggregate figure (what _count_units would sum).
        units = ZERO + rows[0].figure.value
        refs: tuple[str, ...] = (f"v{rows[0].recorded.version}",)
    else:
        units, per_participant = _count_units(o, p, rows, present, run, excluded)
        refs = _refs(rows)
    steps = [Step("units", f"{_fmt(units)} units counted from {len(rows)} figure(s)",
                  None, refs), *excluded] if explain else excluded
    paid = units
    if o.deadweight:
        paid = paid * (1 - o.deadweight)
        steps.append(Step("deadweight", f"{fmt(o.deadweight)} deducted: {fmt(paid)} units"))
    if o.threshold is not None:
        paid = max(ZERO, paid - o.threshold)
        steps.append(Step("threshold", f"units above threshold {fmt(o.threshold)}: "
                          f"{fmt(paid)}"))
    return units, paid, per_participant, steps


def _earned(o: Outcome, terms: ContractTerms, run: _Running, paid: Decimal,
            steps: list[Step], explain: bool) -> tuple[Decimal, Decimal]:
    """Step 2: what the units paid on earn at the price or marginal tiers, counted on
    from the units the outcome has earned on before (tiers are cumulative over the
    contract's life); a negative period floored at zero when the terms say so. Returns the
    units before this line and the amount earned, quantized once."""
    code = o.code
    before = run.paid_units[code]
    after = before + paid
    run.paid_units[code] = after
    earned = (price_between(o, before, after) if o.tiers is not None else
              (after - before) * (o.price or ZERO)).quantize(minor_unit(terms.currency),
                                                             ROUNDING)
    if explain:
        steps.append(Step("earned", f"{_fmt(paid)} units at {describe_price(o)}", earned))
    if terms.negative_periods == "floor" and earned < 0:
        steps.append(Step("floor", "negative period floored at zero (negative_periods = "
                          "floor): nothing carries", -earned))
        earned = ZERO
        # Nothing was charged, so nothing is owed back when the gap recovers.
        run.paid_units[code] = before
    return before, earned


def _participant_cap(terms: ContractTerms, earned: Decimal, units: Decimal,
                     per_participant: dict[str, Decimal], run: _Running,
                     steps: list[Step]) -> Decimal:
    """Step 3, first cap: each participant's share of the line, cumulative over the
    contract's life, cut at ``participant_cap``. Returns the line's value after it."""
    value = earned
    if terms.participant_cap is None or not per_participant or units <= 0:
        return value
    removed = ZERO
    for participant in sorted(per_participant):
        share = earned * per_participant[participant] / units
        old = run.participant[participant]
        run.participant[participant] = old + share
        cut = share - capped_delta(old, old + share, terms.participant_cap)
        if cut:
            removed += cut
            steps.append(Step("participant_cap", f"participant {participant} reaches the "
                              f"cap of {fmt(terms.participant_cap)}",
                              -quantize(cut, terms.currency)))
    return value - quantize(removed, terms.currency)


def _outcome_caps(o: Outcome, currency: str, run: _Running, before: Decimal,
                  earned: Decimal, value: Decimal, steps: list[Step]) -> Decimal:
    """Step 3, the outcome's caps over the contract's life: ``cap_units`` on units, then
    ``cap_value`` on value. Returns the line's payable before the contract cap."""
    code = o.code
    if o.cap_units is not None and earned:
        after = run.paid_units[code]
        allowed = capped_delta(before, after, o.cap_units)
        start = min(before, o.cap_units)
        within = price_between(o, start, start + allowed)
        # Units beyond the cap are valued at this line's rate after the participant cap,
        # so a unit is never removed twice; with no participant cut this is exact tiers.
        cut = quantize((earned - within) * value / earned, currency)
        if cut:
            steps.append(Step("cap_units", f"outcome cap of {fmt(o.cap_units)} units: "
                              f"{fmt(allowed)} units payable", -cut))
            value -= cut
    if o.cap_value is not None:
        old = run.value[code]
        capped = capped_delta(old, old + value, o.cap_value)
        if capped != value:
            steps.append(Step("cap_value", f"outcome value cap {fmt(o.cap_value)}",
                              capped - value))
        run.value[code] = old + value
        return capped
    run.value[code] += value
    return value


def _apply_contract_cap(lines: list[OutcomeLine], terms: ContractTerms,
                        run: _Running) -> list[OutcomeLine]:
    """Clip outcome lines, in outcome order, to the cumulative contract cap."""
    out = []
    for line in lines:
        old = run.contract
        run.contract = old + line.payable
        allowed = capped_delta(old, run.contract, terms.max_value)
        if allowed == line.payable:
            out.append(line)
            continue
        cut = line.payable - allowed
        step = Step("max_value", f"contract cap {fmt(terms.max_value or ZERO)} reached "
                    f"(cumulative {fmt(min(old, terms.max_value or ZERO))} before this "
                    "line)", -cut)
        out.append(OutcomeLine(line.outcome, line.name, line.units, line.paid_units,
                               line.earned, line.above_cap + cut, allowed,
                               (*line.steps, step)))
    return out


def _fees_and_credits(terms: ContractTerms, p: Period,
                      by_outcome: dict[str, list[FigureRecord]]) -> tuple[
                          Decimal, Decimal, list[Step]]:
    currency = terms.currency
    steps: list[Step] = []
    fees = ZERO
    in_term = p.end >= terms.start and p.start <= terms.end
    for fee in terms.fees:
        if fee.basis == "period":
            if in_term:
                fees += fee.amount
                steps.append(Step("fee", f"{fee.code} {fee.name}: fixed per period",
                                  quantize(fee.amount, currency)))
        else:
            rows = by_outcome.get(fee.outcome or "", [])
            count = sum((r.value for r in rows), ZERO)
            if count:
                amount = quantize(fee.amount * count, currency)
                fees += amount
                steps.append(Step("fee", f"{fee.code} {fee.name}: {fmt(count)} attachments x "
                                  f"{fmt(fee.amount)}", amount, _refs(rows)))
    fees = quantize(fees, currency)
    credits = ZERO
    for kpi in terms.kpis:
        rows = by_outcome.get(kpi.code, [])
        if not rows or fees <= 0:
            continue
        actual = sum((r.value for r in rows), ZERO)
        shortfall = max(ZERO, kpi.target - actual)
        credit = kpi.rate * shortfall * fees
        if kpi.cap is not None:
            credit = min(credit, kpi.cap * fees)
        credit = quantize(credit, currency)
        if credit:
            credits -= credit
            steps.append(Step("service_credit", f"KPI {kpi.code}: {fmt(actual)} against target"
                              f" {fmt(kpi.target)}, {fmt(kpi.rate)} of fees per point",
                              -credit, _refs(rows)))
    return fees, credits, steps


def compute(state: ContractState, *, explain: bool = True) -> Schedule:
    """The payment schedule of a contract, as its events stand.

    ``explain=False`` leaves out each outcome line's ``units`` and ``earned`` steps,
    whose words are most of the cost (every amount, and every other step, is the same):
    for readers of amounts only, never for ``payments explain`` or the projections.
    """
    plan = _Plan(state, explain=explain)
    run = _Running()
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
    plan = _Plan(state, explain=explain)
    index_of = {p.id: i for i, p in enumerate(plan.periods)}
    starts = sorted({index_of[key[0]] for key, _value in changes})
    snapshots: dict[int, tuple[_Running, int]] = {}
    run = _Running()
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


class _Plan:
    """What a schedule is computed from, derived from the contract state once."""

    def __init__(self, state: ContractState, *, explain: bool = True,
                 periods: list[Period] | None = None) -> None:
        self.state = state
        self.explain = explain
        self.currency = currency = state.base_terms.currency
        by_period: dict[str, list[FigureRecord]] = defaultdict(list)
        # Given ``periods``, the caller brings its own figures (see ``Cumulative``).
        for key in sorted(state.figures) if periods is None else ():
            status = state.returns.get((key[0], key[1]))
            if status is not None and status.rejected is not None:
                continue
            by_period[key[0]].append(state.figures[key])
        self.by_period = by_period
        self.adjustments: dict[str, list[Step]] = defaultdict(list)
        for adj in state.adjustments:
            self.adjustments[adj.period].append(Step(
                "adjustment", f"{adj.kind}: {adj.recorded.reason}",
                quantize(adj.amount, currency), (adj.recorded.ref,)))
        self.certified: dict[str, tuple[Decimal, Decimal]] = {}
        for c in state.certifications:
            amount, true_up = self.certified.get(c.period, (ZERO, ZERO))
            self.certified[c.period] = (amount + c.amount, true_up + c.true_up)
        self.periods = schedule_periods(state) if periods is None else periods
        # The terms in force change only with a variation: what each set of terms prices
        # and measures is worked out once, not once per period.
        self.outcomes_of: dict[int, tuple[list[Outcome], list[Outcome]]] = {}
        self.labels: dict[int, str] = {}

    def schedule(self, out: list[PeriodPayment]) -> Schedule:
        state = self.state
        return Schedule(state.reference, self.currency, state.current_terms.max_value,
                        tuple(out), state.certified_total)

    def periods_from(self, start: int, by_period: dict[str, list[FigureRecord]],
                     run: _Running, out: list[PeriodPayment], stop: int | None = None) -> None:
        """Append the payments of periods ``start`` to ``stop`` (excluded; default: to the
        end) to ``out``, carrying ``run`` from period to period: DESIGN 5, in its order."""
        state, periods = self.state, self.periods
        adjustments, certified = self.adjustments, self.certified
        for index in range(start, len(periods) if stop is None else stop):
            p = periods[index]
            terms = state.terms_for(p)
            by_outcome, present = _grouped(by_period.get(p.id, []))
            # Steps 1-3: each outcome's line, then the contract cap over them.
            lines, pool_steps = self._lines(terms, p, by_outcome, present, run)
            # Step 4: the period's adjustments, service credits and fees.
            fees, credits, other = _fees_and_credits(terms, p, by_outcome)
            other = pool_steps + other + adjustments.get(p.id, [])
            adjusted = sum((s.amount or ZERO for s in adjustments.get(p.id, [])),
                           ZERO) + credits
            gross = sum((line.payable for line in lines), ZERO) + adjusted + fees
            # Step 5: retention (released whole in the last period of a closed contract).
            final = state.closed is not None and index == len(periods) - 1
            retained = _retention(terms, self.currency, gross, final, run, other)
            # Step 6: payable, and the running total it adds to.
            payable = gross - retained
            run.payable += payable
            cert, true_up = certified.get(p.id, (ZERO, ZERO))
            label = self.labels.get(id(terms))
            if label is None:
                label = self.labels[id(terms)] = _terms_label(state, p)
            out.append(PeriodPayment(
                period=p.id,
                earned=sum((line.earned for line in lines), ZERO),
                above_cap=sum((line.above_cap for line in lines), ZERO),
                adjustments=adjusted, fees=fees, retained=retained, payable=payable,
                cumulative_payable=run.payable, certified=cert, true_up=true_up,
                terms_in_force=label, lines=tuple(lines), other=tuple(other)))

    def _lines(self, terms: ContractTerms, p: Period,
               by_outcome: dict[str, list[FigureRecord]], present: set[tuple[str, str]],
               run: _Running) -> tuple[list[OutcomeLine], list[Step]]:
        """Steps 1-3 for every priced outcome of the period, then the contract cap; and
        the steps of any pooled improvement test evaluated on the way."""
        priced = self.outcomes_of.get(id(terms))
        if priced is None:
            priced = self.outcomes_of[id(terms)] = (
                [o for o in terms.outcomes if o.kind == "improvement"],
                [o for o in terms.outcomes if o.kind != "measure"])
        improvements, priced_outcomes = priced
        pool_steps: list[Step] = []
        for o in improvements:
            if by_outcome.get(o.code):
                _improvement_units(o, terms, p, by_outcome, run, [])
        if improvements:
            _evaluate_pools(terms, run, pool_steps)
        lines = []
        for o in priced_outcomes:
            line = _outcome_line(o, terms, p, by_outcome, present, run, self.explain)
            if line is not None:
                lines.append(line)
        return _apply_contract_cap(lines, terms, run), pool_steps


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


def _retention(terms: ContractTerms, currency: str, gross: Decimal, final: bool,
               run: _Running, other: list[Step]) -> Decimal:
    """Step 5: the share of ``gross`` withheld (never releasing more than is held), or, in
    the last period of a closed contract, everything held released (negative)."""
    retained = ZERO
    if final and run.retained:
        retained = -run.retained
        other.append(Step("retention", "contract closed: retention released", -retained))
    elif terms.retention:
        retained = quantize(terms.retention * gross, currency)
        retained = max(retained, -run.retained)
        if retained:
            other.append(Step("retention", f"{fmt(terms.retention)} of {fmt(gross)} withheld",
                              -retained))
    run.retained += retained
    return retained


def _terms_label(state: ContractState, p: Period) -> str:
    label = f"agreed ({state.agreed_by.ref if state.agreed_by else 'v1'})"
    for v in state.ordered_variations:
        if v.effective_from <= p.start:
            label = f"varied {v.recorded.ref}, effective {v.effective_from}"
    return label


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
        self._after: list[_Running] = []  # the totals after each period computed
        self._payable: list[Decimal] = []  # cumulative payable after each period computed
        self._valid = 0  # leading periods whose totals still hold
        #: Every question answered by ``compute``: a closed contract (its final period
        #: releases retention), or ``whole`` (a history this cannot follow).
        self._whole = whole

    def follow(self, state: ContractState, event: AnyEvent) -> None:
        """``event`` was folded into ``state`` (the state after it)."""
        match event:  # (the commonest first)
            case ReturnSubmitted() | ReturnRestated():
                self._keys[event.period].update(
                    (event.period, event.provider, f.outcome, f.participant)
                    for f in event.figures)
                self._touch(state, event.period)
            case ReturnValidated():
                pass
            case ReturnRejected() | RewardAdjusted():
                self._touch(state, event.period)
            case PaymentCertified():  # the schedule runs through it; no amount changes
                self._touch(state, event.period, changed=False)
            case ContractVaried():
                effective = period_containing(event.effective_from,
                                              state.base_terms.cadence)
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
            plan = _Plan(state, explain=False, periods=periods)
            del self._after[start:], self._payable[start:]
            run = self._after[start - 1].copy() if start else _Running()
            for index in range(start, upto + 1):
                pid = periods[index].id
                plan.periods_from(index, {pid: self._figures(state, pid)}, run, [],
                                  stop=index + 1)
                self._after.append(run.copy())
                self._payable.append(run.payable)
            self._valid = upto + 1
        return self._payable[upto]
