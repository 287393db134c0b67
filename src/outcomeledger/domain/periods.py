"""Performance periods: calendar months and UK financial-year quarters.

Canonical ids are ``2025-04`` (a month) and ``FY2025-Q1`` (April–June 2025; FY2025
runs 1 April 2025 to 31 March 2026). An ISO date range that covers exactly one
period (``2025-04-01..2025-06-30``) is accepted as input too (DESIGN 3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

Cadence = Literal["month", "quarter"]

# ASCII digits only: a str pattern's \d also matches "٥" and "５", which int() reads.
_MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
_QUARTER = re.compile(r"^FY(\d{4})-Q([1-4])$", re.ASCII)
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$", re.ASCII)


class PeriodError(ValueError):
    """A period id that is malformed or does not match the contract's cadence."""


#: The dates a ledger records, every one of them: contract terms, claims windows,
#: closures and periods. Wide enough for any public contract, and far enough inside
#: what ``datetime.date`` holds (years 1 to 9999) that every period, due date and
#: schedule computed from a recorded date stays representable: a contract ending on
#: 9999-12-31 was once stored, then made every later catch-up overflow.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)
#: The longest contract term (start to end) and claims window after the end: bounds
#: on how many periods any schedule walks.
MAX_TERM_YEARS = 50
MAX_CLAIMS_YEARS_AFTER_END = 10
#: The longest a return may be due after its period ends (about ten years).
MAX_DUE_DAYS = 3660


def day_problem(day: date) -> str | None:
    """Why ``day`` cannot be recorded (outside FIRST_DAY..LAST_DAY), or None."""
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return f"outside the dates a ledger records (got {day}, expected {FIRST_DAY} to {LAST_DAY})"


def years_after(day: date, years: int) -> date:
    """The same day ``years`` later (28 February for 29 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def months_after(day: date, months: int) -> date:
    """The same day ``months`` later; a month's last day stays a month's last day (an
    extension of a term ending 30 June by 3 months ends 30 September), and a day the
    later month lacks becomes its last day (31 January + 1 month: 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _month_end(year, month + 1)
    if day == _month_end(day.year, day.month):
        return last
    return last if day.day > last.day else date(year, month + 1, day.day)


def days_after(day: date, days: int) -> date:
    """``day`` plus ``days``, held at the last representable date instead of overflowing:
    terms recorded before ``MAX_DUE_DAYS`` existed may hold any number of days."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def _period_id(start: date, cadence: Cadence) -> str:
    if cadence == "month":
        return f"{start.year:04d}-{start.month:02d}"
    fy = start.year if start.month >= 4 else start.year - 1
    quarter = ((start.month - 4) % 12) // 3 + 1
    return f"FY{fy:04d}-Q{quarter}"


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """One performance period; ordered by start date."""

    start: date
    end: date
    cadence: Cadence
    # The canonical id, made once: payment arithmetic and projections read it constantly.
    id: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", _period_id(self.start, self.cadence))

    def __str__(self) -> str:
        return self.id

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def next(self) -> Period:
        return period_containing(self.end + timedelta(days=1), self.cadence)

    def previous(self) -> Period:
        return period_containing(self.start - timedelta(days=1), self.cadence)


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)


# Periods are immutable values and a ledger uses a few hundred of them, over and over
# (every return names one, every schedule walks them): made once each, then shared.
@lru_cache(maxsize=16384)
def period_containing(day: date, cadence: Cadence) -> Period:
    """The period of ``cadence`` that contains ``day``."""
    if cadence == "month":
        return Period(date(day.year, day.month, 1), _month_end(day.year, day.month), "month")
    # UK financial-year quarters start in April, July, October and January.
    first_month = day.month - ((day.month - 1) % 3)
    start = date(day.year, first_month, 1)
    end_month = first_month + 2
    return Period(start, _month_end(day.year, end_month), "quarter")


def is_boundary(day: date, cadence: Cadence) -> bool:
    """True when ``day`` is the first day of a period of ``cadence``."""
    return period_containing(day, cadence).start == day


ACCEPTED_FORMS = {
    "month": "YYYY-MM (e.g. 2025-04) or an ISO date range covering one month "
    "(2025-04-01..2025-04-30)",
    "quarter": "FYyyyy-Qn (e.g. FY2025-Q1 = Apr–Jun 2025) or an ISO date range covering one "
    "quarter (2025-04-01..2025-06-30)",
}


@lru_cache(maxsize=16384)  # only results are cached: a refused id raises every time
def parse_period(text: str, cadence: Cadence) -> Period:
    """Parse a period id or exact ISO date range for a contract of ``cadence``."""
    raw = text.strip()
    expected = ACCEPTED_FORMS[cadence]
    if m := _MONTH.match(raw):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise PeriodError(f"month {month:02d} does not exist; expected {expected}")
        if cadence != "month":
            raise PeriodError(f"a monthly period on a quarterly contract; expected {expected}")
        _check_year(year, raw, expected)
        return period_containing(date(year, month, 1), "month")
    if m := _QUARTER.match(raw):
        if cadence != "quarter":
            raise PeriodError(f"a quarter on a monthly contract; expected {expected}")
        fy, quarter = int(m[1]), int(m[2])
        month = 4 + 3 * (quarter - 1)
        year = fy if month <= 12 else fy + 1
        if month > 12:
            month -= 12
        _check_year(year, raw, expected)
        return period_containing(date(year, month, 1), "quarter")
    if m := _RANGE.match(raw):
        try:
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        except ValueError:
            raise PeriodError(f"not a valid date range; expected {expected}") from None
        _check_year(first.year, raw, expected)
        period = period_containing(first, cadence)
        if period.start != first or period.end != last:
            raise PeriodError(
                f"{raw} is not exactly one {cadence} (nearest is {period.id}: "
                f"{period.start}..{period.end}); expected {expected}"
            )
        return period
    raise PeriodError(f"not a period id; expected {expected}")


def _check_year(year: int, raw: str, expected: str) -> None:
    """A period starts in a year the ledger records (so it also ends in one: periods
    begin on the first of a month and end in the same year)."""
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise PeriodError(f"{raw} begins in {year}, outside the years a ledger records "
                          f"({FIRST_DAY.year} to {LAST_DAY.year}); expected {expected}")


def periods_between(first: date, last: date, cadence: Cadence) -> list[Period]:
    """Every period of ``cadence`` that overlaps the closed date range ``first..last``.

    Nothing after LAST_DAY: terms recorded before the bound existed (a contract ending
    on 9999-12-31) would otherwise walk off the end of the calendar.
    """
    last = min(last, LAST_DAY)
    out: list[Period] = []
    period = period_containing(first, cadence)
    while period.start <= last:
        out.append(period)
        period = period.next()
    return out
