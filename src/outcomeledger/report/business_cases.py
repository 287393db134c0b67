"""Business cases on screen and as JSON (DESIGN 11): ``payments REF --business-case ID``,
``contract business-case --what-if``, and the report's base-vs-business-case section.

Money as decimal strings in JSON and plain decimals in CSV; an amount that does not exist
(the cost of an outcome with no units, a base contract without a cap) is null in JSON and
empty in tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ..domain.money import fmt, fmt_money
from ..domain.payments.cases import CasePart, CasePeriod
from ..domain.payments.what_if import WhatIf
from .render import Table, money_cell

CASE_AMOUNTS = ("earned", "above_cap", "payable", "cumulative_payable", "remaining")


def _money(amount: Decimal | None, currency: str) -> str | None:
    return None if amount is None else fmt_money(amount, currency)


def case_periods_json(contract: str, currency: str, case: str, budget: Decimal,
                      rows: Sequence[CasePeriod]) -> dict[str, Any]:
    return {
        "contract": contract, "currency": currency, "business_case": case,
        "budget": fmt_money(budget, currency),
        "periods": [{"period": r.period, "units": fmt(r.units),
                     **{f: fmt_money(getattr(r, f), currency) for f in CASE_AMOUNTS}}
                    for r in rows],
        "totals": {f: fmt_money(sum((getattr(r, f) for r in rows), Decimal(0)), currency)
                   for f in ("earned", "above_cap", "payable")},
    }


def case_periods_table(contract: str, currency: str, case: str, budget: Decimal,
                       rows: Sequence[CasePeriod], *, machine: bool) -> Table:
    def show(amount: Decimal) -> str:
        return money_cell(amount, currency, machine=machine)

    body = [[r.period, fmt(r.units), *(show(getattr(r, f)) for f in CASE_AMOUNTS)]
            for r in rows]
    title = (f"Business case {case}: {contract} ({currency}), budget {show(budget)}; "
             "outcome payments only (fees, adjustments and retention are the contract's)")
    return Table(title, ("period", "units", *CASE_AMOUNTS), body,
                 frozenset(("units", *CASE_AMOUNTS)))


def parts_json(parts: Sequence[CasePart], currency: str) -> list[dict[str, Any]]:
    return [{
        "business_case": p.id or None, "title": p.title, "need": p.need or None,
        "effective": p.effective.isoformat(), "budget": _money(p.budget, currency),
        "earned": fmt_money(p.earned, currency),
        "above_cap": fmt_money(p.above_cap, currency),
        "payable": fmt_money(p.payable, currency),
        "remaining": _money(p.remaining, currency),
        "outcomes": [{"code": o.code, "name": o.name, "units": fmt(o.units),
                      "target": None if o.target is None else fmt(o.target),
                      "earned": fmt_money(o.earned, currency),
                      "payable": fmt_money(o.payable, currency),
                      "cost_per_unit": _money(o.cost_per_unit(currency), currency)}
                     for o in p.outcomes]} for p in parts]


def parts_table(contract: str, parts: Sequence[CasePart], currency: str, *,
                machine: bool) -> Table:
    def show(amount: Decimal | None) -> str:
        return "" if amount is None else money_cell(amount, currency, machine=machine)

    rows = []
    for p in parts:
        name = p.id or "base contract"
        for o in p.outcomes:
            rows.append([name, show(p.budget), o.code, fmt(o.units),
                         "" if o.target is None else fmt(o.target), show(o.earned),
                         show(o.payable), show(o.cost_per_unit(currency))])
        rows.append([name, show(p.budget), "(all)", "", "", show(p.earned), show(p.payable),
                     ""])
    return Table(f"Base contract and business cases: {contract} ({currency}); outcome "
                 "payments only", ("part", "budget", "outcome", "units", "target", "earned",
                                   "payable", "cost_per_unit"), rows,
                 frozenset(("budget", "units", "target", "earned", "payable",
                            "cost_per_unit")))


WHAT_IF_AMOUNTS = ("actual_payable", "target_without", "target_payable", "case_earned",
                   "case_payable", "target_cumulative")


def what_if_json(w: WhatIf) -> dict[str, Any]:
    cur = w.currency
    return {
        "contract": w.contract, "currency": cur, "business_case": w.business_case,
        "budget": fmt_money(w.budget, cur), "written": False,
        "periods": [{"period": p.period, **{f: fmt_money(getattr(p, f), cur)
                                            for f in WHAT_IF_AMOUNTS}} for p in w.periods],
        "totals": {
            "at_actuals": {"without": fmt_money(w.actual_without, cur),
                           "with": fmt_money(w.actual_with, cur)},
            "at_targets": {"without": fmt_money(w.target_without, cur),
                           "with": fmt_money(w.target_with, cur),
                           "business_case_earned": fmt_money(w.case_earned, cur),
                           "business_case_payable": fmt_money(w.case_payable, cur)}},
    }


def what_if_table(w: WhatIf, *, machine: bool) -> Table:
    cur = w.currency

    def show(amount: Decimal) -> str:
        return money_cell(amount, cur, machine=machine)

    rows = [[p.period, *(show(getattr(p, f)) for f in WHAT_IF_AMOUNTS)] for p in w.periods]
    if not machine:
        rows.append(["total", show(w.actual_with), show(w.target_without),
                     show(w.target_with), show(w.case_earned), show(w.case_payable), ""])
    title = (f"What if business case {w.business_case} (budget {show(w.budget)}) were "
             f"approved: {w.contract} ({cur}); at targets it adds "
             f"{show(w.target_with - w.target_without)}, at actuals so far "
             f"{show(w.actual_with - w.actual_without)}; nothing was written")
    return Table(title, ("period", *WHAT_IF_AMOUNTS), rows, frozenset(WHAT_IF_AMOUNTS))
