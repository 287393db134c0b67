"""Payments against caps: earned, payable, certified, above cap and headroom per cap.

Everything here reads the payment schedule that
:func:`outcomeledger.domain.payments.mechanism.compute` produced; nothing re-prices an
outcome. The one exception is a participant's usage of ``participant_cap``, which the
schedule keeps internal: it is re-derived from the lines
with the same share rule (see :func:`participant_usage`).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from ..domain.money import ZERO, fmt_thousands
from ..domain.payments.schedule import OutcomeLine
from .model import CapUse, OutcomeMoney, PayerStatement, Payments, PeriodMoney
from .view import View, units

_MONEY_FIELDS = ("earned", "above_cap", "adjustments", "fees", "retained", "payable",
                 "cumulative_payable", "certified", "true_up")


def _total(view: View, name: str) -> Decimal:
    return view.money(sum((getattr(p, name) for p in view.periods), ZERO))


def _before_contract_cap(line: OutcomeLine) -> Decimal:
    """The line's value after its own caps, before the contract cap clipped it."""
    return line.payable - sum((s.amount or ZERO for s in line.steps
                               if s.label == "max_value"), ZERO)


def participant_usage(view: View) -> dict[str, Decimal]:
    """Each participant's cumulative value counted against ``participant_cap``.

    Mirrors the mechanism, which keeps this running total to itself: the participant
    cap comes first, so a line's earned amount is shared pro rata to the units each
    participant contributed; once-per-participant and ladder rules decide which
    figures count, as in ``steps._count_units``. A test ties the result to the
    mechanism's own ``participant_cap`` cuts, so the two cannot drift apart silently.
    """
    usage: dict[str, Decimal] = defaultdict(Decimal)
    achieved: dict[str, set[str]] = defaultdict(set)
    for p in view.periods:
        rows = [(k, r) for k, r in view.figures.items() if k[0] == p.period and k[3]]
        present = {(k[3], k[2]) for k, r in rows if r.value > 0}
        terms = view.state.terms_for(view.period(p.period))
        lines = {line.outcome: line for line in p.lines}
        for o in terms.outcomes:
            if o.kind != "count":
                continue  # only count outcomes have per-participant rules
            counted: dict[str, Decimal] = defaultdict(Decimal)
            for k, r in rows:
                who = k[3]
                if k[2] != o.code or r.value <= 0:
                    continue
                # achieved is updated after each (period, outcome), so a code found
                # here was first achieved in an earlier period.
                if o.once_per_participant is not False and o.code in achieved[who]:
                    continue
                if any(req not in achieved[who] and (who, req) not in present
                       for req in o.requires):
                    continue
                counted[who] += r.value
            for who in counted:
                achieved[who].add(o.code)
            line = lines.get(o.code)
            if line is None or line.units <= 0:
                continue
            for who, count in counted.items():
                usage[who] += line.earned * count / line.units
    return dict(usage)


def _outcome_caps(view: View, lines: dict[str, list[OutcomeLine]]) -> list[CapUse]:
    caps = []
    cur = view.currency
    for o in view.terms.outcomes:
        mine = lines.get(o.code, [])
        if o.cap_units is not None:
            paid = sum((line.paid_units for line in mine), ZERO)
            used = min(paid, o.cap_units)
            caps.append(CapUse(
                kind="outcome_units", subject=o.code, measure="units", limit=o.cap_units,
                used=units(used), headroom=units(o.cap_units - used),
                reached=paid >= o.cap_units,
                note=f"{units(paid)} units achieved; {units(max(ZERO, paid - o.cap_units))} "
                     "above the cap"))
        if o.cap_value is not None:
            used = sum((_before_contract_cap(line) for line in mine), ZERO)
            caps.append(CapUse(
                kind="outcome_value", subject=o.code, measure="money",
                limit=view.money(o.cap_value),
                used=view.money(used), headroom=view.money(o.cap_value - used),
                reached=used >= o.cap_value,
                note=f"{o.name}: value after unit and participant caps "
                     f"({fmt_thousands(used, cur)} of {fmt_thousands(o.cap_value, cur)})"))
    return caps


def _participant_cap(view: View) -> list[CapUse]:
    cap = view.terms.participant_cap
    if cap is None:
        return []
    usage = participant_usage(view)
    if not usage:
        return [CapUse(kind="participant", subject="highest participant", measure="money",
                       limit=view.money(cap), used=view.money(ZERO), headroom=view.money(cap),
                       reached=False,
                       note="no participant-level figures: the cap cannot bind")]
    who = max(sorted(usage), key=lambda k: usage[k])
    highest = usage[who]
    at_cap = sum(1 for v in usage.values() if v >= cap)
    return [CapUse(
        kind="participant", subject=who, measure="money", limit=view.money(cap),
        used=view.money(min(highest, cap)), headroom=view.money(max(ZERO, cap - highest)),
        reached=highest >= cap,
        note=f"highest of {len(usage)} participant(s): {fmt_thousands(highest, view.currency)}"
             f" earned before the cap; {at_cap} at the cap")]


def _money_or_none(view: View, amount: Decimal | None) -> Decimal | None:
    return None if amount is None else view.money(amount)


def payments(view: View, payers: tuple[PayerStatement, ...]) -> Payments:
    lines: dict[str, list[OutcomeLine]] = defaultdict(list)
    for p in view.periods:
        for line in p.lines:
            lines[line.outcome].append(line)
    outcomes = []
    prices = {o.code: o.price for o in view.terms.outcomes}
    for code, mine in lines.items():
        got = {f: sum((getattr(x, f) for x in mine), ZERO)
               for f in ("units", "earned", "above_cap", "payable")}
        outcomes.append(OutcomeMoney(
            code=code, name=mine[-1].name, units=units(got["units"]),
            earned=view.money(got["earned"]), above_cap=view.money(got["above_cap"]),
            payable=view.money(got["payable"]), price=_money_or_none(view, prices.get(code)),
            cost_per_unit=view.money(got["payable"] / got["units"]) if got["units"] else None))
    earned, above = _total(view, "earned"), _total(view, "above_cap")
    outcome_payable = earned - above
    caps: list[CapUse] = []
    max_value = view.terms.max_value
    if max_value is not None:
        caps.append(CapUse(
            kind="contract", subject=view.state.reference, measure="money",
            limit=view.money(max_value),
            used=outcome_payable, headroom=view.money(max_value - outcome_payable),
            reached=outcome_payable >= max_value,
            note=f"outcome payments after caps; {fmt_thousands(above, view.currency)} "
                 "earned above caps"))
    caps += _outcome_caps(view, lines) + _participant_cap(view)
    for payer in payers:
        if payer.commitment is not None and payer.headroom is not None:
            caps.append(CapUse(
                kind="payer", subject=payer.id, measure="money", limit=payer.commitment,
                used=payer.amount, headroom=payer.headroom, reached=payer.headroom <= 0,
                note=f"{payer.name}: {payer.share} of payable" + (
                    " (over commitment)" if payer.over_commitment else "")))
    payable, certified = _total(view, "payable"), _total(view, "certified")
    periods = tuple(PeriodMoney(
        **{f: view.money(getattr(p, f)) for f in _MONEY_FIELDS}, period=p.period,
        contract_cap=_money_or_none(view, view.state.terms_for(
            view.period(p.period)).max_value),
        # A period withholds or releases, never both (the retention step): the sign says.
        retention_held=view.money(max(p.retained, ZERO)),
        retention_released=view.money(max(-p.retained, ZERO)))
        for p in view.periods)
    return Payments(
        earned=earned, above_cap=above, adjustments=_total(view, "adjustments"),
        fees=_total(view, "fees"), retained=_total(view, "retained"),
        retention_held=sum((p.retention_held for p in periods), ZERO),
        retention_released=sum((p.retention_released for p in periods), ZERO),
        payable=payable, certified=certified, outstanding=payable - certified,
        outcome_payable=outcome_payable,
        caps=tuple(caps), outcomes=tuple(outcomes), periods=periods)
