"""Whether a number a document gives is finite, of a sane size and within its bounds.

Shared by the checks of the contract's terms and of its delivery network, each of which
reports every problem of a document at once (errors as values, appended to a list).
"""

from __future__ import annotations

from decimal import Decimal

from .errors import Problem
from .money import MAX_AMOUNT


def finite(problems: list[Problem], source: str, field: str, value: Decimal | None,
           *, low: Decimal | None = None, high: Decimal | None = None) -> None:
    """Append a problem when ``value`` (None: not given) is not finite, absurdly large or
    outside ``low``..``high``."""
    if value is None:
        return
    if not value.is_finite():
        problems.append(Problem(source, None, field, f"not a finite number (got {value})"))
        return
    if abs(value) > MAX_AMOUNT:
        problems.append(Problem(source, None, field, f"absurdly large (got {value})"))
    if low is not None and value < low:
        problems.append(Problem(source, None, field, f"must be at least {low} (got {value})"))
    if high is not None and value > high:
        problems.append(Problem(source, None, field, f"must be at most {high} (got {value})"))
