"""The command line through click's CliRunner: exit codes, stdout data, stderr messages.

Every write path runs against both backends (tests/backends.py).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from backends import Db
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.storage.location import locate

GM_TOML = str(resources.files("outcomeledger").joinpath("demo_data", "gm.toml"))
RETURN = ("contract,period,outcome,value,evidence\n"
          "GMHP-2017,FY2018-Q1,ACC0,10,doc-1\n"
          "GMHP-2017,FY2018-Q1,WB1,3,doc-1\n")
PERIOD_KEYS = {"period", "earned", "above_cap", "adjustments", "fees", "retained", "payable",
               "cumulative_payable", "certified", "true_up"}
TOTAL_KEYS = {"earned", "above_cap", "adjustments", "fees", "retained", "payable",
              "certified", "headroom"}


class Cli:
    def __init__(self, db: Db) -> None:
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(cli, ["--db", self.db.url, "--actor", "tester", *args])

    def events(self) -> int:
        with open_ledger(self.db.url) as ledger:
            return ledger.max_position()


@pytest.fixture
def run(ledger_db: Db) -> Cli:
    return Cli(ledger_db)


@pytest.fixture
def agreed_gm(run: Cli) -> Cli:
    assert run("init").exit_code == 0
    result = run("contract", "agree", GM_TOML)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "agreed GMHP-2017\n"
    return run


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_init_creates_an_empty_ledger(run: Cli) -> None:
    result = run("init")
    assert result.exit_code == 0
    assert result.stderr == f"ledger ready at {locate(run.db.url).display} (0 events)\n"
    assert run.events() == 0


def test_a_contract_agreed_from_toml_is_one_event(agreed_gm: Cli) -> None:
    assert agreed_gm.events() == 1


def test_importing_returns_prints_a_receipt_and_records_one_event(agreed_gm: Cli,
                                                                  tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", RETURN)
    result = agreed_gm("returns", "import", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    [receipt] = json.loads(result.stdout)
    assert (receipt["rows"], receipt["added"], receipt["unchanged"], receipt["events"]) == (
        2, 2, 0, 1)
    assert agreed_gm.events() == 2
    again = json.loads(agreed_gm("returns", "import", path, "--format", "json").stdout)
    assert (again[0]["added"], again[0]["unchanged"], again[0]["events"]) == (0, 2, 0)
    assert agreed_gm.events() == 2


def test_payments_as_json_have_the_published_shape(agreed_gm: Cli, tmp_path: Path) -> None:
    agreed_gm("returns", "import", write(tmp_path, "r.csv", RETURN))
    result = agreed_gm("payments", "GMHP-2017", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"contract", "currency", "periods", "totals"}
    assert (data["contract"], data["currency"]) == ("GMHP-2017", "GBP")
    assert all(set(p) == PERIOD_KEYS for p in data["periods"])
    assert set(data["totals"]) == TOTAL_KEYS
    assert [p["period"] for p in data["periods"]] == ["FY2017-Q3", "FY2017-Q4", "FY2018-Q1"]
    assert data["periods"][-1] == {
        "period": "FY2018-Q1", "earned": "6300.00", "above_cap": "0.00",
        "adjustments": "0.00", "fees": "0.00", "retained": "0.00", "payable": "6300.00",
        "cumulative_payable": "6300.00", "certified": "0.00", "true_up": "0.00"}
    assert data["totals"] == {
        "earned": "6300.00", "above_cap": "0.00", "adjustments": "0.00", "fees": "0.00",
        "retained": "0.00", "payable": "6300.00", "certified": "0.00",
        "headroom": "2622700.00"}


def test_payments_for_one_period(agreed_gm: Cli, tmp_path: Path) -> None:
    agreed_gm("returns", "import", write(tmp_path, "r.csv", RETURN))
    result = agreed_gm("payments", "GMHP-2017", "--period", "2018-04-01..2018-06-30",
                       "--format", "json")
    assert [p["period"] for p in json.loads(result.stdout)["periods"]] == ["FY2018-Q1"]


def test_a_file_with_one_bad_row_writes_nothing(agreed_gm: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", RETURN + "GMHP-2017,FY2018-Q1,ACC3,ten,doc-1\n")
    before = agreed_gm.events()
    result = agreed_gm("returns", "import", path)
    assert result.exit_code == 1
    assert f"{path}:4: value: not a finite number (got 'ten'" in result.stderr
    assert "refused: 1 problem(s); nothing was written" in result.stderr
    assert agreed_gm.events() == before


def test_a_refusal_by_the_contract_names_file_line_and_field(agreed_gm: Cli,
                                                             tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", RETURN + "GMHP-2017,FY2018-Q1,NOPE,1,doc-1\n")
    result = agreed_gm("returns", "import", path)
    assert result.exit_code == 1
    assert f"{path}:4: outcome: unknown outcome for FY2018-Q1 (got 'NOPE'" in result.stderr
    assert agreed_gm.events() == 1


def test_json_errors_are_printed_as_data(agreed_gm: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", RETURN + "GMHP-2017,FY2018-Q1,ACC3,ten,doc-1\n")
    result = agreed_gm("returns", "import", path, "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"errors": [{
        "file": path, "line": 4, "field": "value",
        "message": "not a finite number (got 'ten', expected a decimal like 12 or 3.5)"}]}


def test_commands_on_a_missing_ledger_exit_1(run: Cli) -> None:
    result = run("contract", "agree", GM_TOML)
    assert result.exit_code == 1
    assert ("no ledger at" if run.db.backend == "sqlite" else
            "no ledger in the PostgreSQL database at") in result.stderr


def test_the_demo_prints_the_portfolio_summary(run: Cli) -> None:
    result = run("--width", "400", "demo")  # wide enough for a contract's row on one line
    assert result.exit_code == 0, result.stderr
    summary = result.stdout[result.stdout.index("Portfolio summary"):]
    [gm_row] = [line for line in summary.splitlines() if line.startswith("GMHP-2017")]
    assert "3,324,020.00" in gm_row
    assert "695,020.00" in gm_row
    assert gm_row.count("2,629,000.00") == 3  # payable, certified and the contract cap
    assert " closed " in gm_row
    # headroom, missing and late returns, restatements, variations
    assert gm_row.split()[-5:] == ["0.00", "10", "0", "1", "1"]
    assert "PB-SIB-2010" in summary
    assert "2,790,000.00" in summary


def test_the_demo_refuses_an_existing_ledger(run: Cli) -> None:
    assert run("init").exit_code == 0
    result = run("demo")
    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert run.events() == 0


def test_an_unknown_command_is_a_usage_error(run: Cli) -> None:
    assert run("frobnicate").exit_code == 2
