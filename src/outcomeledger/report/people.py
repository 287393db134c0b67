"""The report's tables as people read them (text and HTML): periods with nothing in them
folded away, with a count, the payer split as a payer x period grid, and amounts of money
as :class:`~.currency.Money` (written with the currency's sign).

CSV and JSON keep every row, one observation each (tidy): this reshapes only what is
printed for people, from the same :class:`~.tables.Section` rows, so no figure is
computed twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ..domain.money import ZERO
from .currency import Money, is_money
from .tables import Cell, Section

#: Columns of the payments table that are no activity of the period's own: the running
#: total and the cap in force carry on through an empty period.
_CARRIED = frozenset({"cumulative_payable", "contract_cap"})


def _active(section: Section, row: tuple[Cell, ...]) -> bool:
    return any(isinstance(v, Decimal) and v != 0
               for name, v in zip(section.columns, row, strict=True) if name not in _CARRIED)


def fold_payments(section: Section) -> Section:
    """The payments table without its empty periods, saying how many it leaves out."""
    rows = [row for row in section.rows if _active(section, row)]
    hidden = len(section.rows) - len(rows)
    if not hidden:
        return section
    note = f"; {hidden} empty period{'s' if hidden != 1 else ''} not shown"
    title = section.title[:-1] + note + ")" if section.title.endswith(")") else (
        section.title + note)
    return Section(section.name, title, section.columns, rows)


def payer_grid(section: Section) -> Section:
    """The payer split (one row per payer and period) as one row per period, one column
    per payer, and a total row."""
    index = {name: i for i, name in enumerate(section.columns)}
    payers: list[str] = []
    periods: dict[str, dict[str, Decimal]] = {}
    payable: dict[str, Decimal] = {}
    contract: Cell = None
    for row in section.rows:
        contract = row[index["contract"]]
        payer, period = str(row[index["payer"]]), str(row[index["period"]])
        amount, due = row[index["amount"]], row[index["payable"]]
        assert isinstance(amount, Decimal)
        assert isinstance(due, Decimal)
        if payer not in payers:
            payers.append(payer)
        periods.setdefault(period, {})[payer] = amount
        payable[period] = due
    rows: list[tuple[Cell, ...]] = [
        (contract, period, payable[period], *(by_payer.get(p, ZERO) for p in payers))
        for period, by_payer in sorted(periods.items())]  # period ids sort in time
    if rows:
        rows.append((contract, "total", sum(payable.values(), ZERO),
                     *(sum((b.get(p, ZERO) for b in periods.values()), ZERO)
                       for p in payers)))
    return Section("payer_grid", "Payer split per period (one column per payer)",
                   ("contract", "period", "payable", *payers), rows)


def in_currency(section: Section, currency: str | None) -> Section:
    """``section`` with each amount of money a :class:`Money` in ``currency`` (or, for rows
    that are contracts, the row's own ``currency``)."""
    mine = "currency" in section.columns
    rows = []
    for row in section.rows:
        cur = str(row[section.columns.index("currency")]) if mine else currency
        if cur is None:
            return section
        rows.append(tuple(
            Money(v, cur) if isinstance(v, Decimal) and is_money(
                section.name, section.columns, row, c) else v
            for c, v in zip(section.columns, row, strict=True)))
    return Section(section.name, section.title, section.columns, rows)


def for_people(sections: Sequence[Section], currency: str | None = None) -> list[Section]:
    """``sections`` as the text and HTML reports print them, money in ``currency``."""
    shaped = {"payments": fold_payments, "payer_split": payer_grid}
    return [in_currency(shaped.get(s.name, lambda x: x)(s), currency) for s in sections]
