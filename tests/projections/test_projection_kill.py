"""A projector killed at any point resumes exactly once.

Each batch commits its rows and its tracking position in one transaction. So after a
SIGKILL, whenever it lands, the tables must equal a replay up to the tracked position
(nothing half-applied, nothing applied twice); catching up again must then equal a
full replay. Two projectors running at once must not interleave. On both backends:
SQLite's write lock and PostgreSQL's advisory lock (``projections.sql.begin``).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from contextlib import closing

import pytest

from backends import Db
from outcomeledger.app.demo import build_demo
from outcomeledger.app.ledger import open_ledger
from outcomeledger.projections import Cutoff, catch_up, dump, ensure, in_memory, positions

pytestmark = pytest.mark.slow

# Runs a catch-up in a child process; with a kill point, the child SIGKILLs itself right
# after its N-th table write, inside an open batch transaction.
CHILD = """
import os, signal, sys
from outcomeledger.projections import catch_up, sql
from outcomeledger.app.ledger import open_ledger

url, batch, kill_after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if kill_after:
    written = 0
    original = sql.write

    def write(*args, **kwargs):
        global written
        original(*args, **kwargs)
        written += 1
        if written == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    sql.write = write
with open_ledger(url) as ledger:
    conn = ledger.connect()
print("ready", flush=True)
catch_up(conn, batch=batch)
"""


@pytest.fixture
def unprojected(ledger_db: Db) -> Db:
    """The demo ledger (125 events) with no projection run yet."""
    with open_ledger(ledger_db.url, create=True) as ledger:
        ledger.project_on_write = False
        build_demo(ledger)
    return ledger_db


def _child(db: Db, batch: int, kill_after: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CHILD, db.url, str(batch),
                             str(kill_after)], stdout=subprocess.PIPE, text=True)


def _consistent_with_tracking(db: Db) -> int:
    """Assert the live tables equal a replay up to their tracked position; return it."""
    with closing(db.connect()) as conn:
        ensure(conn)
        tracked = set(positions(conn).values())
        assert len(tracked) == 1, f"projections tracked at different positions: {tracked}"
        position = tracked.pop()
        with closing(in_memory(conn, Cutoff(position))) as replayed:
            assert list(dump(conn)) == list(dump(replayed))
    return position


def _resume_equals_full_replay(db: Db) -> None:
    with closing(db.connect()) as conn:
        done = catch_up(conn, batch=4)
        assert done.position == 125
        with closing(in_memory(conn, Cutoff(125))) as replayed:
            assert list(dump(conn)) == list(dump(replayed))


@pytest.mark.parametrize("kill_after", [1, 7, 20, 45, 80])
def test_sigkill_inside_a_batch_loses_the_batch_and_nothing_else(
        unprojected: Db, kill_after: int) -> None:
    with _child(unprojected, batch=5, kill_after=kill_after) as child:
        assert child.wait(timeout=60) == -signal.SIGKILL
    position = _consistent_with_tracking(unprojected)
    assert position % 5 == 0, "only whole batches are ever committed"
    assert position < 125
    _resume_equals_full_replay(unprojected)


def test_sigkill_at_random_moments_then_resume(unprojected: Db) -> None:
    rng = random.Random(4)
    seen: set[int] = set()
    for _ in range(6):
        with _child(unprojected, batch=1) as child:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.08))
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=60)
        seen.add(_consistent_with_tracking(unprojected))
    assert seen - {125}, f"no kill landed before the catch-up finished: {seen}"
    _resume_equals_full_replay(unprojected)


def test_two_projectors_at_once_apply_each_event_exactly_once(unprojected: Db) -> None:
    with _child(unprojected, batch=2) as first, _child(unprojected, batch=2) as second:
        assert [first.wait(timeout=60), second.wait(timeout=60)] == [0, 0]
    assert _consistent_with_tracking(unprojected) == 125


def test_the_kill_hook_really_kills(unprojected: Db) -> None:
    # Guards the tests above: a child that is never killed finishes the catch-up.
    with _child(unprojected, batch=5, kill_after=0) as child:
        assert child.wait(timeout=60) == 0
    assert _consistent_with_tracking(unprojected) == 125
