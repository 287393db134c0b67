"""The rules of an adjustment's amount (DESIGN 4.4): how it is written, how precise it may
be, and which sign each kind takes. Pure: the decider and both edges (``adjust`` flags
and adjustments files) use these, so a rule exists once.

An adjustment is money that moves with no return behind it, recorded for ever: a typo
must be refused, not rounded away or paid the wrong way round.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from .errors import Problem
from .money import minor_unit

Sign = Literal["positive", "negative", "either"]

#: The sign each kind takes (positive: owed to the supplier; negative: reduces what is
#: owed), from DESIGN 4.4 and domain.md: a bonus and a gain share (the supplier's share
#: of a saving, b10) are paid to the supplier; a penalty, a service credit (b11), a
#: clawback or recovery of money already paid (b14) and a pain share (the supplier's
#: share of an overrun, b10) are taken from it. Indexation (b12) follows the index,
#: which can fall, and ``other`` is whatever its reason says.
SIGNS: dict[str, Sign] = {
    "bonus": "positive", "gain_share": "positive",
    "penalty": "negative", "service_credit": "negative", "clawback": "negative",
    "recovery": "negative", "pain_share": "negative",
    "indexation": "either", "other": "either",
}

# A plain decimal as people and spreadsheets write money: no exponent (``1e3`` is a
# typo as often as it is a thousand), no thousands separators, no currency sign.
_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)  # not "٥" or "５"

EXPECTED = "expected a decimal amount such as -120000 or 2500.50"


def parse_amount(text: str) -> Decimal:
    """An amount as written on a flag or in a file; ValueError says what is wrong."""
    cleaned = text.strip()
    if not _PLAIN.fullmatch(cleaned):
        what = "exponent notation" if re.fullmatch(
            r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)[eE][+-]?\d+", cleaned) else "not a number"
        raise ValueError(f"{what} (got {text!r}, {EXPECTED})")
    return Decimal(cleaned)


def amount_problems(kind: str, amount: Decimal, currency: str, source: str,
                    line: int | None) -> list[Problem]:
    """What is wrong with ``amount`` for an adjustment of ``kind`` (none: it may be
    recorded). The caller has checked it is finite, non-zero and not absurd."""
    problems: list[Problem] = []
    quantum = minor_unit(currency)
    # Refused, not rounded: 0.001 would be recorded and then pay 0.00.
    if amount % quantum:
        problems.append(Problem(source, line, "amount", (
            f"finer than the {currency} minor unit (got {amount}, expected a multiple of "
            f"{quantum})")))
    sign = SIGNS.get(kind, "either")
    if sign == "positive" and amount < 0:
        problems.append(Problem(source, line, "amount", (
            f"a {kind} is owed to the supplier (got {amount}, expected a positive amount; "
            "record money taken from the supplier as a penalty, clawback or other)")))
    elif sign == "negative" and amount > 0:
        problems.append(Problem(source, line, "amount", (
            f"a {kind} reduces what is owed (got {amount}, expected a negative amount "
            f"such as -{amount})")))
    return problems


def plain(amount: Decimal) -> Decimal:
    """``amount`` with no exponent when encoded (``1E+3`` -> ``1000``); same value."""
    exponent = amount.as_tuple().exponent
    return amount.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else amount


__all__ = ["EXPECTED", "SIGNS", "amount_problems", "parse_amount", "plain"]
