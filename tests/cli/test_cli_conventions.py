"""The command line's conventions, the same on every command (issue 14, items 11-17).

Output: JSON when stdout is not a terminal unless --format says otherwise, and with
``--format json`` refusals too print as ``{"errors": [...]}``. Exit codes: 2 for a usage
mistake (an option missing or unreadable), 1 for refused input. Error messages name the
option or field once, and the right one; only commands that write say "nothing was
written". Contract files report every problem, each on its line.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from ledgered import CONTRACT, HEADER, Ledgered, rows
from outcomeledger.cli import cli
from outcomeledger.domain import codec
from outcomeledger.domain.events import ReturnSubmitted
from outcomeledger.imports import formats as input_formats
from outcomeledger.imports import key_meanings
from outcomeledger.imports.adjustments import REQUIRED as ADJUSTMENT_REQUIRED
from outcomeledger.imports.contract_template import TEMPLATE
from outcomeledger.imports.returns import OPTIONAL as RETURN_OPTIONAL
from outcomeledger.imports.returns import REQUIRED as RETURN_REQUIRED


@pytest.fixture
def ledger(tmp_path: Path) -> Ledgered:
    ledgered = Ledgered(tmp_path)
    assert ledgered("init").exit_code == 0
    result = ledgered("contract", "agree", ledgered.write("c.toml", CONTRACT))
    assert result.exit_code == 0, result.stderr
    return ledgered


P_HEADER = "contract,period,provider,outcome,value\n"


# -- 11: output formats, JSON errors, exit codes ------------------------------------------

def test_an_import_into_a_pipe_prints_json_receipts(ledger: Ledgered) -> None:
    result = ledger.imported("q.csv", rows("C-IMP,FY2020-Q1,ENTRY,3"))
    [receipt] = json.loads(result.stdout)
    assert (receipt["added"], receipt["events"]) == (1, 1)


def test_a_certification_into_a_pipe_prints_json(ledger: Ledgered) -> None:
    ledger.imported("q.csv", rows("C-IMP,FY2020-Q1,ENTRY,3"))
    result = ledger("payments", "certify", "C-IMP", "--period", "FY2020-Q1")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["amount"] == "300.00"


def test_an_unknown_contract_with_format_json_prints_the_error_as_json(
        ledger: Ledgered) -> None:
    result = ledger("payments", "NOPE", "--format", "json")
    assert result.exit_code == 1
    [error] = json.loads(result.stdout)["errors"]
    assert error["message"] == "no contract with reference 'NOPE' in this ledger"


def test_a_usage_mistake_with_format_json_prints_the_error_as_json(ledger: Ledgered) -> None:
    result = ledger("payments", "C-IMP", "--as-of", "yesterday", "--format", "json")
    assert result.exit_code == 2
    [error] = json.loads(result.stdout)["errors"]
    assert error["field"] == "--as-of"
    assert "expected a position or an ISO timestamp (got 'yesterday')" in error["message"]


def test_a_missing_reason_is_a_usage_mistake_on_every_command(ledger: Ledgered) -> None:
    ledger.imported("q.csv", rows("C-IMP,FY2020-Q1,ENTRY,3"))
    path = ledger.write("r.csv", rows("C-IMP,FY2020-Q1,ENTRY,4"))
    restate = ledger("returns", "import", path, "--restate")
    adjust = ledger("adjust", "C-IMP", "--period", "FY2020-Q1", "--kind", "bonus",
                    "--amount", "10")
    assert (restate.exit_code, adjust.exit_code) == (2, 2)
    assert "--restate needs --reason" in restate.stderr
    assert ledger.events() == 2


def test_an_unreadable_as_of_is_a_usage_mistake(ledger: Ledgered) -> None:
    result = ledger("payments", "C-IMP", "--as-of", "yesterday")
    assert result.exit_code == 2
    assert "Invalid value for --as-of" in result.stderr


# -- 12: option and field names in errors ------------------------------------------------

def test_an_unreadable_since_names_since_once(ledger: Ledgered) -> None:
    result = ledger("audit", "log", "--since", "yesterday")
    assert result.exit_code == 2
    assert "--since" in result.stderr
    assert "as-of" not in result.stderr
    assert "as_of" not in result.stderr


def test_a_refused_option_is_named_once(ledger: Ledgered) -> None:
    variation = ledger.write("v.toml", 'max_value = "5000"\n')
    result = ledger("contract", "vary", "C-IMP", variation, "--effective", "2020-05-01",
                    "--reason", "test")
    assert result.exit_code == 1
    assert "error: --effective: " in result.stderr
    assert "effective: effective" not in result.stderr
    assert "--effective: effective" not in result.stderr


def test_a_provider_returning_for_another_provider_is_refused_on_the_provider_field(
        tmp_path: Path) -> None:
    ledger = Ledgered(tmp_path)
    assert ledger("init").exit_code == 0
    contract = CONTRACT.replace(
        'cadence = "quarter"\n',
        'cadence = "quarter"\nactors = [{ name = "tester", role = "provider", '
        'provider = "P1" }, { name = "boss", role = "commissioner" }]\n')
    agreed = ledger.runner.invoke(cli, ["--db", ledger.db, "--actor", "boss", "contract",
                                        "agree", ledger.write("c.toml", contract)])
    assert agreed.exit_code == 0, agreed.stderr
    path = ledger.write("r.csv", rows("C-IMP,FY2020-Q1,P2,ENTRY,3", header=P_HEADER))
    result = ledger("returns", "import", path)
    assert result.exit_code == 1
    assert f"{path}:2: provider: actor 'tester' may not submit returns for provider 'P2'" \
        in result.stderr


def test_reject_and_validate_say_what_they_did(ledger: Ledgered) -> None:
    ledger.imported("q.csv", rows("C-IMP,FY2020-Q1,ENTRY,3"))
    validated = ledger("returns", "validate", "C-IMP", "--period", "FY2020-Q1")
    rejected = ledger("returns", "reject", "C-IMP", "--period", "FY2020-Q1", "--reason",
                      "duplicate")
    assert validated.exit_code == rejected.exit_code == 0
    assert "validated the FY2020-Q1 return of C-IMP" in validated.stderr
    assert "rejected the FY2020-Q1 return of C-IMP" in rejected.stderr


def test_reviewing_without_a_provider_lists_the_returns_there_are(ledger: Ledgered) -> None:
    ledger.imported("q.csv", rows("C-IMP,FY2020-Q1,P1,ENTRY,3", "C-IMP,FY2020-Q1,P2,ENTRY,1",
                                  header=P_HEADER))
    result = ledger("returns", "validate", "C-IMP", "--period", "FY2020-Q1")
    assert result.exit_code == 1
    assert "returns for FY2020-Q1 are from P1, P2: give --provider" in result.stderr


def test_an_unknown_event_type_is_refused_with_the_known_ones(ledger: Ledgered) -> None:
    result = ledger("audit", "log", "--type", "NoSuchType")
    assert result.exit_code == 2
    assert "NoSuchType" in result.stderr
    assert "ReturnRestated" in result.stderr


# -- 13: contract files ------------------------------------------------------------------

BAD_CONTRACT = """\
reference = "C-BAD"
title = "Bad"
buyer = "B"
supplier = "S"
start = 2020-04-01
end = 2021-03-31
cadence = "quarterly"
max_vaule = "1000"

[[outcomes]]
code = "A"
name = "A"
price = "10"

[[outcomes]]
code = "B"
name = "B"
price = "ten"
"""


@pytest.mark.parametrize("suffix", ["toml", "json"])
def test_a_contract_file_reports_every_problem_on_its_line(ledger: Ledgered,
                                                           suffix: str) -> None:
    if suffix == "json":
        import tomllib

        data = tomllib.loads(BAD_CONTRACT)
        data["start"], data["end"] = "2020-04-01", "2021-03-31"
        text = json.dumps(data, indent=1)
        lines = {key: 1 + text[:text.index(f'"{key}"')].count("\n")
                 for key in ("cadence", "max_vaule")}
        lines["price"] = 1 + text[:text.index('"ten"')].count("\n")
    else:
        text = BAD_CONTRACT
        lines = {"cadence": 7, "max_vaule": 8, "price": 18}
    path = ledger.write(f"bad.{suffix}", text)
    result = ledger("contract", "agree", path)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {path}:{lines['cadence']}: cadence: not one of the allowed values (got "
        "'quarterly', expected one of 'month', 'quarter')",
        f"error: {path}:{lines['max_vaule']}: max_vaule: unknown key (got 'max_vaule', "
        "expected one of reference, title, buyer, supplier, start, end, cadence, outcomes, "
        "currency, max_value, claims_until, retention, negative_periods, participant_cap, "
        "returns_due_days, signed_returns, payers, providers, fees, social_value, kpis, "
        "actors, ratings, programme, extensions, breaks, risk_share, participant_ids); did "
        "you mean 'max_value'?",
        f"error: {path}:{lines['price']}: outcomes[1].price: invalid decimal string (got "
        "'ten', expected a number)"]


def test_a_variation_file_reports_every_problem_too(ledger: Ledgered) -> None:
    path = ledger.write("v.toml", 'max_value = "x"\n\n[[outcomes]]\ncode = "ENTRY"\n'
                        'prise = "5"\n')
    result = ledger("contract", "vary", "C-IMP", path, "--effective", "2020-07-01",
                    "--reason", "test")
    assert result.exit_code == 1
    assert f"{path}:1: max_value: invalid decimal string" in result.stderr
    assert f"{path}:5: outcomes[0].prise: unknown key" in result.stderr
    assert "did you mean 'price'?" in result.stderr


def test_the_terms_own_checks_name_the_line_too(ledger: Ledgered) -> None:
    text = BAD_CONTRACT.replace('"quarterly"', '"quarter"').replace('max_vaule = "1000"\n',
                                                                     "").replace('"ten"', '"-5"')
    text = text.replace("end = 2021-03-31", "end = 2019-03-31")
    path = ledger.write("sem.toml", text)
    result = ledger("contract", "agree", path)
    assert result.exit_code == 1
    assert f"error: {path}:6: end: ends before it starts" in result.stderr
    assert f"error: {path}:17: outcomes[1].price: must be at least 0 (got -5)" in result.stderr
    variation = ledger.write("v.toml", 'title = "New"\nretire = ["NOPE"]\n')
    varied = ledger("contract", "vary", "C-IMP", variation, "--effective", "2020-07-01",
                    "--reason", "test")
    assert varied.exit_code == 1
    assert f"error: {variation}:2: retire: no outcome 'NOPE' to retire" in varied.stderr


def test_a_key_in_an_array_of_tables_written_one_per_line_is_found_on_its_line(
        ledger: Ledgered) -> None:
    text = TEMPLATE.replace('{ id = "P2", name = "Second provider" }',
                            '{ id = "P2", nam = "Second provider" }')
    at = 1 + text[:text.index('nam = "Second')].count("\n")
    path = ledger.write("mine.toml", text)
    result = ledger("contract", "agree", path)
    assert result.exit_code == 1
    assert f"error: {path}:{at}: providers[1].nam: unknown key" in result.stderr
    assert f"error: {path}:{at}: providers[1].name: missing required key" in result.stderr


# -- 14: schema --write into a new folder ------------------------------------------------

def test_schema_write_into_an_empty_folder_writes_a_checkable_set(ledger: Ledgered,
                                                                  tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    written = ledger("schema", "--write", "--dir", str(folder))
    assert written.exit_code == 0, written.stderr
    assert (folder / "README.md").exists()
    assert ledger("schema", "--check", "--dir", str(folder)).exit_code == 0


# -- 15: only writing commands say nothing was written -----------------------------------

def test_a_read_command_does_not_say_nothing_was_written(ledger: Ledgered) -> None:
    result = ledger("payments", "C-IMP", "--as-of", "999")
    assert result.exit_code == 1
    assert "--as-of: no such position" in result.stderr
    assert "nothing was written" not in result.stderr


def test_a_refused_pack_replay_does_not_say_nothing_was_written(ledger: Ledgered) -> None:
    pack = ledger.write("pack.ndjson", "not a pack\n")
    result = ledger("audit", "replay", pack)
    assert result.exit_code == 1
    assert "nothing was written" not in result.stderr


def test_a_writing_command_still_says_nothing_was_written(ledger: Ledgered) -> None:
    result = ledger("returns", "import", ledger.write("r.csv", rows("C-IMP,FY2020-Q1,NOPE,1")))
    assert result.exit_code == 1
    assert "nothing was written" in result.stderr


# -- 16: spreadsheets saved with another separator ---------------------------------------

def test_a_semicolon_separated_file_is_named_as_such(ledger: Ledgered) -> None:
    path = ledger.write("semi.csv", HEADER.replace(",", ";") + "C-IMP;FY2020-Q1;ENTRY;1\n")
    result = ledger("returns", "import", path)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "this looks like ';'-separated" in errors[0]


def test_an_adjustments_file_into_a_pipe_prints_a_json_receipt(ledger: Ledgered) -> None:
    path = ledger.write("adj.csv", "contract,period,kind,amount,reason\n"
                        "C-IMP,FY2020-Q1,bonus,100,good work\n")
    result = ledger("adjust", "--file", path)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["adjustments"] == 1


# -- 18: the input formats, documented in the repository ----------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs"
README = Path(__file__).resolve().parents[2] / "README.md"


def test_published_input_schemas_and_key_tables_match_the_code() -> None:
    result = CliRunner().invoke(cli, ["schema", "--inputs", "--check", "--dir", str(DOCS)])
    assert result.exit_code == 0, result.stderr
    for name, data in input_formats.schema_files().items():
        assert (DOCS / "schemas" / name).read_bytes() == data


def test_input_schema_check_fails_on_drift(tmp_path: Path) -> None:
    copy = tmp_path / "docs"
    shutil.copytree(DOCS, copy)
    path = copy / "schemas" / "contract.schema.json"
    path.write_text(path.read_text().replace('"max_value"', '"max_vaule"'))
    doc = copy / "formats.md"
    doc.write_text(doc.read_text().replace("| `max_value` |", "| `max_vaule` |"))
    result = CliRunner().invoke(cli, ["schema", "--inputs", "--check", "--dir", str(copy)])
    assert result.exit_code == 1
    assert "contract.schema.json: differs from the code" in result.stderr
    assert "formats.md: key tables differ from the code" in result.stderr
    assert CliRunner().invoke(cli, ["schema", "--inputs", "--write", "--dir",
                                    str(copy)]).exit_code == 0
    assert input_formats.check(copy) == []


def test_every_key_of_every_input_format_has_a_meaning() -> None:
    for kind, meanings in key_meanings.MEANINGS.items():
        keys = [f.encode_name for f in msgspec.structs.fields(kind)]
        assert [k for k in keys if not meanings.get(k)] == [], kind.__name__
    assert tuple(key_meanings.RETURN_ROW) == (*RETURN_REQUIRED, *RETURN_OPTIONAL)
    assert tuple(key_meanings.ADJUSTMENT_ROW) == ADJUSTMENT_REQUIRED


def test_the_contract_template_agrees_as_it_stands(ledger: Ledgered) -> None:
    printed = ledger("contract", "init")
    assert printed.exit_code == 0
    assert printed.stdout == TEMPLATE
    path = ledger.tmp / "mine.toml"
    assert ledger("contract", "init", "--output", str(path)).exit_code == 0
    assert ledger("contract", "init", "--output", str(path)).exit_code == 2  # never over
    result = ledger("contract", "agree", str(path))
    assert result.exit_code == 0, result.stderr


def test_the_readme_cites_only_documents_in_the_repository() -> None:
    text = README.read_text(encoding="utf-8")
    assert "DESIGN " not in text
    assert "domain.md" not in text
    for target in re.findall(r"\]\(((?:docs|replay)/[^)#]*)", text):
        assert (README.parent / target).exists(), target


# -- 17: back-filled returns, received before they were recorded --------------------------

def _return_status(ledger: Ledgered, period: str) -> str:
    with closing(sqlite3.connect(ledger.db)) as conn:
        row = conn.execute("SELECT status FROM proj_accountability_returns WHERE "
                           "contract = 'C-IMP' AND period = ?", (period,)).fetchone()
    return str(row[0])


def test_a_return_received_in_time_is_not_late_however_late_it_is_recorded(
        ledger: Ledgered) -> None:
    path = ledger.write("q1.csv", rows("C-IMP,FY2020-Q1,ENTRY,3"))
    [receipt] = ledger.receipts(path, "--received-on", "2020-07-15")
    assert (receipt["late"], receipt["late_returns"]) == (0, [])
    assert _return_status(ledger, "FY2020-Q1") == "received"
    fed = [json.loads(line) for line in ledger("events").stdout.splitlines()]
    [submitted] = [e for e in fed if e["type"] == "ReturnSubmitted"]
    assert submitted["data"]["received_on"] == "2020-07-15"
    assert submitted["recorded_at"].startswith(str(date.today().year))  # the ledger's clock
    verified = ledger("audit", "verify")  # every event is one the rules would record
    assert verified.exit_code == 0, verified.stdout + verified.stderr


def test_the_receipt_says_which_returns_were_late_and_by_how_many_days(
        ledger: Ledgered) -> None:
    path = ledger.write("q.csv", rows("C-IMP,FY2020-Q1,P1,ENTRY,3", "C-IMP,FY2020-Q2,P1,ENTRY,1",
                                      header=P_HEADER))
    result = ledger("returns", "import", path, "--received-on", "2020-08-09", "--format",
                    "json")
    assert result.exit_code == 0, result.stderr
    [receipt] = json.loads(result.stdout)
    # FY2020-Q1 ends 2020-06-30, due 30 days later (2020-07-30); FY2020-Q2 is not yet due.
    assert (receipt["late"], receipt["late_returns"]) == (1, ["C-IMP FY2020-Q1 P1: 10 day(s) "
                                                              "late"])
    assert f"late: {path}: C-IMP FY2020-Q1 P1: 10 day(s) late" in result.stderr
    assert _return_status(ledger, "FY2020-Q1") == "late"
    assert _return_status(ledger, "FY2020-Q2") == "received"


def test_a_received_on_date_in_the_future_is_a_usage_mistake(ledger: Ledgered) -> None:
    path = ledger.write("q.csv", rows("C-IMP,FY2020-Q1,ENTRY,3"))
    result = ledger("returns", "import", path, "--received-on", "2999-01-01")
    assert result.exit_code == 2
    assert "--received-on: in the future (got 2999-01-01" in result.stderr
    assert ledger.events() == 1


def test_returns_recorded_before_received_on_existed_replay_unchanged() -> None:
    old = (b'{"contract":"C","figures":[{"outcome":"A","value":"1"}],"late":true,'
           b'"period":"FY2020-Q1","reason":"return submitted",'
           b'"recorded_at":"2020-08-01T09:00:00Z","recorded_by":"p","type":"ReturnSubmitted"}')
    event = codec.decode("ReturnSubmitted/1", old)
    assert isinstance(event, ReturnSubmitted)
    assert event.received_on is None
    assert codec.encode(event) == old  # same bytes, same hash: the chain still verifies
