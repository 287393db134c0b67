"""Keeping the projections current from a long-running process (`project --follow`).

The follower waits for writes as every long-running reader does (``storage.waiting``):
woken by PostgreSQL's LISTEN/NOTIFY within a fraction of a second, polling every
``interval`` seconds on SQLite.

Either way the work is the projector's ordinary catch-up: one transaction per batch
holding its rows and its tracking position. The subscription only says *when* to catch
up; *what* to project always comes from the tracked position in the database, so a
follower killed at any moment (SIGKILL included) resumes exactly once, and any number
of followers and writers catching up at the same time never apply an event twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

from .. import projections
from ..storage import sqldb, waiting
from ..storage.location import StoreError, first_line
from ..storage.store import Ledger
from . import source


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

            def woken(at: float) -> None:
                since[0] = at
                projections.catch_up(conn, progress=batch_done)

            projections.catch_up(conn, progress=batch_done)
            waiting.wait_for_writes(ledger, min(projections.positions(conn).values()),
                                    stopping, woken, interval)
    except sqldb.errors() as e:
        raise StoreError(f"the follower lost its database connection ({first_line(e)}); "
                         "restart it: it resumes from its tracked position") from None
