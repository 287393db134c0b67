"""The events feed (DESIGN 7): every event in global order, read once (``events``) or
followed as the ledger grows (``events --follow``).

A reader asks for the events after the last position it delivered, in pages, straight
from the events table (plain rows, one decode per event). Following adds only a wait
between pages (``storage.waiting``: LISTEN/NOTIFY on PostgreSQL, polling on SQLite).

No event is ever skipped because positions become visible in order: on SQLite one writer
at a time holds the write lock while its rows take the next rowids; on PostgreSQL every
append takes eventsourcing's ``EXCLUSIVE`` lock on the events table before its INSERT
draws positions from the sequence, and holds it until commit (``storage.pgrecorder``), so
transactions commit in the order of their positions. A reader that has seen position p
can therefore never later find a committed event below p: the failure of feeds whose
positions are drawn before commit (Marten, Eventuous, prooph), where a slow transaction
holding position 11 commits after a fast one holding 12 has been read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing

import msgspec

from ..domain import codec
from ..domain.errors import InvalidInput, Problem
from ..projections import source
from ..projections.base import timestamp
from ..storage import sqldb, waiting
from ..storage.application import stream_id
from ..storage.location import StoreError, first_line
from ..storage.sqldb import Conn
from ..storage.store import Ledger

#: Positions go to the database as 64-bit integers (SQLite INTEGER, PostgreSQL BIGINT).
MAX_POSITION = 2**63 - 1

#: Events per read: large enough that a catch-up runs at the speed of the decoding.
PAGE = 2000


class FeedLine(msgspec.Struct, frozen=True):
    """One line of ``events``: fields in the published order. ``prev_hash`` is always
    given (64 zeros for a stream's first event, whose stored bytes omit it as the
    default); ``data`` is the event exactly as stored."""

    position: int
    contract: str
    type: str
    recorded_at: str
    recorded_by: str
    hash: str
    prev_hash: str
    data: msgspec.Raw | dict[str, object]


_encoder = msgspec.json.Encoder(decimal_format="string")


def record(position: int, topic: str, state: bytes) -> FeedLine:
    """The feed's line for one stored event. An event of the current version is stored
    as its canonical JSON, which is what ``data`` holds: those bytes go out as they are
    (half the cost of a catch-up is saved, and ``hash`` is the SHA-256 of ``data``'s
    exact text). An older version is shown upcast to the current one."""
    event = codec.decode_any(topic, state)
    data = (msgspec.Raw(state) if topic in codec.CANONICAL_TOPICS
            else codec.to_builtins(event))
    return FeedLine(position, codec.owner(event), type(event).__name__,
                    timestamp(event.recorded_at), event.recorded_by,
                    codec.event_hash(state), event.prev_hash, data)


def data_text(line: FeedLine) -> str:
    """``data`` as compact JSON text."""
    data = line.data
    return (bytes(data) if isinstance(data, msgspec.Raw) else _encoder.encode(data)).decode()


def ndjson(lines: list[FeedLine]) -> bytes:
    """``lines`` as NDJSON, the feed's own format: one object per line, each ending in
    a newline."""
    return _encoder.encode_lines(lines)


def pages(conn: Conn, after: int, reference: str | None = None,
          limit: int | None = None, programme: str | None = None
          ) -> Iterator[list[FeedLine]]:
    """The events after position ``after`` committed by now (only contract
    ``reference``'s, or programme ``programme``'s; at most ``limit``), in global order, a
    page at a time."""
    stream = (codec.programme_stream_id(programme).hex if programme is not None
              else None if reference is None else stream_id(reference).hex)
    position, left = after, limit
    while left is None or left > 0:
        size = PAGE if left is None else min(PAGE, left)
        rows = source.feed_batch(conn, position, size, stream)
        if not rows:
            return
        yield [record(*row) for row in rows]
        position = rows[-1][0]
        if left is not None:
            left -= len(rows)


def read(ledger: Ledger, after: int, reference: str | None = None,
         limit: int | None = None, programme: str | None = None
         ) -> Iterator[list[FeedLine]]:
    """:func:`pages` on a connection of its own."""
    with closing(ledger.connect()) as conn:
        yield from pages(conn, after, reference, limit, programme)


def follow(ledger: Ledger, after: int, deliver: Callable[[list[FeedLine]], None],
           stopping: Callable[[], bool], *, reference: str | None = None,
           limit: int | None = None, interval: float = 1.0,
           programme: str | None = None) -> int:
    """Deliver every event after ``after`` (only ``reference``'s), then each new one as it
    is committed, until ``stopping()`` or ``limit`` events; returns the last position
    delivered. ``deliver`` gets every page as soon as it is read.

    Refused: an ``after`` beyond the ledger's last event (a consumer resuming against an
    older copy of the ledger would silently miss the events written up to it). Losing
    the database ends the follow with a StoreError: restart it with ``--after`` the last
    position delivered; it resumes with exactly the rest."""
    position = after
    left = limit

    def catch_up(_since: float) -> None:
        nonlocal position, left
        for page in pages(conn, position, reference, left, programme):
            deliver(page)
            position = page[-1].position
            if left is not None:
                left -= len(page)
            if stopping() or left == 0:
                return

    def done() -> bool:
        return left == 0 or stopping()

    try:
        with closing(ledger.connect()) as conn:
            head = source.head(conn)
            if after > head:
                raise InvalidInput([Problem("--after", None, "after", (
                    f"no such position (got {after}, expected 0 to {head}, the ledger's "
                    "last event): resuming past it would skip the events written up to "
                    "it; is this an older copy of the ledger?"))])
            catch_up(0.0)
            if not done():
                waiting.wait_for_writes(ledger, position, done, catch_up, interval)
    except sqldb.errors() as e:
        raise StoreError(f"the feed lost its database connection ({first_line(e)}); "
                         f"follow again with --after {position}: it resumes with exactly "
                         "the rest") from None
    return position
