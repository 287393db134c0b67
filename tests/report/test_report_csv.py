"""Report CSV: tidy sections, numbers kept numeric, formulas neutralised."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from conftest import D, agreed, apply, fig, outcome, submit, tally
from outcomeledger.app.demo import build_gm
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.report import ContractReport, build_report
from outcomeledger.report.csv import cell, to_csv
from outcomeledger.report.tables import contract_sections
from outcomeledger.storage.head import Head

FORMULA = '=HYPERLINK("http://x","y")'


def sections(text: str) -> dict[str, list[list[str]]]:
    """Split stdout CSV at its ``# section`` lines and parse each part."""
    out: dict[str, list[str]] = {}
    name = ""
    for line in text.splitlines(keepends=True):
        if line.startswith("# "):
            name = line[2:].strip()
            out[name] = []
        else:
            out[name].append(line)
    return {k: list(csv.reader(io.StringIO("".join(v)))) for k, v in out.items()}


def test_an_outcome_named_like_a_formula_comes_out_neutralised() -> None:
    state = apply(agreed(outcomes=(outcome("O1", name=FORMULA), outcome("O2"))),
                  tally("FY2025-Q1", O1=3))
    state = apply(state, submit("FY2025-Q1", fig("O1", 2), restate=True, reason="-1 claim"))
    parsed = sections(to_csv(contract_sections(build_report(state, Head(0, "0" * 64, 0)))))
    names = [row[2] for row in parsed["performance_cumulative"][1:]]
    assert names[0] == "'" + FORMULA
    costs = parsed["outcome_costs"]
    assert costs[1][costs[0].index("name")] == "'" + FORMULA
    (header, restated) = parsed["restatements"]
    assert restated[header.index("reason")] == "'-1 claim"  # text starting with '-'
    assert restated[header.index("difference")] == "-1"  # a number stays a number
    assert restated[header.index("earned_difference")] == "-100.00"


def test_only_cells_a_spreadsheet_would_run_as_formulas_are_guarded() -> None:
    """One rule for every CSV output (issue 14, item 8): a plain number or a lone sign is
    data, not a formula, whatever its type."""
    assert cell(Decimal("-10400.00")) == "-10400.00"
    assert cell("-10400.00") == "-10400.00"
    assert [cell(x) for x in ("@SUM(A1)", "=1+1", "-A1", "+1", "-", "\tx", "\rx",
                              "plain")] == [
        "'@SUM(A1)", "'=1+1", "'-A1", "+1", "-", "'\tx", "'\rx", "plain"]
    assert (cell(None), cell(True), cell(3)) == ("", "true", "3")


def test_gm_csv_on_stdout_has_one_tidy_table_per_section(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    with open_ledger(str(db), create=True) as ledger:
        build_gm(ledger)
    result = CliRunner().invoke(cli, ["--db", str(db), "report", "GMHP-2017",
                                      "--format", "csv"])
    assert result.exit_code == 0, result.output
    parsed = sections(result.stdout)
    assert list(parsed) == [s.name for s in contract_sections(_any_report())]
    header, row = parsed["restatements"]
    assert (row[header.index("earned_difference")], row[header.index("cash_effect")],
            row[header.index("cash_effect_note")]) == ("-10400.00", "0.00", "absorbed by cap")
    caps = {r[1]: r for r in parsed["caps"][1:]}
    assert caps["contract"][4:7] == ["2629000.00", "2629000.00", "0.00"]


def test_csv_to_a_directory_writes_one_file_per_section(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    with open_ledger(str(db), create=True) as ledger:
        build_gm(ledger)
    out = tmp_path / "csv"
    out.mkdir()
    result = CliRunner().invoke(cli, ["--db", str(db), "report", "GMHP-2017",
                                      "--output", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert "payments.csv" in files
    assert "restatements.csv" in files
    assert len(files) == len(contract_sections(_any_report()))
    first = (out / "payments.csv").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("contract,period,earned,above_cap")


def _any_report() -> ContractReport:
    return build_report(agreed(), Head(0, "0" * 64, 0))


def test_numbers_in_text_sections_use_plain_decimals() -> None:
    state = apply(agreed(outcomes=(outcome("O1", price=D("1234567.5")),)),
                  tally("FY2025-Q1", O1=1))
    parsed = sections(to_csv(contract_sections(build_report(state, Head(0, "0" * 64, 0)))))
    header, row = parsed["payments"][0], parsed["payments"][1]
    assert row[header.index("earned")] == "1234567.50"  # no thousands separators in CSV
