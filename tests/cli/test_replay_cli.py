"""`replay`, `project` and read-your-writes from the command line, on both backends."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from contextlib import closing
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from backends import Db
from outcomeledger.app.demo import build_demo, build_pb
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.projections import Cutoff, dump, in_memory, positions, source

CLI = [sys.executable, "-c", "from outcomeledger.cli import main; main()"]
DATA = Path(str(resources.files("outcomeledger").joinpath("demo_data")))


def run(db: Db, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db.url, "--actor", "tester", *args])


def tracked(db: Db) -> tuple[set[int], int]:
    with closing(db.connect()) as conn:
        return set(positions(conn).values()), source.head(conn)


def test_every_cli_write_leaves_the_projections_current(ledger_db: Db) -> None:
    db = ledger_db
    assert run(db, "init").exit_code == 0
    steps = [
        ("contract", "agree", str(DATA / "enf.toml")),
        ("returns", "import", str(DATA / "enf_FY2018-Q2.csv")),
        ("returns", "validate", "MHEP-ENF-2018", "--period", "FY2018-Q2", "--provider",
         "TWIN"),
        ("payments", "certify", "MHEP-ENF-2018", "--period", "FY2018-Q2"),
        ("adjust", "MHEP-ENF-2018", "--period", "FY2018-Q2", "--kind", "recovery",
         "--amount", "-700", "--reason", "sampled claims invalid"),
        ("contract", "vary", "MHEP-ENF-2018", str(DATA / "enf_reprice.toml"), "--effective",
         "2020-04-01", "--reason", "re-priced"),
        ("returns", "reject", "MHEP-ENF-2018", "--period", "FY2018-Q2", "--provider", "BEH",
         "--reason", "no evidence"),
        ("contract", "close", "MHEP-ENF-2018", "--reason", "ended", "--on", "2021-06-30"),
    ]
    for step in steps:
        result = run(db, *step)
        assert result.exit_code == 0, (step, result.output)
        at, head = tracked(db)
        assert at == {head}, f"after {step[:2]} the projections are at {at}, events at {head}"


@pytest.fixture
def demo_db(ledger_db: Db) -> Db:
    with open_ledger(ledger_db.url, create=True) as ledger:
        build_demo(ledger)
    return ledger_db


def test_replay_rebuilds_byte_identical_tables_and_swaps_them_in(demo_db: Db) -> None:
    with closing(demo_db.connect()) as conn:
        before = list(dump(conn))
    result = run(demo_db, "replay")
    assert result.exit_code == 0, result.output
    assert "replayed 125 events; projections at position 125" in result.stderr
    assert "replaying" not in result.stderr  # no progress bar off a terminal
    with closing(demo_db.connect()) as conn:
        assert list(dump(conn)) == before
    assert not [n for n in demo_db.tables() if n.endswith("__new")]
    assert "proj_audit_trail_by_contract" in demo_db.indexes()


def test_replay_shows_a_progress_bar_on_a_terminal(demo_db: Db) -> None:
    leader, follower = pty.openpty()
    try:
        code = subprocess.run(
            [*CLI, "--db", demo_db.url, "replay"],
            stderr=follower, stdout=subprocess.DEVNULL, check=False, timeout=60,
            env={**os.environ, "COLUMNS": "80"}).returncode
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    assert code == 0
    assert b"replaying" in shown
    assert b"100%" in shown


def test_replay_as_of_prints_the_tables_as_they_stood(demo_db: Db) -> None:
    result = run(demo_db, "replay", "--as-of", "12")
    assert result.exit_code == 0, result.output
    with closing(demo_db.connect()) as conn, \
            closing(in_memory(conn, Cutoff(12))) as then:
        assert result.stdout_bytes == b"".join(dump(then))
    assert b'"contract":"PB-SIB-2010"' not in result.stdout_bytes


def _write_unprojected(db: Db) -> None:
    with open_ledger(db.url) as ledger:
        ledger.project_on_write = False
        build_pb(ledger)


def test_project_catches_up_after_a_bulk_load(ledger_db: Db) -> None:
    db = ledger_db
    assert run(db, "init").exit_code == 0
    _write_unprojected(db)
    at, head = tracked(db)
    assert at == {0}
    assert head == 6
    result = run(db, "project")
    assert result.exit_code == 0, result.output
    assert "projected 6 events; projections at position 6" in result.stderr
    assert tracked(db) == ({6}, 6)


@pytest.mark.slow
def test_project_follow_keeps_up_until_stopped(ledger_db: Db) -> None:
    db = ledger_db
    assert run(db, "init").exit_code == 0
    with subprocess.Popen([*CLI, "--db", db.url, "project", "--follow", "--interval", "0.05"],
                          stderr=subprocess.PIPE, text=True) as follower:
        _write_unprojected(db)
        deadline = time.monotonic() + 30
        while tracked(db)[0] != {6} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tracked(db) == ({6}, 6)
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(timeout=30) == 0
        assert follower.stderr is not None
        lines = follower.stderr.read().splitlines()
    # One line per batch, however the writes fell into batches: position, lag.
    batches = [line for line in lines if line.startswith("projected ")]
    assert sum(int(line.split()[1]) for line in batches) == 6
    assert "; position 6 of 6; lag 0 events, " in batches[-1]
