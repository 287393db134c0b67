"""Keeping the projections current from a long-running process (`project --follow`).

On PostgreSQL the follower subscribes to the events table through eventsourcing's
``recorder.subscribe()`` (a ``ListenNotifySubscription``: every committed insert sends a
NOTIFY that wakes it), so projections follow writes by other processes within a
fraction of a second. SQLite has no push subscription in eventsourcing 9.5: the follower
polls every ``interval`` seconds.

Either way the work is the projector's ordinary catch-up: one transaction per batch
holding its rows and its tracking position. The subscription only says *when* to catch
up; *what* to project always comes from the tracked position in the database, so a
follower killed at any moment (SIGKILL included) resumes exactly once, and any number
of followers and writers catching up at the same time never apply an event twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

from .. import projections
from ..storage import sqldb
from ..storage.location import StoreError, first_line
from ..storage.store import Ledger
from . import source

#: How often a waiting follower checks whether it was asked to stop (seconds).
WAKE_CHECK = 0.2


@dataclass(frozen=True, slots=True)
class Lag:
    """Where the projections stand after a batch: their tracked position, the ledger's
    head, and how many seconds passed between the follower learning of the batch's
    events (a NOTIFY, a poll, or its start) and the batch being committed.

    The seconds are measured on the follower's own clock, never from the events'
    ``recorded_at``: that is the writer's clock, and backdated histories (the demo,
    migrated ledgers) would show years of "lag".
    """

    projected: int
    position: int
    head: int
    seconds: float

    @property
    def events(self) -> int:
        return max(0, self.head - self.position)

    def __str__(self) -> str:
        return (f"projected {self.projected} events; position {self.position} of "
                f"{self.head}; lag {self.events} events, {self.seconds:.3f} s")


class _Wake:
    """A flag raised by notifications, remembering when the first of them arrived."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._since: float | None = None

    def raise_(self) -> None:
        with self._lock:
            if self._since is None:
                self._since = time.monotonic()
            self._event.set()

    def wait(self, timeout: float) -> float | None:
        """The time of the first notification since the last wait, or None."""
        if not self._event.wait(timeout):
            return None
        with self._lock:
            since, self._since = self._since, None
            self._event.clear()
        return since


def status(ledger: Ledger) -> tuple[dict[str, int], int]:
    """Each projection's tracking position, and the ledger's head."""
    with closing(ledger.connect()) as conn:
        return projections.positions(conn), source.head(conn)


def follow(ledger: Ledger, stopping: Callable[[], bool], report: Callable[[Lag], None],
           interval: float = 1.0) -> None:
    """Catch up, then keep catching up as events are written, until ``stopping()``.

    ``report`` is called after every committed batch. Database trouble (a server
    restart, a dropped connection) ends the follower with a StoreError: run it under a
    supervisor that restarts it; it resumes from its tracked position.
    """
    since = [time.monotonic()]
    try:
        with closing(ledger.connect()) as conn:
            if ledger.location.kind == "postgresql":
                # A follower waits its turn behind writers projecting a long import in
                # their own transaction, however long: the lock timeout every other
                # connection has (a command must not hang) would end the follower.
                conn.execute("SET lock_timeout = 0")

            def batch_done(count: int) -> None:
                position = min(projections.positions(conn).values())
                report(Lag(count, position, source.head(conn), time.monotonic() - since[0]))

            projections.catch_up(conn, progress=batch_done)
            if ledger.location.kind == "postgresql":
                _listen(ledger, conn, stopping, batch_done, since)
            else:
                _poll(conn, stopping, batch_done, interval, since)
    except sqldb.errors() as e:
        raise StoreError(f"the follower lost its database connection ({first_line(e)}); "
                         "restart it: it resumes from its tracked position") from None


def _poll(conn: sqldb.Conn, stopping: Callable[[], bool], batch_done: Callable[[int], None],
          interval: float, since: list[float]) -> None:
    pause = threading.Event()  # an interruptible sleep: a stop request is seen promptly
    next_poll = time.monotonic() + interval
    while not stopping():
        pause.wait(max(0.0, min(next_poll - time.monotonic(), WAKE_CHECK)))
        if time.monotonic() < next_poll or stopping():
            continue
        since[0] = time.monotonic()
        projections.catch_up(conn, progress=batch_done)
        next_poll = since[0] + interval


def _listen(ledger: Ledger, conn: sqldb.Conn, stopping: Callable[[], bool],
            batch_done: Callable[[int], None], since: list[float]) -> None:
    wake = _Wake()
    failure: list[BaseException] = []
    start = min(projections.positions(conn).values())
    with ledger.recorder.subscribe(gt=start) as subscription:
        # The subscription's iterator blocks until a notification arrives, so it is
        # drained on a thread that only raises a flag; the main thread stays free to
        # notice a stop request (SIGTERM) and projects whatever the database holds.
        def drain() -> None:
            try:
                for _notification in subscription:
                    wake.raise_()
            except BaseException as e:  # any failure is handed to the main thread
                failure.append(e)
                wake.raise_()

        thread = threading.Thread(target=drain, name="outcomeledger-follow", daemon=True)
        thread.start()
        while not stopping():
            woken = wake.wait(WAKE_CHECK)
            if woken is None:
                continue
            if failure:
                raise StoreError(f"the follower's subscription failed "
                                 f"({first_line(failure[0])}); restart it: it "
                                 "resumes from its tracked position")
            since[0] = woken
            projections.catch_up(conn, progress=batch_done)
    # Leaving the subscription stopped it, which ends the drain.
    thread.join(timeout=5)
