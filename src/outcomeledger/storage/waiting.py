"""Waiting for events other processes commit: LISTEN/NOTIFY on PostgreSQL, polling on SQLite.

The long-running readers (``project --follow``, ``events --follow``) catch up, then wait
here. On PostgreSQL the wait is eventsourcing's ``recorder.subscribe()`` (a
``ListenNotifySubscription``: every committed insert sends a NOTIFY that wakes it), so a
reader follows writes by other processes within a fraction of a second. SQLite has no
push subscription in eventsourcing 9.5: the reader polls every ``interval`` seconds.

A wake-up only says *when* to read; *what* to read always comes from the reader's own
position, so a missed or doubled notification costs a read, never an event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .location import StoreError, first_line
from .store import Ledger

#: How often a waiting reader checks whether it was asked to stop (seconds).
WAKE_CHECK = 0.2

#: Called when events may have been committed: the monotonic time the reader learned of
#: them (a NOTIFY's arrival, or the poll), for its lag figures.
CatchUp = Callable[[float], None]


class Wake:
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


def wait_for_writes(ledger: Ledger, after: int, stopping: Callable[[], bool],
                    catch_up: CatchUp, interval: float) -> None:
    """Call ``catch_up`` whenever events after position ``after`` may have been committed
    (on SQLite: every ``interval`` seconds), until ``stopping()``.

    ``after`` is where the reader stands when it starts waiting: on PostgreSQL the
    subscription first looks for events committed after it, so a write that landed
    between the reader's last read and its LISTEN still wakes it."""
    if ledger.location.kind == "postgresql":
        _listen(ledger, after, stopping, catch_up)
    else:
        _poll(stopping, catch_up, interval)


def _poll(stopping: Callable[[], bool], catch_up: CatchUp, interval: float) -> None:
    pause = threading.Event()  # an interruptible sleep: a stop request is seen promptly
    next_poll = time.monotonic() + interval
    while not stopping():
        pause.wait(max(0.0, min(next_poll - time.monotonic(), WAKE_CHECK)))
        if time.monotonic() < next_poll or stopping():
            continue
        polled = time.monotonic()
        catch_up(polled)
        next_poll = polled + interval


def _listen(ledger: Ledger, after: int, stopping: Callable[[], bool],
            catch_up: CatchUp) -> None:
    wake = Wake()
    failure: list[BaseException] = []
    with ledger.recorder.subscribe(gt=after) as subscription:
        # The subscription's iterator blocks until a notification arrives, so it is
        # drained on a thread that only raises a flag; the main thread stays free to
        # notice a stop request (SIGTERM) and reads whatever the database holds.
        def drain() -> None:
            try:
                for _notification in subscription:
                    wake.raise_()
            except BaseException as e:  # any failure is handed to the main thread
                failure.append(e)
                wake.raise_()

        thread = threading.Thread(target=drain, name="outcomeledger-wait", daemon=True)
        thread.start()
        while not stopping():
            woken = wake.wait(WAKE_CHECK)
            if woken is None:
                continue
            if failure:
                raise StoreError(f"the follower's subscription failed "
                                 f"({first_line(failure[0])}); restart it: it "
                                 "resumes from where it stood")
            catch_up(woken)
    # Leaving the subscription stopped it, which ends the drain.
    thread.join(timeout=5)
