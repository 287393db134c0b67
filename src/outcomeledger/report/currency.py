"""Amounts for people, in the contract's currency: ``£1,300,000.00``, ``-$450.00``,
``CHF 1,200.00`` (a currency without a sign of its own is written with its code).

Only what people read: JSON and CSV keep plain decimals (``1300000.00``). The amount is
already at the currency's minor unit (:func:`outcomeledger.domain.money.quantize`, the one
rounding rule); this only writes it.
"""

from __future__ import annotations

from decimal import Context, Decimal

from ..domain.money import fmt_thousands

#: ISO 4217 code -> the sign written before the amount (no space).
SIGNS = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥", "AUD": "A$", "CAD": "C$",
         "NZD": "NZ$", "INR": "₹", "KRW": "₩"}


class Money(Decimal):
    """An amount of money in ``currency``, for a table people read: it stays a number
    (a renderer aligns it as one) and formats with thousands separators (``f"{m:,}"``) as
    :func:`money` writes it; any other format is the plain decimal's."""

    currency: str

    def __new__(cls, amount: Decimal, currency: str) -> Money:
        made = super().__new__(cls, amount)
        made.currency = currency
        return made

    def __format__(self, spec: str, context: Context | None = None, /) -> str:
        if spec == ",":
            return money(Decimal(self), self.currency)
        return format(Decimal(self), spec)  # ``context``: never passed by format()


def money(amount: Decimal, currency: str) -> str:
    """``amount`` with thousands separators and the currency's sign (or code); a negative
    amount keeps its minus sign in front: ``-£700.00``."""
    text = fmt_thousands(abs(amount), currency)
    sign = SIGNS.get(currency)
    written = f"{sign}{text}" if sign else f"{currency} {text}"
    return f"-{written}" if amount < 0 else written


#: The money columns of each report section (see :mod:`.tables`), for renderers that write
#: amounts with the currency; every other number is a count, share or percentage. The
#: ``caps`` section's amounts are money only on rows whose ``measure`` is ``money``.
MONEY_COLUMNS: dict[str, frozenset[str]] = {
    "payments": frozenset({
        "earned", "above_cap", "adjustments", "fees", "retention_held",
        "retention_released", "payable", "cumulative_payable", "certified", "true_up",
        "contract_cap"}),
    "caps": frozenset({"limit", "used", "headroom"}),
    "outcome_costs": frozenset({"earned", "above_cap", "payable", "price", "cost_per_unit"}),
    "improvement": frozenset({"price", "payable"}),
    "improvement_pools": frozenset({"payable_on_pool"}),
    "restatements": frozenset({"earned_difference", "payable_through_period_change",
                               "cash_effect"}),
    "adjustments": frozenset({"amount"}),
    "variations": frozenset({"payable_effect"}),
    "business_cases": frozenset({"budget", "part_earned", "part_payable", "budget_remaining",
                                 "earned", "payable", "cost_per_unit"}),
    "network": frozenset({"earned", "fees", "adjustments", "payable", "buyer_pays", "owed",
                          "margin", "provider_payments", "keeps"}),
    "network_outcomes": frozenset({"earned"}),
    "network_market": frozenset({"provider_payments"}),
    "payers": frozenset({"commitment", "amount", "headroom"}),
    "payer_split": frozenset({"payable", "amount", "cumulative"}),
    "social_value": frozenset({"proxy_value", "proxy_total"}),
    "portfolio": frozenset({"earned", "above_cap", "payable", "certified", "contract_cap",
                            "headroom"}),
    "programme": frozenset({"budget", "certified", "headroom", "above_budget",
                            "forecast_at_targets", "forecast_over_budget"}),
    "programme_contracts": frozenset({"earned", "payable", "certified", "above_budget",
                                      "forecast_at_targets"}),
    "programme_funders": frozenset({"commitment", "drawn", "remaining"}),
}
#: Sections whose every column but the row's name is money (the payer grid's columns are
#: the payers).
_ALL_MONEY = frozenset({"payer_grid"})
_NAMES = frozenset({"contract", "period"})


def is_money(section: str, columns: tuple[str, ...], row: tuple[object, ...],
             column: str) -> bool:
    """Whether ``column`` of ``row`` in section ``section`` is an amount of money."""
    if section in _ALL_MONEY:
        return column not in _NAMES
    if column not in MONEY_COLUMNS.get(section, ()):
        return False
    if section == "caps":
        return row[columns.index("measure")] == "money"
    return True
