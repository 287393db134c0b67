"""Returns import: receipts, formats, idempotency, restatements, late returns and the
data-quality warnings that never block."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from ledgered import HEADER, Ledgered, ledger, rows
from outcomeledger.app import services as service
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import returns as returns_cli
from outcomeledger.cli.base import Context
from outcomeledger.domain.commands import Meta
from outcomeledger.domain.events import ReturnRestated, ReturnSubmitted
from outcomeledger.imports.importer import import_data

__all__ = ["ledger"]  # the fixture, shared with the refusals catalogue

RETURN = rows("C-IMP,FY2020-Q1,ENTRY,3", "C-IMP,FY2020-Q1,WB,7", "C-IMP,FY2020-Q2,ENTRY,2")


def stream(ledgered: Ledgered) -> list[object]:
    with open_ledger(ledgered.db) as opened:
        return [event for event, _ in opened.stream("C-IMP")]


def test_a_receipt_counts_rows_figures_returns_and_events(ledger: Ledgered) -> None:
    path = ledger.write("q.csv", RETURN)
    [receipt] = ledger.receipts(path)
    late = receipt.pop("late_returns")  # each with its days late, which the clock moves
    assert isinstance(late, list)
    assert [str(r).split(":")[0] for r in late] == ["C-IMP FY2020-Q1", "C-IMP FY2020-Q2"]
    assert receipt == {
        "file": path, "sha256": hashlib.sha256(RETURN.encode()).hexdigest(), "rows": 3,
        "added": 3, "unchanged": 0, "restated": 0, "refused": 0, "late": 2, "returns": 2,
        "events": 2, "dry_run": False, "warnings": []}
    assert ledger.events() == 3


def test_the_table_receipt_shows_the_file_hash(ledger: Ledgered) -> None:
    path = ledger.write("q.csv", RETURN)
    result = ledger("returns", "import", path, "--format", "table")
    assert result.exit_code == 0
    assert hashlib.sha256(RETURN.encode()).hexdigest() in result.stdout
    assert "Import receipt" in result.stdout


def test_every_event_written_records_the_file_and_its_hash(ledger: Ledgered) -> None:
    path = ledger.write("q.csv", RETURN)
    ledger.imported("q.csv", RETURN)
    submitted = [e for e in stream(ledger) if isinstance(e, ReturnSubmitted)]
    assert len(submitted) == 2
    digest = hashlib.sha256(RETURN.encode()).hexdigest()
    assert all(e.source is not None and (e.source.file, e.source.sha256) == (path, digest)
               for e in submitted)
    assert [f.line for e in submitted for f in e.figures] == [2, 3, 4]


def test_importing_the_same_figures_again_changes_nothing(ledger: Ledgered) -> None:
    path = ledger.write("q.csv", RETURN)
    ledger.receipts(path)
    before = ledger.events()
    [again] = ledger.receipts(path)
    assert (again["added"], again["unchanged"], again["restated"], again["events"]) == (
        0, 3, 0, 0)
    assert ledger.events() == before


def test_new_figures_for_a_recorded_return_are_added(ledger: Ledgered) -> None:
    ledger.imported("q.csv", RETURN)
    more = ledger.write("more.csv", rows("C-IMP,FY2020-Q1,ENTRY,3", "C-IMP,FY2020-Q1,SUSTAIN,1"))
    [receipt] = ledger.receipts(more)
    assert (receipt["added"], receipt["unchanged"], receipt["events"]) == (1, 1, 1)


def test_a_dry_run_prints_the_receipt_and_writes_nothing(ledger: Ledgered) -> None:
    path = ledger.write("q.csv", RETURN)
    [receipt] = ledger.receipts(path, "--dry-run")
    assert (receipt["added"], receipt["returns"], receipt["events"], receipt["dry_run"]) == (
        3, 2, 0, True)
    assert ledger.events() == 1
    table = ledger("returns", "import", path, "--dry-run", "--format", "table")
    assert "dry run: nothing written" in table.stdout


def test_several_files_import_as_one_transaction_with_a_receipt_each(
        ledger: Ledgered) -> None:
    one = ledger.write("one.csv", rows("C-IMP,FY2020-Q1,ENTRY,3"))
    two = ledger.write("two.csv", rows("C-IMP,FY2020-Q1,WB,1", "C-IMP,FY2020-Q2,WB,1"))
    receipts = ledger.receipts(one, two)
    assert [(r["file"], r["added"], r["events"]) for r in receipts] == [
        (one, 1, 1), (two, 2, 2)]
    assert ledger.events() == 4


@pytest.mark.parametrize(("name", "content"), [
    ("bom.csv", "\ufeff" + RETURN),
    ("quoted.csv", HEADER + '"C-IMP","FY2020-Q1","ENTRY","3"\n\n"C-IMP",FY2020-Q1,WB, 7 \n'
                            "C-IMP,FY2020-Q2,ENTRY,2\n\n"),
    ("crlf.csv", RETURN.replace("\n", "\r\n")),
    ("r.ndjson", '{"contract":"C-IMP","period":"FY2020-Q1","outcome":"ENTRY","value":3}\n\n'
                 '{"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB","value":"7"}\n'
                 '{"contract":"C-IMP","period":"FY2020-Q2","outcome":"ENTRY","value":2.0}\n'),
    ("r.json", '[{"contract":"C-IMP","period":"FY2020-Q1","outcome":"ENTRY","value":3},\n'
               ' {"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB","value":7},\n'
               ' {"contract":"C-IMP","period":"FY2020-Q2","outcome":"ENTRY","value":2,'
               '"provider":null}]'),
], ids=["BOM", "quoted fields and blank lines", "CRLF", "NDJSON", "JSON array"])
def test_every_input_format_gives_the_same_figures(ledger: Ledgered, name: str,
                                                   content: str) -> None:
    [receipt] = ledger.receipts(ledger.write(name, content))
    assert (receipt["rows"], receipt["added"], receipt["returns"]) == (3, 3, 2)
    figures = {(e.period, f.outcome): f.value for e in stream(ledger)
               if isinstance(e, ReturnSubmitted) for f in e.figures}
    assert figures == {("FY2020-Q1", "ENTRY"): 3, ("FY2020-Q1", "WB"): 7,
                       ("FY2020-Q2", "ENTRY"): 2}


def test_the_input_format_option_overrides_the_extension(ledger: Ledgered) -> None:
    path = ledger.write("returns.txt",
                        '{"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB","value":1}\n')
    [receipt] = ledger.receipts(path, "--input-format", "ndjson")
    assert receipt["added"] == 1


def test_standard_input_is_read_with_a_dash(ledger: Ledgered) -> None:
    result = ledger("returns", "import", "-", "--format", "json", stdin=RETURN.encode())
    assert result.exit_code == 0, result.stderr
    [receipt] = json.loads(result.stdout)
    assert (receipt["file"], receipt["added"]) == ("-", 3)
    assert receipt["sha256"] == hashlib.sha256(RETURN.encode()).hexdigest()


class _Terminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(("size", "tty", "quiet", "shown"), [
    (64 << 20, True, False, True), (64 << 20, False, False, False),
    (1 << 10, True, False, False), (64 << 20, True, True, False)],
    ids=["large on a terminal", "not a terminal", "small file", "--quiet"])
def test_a_progress_bar_only_for_large_files_on_a_terminal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int, tty: bool, quiet: bool,
        shown: bool) -> None:
    path = tmp_path / "big.csv"
    with path.open("wb") as out:
        out.truncate(size)  # sparse: only its size is read
    terminal = _Terminal(tty)
    monkeypatch.setattr(sys, "stderr", terminal)
    with returns_cli._progress(Context(None, "t", quiet), (str(path), "-")) as on_read:
        if on_read is not None:
            on_read(size)
    assert (on_read is not None) == shown
    assert ("reading returns" in terminal.getvalue()) == shown


def test_numbers_are_read_exactly(ledger: Ledgered) -> None:
    path = ledger.write("m.ndjson", '{"contract":"C-IMP","period":"FY2020-Q1",'
                        '"outcome":"WB","value":12345678901234.000}\n')
    [receipt] = ledger.receipts(path)
    assert receipt["added"] == 1
    [event] = [e for e in stream(ledger) if isinstance(e, ReturnSubmitted)]
    assert str(event.figures[0].value) == "12345678901234.000"


# -- restatements (DESIGN 4.3) -----------------------------------------------------------

def test_a_restatement_replaces_only_the_figures_it_lists_and_keeps_originals(
        ledger: Ledgered) -> None:
    ledger.imported("q.csv", RETURN)
    fix = ledger.write("fix.csv", rows("C-IMP,FY2020-Q1,ENTRY,2", "C-IMP,FY2020-Q1,WB,7"))
    [receipt] = ledger.receipts(fix, "--restate", "--reason", "audit: one claim withdrawn")
    assert (receipt["restated"], receipt["unchanged"], receipt["added"], receipt["events"]) == (
        1, 1, 0, 1)
    [restated] = [e for e in stream(ledger) if isinstance(e, ReturnRestated)]
    assert restated.reason == "audit: one claim withdrawn"
    assert [(f.outcome, f.value) for f in restated.figures] == [("ENTRY", Decimal(2))]
    assert [(f.outcome, f.value) for f in restated.originals] == [("ENTRY", Decimal(3))]
    assert restated.source is not None
    assert restated.source.sha256 == hashlib.sha256(Path(fix).read_bytes()).hexdigest()


def test_a_restatement_after_certification_is_paid_as_a_true_up(ledger: Ledgered) -> None:
    ledger.imported("q.csv", rows("C-IMP,FY2020-Q1,ENTRY,3"))
    certified = ledger("payments", "certify", "C-IMP", "--period", "FY2020-Q1",
                       "--format", "json")
    assert json.loads(certified.stdout)["amount"] == "300.00"
    ledger.imported("fix.csv", rows("C-IMP,FY2020-Q1,ENTRY,1"), "--restate", "--reason",
                    "two claims withdrawn")
    ledger.imported("q2.csv", rows("C-IMP,FY2020-Q2,ENTRY,4"))
    second = json.loads(ledger("payments", "certify", "C-IMP", "--period", "FY2020-Q2",
                               "--format", "json").stdout)
    assert (second["amount"], second["true_up"]) == ("200.00", "-200.00")


def test_restating_identical_figures_writes_nothing(ledger: Ledgered) -> None:
    path = ledger.write("q.csv", RETURN)
    ledger.receipts(path)
    before = ledger.events()
    [receipt] = ledger.receipts(path, "--restate", "--reason", "resent")
    assert (receipt["restated"], receipt["events"]) == (0, 0)
    assert ledger.events() == before


# -- late returns (domain.md e4) ---------------------------------------------------------

def _terms_path() -> Path:
    return Path(str(resources.files("outcomeledger").joinpath("demo_data", "gm.toml")))


def test_a_return_after_its_due_date_is_accepted_and_flagged_late(tmp_path: Path) -> None:
    with open_ledger(str(tmp_path / "l.db"), create=True) as opened:
        service.agree(opened, _terms_path(), Meta(datetime(2017, 12, 1, tzinfo=UTC), "a"))
        on_time, late = (("GMHP-2017,FY2018-Q1,ACC0,10\n", datetime(2018, 7, 20, tzinfo=UTC)),
                         ("GMHP-2017,FY2018-Q2,ACC0,12\n", datetime(2018, 12, 1, tzinfo=UTC)))
        [first] = import_data(opened, [("a.csv", (HEADER + on_time[0]).encode())],
                              Meta(on_time[1], "provider"))
        [second] = import_data(opened, [("b.csv", (HEADER + late[0]).encode())],
                               Meta(late[1], "provider"))
        assert (first.late, second.late) == (0, 1)
        flags = [e.late for e, _ in opened.stream("GMHP-2017") if isinstance(e, ReturnSubmitted)]
        assert flags == [False, True]


def test_a_late_return_inside_the_claims_window_is_accepted(ledger: Ledgered) -> None:
    # The term ends 2021-03-31; claims are open until 2021-05-15.
    path = ledger.write("late.csv", rows(
        "C-IMP,FY2021-Q1,P1,A-9,ENTRY,1,2021-05-15",
        header="contract,period,provider,participant,outcome,value,achieved_on\n"))
    [receipt] = ledger.receipts(path)
    assert (receipt["added"], receipt["late"]) == (1, 1)


# -- data-quality warnings (domain.md b2, d1) --------------------------------------------

def test_a_ladder_rung_counted_more_often_than_the_rung_below_is_a_warning(
        tmp_path: Path) -> None:
    """GM's final counts: 3 months sustained (329) exceeds entered (328). Flagged with
    file and line, never refused."""
    gm = Ledgered(tmp_path)
    assert gm("init").exit_code == 0
    assert gm("contract", "agree", str(_terms_path())).exit_code == 0
    data = resources.files("outcomeledger").joinpath("demo_data")
    for fy in ("2017", "2018", "2019"):
        gm.imported(f"gm{fy}.csv", data.joinpath(f"gm_FY{fy}-Q4.csv").read_text())
    extension = gm("contract", "vary", "GMHP-2017", str(data.joinpath("gm_extension.toml")),
                   "--effective", "2020-10-01", "--reason", "extended to March 2021")
    assert extension.exit_code == 0, extension.stderr
    final = gm.write("gm2020.csv", data.joinpath("gm_FY2020-Q4.csv").read_text())
    before = gm.events()
    result = gm("returns", "import", final, "--format", "json")
    assert result.exit_code == 0
    assert gm.events() == before + 1
    assert (f"warning: {final}:3: value: ACC3 counted 329 times through FY2020-Q4, more "
            "than the 328 of ACC0 it requires") in result.stderr
    assert (f"warning: {final}:12: value: PT26 counted 7 times through FY2020-Q4, more "
            "than the 5 of PT13 it requires") in result.stderr
    [receipt] = json.loads(result.stdout)
    # Line 2: GM's participant_cap cannot apply to its aggregate returns (issue 14 item 3).
    assert [(w["line"], w["field"]) for w in receipt["warnings"]] == [
        (2, "participant"), (3, "value"), (12, "value")]


def test_an_exact_repeat_of_a_row_is_a_warning_and_counted_once(ledger: Ledgered) -> None:
    path = ledger.write("q.csv", rows("C-IMP,FY2020-Q1,ENTRY,3", "C-IMP,FY2020-Q1,ENTRY,3"))
    result = ledger("returns", "import", path, "--format", "json")
    assert result.exit_code == 0
    assert f"warning: {path}:3: row: repeats line 2" in result.stderr
    [receipt] = json.loads(result.stdout)
    assert (receipt["added"], len(receipt["warnings"])) == (1, 1)
