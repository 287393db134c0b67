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
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote
from uuid import UUID

import msgspec

from ..domain import codec
from ..domain.contract.state import fold_events
from ..domain.contract.validity import StreamRules, Violation
from ..domain.events import AnyEvent
from ..storage import sqldb
from ..storage import workers as processes
from ..storage.sqldb import Conn
from . import parallel, source, sql
from .base import ContractView, Projection, RawEvent, Row, Table
from .projector import ensure, positions
from .registry import PROJECTIONS
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


@dataclass
class Verified:
    """What :func:`verify` found."""

    differences: list[str] = field(default_factory=list)
    #: The first ``limit`` rule violations in position order, and how many there are.
    violations: list[Violation] = field(default_factory=list)
    violation_count: int = 0
    checked: int = 0  # events judged by the rules


def differences(conn: Conn, tracked: dict[str, int],
                projections: Sequence[Projection] = PROJECTIONS, limit: int = 20,
                workers: int | None = None) -> list[str]:
    """The first ``limit`` differences between the live tables and a replay of the events
    they track (:func:`verify` without the rules)."""
    position = min(tracked[p.name] for p in projections)
    return verify(conn, tracked, position, projections, rules=False, limit=limit,
                  workers=workers).differences


def verify(conn: Conn, tracked: dict[str, int] | None, upto: int,
           projections: Sequence[Projection] = PROJECTIONS, *, rules: bool = True,
           limit: int = 20, workers: int | None = None) -> Verified:
    """Every contract's events up to ``upto`` judged by the rules (:mod:`..rules`), and the
    first ``limit`` differences between the live tables (read in the caller's snapshot,
    with the ``tracked`` positions read in it; None: not compared) and a replay of the
    events up to the earliest of those positions, in this order: the tracking positions,
    then contract by contract (in the order the contracts began), rows of contracts with
    no events, then the event read models batch by batch. Each difference is a row one
    side has and the other lacks, as ``dump`` prints rows.

    Each contract's stream is read and decoded once for both: its events are judged and
    folded, and its read models replayed from the same events. On a large SQLite file the
    contracts are shared out to worker processes (as a replay builds them, see
    :mod:`.parallel`) while this process compares the audit trail; a worker that finds the
    tracked positions moved (a projector committed meanwhile) hands its share back to be
    done here, in the caller's snapshot.
    """
    compared = tracked is not None
    contract_ps = [p for p in projections if p.scope == "contract"] if compared else []
    event_ps = [p for p in projections if p.scope == "event"] if compared else []
    position = min(tracked[p.name] for p in projections) if tracked is not None else 0
    found = (list(itertools.islice(_tracking(tracked, projections, position), limit))
             if tracked is not None else [])
    todo = source.streams(conn, max(position, upto))
    streams = [stream for stream, _first, _count in todo]
    busy = bool(contract_ps) or rules
    shares = _shares(conn, todo, max(position, upto), workers) if busy else []
    procs = [_start(path, tracked, [p.name for p in projections], share, limit, upto, rules)
             for path, share in shares]
    whole = _Part(limit)
    try:
        with closing(_Scratch(projections)) as scratch:
            def here(share: list[str]) -> _Part:
                part = _Part(limit)
                part.run(conn, share, position, upto, contract_ps, scratch, rules)
                return part

            # With workers busy on the contracts, this process compares the audit trail.
            events = (list(itertools.islice(_events(conn, position, event_ps, scratch), limit))
                      if procs else None)
            if not procs and busy:
                whole = here(streams)
            for proc, (_path, share) in zip(procs, shares, strict=True):
                done = _collect(proc)  # None: moved or failed, so done here instead
                whole.join(here(share) if done is None else done)
            found += whole.differences[:limit]
            found += itertools.islice(_strays(conn, {s for s, first, _ in todo
                                                     if first <= position}, contract_ps),
                                      limit)
            if events is None and len(found) < limit:
                events = list(itertools.islice(_events(conn, position, event_ps, scratch),
                                               limit))
            found += events or []
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    whole.cut()
    return Verified(found[:limit], whole.violations, whole.count, whole.checked)


class _Part:
    """What one process found in its share of the contracts."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.differences: list[str] = []  # the first ``limit``, in stream order
        self.violations: list[Violation] = []  # the first ``limit`` by position (cut)
        self.count = 0
        self.checked = 0

    def run(self, conn: Conn, streams: Sequence[str], position: int, upto: int,
            contract_ps: Sequence[Projection], scratch: _Scratch, rules: bool) -> None:
        for stream in streams:
            self._contract(conn, stream, position, upto, contract_ps, scratch, rules)
        self.cut()

    def _contract(self, conn: Conn, stream: str, position: int, upto: int,
                  contract_ps: Sequence[Projection], scratch: _Scratch, rules: bool) -> None:
        checker = StreamRules(rules=rules)
        events: list[AnyEvent] = []
        positions: list[int] = []
        last = b""
        broken: int | None = None  # the first position up to ``position`` not decoded
        for at, version, topic, data in source.stream_rows(conn, stream,
                                                           max(position, upto)):
            event = checker.add(at, version, topic, data)
            if at <= position and broken is None:
                if event is None:
                    broken = at
                else:
                    events.append(event)
                    positions.append(at)
                    last = data
        self.violations += checker.violations
        self.count += len(checker.violations)
        self.checked += checker.checked
        if len(self.violations) > 4 * self.limit:
            self.cut()
        if not contract_ps or len(self.differences) >= self.limit:
            return
        reference = events[0].contract if events else _uuid_text(stream)
        if broken is not None:
            self.differences.append(f"contract {reference}: read models not compared: "
                                    f"its event at position {broken} does not decode")
            return
        if not events:
            return
        try:
            state = checker.state
            if state is not None and rules and state.version == len(events):
                # The rules folded exactly these events: their state is the fold's
                # (tests/projections/test_projection_property.py), but for the head hash.
                state = replace(state, head_hash=codec.event_hash(last))
            else:
                state = fold_events(reference, events, codec.event_hash(last))
            view = ContractView(state, tuple(events), tuple(positions))
            for p in contract_ps:
                for table, rows in p.tables_of(view):
                    live = conn.execute(_select(table, "contract = ?"),
                                        (view.reference,)).fetchall()
                    self.differences += _differ(table, live, scratch.rows(table, rows))
        except Exception as e:  # stored data must never crash the verifier
            self.differences.append(f"contract {reference}: read models cannot be "
                                    f"recomputed ({type(e).__name__}: {e})")
        del self.differences[self.limit:]

    def cut(self) -> None:
        self.violations.sort(key=lambda v: (v.position, v.rule))
        del self.violations[self.limit:]

    def join(self, other: _Part) -> None:
        self.differences = (self.differences + other.differences)[:self.limit]
        self.violations += other.violations
        self.count += other.count
        self.checked += other.checked
        self.cut()


def _uuid_text(stream: str) -> str:
    try:
        return f"stream {UUID(stream)}"
    except ValueError:
        return f"stream {stream}"


def _tracking(tracked: dict[str, int], projections: Sequence[Projection],
              position: int) -> Iterator[str]:
    for p in projections:  # a replay is tracked at the position it replayed to
        if tracked[p.name] != position:
            yield from _differ(_TRACKING, [(p.tracking_name, tracked[p.name])],
                               [(p.tracking_name, position)])


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
    bad: list[tuple[int, str]] = []  # (position, why) of events no row can be made of
    for events in source.scan(conn, 0, position, _BATCH):
        first, last = last, events[-1][0]
        for p in event_ps:
            assert p.event_rows is not None
            table = p.tables[0]
            live = conn.execute(_select(table, "position > ? AND position <= ?"),
                                (first, last)).fetchall()
            yield from _differ(table, live, scratch.rows(table, _event_rows(p, events,
                                                                            bad)))
        for at, why in bad:
            yield f"{p.name if event_ps else 'events'}: the event at position {at} " \
                  f"cannot be replayed ({why})"
        bad.clear()
    for p in event_ps:  # rows beyond the last event
        table = p.tables[0]
        yield from _differ(table, conn.execute(_select(table, "position > ?"),
                                               (last,)).fetchall(), [])


_UNREADABLE = (codec.DecodeError, msgspec.MsgspecError, UnicodeDecodeError)


def _event_rows(p: Projection, events: Sequence[RawEvent],
                bad: list[tuple[int, str]]) -> Sequence[Row]:
    """``p``'s rows of ``events``, leaving out (into ``bad``) any event that cannot be
    read: a verifier reports what it exists to find, it does not stop at it."""
    assert p.event_rows is not None
    try:
        return p.event_rows(events)
    except _UNREADABLE:
        rows: list[Row] = []
        for event in events:
            try:
                rows += p.event_rows([event])
            except _UNREADABLE as e:
                bad.append((event[0], str(e)))
        return rows


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
    tracked: dict[str, int] | None  # None: rules only, no read models compared
    projections: list[str]
    streams: list[str]
    limit: int
    upto: int
    rules: bool


class _Result(msgspec.Struct, array_like=True):
    moved: bool
    found: list[str]
    violations: list[tuple[int, str, int, str, str]]
    count: int
    checked: int


def _start(path: str, tracked: dict[str, int] | None, names: list[str], streams: list[str],
           limit: int, upto: int, rules: bool) -> subprocess.Popen[bytes]:
    return processes.start("from outcomeledger.projections import compare; compare.work()",
                           msgspec.json.encode(_Job(path, tracked, names, streams, limit,
                                                    upto, rules)))


def _collect(proc: subprocess.Popen[bytes]) -> _Part | None:
    """A worker's findings; None when it found the positions moved (or failed)."""
    assert proc.stdout is not None
    with proc.stdout:
        out = proc.stdout.read()
    if proc.wait() != 0:
        return None
    result = msgspec.json.decode(out, type=_Result)
    if result.moved:
        return None
    part = _Part(len(result.violations))
    part.differences = result.found
    part.violations = [Violation(*v) for v in result.violations]
    part.count, part.checked = result.count, result.checked
    return part


def work() -> None:
    """A worker of :func:`verify`, its job as JSON on standard input."""
    job = msgspec.json.decode(sys.stdin.buffer.read(), type=_Job)
    projections = [p for p in PROJECTIONS if p.name in job.projections]
    contract_ps = ([p for p in projections if p.scope == "contract"]
                   if job.tracked is not None else [])
    with closing(sqlite3.connect(f"file:{quote(job.path)}?mode=ro", uri=True,
                                 isolation_level=None)) as conn, snapshot(conn):
        if job.tracked is not None and positions(conn, projections) != job.tracked:
            result = _Result(True, [], [], 0, 0)
        else:
            position = min(job.tracked.values()) if job.tracked is not None else 0
            part = _Part(job.limit)
            with closing(_Scratch(projections)) as scratch:
                part.run(conn, job.streams, position, job.upto, contract_ps, scratch,
                         job.rules)
            result = _Result(False, part.differences,
                             [(v.position, v.contract, v.version, v.type, v.rule)
                              for v in part.violations], part.count, part.checked)
    sys.stdout.buffer.write(msgspec.json.encode(result))
