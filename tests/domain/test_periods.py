"""Periods: calendar months and UK financial-year quarters (Q1 = April to June)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomeledger.domain.periods import (
    Period,
    PeriodError,
    is_boundary,
    months_after,
    parse_period,
    period_containing,
    periods_between,
)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("FY2025-Q1", date(2025, 4, 1), date(2025, 6, 30)),
        ("FY2025-Q2", date(2025, 7, 1), date(2025, 9, 30)),
        ("FY2025-Q3", date(2025, 10, 1), date(2025, 12, 31)),
        ("FY2025-Q4", date(2026, 1, 1), date(2026, 3, 31)),
        ("FY2023-Q4", date(2024, 1, 1), date(2024, 3, 31)),
    ],
)
def test_financial_year_quarters_start_in_april(text: str, start: date, end: date) -> None:
    period = parse_period(text, "quarter")
    assert (period.start, period.end, period.id) == (start, end, text)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2025-04", date(2025, 4, 1), date(2025, 4, 30)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2025-02", date(2025, 2, 1), date(2025, 2, 28)),
        ("2025-12", date(2025, 12, 1), date(2025, 12, 31)),
    ],
)
def test_month_ids_cover_the_calendar_month(text: str, start: date, end: date) -> None:
    period = parse_period(text, "month")
    assert (period.start, period.end, period.id) == (start, end, text)


def test_an_iso_range_covering_exactly_one_quarter_is_that_quarter() -> None:
    assert parse_period("2025-04-01..2025-06-30", "quarter").id == "FY2025-Q1"
    assert parse_period("2026-01-01..2026-03-31", "quarter").id == "FY2025-Q4"


def test_an_iso_range_covering_exactly_one_month_is_that_month() -> None:
    assert parse_period(" 2025-04-01..2025-04-30 ", "month").id == "2025-04"


@pytest.mark.parametrize(
    "text",
    ["2025-04-01..2025-06-29", "2025-04-02..2025-06-30", "2025-04-01..2025-09-30",
     "2025-05-01..2025-07-31", "2025-06-30..2025-04-01"],
)
def test_an_iso_range_that_is_not_exactly_one_quarter_is_refused(text: str) -> None:
    with pytest.raises(PeriodError, match=r"not exactly one quarter \(nearest is FY2025-Q"):
        parse_period(text, "quarter")


def test_an_impossible_date_in_a_range_is_refused() -> None:
    with pytest.raises(PeriodError, match="not a valid date range"):
        parse_period("2025-02-01..2025-02-30", "month")


def test_a_month_on_a_quarterly_contract_names_the_accepted_forms() -> None:
    with pytest.raises(PeriodError) as error:
        parse_period("2025-04", "quarter")
    message = str(error.value)
    assert "monthly period on a quarterly contract" in message
    assert "FYyyyy-Qn" in message
    assert "2025-04-01..2025-06-30" in message


def test_a_quarter_on_a_monthly_contract_names_the_accepted_forms() -> None:
    with pytest.raises(PeriodError) as error:
        parse_period("FY2025-Q1", "month")
    message = str(error.value)
    assert "quarter on a monthly contract" in message
    assert "YYYY-MM" in message


@pytest.mark.parametrize("text", ["2025-13", "2025-00"])
def test_months_that_do_not_exist_are_refused(text: str) -> None:
    with pytest.raises(PeriodError, match="does not exist"):
        parse_period(text, "month")


@pytest.mark.parametrize("text", ["FY2025-Q5", "FY2025-Q0", "2025Q1", "Q1 2025", "", "FY25-Q1",
                                  "2025-4", "April 2025"])
def test_anything_else_is_not_a_period_id(text: str) -> None:
    with pytest.raises(PeriodError, match="not a period id; expected FYyyyy-Qn"):
        parse_period(text, "quarter")


def test_period_errors_are_value_errors() -> None:
    assert issubclass(PeriodError, ValueError)


def test_quarters_are_ordered_by_start_date_across_the_year_end() -> None:
    q3, q4 = parse_period("FY2025-Q3", "quarter"), parse_period("FY2025-Q4", "quarter")
    assert q3 < q4
    assert q3.next() == q4
    assert q4.next().id == "FY2026-Q1"
    assert parse_period("FY2026-Q1", "quarter").previous() == q4


def test_boundaries_are_first_days_of_periods() -> None:
    assert is_boundary(date(2025, 7, 1), "quarter")
    assert not is_boundary(date(2025, 8, 1), "quarter")
    assert is_boundary(date(2025, 8, 1), "month")
    assert not is_boundary(date(2025, 8, 2), "month")


def test_periods_between_lists_every_overlapping_period() -> None:
    ids = [p.id for p in periods_between(date(2017, 12, 1), date(2018, 7, 1), "quarter")]
    assert ids == ["FY2017-Q3", "FY2017-Q4", "FY2018-Q1", "FY2018-Q2"]


cadences = st.sampled_from(["month", "quarter"])
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))


@given(days, cadences)
def test_the_period_containing_a_date_contains_it_and_parses_back(day: date,
                                                                  cadence: str) -> None:
    period = period_containing(day, cadence)
    assert period.contains(day)
    assert parse_period(period.id, cadence) == period
    assert parse_period(f"{period.start}..{period.end}", cadence) == period
    assert is_boundary(period.start, cadence)  # type: ignore[arg-type]


@given(days, cadences)
def test_next_and_previous_are_adjacent_and_invert_each_other(day: date, cadence: str) -> None:
    period: Period = period_containing(day, cadence)
    following = period.next()
    assert following.start == period.end + timedelta(days=1)
    assert following.previous() == period
    assert period.previous().next() == period
    assert period.previous() < period < following


@given(days)
def test_a_quarter_is_three_whole_months(day: date) -> None:
    quarter = period_containing(day, "quarter")
    months = periods_between(quarter.start, quarter.end, "month")
    assert len(months) == 3
    assert (months[0].start, months[-1].end) == (quarter.start, quarter.end)
    assert quarter.start.month in (1, 4, 7, 10)


def _last_day(day: date) -> date:
    return period_containing(day, "month").end


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2150, 12, 31)),
       st.integers(min_value=0, max_value=600))
def test_months_after_moves_the_month_and_keeps_a_month_end_a_month_end(
        day: date, months: int) -> None:
    """An extension of ``months`` (DESIGN 11): the same day that many months on; a
    month's last day goes to the later month's last day, a day the later month lacks to
    its last day. So a term ending on a quarter's last day, extended by whole quarters,
    still ends on a quarter's last day."""
    later = months_after(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    if day == _last_day(day):
        assert later == _last_day(later)
    else:
        assert later.day == min(day.day, _last_day(later).day)
    if day == period_containing(day, "quarter").end and months % 3 == 0:
        assert later == period_containing(later, "quarter").end
