"""The verifier's quick comparison of a piece of the live tables with its replay.

``same_rows`` lets ``audit verify`` skip the scratch database and the rows' text when
the live rows hold exactly the replayed values (anything else goes to ``differ``, which
names the differences), and a write's catch-up leave a table it would rewrite with the
same rows. These pin what it may call equal.
"""

from __future__ import annotations

from outcomeledger.projections.base import Row
from outcomeledger.projections.sql import same_rows


class _Row(Row, frozen=True, kw_only=True):
    contract: str
    period: str
    amount: str | None
    active: bool


def _rows(*values: tuple[str, str, str | None, bool]) -> list[_Row]:
    return [_Row(contract=c, period=p, amount=a, active=b) for c, p, a, b in values]


def test_the_same_values_in_any_order_are_the_same_rows() -> None:
    replayed = _rows(("C", "FY2025-Q1", "10.00", True), ("C", "FY2025-Q2", None, False))
    live = [("C", "FY2025-Q2", None, 0), ("C", "FY2025-Q1", "10.00", 1)]  # booleans as 0/1
    assert same_rows(live, replayed)


def test_a_changed_value_a_missing_row_or_a_repeated_row_is_not() -> None:
    replayed = _rows(("C", "FY2025-Q1", "10.00", True), ("C", "FY2025-Q2", "5.00", False))
    assert not same_rows([("C", "FY2025-Q1", "10.01", 1), ("C", "FY2025-Q2", "5.00", 0)],
                         replayed)
    assert not same_rows([("C", "FY2025-Q1", "10.00", 1)], replayed)
    assert not same_rows([("C", "FY2025-Q1", "10.00", 1), ("C", "FY2025-Q1", "10.00", 1)],
                         replayed)
    assert not same_rows([("C", "FY2025-Q1", "10.00", 1), ("C", "FY2025-Q2", "5.00", 1)],
                         replayed)


def test_a_value_of_another_type_goes_to_the_full_comparison() -> None:
    # The text "5" and the number 5 are not the same value here: the scratch database,
    # which stores them as the live table would, is left to decide.
    replayed = _rows(("C", "FY2025-Q1", "5", True))
    assert not same_rows([("C", "FY2025-Q1", 5, 1)], replayed)
