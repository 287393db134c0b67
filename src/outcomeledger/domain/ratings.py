"""The reg. 39 rating rule: an actual against its target, as a Procurement Act descriptor.

One rule, in the domain because a decision depends on it (an extension or a break is
earned on the ledger's own ratings, DESIGN 11) as well as the report and the UK9 notice,
which read it from here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from .terms import Ratings

#: The Procurement Act 2023 descriptors; "other" = nothing to rate against (no target).
Rating = Literal["good", "approaching target", "requires improvement", "inadequate", "other"]

#: Worst last, so ``max`` over this order picks the overall (most conservative) rating.
RATING_ORDER: tuple[Rating, ...] = (
    "good", "approaching target", "requires improvement", "inadequate")


def rate(actual: Decimal, target: Decimal | None, scale: Ratings) -> Rating:
    """The Procurement Act descriptor for ``actual`` against ``target``.

    Compared unrounded (89.996% is not 90%); no target, or a zero target, is "other".
    """
    if target is None or target <= 0:
        return "other"
    share = actual / target
    if share >= scale.good:
        return "good"
    if share >= scale.approaching:
        return "approaching target"
    if share >= scale.requires_improvement:
        return "requires improvement"
    return "inadequate"


def at_least(rating: Rating, floor: Rating) -> bool:
    """Whether ``rating`` is ``floor`` or better ("other" is never at least anything)."""
    return rating != "other" and RATING_ORDER.index(rating) <= RATING_ORDER.index(floor)


def worst(ratings: list[Rating]) -> Rating:
    rated = [r for r in ratings if r != "other"]
    if not rated:
        return "other"
    return max(rated, key=RATING_ORDER.index)


def rate_improvement(gap: Decimal | None, own_test: bool, paid_on_pool: bool) -> Rating:
    """The descriptor of an improvement outcome (domain.md b5), from its payment test
    rather than a target: it has no target, its threshold is the bar.

    - ``good``: the result clears the outcome's own threshold (paid on its own);
    - ``approaching target``: it misses its own threshold but is paid on its pool's;
    - ``requires improvement``: a reduction (``gap`` > 0) that no test has cleared (yet);
    - ``inadequate``: no reduction at all (as many events as expected, or more);
    - ``other``: no result returned yet (``gap`` None).
    """
    if gap is None:
        return "other"
    if own_test:
        return "good"
    if paid_on_pool:
        return "approaching target"
    return "requires improvement" if gap > 0 else "inadequate"
