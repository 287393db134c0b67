"""Output: tables for people, JSON and CSV for systems. Nothing else lives here."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from ..domain.money import fmt, fmt_money, fmt_thousands
from ..domain.payments.history import FigureChange, PeriodHistory
from ..domain.payments.schedule import PeriodPayment, Schedule

__all__ = ["Table", "fmt_money", "to_csv", "to_json", "to_text"]
from ..domain.contract.state import ContractState
from ..domain.terms import ContractTerms
from ..domain.timestamps import rfc3339
from .layout import lay_out

_json = msgspec.json.Encoder(order="sorted", decimal_format="string")

# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): one starting with
# = + - @ followed by more than a plain number, or with a tab or carriage return.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True, slots=True)
class Table:
    """Rows for people (``rows``: amounts with thousands separators) and, where they
    differ, the same rows for machines (``csv_rows``: plain decimals, empty for none)."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    numeric: frozenset[str] = frozenset()
    csv_rows: Sequence[Sequence[str]] | None = None


def to_json(data: Any) -> str:
    return _json.encode(data).decode()


def would_be_formula(cell: str) -> bool:
    """Whether a spreadsheet would run ``cell`` as a formula: it starts with = + - or @
    and is more than that character or a plain number (``-12.00`` stays a number, a lone
    ``-`` stays text), or it starts with a tab or carriage return."""
    if cell.startswith(("\t", "\r")):
        return True
    return (cell.startswith(_FORMULA_START) and len(cell) > 1
            and _PLAIN_NUMBER.fullmatch(cell) is None)


def csv_safe(cell: str) -> str:
    """``cell`` with a leading quote if it would be a formula (see :func:`would_be_formula`)."""
    return "'" + cell if would_be_formula(cell) else cell


def to_csv(table: Table) -> str:
    """CSV for machines: ``csv_rows`` when the table has them (no thousands separators)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows if table.csv_rows is None else table.csv_rows:
        writer.writerow([csv_safe(c) for c in row])
    return out.getvalue()


def shown(text: str) -> str:
    """``text`` for a terminal or a line-oriented log: line breaks, other control
    characters and invisible or text-reordering characters written as escapes
    (``\\n``, ``\\x1b``, ``\\u202e``), so a stored reason cannot forge the next entry of
    ``audit log`` or a table row. Only what is shown changes, never what is stored."""
    if text.isprintable():
        return text
    return "".join(_escape(ch) if unicodedata.category(ch) in _HIDDEN else ch
                   for ch in text)


_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def to_text(table: Table, width: int | None = None) -> str:
    """``table`` for people, within ``width`` characters when given (wide tables wrap their
    text columns, or become one record per row: :mod:`.layout`); None: no limit."""
    # Escaped here, where every table is drawn: one row per line, whatever a cell holds.
    # A title's own line breaks are the code's (a heading over several lines).
    title = [shown(line) for line in table.title.split("\n")]
    rows = [[shown(c) for c in row] for row in table.rows]
    return lay_out(title, table.columns, rows, table.numeric, width)


PAYMENT_FIELDS = ("earned", "above_cap", "adjustments", "fees", "retained", "payable",
                  "cumulative_payable", "certified", "true_up")
TOTAL_FIELDS = ("earned", "above_cap", "adjustments", "fees", "retained", "payable",
                "certified")


def payments_json(schedule: Schedule, periods: Sequence[PeriodPayment]) -> dict[str, Any]:
    cur = schedule.currency
    headroom = schedule.headroom
    return {
        "contract": schedule.contract,
        "currency": cur,
        "periods": [{"period": p.period, **{f: fmt_money(getattr(p, f), cur)
                                            for f in PAYMENT_FIELDS}} for p in periods],
        "totals": {**{f: fmt_money(schedule.total(f), cur) for f in TOTAL_FIELDS},
                   "headroom": None if headroom is None else fmt_money(headroom, cur)},
    }


def with_programme(data: dict[str, Any], state: ContractState) -> str:
    """A contract in a programme (DESIGN 10): ``payments_json``'s ``data`` gains the
    programme and what its last payment run owed above the programme's budget
    (``totals.above_budget``); returns the line a table shows under itself, or "" outside
    programmes (whose JSON keeps its shape)."""
    name = state.current_terms.programme
    if not name:
        return ""
    last = state.certifications[-1] if state.certifications else None
    above = last.above_budget if last is not None else Decimal(0)
    cur = state.base_terms.currency
    data["programme"] = name
    data["totals"]["above_budget"] = fmt_money(above, cur)
    if last is None or not above:
        return f"Paid from programme {name}: every payment run certified in full."
    return (f"Paid from programme {name}: {fmt_thousands(above, cur)} owed at the last "
            f"payment run ({last.period}) is above the programme's budget, not certified "
            "(owed again at the next run).")


def _active(p: PeriodPayment) -> bool:
    return any(getattr(p, f) for f in PAYMENT_FIELDS if f != "cumulative_payable") or bool(
        p.lines)


def money_cell(amount: Decimal, currency: str, *, machine: bool) -> str:
    """An amount in a table: a plain decimal for machines (CSV), with thousands
    separators for people."""
    return fmt_money(amount, currency) if machine else fmt_thousands(amount, currency)


def payments_table(schedule: Schedule, periods: Sequence[PeriodPayment], *,
                   machine: bool) -> Table:
    cur = schedule.currency
    def show(amount: Decimal) -> str:
        return money_cell(amount, cur, machine=machine)

    shown = periods if machine else [p for p in periods if _active(p)]
    rows = [[p.period, *(show(getattr(p, f)) for f in PAYMENT_FIELDS)] for p in shown]
    if not machine:
        rows.append(["total", *(show(schedule.total(f)) if f in TOTAL_FIELDS else ""
                                for f in PAYMENT_FIELDS)])
    headroom = schedule.headroom
    title = f"Payments: {schedule.contract} ({cur})"
    if len(shown) < len(periods):
        title += f"; {len(periods) - len(shown)} period(s) with no activity not shown"
    if headroom is not None and not machine:
        title += f"; contract cap {show(schedule.max_value or Decimal(0))}, headroom " \
                 f"{show(headroom)}"
    return Table(title, ("period", *PAYMENT_FIELDS), rows, frozenset(PAYMENT_FIELDS))


def explain_json(schedule: Schedule, p: PeriodPayment,
                 history: PeriodHistory | None = None) -> dict[str, Any]:
    """The period's lines with their steps; with ``history``, each line's restatements
    and the payment runs through the period (``certifications``)."""
    cur = schedule.currency
    history = history or PeriodHistory(changes=(), certifications=())

    def step(s: Any) -> dict[str, Any]:
        return {"step": s.label, "detail": s.detail,
                "amount": None if s.amount is None else fmt_money(s.amount, cur),
                "events": list(s.refs)}

    lined = {line.outcome for line in p.lines}
    return {
        "contract": schedule.contract, "currency": cur, "period": p.period,
        "terms_in_force": p.terms_in_force,
        "lines": [{"outcome": line.outcome, "name": line.name, "units": str(line.units),
                   "paid_units": str(line.paid_units),
                   "earned": fmt_money(line.earned, cur),
                   "above_cap": fmt_money(line.above_cap, cur),
                   "payable": fmt_money(line.payable, cur),
                   "steps": [step(s) for s in line.steps],
                   "restatements": [_change_json(c)
                                    for c in history.changes_of(line.outcome)]}
                  for line in p.lines],
        "other": [step(s) for s in p.other],
        "other_restatements": [_change_json(c) for c in history.changes
                               if c.outcome not in lined],
        "summary": {f: fmt_money(getattr(p, f), cur) for f in PAYMENT_FIELDS},
        "certifications": [{
            "period": c.period, "event": c.recorded.ref,
            "recorded_at": rfc3339(c.recorded.recorded_at),
            "recorded_by": c.recorded.recorded_by, "reason": c.recorded.reason,
            "amount": fmt_money(c.amount, cur), "true_up": fmt_money(c.true_up, cur),
            "cumulative_payable": fmt_money(c.cumulative_payable, cur)}
            for c in history.certifications],
    }


def _change_json(c: FigureChange) -> dict[str, Any]:
    return {"provider": c.provider, "outcome": c.outcome, "participant": c.participant,
            "original": str(c.original), "restated": str(c.restated),
            "original_event": c.first.ref, "event": c.recorded.ref,
            "recorded_at": rfc3339(c.recorded.recorded_at),
            "recorded_by": c.recorded.recorded_by, "reason": c.recorded.reason}


def explain_table(schedule: Schedule, p: PeriodPayment,
                  history: PeriodHistory | None = None) -> Table:
    history = history or PeriodHistory(changes=(), certifications=())
    title = (f"Payment explanation: {schedule.contract} {p.period} (terms in force: "
             f"{p.terms_in_force}; events are stream versions, see `events --contract`)")
    return Table(title, ("outcome", "step", "detail", "amount", "events"),
                 _explain_rows(schedule, p, history, fmt_thousands), frozenset({"amount"}),
                 _explain_rows(schedule, p, history, fmt_money))


def _change_row(c: FigureChange) -> list[str]:
    """``restated  124 -> 120 on 2019-06-30 by lead: audit (provider P1)``."""
    whose = ", ".join(x for x in (c.provider and f"provider {c.provider}",
                                  c.participant and f"participant {c.participant}") if x)
    when = c.recorded.recorded_at.strftime("%Y-%m-%d %H:%M")
    return [c.outcome, "restated",
            f"{fmt(c.original)} -> {fmt(c.restated)}" + (f" ({whose})" if whose else "")
            + f" on {when} by {c.recorded.recorded_by}: {c.recorded.reason}", "",
            f"{c.first.ref} {c.recorded.ref}"]


def _explain_rows(schedule: Schedule, p: PeriodPayment, history: PeriodHistory,
                  show: Callable[[Decimal, str], str]) -> list[list[str]]:
    cur = schedule.currency
    rows: list[list[str]] = []
    for line in p.lines:
        changes = [_change_row(c) for c in history.changes_of(line.outcome)]
        # The figures counted, then how they came to be what they are.
        after = next((i for i, s in enumerate(line.steps) if s.label == "units"), -1)
        if after < 0:
            rows += changes
        for i, s in enumerate(line.steps):
            rows.append([line.outcome, s.label, s.detail,
                         "" if s.amount is None else show(s.amount, cur),
                         " ".join(s.refs)])
            if i == after:
                rows += changes
        rows.append([line.outcome, "payable", f"earned {show(line.earned, cur)} "
                     f"- above cap {show(line.above_cap, cur)}",
                     show(line.payable, cur), ""])
    lined = {line.outcome for line in p.lines}
    rows += [_change_row(c) for c in history.changes if c.outcome not in lined]
    for s in p.other:
        rows.append(["", s.label, s.detail,
                     "" if s.amount is None else show(s.amount, cur), " ".join(s.refs)])
    rows.append(["", "period payable", "outcomes + adjustments + fees - retained",
                 show(p.payable, cur), ""])
    for c in history.certifications:
        when = c.recorded.recorded_at.strftime("%Y-%m-%d %H:%M")
        rows.append(["", f"certified {c.period}",
                     f"on {when} by {c.recorded.recorded_by}: {c.recorded.reason}; "
                     f"true-up {show(c.true_up, cur)}; cumulative payable "
                     f"{show(c.cumulative_payable, cur)}", show(c.amount, cur),
                     c.recorded.ref])
    return rows


def terms_json(terms: ContractTerms) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(terms, order="sorted")
    return data


def contract_json(state: ContractState, terms: ContractTerms) -> dict[str, Any]:
    return {
        "reference": state.reference,
        "status": "closed" if state.closed else "open",
        "closed_on": None if state.closed_on is None else state.closed_on.isoformat(),
        "version": state.version,
        "head_hash": state.head_hash,
        "terms": terms_json(terms),
        "variations": [
            {"effective_from": v.effective_from.isoformat(), "event": v.recorded.ref,
             "recorded_at": rfc3339(v.recorded.recorded_at),
             "recorded_by": v.recorded.recorded_by, "reason": v.recorded.reason,
             "changes": msgspec.to_builtins(v.variation, order="sorted")}
            for v in state.ordered_variations],
    }


def _outcome_rows(terms: ContractTerms, show: Callable[[Decimal, str], str],
                  none: str) -> list[list[str]]:
    cur = terms.currency
    rows: list[list[str]] = []
    for o in terms.outcomes:
        if o.tiers is not None:
            price = "; ".join(f"{show(t.price, cur)}" + (
                f" to {t.upto}" if t.upto is not None else " above") for t in o.tiers)
        elif o.price is not None:
            price = show(o.price, cur)
        else:
            price = none
        caps = ", ".join(x for x in (
            f"{o.cap_units} units" if o.cap_units is not None else "",
            f"{show(o.cap_value, cur)}" if o.cap_value is not None else "") if x)
        rows.append([o.code, o.name, o.kind, price, caps or none,
                     ", ".join(o.requires) or none])
    return rows


def contract_table(state: ContractState, terms: ContractTerms) -> Table:
    cur = terms.currency
    rows = _outcome_rows(terms, fmt_thousands, "-")
    cap = fmt_thousands(terms.max_value, cur) if terms.max_value is not None else "none"
    status = f"closed {state.closed_on}" if state.closed else "open"
    title = (f"{terms.reference}: {terms.title}\n"
             f"buyer {terms.buyer}; supplier {terms.supplier}; {terms.start} to {terms.end} "
             f"(claims until {terms.last_claim_date}); {terms.cadence}ly; {status}\n"
             f"contract cap {cap}; retention {terms.retention or 0}; negative periods "
             f"{terms.negative_periods}; {len(state.variations)} variation(s); "
             f"stream version {state.version}")
    return Table(title, ("code", "outcome", "kind", "price", "caps", "requires"), rows,
                 csv_rows=_outcome_rows(terms, fmt_money, ""))
