"""`payments REF --without POSITION[,...]` (DESIGN 11): the schedule as if those events
had never been recorded, in every format, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledgered import CONTRACT, Ledgered, rows
from outcomeledger.app.ledger import open_ledger

REPRICE = '[[outcomes]]\ncode = "ENTRY"\nprice = "150"\n'


def history(tmp_path: Path, *, varied: bool, certified: bool = True) -> Ledgered:
    """C-IMP: agreed (v1), a FY2020-Q1 return (v2), ENTRY re-priced from FY2020-Q2 (v3,
    when ``varied``), a FY2020-Q2 return, a restatement of FY2020-Q1, a payment run (when
    ``certified``: a fact of its own ledger, which a counterfactual keeps)."""
    tmp_path.mkdir(exist_ok=True)
    ledger = Ledgered(tmp_path, str(tmp_path / "ledger.db"))
    assert ledger("init").exit_code == 0
    assert ledger("contract", "agree", ledger.write("c.toml", CONTRACT)).exit_code == 0
    ledger.imported("q1.csv", rows("C-IMP,FY2020-Q1,ENTRY,10", "C-IMP,FY2020-Q1,WB,3"))
    if varied:
        result = ledger("contract", "vary", "C-IMP", ledger.write("v.toml", REPRICE),
                        "--effective", "2020-07-01", "--reason", "re-priced")
        assert result.exit_code == 0, result.stderr
    ledger.imported("q2.csv", rows("C-IMP,FY2020-Q2,ENTRY,8"))
    ledger.imported("r.csv", rows("C-IMP,FY2020-Q1,ENTRY,9"), "--restate", "--reason",
                    "one start withdrawn")
    if certified:
        result = ledger("payments", "certify", "C-IMP", "--period", "FY2020-Q2")
        assert result.exit_code == 0, result.stderr
    return ledger


def stored(ledger: Ledgered) -> tuple[int, list[tuple[int, bytes]]]:
    """The ledger's event count and every stored event (so its head too)."""
    with open_ledger(ledger.db) as opened:
        return opened.max_position(), [(s.position, s.state) for s in opened.feed()]


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_without_the_variation_the_schedule_is_the_one_never_varied(
        tmp_path: Path, fmt: str) -> None:
    varied = history(tmp_path / "varied", varied=True, certified=False)
    plain = history(tmp_path / "plain", varied=False, certified=False)
    before = stored(varied)
    result = varied("payments", "C-IMP", "--without", "v3", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert "as if v3 had never been recorded (nothing was written)" in result.stderr
    expected = plain("payments", "C-IMP", "--format", fmt)
    assert result.stdout == expected.stdout
    assert result.stdout != varied("payments", "C-IMP", "--format", fmt).stdout
    assert stored(varied) == before  # nothing written: same count, same bytes, same head


def test_several_positions_and_the_other_options_go_with_it(tmp_path: Path) -> None:
    ledger = history(tmp_path, varied=True)

    def payable(*args: str) -> str:
        result = ledger("payments", "C-IMP", *args, "--format", "json")
        assert result.exit_code == 0, result.stderr
        total: str = json.loads(result.stdout)["totals"]["payable"]
        return total

    # v5 restated ENTRY from 10 to 9 in FY2020-Q1; v3 re-priced ENTRY from FY2020-Q2.
    assert payable() == "2130.00"  # 9 x 100 + 3 x 10 + 8 x 150
    assert payable("--without", "5") == "2230.00"
    assert payable("--without", "3, 5") == "1830.00"  # 10 x 100 + 3 x 10 + 8 x 100
    assert payable("--without", "3", "--as-of", "4") == "1830.00"  # before the restatement
    result = ledger("payments", "C-IMP", "--without", "v6", "--period", "FY2020-Q2",
                    "--format", "csv")
    assert result.stdout.splitlines()[1:] == [  # the payment run left out: nothing certified
        "FY2020-Q2,1200.00,0.00,0.00,0.00,0.00,1200.00,2130.00,0.00,0.00"]
