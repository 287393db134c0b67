"""The report's improvement-outcome section as data: the test that decides whether an
outcome paid on a reduction against a baseline or comparison group is paid (domain.md b5).

Part of the published JSON shape of ``report --format json`` (see :mod:`.model`), with the
same conventions: quantities and money as decimal strings, percentages to two places,
``null`` where there is no result yet. Apart from it because the section is built from
its own walk over the results (:mod:`.improvement`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from msgspec import Struct

from ..domain.ratings import Rating

#: A test's outcome: cleared its threshold, missed it, or no result to test yet.
TestResult = Literal["passed", "failed", "no result"]
PaidOn = Literal["own result", "pooled result"]


class ImprovementResult(Struct, frozen=True):
    """One improvement outcome (a cohort): its latest result against the baseline, its
    own test, its pool's, and what was paid because of them."""

    code: str
    name: str
    in_force: bool
    baseline: Decimal  # events per ``per`` expected (the baseline or comparison rate)
    per: Decimal
    exposure_basis: str  # "cohort_size", or the outcome code whose figures are exposure
    exposure: Decimal | None
    expected: Decimal | None  # the comparison: baseline x exposure / per
    observed: Decimal | None
    observed_rate: Decimal | None  # observed per ``per``, two places
    gap: Decimal | None  # events avoided: expected - observed
    reduction_pct: Decimal | None
    threshold_pct: Decimal | None
    result_period: str | None
    own_test: TestResult
    pool: str | None
    pool_threshold_pct: Decimal | None
    pool_test: TestResult | None  # None: in no pool (or retired before it was judged)
    paid_on: PaidOn | None
    units_paid: Decimal
    price: Decimal | None
    payable: Decimal
    paid_in: tuple[str, ...]
    rating: Rating


class PoolTest(Struct, frozen=True):
    """A pooled test over the outcomes of a pool in force: the members' gaps over their
    expected events, against the pool's threshold."""

    pool: str
    members: tuple[str, ...]
    tested_in: str | None  # the period of the last evaluation (None: awaiting results)
    awaiting: tuple[str, ...]  # members with no result yet
    expected: Decimal | None
    observed: Decimal | None
    gap: Decimal | None
    reduction_pct: Decimal | None
    threshold_pct: Decimal
    test: TestResult
    payable_on_pool: Decimal  # paid to members that missed their own threshold


class Improvement(Struct, frozen=True):
    outcomes: tuple[ImprovementResult, ...]
    pools: tuple[PoolTest, ...]
    payable: Decimal  # everything paid on improvement outcomes
