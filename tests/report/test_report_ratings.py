"""Rating thresholds: a contract term with documented defaults (Procurement Act 2023)."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from conftest import T0, D, agreed, apply, outcome, tally, terms, vary
from outcomeledger.domain import codec
from outcomeledger.domain.events import ContractAgreed
from outcomeledger.domain.ratings import rate
from outcomeledger.domain.term_checks import check_terms
from outcomeledger.domain.terms import DEFAULT_RATINGS, ContractTerms, Ratings
from outcomeledger.domain.variations import Variation
from outcomeledger.report import build_report
from outcomeledger.storage.head import Head


def test_the_default_thresholds_are_100_90_and_75_percent_of_target() -> None:
    assert [rate(D(x), D(100), DEFAULT_RATINGS) for x in (100, 90, 89.99, 75, 74)] == [
        "good", "approaching target", "requires improvement", "requires improvement",
        "inadequate"]
    assert rate(D(5), None, DEFAULT_RATINGS) == rate(D(5), D(0), DEFAULT_RATINGS) == "other"


def test_ratings_compare_unrounded_shares() -> None:
    # 899.99 of 1000 is 89.999%: shown as 90.00% but still below "approaching target"
    assert rate(D("899.99"), D(1000), DEFAULT_RATINGS) == "requires improvement"


def test_a_contract_sets_its_own_thresholds() -> None:
    scale = Ratings(good=D("0.95"), approaching=D("0.85"), requires_improvement=D("0.60"))
    state = apply(agreed(outcomes=(outcome("O1", target=D(100)),), ratings=scale),
                  tally("FY2025-Q1", O1=96))
    perf = build_report(state, Head(0, "0" * 64, 0)).performance
    assert perf.outcomes[0].cumulative.rating == "good"
    assert (perf.ratings.good, perf.ratings.source) == (D("0.95"), "contract")


def test_a_partial_ratings_table_keeps_the_other_defaults() -> None:
    data = {"reference": "R", "title": "t", "buyer": "b", "supplier": "s",
            "start": "2025-04-01", "end": "2026-03-31", "cadence": "quarter",
            "outcomes": [{"code": "O1", "name": "o", "price": "1"}],
            "ratings": {"good": "0.95"}}
    t = msgspec.convert(data, ContractTerms, strict=False)
    assert t.ratings == Ratings(good=D("0.95"))
    assert t.ratings.approaching == D("0.90")


def test_unknown_keys_and_increasing_thresholds_are_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="excellent"):
        msgspec.convert({"good": "1", "excellent": "2"}, Ratings, strict=False)
    bad = terms(ratings=Ratings(good=D("0.80"), approaching=D("0.90")))
    assert [p.field for p in check_terms(bad, "c")] == ["ratings"]
    negative = terms(ratings=Ratings(requires_improvement=D("-0.1")))
    assert "ratings.requires_improvement" in [p.field for p in check_terms(negative, "c")]


def test_a_variation_replaces_the_thresholds_from_its_date() -> None:
    lenient = Ratings(good=D("0.95"), approaching=D("0.8"), requires_improvement=D("0.5"))
    state = apply(agreed(outcomes=(outcome("O1", target=D(100)),)),
                  vary(Variation(ratings=lenient), date(2025, 10, 1)))
    assert state.terms_on(date(2025, 9, 30)).ratings is None
    assert state.terms_on(date(2025, 10, 1)).ratings == lenient


def test_contracts_agreed_before_ratings_existed_keep_their_stored_bytes() -> None:
    t = terms()
    event = ContractAgreed(contract=t.reference, recorded_at=T0, recorded_by="x", terms=t)
    stored = codec.encode(event)
    assert b"ratings" not in stored
    assert codec.encode(codec.decode("ContractAgreed/1", stored)) == stored
