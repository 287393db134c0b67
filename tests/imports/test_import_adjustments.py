"""`adjust --file`: every adjustment of a file in one transaction, every problem named by
file, line and field, nothing written when any row is refused."""

from __future__ import annotations

import hashlib
import json

import pytest

from ledgered import Ledgered, ledger
from outcomeledger.app.ledger import open_ledger
from outcomeledger.domain.events import RewardAdjusted

__all__ = ["ledger"]

HEADER = "contract,period,kind,amount,reason\n"
GOOD = HEADER + ("C-IMP,FY2020-Q1,service_credit,-400,KPI 3 missed\n"
                 'C-IMP,FY2020-Q2,bonus,250.50,"early delivery, all sites"\n')


def adjustments(ledgered: Ledgered) -> list[RewardAdjusted]:
    with open_ledger(ledgered.db) as opened:
        return [e for e, _ in opened.stream("C-IMP") if isinstance(e, RewardAdjusted)]


def test_adjustments_from_a_file_are_recorded_with_the_file_hash(ledger: Ledgered) -> None:
    path = ledger.write("adj.csv", GOOD)
    result = ledger("adjust", "--file", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    digest = hashlib.sha256(GOOD.encode()).hexdigest()
    assert json.loads(result.stdout) == {"file": path, "sha256": digest, "rows": 2,
                                         "adjustments": 2, "events": 2, "dry_run": False}
    recorded = adjustments(ledger)
    assert [(a.period, a.kind, str(a.amount), a.reason) for a in recorded] == [
        ("FY2020-Q1", "service_credit", "-400", "KPI 3 missed"),
        ("FY2020-Q2", "bonus", "250.50", "early delivery, all sites")]
    assert all(a.source is not None and a.source.sha256 == digest for a in recorded)


def test_the_same_file_is_not_recorded_twice(ledger: Ledgered) -> None:
    path = ledger.write("adj.csv", GOOD)
    assert ledger("adjust", "--file", path).exit_code == 0
    before = ledger.events()
    again = ledger("adjust", "--file", path)
    assert again.exit_code == 1
    assert f"error: {path}: file: already recorded on " in again.stderr
    assert ledger.events() == before


def test_adjustments_from_ndjson(ledger: Ledgered) -> None:
    path = ledger.write("adj.ndjson", '{"contract":"C-IMP","period":"FY2020-Q1",'
                        '"kind":"clawback","amount":-120.25,"reason":"sampled error"}\n')
    result = ledger("adjust", "--file", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [str(a.amount) for a in adjustments(ledger)] == ["-120.25"]


def test_a_dry_run_writes_nothing(ledger: Ledgered) -> None:
    result = ledger("adjust", "--file", ledger.write("adj.csv", GOOD), "--dry-run",
                    "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["adjustments"] == 2
    assert ledger.events() == 1


def test_the_flags_still_record_one_adjustment(ledger: Ledgered) -> None:
    result = ledger("adjust", "C-IMP", "--period", "FY2020-Q1", "--kind", "penalty",
                    "--amount", "-50", "--reason", "late report")
    assert result.exit_code == 0, result.stderr
    assert [(a.kind, str(a.amount)) for a in adjustments(ledger)] == [("penalty", "-50")]


@pytest.mark.parametrize("args", [
    ("--file", "adj.csv", "C-IMP"), ("--file", "adj.csv", "--period", "FY2020-Q1"),
    ("C-IMP", "--period", "FY2020-Q1", "--kind", "bonus", "--amount", "1")],
    ids=["file and REF", "file and --period", "flags without --reason"])
def test_file_and_flags_do_not_mix_and_flags_are_all_needed(ledger: Ledgered,
                                                            args: tuple[str, ...]) -> None:
    ledger.write("adj.csv", GOOD)
    result = ledger("adjust", *(str(ledger.tmp / a) if a == "adj.csv" else a for a in args))
    assert result.exit_code == 2
    assert ledger.events() == 1


BAD_ROWS = [
    ("C-IMP,FY2020-Q1,refund,10,why", "kind", "unknown kind (got 'refund', expected one of "
     "bonus, penalty"),
    ("C-IMP,FY2020-Q1,bonus,ten,why", "amount", "not a number (got 'ten', expected a decimal "
     "amount such as -120000 or 2500.50)"),
    ("C-IMP,FY2020-Q1,bonus,0,why", "amount", "expected a non-zero finite amount (got 0)"),
    ("C-IMP,FY2020-Q1,bonus,1e99,why", "amount", "exponent notation (got '1e99'"),
    ("C-IMP,FY2020-Q1,bonus,10,", "reason", "missing (expected why the reward is adjusted"),
    ("NOPE,FY2020-Q1,bonus,10,why", "contract", "unknown contract (got 'NOPE'"),
    ("C-IMP,FY2031-Q1,bonus,10,why", "period", "after the claims window closes"),
    ("C-IMP,Q1,bonus,10,why", "period", "not a period id"),
    ("C-IMP,FY2020-Q1,bonus", "amount", "missing: the row has 3 fields"),
]


@pytest.mark.parametrize(("row", "field", "message"), BAD_ROWS,
                         ids=[f"{f}: {m.split(' (')[0]}" for _, f, m in BAD_ROWS])
def test_a_bad_row_refuses_the_whole_file(ledger: Ledgered, row: str, field: str,
                                          message: str) -> None:
    path = ledger.write("adj.csv", GOOD + row + "\n")
    result = ledger("adjust", "--file", path)
    assert result.exit_code == 1
    assert f"error: {path}:4: {field}: {message}" in result.stderr
    assert ledger.events() == 1


def test_every_bad_row_is_reported(ledger: Ledgered) -> None:
    path = ledger.write("adj.csv", HEADER + "C-IMP,FY2020-Q1,refund,10,why\n"
                                            "C-IMP,FY2020-Q1,bonus,x,\n")
    result = ledger("adjust", "--file", path, "--format", "json")
    assert result.exit_code == 1
    assert [(e["line"], e["field"]) for e in json.loads(result.stdout)["errors"]] == [
        (2, "kind"), (3, "amount"), (3, "reason")]
