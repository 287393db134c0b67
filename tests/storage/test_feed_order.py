"""Positions on PostgreSQL commit in order, so a follower of the feed never skips one.

The known failure of Marten, Eventuous and prooph: a position is drawn from a sequence
before the transaction commits, so a slow writer holding 11 commits after a fast one
holding 12, and a reader that has already read 12 never goes back for 11. Our recorder
appends under eventsourcing's EXCLUSIVE lock on the events table, taken before the
INSERT draws positions and held until commit (storage/pgrecorder.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from eventsourcing.persistence import StoredEvent

from backends import Db, Server, new_db
from outcomeledger.app.ledger import open_ledger
from outcomeledger.domain import codec
from outcomeledger.domain.events import ContractAgreed
from outcomeledger.domain.terms import ContractTerms
from outcomeledger.storage import sqldb
from outcomeledger.storage.pgrecorder import LedgerPostgresRecorder

pytestmark = pytest.mark.postgresql

CLI = [sys.executable, "-c", "from outcomeledger.cli import main; main()"]
# (writer, transactions, events in each): writers 0 and 2 append big batches through the
# recorder's insert_events (two INSERTs each: positions drawn twice); writer 1 appends
# small ones through insert_events_on (the path of a write that projects in its own
# transaction) and, like such a write, takes a while between drawing its positions and
# committing: without the table lock the big writers commit later positions meanwhile.
WRITERS = ((0, 6, 1100), (1, 20, 20), (2, 6, 1100))
SLOW_COMMIT_S = 0.05

WRITER = """
import sys, time
from contextlib import closing
from outcomeledger.app.ledger import open_ledger
from outcomeledger.storage import sqldb
from test_feed_order import SLOW_COMMIT_S, agreed
url, writer, batches, size = sys.argv[1], *map(int, sys.argv[2:5])
with open_ledger(url) as ledger:
    ledger.project_on_write = False  # the feed is the point, not the read models
    ledger.max_position()  # connected: every writer starts appending at the same moment
    time.sleep(max(0.0, float(sys.argv[5]) - time.time()))
    for b in range(batches):
        batch = [e for i in range(size) for e in agreed(f"W{writer}-{b}-{i}")]
        if writer != 1:
            ledger.append(batch)
            continue
        with closing(sqldb.pg_connect(ledger.location.env)) as conn:
            conn.execute("BEGIN")
            ledger.recorder.insert_events_on(conn.raw, batch)
            time.sleep(SLOW_COMMIT_S)
            conn.execute("COMMIT")
"""


@pytest.fixture
def pg(pg_server: Server, request: pytest.FixtureRequest, tmp_path: Path) -> Db:
    db = new_db(request, "postgresql", tmp_path)
    with open_ledger(db.url, create=True):
        pass
    return db


def test_a_follower_sees_positions_1_to_n_in_order_under_concurrent_writers(
        pg: Db) -> None:
    # given a follower waiting on an empty ledger
    total = sum(batches * size for _, batches, size in WRITERS)
    follower = subprocess.Popen([*CLI, "--db", pg.url, "events", "--follow", "--limit",
                                 str(total)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # when several processes write at once, each its own contracts
        here = str(Path(__file__).parent)
        start = str(time.time() + 3)  # once every writer has started and connected
        writers = [subprocess.Popen([sys.executable, "-c", WRITER, pg.url, str(k),
                                     str(batches), str(size), start],
                                    env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                        [here, *sys.path])})
                   for k, batches, size in WRITERS]
        for writer in writers:
            assert writer.wait(timeout=300) == 0
        # then the follower printed every position, 1 to N, once and in order (one that
        # skipped some waits for ever for the rest: stopped, it shows what it printed)
        try:
            out, err = follower.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            follower.terminate()
            out, err = follower.communicate(timeout=30)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert follower.returncode == 0, err.decode()
    positions = [msgspec.json.decode(line)["position"] for line in out.splitlines()]
    missing = sorted(set(range(1, total + 1)) - set(positions))
    assert missing == [], f"{len(missing)} positions skipped, from {missing[0]}"
    assert positions == list(range(1, total + 1))
    assert pg.sql(f"SELECT count(*) FROM {pg.events}") == [(total,)]


def agreed(reference: str) -> list[StoredEvent]:
    t = msgspec.convert({"reference": reference, "title": "T", "buyer": "B", "supplier": "S",
                         "start": "2020-04-01", "end": "2021-03-31", "cadence": "quarter",
                         "outcomes": [{"code": "O1", "name": "O", "price": "1"}]},
                        ContractTerms)
    event = ContractAgreed(contract=reference, recorded_at=datetime(2020, 4, 1, tzinfo=UTC),
                           recorded_by="t", reason="r", terms=t)
    return [StoredEvent(codec.stream_id_of(reference), 1, codec.topic(event),
                        codec.encode(event))]


def test_an_append_waits_for_an_earlier_uncommitted_one_so_positions_commit_in_order(
        pg: Db) -> None:
    """The lock itself, without timing luck: a second append started while the first is
    uncommitted waits for it, and so draws the later position and commits after it."""
    with open_ledger(pg.url) as ledger:
        recorder = ledger.recorder
        assert isinstance(recorder, LedgerPostgresRecorder)
        with closing(sqldb.pg_connect(ledger.location.env)) as first, \
                closing(sqldb.pg_connect(ledger.location.env)) as second:
            # given an append made and not yet committed
            first.execute("BEGIN")
            [slow] = recorder.insert_events_on(first.raw, agreed("C-SLOW"))
            # when another connection appends meanwhile
            drawn: list[int] = []

            def append() -> None:
                second.execute("BEGIN")
                drawn.extend(recorder.insert_events_on(second.raw, agreed("C-FAST")))
                second.execute("COMMIT")

            thread = threading.Thread(target=append)
            thread.start()
            time.sleep(0.5)
            # then it waits (nothing drawn, nothing committed) until the first commits
            assert drawn == []
            assert pg.sql(f"SELECT count(*) FROM {pg.events}") == [(0,)]
            first.execute("COMMIT")
            thread.join(timeout=30)
    assert drawn == [slow + 1]
