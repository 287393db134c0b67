"""The accountability report: each section's figures on the domain.md scenarios."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from conftest import D, agreed, agreed_with, apply, certify, fig, outcome, submit, tally
from outcomeledger.app.demo import build_enf, build_gm, build_pb
from outcomeledger.app.ledger import open_ledger
from outcomeledger.app.report_source import Source
from outcomeledger.domain.money import quantize
from outcomeledger.domain.terms import Payer
from outcomeledger.imports.documents import load_terms
from outcomeledger.report import ContractReport, build_portfolio, build_report
from outcomeledger.report.html import contract_html
from outcomeledger.report.model import CapUse, OutcomePerformance
from outcomeledger.report.payments import participant_usage
from outcomeledger.report.view import View
from outcomeledger.storage.head import Head
from outcomeledger.storage.store import Ledger

GM, PB, ENF = "GMHP-2017", "PB-SIB-2010", "MHEP-ENF-2018"
NO_HEAD = Head(0, "0" * 64, 0)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    path = tmp_path_factory.mktemp("report") / "ledger.db"
    with open_ledger(str(path), create=True) as opened:
        build_gm(opened)
        build_pb(opened)
        build_enf(opened)
        yield opened


def report_of(ledger: Ledger, reference: str, as_at: date | None = None) -> ContractReport:
    return build_report(ledger.get(reference), Source(ledger).head(), as_at=as_at)


def cap(report: ContractReport, kind: str, subject: str | None = None) -> CapUse:
    return next(c for c in report.payments.caps
                if c.kind == kind and (subject is None or c.subject == subject))


def performance_of(report: ContractReport, code: str) -> OutcomePerformance:
    return next(o for o in report.performance.outcomes if o.code == code)


# -- payments against caps ---------------------------------------------------------------

def test_gm_payments_against_caps_match_the_published_totals(ledger: Ledger) -> None:
    pay = report_of(ledger, GM).payments
    assert (str(pay.earned), str(pay.payable), str(pay.above_cap), str(pay.certified)) == (
        "3324020.00", "2629000.00", "695020.00", "2629000.00")
    contract = cap(report_of(ledger, GM), "contract")
    assert (str(contract.limit), str(contract.used), str(contract.headroom)) == (
        "2629000.00", "2629000.00", "0.00")
    assert contract.reached


def test_gm_cost_per_outcome_is_per_outcome_never_blended(ledger: Ledger) -> None:
    report = report_of(ledger, GM)
    pay = report.payments
    acc0 = next(o for o in pay.outcomes if o.code == "ACC0")
    assert (acc0.units, acc0.earned, acc0.price, acc0.cost_per_unit) == (
        D(328), D("196800.00"), D("600.00"), D("585.37"))
    # The blended 886.38 (accommodation averaged with wellbeing checks) is gone.
    assert not hasattr(pay, "cost_per_outcome")
    assert "886.38" not in contract_html(report)


def test_retention_held_and_released_are_separate_never_negative(ledger: Ledger) -> None:
    pay = report_of(ledger, ENF).payments
    last = pay.periods[-1]
    assert (last.period, last.retained, last.retention_held, last.retention_released) == (
        "FY2021-Q1", D("-10120.00"), D("0.00"), D("10120.00"))
    assert all(p.retention_held >= 0 and p.retention_released >= 0 for p in pay.periods)
    assert pay.retention_held - pay.retention_released == pay.retained == D("0.00")
    assert pay.retention_held == D("10120.00")


def test_a_result_per_cohort_contract_is_not_missing_a_return_every_quarter(
        ledger: Ledger) -> None:
    returns = report_of(ledger, PB).returns
    assert (returns.expected, returns.periods_expected, returns.results_expected,
            returns.received, returns.missing, returns.results_awaited) == (2, 0, 2, 2, 0, ())
    assert [r.period for r in returns.rows] == ["FY2014-Q2", "FY2017-Q2"]


def test_an_improvement_result_not_yet_returned_is_awaited_not_missing() -> None:
    cohort = outcome("C1", kind="improvement", baseline=D(155), per=D(100),
                     cohort_size=D(1000), threshold=D("0.10"))
    state = apply(agreed(outcomes=(outcome("O1"), cohort)), tally("FY2025-Q2", O1=1))
    returns = build_report(state, NO_HEAD).returns
    assert (returns.periods_expected, returns.missing, returns.results_expected,
            returns.results_awaited) == (2, 1, 1, ("C1",))


def test_gm_participant_cap_cannot_bind_without_participant_figures(ledger: Ledger) -> None:
    participant = cap(report_of(ledger, GM), "participant")
    assert (participant.limit, participant.used, participant.reached) == (
        D("19000.00"), D("0.00"), False)


def test_the_participant_cap_row_shows_the_highest_participant() -> None:
    """domain.md S2: P-0173 earns 20,620 against the 19,000 per-person cap."""
    path = resources.files("outcomeledger").joinpath("demo_data", "gm.toml")
    codes = ("ACC0", "ACC3", "ACC6", "ACC12", "ACC18", "ACC24", "WB1", "WB2", "WB3", "MH0",
             "MH1", "DRG0", "DRG1", "QUAL", "VOL13", "VOL26", "FT13", "FT26")
    state = apply(agreed_with(load_terms(Path(str(path)))),
                  submit("FY2018-Q1", *(fig(c, 1, "P-0173") for c in codes[:9])),
                  submit("FY2018-Q2", *(fig(c, 1, "P-0173") for c in codes[9:])),
                  submit("FY2018-Q2", fig("ACC0", 1, "P-0200"), provider="BRICK"))
    row = cap(build_report(state, NO_HEAD), "participant")
    assert (row.subject, row.used, row.headroom, row.reached) == (
        "P-0173", D("19000.00"), D("0.00"), True)
    assert "20,620.00 earned before the cap" in row.note
    assert build_report(state, NO_HEAD).payments.above_cap == D("1620.00")


def test_participant_usage_agrees_with_the_mechanism_s_own_cuts() -> None:
    """What the cap removed (the mechanism's steps) equals usage above the cap (ours)."""
    state = apply(agreed(participant_cap=D(250), outcomes=(
                      outcome("O1"), outcome("O2", price=D(250), requires=("O1",)),
                      outcome("O3", price=D(40), cap_units=D(3), once_per_participant=False))),
                  submit("FY2025-Q1", fig("O1", 1, "A"), fig("O1", 1, "B"), fig("O3", 2, "A"),
                           fig("O1", 4)),
                  submit("FY2025-Q2", fig("O2", 1, "A"), fig("O3", 2, "B")))
    view = View(state)
    usage = participant_usage(view)
    cut = -sum((s.amount or D(0) for p in view.periods for line in p.lines
                for s in line.steps if s.label == "participant_cap"), D(0))
    assert cut > 0
    assert cut == quantize(sum((max(D(0), u - D(250)) for u in usage.values()), D(0)), "GBP")
    assert (usage["A"], usage["B"]) == (D(430), D(180))  # 100 + 80 + 250; 100 + 80


def test_outcome_caps_report_units_and_value_headroom() -> None:
    state = apply(agreed(outcomes=(outcome("O1", cap_units=D(10)),
                                   outcome("O2", price=D(250), cap_value=D(1000)))),
                  tally("FY2025-Q1", O1=6, O2=3), tally("FY2025-Q2", O1=6, O2=2))
    report = build_report(state, NO_HEAD)
    units, value = cap(report, "outcome_units", "O1"), cap(report, "outcome_value", "O2")
    assert (units.used, units.headroom, units.reached) == (D(10), D(0), True)
    assert units.note == "12 units achieved; 2 above the cap"
    assert (value.used, value.headroom, value.reached) == (D("1000.00"), D("0.00"), True)


# -- restatement and clawback register ---------------------------------------------------

def test_gm_restatement_register_shows_the_cap_absorbing_the_clawback(ledger: Ledger) -> None:
    (row,) = report_of(ledger, GM).register.restatements
    assert (row.period, row.outcome, row.original, row.restated, row.difference) == (
        "FY2018-Q4", "ACC12", D(124), D(120), D(-4))
    assert row.earned_difference == D("-10400.00")
    assert row.payable_through_period_change == D("-10400.00")  # netted in FY2019-Q4's run
    assert (row.cash_effect, row.cash_effect_note) == (D("0.00"), "absorbed by cap")
    assert row.recorded_by == "validator:audit@gmca.gov.uk"
    assert row.recorded_at == datetime(2019, 6, 30, 16, tzinfo=UTC)
    assert row.reason.startswith("tenancy ended before 12 months")
    assert row.evidence == "validator-audit-2019-06 landlord letters"


def test_a_restatement_below_any_cap_is_recovered_from_the_next_run() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=10), certify("FY2025-Q1"))
    state = apply(state, submit("FY2025-Q1", fig("O1", 8), restate=True,
                                  reason="2 claims withdrawn"),
                  at=datetime(2025, 8, 1, tzinfo=UTC))
    (row,) = build_report(state, NO_HEAD).register.restatements
    assert (row.difference, row.earned_difference, row.cash_effect) == (
        D(-2), D("-200.00"), D("-200.00"))
    assert row.cash_effect_note == "recovered: netted against the next payment run"


def test_enf_register_lists_the_extrapolated_recovery(ledger: Ledger) -> None:
    (adjustment,) = report_of(ledger, ENF).register.adjustments
    assert (adjustment.period, adjustment.kind, adjustment.amount) == (
        "FY2019-Q1", "recovery", D("-700.00"))
    assert adjustment.recorded_by == "validator:audit@enfield.gov.uk"


# -- variation log -----------------------------------------------------------------------

def test_pb_variation_log_shows_cohort_3_retired(ledger: Ledger) -> None:
    (entry,) = report_of(ledger, PB).variations
    assert entry.changes == ("outcome C3: retired",)
    assert entry.effective_from == date(2014, 4, 1)
    assert entry.reason == "pilot ended after two cohorts (Transforming Rehabilitation)"
    assert entry.recorded_by == "commissioner:reducing-reoffending@justice.gov.uk"
    assert not performance_of(report_of(ledger, PB), "C3").in_force


def test_enf_variation_log_shows_prices_before_and_after(ledger: Ledger) -> None:
    (entry,) = report_of(ledger, ENF).variations
    assert entry.changes == ("S16H.price: 2300 → 2700", "S16L.price: 1200 → 1400")
    assert entry.in_force
    assert not report_of(ledger, ENF, as_at=date(2019, 12, 31)).variations[0].in_force


def test_the_variation_log_shows_what_each_variation_changed_in_payable(
        ledger: Ledger) -> None:
    # ENF's re-pricing: total payable 205,400 as recorded, 201,000 without it (what
    # `payments MHEP-ENF-2018 --without v15` prints).
    (entry,) = report_of(ledger, ENF).variations
    assert (entry.event, entry.payable_effect) == ("v15", D("4400.00"))
    assert report_of(ledger, ENF).payments.payable == D("205400.00")
    # Not in force by the as-at date: nothing of it is payable through those periods.
    assert report_of(ledger, ENF, as_at=date(2019, 12, 31)).variations[0].payable_effect == 0
    # PB's retirement of cohort 3 is what let the pooled test run (every member of the
    # pool in force has a result): without it nothing would be payable at all.
    pb = report_of(ledger, PB)
    assert pb.variations[0].payable_effect == pb.payments.payable == D("2790000.00")


# -- performance against target ----------------------------------------------------------

def test_gm_lifetime_target_is_rated_on_the_cumulative_actual_only(ledger: Ledger) -> None:
    acc0 = performance_of(report_of(ledger, GM), "ACC0")
    assert acc0.cumulative.target_basis == "lifetime"
    assert (acc0.cumulative.target, acc0.cumulative.actual, acc0.cumulative.variance) == (
        D(300), D(328), D(28))
    assert (acc0.cumulative.pct_of_target, acc0.cumulative.rating) == (D("109.33"), "good")
    assert all(p.target is None and p.rating == "other" for p in acc0.periods)
    assert [p.period for p in acc0.periods] == ["FY2017-Q4", "FY2018-Q4", "FY2019-Q4",
                                               "FY2020-Q4"]


def test_enf_per_period_targets_give_ratings_and_trends(ledger: Ledger) -> None:
    eng = performance_of(report_of(ledger, ENF), "ENG")
    rows = [(p.period, p.target, p.actual, p.rating, p.trend) for p in eng.periods]
    assert rows[:4] == [
        ("FY2018-Q2", D(20), D(23), "good", None),
        ("FY2018-Q3", D(30), D(29), "approaching target", "up"),
        ("FY2018-Q4", D(30), D(33), "good", "up"),
        ("FY2019-Q1", D(30), D(39), "good", "up"),
    ]
    assert (eng.cumulative.target_basis, eng.cumulative.target, eng.cumulative.actual) == (
        "per_period", D(110), D(153))
    assert eng.lifetime_target == D(110)


def test_pb_improvement_outcomes_are_rated_by_their_test(ledger: Ledger) -> None:
    report = report_of(ledger, PB)
    assert report.performance.overall == "approaching target"  # paid on the pooled test
    assert performance_of(report, "C1").cumulative.actual == D(1420)


def test_overall_rating_is_the_worst_rated_outcome() -> None:
    state = apply(agreed(outcomes=(outcome("O1", target=D(10)), outcome("O2", target=D(10)))),
                  tally("FY2025-Q1", O1=10, O2=7))
    perf = build_report(state, NO_HEAD).performance
    assert [o.cumulative.rating for o in perf.outcomes] == ["good", "inadequate"]
    assert perf.overall == "inadequate"


# -- returns -----------------------------------------------------------------------------

def test_enf_returns_are_expected_from_every_provider(ledger: Ledger) -> None:
    returns = report_of(ledger, ENF).returns
    assert returns.expected_by == "provider"
    assert (returns.expected, returns.received, returns.missing, returns.late) == (24, 10, 14, 0)
    assert (returns.periods_expected, returns.results_expected) == (24, 0)
    missing = {(r.period, r.provider) for r in returns.rows if r.status == "missing"}
    assert ("FY2019-Q2", "TWIN") in missing
    assert ("FY2021-Q1", "BEH") in missing


def test_gm_consolidated_returns_are_expected_per_contract(ledger: Ledger) -> None:
    returns = report_of(ledger, GM).returns
    assert (returns.expected_by, returns.received, returns.missing) == ("contract", 4, 10)
    (restated,) = [r for r in returns.rows if r.restatements]
    assert restated.period == "FY2018-Q4"


def test_a_return_recorded_after_its_due_date_is_counted_late() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=1))
    state = apply(state, tally("FY2025-Q2", O1=1), at=datetime(2026, 1, 5, tzinfo=UTC))
    returns = build_report(state, NO_HEAD).returns
    assert [(r.period, r.late) for r in returns.rows] == [("FY2025-Q1", False),
                                                          ("FY2025-Q2", True)]
    assert returns.late == 1


# -- delivery network, payer split, social value -----------------------------------------

def test_enf_network_shares_earned_pro_rata_to_returned_units(ledger: Ledger) -> None:
    network = report_of(ledger, ENF).network
    twin, beh, integrator = network.providers
    assert (twin.id, beh.id, integrator.id) == ("TWIN", "BEH", "")
    assert twin.earned + beh.earned + integrator.earned == D("170100.00")
    # The integrator's row adds the contract's fees and adjustments, paid to it (the
    # supplier), to the outcome payments left to it: the £36,000 management fee and the
    # £700 recovery; it keeps £35,300 (issue 20: it showed 0.00 payable).
    assert integrator.fees == network.fees == D("36000.00")
    assert (integrator.adjustments, integrator.payable, integrator.keeps) == (
        D("-700.00"), D("35300.00"), D("35300.00"))
    assert twin.payable + beh.payable + integrator.payable == (
        network.outcome_payable + network.fees + network.adjustments)
    assert (twin.earned, twin.share) == (D("110700.00"), D("0.6508"))
    assert {o.code: o.units for o in twin.outcomes}["ENG"] == D(97)


def test_enf_payer_split_gives_dcms_42_percent_and_the_residue_to_lbe(ledger: Ledger) -> None:
    report = report_of(ledger, ENF)
    dcms, lbe = report.payers
    assert (dcms.id, dcms.share, dcms.residue, lbe.id, lbe.share, lbe.residue) == (
        "DCMS", D("0.42"), False, "LBE", D("0.58"), True)
    for a, b in zip(dcms.periods, lbe.periods, strict=True):
        assert a.amount == quantize(a.payable * D("0.42"), "GBP")
        assert b.amount == a.payable - a.amount
    assert (dcms.amount, lbe.amount) == (D("86268.00"), D("119132.00"))
    assert dcms.amount + lbe.amount == report.payments.payable
    assert (dcms.headroom, dcms.over_commitment) == (D("174421.00"), False)
    assert cap(report, "payer", "DCMS").used == dcms.amount


def test_rounding_residue_goes_to_the_declared_payer() -> None:
    payers = (Payer("A", "Payer A", D("0.3333")), Payer("B", "Payer B", D("0.3334"),
                                                        residue=True),
              Payer("C", "Payer C", D("0.3333"), commitment=D(30)))
    state = apply(agreed(payers=payers), tally("FY2025-Q1", O1=1))
    a, b, c = build_report(state, NO_HEAD).payers
    assert (a.amount, b.amount, c.amount) == (D("33.33"), D("33.34"), D("33.33"))
    assert (c.headroom, c.over_commitment) == (D("-3.33"), True)


def test_enf_social_value_is_grouped_by_mission(ledger: Ledger) -> None:
    (mission,) = report_of(ledger, ENF).social_value
    (line,) = mission.commitments
    assert mission.mission == "Kickstart economic growth"
    assert (line.code, line.target, line.delivered, line.pct_of_target, line.rating) == (
        "SV-LW", D(60), D(22), D("36.67"), "inadequate")
    assert line.proxy_total == mission.proxy_total == D("317526.00")  # 22 x 14,433


# -- as at a date, portfolio, head -------------------------------------------------------

def test_as_at_reads_the_terms_and_periods_in_force_then(ledger: Ledger) -> None:
    report = report_of(ledger, ENF, as_at=date(2019, 12, 31))
    assert report.basis.through_period == "FY2019-Q3"
    assert report.basis.terms_in_force == "agreed (v1)"
    assert report.payments.periods[-1].period == "FY2019-Q3"
    assert report.payments.earned == D("117500.00")
    assert report.social_value[0].commitments[0].delivered == D(13)


def test_the_portfolio_summarises_every_contract(ledger: Ledger) -> None:
    head = Source(ledger).head()
    reports = [build_report(ledger.get(ref), head) for ref in ledger.references()]
    portfolio = build_portfolio(reports, head)
    rows = {r.reference: r for r in portfolio.contracts}
    assert list(rows) == [GM, PB, ENF]
    assert (rows[GM].headroom, rows[GM].above_cap, rows[GM].restatements) == (
        D("0.00"), D("695020.00"), 1)
    assert rows[PB].contract_cap is None
    assert portfolio.head.position == 38


def test_the_report_names_the_ledger_head_it_was_computed_from(ledger: Ledger) -> None:
    report = report_of(ledger, GM)
    assert (report.head.position, report.head.streams) == (38, 3)
    assert report.stream.version == ledger.get(GM).version
    assert report.stream.hash == ledger.get(GM).head_hash
    assert isinstance(report.payments.earned, Decimal)


def test_money_is_always_at_the_currency_minor_unit(ledger: Ledger) -> None:
    pay = report_of(ledger, ENF).payments
    amounts = [getattr(p, f) for p in pay.periods for f in (
        "earned", "above_cap", "adjustments", "fees", "retained", "payable",
        "cumulative_payable", "certified", "true_up")]
    amounts += [getattr(o, f) for o in pay.outcomes for f in ("earned", "above_cap",
                                                              "payable")]
    amounts += [pay.adjustments, pay.retained, *(c.limit for c in pay.caps)]
    assert {a.as_tuple().exponent for a in amounts} == {-2}
