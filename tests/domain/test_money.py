"""Money: one rounding rule (ROUND_HALF_UP at the minor unit) and exact parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomeledger.domain.money import (
    fmt,
    fmt_money,
    fmt_thousands,
    minor_unit,
    parse_decimal,
    quantize,
    round_places,
)

D = Decimal


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.005", "0.01"),
        ("2.675", "2.68"),
        ("2.665", "2.67"),
        ("0.004", "0.00"),
        ("-0.005", "-0.01"),
        ("1234.5649", "1234.56"),
        ("10", "10.00"),
    ],
)
def test_quantize_rounds_half_up_to_pence(amount: str, expected: str) -> None:
    result = quantize(D(amount), "GBP")
    assert str(result) == expected


def test_half_up_differs_from_bankers_rounding_on_an_even_neighbour() -> None:
    # 0.125 rounds to 0.12 under ROUND_HALF_EVEN; the ledger must give 0.13
    assert quantize(D("0.125"), "GBP") == D("0.13")


def test_zero_decimal_currencies_round_to_whole_units() -> None:
    assert minor_unit("JPY") == D("1")
    assert quantize(D("1234.5"), "JPY") == D("1235")


def test_unknown_currencies_default_to_two_places() -> None:
    assert minor_unit("XYZ") == D("0.01")
    assert quantize(D("1.005"), "XYZ") == D("1.01")


@pytest.mark.parametrize(("text", "expected"), [
    ("12", D("12")), (" 3.50 ", D("3.50")), ("-120000", D("-120000")), ("1e3", D("1000")),
])
def test_parse_decimal_reads_numbers_exactly(text: str, expected: Decimal) -> None:
    value = parse_decimal(text)
    assert value == expected
    assert value.is_finite()


def test_parse_decimal_keeps_the_written_places() -> None:
    assert str(parse_decimal("0.10")) == "0.10"


@pytest.mark.parametrize("text", ["NaN", "nan", "sNaN", "inf", "-Infinity", "Infinity"])
def test_parse_decimal_refuses_non_finite_values(text: str) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        parse_decimal(text)


@pytest.mark.parametrize("text", ["", "abc", "12,5", "1.2.3", "£100", "0x10", "--1"])
def test_parse_decimal_refuses_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_decimal(text)


def test_amounts_are_printed_fixed_point_never_in_exponent_form() -> None:
    assert fmt(D("1E+3")) == "1000"
    assert fmt_money(D("2629000"), "GBP") == "2629000.00"
    assert fmt_thousands(D("3324020"), "GBP") == "3,324,020.00"


def test_negative_zero_is_printed_as_zero() -> None:
    assert fmt(D("-0")) == "0"


@given(st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False,
                   allow_infinity=False, places=4))
def test_quantize_is_within_half_a_penny_and_idempotent(amount: Decimal) -> None:
    rounded = quantize(amount, "GBP")
    assert abs(rounded - amount) <= D("0.005")
    assert rounded.as_tuple().exponent == -2
    assert quantize(rounded, "GBP") == rounded


@given(st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False,
                   allow_infinity=False, places=2))
def test_parse_decimal_reads_back_what_fmt_writes(amount: Decimal) -> None:
    assert parse_decimal(fmt(amount)) == amount


@pytest.mark.parametrize(("value", "places", "expected"), [
    ("0.26265", 4, "0.2627"), ("3063.4629", 2, "3063.46"), ("0.00005", 4, "0.0001"),
    ("-0.00005", 4, "-0.0001"), ("0", 4, "0.0000")])
def test_shares_and_indices_round_half_up_like_money(value: str, places: int,
                                                      expected: str) -> None:
    assert str(round_places(D(value), places)) == expected
