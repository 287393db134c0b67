"""The contracts of :func:`.compare.verify` shared out to worker processes.

On a large ledger (a SQLite file or a PostgreSQL database) each worker compares its share
of the contracts (as a replay shares them out, see :mod:`.parallel`) in a snapshot of its
own, while the calling process compares the audit trail. A worker that finds the tracked
positions moved (a projector committed meanwhile) hands its share back to be done in the
caller's snapshot.
Apart from :mod:`.compare` because this is the process plumbing: the job and result
formats, starting, collecting and stopping workers, and the worker's entry point.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from contextlib import closing
from urllib.parse import quote

import msgspec

from ..domain.contract.validity import Violation
from ..storage import workers as processes
from ..storage.sqldb import Conn
from . import parallel
from .contract_compare import ContractFindings
from .parallel import Target
from .projector import positions
from .registry import PROJECTIONS
from .row_diff import Scratch
from .sql import snapshot


def shares(conn: Conn, todo: list[tuple[str, int, int]], position: int,
           count: int | None) -> list[tuple[Target, list[str]]]:
    """(where the database is, streams) for each worker, as a replay shares the contracts
    out (consecutive runs of about equal events); none for a small or in-memory ledger."""
    if not processes.available():
        return []
    where = parallel.target(conn)
    count = parallel.workers_for(position) if count is None else count
    if where is None or count < 1:
        return []
    return [(where, [stream for stream, _first, _events in share])
            for share in parallel.shares(todo, count) if share]


class _Job(msgspec.Struct, array_like=True):
    path: Target  # a SQLite file, or a PostgreSQL server's connection parameters
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


def start(path: Target, tracked: dict[str, int] | None, names: list[str], streams: list[str],
          limit: int, upto: int, rules: bool) -> subprocess.Popen[bytes]:
    return processes.start(
        "from outcomeledger.projections import compare_workers; compare_workers.work()",
        msgspec.json.encode(_Job(path, tracked, names, streams, limit, upto, rules)))


def collect(proc: subprocess.Popen[bytes]) -> ContractFindings | None:
    """A worker's findings; None when it found the positions moved (or failed)."""
    assert proc.stdout is not None
    with proc.stdout:
        out = proc.stdout.read()
    if proc.wait() != 0:
        return None
    result = msgspec.json.decode(out, type=_Result)
    if result.moved:
        return None
    part = ContractFindings(len(result.violations))
    part.differences = result.found
    part.violations = [Violation(*v) for v in result.violations]
    part.count, part.checked = result.count, result.checked
    return part


def stop(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    """End any worker still running (its findings no longer wanted)."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def work() -> None:
    """A worker of :func:`.compare.verify`, its job as JSON on standard input."""
    job = msgspec.json.decode(sys.stdin.buffer.read(), type=_Job)
    projections = [p for p in PROJECTIONS if p.name in job.projections]
    contract_ps = ([p for p in projections if p.scope == "contract"]
                   if job.tracked is not None else [])
    # Read only, in a snapshot of its own (on PostgreSQL a REPEATABLE READ transaction):
    # the tracked positions it reads there say whether it sees the caller's tables.
    conn: Conn = (sqlite3.connect(f"file:{quote(job.path)}?mode=ro", uri=True,
                                  isolation_level=None) if isinstance(job.path, str)
                  else parallel.connect_pg(job.path))
    with closing(conn), snapshot(conn):
        if job.tracked is not None and positions(conn, projections) != job.tracked:
            result = _Result(True, [], [], 0, 0)
        else:
            position = min(job.tracked.values()) if job.tracked is not None else 0
            part = ContractFindings(job.limit)
            with closing(Scratch(projections)) as scratch:
                part.run(conn, job.streams, position, job.upto, contract_ps, scratch,
                         job.rules)
            result = _Result(False, part.differences,
                             [(v.position, v.contract, v.version, v.type, v.rule)
                              for v in part.violations], part.count, part.checked)
    sys.stdout.buffer.write(msgspec.json.encode(result))
