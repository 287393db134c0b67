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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from eventsourcing.utils import retry

#: Events per INSERT (a few megabytes of parameters).
CHUNK = 1000


class LedgerPostgresRecorder(PostgresApplicationRecorder):
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
