"""Reading stored events for projections: global batches and contract stream prefixes.

The projector reads the ``stored_events`` table of eventsourcing's SQLite recorder
directly, with one plain ``sqlite3`` connection: the global order is the rowid
(= notification id), a stream is ``originator_id`` (uuid hex) in version order. Plain
tuples and one decoder keep the hot loop free of per-row wrapper objects.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from .. import codec
from ..events import AnyEvent
from .base import ContractView, RawEvent
from .fold import fold_events

_BATCH_SQL = ("SELECT rowid, originator_id, originator_version, topic, state "
              "FROM stored_events WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?")
_STREAM_SQL = ("SELECT rowid, originator_version, topic, state FROM stored_events "
               "WHERE originator_id = ? AND rowid <= ? ORDER BY originator_version")
_STREAMS_SQL = ("SELECT originator_id, MIN(rowid) AS first, COUNT(*) FROM stored_events "
                "WHERE rowid <= ? GROUP BY originator_id ORDER BY first")


@dataclass(frozen=True, slots=True)
class Cutoff:
    """Where history stops: a global position, a recorded time, or both.

    A stream is cut at its first event beyond the cutoff, so every contract is seen as
    a prefix of its stream (a hash-chained history is never seen with a hole in it).
    """

    position: int
    moment: datetime | None = None

    def admits(self, position: int, event: AnyEvent) -> bool:
        if position > self.position:
            return False
        return self.moment is None or event.recorded_at <= self.moment


def head(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()
    return int(row[0] or 0)


def batch(conn: sqlite3.Connection, after: int, upto: int, limit: int) -> list[RawEvent]:
    """Stored events with ``after < position <= upto``, at most ``limit``, in global order."""
    return conn.execute(_BATCH_SQL, (after, upto, limit)).fetchall()


def scan(conn: sqlite3.Connection, after: int, upto: int,
         size: int = 20_000) -> Iterator[list[RawEvent]]:
    """Every stored event in ``(after, upto]`` in global order, in batches of ``size``."""
    position = after
    while position < upto:
        rows = batch(conn, position, upto, size)
        if not rows:
            return
        yield rows
        position = rows[-1][0]


def streams(conn: sqlite3.Connection, upto: int) -> list[tuple[str, int, int]]:
    """(stream hex, first position, events) of every stream with events up to ``upto``,
    in the order the streams began."""
    return conn.execute(_STREAMS_SQL, (upto,)).fetchall()


def contract_view(conn: sqlite3.Connection, stream: str,
                  cutoff: Cutoff) -> ContractView | None:
    """The contract of ``stream`` folded over its events admitted by ``cutoff``
    (None when the cutoff admits none of them)."""
    rows = conn.execute(_STREAM_SQL, (stream, cutoff.position)).fetchall()
    return fold(rows, cutoff)


def fold(rows: list[tuple[int, int, str, bytes]],
         cutoff: Cutoff | None = None) -> ContractView | None:
    """Fold (position, version, topic, state) rows of one stream, in version order."""
    events: list[AnyEvent] = []
    positions: list[int] = []
    last = b""
    for position, _version, topic, data in rows:
        event = codec.decode(topic, data)
        if cutoff is not None and not cutoff.admits(position, event):
            break
        events.append(event)
        positions.append(position)
        last = data
    if not events:
        return None
    state = fold_events(events[0].contract, events, codec.event_hash(last))
    return ContractView(state, tuple(events), tuple(positions))
