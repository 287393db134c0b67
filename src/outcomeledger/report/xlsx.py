"""The report as an Excel workbook for finance users (``report --format xlsx``): one sheet
per section, its title and a frozen header row on top, money as numbers in the contract's
currency format, shares as percentages, dates as dates.

The sheets are the sections every other format renders (:mod:`.tables`): nothing is
computed here. A Decimal is handed to xlsxwriter as it is and written with its own
digits (xlsxwriter formats a number with ``{:.16G}``, which a Decimal does exactly), never
through a binary float. Text is always written as text, so a name starting ``=`` is
shown, never run as a formula.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter  # write-only, maintained, no dependencies of its own

from ..domain.money import minor_unit
from .tables import Cell, Section

#: Columns that hold money in every section that has them (the caps section's limit, used
#: and headroom are money on the rows whose ``measure`` is ``money``).
MONEY = frozenset({
    "earned", "above_cap", "adjustments", "fees", "retained", "payable",
    "cumulative_payable", "certified", "true_up", "contract_cap", "cost_per_unit",
    "cost_per_outcome", "earned_difference", "payable_through_period_change",
    "cash_effect", "payable_effect", "provider_payments", "buyer_pays", "owed", "margin",
    "commitment", "amount", "headroom", "cumulative", "proxy_value", "proxy_total",
    "budget", "above_budget", "forecast_at_targets", "forecast_over_budget", "drawn",
    "remaining", "outstanding", "outcome_payable", "over_commitment",
    "part_earned", "part_payable", "budget_remaining",
})
_MONEY_WHEN_MEASURED = frozenset({"limit", "used", "headroom"})
#: Symbols for the currencies a symbol is unambiguous for; others are written by code.
_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
#: What Excel refuses in a sheet name, and its longest.
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_SHEET_MAX = 31


def currency_format(currency: str) -> str:
    """Excel's number format for ``currency``: ``"£"#,##0.00`` (negatives with a minus),
    the decimals its minor unit has; ``#,##0.00 "CHF"`` for a currency without a symbol."""
    places = max(0, -int(minor_unit(currency).as_tuple().exponent))
    number = "#,##0" + ("." + "0" * places if places else "")
    symbol = _SYMBOLS.get(currency)
    if symbol is None:
        return f'{number} "{currency}";-{number} "{currency}"'
    return f'"{symbol}"{number};-"{symbol}"{number}'


def _is_share(column: str) -> bool:
    return column == "share" or column.endswith("_share")


def sheet_names(sections: Sequence[Section]) -> list[str]:
    """Each section's name as Excel allows a sheet's (31 characters, distinct)."""
    names: list[str] = []
    for s in sections:
        base = _SHEET_BAD.sub("_", s.name)[:_SHEET_MAX] or "sheet"
        name, n = base, 2
        while name.lower() in (x.lower() for x in names):
            suffix = f"_{n}"
            name, n = base[:_SHEET_MAX - len(suffix)] + suffix, n + 1
        names.append(name)
    return names


def to_xlsx(sections: Sequence[Section], currency: str | None) -> bytes:
    """The workbook's bytes. ``currency``: the report's, for sections without a
    ``currency`` column of their own (a portfolio's rows carry each contract's)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "remove_timezone": True,
                                     "strings_to_formulas": False,
                                     "strings_to_numbers": False,
                                     "strings_to_urls": False})
    formats = _Formats(book)
    for section, name in zip(sections, sheet_names(sections), strict=True):
        _sheet(book.add_worksheet(name), section, currency, formats)
    book.close()
    return out.getvalue()


class _Formats:
    """The workbook's cell formats, each made once."""

    def __init__(self, book: Any) -> None:
        self._book = book
        self.title = book.add_format({"bold": True, "font_size": 12})
        self.header = book.add_format({"bold": True, "bottom": 1, "text_wrap": True,
                                       "valign": "top"})
        self.share = book.add_format({"num_format": "0.00%"})
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})
        self.time = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._money: dict[str, Any] = {}

    def money(self, currency: str) -> Any:
        if currency not in self._money:
            self._money[currency] = self._book.add_format(
                {"num_format": currency_format(currency)})
        return self._money[currency]


def _sheet(sheet: Any, s: Section, currency: str | None, formats: _Formats) -> None:
    sheet.write_string(0, 0, s.title, formats.title)
    for col, name in enumerate(s.columns):
        sheet.write_string(1, col, name, formats.header)
    sheet.freeze_panes(2, 0)  # the title and the header stay while the rows scroll
    if s.rows:
        sheet.autofilter(1, 0, 1 + len(s.rows), len(s.columns) - 1)
    own = s.columns.index("currency") if "currency" in s.columns else None
    measure = s.columns.index("measure") if "measure" in s.columns else None
    widths = [len(c) for c in s.columns]
    for r, row in enumerate(s.rows, start=2):
        cur = str(row[own]) if own is not None and row[own] else currency
        for col, (name, value) in enumerate(zip(s.columns, row, strict=True)):
            money = name in MONEY or (name in _MONEY_WHEN_MEASURED and measure is not None
                                      and row[measure] == "money")
            widths[col] = max(widths[col], _write(sheet, r, col, value, name,
                                                  cur if money else None, formats))
    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(width + 2, 60))


def _write(sheet: Any, row: int, col: int, value: Cell, column: str, currency: str | None,
           formats: _Formats) -> int:
    """Write one cell; returns about how wide it shows."""
    if value is None:
        return 0
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
        return 5
    if isinstance(value, datetime):
        sheet.write_datetime(row, col, value, formats.time)
        return 19
    if isinstance(value, date):
        sheet.write_datetime(row, col, value, formats.date)
        return 10
    if isinstance(value, Decimal | int):
        fmt = (formats.money(currency) if currency is not None
               else formats.share if _is_share(column) else None)
        sheet.write_number(row, col, value, fmt)
        return len(f"{value:,}") + (2 if currency is not None else 0)
    sheet.write_string(row, col, value)
    return len(value)
