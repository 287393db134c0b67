"""The data contract downstream systems read (issue 14, items 6-10), on both backends.

* every row of every ``proj_*`` table (the demo ledger, the ``replay/`` scenarios, and
  ``replay --as-of``) is valid under its published JSON Schema: checked by a small
  validator for exactly the keywords the schemas use (jsonschema is not a dependency),
  which refuses any keyword it does not know, so a schema cannot outgrow the check;
* money sorts, filters and sums exactly in plain SQL: ``NUMERIC`` on PostgreSQL, the
  generated ``<money>_minor`` integer columns on both;
* CSV has no thousands separators and quotes only cells that would be formulas;
* one timestamp style, RFC 3339 with ``Z``, in every machine output; ``audit log`` gives
  the source file's name and full SHA-256 apart;
* ``prev_hash`` is explicit (64 zeros for a stream's first event) in ``events`` and
  ``audit log``, while the stored events stay as they are.
"""

from __future__ import annotations

import csv
import io
import json
import re
from contextlib import closing
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest
from click.testing import CliRunner

from backends import Db
from outcomeledger import projections
from outcomeledger.app import replay
from outcomeledger.app.demo import build_demo
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.domain.events import GENESIS
from outcomeledger.projections import TABLES, Table
from outcomeledger.projections import sql as projection_sql
from outcomeledger.projections.payments import PaymentRow
from outcomeledger.report.render import csv_safe

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "projections"
SCENARIOS = sorted(p for p in (ROOT / "replay").iterdir() if p.is_dir())
RFC3339 = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
                     r"(Z|[+-][0-9]{2}:[0-9]{2})$")
ONE_STYLE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$")
#: Anything that looks like a moment (a date followed by a time) in an output.
MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}[^\",\n]*")


# -- a validator for the subset of JSON Schema the published schemas use ---------------

_ANNOTATIONS = {"$schema", "$id", "title", "description", "x-projection", "x-primary-key"}
_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def _format_ok(kind: str, value: str) -> bool:
    try:
        if kind == "date":
            return bool(re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value)) and bool(
                date.fromisoformat(value))
        if kind == "date-time":
            return bool(RFC3339.match(value)) and bool(
                datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return False
    raise AssertionError(f"format {kind!r} is not one this validator knows")


def problems(schema: dict[str, Any], value: Any, at: str = "") -> list[str]:
    """Why ``value`` is invalid under ``schema`` (empty: valid). Refuses unknown keywords."""
    found: list[str] = []
    for key, rule in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key == "type":
            kinds = rule if isinstance(rule, list) else [rule]
            if not any(_TYPES[k](value) for k in kinds):
                found.append(f"{at}: {value!r} is not of type {rule}")
        elif key == "anyOf":
            if all(problems(option, value, at) for option in rule):
                found.append(f"{at}: {value!r} matches none of {rule}")
        elif key == "enum":
            if value not in rule:
                found.append(f"{at}: {value!r} is not one of {rule}")
        elif key == "pattern":
            if isinstance(value, str) and not re.search(rule, value):
                found.append(f"{at}: {value!r} does not match {rule}")
        elif key == "format":
            if isinstance(value, str) and not _format_ok(rule, value):
                found.append(f"{at}: {value!r} is not a {rule}")
        elif key == "minimum":
            if _TYPES["number"](value) and value < rule:
                found.append(f"{at}: {value!r} is below {rule}")
        elif key == "contentMediaType":
            assert rule == "application/json", rule
            if isinstance(value, str):
                try:
                    json.loads(value)
                except ValueError:
                    found.append(f"{at}: {value!r} is not JSON")
        elif key == "required":
            if isinstance(value, dict):
                found += [f"{at}.{name}: missing" for name in rule if name not in value]
        elif key == "properties":
            if isinstance(value, dict):
                for name, sub in rule.items():
                    if name in value:
                        found += problems(sub, value[name], f"{at}.{name}")
        elif key == "additionalProperties":
            assert rule is False, rule
            if isinstance(value, dict):
                extra = set(value) - set(schema.get("properties", {}))
                found += [f"{at}.{name}: not allowed" for name in sorted(extra)]
        else:
            raise AssertionError(f"schema keyword {key!r} is not one this validator knows")
    return found


SCHEMAS = {t.name: json.loads((PUBLISHED / f"{t.name}.schema.json").read_text())
           for t in TABLES}


def invalid_rows(ndjson: bytes) -> tuple[dict[str, int], list[str]]:
    """(rows per table, the problems of every invalid row) of a dump's NDJSON."""
    counts: dict[str, int] = {}
    found: list[str] = []
    for line in ndjson.splitlines():
        item = json.loads(line)
        if item["table"] == "tracking":
            continue
        counts[item["table"]] = counts.get(item["table"], 0) + 1
        found += problems(SCHEMAS[item["table"]], item["row"], item["table"])
    return counts, found


def test_the_validator_finds_what_the_issue_found() -> None:
    schema = SCHEMAS["proj_payments"]
    row = {"contract": "C", "period": "FY2025-Q1", "currency": "GBP",
           **dict.fromkeys(MONEY, "0.00"),
           "terms_in_force": "agreed (v1)", "active": True}
    assert problems(schema, row) == []
    assert problems(schema, {**row, "active": 0}) == [".active: 0 is not of type boolean"]
    assert problems(schema, {**row, "payable": "1E+3"})
    assert problems(schema, {**row, "payable_minor": 0}) == [".payable_minor: not allowed"]
    del row["period"]
    assert problems(schema, row) == [".period: missing"]
    trail = SCHEMAS["proj_audit_trail"]["properties"]
    assert problems(trail["recorded_at"], "2026-12-02 04:24:55.342026+00:00")
    assert problems(trail["recorded_at"], "2026-12-02T04:24:55.342026Z") == []
    assert problems(trail["position"], True)  # a JSON boolean is not an integer


# -- ledgers -------------------------------------------------------------------------------

def run(db: Db, *args: str) -> bytes:
    result = CliRunner().invoke(cli, ["--db", db.url, *args])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


@pytest.fixture(scope="module")
def demo(module_ledger_db: Db) -> Db:
    with open_ledger(module_ledger_db.url, create=True) as ledger:
        build_demo(ledger)
    return module_ledger_db


def dump(db: Db) -> bytes:
    with open_ledger(db.url) as ledger, closing(ledger.connect()) as conn:
        return b"".join(projections.dump(conn))


# -- 6. rows are valid under their published schemas ---------------------------------------

def test_every_row_of_every_table_of_the_demo_matches_its_schema(demo: Db) -> None:
    counts, found = invalid_rows(dump(demo))
    assert set(counts) == {t.name for t in TABLES}, "every table has rows to check"
    assert found == []


def test_replay_as_of_prints_rows_valid_under_their_schemas(demo: Db) -> None:
    """The issue's check: `replay --as-of 38` had 170 of 756 rows invalid."""
    counts, found = invalid_rows(run(demo, "replay", "--as-of", "38"))
    assert sum(counts.values()) > 700
    assert found == []


@pytest.mark.parametrize("scenario", [p.name for p in SCENARIOS])
def test_every_row_of_every_replay_scenario_matches_its_schema(
        scenario: str, ledger_db: Db) -> None:
    folder = ROOT / "replay" / scenario
    with open_ledger(ledger_db.url, create=True) as ledger:
        replay.load_pack(ledger, (folder / "events.pack.ndjson").read_bytes().splitlines(
            keepends=True), "events.pack.ndjson")
    for ndjson in (dump(ledger_db), (folder / "expected" / "projections.ndjson").read_bytes()):
        counts, found = invalid_rows(ndjson)
        assert counts
        assert found == []


def test_sql_booleans_are_boolean_columns(demo: Db) -> None:
    """SQLite has no boolean type: a BOOLEAN column holding 0/1; PostgreSQL: boolean."""
    if demo.backend == "sqlite":
        declared = {r[1]: r[2] for r in demo.sql("PRAGMA table_info(proj_payments)")}
        assert declared["active"] == "BOOLEAN"
        assert {r[0] for r in demo.sql("SELECT DISTINCT active FROM proj_payments")} == {0, 1}
    else:
        with closing(psycopg.connect(demo.url)) as conn:
            found = {r[0] for r in conn.execute("SELECT DISTINCT active FROM proj_payments")}
        assert found == {True, False}
        assert all(isinstance(v, bool) for v in found)


# -- 7. money sorts, filters and sums exactly in plain SQL ----------------------------------

MONEY = ("earned", "above_cap", "adjustments", "fees", "retained", "payable",
         "cumulative_payable", "certified", "true_up")
AMOUNTS = ["2850.00", "22420.00", "0.10", "0.20", "-12.00", "999999999999.99", "-0.05"]


@pytest.fixture
def money_table(ledger_db: Db) -> tuple[Db, str]:
    """``proj_payments`` rows whose amounts sort differently as text and as numbers."""
    table = next(t for t in TABLES if t.name == "proj_payments")
    name = "money_check"
    rows = [PaymentRow(contract=f"C{i}", period="FY2025-Q1", currency="GBP",
                       **dict.fromkeys(MONEY, a),
                       terms_in_force="agreed (v1)", active=True)
            for i, a in enumerate(AMOUNTS)]
    with closing(ledger_db.connect()) as conn:
        conn.execute(projection_sql.create(Table(name, table.row, table.key), name,
                                           ledger_db.backend))
        projection_sql.write(conn, Table(name, table.row, table.key), name, rows)
    return ledger_db, name


def test_money_sorts_filters_and_sums_exactly_in_plain_sql(
        money_table: tuple[Db, str]) -> None:
    db, name = money_table
    by_value = sorted(AMOUNTS, key=Decimal, reverse=True)
    assert sorted(AMOUNTS, reverse=True) != by_value, "text order is not numeric order"
    ordered = db.sql(f"SELECT payable FROM {name} ORDER BY payable_minor DESC")
    assert [r[0] for r in ordered] == by_value
    over = db.sql(f"SELECT payable FROM {name} WHERE payable_minor > 285000 "
                  "ORDER BY payable_minor")
    assert [r[0] for r in over] == ["22420.00", "999999999999.99"]
    ((total,),) = db.sql(f"SELECT SUM(payable_minor) FROM {name}")
    # (PostgreSQL's SUM of BIGINT is NUMERIC, read by our connections as its text.)
    assert int(total) == int(sum(Decimal(a) for a in AMOUNTS) * 100) == 100000002525824
    ((small,),) = db.sql(f"SELECT SUM(payable_minor) FROM {name} "
                         "WHERE payable IN ('0.10', '0.20')")
    assert int(small) == 30  # exact: 0.10 + 0.20 is 0.30, not 0.30000000000000004
    if db.backend == "postgresql":
        # NUMERIC: the money column itself sorts and sums as a number, exactly.
        native = db.sql(f"SELECT payable FROM {name} ORDER BY payable DESC")
        assert [r[0] for r in native] == by_value
        ((exact,),) = db.sql(f"SELECT SUM(payable) FROM {name}")
        assert exact == "1000000025258.24"


def test_the_demo_payments_sort_by_amount(demo: Db) -> None:
    rows = demo.sql("SELECT payable, payable_minor FROM proj_payments "
                    "ORDER BY payable_minor DESC, contract, period")
    assert [Decimal(r[0]) for r in rows] == sorted((Decimal(r[0]) for r in rows), reverse=True)
    assert all(Decimal(p) * 100 == m for p, m in rows)
    ((total,),) = demo.sql("SELECT SUM(payable_minor) FROM proj_payments_totals")
    payable = [Decimal(r[0]) for r in demo.sql("SELECT payable FROM proj_payments_totals")]
    assert Decimal(total) / 100 == sum(payable)
    # A null amount (no cap) has a null companion.
    assert demo.sql("SELECT COUNT(*) FROM proj_payments_totals WHERE (max_value IS NULL) "
                    "<> (max_value_minor IS NULL)") == [(0,)]


# -- 8. CSV: no thousands separators; only would-be formulas are quoted ---------------------

def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


def test_contract_show_csv_has_plain_numbers_and_no_quoted_dashes(demo: Db) -> None:
    rows = _csv(run(demo, "contract", "show", "GMHP-2017", "--format", "csv"))
    header, body = rows[0], rows[1:]
    prices = [r[header.index("price")] for r in body]
    assert "1500.00" in prices
    assert not any("," in p for p in prices)
    assert all(Decimal(p) for p in prices)
    assert not any(cell.startswith("'") for r in body for cell in r)


def test_payments_explain_csv_has_plain_numbers(demo: Db) -> None:
    rows = _csv(run(demo, "payments", "explain", "GMHP-2017", "--period", "FY2019-Q4",
                    "--format", "csv"))
    header, body = rows[0], rows[1:]
    amounts = [r[header.index("amount")] for r in body if r[header.index("amount")]]
    assert "-15000.00" in amounts  # a negative number stays a number
    for amount in amounts:
        Decimal(amount)  # no "90,000.00", no "'-15,000.00"
    assert not any("," in r[header.index("detail")] and "earned" in r[header.index("detail")]
                   for r in body)


def test_only_cells_that_would_be_formulas_are_quoted() -> None:
    assert [csv_safe(c) for c in ("-", "+", "-12.00", "+3", "-0.05", "12", "plain", "")] == [
        "-", "+", "-12.00", "+3", "-0.05", "12", "plain", ""]
    assert [csv_safe(c) for c in ("=1+2", "@SUM(A1)", "-1 claim", "+A1", "-2+3",
                                  "=HYPERLINK(\"x\")", "\tx", "\rx", "-1E+5")] == [
        "'=1+2", "'@SUM(A1)", "'-1 claim", "'+A1", "'-2+3", "'=HYPERLINK(\"x\")",
        "'\tx", "'\rx", "'-1E+5"]


# -- 9. one timestamp style, RFC 3339 with Z ------------------------------------------------

MACHINE_OUTPUTS = [
    ("events",),
    ("audit", "log", "--format", "json"),
    ("audit", "log", "--format", "csv"),
    ("contract", "show", "GMHP-2017", "--format", "json"),
    ("contract", "show", "PB-SIB-2010", "--format", "json"),
    ("contract", "show", "MHEP-ENF-2018", "--format", "json"),
    ("report", "GMHP-2017", "--format", "json"),
    ("report", "GMHP-2017", "--format", "csv"),
    ("replay", "--as-of", "38"),
]


@pytest.mark.parametrize("args", MACHINE_OUTPUTS, ids=" ".join)
def test_every_timestamp_in_machine_outputs_is_rfc3339_utc_z(demo: Db,
                                                              args: tuple[str, ...]) -> None:
    printed = run(demo, *args).decode()
    moments = MOMENT.findall(printed)
    assert moments, "the output has timestamps to check"
    assert [m for m in moments if not ONE_STYLE.match(m)] == []


def test_audit_log_gives_the_file_name_and_full_hash_apart(demo: Db) -> None:
    entries = json.loads(run(demo, "audit", "log", "GMHP-2017", "--type", "ReturnRestated",
                             "--format", "json"))
    (entry,) = entries
    assert entry["file"] == "demo_data/gm_restatement.csv"
    data = msgspec.json.decode(demo.sql(f"SELECT state FROM {demo.events} WHERE "
                                        f"{demo.position} = ?", entry["position"])[0][0])
    assert entry["file_sha256"] == data["source"]["sha256"]
    assert re.fullmatch(r"[0-9a-f]{64}", entry["file_sha256"])
    agreed = json.loads(run(demo, "audit", "log", "--type", "ContractAgreed",
                            "--format", "json"))
    assert all(e["file"] is None and e["file_sha256"] is None for e in agreed)
    rows = _csv(run(demo, "audit", "log", "GMHP-2017", "--type", "ReturnRestated",
                    "--format", "csv"))
    assert rows[1][rows[0].index("file")] == "demo_data/gm_restatement.csv"
    assert rows[1][rows[0].index("file_sha256")] == entry["file_sha256"]


def test_a_refusal_names_its_moment_in_the_same_style(tmp_path: Path) -> None:
    db = Db(str(tmp_path / "ledger.db"), "sqlite")
    with open_ledger(db.url, create=True) as ledger:
        build_demo(ledger)
    toml = ROOT / "src" / "outcomeledger" / "demo_data" / "gm.toml"
    result = CliRunner().invoke(cli, ["--db", db.url, "contract", "agree", str(toml)])
    assert result.exit_code == 1
    assert "already exists (agreed 2017-12-01T10:00:00Z)" in result.output


# -- 10. prev_hash: 64 zeros for a stream's first event, stored events untouched -----------

def test_events_and_audit_log_show_the_genesis_prev_hash(demo: Db) -> None:
    feed = [json.loads(line) for line in run(demo, "events").splitlines()]
    heads: dict[str, str] = {}
    for event in feed:
        assert event["prev_hash"] == heads.get(event["contract"], GENESIS)
        heads[event["contract"]] = event["hash"]
    first = [e for e in feed if e["prev_hash"] == GENESIS]
    assert len(first) == 7  # one per stream: six contracts and a programme
    # The stored events are not rewritten: a first event's bytes still omit the field.
    assert all("prev_hash" not in e["data"] for e in first)
    log = json.loads(run(demo, "audit", "log", "--format", "json"))
    assert [e["prev_hash"] for e in log] == [e["prev_hash"] for e in feed]



def test_tables_of_an_earlier_layout_are_rebuilt_with_the_new_types(ledger_db: Db) -> None:
    """A ledger projected by an earlier version (booleans as INTEGER, money as TEXT, no
    companions) is rebuilt on its next catch-up, rows and all."""
    with open_ledger(ledger_db.url, create=True) as ledger:
        build_demo(ledger)
    text, integer = ("TEXT", "INTEGER") if ledger_db.backend == "sqlite" else (
        'TEXT COLLATE "C"', "BIGINT")
    table = next(t for t in TABLES if t.name == "proj_payments")
    kinds = {n: k for n, k, _ in projection_sql.columns(table.row)}
    old = ", ".join(f"{n} {integer if kinds[n] in ('INTEGER', 'BOOLEAN') else text}"
                    for n in table.columns)
    ledger_db.sql("DROP TABLE proj_payments")
    ledger_db.sql(f"CREATE TABLE proj_payments ({old}, PRIMARY KEY (contract, period))")
    run(ledger_db, "project")
    ((total,),) = ledger_db.sql("SELECT SUM(payable_minor) FROM proj_payments")
    payable = [Decimal(r[0]) for r in ledger_db.sql("SELECT payable FROM proj_payments")]
    assert int(total) == sum(payable) * 100 > 0
    counts, found = invalid_rows(dump(ledger_db))
    assert counts["proj_payments"] > 0
    assert found == []
