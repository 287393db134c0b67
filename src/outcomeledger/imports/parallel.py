"""A large returns import read and decided by worker processes.

Reading and deciding returns is CPU work, and each contract's returns are decided
against that contract's stream alone. So each file is cut into byte ranges at row
boundaries (``ranges``), one per worker (a fresh interpreter running
:func:`.parallel_worker.work`). Worker *k* reads range *k* of every file into returns,
hands the returns of the other workers' contracts to them (by a hash of the reference:
all of a contract's returns meet in one worker), takes theirs, decides its contracts
against the ledger exactly as a one-process import does, and streams the encoded events
to a spill file, announcing each contract once its events are there. This process
appends them in one transaction as they are announced, contracts in the order a
one-process import appends them: the same events at the same positions, so a ledger
never depends on the number of cores it was imported on
(tests/imports/test_import_parallel.py).

Any problem anywhere, or a warning made while reading (a repeated row, which names the
first line it repeats, wherever that is), and this returns None, having written
nothing: the caller imports in one process, which reports every problem and warning of
every file in order, worded by the whole file. A refused import is not the one to make
fast. The same when a file changed while it was read. Warnings made while deciding (a
ladder rung outnumbering the one below) concern one return each, decided by one worker,
and are kept.
"""

from __future__ import annotations

import os
import pickle  # between this package's own processes only
import selectors
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ..domain.commands import Meta
from ..domain.errors import ConcurrencyExhausted
from ..storage import workers as processes
from ..storage.location import StoreError
from ..storage.store import MAX_ATTEMPTS, Ledger
from .batch import ImportReceipt
from .parallel_worker import COUNT, MESSAGE, PROGRESS, RECORD, SPILLED, Job, Result
from .ranges import cut
from .rows import detect_format
from .sources import Input, OnRead

#: Imports of fewer bytes are read and decided in one process (starting workers and
#: handing returns between them costs a few tenths of a second).
PARALLEL_FROM_BYTES = 4 << 20


def workers_for(size: int) -> int:
    """Worker processes for an import of ``size`` bytes (0: one process)."""
    return processes.wanted("OUTCOMELEDGER_IMPORT_WORKERS", size, PARALLEL_FROM_BYTES)


class _Refused(Exception):
    """A worker has something to report, or a file changed while it was read: the import
    is to be made in one process (anything appended meanwhile is rolled back)."""


def run(ledger: Ledger, inputs: list[Input], meta: Meta, *, input_format: str | None,
        restate: bool, reason: str, dry_run: bool) -> list[ImportReceipt] | None:
    """Import ``inputs`` with worker processes, or None: too small, not possible here
    (standard input, a JSON array, a ledger not in a SQLite file), a problem or warning
    to report, or a file that changed while it was read. Nothing is written then."""
    path = ledger.location.path
    paths = [i.path for i in inputs]
    if (ledger.location.kind != "sqlite" or not ledger.has_projections or path is None
            or not processes.available() or not inputs or None in paths):
        return None
    count = workers_for(sum(i.size or 0 for i in inputs))
    if count < 1:
        return None
    names = [p or "" for p in paths]
    formats = [detect_format(name, input_format) for name in names]
    on_read = inputs[0].on_read
    for attempt in range(1, MAX_ATTEMPTS + 1):
        before = [_stat(name) for name in names]
        cuts = [cut(name, fmt, count) for name, fmt in zip(names, formats, strict=True)]
        if None in cuts:
            return None
        with tempfile.TemporaryDirectory(prefix="outcomeledger-import-") as tmp:
            jobs = [Job(str(path), names, formats, [c for c in cuts if c is not None],
                        restate, reason, meta, k, count, tmp,
                        None if dry_run else str(Path(tmp) / f"{k}.events"))
                    for k in range(count)]
            with _Workers(jobs, Path(tmp), on_read if attempt == 1 else None,
                          partial(_unchanged, names, before)) as workers:
                try:
                    if dry_run:
                        workers.wait()
                        appended: int | None = 0
                    else:
                        appended = ledger.append_streamed(workers.events())
                except _Refused:
                    return None  # (nothing was committed: see _Workers.events)
                if appended is not None:
                    if not dry_run:  # (also when nothing was new: see execute_batch)
                        ledger.after_write()
                    return _merge(workers.receipts())
        time.sleep(min(0.005 * attempt, 0.1))  # another writer came first: decide again
    raise ConcurrencyExhausted(f"gave up after {MAX_ATTEMPTS} concurrent-write conflicts; "
                               "nothing was written")


def _stat(path: str) -> tuple[int, int]:
    st = Path(path).stat()
    return st.st_size, st.st_mtime_ns


def _unchanged(names: list[str], before: list[tuple[int, int]]) -> bool:
    return [_stat(name) for name in names] == before


class _Workers:
    """The worker processes of one attempt, and what they have said so far."""

    def __init__(self, jobs: list[Job], tmp: Path, on_read: OnRead | None,
                 unchanged: Callable[[], bool]) -> None:
        self.jobs = jobs
        self.tmp = tmp
        self.on_read = on_read
        self.unchanged = unchanged  # whether the files are still as they were cut
        self.procs: list[subprocess.Popen[bytes]] = []
        self.selector = selectors.DefaultSelector()
        try:
            for job in jobs:
                with (tmp / f"{job.index}.err").open("wb") as err:
                    self.procs.append(processes.start(
                        "from outcomeledger.imports.parallel_worker import work; work()",
                        pickle.dumps(job), stderr=err.fileno()))
        except BaseException:
            self.__exit__()  # the workers started so far are not needed
            raise
        self.buffers = [b""] * len(jobs)
        self.runs: list[deque[tuple[str, int]]] = [deque() for _ in jobs]
        self.results: list[Result | None] = [None] * len(jobs)
        for k, proc in enumerate(self.procs):
            assert proc.stdout is not None
            self.selector.register(proc.stdout, selectors.EVENT_READ, k)

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.selector.close()
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()  # refused, failed or interrupted: its work is not needed
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

    def wait(self) -> None:
        """Until every worker has its result (_Refused: a worker refused, or a file
        changed while it was read)."""
        while any(r is None for r in self.results):
            self._pump()
        if not self.unchanged():
            raise _Refused

    def receipts(self) -> list[list[ImportReceipt]]:
        return [r.receipts or [] for r in self.results if r is not None]

    def events(self) -> Iterator[StoredEvent]:
        """Every worker's events, contracts in order, as soon as each can be placed: a
        contract's events are next once every worker still deciding has announced a
        contract after it (each decides its contracts in order). Raises _Refused instead
        of ending if a worker refused or a file changed while it was read, so that the
        transaction appending the events rolls back instead of committing."""
        files = [Path(job.spill or "") for job in self.jobs]
        spills: list[BinaryIO | None] = [None] * len(files)
        try:
            while True:
                while any(not runs and result is None
                          for runs, result in zip(self.runs, self.results, strict=True)):
                    self._pump()
                ready = [(runs[0][0], k) for k, runs in enumerate(self.runs) if runs]
                if not ready:
                    self.wait()  # every result in (or _Refused), the files as they were
                    return
                _, k = min(ready)
                _, n = self.runs[k].popleft()
                spill = spills[k]
                if spill is None:
                    spill = spills[k] = files[k].open("rb")
                for _ in range(n):
                    yield _read(spill)
        finally:
            for spill in spills:
                if spill is not None:
                    spill.close()

    def _pump(self) -> None:
        """Read what the workers have said: progress, contracts spilled, results."""
        for key, _ in self.selector.select():
            k: int = key.data
            chunk = os.read(key.fd, 1 << 16)
            if not chunk:
                self.selector.unregister(key.fileobj)
                if self.results[k] is None:
                    self._failed(k)
                continue
            buffer = self.buffers[k] + chunk
            while len(buffer) >= MESSAGE.size:
                kind, number = MESSAGE.unpack_from(buffer)
                if kind == PROGRESS:
                    if self.on_read is not None:
                        self.on_read(number)
                    buffer = buffer[MESSAGE.size:]
                    continue
                end = MESSAGE.size + number
                if len(buffer) < end:
                    break
                payload, buffer = buffer[MESSAGE.size:end], buffer[end:]
                if kind == SPILLED:
                    (events,) = COUNT.unpack_from(payload)
                    self.runs[k].append((payload[COUNT.size:].decode(), events))
                    continue
                result: Result = pickle.loads(payload)  # noqa: S301 (our own worker's)
                if result.receipts is None:
                    raise _Refused
                self.results[k] = result
            self.buffers[k] = buffer

    def _failed(self, k: int) -> None:
        proc = self.procs[k]
        proc.wait()
        said = (self.tmp / f"{k}.err").read_text(errors="replace").strip()
        raise StoreError(f"an import worker failed (exit {proc.returncode}: "
                         f"{said.splitlines()[-1] if said else 'no message'}); "
                         "nothing was written")


def _merge(shares: list[list[ImportReceipt]]) -> list[ImportReceipt]:
    """Each file's receipt over the shares (the same files, a share of rows each)."""
    merged = []
    for parts in zip(*shares, strict=True):
        first = parts[0]
        assert all(p.file == first.file and p.sha256 == first.sha256 for p in parts)
        counts = {name: sum(getattr(p, name) for p in parts)
                  for name in ("rows", "added", "unchanged", "restated", "refused", "late",
                               "returns", "events")}
        # A line's rows are one contract's, so its warnings all come from one worker, in
        # the order a one-process import gives them; only the workers' lines interleave.
        warnings = sorted((w for p in parts for w in p.warnings), key=lambda n: n.line or 0)
        late_returns = tuple(sorted(r for p in parts for r in p.late_returns))
        merged.append(replace(first, warnings=tuple(warnings), late_returns=late_returns,
                              **counts))
    return merged


def _read(f: BinaryIO) -> StoredEvent:
    stream, version, topic_len, state_len = RECORD.unpack(f.read(RECORD.size))
    topic = f.read(topic_len).decode()
    return StoredEvent(originator_id=UUID(bytes=stream), originator_version=version,
                       topic=topic, state=f.read(state_len))


