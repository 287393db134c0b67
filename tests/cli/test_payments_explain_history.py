"""`payments explain` with history (issue 20): each line's figures with their
restatements (was, became, when, by whom, why) and the payment runs through the period
with their true-ups, in JSON, table and CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from ledgered import CONTRACT, Ledgered, rows
from outcomeledger.cli import cli


@pytest.fixture
def restated(tmp_path: Path) -> Ledgered:
    """C-IMP (v1): FY2020-Q1 returned 10 ENTRY, 3 WB (v2) and certified (v3); restated
    to 9 ENTRY by "auditor" (v4); FY2020-Q2 returned 8 ENTRY (v5) and certified with a
    true-up of -100 for the restatement (v6)."""
    ledger = Ledgered(tmp_path)
    assert ledger("init").exit_code == 0
    assert ledger("contract", "agree", ledger.write("c.toml", CONTRACT)).exit_code == 0
    ledger.imported("q1.csv", rows("C-IMP,FY2020-Q1,ENTRY,10", "C-IMP,FY2020-Q1,WB,3"))
    assert ledger("payments", "certify", "C-IMP", "--period", "FY2020-Q1").exit_code == 0
    result = ledger.runner.invoke(cli, [
        "--db", ledger.db, "--actor", "auditor", "returns", "import",
        ledger.write("r.csv", rows("C-IMP,FY2020-Q1,ENTRY,9")), "--restate", "--reason",
        "one start withdrawn"])
    assert result.exit_code == 0, result.stderr
    ledger.imported("q2.csv", rows("C-IMP,FY2020-Q2,ENTRY,8"))
    assert ledger("payments", "certify", "C-IMP", "--period", "FY2020-Q2").exit_code == 0
    return ledger


def explained(ledger: Ledgered, period: str, fmt: str = "json") -> Any:
    # Wide enough that no detail wraps: the table's rows are read line by line.
    result = ledger("--width", "300", "payments", "explain", "C-IMP", "--period", period,
                    "--format", fmt)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout) if fmt == "json" else result.stdout


def test_a_line_shows_the_restatement_of_its_figure(restated: Ledgered) -> None:
    data = explained(restated, "FY2020-Q1")
    lines = {line["outcome"]: line for line in data["lines"]}
    assert lines["ENTRY"]["units"] == "9"
    change = lines["ENTRY"]["restatements"]
    assert [{k: c[k] for k in ("original", "restated", "original_event", "event",
                                "recorded_by", "reason")} for c in change] == [
        {"original": "10", "restated": "9", "original_event": "v2", "event": "v4",
         "recorded_by": "auditor", "reason": "one start withdrawn"}]
    assert change[0]["recorded_at"].endswith("Z")
    assert lines["WB"]["restatements"] == []
    assert data["other_restatements"] == []


def test_the_payment_runs_through_the_period_are_listed_with_their_true_ups(
        restated: Ledgered) -> None:
    first = explained(restated, "FY2020-Q1")["certifications"]
    assert [(c["period"], c["event"], c["amount"], c["true_up"]) for c in first] == [
        ("FY2020-Q1", "v3", "1030.00", "0.00")]
    both = explained(restated, "FY2020-Q2")["certifications"]
    assert [(c["period"], c["event"], c["amount"], c["true_up"], c["cumulative_payable"])
            for c in both] == [("FY2020-Q1", "v3", "1030.00", "0.00", "1030.00"),
                               ("FY2020-Q2", "v6", "700.00", "-100.00", "1730.00")]
    assert both[1]["recorded_by"] == "tester"


def test_the_table_reads_the_history_after_the_units_it_explains(restated: Ledgered) -> None:
    text = explained(restated, "FY2020-Q2", "table")
    assert "certified FY2020-Q2" in text
    assert "true-up -100.00" in text
    table = explained(restated, "FY2020-Q1", "table")
    lines = [line for line in table.splitlines() if line.startswith("ENTRY")]
    assert "units" in lines[0]
    assert "restated" in lines[1]
    assert "10 -> 9" in lines[1]
    assert "by auditor: one start withdrawn" in lines[1]
    assert lines[1].rstrip().endswith("v2 v4")


def test_csv_has_the_history_as_rows_for_machines(restated: Ledgered) -> None:
    table = list(csv.reader(io.StringIO(explained(restated, "FY2020-Q2", "csv"))))
    certified = [r for r in table if r[1].startswith("certified")]
    assert [(r[1], r[3], r[4]) for r in certified] == [
        ("certified FY2020-Q1", "1030.00", "v3"), ("certified FY2020-Q2", "700.00", "v6")]
