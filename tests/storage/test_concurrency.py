"""Many writers and readers at once, on SQLite and on PostgreSQL.

* Importer processes writing into the same contract and into different contracts at
  the same time lose nothing and count nothing twice: optimistic-concurrency conflicts
  are retried (the loser re-reads the stream and decides again), and every write still
  brings the projections up to date, safely, whoever else is projecting.
* A follower (`project --follow`) killed with SIGKILL while events keep arriving leaves
  tables that equal a replay up to its tracked position; a new follower resumes from
  there, and every event is projected exactly once.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner, Result

from backends import Db
from conftest import T0
from outcomeledger.app.ledger import open_ledger
from outcomeledger.app.replay import differences
from outcomeledger.cli import cli
from outcomeledger.domain.commands import Meta
from outcomeledger.imports.importer import import_data
from outcomeledger.projections import Cutoff, dump, in_memory, positions, source
from outcomeledger.projections.sql import snapshot
from outcomeledger.storage.store import Ledger

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-c", "from outcomeledger.cli import main; main()"]
WORKERS, FILES = 4, 3
PROVIDERS = [f"P{i}" for i in range(8)]
PRICES = {"O1": Decimal(100), "O2": Decimal(250)}


def contract(reference: str) -> str:
    providers = ", ".join(f'{{ id = "{p}", name = "Provider {p}" }}' for p in PROVIDERS)
    return f"""\
reference = "{reference}"
title = "Concurrency test contract"
buyer = "Test Council"
supplier = "Test Supplier Ltd"
start = 2020-04-01
end = 2025-03-31
cadence = "quarter"
providers = [{providers}]

[[outcomes]]
code = "O1"
name = "Outcome one"
price = "100"

[[outcomes]]
code = "O2"
name = "Outcome two"
price = "250"
"""


def run(db: Db, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db.url, "--actor", "tester", *args])


def _agree(db: Db, folder: Path, *references: str) -> None:
    assert run(db, "init").exit_code == 0
    for reference in references:
        path = folder / f"{reference}.toml"
        path.write_text(contract(reference), encoding="utf-8")
        result = run(db, "contract", "agree", str(path))
        assert result.exit_code == 0, result.output


def _events(db: Db) -> list[tuple[str, str]]:
    """(contract, type) of every stored event, in global order."""
    with open_ledger(db.url) as ledger:
        return [(getattr(s.event, "contract", ""), type(s.event).__name__)
                for s in ledger.feed()]


def _earned(db: Db, reference: str) -> Decimal:
    result = run(db, "payments", reference, "--format", "json")
    assert result.exit_code == 0, result.output
    return Decimal(msgspec.json.decode(result.stdout)["totals"]["earned"])


def test_concurrent_importers_lose_nothing_and_double_count_nothing(
        ledger_db: Db, tmp_path: Path) -> None:
    db = ledger_db
    _agree(db, tmp_path, "SHARED", *(f"OWN-{w}" for w in range(WORKERS)))
    expected = {"SHARED": Decimal(0), **{f"OWN-{w}": Decimal(0) for w in range(WORKERS)}}
    # Two workers import this very file at the same moment: it must count once.
    duplicate = tmp_path / "duplicate.csv"
    duplicate.write_text("contract,period,provider,outcome,value\n"
                         "SHARED,FY2021-Q1,P7,O1,9\n", encoding="utf-8")
    expected["SHARED"] += 9 * PRICES["O1"]
    commands = []
    for w in range(WORKERS):
        files = []
        for k in range(FILES):
            # Each file: a return of worker w's provider into the shared contract, and
            # a return into the worker's own contract, for the same quarter.
            o1, o2 = (w + 1) * (k + 1), w + k + 1
            path = tmp_path / f"w{w}-{k}.csv"
            path.write_text("contract,period,provider,outcome,value\n"
                            f"SHARED,FY2020-Q{k + 1},P{w},O1,{o1}\n"
                            f"SHARED,FY2020-Q{k + 1},P{w},O2,{o2}\n"
                            f"OWN-{w},FY2020-Q{k + 1},,O1,{o1}\n", encoding="utf-8")
            files.append(path)
            expected["SHARED"] += o1 * PRICES["O1"] + o2 * PRICES["O2"]
            expected[f"OWN-{w}"] += o1 * PRICES["O1"]
        if w < 2:
            files.insert(w, duplicate)
        commands.append(" && ".join(shlex.join([*CLI, "--db", db.url, "--quiet", "returns",
                                                "import", str(f)]) for f in files))
    workers = [subprocess.Popen(["sh", "-c", command], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True) for command in commands]
    failures = []
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        if worker.returncode:
            failures.append(err)
    assert not failures, failures

    events = _events(db)
    agreed = 1 + WORKERS
    # One ReturnSubmitted per (contract, period, provider) of each file, the duplicate once.
    assert events.count(("SHARED", "ReturnSubmitted")) == WORKERS * FILES + 1
    for w in range(WORKERS):
        assert events.count((f"OWN-{w}", "ReturnSubmitted")) == FILES
    assert len(events) == agreed + 2 * WORKERS * FILES + 1
    for reference, earned in expected.items():
        assert _earned(db, reference) == earned, reference
    # Every hash chain intact, every projection equal to a replay and fully caught up.
    verified = run(db, "audit", "verify", "--format", "json")
    assert verified.exit_code == 0, verified.output
    with open_ledger(db.url) as ledger, closing(ledger.connect()) as conn:
        assert differences(ledger) == []
        assert set(positions(conn).values()) == {source.head(conn)}


@pytest.mark.parametrize("same", [False, True], ids=["other return", "same return"])
def test_a_writer_that_loses_the_race_decides_again(ledger_db: Db, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    same: bool) -> None:
    """Deterministic: another writer commits between this one's decision and its append.
    The append conflicts on the stream version; the loser re-reads and decides again: a
    different return is added after the winner's, the very same return is a no-op."""
    _agree(ledger_db, tmp_path, "RACE")
    mine = b"contract,period,provider,outcome,value\nRACE,FY2020-Q1,P0,O1,3\n"
    theirs = mine if same else mine.replace(b"P0", b"P1")
    attempts: list[int] = []
    with open_ledger(ledger_db.url) as loser, open_ledger(ledger_db.url) as winner:
        decide = Ledger.plan

        def plan_then_lose(self: Ledger, *args: Any, **kwargs: Any) -> Any:
            plan = decide(self, *args, **kwargs)
            if self is loser and len(attempts) == 1:
                import_data(winner, [("theirs.csv", theirs)], Meta(T0, "winner"))
            return plan

        monkeypatch.setattr(Ledger, "plan", plan_then_lose)
        run_batch = loser.execute_batch

        def counting_attempts(*args: Any, **kwargs: Any) -> Any:
            return run_batch(*args, **{**kwargs, "on_attempt": attempts.append})

        monkeypatch.setattr(loser, "execute_batch", counting_attempts)
        [receipt] = import_data(loser, [("mine.csv", mine)], Meta(T0, "loser"))
    assert attempts == [1, 2]
    assert receipt.events == (0 if same else 1)
    returns = [e for e in _events(ledger_db) if e[1] == "ReturnSubmitted"]
    assert len(returns) == (1 if same else 2)
    assert _earned(ledger_db, "RACE") == (300 if same else 600)
    assert run(ledger_db, "audit", "verify").exit_code == 0


WRITER = """
import sys
from datetime import UTC, datetime
from outcomeledger.domain.commands import Meta
from outcomeledger.imports.importer import import_data
from outcomeledger.app.ledger import open_ledger
quarters = [f"FY{2020 + q // 4}-Q{q % 4 + 1}" for q in range(20)]
with open_ledger(sys.argv[1]) as ledger:
    ledger.project_on_write = False  # only the followers project
    for n in range(int(sys.argv[2])):
        row = f"K,{quarters[n % 20]},P{n // 20},O1,{n % 7 + 1}\\n"
        import_data(ledger, [(f"r{n}.csv", ("contract,period,provider,outcome,value\\n"
                                            + row).encode())],
                    Meta(datetime.now(UTC), "writer"))
        print(n, flush=True)
"""


def _follower(db: Db) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, "--db", db.url, "project", "--follow", "--interval",
                             "0.02"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def _consistent(db: Db) -> int:
    """The tables equal a replay up to their tracked position; returns that position."""
    with closing(db.connect()) as conn, snapshot(conn):  # the follower may be committing
        tracked = set(positions(conn).values())
        assert len(tracked) == 1, tracked
        position = tracked.pop()
        with closing(in_memory(conn, Cutoff(position))) as replayed:
            assert list(dump(conn)) == list(dump(replayed))
    return position


def _head(db: Db) -> int:
    with closing(db.connect()) as conn:
        return source.head(conn)


def test_a_follower_killed_mid_stream_resumes_exactly_once(ledger_db: Db,
                                                            tmp_path: Path) -> None:
    db = ledger_db
    _agree(db, tmp_path, "K")
    writes = 60
    first = _follower(db)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, db.url, str(writes)],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    for _ in range(writes // 3):  # a third of the way through the writes
        assert writer.stdout.readline()
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert first.stderr is not None
    first.stderr.close()
    killed_at = _consistent(db)
    second = _follower(db)
    try:
        for _ in writer.stdout:
            pass
        assert writer.wait(timeout=120) == 0
        head = _head(db)
        deadline = time.monotonic() + 30
        while _consistent(db) < head and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
        assert second.stderr is not None
        second.stderr.close()
        writer.stdout.close()
    assert killed_at < head, "the first follower was killed before the end"
    assert _consistent(db) == head
    # Exactly once: one audit-trail row per event, and the totals of every event.
    trail = db.sql("SELECT position FROM proj_audit_trail ORDER BY position")
    with open_ledger(db.url) as ledger:
        assert [r[0] for r in trail] == [s.position for s in ledger.feed()]
    assert _earned(db, "K") == sum(Decimal(n % 7 + 1) for n in range(writes)) * 100
