"""Amounts for people, in the contract's currency: ``£1,300,000.00``, ``-$450.00``,
``CHF 1,200.00`` (a currency without a sign of its own is written with its code).

Only what people read: JSON and CSV keep plain decimals (``1300000.00``). The amount is
already at the currency's minor unit (:func:`outcomeledger.domain.money.quantize`, the one
rounding rule); this only writes it.
"""

from __future__ import annotations

from decimal import Decimal

from ..domain.money import fmt_thousands

#: ISO 4217 code -> the sign written before the amount (no space).
SIGNS = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥", "AUD": "A$", "CAD": "C$",
         "NZD": "NZ$", "INR": "₹", "KRW": "₩"}


def money(amount: Decimal, currency: str) -> str:
    """``amount`` with thousands separators and the currency's sign (or code); a negative
    amount keeps its minus sign in front: ``-£700.00``."""
    text = fmt_thousands(abs(amount), currency)
    sign = SIGNS.get(currency)
    written = f"{sign}{text}" if sign else f"{currency} {text}"
    return f"-{written}" if amount < 0 else written
