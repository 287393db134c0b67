"""eventsourcing's PostgreSQL application recorder, appending without pipeline mode.

The recorder appends a batch of events in one transaction with psycopg's pipeline
mode and one INSERT of every event of the batch. With psycopg 3.3 the pipeline deadlocks
once one statement's parameters run to several megabytes (seen here from about 8 MB,
with both psycopg's C and Python implementations: the client stops sending, the server
waits in ``ClientRead``, forever), and a returns import appends all of its events,
megabytes of them, at once.

So this subclass runs eventsourcing's own statements, in the same order and in one
transaction, without the pipeline: lock the table (so positions commit in order and a
follower never skips one), notify the followers, then insert the events in chunks of
:data:`CHUNK`, each returning its positions. Chunks also bound the memory the adapted
parameters take (a million-row import is 50,000 events). The table, the subscription
(LISTEN/NOTIFY) and everything else are eventsourcing's. Selected with
``APPLICATION_RECORDER_TOPIC`` (``location.PG_RECORDER``).

Two more things differ. Every pooled connection waits at most ``POSTGRES_LOCK_TIMEOUT``
seconds for any lock (eventsourcing bounds only its own table lock), and a lock wait
that timed out is not retried ten times over: a read behind another session's
``LOCK TABLE`` fails after that timeout with one clear message instead of hanging.
And :meth:`insert_events_on` appends on a connection the ledger holds, inside a
transaction the ledger commits once the projections of the new events are written too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.utils import retry

from . import sqldb
from .location import locked

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")

#: Events per INSERT (a few megabytes of parameters).
CHUNK = 1000


def _no_retry_on_lock_timeout(method: Callable[..., T]) -> Callable[..., T]:
    """eventsourcing's method without its retry decorator, retried here as there (ten
    attempts, 0.2 s apart, on connection trouble) except after a lock timeout: that
    already waited the whole timeout, and ten more would make a minute's wait ten."""
    inner: Callable[..., T] = getattr(method, "__wrapped__", method)

    def call(self: LedgerPostgresRecorder, *args: Any, **kwargs: Any) -> T:
        for attempt in range(1, 11):
            try:
                return inner(self, *args, **kwargs)
            except (InterfaceError, OperationalError) as e:
                if sqldb.lock_timed_out(e):
                    raise locked(self.display, self.datastore.lock_timeout) from None
                if attempt == 10:
                    raise
                time.sleep(0.2)
        raise AssertionError("unreachable")

    return call


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        # Before eventsourcing's constructor, which opens the pool (it reads the
        # database's types): every connection the pool makes gets the setting.
        if datastore.lock_timeout and isinstance(datastore.pool.kwargs, dict):
            datastore.pool.kwargs["options"] = sqldb.lock_timeout_option(
                datastore.lock_timeout)
        super().__init__(datastore, **kwargs)

    @property
    def display(self) -> str:
        """host:port/dbname, as the ledger's location is displayed."""
        kwargs = self.datastore.pool.kwargs
        if not isinstance(kwargs, dict):
            return "PostgreSQL"
        return f"{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('dbname')}"

    select_events = _no_retry_on_lock_timeout(
        PostgresApplicationRecorder.select_events)
    select_notifications = _no_retry_on_lock_timeout(
        PostgresApplicationRecorder.select_notifications)
    max_notification_id = _no_retry_on_lock_timeout(
        PostgresApplicationRecorder.max_notification_id)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        # A failure anywhere rolls the whole transaction back: all events or none.
        with self.datastore.transaction(commit=True) as cursor:
            self._insert_events(cursor, stored_events, **kwargs)
            if not stored_events:
                return []
            self._lock_table(cursor)
            self._notify_channel(cursor)
            positions: list[int] = []
            for start in range(0, len(stored_events), CHUNK):
                chunk = stored_events[start:start + CHUNK]
                # The plain INSERT (the application recorder's own version of this
                # method would lock and notify again for every chunk).
                PostgresAggregateRecorder._insert_stored_events(self, cursor, chunk)
                positions.extend(self._fetch_ids_after_insert_events(cursor, chunk) or ())
            return positions

    def insert_events_on(self, conn: psycopg.Connection[Any],
                         stored_events: Sequence[StoredEvent]) -> list[int]:
        """Append ``stored_events`` on ``conn``, inside the transaction the caller has
        begun and will commit or roll back: eventsourcing's statements in its order
        (lock the table, bounded by the lock timeout; notify; insert), with the rows
        as four plain arrays, so no composite type needs registering on ``conn``.
        Their positions, in order; a duplicate (stream, version) raises psycopg's
        UniqueViolation."""
        from psycopg import sql

        for statement in self.lock_table_statements:
            conn.execute(statement)
        self._notify_channel(conn.cursor())
        insert = sql.SQL(
            "INSERT INTO {0}.{1} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[]) "
            "RETURNING notification_id").format(sql.Identifier(self.datastore.schema),
                                                sql.Identifier(self.events_table_name))
        positions: list[int] = []
        for start in range(0, len(stored_events), CHUNK):
            chunk = stored_events[start:start + CHUNK]
            rows = conn.execute(insert, (
                [e.originator_id if isinstance(e.originator_id, UUID)
                 else UUID(str(e.originator_id)) for e in chunk],
                [e.originator_version for e in chunk], [e.topic for e in chunk],
                [e.state for e in chunk])).fetchall()
            positions.extend(int(r[0]) for r in rows)
        return positions
