"""The report as people read it (issue 20): empty periods folded away with a count, the
payer split as a payer x period grid; CSV keeps every row."""

from __future__ import annotations

from conftest import D, agreed, apply, tally
from outcomeledger.domain.terms import Payer
from outcomeledger.report import build_report
from outcomeledger.report.csv import to_csv
from outcomeledger.report.people import for_people
from outcomeledger.report.tables import Section, contract_sections
from outcomeledger.storage.head import Head

NO_HEAD = Head(0, "0" * 64, 0)


def _sections() -> dict[str, Section]:
    state = apply(agreed(payers=(Payer("A", "Payer A", D("0.6"), residue=True),
                                 Payer("B", "Payer B", D("0.4")))),
                  tally("FY2025-Q1", O1=10), tally("FY2025-Q4", O1=2))
    report = build_report(state, NO_HEAD)
    return {s.name: s for s in for_people(contract_sections(report))}


def test_empty_periods_are_folded_away_and_counted() -> None:
    payments = _sections()["payments"]
    assert [row[1] for row in payments.rows] == ["FY2025-Q1", "FY2025-Q4"]
    assert payments.title == "Payments per period (GBP; 2 empty periods not shown)"


def test_the_payer_split_is_a_payer_by_period_grid_with_totals() -> None:
    grid = _sections()["payer_grid"]
    assert grid.columns == ("contract", "period", "payable", "A", "B")
    assert [row[1:] for row in grid.rows] == [
        ("FY2025-Q1", D("1000.00"), D("600.00"), D("400.00")),
        ("FY2025-Q4", D("200.00"), D("120.00"), D("80.00")),
        ("total", D("1200.00"), D("720.00"), D("480.00"))]


def test_csv_keeps_every_period_and_the_tidy_payer_split() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=10), tally("FY2025-Q4", O1=2))
    text = to_csv(contract_sections(build_report(state, NO_HEAD)))
    payments = text.split("# payments\n")[1].split("# ")[0].splitlines()
    assert len(payments) == 1 + 4  # header and every period, empty ones included
    assert "# payer_split\n" in text
    assert "# payer_grid" not in text
