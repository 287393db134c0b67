"""Worked scenarios of domain.md (c), end to end through the ledger and its services."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import pytest

from conftest import D, agreed_with, apply, tally, vary
from outcomeledger.app import demo
from outcomeledger.app import services as service
from outcomeledger.app.ledger import open_ledger
from outcomeledger.domain.commands import Meta
from outcomeledger.domain.payments.mechanism import compute
from outcomeledger.domain.payments.schedule import Schedule
from outcomeledger.imports.documents import load_terms, load_variation
from outcomeledger.storage.store import Ledger

GM, PB = "GMHP-2017", "PB-SIB-2010"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(str(tmp_path / "l.db"), create=True) as opened:
        yield opened


def data(name: str) -> Path:
    return Path(str(resources.files("outcomeledger").joinpath("demo_data", name)))


def at(day: str, actor: str = "commissioner:test") -> Meta:
    return Meta(datetime.fromisoformat(day).replace(tzinfo=UTC), actor)


def totals(schedule: Schedule) -> tuple[str, ...]:
    return tuple(str(schedule.total(name))
                 for name in ("earned", "above_cap", "payable", "certified"))


# -- S2: Greater Manchester: contract cap binds; a restatement the cap absorbs ---------

def test_s2_earned_above_cap_and_payable_match_the_published_totals(ledger: Ledger) -> None:
    demo.build_gm(ledger)
    schedule = compute(ledger.get(GM))
    assert totals(schedule) == ("3324020.00", "695020.00", "2629000.00", "2629000.00")
    assert schedule.headroom == D(0)


def test_s2_payments_per_financial_year(ledger: Ledger) -> None:
    demo.build_gm(ledger)
    rows = [(p.period, str(p.earned), str(p.above_cap), str(p.payable), str(p.certified))
            for p in compute(ledger.get(GM)).periods if p.lines]
    assert rows == [
        ("FY2017-Q4", "312000.00", "0.00", "312000.00", "312000.00"),
        # restated view: 1,202,400 as first reported, less 4 x 2,600
        ("FY2018-Q4", "1192000.00", "0.00", "1192000.00", "1202400.00"),
        ("FY2019-Q4", "1310000.00", "185000.00", "1125000.00", "1114600.00"),
        ("FY2020-Q4", "510020.00", "510020.00", "0.00", "0.00"),
    ]


def test_s2_the_certification_after_the_restatement_nets_the_clawback(ledger: Ledger) -> None:
    demo.build_gm(ledger)
    state = ledger.get(GM)
    runs = [(c.period, c.amount, c.true_up) for c in state.certifications]
    assert runs == [
        ("FY2017-Q4", D("312000.00"), D(0)),
        ("FY2018-Q4", D("1202400.00"), D(0)),
        ("FY2019-Q4", D("1114600.00"), D("-10400.00")),
        ("FY2020-Q4", D(0), D(0)),
    ]


def test_s2_the_restatement_keeps_the_first_reported_figure(ledger: Ledger) -> None:
    demo.build_gm(ledger)
    record = ledger.get(GM).figures[("FY2018-Q4", "", "ACC12", "")]
    assert record.value == D(120)
    [(first_value, first_recorded)] = record.history
    assert first_value == D(124)
    assert first_recorded.recorded_by == "provider:data-team@gmhp.org.uk"
    assert record.recorded.recorded_by == "validator:audit@gmca.gov.uk"
    assert "landlord letters" in record.recorded.reason


def test_s2_the_term_extension_and_closure_are_recorded(ledger: Ledger) -> None:
    demo.build_gm(ledger)
    state = ledger.get(GM)
    assert state.current_terms.end == date(2021, 3, 31)
    assert state.base_terms.end == date(2020, 12, 31)
    assert state.closed_on == date(2021, 6, 30)


def build_gm_without_restatement(ledger: Ledger) -> None:
    """The S2 history exactly as the demo records it, minus the 2019 restatement."""
    provider = "provider:data-team@gmhp.org.uk"
    service.agree(ledger, data("gm.toml"), at("2017-12-01T10:00:00"))
    for fy, imported, paid in (("2017", "2018-04-20", "2018-05-15"),
                               ("2018", "2019-04-25", "2019-05-15"),
                               ("2019", "2020-04-24", "2020-05-15")):
        service.import_returns(ledger, [str(data(f"gm_FY{fy}-Q4.csv"))],
                               at(f"{imported}T09:30:00", provider))
        service.certify(ledger, GM, f"FY{fy}-Q4", at(f"{paid}T12:00:00"))
    service.vary(ledger, GM, data("gm_extension.toml"), date(2020, 10, 1), "extended",
                 at("2020-12-10T11:00:00"))
    service.import_returns(ledger, [str(data("gm_FY2020-Q4.csv"))],
                           at("2021-04-23T09:30:00", provider))
    service.certify(ledger, GM, "FY2020-Q4", at("2021-05-14T12:00:00"))
    service.close(ledger, GM, date(2021, 6, 30), "final reconciliation",
                  at("2021-06-30T15:00:00"))


def test_s2_without_the_restatement_the_cash_is_the_same(tmp_path: Path,
                                                         ledger: Ledger) -> None:
    demo.build_gm(ledger)
    with open_ledger(str(tmp_path / "counterfactual.db"), create=True) as other:
        build_gm_without_restatement(other)
        without = other.get(GM)
    with_restatement = compute(ledger.get(GM))
    counterfactual = compute(without)
    assert counterfactual.total("payable") == with_restatement.total("payable") == D(2629000)
    # the 4 withdrawn claims were earned only in the counterfactual
    assert counterfactual.total("earned") - with_restatement.total("earned") == D(10400)
    assert counterfactual.total("above_cap") == D("705420.00")
    fy2019 = [c for c in without.certifications if c.period == "FY2019-Q4"]
    assert [(c.amount, c.true_up) for c in fy2019] == [(D("1114600.00"), D(0))]
    assert without.certified_total == ledger.get(GM).certified_total == D(2629000)


# -- S1: Peterborough: per-cohort and pooled thresholds; cohort 3 retired --------------

def test_s1_pays_279_events_avoided_at_10000(ledger: Ledger) -> None:
    demo.build_pb(ledger)
    schedule = compute(ledger.get(PB))
    assert schedule.total("payable") == D("2790000.00")
    lines = [(line.outcome, line.paid_units, str(line.payable))
             for line in schedule.period("FY2017-Q2").lines]  # type: ignore[union-attr]
    assert lines == [("C1", D(130), "1300000.00"), ("C2", D(149), "1490000.00")]


def test_s1_cohort_1_alone_misses_the_10_percent_trigger(ledger: Ledger) -> None:
    demo.build_pb(ledger)
    state = ledger.get(PB)
    q2 = compute(state).period("FY2014-Q2")
    assert q2 is not None
    assert (str(q2.earned), str(q2.payable)) == ("0.00", "0.00")
    [line] = q2.lines
    assert "reduction 8.3871%" in next(s.detail for s in line.steps if s.label == "result")
    assert [(c.period, str(c.amount)) for c in state.certifications] == [
        ("FY2014-Q2", "0.00"), ("FY2017-Q2", "2790000.00")]


def pb_history(retire_cohort_3: bool) -> Schedule:
    state = agreed_with(load_terms(data("pb.toml")))
    if retire_cohort_3:
        state = apply(state, vary(load_variation(data("pb_drop_cohort3.toml")),
                                    date(2014, 4, 1), "pilot ended after two cohorts"))
    return compute(apply(state, tally("FY2014-Q2", C1=1420), tally("FY2017-Q2", C2=1401)))


def test_s1_without_retiring_cohort_3_the_pooled_test_never_runs() -> None:
    schedule = pb_history(retire_cohort_3=False)
    assert [p.period for p in schedule.periods][-1] == "FY2017-Q2"
    assert schedule.total("payable") == D(0)
    assert schedule.total("earned") == D(0)


def test_s1_retiring_cohort_3_through_the_decider_pays_the_pooled_gap() -> None:
    assert pb_history(retire_cohort_3=True).total("payable") == D("2790000.00")


def test_s1_a_cohort_at_exactly_10_percent_is_paid_on_its_own() -> None:
    state = agreed_with(load_terms(data("pb.toml")))
    schedule = compute(apply(state, tally("FY2014-Q2", C1=1395)))
    assert schedule.total("payable") == D("1550000.00")
