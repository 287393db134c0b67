"""The stored read models against a replay of the events they track, piece by piece.

``audit verify`` must recompute every projection and compare it with the stored tables,
on ledgers of millions of events. A whole replay held in memory grows with the ledger
(hundreds of MB at 100,000 events), so the comparison goes one contract at a time (its
rows in every contract table) and one batch of positions at a time (the audit trail):
each piece is replayed into a scratch in-memory database through the same code that
writes the live tables, read back in key order beside the live rows of the same piece,
and forgotten. Memory stays flat whatever the ledger's size; the differences found are
exactly those of a full replay compared with the full tables.
"""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import closing
from typing import Any
from urllib.parse import quote

import msgspec

from .. import codec, sqldb
from .. import workers as processes
from ..sqldb import Conn
from . import parallel, source, sql
from .base import Projection, Row, Table
from .projector import ensure, positions
from .registry import PROJECTIONS
from .source import Cutoff
from .sql import snapshot

#: Events of the audit trail compared at a time.
_BATCH = 20_000

_line = msgspec.json.Encoder()


class _Tracking(Row, frozen=True):
    projection: str
    position: int


_TRACKING = Table("tracking", _Tracking, ("projection",))


def _text(table: Table, values: Sequence[Any]) -> bytes:
    """A row as ``dump`` prints it (and so as a difference names it)."""
    return _line.encode({"table": table.name,
                         "row": dict(zip(table.columns, values, strict=True))})


def _differ(table: Table, live: Sequence[Sequence[Any]],
            replayed: Sequence[Sequence[Any]]) -> Iterator[str]:
    live_lines = {_text(table, tuple(r)) for r in live}
    replay_lines = {_text(table, tuple(r)) for r in replayed}
    for line in sorted(live_lines - replay_lines):
        yield f"live table has a row replay does not: {line.decode()}"
    for line in sorted(replay_lines - live_lines):
        yield f"replay has a row the live table lacks: {line.decode()}"


def _select(table: Table, where: str) -> str:
    return (f"SELECT {', '.join(table.columns)} FROM {table.name} WHERE {where} "
            f"ORDER BY {', '.join(table.key)}")


class _Scratch:
    """One piece's replayed rows, as the live tables would hold them (same writer, same
    column types), then emptied for the next piece."""

    def __init__(self, projections: Sequence[Projection]) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None)
        ensure(self.conn, projections)

    def close(self) -> None:
        self.conn.close()

    def rows(self, table: Table, rows: Sequence[Row]) -> list[Any]:
        sql.write(self.conn, table, table.name, rows)
        found = sql.select_ordered(self.conn, table, table.name).fetchall()
        self.conn.execute(f"DELETE FROM {table.name}")
        return found


def differences(conn: Conn, tracked: dict[str, int],
                projections: Sequence[Projection] = PROJECTIONS, limit: int = 20,
                workers: int | None = None) -> list[str]:
    """The first ``limit`` differences between the live tables (read in the caller's
    snapshot, with the ``tracked`` positions read in it) and a replay of the events up
    to the earliest of those positions, in this order: the tracking positions, then
    contract by contract (in the order the contracts began), rows of contracts with no
    events, then the event read models batch by batch. Each difference is a row one side
    has and the other lacks, as ``dump`` prints rows.

    On a large SQLite file the contracts are compared by worker processes (as a replay
    builds them, see :mod:`.parallel`) while this process compares the audit trail; a
    worker that finds the tracked positions moved (a projector committed meanwhile)
    hands its share back to be compared here, in the caller's snapshot.
    """
    contract_ps = [p for p in projections if p.scope == "contract"]
    event_ps = [p for p in projections if p.scope == "event"]
    position = min(tracked[p.name] for p in projections)
    found = list(itertools.islice(_tracking(tracked, projections, position), limit))
    todo = source.streams(conn, position)
    streams = [stream for stream, _first, _count in todo]
    shares = _shares(conn, todo, position, workers) if contract_ps else []
    procs = [_start(path, tracked, [p.name for p in projections], share, limit)
             for path, share in shares]
    try:
        with closing(_Scratch(projections)) as scratch:
            def here(share: list[str]) -> list[str]:
                return list(itertools.islice(
                    _contracts(conn, share, position, contract_ps, scratch), limit))

            # With workers busy on the contracts, this process compares the audit trail.
            events = (list(itertools.islice(_events(conn, position, event_ps, scratch), limit))
                      if procs else None)
            contracts: list[str] = [] if procs else here(streams)
            for proc, (_path, share) in zip(procs, shares, strict=True):
                done = _collect(proc)  # None: moved or failed, so compared here instead
                contracts += here(share) if done is None else done
            found += contracts[:limit]
            found += itertools.islice(_strays(conn, set(streams), contract_ps), limit)
            if events is None and len(found) < limit:
                events = list(itertools.islice(_events(conn, position, event_ps, scratch),
                                               limit))
            found += events or []
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return found[:limit]


def _tracking(tracked: dict[str, int], projections: Sequence[Projection],
              position: int) -> Iterator[str]:
    for p in projections:  # a replay is tracked at the position it replayed to
        if tracked[p.name] != position:
            yield from _differ(_TRACKING, [(p.tracking_name, tracked[p.name])],
                               [(p.tracking_name, position)])


def _contracts(conn: Conn, streams: Sequence[str], position: int,
               contract_ps: Sequence[Projection], scratch: _Scratch) -> Iterator[str]:
    cutoff = Cutoff(position)
    for stream in streams:
        view = source.contract_view(conn, stream, cutoff)
        if view is None:
            continue
        for p in contract_ps:
            for table, rows in p.tables_of(view):
                live = conn.execute(_select(table, "contract = ?"),
                                    (view.reference,)).fetchall()
                yield from _differ(table, live, scratch.rows(table, rows))


def _strays(conn: Conn, streams: set[str],
            contract_ps: Sequence[Projection]) -> Iterator[str]:
    """Rows of contracts that have no events (up to the position compared)."""
    for p in contract_ps:
        for table in p.tables:
            stray = sorted(c for c in {str(r[0]) for r in conn.execute(
                f"SELECT DISTINCT contract FROM {table.name}")}
                if codec.stream_id_of(c).hex not in streams)
            for contract in stray:
                live = conn.execute(_select(table, "contract = ?"), (contract,)).fetchall()
                yield from _differ(table, live, [])


def _events(conn: Conn, position: int, event_ps: Sequence[Projection],
            scratch: _Scratch) -> Iterator[str]:
    last = 0
    for events in source.scan(conn, 0, position, _BATCH):
        first, last = last, events[-1][0]
        for p in event_ps:
            assert p.event_rows is not None
            table = p.tables[0]
            live = conn.execute(_select(table, "position > ? AND position <= ?"),
                                (first, last)).fetchall()
            yield from _differ(table, live, scratch.rows(table, p.event_rows(events)))
    for p in event_ps:  # rows beyond the last event
        table = p.tables[0]
        yield from _differ(table, conn.execute(_select(table, "position > ?"),
                                               (last,)).fetchall(), [])


# -- contract shares compared by worker processes -----------------------------------------

def _shares(conn: Conn, todo: list[tuple[str, int, int]], position: int,
            count: int | None) -> list[tuple[str, list[str]]]:
    """(database file, streams) for each worker, as a replay shares the contracts out
    (consecutive runs of about equal events); none for a small or non-file ledger."""
    if not isinstance(conn, sqlite3.Connection) or not processes.available():
        return []
    path = sqldb.database_file(conn)
    count = parallel.workers_for(position) if count is None else count
    if path is None or count < 1:
        return []
    return [(path, [stream for stream, _first, _events in share])
            for share in parallel.shares(todo, count) if share]


class _Job(msgspec.Struct, array_like=True):
    path: str
    tracked: dict[str, int]
    projections: list[str]
    streams: list[str]
    limit: int


class _Result(msgspec.Struct, array_like=True):
    moved: bool
    found: list[str]


def _start(path: str, tracked: dict[str, int], names: list[str], streams: list[str],
           limit: int) -> subprocess.Popen[bytes]:
    return processes.start("from outcomeledger.projections import compare; compare.work()",
                         msgspec.json.encode(_Job(path, tracked, names, streams, limit)))


def _collect(proc: subprocess.Popen[bytes]) -> list[str] | None:
    """A worker's differences; None when it found the positions moved (or failed)."""
    assert proc.stdout is not None
    with proc.stdout:
        out = proc.stdout.read()
    if proc.wait() != 0:
        return None
    result = msgspec.json.decode(out, type=_Result)
    return None if result.moved else result.found


def work() -> None:
    """A worker of :func:`differences`, its job as JSON on standard input."""
    job = msgspec.json.decode(sys.stdin.buffer.read(), type=_Job)
    projections = [p for p in PROJECTIONS if p.name in job.projections]
    contract_ps = [p for p in projections if p.scope == "contract"]
    with closing(sqlite3.connect(f"file:{quote(job.path)}?mode=ro", uri=True,
                                 isolation_level=None)) as conn, snapshot(conn):
        if positions(conn, projections) != job.tracked:
            result = _Result(True, [])
        else:
            position = min(job.tracked.values())
            with closing(_Scratch(projections)) as scratch:
                result = _Result(False, list(itertools.islice(_contracts(
                    conn, job.streams, position, contract_ps, scratch), job.limit)))
    sys.stdout.buffer.write(msgspec.json.encode(result))
