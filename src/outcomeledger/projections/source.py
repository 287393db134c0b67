"""Reading stored events for projections: global batches and contract stream prefixes.

The projector reads the events table of eventsourcing's recorder directly, with one
plain connection: on SQLite ``stored_events``, the global order is the rowid (= the
notification id) and a stream is ``originator_id`` (uuid hex); on PostgreSQL
``outcomeledger_events``, ``notification_id`` and a ``uuid`` column, read as the same
hex text. Either way a stream is read in version order. Plain tuples and one decoder
keep the hot loop free of per-row wrapper objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..domain import codec
from ..domain.contract.state import fold_events
from ..domain.events import AnyEvent, PaymentCertified, topic_of
from ..domain.programme.events import AnyProgrammeEvent
from ..domain.programme.validity import KEYS_TOPICS
from ..storage import sqldb
from ..storage.sqldb import Conn, Dialect, PgConnection
from .base import ContractView, RawEvent

#: Events by position on PostgreSQL: a window of positions (see :func:`_pg_window`).
_PG_WINDOW = "notification_id > ? AND notification_id <= ?"
#: The first stored position after one: where the window after an empty one starts.
_PG_NEXT = "SELECT MIN(notification_id) FROM outcomeledger_events WHERE notification_id > ?"

#: The topics of programme streams and the actor registry's, as SQL literals: ``streams``
#: lists contract streams only (those streams hold events of unions of their own, never a
#: contract's).
_NOT_CONTRACT = ", ".join(f"'{t}'" for t in sorted(codec.LEDGER_TOPICS))
_CERTIFIED = topic_of(PaymentCertified)
#: The contract events declaring actors' keys, read by the programme rules for the keys
#: that sign draws (only those holding a key: a few per contract at most).
_KEYS = ", ".join(f"'{t}'" for t in sorted(KEYS_TOPICS))

# (stream, first position, events) of the streams up to a position whose topics are (IN)
# or are not (NOT IN) a programme's or the actor registry's. On SQLite a stream is told
# apart by its first event's topic (a stream holds one kind of event union): grouped on
# the primary key's index alone, which holds the rowid too, then one look-up per stream;
# a read of the whole events table would hold a rebuild's workers back ~1 s at 1M events.
_SQLITE_STREAMS = ("SELECT s.originator_id, s.first, s.events FROM (SELECT originator_id, "
                   "MIN(rowid) AS first, COUNT(*) AS events FROM stored_events "
                   "WHERE rowid <= ? GROUP BY originator_id) s JOIN stored_events e "
                   "ON e.rowid = s.first WHERE e.topic {} (" + _NOT_CONTRACT + ") "
                   "ORDER BY s.first")
_PG_STREAMS = ("SELECT replace(originator_id::text, '-', ''), MIN(notification_id) AS "
               "first_position, COUNT(*) FROM outcomeledger_events "
               "WHERE notification_id <= ? AND topic {} (" + _NOT_CONTRACT + ") "
               "GROUP BY originator_id ORDER BY first_position")

_SQL: dict[Dialect, dict[str, str]] = {
    "sqlite": {
        "batch": "SELECT rowid, originator_id, originator_version, topic, state "
                 "FROM stored_events WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?",
        "stream": "SELECT rowid, originator_version, topic, state FROM stored_events "
                  "WHERE originator_id = ? AND rowid <= ? ORDER BY originator_version",
        "feed": "SELECT rowid, topic, state FROM stored_events WHERE rowid > ? "
                "ORDER BY rowid LIMIT ?",
        "feed_stream": "SELECT rowid, topic, state FROM stored_events "
                       "WHERE originator_id = ? AND rowid > ? ORDER BY rowid LIMIT ?",
        "programmes": "SELECT rowid, originator_version, topic, state FROM stored_events "
                      f"WHERE rowid <= ? AND (topic IN ({_NOT_CONTRACT}) OR (topic = "
                      f"'{_CERTIFIED}' AND instr(state, '\"programme\":') > 0) OR (topic IN "
                      f"({_KEYS}) AND instr(state, '\"public_key\":') > 0)) "
                      "ORDER BY rowid",
        "streams": _SQLITE_STREAMS.format("NOT IN"),
        "other_streams": _SQLITE_STREAMS.format("IN"),
    },
    "postgresql": {
        # Rows as one row of arrays (sqldb.pg_arrays): reading a stream 9.6 -> 3.9 µs an
        # event, a scan 88,000 -> 171,000 events/s (200,600 events). ``batch`` and
        # ``feed`` are windows of positions (see _pg_window).
        "batch": sqldb.pg_arrays("notification_id", (
            "notification_id", "replace(originator_id::text, '-', '')", "originator_version",
            "topic", "state"), _PG_WINDOW),
        # ``+ 0``: the cutoff a filter, not an index condition. A cutoff at or near the
        # head matches every event, and the planner would otherwise AND the stream's
        # index with a scan of the whole notification_id index: 10 ms a stream at
        # 200,000 events, growing with the ledger, against 0.1 for the stream alone.
        "stream": sqldb.pg_arrays("originator_version", (
            "notification_id", "originator_version", "topic", "state"),
            "originator_id = ?::uuid AND notification_id + 0 <= ?"),
        "feed": sqldb.pg_arrays("notification_id", ("notification_id", "topic", "state"),
                                _PG_WINDOW),
        "feed_stream": sqldb.pg_arrays("notification_id", ("notification_id", "topic", "state"),
                                       "originator_id = ?::uuid AND notification_id > ?",
                                       limit=True),
        "programmes": "SELECT notification_id, originator_version, topic, state "
                      "FROM outcomeledger_events WHERE notification_id <= ? AND (topic IN "
                      f"({_NOT_CONTRACT}) OR (topic = '{_CERTIFIED}' AND "
                      "position(convert_to('\"programme\":', 'UTF8') in state) > 0) OR "
                      f"(topic IN ({_KEYS}) AND "
                      "position(convert_to('\"public_key\":', 'UTF8') in state) > 0)) "
                      "ORDER BY notification_id",
        "streams": _PG_STREAMS.format("NOT IN"),
        "other_streams": _PG_STREAMS.format("IN"),
    },
}


#: A stream's rows up to a position, on SQLite (:func:`stream_rows`), for a reader that
#: is not a ``sqlite3`` connection (the replay workers', :mod:`.bulk`).
SQLITE_STREAM = _SQL["sqlite"]["stream"]


#: The PostgreSQL queries of :func:`.sqldb.pg_arrays` read through :func:`_rows` (the
#: windows are read by :func:`_pg_window`).
_PG_ARRAYS = frozenset({"stream", "feed_stream"})


def _rows(conn: Conn, name: str, parameters: tuple[object, ...]) -> list[Any]:
    if isinstance(conn, PgConnection):
        if name in _PG_ARRAYS:
            return conn.fetch_arrays(_SQL["postgresql"][name], parameters)
        return conn.fetch(_SQL["postgresql"][name], parameters)
    return conn.execute(_SQL["sqlite"][name], parameters).fetchall()


@dataclass(frozen=True, slots=True)
class Cutoff:
    """Where history stops: a global position, a recorded time, or both.

    A stream is cut at its first event beyond the cutoff, so every contract is seen as
    a prefix of its stream (a hash-chained history is never seen with a hole in it).
    """

    position: int
    moment: datetime | None = None

    def admits(self, position: int, event: codec.LedgerEvent) -> bool:
        if position > self.position:
            return False
        return self.moment is None or event.recorded_at <= self.moment


def head(conn: Conn) -> int:
    """The global position of the last stored event (0: none)."""
    return sqldb.head(conn)


def batch(conn: Conn, after: int, upto: int, limit: int) -> list[RawEvent]:
    """Stored events with ``after < position <= upto``, at most ``limit``, in global order."""
    if isinstance(conn, PgConnection):
        return _pg_window(conn, "batch", after, upto, limit)
    return _rows(conn, "batch", (after, upto, limit))


def _pg_window(conn: PgConnection, name: str, after: int, upto: int | None,
               limit: int) -> list[Any]:
    """The events of the first window of ``limit`` positions after ``after`` (up to
    ``upto``; None: the last stored) that holds any: at most ``limit`` events, as
    positions are unique.

    Not ``ORDER BY position LIMIT n``, which on a table not yet analysed (a bulk import;
    autovacuum off or not yet round) PostgreSQL planned as a scan of every event after
    ``after`` sorted for the first ``n``: a read of the whole ledger quadratic in its
    size (0.56 s a batch of 20,000 at 200,000 events). A window is read through the
    position index alone. Windows are skipped while empty: positions have gaps (a
    transaction rolled back, an import refused whole), of any width: an empty window is
    followed by the one starting at the next stored position."""
    while upto is None or after < upto:
        end = after + limit if upto is None else min(upto, after + limit)
        rows = conn.fetch_arrays(_SQL["postgresql"][name], (after, end))
        if rows:
            return rows
        [(following,)] = conn.fetch(_PG_NEXT, (end,))
        if following is None:
            break
        after = following - 1
    return []


def feed_batch(conn: Conn, after: int, limit: int,
               stream: str | None = None) -> list[tuple[int, str, bytes]]:
    """(position, topic, stored bytes) of the events after ``after`` (only ``stream``'s),
    at most ``limit``, in global order: the events feed, which needs no more columns
    (each costs a catch-up on PostgreSQL a tenth of its time)."""
    if stream is None and isinstance(conn, PgConnection):
        return _pg_window(conn, "feed", after, None, limit)
    query, parameters = ("feed", (after, limit)) if stream is None else (
        "feed_stream", (stream, after, limit))
    return _rows(conn, query, parameters)


def scan(conn: Conn, after: int, upto: int,
         size: int = 20_000) -> Iterator[list[RawEvent]]:
    """Every stored event in ``(after, upto]`` in global order, in batches of ``size``."""
    position = after
    while position < upto:
        rows = batch(conn, position, upto, size)
        if not rows:
            return
        yield rows
        position = rows[-1][0]


def others(conn: Conn, upto: int) -> Iterator[list[RawEvent]]:
    """The events up to ``upto`` of every stream :func:`streams` leaves out (a
    programme's, the actor registry's), one stream at a time: with the streams
    :func:`streams` lists, every stored event exactly once (a parallel rebuild's workers
    project those streams, the main process these)."""
    for stream, _first, _events in _rows(conn, "other_streams", (upto,)):
        yield [(position, stream, version, topic, state)
               for position, version, topic, state in stream_rows(conn, stream, upto)]


def streams(conn: Conn, upto: int) -> list[tuple[str, int, int]]:
    """(stream hex, first position, events) of every stream with events up to ``upto``,
    in the order the streams began."""
    return _rows(conn, "streams", (upto,))


def programme_rows(conn: Conn, upto: int) -> list[tuple[int, int, str, bytes]]:
    """(position, version, topic, stored bytes) of every programme and actor registry
    event, every payment run that names a programme and every agreement or variation that
    declares a key, up to ``upto``, in global order: what the programme rules
    (:mod:`outcomeledger.domain.programme.validity`) read."""
    return _rows(conn, "programmes", (upto,))


def stream_rows(conn: Conn, stream: str, upto: int) -> list[tuple[int, int, str, bytes]]:
    """(position, version, topic, stored bytes) of ``stream``'s events up to ``upto``, in
    stream order."""
    return _rows(conn, "stream", (stream, upto))


def contract_view(conn: Conn, stream: str,
                  cutoff: Cutoff) -> ContractView | None:
    """The contract of ``stream`` folded over its events admitted by ``cutoff``
    (None when the cutoff admits none of them)."""
    rows = _rows(conn, "stream", (stream, cutoff.position))
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


def programme_rows_of(conn: Conn, stream: str, cutoff: Cutoff
                      ) -> list[tuple[AnyProgrammeEvent, str]]:
    """(event, hash) of a programme stream's events the cutoff admits, in order (a
    prefix, as a contract's stream is cut)."""
    out: list[tuple[AnyProgrammeEvent, str]] = []
    for position, _version, topic, data in _rows(conn, "stream", (stream, cutoff.position)):
        event = codec.decode_programme(topic, data)
        if not cutoff.admits(position, event):
            break
        out.append((event, codec.event_hash(data)))
    return out


def rebuilt(events: Sequence[RawEvent]) -> int:
    """Progress units of a batch of the event read models' pass: a rebuild counts each
    event twice (its contract's read models, then the event read models), and a
    programme's or the registry's event, which no contract read model reads, counts both
    times here."""
    return len(events) + sum(1 for e in events if codec.is_ledger_topic(e[3]))
