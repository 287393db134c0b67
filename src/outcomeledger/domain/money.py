"""Money: exact decimals and the one rounding rule of the ledger.

Every amount is a :class:`~decimal.Decimal`. An amount is quantized to its
currency's minor unit exactly once, when a payment line is produced, with
``ROUND_HALF_UP`` (DESIGN 3). Nothing in the ledger ever goes through a float.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal(0)
ONE = Decimal(1)

#: The single rounding rule of the ledger.
ROUNDING = ROUND_HALF_UP

# ISO 4217 minor units for the currencies outcome contracts are written in;
# anything else defaults to 2 (the common case) rather than refusing the contract.
_MINOR_UNITS = {"GBP": 2, "EUR": 2, "USD": 2, "CAD": 2, "AUD": 2, "JPY": 0, "KRW": 0}

#: Values above this are refused at the edge as absurd (a £1e15 outcome is a typo).
MAX_AMOUNT = Decimal("1e15")


# Looked up once per currency: payment arithmetic quantizes every line of every period.
_QUANTA: dict[str, Decimal] = {}


def minor_unit(currency: str) -> Decimal:
    """The smallest unit of ``currency`` as a Decimal exponent (``0.01`` for GBP)."""
    quantum = _QUANTA.get(currency)
    if quantum is None:
        quantum = _QUANTA[currency] = Decimal(1).scaleb(-_MINOR_UNITS.get(currency, 2))
    return quantum


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` to ``currency``'s minor unit, half up. The one rounding rule."""
    return amount.quantize(minor_unit(currency), rounding=ROUNDING)


def round_places(value: Decimal, places: int) -> Decimal:
    """Round ``value`` to ``places`` decimal places by the same rule: for the figures that
    are not money (shares, percentages, a concentration index)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUNDING)


def is_finite(value: Decimal) -> bool:
    return value.is_finite()


def parse_decimal(text: str) -> Decimal:
    """Parse a decimal written by a person or another system; refuse NaN and infinities."""
    cleaned = text.strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return value


def fmt(amount: Decimal) -> str:
    """Plain decimal string (never exponent notation), as used in JSON and CSV output."""
    # A negative zero (e.g. -0.001 rounded) is printed as zero: "-0.00" reads as a debt.
    return format(amount.copy_abs() if amount.is_zero() else amount, "f")


def fmt_money(amount: Decimal, currency: str) -> str:
    """Fixed-point string at the currency's minor unit, e.g. ``2629000.00``."""
    return fmt(quantize(amount, currency))


def fmt_thousands(amount: Decimal, currency: str) -> str:
    """Human-readable amount for tables: ``2,629,000.00``."""
    return f"{quantize(amount, currency):,}"
