"""`contract extend` and `contract break` through the command line (DESIGN 11): what they
record, what they refuse (exit 1, every failing outcome named, nothing written), what
`--dry-run` writes (nothing), and where the options show (read models, report, UK10)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from ledgered import FLEX, FLEX_RETURNS, Ledgered


@pytest.fixture
def flex(tmp_path: Path) -> Ledgered:
    ledgered = Ledgered(tmp_path)
    assert ledgered("init").exit_code == 0
    assert ledgered("contract", "agree", ledgered.write("flex.toml", FLEX)).exit_code == 0
    ledgered.imported("flex.csv", FLEX_RETURNS, "--received-on", "2025-04-20")
    return ledgered


def head(ledgered: Ledgered) -> str:
    result = ledgered("audit", "head")
    assert result.exit_code == 0, result.stderr
    return result.stdout


def rows(ledgered: Ledgered, table: str) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(ledgered.db)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table}")]


def test_an_extension_earned_moves_the_end_everywhere(flex: Ledgered) -> None:
    result = flex("contract", "extend", "C-FLEX", "--option", "E1", "--on", "2025-04-30",
                  "--reason", "two good quarters")
    assert result.exit_code == 0, result.stderr
    assert "extended C-FLEX by option E1: ends 2028-03-31" in result.stderr
    [contract] = rows(flex, "proj_contract_state")
    assert (contract["term_end"], contract["claims_until"]) == ("2028-03-31", "2028-05-15")
    options = {r["option"]: r for r in rows(flex, "proj_contract_state_options")}
    assert (options["E1"]["exercised"], options["E1"]["decided_on"],
            options["E1"]["reason"]) == (1, "2025-04-30", "two good quarters")
    assert not options["E3"]["exercised"]
    verify = flex("audit", "verify", "--full")
    assert verify.exit_code == 0, verify.output
    notice = flex("publish", "ocds", "C-FLEX", "--notice", "uk10", "--ocid-prefix",
                  "ocds-abcdef")
    assert notice.exit_code == 0, notice.stderr
    [amendment] = json.loads(notice.stdout)["releases"][0]["contracts"][0]["amendments"]
    assert amendment["rationale"] == "two good quarters"
    assert amendment["description"].splitlines()[:4] == [
        "Extension option E1 exercised, its condition judged on 2025-04-30.",
        "Effective from 2027-04-01.", "Value: uncapped → uncapped.",
        "Term: 2024-04-01 to 2027-03-31 → 2024-04-01 to 2028-03-31."]


def test_a_refused_extension_names_every_failing_outcome_and_writes_nothing(
        flex: Ledgered) -> None:
    before = (flex.events(), head(flex))
    result = flex("contract", "extend", "C-FLEX", "--option", "E3", "--on", "2025-04-30",
                  "--reason", "r")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        "error: --option: E3: O2 (Housed) not rated approaching target or better in every "
        "period judged (got FY2024-Q1 inadequate (3 against 5))",
        "refused: 1 problem(s); nothing was written"]
    assert (flex.events(), head(flex)) == before


def test_dry_run_prints_the_decision_and_writes_nothing(flex: Ledgered) -> None:
    before = (flex.events(), head(flex))
    result = flex("contract", "break", "C-FLEX", "--option", "B1", "--on", "2025-04-30",
                  "--reason", "early end", "--dry-run")
    assert result.exit_code == 0, result.stderr
    [event] = json.loads(result.stdout)
    assert (event["type"], event["option"], event["closed_on"], event["decided_on"]) == (
        "ContractBroken", "B1", "2026-03-31", "2025-04-30")
    assert "nothing was written" in result.stderr
    assert (flex.events(), head(flex)) == before


def test_a_break_closes_the_contract_on_its_date(flex: Ledgered) -> None:
    result = flex("contract", "break", "C-FLEX", "--option", "B1", "--on", "2025-04-30",
                  "--reason", "early end")
    assert result.exit_code == 0, result.stderr
    [contract] = rows(flex, "proj_contract_state")
    assert (contract["status"], contract["closed_on"]) == ("closed", "2026-03-31")
    uk11 = flex("publish", "ocds", "C-FLEX", "--notice", "uk11", "--ocid-prefix",
                "ocds-abcdef")
    assert uk11.exit_code == 0, uk11.stderr
    assert flex("audit", "verify", "--full").exit_code == 0


def test_the_report_lists_every_option_in_every_format(flex: Ledgered) -> None:
    def report(fmt: str) -> str:
        result = flex("report", "C-FLEX", "--format", fmt, "--as-at", "2025-04-30")
        assert result.exit_code == 0, result.stderr
        return result.stdout

    data = json.loads(report("json"))
    assert [(o["option"], o["eligible"]) for o in data["options"]] == [
        ("E1", True), ("E2", True), ("E3", False), ("B1", True)]
    [e3] = [o for o in data["options"] if o["option"] == "E3"]
    assert e3["why"] == ("O2 (Housed) below approaching target: FY2024-Q1 inadequate (3 "
                         "against 5)")
    csv = report("csv")
    assert "# options\ncontract,option,kind,condition,months,decide_by,break_on," in csv
    html = report("html")
    assert 'id="options"' in html
    assert "O2 (Housed) below approaching target" in html
    table = report("table")
    assert "Extension and break options" in table
