"""`contract business-case REF FILE --reason TEXT [--what-if]` and `payments REF
--business-case ID` (DESIGN 11), through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledgered import CONTRACT, Ledgered, rows
from outcomeledger.app.ledger import open_ledger

CASE = """\
id = "BC-7"
title = "Evening job clubs"
need = "Parents cannot attend daytime sessions"
effective = 2020-07-01
budget = "1000"
providers = ["P1"]

[[outcomes]]
code = "CLUB"
name = "Attended six job club evenings"
price = "100"
target = 15
"""


def contract(tmp_path: Path) -> Ledgered:
    ledger = Ledgered(tmp_path, str(tmp_path / "ledger.db"))
    assert ledger("init").exit_code == 0
    assert ledger("contract", "agree", ledger.write("c.toml", CONTRACT)).exit_code == 0
    ledger.imported("q1.csv", rows("C-IMP,FY2020-Q1,ENTRY,10"))
    return ledger


def stored(ledger: Ledgered) -> tuple[int, list[tuple[int, bytes]]]:
    with open_ledger(ledger.db) as opened:
        return opened.max_position(), [(s.position, s.state) for s in opened.feed()]


@pytest.mark.parametrize("fmt", ["json", "table", "csv"])
def test_what_if_prints_the_schedule_with_the_business_case_and_writes_nothing(
        tmp_path: Path, fmt: str) -> None:
    ledger = contract(tmp_path)
    before = stored(ledger)
    result = ledger("contract", "business-case", "C-IMP", ledger.write("bc.toml", CASE),
                    "--reason", "approved", "--what-if", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert stored(ledger) == before  # same count, same bytes, same head
    if fmt == "json":
        data = json.loads(result.stdout)
        assert data["written"] is False
        # 15 CLUB units at 100 promised by the target: 1,500 earned, its budget pays 1,000.
        assert data["totals"]["at_targets"] == {
            "without": "1000.00", "with": "2000.00", "business_case_earned": "1500.00",
            "business_case_payable": "1000.00"}
        assert data["totals"]["at_actuals"] == {"without": "1000.00", "with": "1000.00"}
    elif fmt == "table":
        words = " ".join(result.stdout.split())  # (a title wraps to the terminal's width)
        assert "at targets it adds 1,000.00" in words
        assert "nothing was written" in words


def test_approved_its_outcomes_are_paid_within_its_budget(tmp_path: Path) -> None:
    ledger = contract(tmp_path)
    result = ledger("contract", "business-case", "C-IMP", ledger.write("bc.toml", CASE),
                    "--reason", "approved by cabinet")
    assert result.exit_code == 0, result.stderr
    assert "approved business case BC-7 on C-IMP from 2020-07-01" in result.stderr
    header = "contract,period,provider,outcome,value\n"
    ledger.imported("q2.csv", rows("C-IMP,FY2020-Q2,P1,CLUB,7", header=header))
    ledger.imported("q3.csv", rows("C-IMP,FY2020-Q3,P1,CLUB,6", header=header))
    refused = ledger("returns", "import", ledger.write(
        "p2.csv", rows("C-IMP,FY2020-Q3,P2,CLUB,1", header=header)))
    assert refused.exit_code == 1
    assert "CLUB is an outcome of business case BC-7, delivered by P1" in refused.stderr
    shown = ledger("payments", "C-IMP", "--business-case", "BC-7", "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert [(p["period"], p["payable"], p["above_cap"], p["remaining"])
            for p in data["periods"]] == [("FY2020-Q2", "700.00", "0.00", "300.00"),
                                          ("FY2020-Q3", "300.00", "300.00", "0.00")]
    explained = ledger("payments", "explain", "C-IMP", "--period", "FY2020-Q3",
                       "--format", "csv")
    assert "budget,business case BC-7 budget 1000 reached" in explained.stdout
    log = ledger("audit", "log", "C-IMP")
    assert "business case BC-7 approved from 2020-07-01: budget 1000, outcomes CLUB" in (
        log.stdout)
    assert ledger("audit", "verify").exit_code == 0
    again = ledger("contract", "business-case", "C-IMP", ledger.write("bc.toml", CASE),
                   "--reason", "again")
    assert again.exit_code == 1
    assert "bc.toml:1: id: business case 'BC-7' is already approved" in again.stderr


def test_the_report_sets_the_base_contract_and_the_business_case_side_by_side(
        tmp_path: Path) -> None:
    ledger = contract(tmp_path)
    assert ledger("contract", "business-case", "C-IMP", ledger.write("bc.toml", CASE),
                  "--reason", "approved").exit_code == 0
    ledger.imported("q2.csv", rows("C-IMP,FY2020-Q2,P1,CLUB,4",
                                   header="contract,period,provider,outcome,value\n"))
    page = ledger("report", "C-IMP", "--format", "html")
    assert page.exit_code == 0, page.stderr
    assert '<a href="#business-cases">Business cases</a>' in page.stdout  # the nav
    section = page.stdout.split('<section id="business-cases"', 1)[1].split("</section>")[0]
    assert "Base contract and business cases" in section
    assert "<th scope=\"row\">BC-7</th>" in section
    assert "£100.00" in section  # CLUB's cost per outcome, in the contract's currency
    data = json.loads(ledger("report", "C-IMP", "--format", "json").stdout)
    assert [(b["business_case"], b["payable"], b["remaining"])
            for b in data["business_cases"]] == [(None, "1000.00", None),
                                                 ("BC-7", "400.00", "600.00")]
