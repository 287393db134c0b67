"""PostgreSQL as a ledger: connection errors, the schema `init` creates, the same bytes
as SQLite for the same events, a follower woken by LISTEN/NOTIFY, least-privilege roles.

Everything else runs on both backends in the other modules (tests/backends.py).
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from backends import Db, Server, new_db
from outcomeledger.app import participants
from outcomeledger.app.demo import BUILDERS
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.projections import Row, Table, dump, source, sql
from outcomeledger.storage import sqldb

CLI = [sys.executable, "-c", "from outcomeledger.cli import main; main()"]
ROLES_SQL = Path(__file__).resolve().parents[2] / "sql" / "roles.sql"
PROJECTION_TABLES = {"proj_contract_state", "proj_contract_state_periods",
                     "proj_contract_state_terms", "proj_contract_state_variations",
                     "proj_contract_state_options", "proj_contract_state_business_cases",
                     "proj_payments", "proj_payments_lines", "proj_payments_totals",
                     "proj_payments_providers",
                     "proj_accountability", "proj_accountability_returns",
                     "proj_accountability_restatements", "proj_audit_trail",
                     "proj_programme_draws", "proj_programme_funder_draws"}
CONTRACT = """\
reference = "C-PG"
title = "Follower test contract"
buyer = "Test Council"
supplier = "Test Supplier Ltd"
start = 2020-04-01
end = 2022-03-31
cadence = "quarter"

[[outcomes]]
code = "O1"
name = "Outcome one"
price = "100"
"""


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", url, "--actor", "tester", *args])


@pytest.fixture
def pg(pg_server: Server, request: pytest.FixtureRequest, tmp_path: Path) -> Db:
    return new_db(request, "postgresql", tmp_path)


def _one_line_error(url: str, *args: str) -> str:
    """Run the real command line; it must exit 1 with one line on stderr, no traceback."""
    done = subprocess.run([*CLI, "--db", url, *args], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    return line


# -- connecting -------------------------------------------------------------------------

def test_an_unreachable_server_is_one_clear_line_and_exit_1() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line = _one_line_error(f"postgresql://postgres@127.0.0.1:{port}/ledger", "contract",
                           "list")
    assert line == (f"error: cannot reach a PostgreSQL server at 127.0.0.1:{port}: "
                    "connection refused (expected a running server; check the host and "
                    "port in --db)")


def test_a_missing_database_is_one_clear_line_and_exit_1(pg_server: Server) -> None:
    name = f"absent_{uuid.uuid4().hex[:12]}"
    line = _one_line_error(pg_server.url(name), "init")
    assert line.startswith(f"error: database '{name}' does not exist on the PostgreSQL "
                           "server at ")
    assert line.endswith(f"(create it, e.g. `createdb {name}`, then run `outcomeledger "
                         "--db URL init`)")


def test_a_database_without_a_ledger_asks_for_init(pg: Db) -> None:
    line = _one_line_error(pg.url, "payments", "C-PG")
    assert line.startswith("error: no ledger in the PostgreSQL database at ")
    assert line.endswith("(run `outcomeledger --db URL init` first)")


def test_init_creates_the_events_and_projection_tables(pg: Db) -> None:
    result = run(pg.url, "init")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("ledger ready at ")
    assert result.stderr.endswith("(0 events)\n")
    # (and the participant key store, there before sql/roles.sql keeps the reader out)
    assert pg.tables() == {"outcomeledger_events", "tracking", "projection_digests",
                           *PROJECTION_TABLES,
                           "participant_keys", "participant_key_salts"}
    assert run(pg.url, "init").exit_code == 0, "init twice changes nothing"
    status = run(pg.url, "project", "--status", "--format", "json")
    assert status.stdout.startswith('{"head":0,')


# -- the same events give the same bytes on both backends --------------------------------

class Cells(Row, frozen=True, kw_only=True):
    contract: str
    text: str
    note: str | None
    count: int
    flag: bool


def test_rows_written_by_copy_read_back_exactly_as_on_sqlite(pg: Db, tmp_path: Path) -> None:
    """PostgreSQL rows go in through COPY's text format, escaped by hand: every character
    that format treats specially must come back as it went in."""
    table = Table("proj_cells", Cells, ("contract",))
    tricky = ["plain", "tab\there", "new\nline", "cr\rhere", "back\\slash", "\\N",
              "", "quote ' and \"", "é ∑ 🙂", "\\.", "ends with \\"]
    rows = [Cells(contract=f"C{i:02d}", text=t, note=None if i % 3 else t, count=i - 5,
                  flag=bool(i % 2)) for i, t in enumerate(tricky)]
    read = {}
    for db in (Db(str(tmp_path / "cells.db"), "sqlite"), pg):
        with closing(db.connect()) as conn:
            conn.execute(sql.create(table, table.name, db.backend))
            sql.write(conn, table, table.name, rows)
            read[db.backend] = [tuple(r) for r in sql.select_ordered(conn, table, table.name)]
    assert read["postgresql"] == read["sqlite"]
    assert [r[1] for r in read["postgresql"]] == tricky
    assert {r[4] for r in read["postgresql"]} == {0, 1}



READS = [
    ("events",),
    ("contract", "list", "--format", "json"),
    ("contract", "show", "GMHP-2017", "--format", "json"),
    ("payments", "GMHP-2017", "--format", "json"),
    ("payments", "MHEP-ENF-2018", "--format", "csv"),
    ("payments", "GMHP-2017", "--as-of", "9", "--format", "table"),
    ("payments", "explain", "GMHP-2017", "--period", "FY2019-Q4", "--format", "json"),
    ("report", "GMHP-2017", "--format", "json"),
    ("report", "MHEP-ENF-2018", "--as-of", "2019-06-30T16:00:00Z", "--format", "json"),
    ("audit", "log", "--format", "json"),
    ("audit", "head",),
    ("audit", "export",),
    ("replay", "--as-of", "20"),
    ("project", "--status", "--format", "json"),
]


def test_the_same_events_give_the_same_bytes_on_sqlite_and_postgresql(
        pg: Db, tmp_path: Path) -> None:
    sqlite = Db(str(tmp_path / "demo.db"), "sqlite")
    outputs: dict[str, list[bytes]] = {}
    for db in (sqlite, pg):
        built = run(db.url, "demo")
        assert built.exit_code == 0, built.output
        outputs[db.backend] = [built.stdout_bytes]
        for args in READS:
            result = run(db.url, *args)
            assert result.exit_code == 0, (args, result.output)
            outputs[db.backend].append(result.stdout_bytes)
        assert run(db.url, "replay").exit_code == 0
        with closing(db.connect()) as conn:
            outputs[db.backend].append(b"".join(dump(conn)))
    for args, on_sqlite, on_pg in zip([("demo",), *READS, ("dump",)], outputs["sqlite"],
                                      outputs["postgresql"], strict=True):
        assert on_sqlite == on_pg, args


# -- reading streams -----------------------------------------------------------------------

def _index_scans(plan: dict[str, object]) -> set[str]:
    names = {str(plan["Index Name"])} if "Index Name" in plan else set()
    for child in plan.get("Plans", []):  # type: ignore[attr-defined]
        names |= _index_scans(child)
    return names


def test_a_stream_is_read_through_its_own_index_whatever_the_statistics(pg: Db) -> None:
    """A stream read up to a cutoff at the head (a replay worker's, a catch-up's) costs
    that stream's events, not a pass over every position: on a table not yet analysed
    (a fresh import; autovacuum off or not yet round) the planner ANDed the stream's
    index with a scan of the whole notification_id index, 10 ms a stream at 200,000
    events and growing with the ledger."""
    assert run(pg.url, "init").exit_code == 0
    stream = uuid.uuid4()
    # Rows enough, of an event's size, for the planner to weigh the position index
    # (only planned and batched, never decoded); kept unanalysed whatever the server's
    # autovacuum does.
    pg.sql("ALTER TABLE outcomeledger_events SET (autovacuum_enabled = false)")
    pg.sql("INSERT INTO outcomeledger_events (originator_id, originator_version, topic, "
           "state) SELECT md5((i % 1000)::text)::uuid, i / 1000 + 1, 'X/1', "
           "decode(repeat('00', 300), 'hex') FROM generate_series(1, 3000) i")
    pg.sql("INSERT INTO outcomeledger_events (originator_id, originator_version, topic, "
           "state) SELECT ?::uuid, v, 'X/1', decode('00', 'hex') "
           "FROM generate_series(1, 3) v", str(stream))
    query = source._SQL["postgresql"]["stream"]
    with closing(pg.connect()) as conn:
        assert isinstance(conn, sqldb.PgConnection)
        [(plan,)] = conn.execute("EXPLAIN (FORMAT JSON) " + query,
                                 (stream.hex, 10**9)).fetchall()
        assert _index_scans(plan[0]["Plan"]) == {"outcomeledger_events_pkey"}
        # Read as one row of arrays, back as rows: in stream order, cut at the position,
        # and none (not a row of NULLs) for a stream with nothing up to it.
        rows = source.stream_rows(conn, stream.hex, 10**9)
        assert [(version, topic, state) for _position, version, topic, state in rows] == [
            (1, "X/1", b"\x00"), (2, "X/1", b"\x00"), (3, "X/1", b"\x00")]
        assert source.stream_rows(conn, stream.hex, rows[1][0]) == rows[:2]
        assert source.stream_rows(conn, stream.hex, rows[0][0] - 1) == []
        assert source.stream_rows(conn, uuid.uuid4().hex, 10**9) == []
        assert source.batch(conn, rows[-1][0], 10**9, 10) == []
        assert source.batch(conn, 0, 10**9, 2) == [
            (1, _md5("1"), 1, "X/1", bytes(300)), (2, _md5("2"), 1, "X/1", bytes(300))]


def _most_rows(plan: dict[str, Any]) -> int:
    """The most rows any step of an executed plan produced."""
    return max([int(plan["Actual Rows"]),
                *(_most_rows(child) for child in plan.get("Plans", []))])


def test_the_ledger_is_read_in_order_a_batch_at_a_time_whatever_the_statistics(
        pg: Db) -> None:
    """A scan of the global order (`audit verify`, `replay`'s, the events feed) reads a
    batch's events and no more: on a table not yet analysed the planner sorted every
    event after the batch's start to take the first of them (quadratic in the ledger).
    And a gap in the positions wider than a batch (an import refused whole) ends
    nothing."""
    assert run(pg.url, "init").exit_code == 0
    pg.sql("ALTER TABLE outcomeledger_events SET (autovacuum_enabled = false)")
    fill = ("INSERT INTO outcomeledger_events (originator_id, originator_version, topic, "
            "state) SELECT md5((i % 1000)::text)::uuid, i / 1000 + ?, 'X/1', "
            "decode(repeat('00', 300), 'hex') FROM generate_series(1, 3000) i")
    pg.sql(fill, 1)
    pg.sql("SELECT setval('outcomeledger_events_notification_id_seq', "
           "nextval('outcomeledger_events_notification_id_seq') + 5000)")
    pg.sql(fill, 4)
    positions = [p for (p,) in pg.sql("SELECT notification_id FROM outcomeledger_events "
                                      "ORDER BY notification_id")]
    assert len(positions) == 6000
    assert positions[-1] > 11000
    with closing(pg.connect()) as conn:
        assert isinstance(conn, sqldb.PgConnection)
        [(plan,)] = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) "
                                 + source._SQL["postgresql"]["batch"], (0, 100)).fetchall()
        assert _most_rows(plan[0]["Plan"]) <= 100
        for size in (1000, 2999, 6000):
            scanned = [e[0] for page in source.scan(conn, 0, positions[-1], size)
                       for e in page]
            assert scanned == positions, size
            fed: list[int] = []
            while page := source.feed_batch(conn, fed[-1] if fed else 0, size):
                assert 0 < len(page) <= size
                fed += [e[0] for e in page]
            assert fed == positions, size


def _md5(text: str) -> str:
    """PostgreSQL's ``md5(text)::uuid``, as the stream hex the projector reads."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


# -- the follower --------------------------------------------------------------------------

WRITE = """
import sys, time
from datetime import UTC, datetime
from outcomeledger.domain.commands import Meta
from outcomeledger.imports.importer import import_data
from outcomeledger.app.ledger import open_ledger
with open_ledger(sys.argv[1]) as ledger:
    ledger.project_on_write = False  # only the follower may project
    import_data(ledger, [("r.csv", sys.argv[2].encode())],
                Meta(datetime.now(UTC), "writer"))
    print(time.time(), flush=True)  # the write is committed
"""


@pytest.fixture
def follower(pg: Db, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    contract = tmp_path / "contract.toml"
    contract.write_text(CONTRACT, encoding="utf-8")
    assert run(pg.url, "init").exit_code == 0
    assert run(pg.url, "contract", "agree", str(contract)).exit_code == 0
    process = subprocess.Popen([*CLI, "--db", pg.url, "project", "--follow"],
                               stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_listening(pg, process)
        yield process
    finally:
        with suppress(ProcessLookupError):
            process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def _wait_until_listening(pg: Db, process: subprocess.Popen[str]) -> None:
    name = pg.url.rsplit("/", 1)[1]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the follower exited"
        with closing(psycopg.connect(pg.url.rsplit("/", 1)[0] + "/postgres",
                                     autocommit=True)) as admin:
            listening = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query LIKE "
                "'LISTEN %%'", (name,)).fetchone()
        if listening and listening[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the follower never subscribed")


def _earned(pg: Db, period: str) -> str | None:
    rows = pg.sql("SELECT earned FROM proj_payments WHERE contract = 'C-PG' AND period = ?",
                  period)
    return rows[0][0] if rows else None


@pytest.mark.slow
def test_a_follower_updates_the_tables_after_another_process_writes(
        pg: Db, follower: subprocess.Popen[str]) -> None:
    # Liveness, not speed: the bound is generous because a loaded CI host once took
    # 1.2 s; the follower's latency is a figure for bench/, not a pass/fail here.
    for quarter, units in ((1, 3), (2, 5), (3, 7)):
        period = f"FY2020-Q{quarter}"
        written = subprocess.run(
            [sys.executable, "-c", WRITE, pg.url,
             f"contract,period,outcome,value\nC-PG,{period},O1,{units}\n"],
            capture_output=True, text=True, timeout=60, check=True)
        committed = float(written.stdout.strip())
        while _earned(pg, period) != f"{units * 100}.00":
            assert time.time() - committed < 15, "the follower did not project the write"
            time.sleep(0.005)
    status = run(pg.url, "project", "--status", "--format", "json")
    assert '"lag_events":0' in status.stdout
    follower.terminate()
    assert follower.wait(timeout=30) == 0
    assert follower.stderr is not None
    lines = follower.stderr.read().splitlines()
    # A line per batch: how many events, the position reached, the lag left.
    assert lines[-1].startswith("projected 1 events; position 4 of 4; lag 0 events, ")
    assert lines[-1].endswith(" s")


# -- least privilege -----------------------------------------------------------------------

@pytest.fixture
def roles(pg: Db, pg_server: Server) -> Iterator[tuple[str, str]]:
    """sql/roles.sql applied to a demo ledger, with a login role for each group role."""
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql (the PostgreSQL client) is needed to run sql/roles.sql")
    with open_ledger(pg.url, create=True) as ledger:
        for build in BUILDERS:
            build(ledger)
        participants.create_key_store(ledger)  # as `init` does
    tag = uuid.uuid4().hex[:8]
    writer, reader, importer, bi = (f"oltest_{kind}_{tag}" for kind in
                                    ("writer", "reader", "importer", "bi"))
    name = pg.url.rsplit("/", 1)[1]
    host = pg.url.split("@", 1)[1].split("/", 1)[0]
    admin_user = pg.url.split("://", 1)[1].split("@", 1)[0]
    for _ in range(2):  # and once more: the script can be re-run
        subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"writer={writer}",
                        "-v", f"reader={reader}", "-f", str(ROLES_SQL),
                        f"postgresql://{admin_user}@{host}/{name}"],
                       check=True, capture_output=True, timeout=60)
    admin = pg_server.admin
    admin.execute(f"CREATE ROLE {importer} LOGIN IN ROLE {writer}")
    admin.execute(f"ALTER ROLE {importer} SET role = '{writer}'")
    admin.execute(f"CREATE ROLE {bi} LOGIN IN ROLE {reader}")
    try:
        yield (f"postgresql://{importer}@{host}/{name}", f"postgresql://{bi}@{host}/{name}")
    finally:
        pg_server.drop(pg)  # owned objects go with the database; then the roles can go
        for role in (bi, importer, reader, writer):
            admin.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.mark.slow
def test_the_reader_role_cannot_read_the_participant_key_store(
        roles: tuple[str, str]) -> None:
    writer_url, reader_url = roles
    for table in ("participant_keys", "participant_key_salts"):
        assert _refused(reader_url, f"SELECT * FROM {table}"), table
        with closing(psycopg.connect(writer_url, autocommit=True)) as conn:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


def _refused(url: str, statement: str) -> bool:
    with closing(psycopg.connect(url, autocommit=True)) as conn:
        try:
            conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            return True
    return False


@pytest.mark.slow
def test_the_reader_role_reads_the_feed_and_projections_and_writes_nothing(
        roles: tuple[str, str], tmp_path: Path) -> None:
    writer_url, reader_url = roles
    with closing(psycopg.connect(reader_url, autocommit=True)) as conn:
        assert conn.execute("SELECT count(*) FROM outcomeledger_events").fetchone() == (125,)
        assert conn.execute("SELECT count(*) FROM proj_payments_totals").fetchone() == (6,)
        assert conn.execute("SELECT count(*) FROM tracking").fetchone() is not None
    for statement in (
            "INSERT INTO outcomeledger_events (originator_id, originator_version, topic, "
            "state) VALUES (gen_random_uuid(), 1, 'x', '')",
            "UPDATE outcomeledger_events SET topic = 'x'",
            "DELETE FROM outcomeledger_events",
            "TRUNCATE outcomeledger_events",
            "INSERT INTO proj_payments_totals (contract) VALUES ('X')",
            "UPDATE proj_payments SET payable = '0.00'",
            "DELETE FROM proj_audit_trail",
            "UPDATE tracking SET notification_id = 0",
            "DROP TABLE proj_payments",
            "CREATE TABLE proj_mine (x text)"):
        assert _refused(reader_url, statement), statement
    # The read commands work for the reader; a write is refused in one line.
    assert run(reader_url, "payments", "GMHP-2017", "--format", "json").exit_code == 0
    assert run(reader_url, "events", "--after", "124").stdout.count("\n") == 1
    refused = run(reader_url, "adjust", "PB-SIB-2010", "--period", "FY2016-Q4", "--kind",
                  "bonus", "--amount", "5", "--reason", "test")
    assert refused.exit_code == 1
    assert "permission denied" in refused.stderr
    # The writer records events and rebuilds the projections (fresh tables, swapped in);
    # the reader still reads the rebuilt tables. Nobody rewrites history.
    adjusted = run(writer_url, "adjust", "PB-SIB-2010", "--period", "FY2016-Q4", "--kind",
                   "bonus", "--amount", "5", "--reason", "test")
    assert adjusted.exit_code == 0, adjusted.output
    replayed = run(writer_url, "replay")
    assert replayed.exit_code == 0, replayed.output
    with closing(psycopg.connect(reader_url, autocommit=True)) as conn:
        assert conn.execute("SELECT max(position) FROM proj_audit_trail").fetchone() == (126,)
    assert _refused(writer_url, "UPDATE outcomeledger_events SET topic = 'x'")
    assert _refused(writer_url, "DELETE FROM outcomeledger_events")
    with closing(Db(writer_url, "postgresql").connect()) as conn:
        assert source.head(conn) == 126
