"""The steps of the payment arithmetic (DESIGN 5), one function each, as
:mod:`outcomeledger.domain.payments.mechanism` applies them to every period in order:
an outcome's line (step 1, :func:`_units`; step 2, :func:`_earned`; step 3,
:func:`_participant_cap` then :func:`_outcome_caps`), the contract cap over the lines
(:func:`apply_contract_cap`), fees and service credits (step 4) and retention (step 5).

Apart from the loop that carries the totals from period to period so that each step can
be read and checked on its own; improvement outcomes' units are in
:mod:`outcomeledger.domain.payments.improvement`.
"""

from __future__ import annotations

from decimal import Decimal

from ..contract.records import FigureRecord
from ..money import ROUNDING, ZERO, fmt, minor_unit, quantize
from ..periods import Period
from ..terms import ContractTerms, Outcome
from .improvement import improvement_units
from .pricing import capped_delta, describe_price, price_between
from .running import Running
from .schedule import OutcomeLine, Step, amount_text, event_refs

#: A line with no participant-level figures (shared, never written to).
_NO_PARTICIPANTS: dict[str, Decimal] = {}


def _count_units(o: Outcome, p: Period, rows: list[FigureRecord],
                 present: set[tuple[str, str]], run: Running,
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


def outcome_line(o: Outcome, terms: ContractTerms, p: Period,
                 by_outcome: dict[str, list[FigureRecord]],
                 present: set[tuple[str, str]], run: Running,
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
        steps.append(Step("participant_cap", f"not applied to {amount_text(aggregate)} "
                          f"aggregate units (returned without participant ids): the cap of "
                          f"{fmt(terms.participant_cap)} needs participant-level figures"))
    value = _outcome_caps(o, terms.currency, run, before, earned, value, steps)
    return OutcomeLine(o.code, o.name, units, paid, earned, earned - value, value,
                       tuple(steps))


def _units(o: Outcome, terms: ContractTerms, p: Period,
           by_outcome: dict[str, list[FigureRecord]], present: set[tuple[str, str]],
           run: Running, explain: bool
           ) -> tuple[Decimal, Decimal, dict[str, Decimal], list[Step]] | None:
    """Step 1: the units counted (ladder and once-per-participant rules applied) and the
    units paid on (after deadweight and threshold; for an improvement outcome, the gap to
    its baseline), with the units per participant and the steps so far. None: no line."""
    rows = by_outcome.get(o.code)
    per_participant: dict[str, Decimal] = _NO_PARTICIPANTS
    if o.kind == "improvement":
        steps: list[Step] = []
        units = paid = improvement_units(o, terms, p, by_outcome, run, steps)
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
        refs = event_refs(rows)
    steps = [Step("units", f"{amount_text(units)} units counted from {len(rows)} figure(s)",
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


def _earned(o: Outcome, terms: ContractTerms, run: Running, paid: Decimal,
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
        steps.append(Step("earned", f"{amount_text(paid)} units at {describe_price(o)}", earned))
    if terms.negative_periods == "floor" and earned < 0:
        steps.append(Step("floor", "negative period floored at zero (negative_periods = "
                          "floor): nothing carries", -earned))
        earned = ZERO
        # Nothing was charged, so nothing is owed back when the gap recovers.
        run.paid_units[code] = before
    return before, earned


def _participant_cap(terms: ContractTerms, earned: Decimal, units: Decimal,
                     per_participant: dict[str, Decimal], run: Running,
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


def _outcome_caps(o: Outcome, currency: str, run: Running, before: Decimal,
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


def apply_contract_cap(lines: list[OutcomeLine], terms: ContractTerms,
                       run: Running) -> list[OutcomeLine]:
    """Clip outcome lines, in outcome order, to the cumulative contract cap."""
    cap = terms.max_value
    total = run.contract
    for line in lines:
        total = total + line.payable
    if cap is None or (total <= cap and all(line.payable >= 0 for line in lines)):
        # No line can reach the cap (none when there is no cap; a running total that only
        # grows and ends within it never crossed it): every line is allowed whole, and the
        # total carried is the same sum, added in the same order.
        run.contract = total
        return lines
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
                               (*line.steps, step), line.business_case))
    return out


def fees_and_credits(terms: ContractTerms, p: Period,
                     by_outcome: dict[str, list[FigureRecord]]) -> tuple[
                         Decimal, Decimal, list[Step]]:
    """Step 4: the period's fees (fixed per period, or per attachment counted) and KPI
    service credits (negative: a share of the fees per point short of target)."""
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
                                  f"{fmt(fee.amount)}", amount, event_refs(rows)))
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
                              -credit, event_refs(rows)))
    return fees, credits, steps


def retention(terms: ContractTerms, currency: str, gross: Decimal, final: bool,
              run: Running, other: list[Step], *, whole: bool = True) -> Decimal:
    """Step 5: the share of ``gross`` withheld (never releasing more than is held), or, in
    the period a closed contract closed in (``final``), everything held released and
    nothing withheld. ``whole=False``: the rule before issue 18, under which a final period
    with nothing held yet withheld its share like any other (never released)."""
    retained = ZERO
    if final and (run.retained or whole):
        retained = -run.retained
        if retained:
            other.append(Step("retention", "contract closed: retention released",
                              -retained))
    elif terms.retention:
        retained = quantize(terms.retention * gross, currency)
        retained = max(retained, -run.retained)
        if retained:
            other.append(Step("retention", f"{fmt(terms.retention)} of {fmt(gross)} withheld",
                              -retained))
    run.retained += retained
    return retained
