"""The improvement test shown (issue 20): baseline, comparison, reduction, thresholds,
the cohort and pooled tests and what they paid, and ratings derived from the test."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import D, agreed, apply, tally
from outcomeledger.app.demo import build_pb
from outcomeledger.app.ledger import open_ledger
from outcomeledger.app.report_source import Source
from outcomeledger.domain.contract.state import ContractState
from outcomeledger.domain.terms import Outcome
from outcomeledger.report import ContractReport, build_report
from outcomeledger.report.html import contract_html
from outcomeledger.report.improvement_model import ImprovementResult
from outcomeledger.storage.head import Head
from outcomeledger.storage.store import Ledger

PB = "PB-SIB-2010"
NO_HEAD = Head(0, "0" * 64, 0)


@pytest.fixture(scope="module")
def pb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContractReport]:
    path = tmp_path_factory.mktemp("improvement") / "ledger.db"
    with open_ledger(str(path), create=True) as ledger:
        build_pb(ledger)
        yield report_of(ledger)


def report_of(ledger: Ledger) -> ContractReport:
    return build_report(ledger.get(PB), Source(ledger).head())


def cohort(code: str, **overrides: Any) -> Outcome:
    """A Peterborough-like cohort: 155 events per 100 expected for 1,000 people, paid
    100 per event avoided from a 10% reduction, or 7.5% over the pool."""
    fields: dict[str, Any] = {
        "code": code, "name": f"Cohort {code}", "kind": "improvement", "price": D(100),
        "baseline": D(155), "per": D(100), "cohort_size": D(1000),
        "threshold": D("0.10"), "pool": "ALL", "pool_threshold": D("0.075")}
    fields.update(overrides)
    return Outcome(**fields)


def result(report: ContractReport, code: str) -> ImprovementResult:
    assert report.improvement is not None
    return next(x for x in report.improvement.outcomes if x.code == code)


def test_pb_shows_each_cohort_s_result_against_its_baseline(pb: ContractReport) -> None:
    c1, c2 = result(pb, "C1"), result(pb, "C2")
    assert (c1.baseline, c1.per, c1.exposure, c1.expected, c1.observed, c1.observed_rate,
            c1.gap, c1.reduction_pct, c1.threshold_pct, c1.result_period) == (
        D(155), D(100), D(1000), D(1550), D(1420), D("142.00"), D(130), D("8.39"),
        D("10.00"), "FY2014-Q2")
    assert (c2.observed_rate, c2.gap, c2.reduction_pct) == (D("140.10"), D(149), D("9.61"))
    assert c1.own_test == c2.own_test == "failed"  # 8.39% and 9.61% are below 10%


def test_pb_explains_the_2_79m_by_the_pooled_test(pb: ContractReport) -> None:
    assert pb.improvement is not None
    (pool,) = pb.improvement.pools
    assert (pool.pool, pool.members, pool.tested_in, pool.expected, pool.observed, pool.gap,
            pool.reduction_pct, pool.threshold_pct, pool.test) == (
        "ALL-COHORTS", ("C1", "C2"), "FY2017-Q2", D(3100), D(2821), D(279), D("9.00"),
        D("7.50"), "passed")
    c1, c2 = result(pb, "C1"), result(pb, "C2")
    assert (c1.paid_on, c1.units_paid, c1.price, c1.payable, c1.paid_in) == (
        "pooled result", D(130), D("10000.00"), D("1300000.00"), ("FY2017-Q2",))
    assert (c2.units_paid, c2.payable) == (D(149), D("1490000.00"))
    assert pool.payable_on_pool == pb.improvement.payable == pb.payments.payable == D(
        "2790000.00")


def test_a_retired_cohort_has_no_result_and_is_in_no_pool_test(pb: ContractReport) -> None:
    c3 = result(pb, "C3")
    assert (c3.in_force, c3.observed, c3.own_test, c3.pool_test, c3.payable, c3.rating) == (
        False, None, "no result", None, D("0.00"), "other")


def test_pb_ratings_come_from_the_test_not_other(pb: ContractReport) -> None:
    by_code = {o.code: o for o in pb.performance.outcomes}
    assert by_code["C1"].cumulative.rating == "approaching target"  # paid on the pool
    assert by_code["C1"].cumulative.target_basis == "improvement_test"
    # As known in FY2014-Q2: a reduction, below its threshold, the pool still open.
    assert [(p.period, p.rating) for p in by_code["C1"].periods] == [
        ("FY2014-Q2", "requires improvement")]
    assert [p.period for p in by_code["C2"].periods] == ["FY2017-Q2"]
    assert pb.performance.overall == "approaching target"


def test_pb_html_explains_the_payment_with_figures_a_reader_can_check(
        pb: ContractReport) -> None:
    page = contract_html(pb)
    assert 'id="improvement"' in page
    assert 'href="#improvement"' in page
    assert ("1,420 events observed (142.00 per 100) against 1,550 expected at the "
            "baseline of 155 per 100 for a cohort of 1,000: 130 events avoided, a "
            "reduction of 8.39%, which is below its own threshold of 10.00%") in page
    assert "a pooled reduction of 9.00%, which clears its threshold of 7.50%" in page
    assert "130 events avoided × £10,000.00 per event = <strong>£1,300,000.00" in page


def test_a_cohort_clearing_its_own_threshold_is_good_and_paid_on_its_own() -> None:
    state = apply(agreed(outcomes=(cohort("C1", pool=None, pool_threshold=None),)),
                  tally("FY2025-Q1", C1=1300))  # 250 avoided: 16.13%
    report = build_report(state, NO_HEAD)
    c1 = result(report, "C1")
    assert (c1.own_test, c1.pool_test, c1.paid_on, c1.payable, c1.rating) == (
        "passed", None, "own result", D("25000.00"), "good")
    assert report.improvement is not None
    assert report.improvement.pools == ()


def test_no_reduction_is_inadequate_and_a_missed_pool_pays_nothing() -> None:
    state = apply(agreed(outcomes=(cohort("C1"), cohort("C2"))),
                  tally("FY2025-Q1", C1=1600), tally("FY2025-Q2", C2=1500))
    report = build_report(state, NO_HEAD)
    assert report.improvement is not None
    (pool,) = report.improvement.pools
    assert (pool.gap, pool.test, pool.payable_on_pool) == (D(0), "failed", D("0.00"))
    assert [(x.code, x.rating, x.payable) for x in report.improvement.outcomes] == [
        ("C1", "inadequate", D("0.00")), ("C2", "requires improvement", D("0.00"))]


def test_a_pool_awaiting_a_result_is_not_judged() -> None:
    state = apply(agreed(outcomes=(cohort("C1"), cohort("C2"))), tally("FY2025-Q1", C1=1420))
    report = build_report(state, NO_HEAD)
    assert report.improvement is not None
    (pool,) = report.improvement.pools
    assert (pool.tested_in, pool.awaiting, pool.test, pool.reduction_pct) == (
        None, ("C2",), "no result", None)
    assert result(report, "C1").pool_test == "no result"


def test_a_contract_without_improvement_outcomes_has_no_section() -> None:
    assert build_report(apply(agreed(), tally("FY2025-Q1", O1=1)), NO_HEAD).improvement is None


def _pb_like(c1: int, c2: int) -> ContractState:
    return apply(agreed(outcomes=(cohort("C1"), cohort("C2"))),
                 tally("FY2025-Q1", C1=c1), tally("FY2025-Q3", C2=c2))


@settings(max_examples=40, deadline=None)
@given(st.integers(1200, 1700), st.integers(1200, 1700))
def test_an_outcome_is_paid_exactly_when_the_section_says_a_test_passed(
        c1: int, c2: int) -> None:
    """The section re-walks the results; the schedule pays. They must agree on every
    outcome, whichever test decided it."""
    report = build_report(_pb_like(c1, c2), NO_HEAD)
    assert report.improvement is not None
    for x in report.improvement.outcomes:
        assert x.gap is not None
        passed = x.own_test == "passed" or x.pool_test == "passed"
        assert (x.payable != 0) == (passed and x.gap != 0)
        assert x.payable == x.units_paid * Decimal(100)
        assert x.units_paid == (x.gap if passed else 0)
