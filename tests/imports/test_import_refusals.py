"""Returns import: the catalogue of refusals.

Each bad input is refused whole, exit 1, with a message naming the file, the line and
the field (``FILE:LINE: field: message``), and the ledger is exactly as it was: the
event count (``Ledger.max_position()``) does not move.

``Ledgered`` (a ledger driven through the CLI) lives in ``tests/ledgered.py``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import pytest

from ledgered import Ledgered, ledger, rows

__all__ = ["ledger"]  # the fixture every case here runs on


@dataclass(frozen=True)
class Case:
    name: str
    files: dict[str, str | bytes]  # the refusal is expected in the first file
    line: int | None
    field: str
    message: str  # the start of the message after "field: "
    args: tuple[str, ...] = ()
    before: tuple[tuple[str, ...], ...] = ()  # commands run (and accepted) first
    before_files: dict[str, str] = dataclasses.field(default_factory=dict)
    where: str = ""  # the file with the refusal, when not the first


P_HEADER = "contract,period,provider,participant,outcome,value,achieved_on\n"
NDJSON_OK = '{"contract":"C-IMP","period":"FY2020-Q1","outcome":"ENTRY","value":1}\n'

CASES = [
    Case("unknown contract", {"r.csv": rows("C-IMP,FY2020-Q1,ENTRY,1", "NOPE,FY2020-Q1,WB,1")},
         3, "contract", "unknown contract (got 'NOPE', expected the reference of a contract "
         "agreed in this ledger)"),
    Case("unknown outcome", {"r.csv": rows("C-IMP,FY2020-Q1,NOPE,1")}, 2, "outcome",
         "unknown outcome for FY2020-Q1 (got 'NOPE', expected one of ['ENTRY', 'SUSTAIN', "
         "'WB'])"),
    Case("malformed period", {"r.csv": rows("C-IMP,2020Q1,ENTRY,1")}, 2, "period",
         "not a period id; expected FYyyyy-Qn"),
    Case("monthly period on a quarterly contract", {"r.csv": rows("C-IMP,2020-04,ENTRY,1")},
         2, "period", "a monthly period on a quarterly contract"),
    Case("period before the term", {"r.csv": rows("C-IMP,FY2019-Q4,ENTRY,1")}, 2, "period",
         "before the contract starts (got FY2019-Q4, contract starts 2020-04-01)"),
    Case("period after the claims window", {"r.csv": rows("C-IMP,FY2021-Q2,ENTRY,1")}, 2,
         "period", "after the claims window closes (got FY2021-Q2, claims close 2021-05-15)"),
    Case("value missing", {"r.csv": rows("C-IMP,FY2020-Q1,ENTRY,")}, 2, "value",
         "missing (expected a number)"),
    Case("value not a number", {"r.csv": rows("C-IMP,FY2020-Q1,ENTRY,ten")}, 2, "value",
         "not a finite number (got 'ten', expected a decimal like 12 or 3.5)"),
    Case("value with a thousands separator", {"r.csv": rows("C-IMP,FY2020-Q1,ENTRY,1_000")},
         2, "value", "not a finite number (got '1_000'"),
    Case("value negative", {"r.csv": rows("C-IMP,FY2020-Q1,ENTRY,-1")}, 2, "value",
         "negative (got -1, expected 0 or more)"),
    Case("value NaN", {"r.csv": rows("C-IMP,FY2020-Q1,ENTRY,NaN")}, 2, "value",
         "not a finite number (got 'NaN'"),
    Case("value infinite", {"r.csv": rows("C-IMP,FY2020-Q1,ENTRY,Infinity")}, 2, "value",
         "not a finite number (got 'Infinity'"),
    Case("value absurdly large", {"r.csv": rows("C-IMP,FY2020-Q1,ENTRY,1e16")}, 2, "value",
         "absurdly large (got 1E+16, expected at most 1E+15)"),
    Case("fractional count of people", {"r.csv": rows("C-IMP,FY2020-Q1,ENTRY,2.5")}, 2,
         "value", "fractional count (got 2.5, expected a whole number of people)"),
    Case("too few fields", {"r.csv": rows("C-IMP,FY2020-Q1,ENTRY")}, 2, "value",
         "missing: the row has 3 fields (got 'C-IMP,FY2020-Q1,ENTRY', expected 4: contract, "
         "period, outcome, value)"),
    Case("too many fields", {"r.csv": rows("C-IMP,FY2020-Q1,ENTRY,1,2")}, 2, "row",
         "wrong number of fields (got 5, expected 4: contract, period, outcome, value)"),
    Case("missing required column", {"r.csv": "contract,period,value\nC-IMP,FY2020-Q1,1\n"},
         1, "outcome", "missing required column (got contract, period, value; expected "
         "contract, period, outcome, value"),
    Case("unknown column", {"r.csv": rows("C-IMP,FY2020-Q1,ENTRY,1,x",
                                          header="contract,period,outcome,value,notes\n")},
         1, "notes", "unknown column (got 'notes', expected one of contract, period, "
         "outcome, value, provider, participant, achieved_on, evidence)"),
    Case("column given twice", {"r.csv": rows("C-IMP,FY2020-Q1,ENTRY,1,2",
                                              header="contract,period,outcome,value,value\n")},
         1, "value", "column appears twice"),
    Case("empty file", {"r.csv": ""}, 1, "header", "empty file (expected a header row"),
    Case("invalid UTF-8", {"r.csv": (b"contract,period,outcome,value,evidence\n"
                                     b"C-IMP,FY2020-Q1,ENTRY,1,ok\n"
                                     b"C-IMP,FY2020-Q1,WB,1,caf\xe9 receipt\n")},
         3, "evidence", "invalid UTF-8 (got b'caf\\xe9 receipt', expected UTF-8 text)"),
    Case("malformed quoting", {"r.csv": rows('C-IMP,FY2020-Q1,"ENTRY"x,1')}, 2, "row",
         "malformed CSV"),
    Case("same figure twice with different values",
         {"r.csv": rows("C-IMP,FY2020-Q1,ENTRY,1", "C-IMP,FY2020-Q1,WB,4",
                        "C-IMP,FY2020-Q1,ENTRY,2")},
         4, "value", "ENTRY in C-IMP FY2020-Q1 appears twice with different values (got 2, "
         "expected 1 as on line 2, or one row only)"),
    Case("same figure with different values in two files of one import",
         {"a.csv": rows("C-IMP,FY2020-Q1,ENTRY,1"),
          "b.csv": rows("C-IMP,FY2020-Q1,WB,1", "C-IMP,FY2020-Q1,ENTRY,2")},
         3, "value", "ENTRY in C-IMP FY2020-Q1 differs between the files of this import "
         "(got 2, expected 1 as in", where="b.csv"),
    Case("provider not in the network",
         {"r.csv": rows("C-IMP,FY2020-Q1,P9,ENTRY,1",
                        header="contract,period,provider,outcome,value\n")},
         2, "provider", "not in the contract's delivery network (got 'P9', expected one of "
         "['P1', 'P2'])"),
    Case("achieved_on outside its period",
         {"r.csv": rows("C-IMP,FY2020-Q1,P1,A-1,ENTRY,1,2020-08-01", header=P_HEADER)},
         2, "achieved_on", "outside its period (got 2020-08-01, expected "
         "2020-04-01..2020-06-30)"),
    Case("achieved_on after the claims window",
         {"r.csv": rows("C-IMP,FY2021-Q1,P1,A-1,ENTRY,1,2021-06-01", header=P_HEADER)},
         2, "achieved_on", "after the claims window closed (got 2021-06-01, claims close "
         "2021-05-15)"),
    Case("achieved_on not a date",
         {"r.csv": rows("C-IMP,FY2020-Q1,P1,A-1,ENTRY,1,01/05/2020", header=P_HEADER)},
         2, "achieved_on", "not a date (got '01/05/2020', expected YYYY-MM-DD)"),
    Case("a once-per-participant outcome claimed again in the ledger",
         {"r.csv": rows("C-IMP,FY2020-Q2,P1,A-1,ENTRY,1,", header=P_HEADER)},
         2, "participant", "ENTRY is claimable once per participant and A-1 already has it "
         "in FY2020-Q1",
         before=(("returns", "import", "first.csv"),),
         before_files={"first.csv": rows("C-IMP,FY2020-Q1,P1,A-1,ENTRY,1,", header=P_HEADER)}),
    Case("a once-per-participant outcome twice in one file",
         {"r.csv": rows("C-IMP,FY2020-Q2,P1,A-1,ENTRY,1,", "C-IMP,FY2020-Q1,P1,A-1,ENTRY,1,",
                        header=P_HEADER)},
         2, "participant", "ENTRY is claimable once per participant and A-1 already has it "
         "in FY2020-Q1"),
    # (A ladder rung without its prerequisite is recorded with a warning and excluded from
    # payment, not refused: issue 14 item 4, tests/app/test_trust_money.py.)
    Case("a changed figure without --restate",
         {"r.csv": rows("C-IMP,FY2020-Q1,WB,3", "C-IMP,FY2020-Q1,ENTRY,4")},
         3, "value", "FY2020-Q1 ENTRY was recorded as 3; a different value needs --restate "
         "--reason (got 4)",
         before=(("returns", "import", "first.csv"),),
         before_files={"first.csv": rows("C-IMP,FY2020-Q1,ENTRY,3")}),
    Case("a closed contract", {"r.csv": rows("C-IMP,FY2020-Q4,ENTRY,1")}, 2, "contract",
         "contract 'C-IMP' was closed on 2021-03-31",
         before=(("contract", "close", "C-IMP", "--reason", "ended", "--on", "2021-03-31"),)),
    Case("NDJSON: a line that is not JSON",
         {"r.ndjson": NDJSON_OK + '{"contract":"C-IMP",\n'}, 2, "row",
         "expected one JSON object per line"),
    Case("NDJSON: a required field missing",
         {"r.ndjson": NDJSON_OK + '{"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB"}\n'},
         2, "value", "missing (expected a value)"),
    Case("NDJSON: an unknown field",
         {"r.ndjson": '{"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB","value":1,'
                      '"vaule":2}\n'},
         1, "vaule", "unknown field (expected one of contract, period, outcome, value"),
    Case("NDJSON: a value that is an object",
         {"r.ndjson": '{"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB",'
                      '"value":{"n":1}}\n'},
         1, "value", 'expected a string or number (got {"n":1})'),
    Case("NDJSON: invalid UTF-8",
         {"r.ndjson": b'{"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB","value":1,'
                      b'"evidence":"caf\xe9"}\n'},
         1, "evidence", "invalid UTF-8 (got byte 0xe9, expected UTF-8 text)"),
    Case("JSON: invalid UTF-8 in an item",
         {"r.json": b'[\n  {"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB","value":1},'
                    b'\n  {"contract":"C-IMP","period":"FY2020-Q1","outcome":"ENTRY",'
                    b'"value":1,"evidence":"caf\xe9"}\n]\n'},
         3, "evidence", "invalid UTF-8 (got byte 0xe9, expected UTF-8 text)"),
    Case("JSON: not an array of objects",
         {"r.json": '[\n  {"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB","value":1},\n'
                    ']\n'},
         3, "document", "expected a JSON array of objects (JSON is malformed: trailing comma"),
    Case("JSON: an item that is not an object",
         {"r.json": '[\n  {"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB","value":1},'
                    '\n  "C-IMP,FY2020-Q1,ENTRY,1"\n]\n'},
         3, "row", "expected a JSON object (got str)"),
    Case("JSON: a bad value, located by line",
         {"r.json": '[\n  {"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB","value":1},'
                    '\n  {"contract":"C-IMP","period":"FY2020-Q1","outcome":"ENTRY",'
                    '"value":-3}\n]\n'},
         3, "value", "negative (got -3, expected 0 or more)"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_bad_file_is_refused_naming_file_line_and_field(ledger: Ledgered,
                                                          case: Case) -> None:
    for name, content in case.before_files.items():
        ledger.write(name, content)
    for command in case.before:
        args = [str(ledger.tmp / a) if a in case.before_files else a for a in command]
        assert ledger(*args).exit_code == 0
    paths = [ledger.write(name, content) for name, content in case.files.items()]
    before = ledger.events()
    result = ledger("returns", "import", *paths, *case.args)
    assert result.exit_code == 1, result.output
    refused = str(ledger.tmp / case.where) if case.where else paths[0]
    where = refused if case.line is None else f"{refused}:{case.line}"
    assert f"error: {where}: {case.field}: {case.message}" in result.stderr
    assert "nothing was written" in result.stderr
    assert ledger.events() == before


def test_a_restatement_without_a_reason_is_refused(ledger: Ledgered) -> None:
    ledger.imported("first.csv", rows("C-IMP,FY2020-Q1,ENTRY,3"))
    before = ledger.events()
    result = ledger("returns", "import", ledger.write("r.csv", rows("C-IMP,FY2020-Q1,ENTRY,4")),
                    "--restate")
    assert result.exit_code == 2  # a usage mistake, as a missing --reason is everywhere
    assert "--restate needs --reason TEXT" in result.stderr
    assert ledger.events() == before


def test_an_unreadable_file_is_refused(ledger: Ledgered) -> None:
    missing = str(ledger.tmp / "missing.csv")
    result = ledger("returns", "import", missing)
    assert result.exit_code == 1
    assert f"error: {missing}: file: cannot read (No such file or directory" in result.stderr
    assert ledger.events() == 1


def test_every_problem_of_every_file_is_reported_in_line_order(ledger: Ledgered) -> None:
    bad = ledger.write("bad.csv", rows("C-IMP,FY2020-Q1,ENTRY,1", "C-IMP,FY2020-Q1,NOPE,1",
                                       "C-IMP,FY2020-Q1,WB,-2", "NOPE,FY2020-Q1,WB,1",
                                       "C-IMP,FY2020-Q1,SUSTAIN,ten", "C-IMP,FY2099-Q1,WB,1"))
    good = ledger.write("good.csv", rows("C-IMP,FY2020-Q2,ENTRY,5"))
    result = ledger("returns", "import", good, bad)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert [e.split(": ")[1:3] for e in errors] == [
        [f"{bad}:3", "outcome"], [f"{bad}:4", "value"], [f"{bad}:5", "contract"],
        [f"{bad}:6", "value"], [f"{bad}:7", "period"]]
    assert "refused: 5 problem(s); nothing was written" in result.stderr
    assert ledger.events() == 1  # not even the good file, nor bad.csv's good row


def test_a_refused_import_prints_its_receipt_with_the_rows_refused(ledger: Ledgered) -> None:
    bad = ledger.write("bad.csv", rows("C-IMP,FY2020-Q1,ENTRY,1", "C-IMP,FY2020-Q1,WB,x",
                                       "C-IMP,FY2020-Q1,SUSTAIN,y"))
    result = ledger("--width", "400", "returns", "import", bad)  # one line per receipt
    [receipt_row] = [line for line in result.stderr.splitlines() if line.startswith(bad)]
    assert receipt_row.split()[2:9] == ["3", "0", "0", "0", "2", "0", "1"]  # rows..returns


def test_problems_print_as_json_data_with_format_json(ledger: Ledgered) -> None:
    bad = ledger.write("bad.csv", rows("C-IMP,FY2020-Q1,ENTRY,2.5", "C-IMP,FY2020-Q1,NOPE,1"))
    result = ledger("returns", "import", bad, "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"errors": [
        {"file": bad, "line": 2, "field": "value",
         "message": "fractional count (got 2.5, expected a whole number of people)"},
        {"file": bad, "line": 3, "field": "outcome",
         "message": "unknown outcome for FY2020-Q1 (got 'NOPE', expected one of ['ENTRY', "
                    "'SUSTAIN', 'WB'])"}]}
    assert ledger.events() == 1


def test_a_dry_run_of_a_bad_file_is_refused_the_same_way(ledger: Ledgered) -> None:
    bad = ledger.write("bad.csv", rows("C-IMP,FY2020-Q1,ENTRY,-1"))
    result = ledger("returns", "import", bad, "--dry-run")
    assert result.exit_code == 1
    assert f"error: {bad}:2: value: negative" in result.stderr
