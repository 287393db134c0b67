"""`report` on the command line: JSON shape, portfolio, as-of, the head, usage errors.

On both backends (tests/backends.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from backends import Db
from outcomeledger.app.demo import build_enf, build_gm, build_pb
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.report import ContractReport, PortfolioReport
from outcomeledger.report.schema import schema_bytes

SCHEMA = Path(__file__).resolve().parents[2] / "projections" / "report.schema.json"


@pytest.fixture(scope="module")
def db(module_ledger_db: Db) -> Db:
    with open_ledger(module_ledger_db.url, create=True) as ledger:
        build_gm(ledger)
        build_pb(ledger)
        build_enf(ledger)
    return module_ledger_db


def invoke(db: Db, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", db.url, *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_decodes_as_the_published_struct(db: Db) -> None:
    code, out, _ = invoke(db, "report", "GMHP-2017", "--format", "json")
    assert code == 0
    report = msgspec.json.decode(out, type=ContractReport)
    assert report.reference == "GMHP-2017"
    raw = json.loads(out)
    assert raw["payments"]["earned"] == "3324020.00"  # money as decimal strings
    assert raw["format"] == "outcomeledger-report"


def test_the_published_schema_is_generated_from_the_structs() -> None:
    """Drift check: regenerate with `python -m outcomeledger.report.schema
    projections/report.schema.json` and describe the change in projections/REPORT.md."""
    assert SCHEMA.read_bytes() == schema_bytes()


def test_every_struct_field_is_described_in_report_md() -> None:
    text = (SCHEMA.parent / "REPORT.md").read_text(encoding="utf-8")
    documented: dict[str, list[str]] = {}
    for block in text.split("\n### ")[1:]:
        name = block.split("`")[1]
        documented[name] = re.findall(r"^\| `([a-z_]+)` \|", block, flags=re.M)
    defs = json.loads(schema_bytes())["$defs"]
    assert {name: list(d["properties"]) for name, d in defs.items()} == documented


def test_all_prints_a_portfolio_summary(db: Db) -> None:
    code, out, _ = invoke(db, "report", "--all", "--format", "json")
    assert code == 0
    portfolio = msgspec.json.decode(out, type=PortfolioReport)
    assert [c.reference for c in portfolio.contracts] == [
        "GMHP-2017", "PB-SIB-2010", "MHEP-ENF-2018"]


def test_the_head_on_the_report_verifies_with_audit(db: Db) -> None:
    _, out, _ = invoke(db, "report", "GMHP-2017", "--format", "json")
    head = json.loads(out)["head"]
    _, printed, _ = invoke(db, "audit", "head")
    assert f"{head['position']}:{head['hash']}" == printed.strip()


def test_as_of_a_position_reports_the_ledger_as_it_stood(db: Db) -> None:
    """Position 5 is GM's FY2018-Q4 payment run, before the restatement was recorded."""
    code, out, _ = invoke(db, "report", "GMHP-2017", "--as-of", "5", "--format", "json")
    assert code == 0
    report = msgspec.json.decode(out, type=ContractReport)
    assert (report.head.position, report.stream.version) == (5, 5)
    assert report.register.restatements == ()
    assert str(report.payments.certified) == "1514400.00"
    assert report.basis.as_of == "5"
    code, _, err = invoke(db, "audit", "verify", "--head",
                          f"{report.head.position}:{report.head.hash}")
    assert code == 0, err


def test_as_of_a_time_before_the_contract_was_agreed_is_refused(db: Db) -> None:
    code, _, err = invoke(db, "report", "MHEP-ENF-2018", "--as-of", "2015-01-01T00:00:00")
    assert code == 1
    assert "not yet agreed" in err


def test_as_of_a_time_cuts_every_stream_at_that_time(db: Db) -> None:
    code, out, _ = invoke(db, "report", "--all", "--as-of", "2015-01-01T00:00:00",
                          "--format", "json")
    assert code == 0
    portfolio = msgspec.json.decode(out, type=PortfolioReport)
    assert [c.reference for c in portfolio.contracts] == ["PB-SIB-2010"]
    assert portfolio.head.streams == 1
    assert portfolio.head.position < 38


def test_as_at_takes_a_date(db: Db) -> None:
    code, out, _ = invoke(db, "report", "MHEP-ENF-2018", "--as-at", "2019-12-31",
                          "--format", "json")
    assert code == 0
    assert json.loads(out)["basis"]["through_period"] == "FY2019-Q3"
    code, _, err = invoke(db, "report", "MHEP-ENF-2018", "--as-at", "31/12/2019")
    assert code == 2
    assert "expected an ISO date" in err


def test_a_reference_or_all_is_required_but_not_both(db: Db) -> None:
    assert invoke(db, "report")[0] == 2
    assert invoke(db, "report", "GMHP-2017", "--all")[0] == 2


def test_an_unknown_contract_is_an_error(db: Db) -> None:
    code, _, err = invoke(db, "report", "NOPE")
    assert code == 1
    assert "no contract with reference 'NOPE'" in err


@pytest.mark.parametrize(("name", "start"), [("r.html", "<!DOCTYPE html>"),
                                             ("r.json", '{"format"'),
                                             ("r.csv", "# summary"),
                                             ("r.txt", "GMHP-2017: report basis")])
def test_the_output_suffix_picks_the_format(db: Db, tmp_path: Path, name: str,
                                            start: str) -> None:
    target = tmp_path / name
    code, out, err = invoke(db, "report", "GMHP-2017", "--output", str(target))
    assert code == 0, err
    assert out == ""
    assert target.read_text(encoding="utf-8").startswith(start)


@pytest.mark.parametrize(("as_of", "message", "status"), [
    ("yesterday", "expected a position or an ISO", 2),  # unreadable: a usage mistake
    ("999", "no such position", 1)])
def test_a_bad_as_of_is_refused_with_what_was_expected(db: Db, as_of: str,
                                                       message: str, status: int) -> None:
    code, _, err = invoke(db, "report", "GMHP-2017", "--as-of", as_of)
    assert code == status
    assert message in err


@pytest.mark.parametrize("fmt", ["table", "html"])
def test_text_and_html_end_with_where_the_report_came_from(db: Db, fmt: str) -> None:
    """Provenance (issue 20): generated at, the ledger head and the version."""
    code, out, _ = invoke(db, "report", "PB-SIB-2010", "--format", fmt)
    assert code == 0
    _, head, _ = invoke(db, "report", "PB-SIB-2010", "--format", "json")
    position, digest = json.loads(head)["head"]["position"], json.loads(head)["head"]["hash"]
    # One line on the page; two on a terminal, each within its width.
    found = (re.search(r"Generated (\S+) from ledger head (\d+):([0-9a-f]{64}) by "
                       r"outcomeledger ([0-9][0-9.]*[0-9])", out) if fmt == "html" else
             re.search(r"Generated (\S+) by outcomeledger ([0-9][0-9.]*[0-9])\nfrom ledger "
                       r"head (\d+):([0-9a-f]{64})", out))
    assert found is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", found[1])
    parts = (found[2], found[3], found[4]) if fmt == "html" else (found[3], found[4],
                                                                   found[2])
    assert (int(parts[0]), parts[1], parts[2]) == (position, digest, "0.1.0")


def test_json_and_csv_carry_no_generation_time(db: Db) -> None:
    for fmt in ("json", "csv"):
        code, out, _ = invoke(db, "report", "PB-SIB-2010", "--format", fmt)
        assert code == 0
        assert "Generated " not in out


def test_html_writes_money_in_the_contract_s_currency_and_csv_plain(db: Db) -> None:
    _, page, _ = invoke(db, "report", "PB-SIB-2010", "--format", "html")
    assert '<td class="num">£2,790,000.00</td>' in page  # the payments table
    assert "<dd>£2,790,000.00</dd>" in page  # the headline figures
    _, csv_text, _ = invoke(db, "report", "PB-SIB-2010", "--format", "csv")
    assert "2790000.00" in csv_text
    assert "£" not in csv_text


def test_the_text_report_writes_money_in_the_contract_s_currency(db: Db) -> None:
    code, out, _ = invoke(db, "--width", "400", "report", "MHEP-ENF-2018", "--format", "table")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("FY2019-Q1 "))
    assert "-£700.00" in row
    assert "£51,200.00" in row
    assert "Payments per period (GBP)" in out
