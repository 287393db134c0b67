"""Participant-level returns: once-only outcomes, ladders and the per-participant cap
(domain.md b2, b3 and S2's participant P-0173)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from ledgered import Ledgered, ledger, rows

__all__ = ["ledger"]

HEADER = "contract,period,participant,outcome,value\n"


@pytest.fixture
def gm(tmp_path: Path, ledger_url: str) -> Ledgered:
    ledgered = Ledgered(tmp_path, ledger_url)
    assert ledgered("init").exit_code == 0
    toml = resources.files("outcomeledger").joinpath("demo_data", "gm.toml")
    assert ledgered("contract", "agree", str(toml)).exit_code == 0
    return ledgered


# P-0173 (domain.md S2): the full accommodation ladder, three wellbeing assessments,
# mental-health and drug treatment entry and sustainment, a qualification, volunteering
# and full-time work: 20,620 earned at the rate card. Listed out of period order, as a
# provider's extract may be: the ledger decides the periods in order.
P_0173 = [
    ("FY2019-Q4", "ACC24"), ("FY2019-Q2", "ACC18"), ("FY2018-Q4", "ACC12"),
    ("FY2018-Q4", "FT26"), ("FY2018-Q2", "ACC6"), ("FY2018-Q2", "WB3"), ("FY2018-Q2", "FT13"),
    ("FY2018-Q1", "ACC3"), ("FY2018-Q1", "WB2"), ("FY2018-Q1", "MH1"), ("FY2018-Q1", "DRG1"),
    ("FY2018-Q1", "VOL26"), ("FY2018-Q1", "QUAL"), ("FY2017-Q4", "ACC0"), ("FY2017-Q4", "WB1"),
    ("FY2017-Q4", "MH0"), ("FY2017-Q4", "DRG0"), ("FY2017-Q4", "VOL13"),
]


def test_a_participant_is_paid_up_to_the_per_participant_cap(gm: Ledgered) -> None:
    path = gm.write("p0173.csv", rows(*(f"GMHP-2017,{p},P-0173,{o},1" for p, o in P_0173),
                                      header=HEADER))
    [receipt] = gm.receipts(path)
    assert (receipt["added"], receipt["returns"]) == (18, 6)
    totals = json.loads(gm("payments", "GMHP-2017", "--format", "json").stdout)["totals"]
    assert (totals["earned"], totals["above_cap"], totals["payable"]) == (
        "20620.00", "1620.00", "19000.00")


def test_a_repeatable_outcome_may_be_claimed_in_several_periods(gm: Ledgered) -> None:
    path = gm.write("wb.csv", rows("GMHP-2017,FY2017-Q4,P-1,WB1,1",
                                   "GMHP-2017,FY2018-Q1,P-1,WB1,1", header=HEADER))
    [receipt] = gm.receipts(path)
    assert receipt["added"] == 2


def test_a_prerequisite_recorded_by_an_earlier_import_counts(gm: Ledgered) -> None:
    gm.imported("entry.csv", rows("GMHP-2017,FY2017-Q4,P-1,ACC0,1", header=HEADER))
    [receipt] = gm.receipts(gm.write("next.csv", rows("GMHP-2017,FY2018-Q1,P-1,ACC3,1",
                                                      header=HEADER)))
    assert receipt["added"] == 1


def test_a_prerequisite_in_the_same_return_counts(gm: Ledgered) -> None:
    path = gm.write("same.csv", rows("GMHP-2017,FY2017-Q4,P-1,ACC3,1",
                                     "GMHP-2017,FY2017-Q4,P-1,ACC0,1", header=HEADER))
    assert gm.receipts(path)[0]["added"] == 2


def test_participant_problems_name_the_row_of_each_offending_participant(
        gm: Ledgered) -> None:
    gm.imported("first.csv", rows("GMHP-2017,FY2017-Q4,P-1,ACC0,1", header=HEADER))
    path = gm.write("bad.csv", rows("GMHP-2017,FY2018-Q1,P-2,ACC0,1",
                                    "GMHP-2017,FY2018-Q1,P-1,ACC0,1",
                                    "GMHP-2017,FY2018-Q1,P-3,ACC6,1", header=HEADER))
    before = gm.events()
    result = gm("returns", "import", path)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    # (A missing rung is a warning, not an error: issue 14 item 4, test_trust_money.)
    assert errors == [
        f"error: {path}:3: participant: ACC0 is claimable once per participant and P-1 "
        "already has it in FY2017-Q4"]
    assert gm.events() == before


def test_participant_figures_of_a_rejected_return_do_not_use_up_an_outcome(
        ledger: Ledgered) -> None:
    header = "contract,period,participant,outcome,value\n"
    ledger.imported("q1.csv", rows("C-IMP,FY2020-Q1,A-1,ENTRY,1", header=header))
    assert ledger("returns", "reject", "C-IMP", "--period", "FY2020-Q1", "--reason",
                  "no evidence").exit_code == 0
    [receipt] = ledger.receipts(ledger.write("q2.csv", rows("C-IMP,FY2020-Q2,A-1,ENTRY,1",
                                                            header=header)))
    assert receipt["added"] == 1
