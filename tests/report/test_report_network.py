"""The report's delivery network: what reached each provider, the integrator's fees, and
whether the market is diversifying (DESIGN 10).

Given a contract with a network (kinds, local, joined dates, terms) and returns -> when the
report is built -> then the figures, computed by hand in the comments.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from conftest import D, adjust, agreed, apply, fig, submit
from outcomeledger.domain.contract.state import ContractState
from outcomeledger.domain.payments.chain import provider_chain
from outcomeledger.domain.payments.mechanism import compute
from outcomeledger.domain.terms import Fee, Provider, ProviderTerms
from outcomeledger.report import ContractReport, build_report
from outcomeledger.report.csv import to_csv
from outcomeledger.report.html import contract_html
from outcomeledger.report.network_model import ProviderShare
from outcomeledger.report.tables import contract_sections
from outcomeledger.report.text import to_table_text
from outcomeledger.storage.head import Head

NO_HEAD = Head(0, "0" * 64, 0)
Q1, Q2, Q3, NEXT_Q1 = "FY2025-Q1", "FY2025-Q2", "FY2025-Q3", "FY2026-Q1"


def network_contract() -> ContractState:
    """O1 at 100 a unit, O2 at 250, a management fee of 1,000 a quarter to the integrator,
    and four providers:

    * A: SME, local, there from the start, paid 80% of what its outcomes earn;
    * B: VCSE, local, joins on 1 April 2026 (FY2026), paid its own 90 per O1 and 50 a
      quarter of membership;
    * C: large, not local, there from the start, leaves on 30 June 2026, no terms;
    * D: kind and locality not recorded, joins on 1 October 2025 (FY2025), no terms.

    Returns (the integrator returns 2 O1 of its own in FY2025-Q3)::

        FY2025-Q1  A: O1 3           C: O1 1, O2 2
        FY2025-Q3  A: O2 1           D: O1 2          integrator: O1 2
        FY2026-Q1  A: O1 1   B: O1 4 C: O2 1
    """
    providers = (
        Provider("A", "Alpha Ltd", kind="sme", local=True, terms=ProviderTerms(share=D("0.8"))),
        Provider("B", "Beta Trust", kind="vcse", local=True, joined=date(2026, 4, 1),
                 terms=ProviderTerms(prices={"O1": D(90)}, fee=D(50))),
        Provider("C", "Gamma plc", kind="large", local=False, left=date(2026, 6, 30)),
        Provider("D", "Delta", joined=date(2025, 10, 1)),
    )
    state = agreed(providers=providers, fees=(Fee("MF", "Management fee", D(1000)),))
    return apply(state,
                 submit(Q1, fig("O1", 3), provider="A"),
                 submit(Q1, fig("O1", 1), fig("O2", 2), provider="C"),
                 submit(Q3, fig("O2", 1), provider="A"),
                 submit(Q3, fig("O1", 2), provider="D"),
                 submit(Q3, fig("O1", 2)),
                 submit(NEXT_Q1, fig("O1", 1), provider="A"),
                 submit(NEXT_Q1, fig("O1", 4), provider="B"),
                 submit(NEXT_Q1, fig("O2", 1), provider="C"))


@pytest.fixture(scope="module")
def report() -> ContractReport:
    return build_report(network_contract(), NO_HEAD)


def row(report: ContractReport, provider_id: str) -> ProviderShare:
    return next(x for x in report.network.providers if x.id == provider_id)


def test_each_provider_is_described_with_its_kind_locality_and_membership(
        report: ContractReport) -> None:
    described = [(x.id, x.kind, x.local, x.joined, x.left) for x in report.network.providers]
    assert described == [
        ("A", "sme", True, None, None), ("B", "vcse", True, date(2026, 4, 1), None),
        ("C", "large", False, None, date(2026, 6, 30)), ("D", None, None, date(2025, 10, 1),
                                                          None),
        ("", None, None, None, None)]


def test_earned_and_payable_are_shared_pro_rata_to_the_units_returned(
        report: ContractReport) -> None:
    # A: 300 (3 of O1's 4 units in Q1) + 250 (O2, Q3) + 100 (1 of 5 O1 in FY2026-Q1) = 650
    # B: 400 (4 of 5); C: 100 + 500 (Q1) + 250 = 850; D: 200; the integrator's own: 200.
    # No cap binds: each payable is its earned, of outcome payments of 2,300.
    earned = {x.id: (x.earned, x.share, x.payable) for x in report.network.providers[:-1]}
    assert earned == {"A": (D("650.00"), D("0.2826"), D("650.00")),
                      "B": (D("400.00"), D("0.1739"), D("400.00")),
                      "C": (D("850.00"), D("0.3696"), D("850.00")),
                      "D": (D("200.00"), D("0.0870"), D("200.00"))}
    assert report.network.outcome_payable == D("2300.00")


def test_the_integrators_own_fees_are_shown_as_paid_to_it(report: ContractReport) -> None:
    # Five quarters in the schedule (FY2025-Q1 to FY2026-Q1) at 1,000 each.
    integrator = row(report, "")
    assert report.network.fees == report.payments.fees == D("5000.00")
    assert (integrator.earned, integrator.fees, integrator.payable) == (
        D("200.00"), D("5000.00"), D("5200.00"))
    assert sum((x.payable for x in report.network.providers), D(0)) == (
        report.network.outcome_payable + report.network.fees)
    assert all(x.fees is None for x in report.network.providers[:-1])


def test_the_integrator_is_paid_the_adjustments_and_keeps_what_reaches_no_provider(
        ) -> None:
    # A clawback of 300 is the supplier's: the network's rows add up to what the contract
    # pays before retention (outcomes 2,300 + fees 5,000 - 300). What reached providers:
    # A 520 and B 410 (owed on terms), C 850 and D 200 (no terms: their payable); the
    # integrator keeps the rest, 7,000 - 1,980 = 5,020: its own 200, the fees, the
    # clawback, and its margins on A (130) and B (-10).
    state = apply(network_contract(), adjust(Q3, "-300", kind="clawback"))
    report = build_report(state, NO_HEAD)
    integrator = row(report, "")
    assert report.network.adjustments == report.payments.adjustments == D("-300.00")
    assert (integrator.fees, integrator.adjustments, integrator.payable, integrator.margin,
            integrator.keeps) == (D("5000.00"), D("-300.00"), D("4900.00"), D("120.00"),
                                  D("5020.00"))
    assert sum((x.payable for x in report.network.providers), D(0)) == (
        report.payments.payable + report.payments.retained)
    assert all(x.adjustments is None and x.keeps is None
               for x in report.network.providers[:-1])


def test_what_reached_a_provider_on_a_share_of_its_outcome_payments(
        report: ContractReport) -> None:
    # A is owed 80% of 300 + 250 + 100 = 520; the integrator keeps 130.
    a = row(report, "A")
    assert (a.buyer_pays, a.owed, a.margin) == (D("650.00"), D("520.00"), D("130.00"))
    assert (a.provider_payments, a.payments_basis) == (D("520.00"), "owed")


def test_what_reached_a_provider_on_its_own_prices_and_fee(report: ContractReport) -> None:
    # B: 4 x 90 + 50 for FY2026-Q1, its only quarter of membership; the buyer paid 400 for
    # its outcomes, so the integrator pays 10 more than it receives for them.
    b = row(report, "B")
    assert (b.buyer_pays, b.owed, b.margin) == (D("400.00"), D("410.00"), D("-10.00"))
    assert (b.provider_payments, b.payments_basis) == (D("410.00"), "owed")


def test_a_provider_without_terms_is_owed_nothing_the_ledger_knows(
        report: ContractReport) -> None:
    for provider_id, payable in (("C", D("850.00")), ("D", D("200.00"))):
        x = row(report, provider_id)
        assert (x.buyer_pays, x.owed, x.margin) == (None, None, None)
        assert (x.provider_payments, x.payments_basis) == (payable, "payable")
    integrator = row(report, "")
    assert (integrator.owed, integrator.provider_payments, integrator.payments_basis) == (
        None, None, None)


def test_the_network_shows_the_chain_that_payments_provider_shows() -> None:
    state = network_contract()
    network = build_report(state, NO_HEAD).network
    for provider_id in ("A", "B"):
        chain = provider_chain(state, compute(state), provider_id)
        x = next(p for p in network.providers if p.id == provider_id)
        assert (x.buyer_pays, x.owed, x.margin) == (chain.buyer_pays, chain.owed, chain.margin)


def test_market_shares_of_provider_payments(report: ContractReport) -> None:
    # Provider payments: A 520 + B 410 (owed) + C 850 + D 200 (payable) = 1,980.
    market = report.network.market
    assert market is not None
    assert market.provider_payments == D("1980.00")
    assert market.sme_share == D("0.2626")  # 520 / 1980 = 0.26262...
    assert market.vcse_share == D("0.2071")  # 410 / 1980 = 0.20707...
    assert market.local_share == D("0.4697")  # (520 + 410) / 1980 = 0.46969...
    assert market.kind_unrecorded_share == D("0.1010")  # D: 200 / 1980 = 0.10101...
    assert market.local_unrecorded_share == D("0.1010")


def test_concentration_is_the_herfindahl_hirschman_index_of_provider_payments(
        report: ContractReport) -> None:
    # 10,000 x (520² + 410² + 850² + 200²) / 1980² = 10,000 x 1,201,000 / 3,920,400
    # = 3,063.4629...
    market = report.network.market
    assert market is not None
    assert market.hhi == D("3063.46")


def test_new_entrants_are_counted_in_the_financial_year_they_joined(
        report: ContractReport) -> None:
    # A and C were there from the start; D joined in October 2025 (FY2025), B in April
    # 2026 (FY2026). The contract runs FY2025 to FY2026 (to 31 March 2027).
    market = report.network.market
    assert market is not None
    assert market.founding == 2
    assert [(y.year, y.joined, y.providers) for y in market.entrants] == [
        ("FY2025", 1, ("D",)), ("FY2026", 1, ("B",))]


def test_as_at_a_date_the_chain_and_fees_stop_at_its_periods() -> None:
    # As at 31 December 2025: FY2025-Q1 to Q3. A is owed 80% of 300 + 250 = 440; B, not
    # yet a member, nothing; three quarters of fees.
    report = build_report(network_contract(), NO_HEAD, as_at=date(2025, 12, 31))
    a, b = row(report, "A"), row(report, "B")
    assert (a.buyer_pays, a.owed) == (D("550.00"), D("440.00"))
    assert (b.buyer_pays, b.owed, b.margin) == (D("0.00"), D("0.00"), D("0.00"))
    assert row(report, "").fees == D("3000.00")


def test_a_contract_without_a_network_has_no_market_figures() -> None:
    report = build_report(agreed(providers=()), NO_HEAD)
    assert (report.network.providers, report.network.market) == ((), None)


def test_a_network_paid_nothing_has_no_shares_and_no_index() -> None:
    report = build_report(agreed(), NO_HEAD)
    market = report.network.market
    assert market is not None
    assert (market.provider_payments, market.sme_share, market.hhi) == (D(0), None, None)
    assert market.founding == 2


def test_every_format_shows_the_fees_the_chain_and_the_market(report: ContractReport) -> None:
    sections = contract_sections(report)
    text = to_csv(sections)
    parts = {block.split("\n", 1)[0]: block.split("\n", 1)[1]
             for block in text.split("# ")[1:]}
    network = list(csv.DictReader(io.StringIO(parts["network"])))
    assert network[-1]["provider"] == "integrator"
    assert (network[-1]["fees"], network[-1]["payable"]) == ("5000.00", "5200.00")
    assert (network[1]["owed"], network[1]["margin"], network[2]["owed"]) == (
        "410.00", "-10.00", "")
    (market,) = csv.DictReader(io.StringIO(parts["network_market"]))
    assert (market["hhi"], market["sme_share"]) == ("3063.46", "0.2626")
    entrants = list(csv.DictReader(io.StringIO(parts["network_entrants"])))
    assert [(e["year"], e["providers"]) for e in entrants] == [("FY2025", "D"),
                                                             ("FY2026", "B")]
    table = to_table_text(sections)
    assert "hhi                     3,063.46" in table
    html = contract_html(report)
    assert ("SME 26.26%, VCSE 20.71% (kind not recorded 10.10%), local 46.97% (not "
            "recorded 10.10%)") in html
    assert "Herfindahl–Hirschman, 0–10,000) 3,063.46" in html
    assert "Delivery network: providers joined each financial year</caption>" in html


def test_each_provider_is_rated_against_its_share_of_the_targets() -> None:
    # A is to deliver 10 O1 and 4 O2 over the term; B 5 O1. A delivers 9 O1 (90%:
    # approaching target) and no O2 (0%: inadequate); B delivers 6 O1 (120%: good).
    state = apply(agreed(providers=(
        Provider("A", "Provider A", terms=ProviderTerms(share=D("0.8"), targets={
            "O1": D(10), "O2": D(4)})),
        Provider("B", "Provider B", terms=ProviderTerms(targets={"O1": D(5)})))),
        submit(Q1, fig("O1", 9), provider="A"), submit(Q1, fig("O1", 6), provider="B"))
    report = build_report(state, NO_HEAD)
    rows = {(p.id, o.code): (o.units, o.target, o.percent_of_target, o.rating)
            for p in report.network.providers for o in p.outcomes}
    assert rows[("A", "O1")] == (D(9), D(10), D("90.00"), "approaching target")
    assert rows[("A", "O2")] == (D(0), D(4), D("0.00"), "inadequate")
    assert rows[("B", "O1")] == (D(6), D(5), D("120.00"), "good")
    section = next(s for s in contract_sections(report) if s.name == "network_outcomes")
    assert section.columns[-3:] == ("target", "percent_of_target", "rating")
