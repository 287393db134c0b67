"""Tables that fit a terminal (issue 20): as they were when they fit; text columns wrapped
when they do not; one record per row when even that cannot fit; `--width N`, and $COLUMNS
or 100 when stdout is not a terminal."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgered import CONTRACT, Ledgered, rows
from outcomeledger.cli.base import text_width
from outcomeledger.report.render import Table, to_text

WIDE = Table("Contracts", ("reference", "title", "amount"),
             [["C-1", "A contract whose title runs on and on well past any terminal", "1.00"],
              ["C-2", "Short", "1,234,567.00"]], frozenset({"amount"}))


def test_a_table_that_fits_is_laid_out_as_before() -> None:
    # The old fixed-width layout's output, byte for byte.
    assert to_text(WIDE, 200) == to_text(WIDE) == "\n".join([
        "Contracts",
        "reference  title                                                               amount",
        "---------  ------------------------------------------------------------  ------------",
        "C-1        A contract whose title runs on and on well past any terminal          1.00",
        "C-2        Short                                                         1,234,567.00",
    ])


def test_a_wide_table_wraps_its_text_and_never_its_numbers() -> None:
    text = to_text(WIDE, 50)
    assert all(len(line) <= 50 for line in text.splitlines())
    assert text.splitlines()[1].startswith("reference  title")
    assert "1,234,567.00" in text  # whole, on one line
    assert " ".join(text.split()).count("runs on and on well past") == 1
    c1 = next(line for line in text.splitlines() if line.startswith("C-1"))
    assert c1.endswith("1.00")  # the row's numbers stay on its first line


def test_a_table_that_cannot_wrap_enough_prints_one_record_per_row() -> None:
    money = Table("Payments", ("period", *(f"amount_{i}" for i in range(8))),
                  [["FY2020-Q1", *(["1,000,000.00"] * 8)],
                   ["FY2020-Q2", *(["2.00"] * 8)]], frozenset(f"amount_{i}" for i in range(8)))
    text = to_text(money, 60)
    assert text.splitlines()[:3] == ["Payments", "period    FY2020-Q1", "amount_0  1,000,000.00"]
    assert "\n\nperiod    FY2020-Q2\n" in text
    assert all(len(line) <= 60 for line in text.splitlines())


def test_a_title_of_several_lines_is_printed_as_lines() -> None:
    """`contract show` heads its table with three lines; they were printed as one with
    literal \\n in them."""
    text = to_text(Table("one\ntwo", ("a",), [["x"]]))
    assert text.splitlines()[:2] == ["one", "two"]


words = st.text(alphabet="abcdefghij-", min_size=1, max_size=14)
cells = st.lists(words, min_size=0, max_size=6).map(" ".join)


@given(st.integers(min_value=40, max_value=160),
       st.lists(st.tuples(cells, cells, st.integers(0, 10**9)), min_size=1, max_size=5))
def test_every_line_fits_and_every_word_is_kept(width: int,
                                                 data: list[tuple[str, str, int]]) -> None:
    table = Table("T", ("name", "note", "amount"),
                  [[a, b, f"{n:,}.00"] for a, b, n in data], frozenset({"amount"}))
    text = to_text(table, width)
    assert all(len(line) <= width for line in text.splitlines())
    flat = " ".join(text.split())
    for a, b, n in data:
        assert f"{n:,}.00" in flat
        for word in (a + " " + b).split():
            assert word in flat.replace(" ", "") or word in flat


# -- through the command line --------------------------------------------------------------

@pytest.fixture
def ledger(tmp_path: Path) -> Ledgered:
    ledgered = Ledgered(tmp_path)
    assert ledgered("init").exit_code == 0
    long = CONTRACT.replace('"Import test contract"',
                            '"' + "An import test contract with a very long title " * 3 + '"')
    assert ledgered("contract", "agree", ledgered.write("c.toml", long)).exit_code == 0
    ledgered.imported("q1.csv", rows("C-IMP,FY2020-Q1,ENTRY,10", "C-IMP,FY2020-Q1,WB,3"))
    return ledgered


def widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def test_not_on_a_terminal_tables_fit_in_100_columns_or_columns(
        ledger: Ledgered, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    for args in (("contract", "list"), ("contract", "show", "C-IMP"), ("payments", "C-IMP"),
                 ("payments", "explain", "C-IMP", "--period", "FY2020-Q1"),
                 ("report", "C-IMP")):
        result = ledger(*args, "--format", "table")
        assert result.exit_code == 0, result.output
        assert widest(result.stdout) <= 100, args
    monkeypatch.setenv("COLUMNS", "70")
    assert widest(ledger("contract", "list", "--format", "table").stdout) <= 70


def test_width_sets_the_layout_and_outranks_columns(ledger: Ledgered,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "70")
    wide = ledger("--width", "400", "contract", "list", "--format", "table").stdout
    assert widest(wide) > 100
    assert len(wide.splitlines()) == 4  # title, header, rule, one row
    assert widest(ledger("--width", "50", "contract", "list", "--format", "table").stdout) <= 50
    monkeypatch.setenv("OUTCOMELEDGER_WIDTH", "60")
    assert widest(ledger("contract", "list", "--format", "table").stdout) <= 60


def test_csv_and_json_ignore_the_width(ledger: Ledgered) -> None:
    narrow = ledger("--width", "20", "contract", "list", "--format", "csv").stdout
    wide = ledger("--width", "400", "contract", "list", "--format", "csv").stdout
    assert narrow == wide
    assert len(list(csv.reader(io.StringIO(narrow)))) == 2
    assert json.loads(ledger("--width", "20", "contract", "list", "--format", "json").stdout)


def test_payments_csv_is_plain_for_machines(ledger: Ledgered) -> None:
    """No thousands separators, and no formula guard on a bare "-" or a negative number."""
    for args in (("payments", "C-IMP"), ("contract", "show", "C-IMP"),
                 ("payments", "explain", "C-IMP", "--period", "FY2020-Q1"), ("contract", "list"),
                 ("report", "C-IMP")):
        out = ledger(*args, "--format", "csv").stdout
        cells = [c for row in csv.reader(io.StringIO(out)) for c in row]
        assert not any(c.startswith("'") for c in cells), args
        assert not any(c.replace(",", "").replace(".", "").lstrip("-").isdigit() and ","
                       in c for c in cells), args


def test_on_a_terminal_its_own_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(shutil, "get_terminal_size",
                        lambda fallback=(80, 24): os.terminal_size((132, 40)))
    assert text_width(terminal=True) == 132
    assert text_width(terminal=False) == 100  # a pipe or a file: 100, not the terminal's
    monkeypatch.setattr(shutil, "get_terminal_size",
                        lambda fallback=(80, 24): os.terminal_size((8, 40)))
    assert text_width(terminal=True) == 20  # never narrower than a table can be laid out
