"""`events --follow`: the live feed (issue 19), a real process on both backends.

A follower is the command itself, run as a subprocess (signals and LISTEN/NOTIFY are what
is tested); the writes come from this process, or from writer processes of their own.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path

import psycopg
import pytest

from backends import Db
from ledgered import CONTRACT, Ledgered

CLI = [sys.executable, "-c", "from outcomeledger.cli import main; main()"]


class Follower:
    """A running ``events --follow``: its stdout lines arrive on a queue as they are
    printed, each with the time it was read."""

    def __init__(self, db: Db, *args: str) -> None:
        self.db = db
        self.process = subprocess.Popen(
            [*CLI, "--db", db.url, "events", "--follow", "--interval", "0.05", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[tuple[float, bytes]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put((time.monotonic(), line))

    def next(self, timeout: float = 30) -> tuple[float, dict[str, object]]:
        """The time the next event was read, and the event."""
        try:
            at, line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout} s; stderr: "
                                 f"{self.stop_now()}") from None
        return at, json.loads(line)

    def positions(self, count: int) -> list[int]:
        return [int(str(self.next()[1]["position"])) for _ in range(count)]

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        """Send ``sig``: the exit code and stderr."""
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        self._reader.join(timeout=10)
        assert self.process.stderr is not None
        return code, self.process.stderr.read().decode()

    def stop_now(self) -> str:
        with suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait(timeout=30)
        assert self.process.stderr is not None
        return self.process.stderr.read().decode()


@contextmanager
def following(db: Db, *args: str) -> Iterator[Follower]:
    follower = Follower(db, *args)
    try:
        yield follower
    finally:
        if follower.process.poll() is None:
            follower.stop_now()
        for pipe in (follower.process.stdout, follower.process.stderr):
            if pipe is not None:
                pipe.close()


def listening(db: Db) -> None:
    """Wait until a follower on PostgreSQL has subscribed (nothing to wait for on SQLite:
    it polls)."""
    if db.backend != "postgresql":
        return
    name = db.url.rsplit("/", 1)[1]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with closing(psycopg.connect(db.url.rsplit("/", 1)[0] + "/postgres",
                                     autocommit=True)) as admin:
            row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                "AND query LIKE 'LISTEN %%'", (name,)).fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the follower never subscribed")


@pytest.fixture
def ledger(ledger_db: Db, tmp_path: Path) -> Ledgered:
    """A ledger with contract C-IMP agreed (position 1)."""
    ledgered = Ledgered(tmp_path, ledger_db.url)
    assert ledgered("init").exit_code == 0
    assert ledgered("contract", "agree", ledgered.write("c.toml", CONTRACT)).exit_code == 0
    return ledgered


def agree(ledger: Ledgered, reference: str) -> None:
    text = CONTRACT.replace('"C-IMP"', f'"{reference}"')
    result = ledger("contract", "agree", ledger.write(f"{reference}.toml", text))
    assert result.exit_code == 0, result.stderr


def test_a_follower_started_before_a_write_prints_it_within_a_second(
        ledger: Ledgered, ledger_db: Db) -> None:
    # given a follower that has printed the ledger's one event and waits
    with following(ledger_db) as follower:
        assert follower.positions(1) == [1]
        listening(ledger_db)
        for n, reference in enumerate(("C-NEW-1", "C-NEW-2", "C-NEW-3"), start=2):
            # when another contract is agreed (committed when the command returns)
            agree(ledger, reference)
            committed = time.monotonic()
            # then the follower prints it within a second
            at, event = follower.next()
            assert (event["position"], event["contract"]) == (n, reference)
            assert at - committed < 1.0, f"printed {at - committed:.3f} s after the commit"
        code, stderr = follower.stop()
    assert code == 0, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_ends_the_follower_with_exit_0_and_its_output_flushed(
        ledger: Ledgered, ledger_db: Db, sig: int) -> None:
    for reference in ("C-A", "C-B"):
        agree(ledger, reference)
    with following(ledger_db, "--after", "1") as follower:
        assert follower.positions(2) == [2, 3]
        code, stderr = follower.stop(sig)
    assert (code, stderr) == (0, "")


def test_a_consumer_resuming_with_after_gets_exactly_the_rest(
        ledger: Ledgered, ledger_db: Db) -> None:
    # given events 1-4, and a consumer that stopped after printing 2
    for reference in ("C-A", "C-B", "C-C"):
        agree(ledger, reference)
    with following(ledger_db, "--limit", "2") as first:
        seen = first.positions(2)
        assert first.process.wait(timeout=30) == 0  # --limit: it stops by itself
    # when it follows again from the last position it printed, while more are written
    with following(ledger_db, "--after", str(seen[-1])) as second:
        seen += second.positions(2)
        listening(ledger_db)
        agree(ledger, "C-D")
        seen += second.positions(1)
        code, _ = second.stop()
    # then it has seen every event once, in order
    assert code == 0
    assert seen == [1, 2, 3, 4, 5]


def test_contract_follows_one_contract_only(ledger: Ledgered, ledger_db: Db) -> None:
    # given a follower of C-IMP's events only
    with following(ledger_db, "--contract", "C-IMP") as follower:
        assert follower.positions(1) == [1]
        listening(ledger_db)
        # when another contract is agreed, then C-IMP is varied
        agree(ledger, "C-OTHER")
        result = ledger("contract", "vary", "C-IMP", ledger.write(
            "v.toml", '[[outcomes]]\ncode = "WB"\nprice = "12"\n'),
            "--effective", "2020-07-01", "--reason", "price up")
        assert result.exit_code == 0, result.stderr
        # then it prints the variation (position 3) and never the other contract
        _, event = follower.next()
        assert (event["position"], event["contract"], event["type"]) == (
            3, "C-IMP", "ContractVaried")
        code, _ = follower.stop()
    assert code == 0
    assert follower.lines.empty()


def test_a_follower_in_table_format_prints_a_line_per_event(
        ledger: Ledgered, ledger_db: Db) -> None:
    with following(ledger_db, "--format", "table") as follower:
        header = [follower.lines.get(timeout=30)[1] for _ in range(2)]
        assert header[0].split() == [b"position", b"recorded_at", b"contract", b"type",
                                     b"recorded_by"]
        row = follower.lines.get(timeout=30)[1].split()
        assert (row[0], row[2], row[3], row[4]) == (b"1", b"C-IMP", b"ContractAgreed",
                                                    b"tester")
        code, _ = follower.stop()
    assert code == 0


def test_a_consumer_that_closes_the_pipe_ends_the_follower_quietly(
        ledger: Ledgered, ledger_db: Db) -> None:
    # given a follower whose consumer read one event (as `events --follow | head -1`)
    process = subprocess.Popen(
        [*CLI, "--db", ledger_db.url, "events", "--follow", "--interval", "0.05"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        assert json.loads(process.stdout.readline())["position"] == 1
        listening(ledger_db)
        # when the consumer goes away and the ledger moves on
        process.stdout.close()
        for reference in ("C-GONE-1", "C-GONE-2"):
            agree(ledger, reference)
        code = process.wait(timeout=30)
        stderr = process.stderr.read().decode()
    finally:
        if process.poll() is None:
            process.kill()
        process.stderr.close()
    # then it ends with exit 0 and says nothing
    assert (code, stderr) == (0, "")
