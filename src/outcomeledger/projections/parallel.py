"""A rebuild of a ledger's read models on every core of the machine.

A rebuild is CPU work (decode, fold, compute, format) and database work (insert), and
the two can overlap: each contract's read models are a function of its stream alone, and
SQLite lets one process write while others compute (PostgreSQL lets each write at once,
with ``COPY``, into the fresh tables the rebuild committed before starting it). So the
contracts are split into consecutive shares of about equal events, each built by a
worker process (a fresh interpreter running :func:`work`): every contract read model of
its contracts, and the rows the event read models (the audit trail) make of their
events, from the same stream rows it read and decoded once. This process meanwhile makes
the event read models' rows of the events no contract stream holds (a programme's, the
actor registry's). Everyone computes a batch of rows first, then inserts it in a
transaction of its own (on SQLite ``BEGIN IMMEDIATE``, which queues the writers: the lock
is held for the inserts alone and the cores are busy computing the rest of the time).

The fresh tables are the same ``<table>__new`` tables a one-process rebuild fills, with
the same rows (a table's content does not depend on the order rows arrive in), swapped
in by :func:`outcomeledger.projections.projector.rebuild` as before. A worker that fails
fails the rebuild before the swap: the live tables are never touched.
"""

from __future__ import annotations

import gc
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import closing
from operator import attrgetter

import msgspec

from ..storage import sqldb
from ..storage import workers as processes
from ..storage.sqldb import Conn
from . import bulk, source, sql
from .base import Projection, Row, Table
from .registry import PROJECTIONS

#: Ledgers with fewer events are rebuilt by one process (starting workers costs ~0.5 s).
PARALLEL_FROM = 100_000
#: Rows computed before the write lock is taken to insert them (bounds each process's
#: memory at a few tens of MB, and the time others wait for the lock at a fraction of
#: a second).
WRITE_ROWS = 40_000

Progress = Callable[[int], None]


def workers_for(events: int) -> int:
    """Contract workers for a ledger of ``events`` (0: rebuild in one process)."""
    return processes.wanted("OUTCOMELEDGER_REPLAY_WORKERS", events, PARALLEL_FROM)


def rebuild_tables(conn: Conn, upto: int, suffix: str,
                   projections: Sequence[Projection] = PROJECTIONS,
                   progress: Progress | None = None, workers: int | None = None) -> bool:
    """Fill the empty tables ``<name><suffix>`` with every projection of the events up to
    ``upto``, contracts in worker processes. False (nothing done) when this ledger is
    better rebuilt by one process: in memory, small, or projections not the registry's.
    """
    count = workers_for(upto) if workers is None else workers
    where = target(conn)
    names = [p.name for p in projections]
    if (count < 1 or where is None or not processes.available()
            or any(p not in PROJECTIONS for p in projections)):
        return False
    todo = source.streams(conn, upto)
    procs = [_start(where, suffix, upto, names, share)
             for share in shares(todo, count) if share]
    try:
        _build_others(conn, upto, suffix, projections, progress)
        for proc, share in procs:
            assert proc.stderr is not None
            with proc.stderr:
                err = proc.stderr.read()
            if proc.wait() != 0:
                raise RuntimeError(f"a replay worker failed (exit {proc.returncode}): "
                                   f"{err.decode(errors='replace').strip()[-2000:]}")
            if progress is not None:
                # Twice: its contracts' read models and its events' event read models.
                progress(2 * sum(events for _stream, _first, events in share))
    finally:
        for proc, _share in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()
    return True


def shares(todo: list[tuple[str, int, int]], count: int) -> list[list[tuple[str, int, int]]]:
    """Consecutive runs of ``todo`` with about equal events each."""
    total = sum(events for _stream, _first, events in todo)
    shares: list[list[tuple[str, int, int]]] = [[] for _ in range(count)]
    done = 0
    for item in todo:
        shares[min(count - 1, done * count // max(total, 1))].append(item)
        done += item[2]
    return shares


#: Where the workers connect: a SQLite file's path, or a PostgreSQL server's connection
#: parameters (psycopg's keywords, the password among them: the job goes to the worker
#: on its standard input, never on a command line).
Target = str | dict[str, str]
_Job = tuple[Target, str, int, list[str], list[str]]  # target, suffix, upto, names, streams
_job_decoder = msgspec.json.Decoder(_Job)


def target(conn: Conn) -> Target | None:
    """Where workers reach ``conn``'s database (None: they cannot, it is in memory)."""
    if isinstance(conn, sqlite3.Connection):
        return sqldb.database_file(conn)
    info = conn.raw.info
    params = dict(info.get_parameters())  # (all but the password, which psycopg keeps apart)
    if info.password:
        params["password"] = info.password
    return params


def _start(target: Target, suffix: str, upto: int, names: list[str],
           share: list[tuple[str, int, int]]) -> tuple[subprocess.Popen[bytes],
                                                       list[tuple[str, int, int]]]:
    proc = processes.start("from outcomeledger.projections import parallel; parallel.work()",
                         msgspec.json.encode((target, suffix, upto, names,
                                              [s for s, _, _ in share])),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, share


def connect_pg(params: dict[str, str]) -> sqldb.PgConnection:
    """A worker's own connection to the PostgreSQL server of :func:`target`."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    return sqldb.PgConnection(psycopg.connect(make_conninfo("", **params), autocommit=True))


class _Pending:
    """Rows computed and not yet written, per table; written under the write lock."""

    def __init__(self, conn: Conn | bulk.Writer, suffix: str) -> None:
        self.conn = conn
        self.suffix = suffix
        self.rows: dict[Table, list[Row]] = {}
        self.count = 0

    def add(self, table: Table, rows: Sequence[Row]) -> None:
        if rows:
            self.rows.setdefault(table, []).extend(rows)
            self.count += len(rows)

    def flush(self) -> None:
        if not self.count:
            return
        # SQLite: the write lock taken at once (the other writers queue for it). Not
        # sql.begin: on PostgreSQL the workers COPY into tables of the rebuild's own at
        # the same time, without the projection writers' lock that would queue them.
        conn = self.conn
        conn.execute("BEGIN" if isinstance(conn, sqldb.PgConnection) else "BEGIN IMMEDIATE")
        try:
            for table, rows in self.rows.items():
                if table.key[0] == "position":
                    # An event read model's rows, gathered stream by stream: in key order
                    # they fill the table's pages in turn rather than here and there.
                    rows.sort(key=attrgetter(*table.key))
                if isinstance(conn, bulk.Writer):
                    conn.write(table, table.name + self.suffix, rows)
                else:
                    sql.write(conn, table, table.name + self.suffix, rows)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        self.rows.clear()
        self.count = 0


def _build_others(conn: Conn, upto: int, suffix: str,
                  projections: Sequence[Projection], progress: Progress | None) -> None:
    """The event read models' rows of the events no contract stream holds (see
    :func:`source.others`), in this process; the workers make those of the rest."""
    event_ps = [p for p in projections if p.scope == "event"]
    if not event_ps:
        return
    pending = _Pending(conn, suffix)
    for events in source.others(conn, upto):
        for p in event_ps:
            assert p.event_rows is not None
            pending.add(p.tables[0], p.event_rows(events))
        if pending.count >= WRITE_ROWS:
            pending.flush()
        if progress is not None:
            progress(2 * len(events))
    pending.flush()


def _build_contracts(job: _Job) -> None:
    """A worker's share: every read model of each of its contracts, and the event read
    models' rows of their events, each stream read and decoded once."""
    target, suffix, upto, names, streams = job
    chosen = [p for p in PROJECTIONS if p.name in names]
    contract_ps = [p for p in chosen if p.scope == "contract"]
    event_ps = [p for p in chosen if p.scope == "event"]
    # On SQLite the streams are read and the rows written through a connection of the
    # workers' own (.bulk).
    with closing(bulk.Writer(target) if isinstance(target, str)
                 else connect_pg(target)) as conn:
        pending = _Pending(conn, suffix)
        for stream in streams:
            # Read up to ``upto`` already: the fold needs no cutoff of its own.
            rows = (conn.stream_rows(stream, upto) if isinstance(conn, bulk.Writer)
                    else source.stream_rows(conn, stream, upto))
            view = source.fold(rows)
            if view is not None:
                for p in contract_ps:
                    for table, table_rows in p.tables_of(view):
                        pending.add(table, table_rows)
            if event_ps:
                events = [(position, stream, version, topic, state)
                          for position, version, topic, state in rows]
                for p in event_ps:
                    assert p.event_rows is not None
                    pending.add(p.tables[0], p.event_rows(events))
            if pending.count >= WRITE_ROWS:
                pending.flush()
        pending.flush()


def work() -> None:
    """A worker of :func:`rebuild_tables`, its job as JSON on standard input."""
    # No cyclic garbage collection: a worker's objects are freed by reference counting
    # as it moves from one contract to the next, and the collector's passes over the
    # millions of rows it allocates cost a few per cent of its time for nothing (the
    # worker's peak memory, measured with and without, is the same).
    gc.disable()
    _build_contracts(_job_decoder.decode(sys.stdin.buffer.read()))
