"""Returns received and missing, the restatement and clawback register, the variation log.

Restatement cash effect (domain.md e4): the payment rules are re-run over the full
history twice, with the figure at its restated value and at its original value,
everything else as recorded. ``payable_through_period_change`` is the difference in
cumulative payable through the restated period (what was netted against the next
payment run); ``cash_effect`` is the difference in total payable to date. A change
in earned with no change in total payable was absorbed by a binding cap.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ..audit.log import diff_terms
from ..domain.contract import counterfactual
from ..domain.contract.records import FigureKey, FigureRecord, VariationRecord
from ..domain.contract.state import ContractState
from ..domain.money import ZERO
from ..domain.payments.history import figure_changes
from ..domain.payments.mechanism import compute
from ..domain.payments.schedule import Schedule
from ..domain.terms import ContractTerms, periodic_returns
from ..domain.variations import apply_variation
from .register_model import (
    Adjustment,
    Register,
    Restatement,
    ReturnRow,
    Returns,
    VariationEntry,
)
from .view import View, units

# -- returns ---------------------------------------------------------------------------


#: Whether the terms in force expect a return every period (the read model
#: ``proj_accountability_returns`` asks the same).
periodic = periodic_returns


def returns(view: View) -> Returns:
    """Expected returns, by the outcomes' reporting basis: every period of the term through
    the last period with activity while the terms in force for it expect periodic returns
    (:func:`periodic`), per provider once any provider has returned on its own, else per
    contract (a contract-level return covers the whole network for its period); and one
    result per improvement outcome in force, whenever it is returned."""
    state = view.state
    terms = state.current_terms
    received = {k: s for k, s in state.returns.items() if view.included(k[0])}
    by_provider = bool(terms.providers) and any(k[1] for k in received)
    expected: list[tuple[str, str]] = []
    for p in view.periods:
        period = view.period(p.period)
        if period.end < terms.start or period.start > terms.end:
            continue
        in_force = state.terms_for(period)
        if not periodic(in_force):
            continue
        network = in_force.providers  # a provider joins from its variation
        if not by_provider or not network or (p.period, "") in received:
            expected.append((p.period, ""))
        else:
            expected += [(p.period, x.id) for x in network]
    results = [o.code for o in view.terms.outcomes if o.kind == "improvement"]
    returned = {key[2] for key in view.figures}
    awaited = tuple(code for code in results if code not in returned)
    keys = list(dict.fromkeys([*expected, *received]))
    keys.sort(key=lambda k: (view.period(k[0]), k[1]))
    rows = []
    for key in keys:
        status = received.get(key)
        if status is None:
            rows.append(ReturnRow(period=key[0], provider=key[1], status="missing", late=False,
                                  validated=False, restatements=0, first_recorded_at=None,
                                  first_recorded_by=None))
            continue
        first = (status.submitted or status.restated)[0]
        rows.append(ReturnRow(
            period=key[0], provider=key[1],
            status="rejected" if status.rejected else "received", late=status.late,
            validated=status.validated is not None, restatements=len(status.restated),
            first_recorded_at=first.recorded_at, first_recorded_by=first.recorded_by))
    return Returns(
        expected_by="provider" if by_provider else "contract",
        expected=len(expected) + len(results), periods_expected=len(expected),
        results_expected=len(results), results_awaited=awaited,
        received=sum(1 for r in rows if r.status != "missing"),
        missing=sum(1 for r in rows if r.status == "missing"),
        late=sum(1 for r in rows if r.late),
        rejected=sum(1 for r in rows if r.status == "rejected"), rows=tuple(rows))


# -- restatements and adjustments ------------------------------------------------------


def _through(view: View, schedule: Schedule, period_id: str) -> tuple[Decimal, Decimal,
                                                                       Decimal]:
    """(earned to date, payable to date, cumulative payable through ``period_id``)."""
    limit = view.period(period_id)
    earned = payable = through = ZERO
    for p in schedule.periods:
        if not view.included(p.period):
            continue
        earned += p.earned
        payable += p.payable
        if view.period(p.period) <= limit:
            through = p.cumulative_payable
    return earned, payable, through


def _note(view: View, period_id: str, at: datetime, earned: Decimal, cash: Decimal) -> str:
    if cash == 0:
        return "no payment effect" if earned == 0 else "absorbed by cap"
    limit = view.period(period_id)
    paid_before = any(c.recorded.recorded_at < at and view.period(c.period) >= limit
                      for c in view.state.certifications)
    if cash < 0:
        return ("recovered: netted against the next payment run" if paid_before
                else "reduces payable")
    return "paid as a true-up in the next payment run" if paid_before else "increases payable"


def _restatements(view: View, key: FigureKey, record: FigureRecord) -> list[Restatement]:
    """One row per change of a figure's value, oldest first."""
    changes = figure_changes(key, record)
    rows = []
    for i, change in enumerate(changes):
        original, restated, by = change.original, change.restated, change.recorded
        with_ = view.restated(key, restated)
        without = view.restated(key, original)
        e1, p1, t1 = _through(view, with_, key[0])
        e0, p0, t0 = _through(view, without, key[0])
        latest = i == len(changes) - 1
        evidence = record.figure.evidence if latest else ""
        if latest and not evidence and record.source is not None:
            evidence = record.source.file
        rows.append(Restatement(
            event=by.ref, period=key[0], provider=key[1], outcome=key[2], participant=key[3],
            original=units(original), restated=units(restated),
            difference=units(restated - original), earned_difference=view.money(e1 - e0),
            payable_through_period_change=view.money(t1 - t0), cash_effect=view.money(p1 - p0),
            cash_effect_note=_note(view, key[0], by.recorded_at, e1 - e0, p1 - p0),
            reason=by.reason, recorded_by=by.recorded_by, recorded_at=by.recorded_at,
            evidence=evidence))
    return rows


def register(view: View) -> Register:
    rows: list[Restatement] = []
    for key, record in view.figures.items():
        if record.history:
            rows += _restatements(view, key, record)
    rows.sort(key=lambda r: (int(r.event[1:]), r.period, r.provider, r.outcome, r.participant))
    adjustments = tuple(
        Adjustment(event=a.recorded.ref, period=a.period, kind=a.kind,
                   amount=view.money(a.amount), reason=a.recorded.reason,
                   recorded_by=a.recorded.recorded_by, recorded_at=a.recorded.recorded_at)
        for a in view.state.adjustments if view.included(a.period))
    return Register(restatements=tuple(rows), adjustments=adjustments)


# -- variations ------------------------------------------------------------------------


def variations(view: View) -> tuple[VariationEntry, ...]:
    """Each variation in recording order, diffed against the terms it varied: those in
    force from its effective date among the variations recorded before it; and what it
    changed in total payable (through the report's periods): the payable as recorded less
    the payable as if it had never been recorded (``payments REF --without EVENT``)."""
    state = view.state
    payable = _payable(view, view.schedule)
    out = []
    for v in sorted(state.variations, key=lambda x: x.recorded.version):
        before, after = terms_varied(state, v)
        without = compute(counterfactual.without_variation(state, v.recorded.version),
                          explain=False)
        out.append(VariationEntry(
            event=v.recorded.ref, effective_from=v.effective_from,
            in_force=view.as_at is None or v.effective_from <= view.as_at,
            recorded_at=v.recorded.recorded_at, recorded_by=v.recorded.recorded_by,
            reason=v.recorded.reason, changes=tuple(diff_terms(before, after)),
            payable_effect=payable - _payable(view, without)))
    return tuple(out)


def _payable(view: View, schedule: Schedule) -> Decimal:
    """Total payable of ``schedule`` through the report's periods (those begun by its
    as-at date)."""
    return view.money(sum((p.payable for p in schedule.periods if view.included(p.period)),
                          ZERO))


def terms_varied(state: ContractState, v: VariationRecord) -> tuple[ContractTerms, ContractTerms]:
    """The terms ``v`` varied (those in force from its effective date among the
    variations recorded before it) and the terms it left."""
    before = state.base_terms
    for earlier in state.ordered_variations:
        if (earlier.recorded.version < v.recorded.version
                and earlier.effective_from <= v.effective_from):
            before = apply_variation(before, earlier.variation)
    return before, apply_variation(before, v.variation)
