"""`report REF --format xlsx --output FILE` (issue 20): a workbook for finance users, one
sheet per section, money as numbers in the currency's format, frozen header rows. Read
back as what it is, a zip of XML (no spreadsheet library can read it in the lock)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import pytest

from ledgered import CONTRACT, Ledgered, rows
from outcomeledger.report.tables import Section
from outcomeledger.report.xlsx import currency_format, sheet_names

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


@dataclass
class Sheet:
    name: str
    cells: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # ref: value, fmt
    frozen_rows: int = 0

    def row(self, n: int) -> list[str]:
        found = sorted((ref, v) for ref, (v, _f) in self.cells.items()
                       if ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == str(n))
        return [v for _ref, v in sorted(found, key=lambda x: (len(x[0]), x[0]))]


def read_workbook(path: Path) -> list[Sheet]:
    """Each sheet in order: its cells (value as written; number format code, if any)."""
    with zipfile.ZipFile(path) as z:
        def xml(name: str) -> ElementTree.Element:
            return ElementTree.fromstring(z.read(name))

        shared = [("".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")))
                  for si in xml("xl/sharedStrings.xml").findall("m:si", NS)]
        styles = xml("xl/styles.xml")
        codes = {f.get("numFmtId"): f.get("formatCode")
                 for f in styles.findall("m:numFmts/m:numFmt", NS)}
        xfs = [codes.get(xf.get("numFmtId") or "0")
               for xf in styles.findall("m:cellXfs/m:xf", NS)]
        targets = {r.get("Id"): r.get("Target")
                   for r in xml("xl/_rels/workbook.xml.rels")}
        sheets = []
        for s in xml("xl/workbook.xml").findall("m:sheets/m:sheet", NS):
            sheet = Sheet(str(s.get("name")))
            tree = xml("xl/" + str(targets[s.get(REL)]))
            pane = tree.find("m:sheetViews/m:sheetView/m:pane", NS)
            if pane is not None and pane.get("state") == "frozen":
                sheet.frozen_rows = int(pane.get("ySplit") or 0)
            for c in tree.iter(f"{{{NS['m']}}}c"):
                v = c.find("m:v", NS)
                text = "" if v is None else str(v.text)
                if c.get("t") == "s":
                    text = shared[int(text)]
                elif c.get("t") == "b":
                    text = "TRUE" if text == "1" else "FALSE"
                sheet.cells[str(c.get("r"))] = (text, xfs[int(c.get("s") or 0)])
            sheets.append(sheet)
        return sheets


@pytest.fixture
def ledger(tmp_path: Path) -> Ledgered:
    """C-IMP: FY2020-Q1 certified, restated (10 -> 9 ENTRY), FY2020-Q2 certified with a
    true-up of -100."""
    ledgered = Ledgered(tmp_path)
    assert ledgered("init").exit_code == 0
    assert ledgered("contract", "agree", ledgered.write("c.toml", CONTRACT)).exit_code == 0
    ledgered.imported("q1.csv", rows("C-IMP,FY2020-Q1,ENTRY,10", "C-IMP,FY2020-Q1,WB,3"))
    assert ledgered("payments", "certify", "C-IMP", "--period", "FY2020-Q1").exit_code == 0
    ledgered.imported("r.csv", rows("C-IMP,FY2020-Q1,ENTRY,9"), "--restate", "--reason",
                      "=withdrawn")
    ledgered.imported("q2.csv", rows("C-IMP,FY2020-Q2,ENTRY,8"))
    assert ledgered("payments", "certify", "C-IMP", "--period", "FY2020-Q2").exit_code == 0
    return ledgered


def workbook(ledger: Ledgered, *args: str) -> list[Sheet]:
    path = ledger.tmp / "r.xlsx"
    result = ledger("report", *args, "--output", str(path))
    assert result.exit_code == 0, result.output
    return read_workbook(path)


def test_one_sheet_per_section_with_a_frozen_title_and_header(ledger: Ledgered) -> None:
    sheets = workbook(ledger, "C-IMP", "--format", "xlsx")
    csv_sections = [line[2:] for line in ledger("report", "C-IMP", "--format", "csv")
                    .stdout.splitlines() if line.startswith("# ")]
    assert [s.name for s in sheets] == csv_sections
    payments = next(s for s in sheets if s.name == "payments")
    assert payments.row(1) == ["Payments per period (GBP)"]
    assert payments.row(2)[:3] == ["contract", "period", "earned"]
    assert all(s.frozen_rows == 2 for s in sheets)


def test_the_suffix_chooses_xlsx(ledger: Ledgered) -> None:
    assert next(s.name for s in workbook(ledger, "C-IMP")) == "summary"


def test_money_is_a_number_in_the_currency_format_as_the_report_has_it(
        ledger: Ledgered) -> None:
    report = json.loads(ledger("report", "C-IMP", "--format", "json").stdout)
    sheets = {s.name: s for s in workbook(ledger, "C-IMP", "--format", "xlsx")}
    payments = sheets["payments"]
    header = payments.row(2)
    q2 = next(n for n in range(3, 20) if payments.row(n)[1:2] == ["FY2020-Q2"])
    column = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("true_up")]
    value, fmt = payments.cells[f"{column}{q2}"]
    expected = next(p for p in report["payments"]["periods"] if p["period"] == "FY2020-Q2")
    assert value == expected["true_up"] == "-100.00"  # the report's own digits
    assert fmt == currency_format("GBP") == '"£"#,##0.00;-"£"#,##0.00'
    restated = sheets["restatements"]
    reason = restated.row(3)[restated.row(2).index("reason")]
    assert reason == "=withdrawn"  # text, never a formula


def test_a_portfolio_and_a_currency_without_a_symbol(ledger: Ledgered) -> None:
    sheets = workbook(ledger, "--all", "--format", "xlsx")
    assert [s.name for s in sheets] == ["portfolio"]
    earned = sheets[0].cells["F3"]
    assert earned[1] == currency_format("GBP")
    assert currency_format("CHF") == '#,##0.00 "CHF";-#,##0.00 "CHF"'
    assert currency_format("JPY") == '#,##0 "JPY";-#,##0 "JPY"'


def test_sheet_names_are_ones_excel_accepts() -> None:
    sections = [Section(n, "t", ("a",), []) for n in
                ("payments", "a" * 40, "a" * 40, "x/y:z")]
    assert sheet_names(sections) == ["payments", "a" * 31, "a" * 29 + "_2", "x_y_z"]
