"""Money for people in the contract's currency (issue 20); JSON and CSV stay plain."""

from __future__ import annotations

from conftest import D
from outcomeledger.report.currency import is_money, money


def test_amounts_are_written_with_the_currency_sign_and_minor_unit() -> None:
    assert money(D("1300000"), "GBP") == "£1,300,000.00"
    assert money(D("-700.00"), "GBP") == "-£700.00"
    assert money(D("1234.5"), "USD") == "$1,234.50"
    assert money(D("99"), "EUR") == "€99.00"
    assert money(D("1500"), "JPY") == "¥1,500"


def test_a_currency_without_a_sign_is_written_with_its_code() -> None:
    assert money(D("1200"), "CHF") == "CHF 1,200.00"


def test_a_cap_row_is_money_only_when_it_measures_money() -> None:
    columns = ("contract", "kind", "subject", "measure", "limit")
    assert is_money("caps", columns, ("R", "contract", "R", "money", D(1)), "limit")
    assert not is_money("caps", columns, ("R", "outcome_units", "O1", "units", D(1)),
                        "limit")
    assert not is_money("outcome_costs", ("units",), (D(3),), "units")
    assert is_money("payer_grid", ("contract", "period", "MOJ"), ("R", "Q", D(1)), "MOJ")


def test_money_stays_a_number_and_formats_for_people_with_its_sign() -> None:
    from outcomeledger.report.currency import Money

    amount = Money(D("-1234.50"), "EUR")
    assert f"{amount:,}" == "-€1,234.50"  # as a table for people writes a number
    assert format(amount, "f") == "-1234.50"  # any other format is the plain decimal
    assert amount + 1 == D("-1233.50")
