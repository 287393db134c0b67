"""The batch projector: catch up, rebuild and swap, project in memory, dump.

Catch-up reads the events after the tracked position in batches, in global order;
each batch is one write transaction (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on
PostgreSQL: :func:`sql.begin`) holding its rows *and* the new tracking positions, so a
projector killed at any point resumes exactly once, and two projectors never
interleave. Contract read models are recomputed, for every contract a
batch touches, from the contract's stream up to the batch's last position (delete +
insert): a pure function of the events, so catch-up after any prefix equals a replay.

A rebuild fills fresh ``<table>__new`` tables contract by contract (memory is one
contract at a time, whatever the ledger's size), then swaps them in with one
transaction: drop old, rename new, reset tracking.

One module of some 340 lines, on purpose: catch-up and rebuild call each other (a table
left in an older layout is rebuilt when catching up; a rebuild ends by catching up) and
share the transaction and tracking writes, so a split would be a cycle or a module of
private helpers both import.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import msgspec

from ..domain import codec
from ..storage import sqldb
from ..storage.sqldb import Conn, dialect
from ..storage.writing import Folded
from . import digests, parallel, source, sql
from .base import ContractView, Projection, RawEvent
from .lock import rebuilding
from .registry import PROJECTIONS
from .source import Cutoff

#: Events per catch-up transaction: big enough to amortise a contract's recompute
#: over many of its events, small enough to keep each write lock short.
BATCH = 20_000
#: Rows a rebuild writes per transaction (fresh tables, invisible until the swap).
REBUILD_COMMIT_ROWS = 100_000
NEW = "__new"

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class CatchUp:
    events: int
    position: int


class _Transaction:
    """``BEGIN IMMEDIATE`` (see :func:`sql.begin`) ... ``COMMIT``, or ``ROLLBACK`` on any
    exception.

    IMMEDIATE takes the write lock up front: a deferred transaction that read first could
    not upgrade to a write once another writer had committed (SQLITE_BUSY_SNAPSHOT), and
    two projectors must never read the same tracking position and both apply a batch.
    """

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    def __enter__(self) -> Conn:
        sql.begin(self.conn)
        return self.conn

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def ensure(conn: Conn, projections: Sequence[Projection] = PROJECTIONS,
           suffix: str = "") -> None:
    """Create missing projection tables (position 0) and the tracking table.

    A projection with some tables and not others (a newer version added a table to it)
    is left as it is: its live tables hold rows up to its tracked position, which the new
    table would not, so :func:`outdated` reports the missing one and it is rebuilt."""
    names = [t.name + suffix for p in projections for t in p.tables]
    found = sql.existing(conn, [*names, "tracking", digests.TABLE])
    if found == {*names, "tracking", digests.TABLE}:
        return
    with _Transaction(conn):
        conn.execute(sql.tracking_ddl(conn))
        conn.execute(sql.TRACKING_MARKER)
        conn.execute(digests.ddl(conn))
        for p in projections:
            tables = [t.name + suffix for t in p.tables]
            if suffix or not found.intersection(tables):
                for t in p.tables:
                    conn.execute(sql.create(t, t.name + suffix, dialect(conn)))
                if not suffix:  # (a table dropped by hand and made again: empty)
                    digests.forget(conn, tables)
        if not suffix:
            for index, (table, cols) in sql.INDEXES.items():
                conn.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({cols})")


def outdated(conn: Conn,
             projections: Sequence[Projection] = PROJECTIONS) -> list[str]:
    """Live tables whose layout is not the one the code writes (an older version's)."""
    tables = [t for p in projections for t in p.tables]
    live = sql.live_layouts(conn, [t.name for t in tables])
    return [t.name for t in tables if live.get(t.name) != sql.layout(t, dialect(conn))]


def untracked(conn: Conn, projections: Sequence[Projection] = PROJECTIONS) -> list[str]:
    """Projections whose tables hold rows while their tracking position is 0 (a dropped or
    emptied ``tracking`` table): those rows are at no known position, so catching up
    from 0 would insert them again; they are rebuilt instead."""
    at = positions(conn, projections)
    return [p.name for p in projections if at[p.name] == 0 and any(
        conn.execute(f"SELECT 1 FROM {t.name} LIMIT 1").fetchone() is not None
        for t in p.tables)]


def positions(conn: Conn,
              projections: Sequence[Projection] = PROJECTIONS) -> dict[str, int]:
    """Tracking position of each projection (0: nothing projected yet)."""
    if not sql.existing(conn, ["tracking"]):
        return {p.name: 0 for p in projections}
    names = [p.tracking_name for p in projections]
    marks = ", ".join("?" * len(names))
    found = dict(conn.execute("SELECT application_name, notification_id FROM tracking "
                              f"WHERE application_name IN ({marks})", names).fetchall())
    return {p.name: int(found.get(p.tracking_name, 0)) for p in projections}


def _track(conn: Conn, projection: Projection, position: int) -> None:
    conn.execute(sql.TRACK, (projection.tracking_name, position))


def _write_contract(conn: Conn, projection: Projection, view: ContractView,
                    suffix: str = "") -> int:
    """The contract's rows of each of the projection's tables, into tables holding none
    of them (a rebuild's)."""
    written = 0
    for table, rows in projection.tables_of(view):
        sql.write(conn, table, table.name + suffix, rows)
        written += len(rows)
    return written


def _replace_contract(conn: Conn, projection: Projection, view: ContractView,
                      kept: dict[str, bytes], changed: list[tuple[str, bytes]]) -> None:
    """The contract's rows of each of the projection's live tables, in place of those
    they hold (a catch-up's). ``kept``: the digests kept for the contract's tables;
    those of the tables this finds different are added to ``changed``, for the caller
    to keep once for all the contract's projections."""
    # A write changes few of a contract's tables (a payment run leaves its lines,
    # returns and targets as they were): a table already holding the rows is left as it
    # is, rather than its rows deleted and inserted again; the rows' digest kept from the
    # last catch-up says so without reading them back (.digests).
    ref = view.reference
    for table, rows in projection.tables_of(view):
        name = table.name
        digest = digests.of(rows)
        if kept.get(name) == digest:
            continue
        changed.append((name, digest))
        if sql.holds(conn, table, name, ref, rows):
            continue
        sql.delete_contracts(conn, table, name, [ref])
        sql.write(conn, table, name, rows)


def _write_events(conn: Conn, projection: Projection, events: Sequence[RawEvent],
                  suffix: str = "") -> int:
    assert projection.event_rows is not None
    rows = projection.event_rows(events)
    sql.write(conn, projection.tables[0], projection.tables[0].name + suffix, rows)
    return len(rows)


def _step(conn: Conn, projections: Sequence[Projection], size: int,
          folded: Folded | None = None) -> CatchUp:
    """Project the next batch; the caller holds the write transaction."""
    tracked = positions(conn, projections)
    start = min(tracked.values())
    events = source.batch(conn, start, source.head(conn), size)
    if not events:
        return CatchUp(0, start)
    upto = events[-1][0]
    views: dict[str, ContractView | None] = _known(folded, events)
    # Each contract's digests, read once and written once whatever its projections
    # (their tables are distinct): contract -> table -> digest, and the new ones.
    kept: dict[str, dict[str, bytes]] = {}
    changed: dict[str, list[tuple[str, bytes]]] = {}
    where = ""
    try:
        for p in projections:
            mine = [e for e in events if e[0] > tracked[p.name]]
            if p.scope == "event":
                where = f"the {p.name} read model of the events up to position {upto}"
                _write_events(conn, p, mine)
            else:
                # (A programme's stream, or the actor registry's, holds no contract: its
                # events have no rows here.)
                for stream in dict.fromkeys(e[1] for e in mine
                                            if not codec.is_ledger_topic(e[3])):
                    where = f"the {p.name} read model of stream {stream} at position {upto}"
                    if stream not in views:
                        views[stream] = source.contract_view(conn, stream, Cutoff(upto))
                    view = views[stream]
                    if view is not None:
                        where = (f"the {p.name} read model of contract {view.reference!r} "
                                 f"at position {upto}")
                        ref = view.reference
                        if ref not in kept:
                            kept[ref], changed[ref] = digests.kept(conn, ref), []
                        _replace_contract(conn, p, view, kept[ref], changed[ref])
            _track(conn, p, max(upto, tracked[p.name]))
        where = f"the digests of the read models at position {upto}"
        for ref, tables in changed.items():
            digests.keep(conn, ref, tables)
    except Exception as e:
        # Say which read model of which contract failed (a note: the exception's type is
        # unchanged), so a refusal can name it rather than print a traceback. Database
        # errors are the database's to explain.
        if not isinstance(e, sqldb.errors()):
            e.add_note(PROJECTING + where)
        raise
    return CatchUp(len(events), upto)


def _known(folded: Folded | None, events: Sequence[RawEvent]) -> dict[str, ContractView | None]:
    """The view of the contract the write folded, when its last event is the last event
    of that stream in this batch (same position, same version): then it is that stream
    up to the batch's end, as the events table holds it (the write holds the table, and
    stored events never change). Otherwise none: the stream is read and folded."""
    if folded is None or not folded.events:
        return {}
    last: tuple[int, int] | None = None
    for position, stream, version, _topic, _state in events:
        if stream == folded.stream:
            last = (position, version)
    if last != (folded.positions[-1], len(folded.events)):
        return {}
    return {folded.stream: ContractView(folded.state, folded.events, folded.positions)}


#: How the note :func:`_step` adds to an error begins (see :func:`failure`).
PROJECTING = "while computing "


def failure(error: BaseException) -> str | None:
    """What could not be projected, when ``error`` came from computing a read model's
    rows (not from the database): one line for a refusal."""
    notes = [n for n in getattr(error, "__notes__", ()) if n.startswith(PROJECTING)]
    if not notes:
        return None
    detail = str(error).strip().splitlines()
    return (f"{notes[-1].removeprefix(PROJECTING)} cannot be computed "
            f"({type(error).__name__}{': ' + detail[0] if detail else ''})")


def catch_up(conn: Conn, projections: Sequence[Projection] = PROJECTIONS,
             batch: int = BATCH, progress: Progress | None = None) -> CatchUp:
    """Bring every projection up to the ledger's last event, one transaction per batch.

    Tables left in an older layout by an earlier version are rebuilt first: their rows
    could not be extended in place, and a replay gives exactly the rows the code writes.
    """
    ensure(conn, projections)
    if outdated(conn, projections) or untracked(conn, projections):
        return rebuild(conn, projections, progress)
    total = 0
    while True:
        with _Transaction(conn):
            step = _step(conn, projections, batch)
        if not step.events:
            return CatchUp(total, step.position)
        total += step.events
        if progress is not None:
            progress(step.events)


def catch_up_within(conn: Conn, projections: Sequence[Projection] = PROJECTIONS,
                    batch: int = BATCH, folded: Folded | None = None) -> CatchUp:
    """Bring every projection up to the ledger's last event inside the caller's open
    write transaction (the one that appended the events): a write and everything that
    follows from it commit together, or neither does. The tables must exist and be in
    the current layout (:func:`catch_up` first, outside the transaction). ``folded``: a
    contract's stream as the write left it, taken for that contract's view when it is
    exactly what the events table holds up to the batch (see :func:`_known`)."""
    if sqldb.dialect(conn) == "postgresql":
        # The projection writers' lock (see sql.begin), inside the caller's transaction.
        conn.execute("SELECT pg_advisory_xact_lock(?)", (sql.PG_LOCK,))
    total, position = 0, 0
    while True:
        step = _step(conn, projections, batch, folded)
        if not step.events:
            return CatchUp(total, step.position if total == 0 else position)
        total, position = total + step.events, step.position


def build(src: Conn, dst: Conn, cutoff: Cutoff, suffix: str = "",
          projections: Sequence[Projection] = PROJECTIONS,
          progress: Progress | None = None) -> int:
    """Fill empty tables (``<name><suffix>`` in ``dst``) from the events of ``src`` that
    ``cutoff`` admits; returns the last position admitted. ``dst`` may be ``src``.

    Contract read models are built one contract at a time (memory stays flat however
    large the ledger), committed every ``REBUILD_COMMIT_ROWS`` rows; then the event
    read models in one pass over the global order.
    """
    contract_ps = [p for p in projections if p.scope == "contract"]
    event_ps = [p for p in projections if p.scope == "event"]
    admitted: dict[str, int] = {}  # stream -> versions admitted (always a prefix)
    last = 0
    todo = source.streams(src, cutoff.position)
    done = 0
    stream, view = "", None
    try:
        while done < len(todo):
            with _Transaction(dst):
                rows = 0
                while done < len(todo) and rows < REBUILD_COMMIT_ROWS:
                    stream, _first, count = todo[done]
                    done += 1
                    view = None
                    view = source.contract_view(src, stream, cutoff)
                    if view is not None:
                        admitted[stream] = len(view.events)
                        last = max(last, view.positions[-1])
                        for p in contract_ps:
                            rows += _write_contract(dst, p, view, suffix)
                    if progress is not None:
                        progress(count)
    except Exception as e:
        # As in _step: name the contract whose read models failed (see failure()).
        if not isinstance(e, sqldb.errors()):
            e.add_note(PROJECTING + (f"the read models of contract {view.reference!r}"
                                     if view is not None else
                                     f"the read models of stream {stream}"))
        raise
    cut: set[str] = set()  # programme and registry streams cut by a moment (nothing after)

    def admits(e: RawEvent) -> bool:
        position, stream, version, topic, state = e
        if not codec.is_ledger_topic(topic):
            return version <= admitted.get(stream, 0)
        # A programme's stream, or the registry's, is cut as a contract's is (no contract
        # view admits it).
        if stream not in cut and cutoff.admits(position, codec.decode_any(topic, state)):
            return True
        cut.add(stream)
        return False

    for scanned in source.scan(src, 0, cutoff.position):
        events = scanned if cutoff.moment is None else [e for e in scanned if admits(e)]
        if events:
            last = max(last, events[-1][0])
        with _Transaction(dst):
            for p in event_ps:
                _write_events(dst, p, events, suffix)
        if progress is not None:
            progress(source.rebuilt(events))
    return last


def rebuild(conn: Conn, projections: Sequence[Projection] = PROJECTIONS,
            progress: Progress | None = None) -> CatchUp:
    """Replay every projection from position 0 into fresh tables and swap them in
    (after any rebuild already under way: see :mod:`.lock`)."""
    ensure(conn, projections)
    with rebuilding(conn):
        with sql.unzeroed_drops(conn), _Transaction(conn):
            for p in projections:
                for t in p.tables:
                    # (A rebuild that did not finish may have left them full.)
                    conn.execute(f"DROP TABLE IF EXISTS {t.name}{NEW}")
                    conn.execute(sql.create(t, t.name + NEW, dialect(conn)))
        upto = source.head(conn)
        # A large ledger is rebuilt on every core (same rows, see parallel.py).
        if not parallel.rebuild_tables(conn, upto, NEW, projections, progress):
            build(conn, conn, Cutoff(upto), NEW, projections, progress)
        with sql.unzeroed_drops(conn), _Transaction(conn):
            for p in projections:
                for t in p.tables:
                    for statement in sql.swap(t.name, t.name + NEW, dialect(conn)):
                        conn.execute(statement)
                digests.forget(conn, [t.name for t in p.tables])
                _track(conn, p, upto)
            for index, (table, cols) in sql.INDEXES.items():
                conn.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({cols})")
    after = catch_up(conn, projections)
    return CatchUp(upto + after.events, after.position)


def in_memory(src: Conn, cutoff: Cutoff,
              projections: Sequence[Projection] = PROJECTIONS) -> sqlite3.Connection:
    """Every projection as ``cutoff`` saw it, in a private in-memory database."""
    dst = sqlite3.connect(":memory:", isolation_level=None)
    try:
        ensure(dst, projections)
        last = build(src, dst, cutoff, "", projections)
        with _Transaction(dst):
            for p in projections:
                _track(dst, p, last)
    except BaseException:
        dst.close()
        raise
    return dst


_line = msgspec.json.Encoder()


def dump(conn: Conn, projections: Sequence[Projection] = PROJECTIONS,
         suffix: str = "") -> Iterator[bytes]:
    """Every table in a canonical order, as NDJSON lines ``{"table", "row"}``, then the
    tracking positions: same events, same bytes."""
    for p in projections:
        for t in p.tables:
            for values in sql.select_ordered(conn, t, t.name + suffix):
                yield _line.encode({"table": t.name,
                                    "row": sql.published(t, values)}) + b"\n"
    for name, position in sorted(positions(conn, projections).items()):
        yield _line.encode({"table": "tracking",
                            "row": {"projection": f"proj_{name}", "position": position}}) + b"\n"
