"""The stored read models against a replay of the events they track, piece by piece.

``audit verify`` must recompute every projection and compare it with the stored tables,
on ledgers of millions of events. A whole replay held in memory grows with the ledger
(hundreds of MB at 100,000 events), so the comparison goes one contract at a time (its
rows in every contract table) and one batch of positions at a time (the audit trail):
each piece is replayed into a scratch in-memory database through the same code that
writes the live tables, read back in key order beside the live rows of the same piece,
and forgotten. Memory stays flat whatever the ledger's size; the differences found are
exactly those of a full replay compared with the full tables.

This module runs the comparison and compares the tracking positions, the rows of
contracts with no events and the audit trail; the contracts themselves are compared in
:mod:`.contract_compare`, in this process or in workers (:mod:`.compare_workers`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field

import msgspec

from ..domain import codec
from ..domain.contract.validity import Violation
from ..storage.sqldb import Conn
from . import compare_workers, source, sql
from .base import Projection, RawEvent, Row, Table
from .contract_compare import ContractFindings
from .registry import PROJECTIONS
from .row_diff import Scratch, differ, select

#: Events of the audit trail compared at a time.
_BATCH = 20_000


class _Tracking(Row, frozen=True):
    projection: str
    position: int


_TRACKING = Table("tracking", _Tracking, ("projection",))


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
    contract_ps, event_ps = _by_scope(projections) if tracked is not None else ([], [])
    position = min(tracked[p.name] for p in projections) if tracked is not None else 0
    found = (list(itertools.islice(_tracking(tracked, projections, position), limit))
             if tracked is not None else [])
    todo = source.streams(conn, max(position, upto))
    busy = bool(contract_ps) or rules
    shares = compare_workers.shares(conn, todo, max(position, upto), workers) if busy else []
    procs = [compare_workers.start(path, tracked, [p.name for p in projections], share,
                                   limit, upto, rules) for path, share in shares]
    try:
        with closing(Scratch(projections)) as scratch:
            def here(share: list[str]) -> ContractFindings:
                part = ContractFindings(limit)
                part.run(conn, share, position, upto, contract_ps, scratch, rules)
                return part

            # With workers busy on the contracts, this process compares the audit trail.
            events = _audit_trail(conn, position, event_ps, scratch, limit) if procs else None
            whole = (here([stream for stream, _first, _count in todo])
                     if busy and not procs else ContractFindings(limit))
            for proc, (_path, share) in zip(procs, shares, strict=True):
                done = compare_workers.collect(proc)  # None: moved or failed, so done here
                whole.join(here(share) if done is None else done)
            found += whole.differences[:limit]
            found += itertools.islice(_strays(conn, todo, position, contract_ps), limit)
            if events is None and len(found) < limit:
                events = _audit_trail(conn, position, event_ps, scratch, limit)
            found += events or []
    finally:
        compare_workers.stop(procs)
    whole.cut()
    return Verified(found[:limit], whole.violations, whole.count, whole.checked)


def _by_scope(projections: Sequence[Projection]) -> tuple[list[Projection], list[Projection]]:
    """The projections compared contract by contract, and those compared batch by batch."""
    return ([p for p in projections if p.scope == "contract"],
            [p for p in projections if p.scope == "event"])


def _tracking(tracked: dict[str, int], projections: Sequence[Projection],
              position: int) -> Iterator[str]:
    for p in projections:  # a replay is tracked at the position it replayed to
        if tracked[p.name] != position:
            yield from differ(_TRACKING, [(p.tracking_name, tracked[p.name])],
                              [(p.tracking_name, position)])


def _strays(conn: Conn, todo: Sequence[tuple[str, int, int]], position: int,
            contract_ps: Sequence[Projection]) -> Iterator[str]:
    """Rows of contracts that have no events (up to the position compared)."""
    streams = {stream for stream, first, _count in todo if first <= position}
    for p in contract_ps:
        for table in p.tables:
            stray = sorted(c for c in {str(r[0]) for r in conn.execute(
                f"SELECT DISTINCT contract FROM {table.name}")}
                if codec.stream_id_of(c).hex not in streams)
            for contract in stray:
                live = conn.execute(select(table, "contract = ?"), (contract,)).fetchall()
                yield from differ(table, live, [])


def _audit_trail(conn: Conn, position: int, event_ps: Sequence[Projection],
                 scratch: Scratch, limit: int) -> list[str]:
    """The first ``limit`` differences in the event read models."""
    return list(itertools.islice(_events(conn, position, event_ps, scratch), limit))


def _events(conn: Conn, position: int, event_ps: Sequence[Projection],
            scratch: Scratch) -> Iterator[str]:
    last = 0
    bad: list[tuple[int, str]] = []  # (position, why) of events no row can be made of
    for events in source.scan(conn, 0, position, _BATCH):
        first, last = last, events[-1][0]
        for p in event_ps:
            assert p.event_rows is not None
            table = p.tables[0]
            live = conn.execute(select(table, "position > ? AND position <= ?"),
                                (first, last)).fetchall()
            replayed = _event_rows(p, events, bad)
            if not sql.same_rows(live, replayed):
                yield from differ(table, live, scratch.rows(table, replayed))
        for at, why in bad:
            yield f"{p.name if event_ps else 'events'}: the event at position {at} " \
                  f"cannot be replayed ({why})"
        bad.clear()
    for p in event_ps:  # rows beyond the last event
        table = p.tables[0]
        yield from differ(table, conn.execute(select(table, "position > ?"),
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
