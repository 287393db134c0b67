"""A large returns import read and decided by worker processes.

Reading and deciding returns is CPU work, and each contract's returns are decided
against that contract's stream alone. So each file is cut into byte ranges at row
boundaries (``ranges``), one per worker (a fresh interpreter running :func:`work`).
Worker *k* reads range *k* of every file into returns, hands the returns of the other
workers' contracts to them (by a hash of the reference: all of a contract's returns
meet in one worker), takes theirs, decides its contracts against the ledger exactly as
a one-process import does, and streams the encoded events to a spill file, announcing
each contract once its events are there. This process appends them in one transaction
as they are announced, contracts in the order a one-process import appends them: the
same events at the same positions, so a ledger never depends on the number of cores it
was imported on (tests/imports/test_import_parallel.py).

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
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ..domain.commands import Meta
from ..domain.errors import ConcurrencyExhausted, InvalidInput, Problem
from ..domain.events import Source
from ..storage import workers as processes
from ..storage.location import StoreError
from ..storage.store import MAX_ATTEMPTS, Ledger
from .batch import (
    Batch,
    ImportReceipt,
    Parsed,
    conflicts_between_files,
    no_cycle_collection,
    receipts_of,
)
from .ranges import Cut, Range, cut, open_range
from .returns import OPTIONAL, REQUIRED, Return, ReturnKey, ReturnsFile, read_returns
from .rows import Format, detect_format, read_range, read_table
from .sources import Input, OnRead, signature_beside

#: Imports of fewer bytes are read and decided in one process (starting workers and
#: handing returns between them costs a few tenths of a second).
PARALLEL_FROM_BYTES = 4 << 20
#: Progress reports from a worker, at most one per this many bytes read.
PROGRESS_BYTES = 1 << 20
#: How often a worker looks for the returns the others hand it.
_POLL_SECONDS = 0.005

_RECORD = struct.Struct("<16sIHI")  # stream, version, topic length, state length
_MESSAGE = struct.Struct("<cQ")  # kind, then bytes read (progress) or payload length
_PROGRESS, _SPILLED, _RESULT = b"P", b"S", b"R"
_COUNT = struct.Struct("<I")  # a spilled contract's events, before its reference


def workers_for(size: int) -> int:
    """Worker processes for an import of ``size`` bytes (0: one process)."""
    return processes.wanted("OUTCOMELEDGER_IMPORT_WORKERS", size, PARALLEL_FROM_BYTES)


def share_of(reference: str, workers: int) -> int:
    """The worker that decides the contract ``reference``."""
    return zlib.crc32(reference.encode("utf-8", "surrogateescape")) % workers


@dataclass(frozen=True, slots=True)
class Job:
    """What one worker is asked to do."""

    location: str
    paths: list[str]
    formats: list[Format]
    cuts: list[Cut]
    restate: bool
    reason: str
    meta: Meta
    index: int  # this worker's range of every file, and share of the contracts
    workers: int
    exchange: str  # the folder where workers hand each other returns
    spill: str | None  # where its events go (None: a dry run, nothing to append)


@dataclass(frozen=True, slots=True)
class Result:
    """What one worker did: each file's receipt for its share (None: it found something
    to report, a problem or a warning)."""

    receipts: list[ImportReceipt] | None


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
                        "from outcomeledger.imports.parallel import work; work()",
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
            while len(buffer) >= _MESSAGE.size:
                kind, number = _MESSAGE.unpack_from(buffer)
                if kind == _PROGRESS:
                    if self.on_read is not None:
                        self.on_read(number)
                    buffer = buffer[_MESSAGE.size:]
                    continue
                end = _MESSAGE.size + number
                if len(buffer) < end:
                    break
                payload, buffer = buffer[_MESSAGE.size:end], buffer[end:]
                if kind == _SPILLED:
                    (events,) = _COUNT.unpack_from(payload)
                    self.runs[k].append((payload[_COUNT.size:].decode(), events))
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
    stream, version, topic_len, state_len = _RECORD.unpack(f.read(_RECORD.size))
    topic = f.read(topic_len).decode()
    return StoredEvent(originator_id=UUID(bytes=stream), originator_version=version,
                       topic=topic, state=f.read(state_len))


# -- in the worker ----------------------------------------------------------------------

class _Spill:
    """The sink of a worker's plan: events to a file, each contract's announced on
    ``out`` once it is whole (so the caller can append them while this decides on)."""

    def __init__(self, batch: Batch, spill: BinaryIO | None, out: BinaryIO) -> None:
        self.batch = batch
        self.spill = spill
        self.out = out
        self.events: list[int] = [0] * len(batch)
        self.run: tuple[str, int] | None = None  # the contract being spilled, its events

    def __call__(self, stored: StoredEvent, index: int) -> None:
        if self.spill is None:  # a dry run: decided, never appended
            return
        self.events[index] += 1
        reference = self.batch.entries[index][0].contract
        if self.run is not None and self.run[0] != reference:
            self.announce()
        self.run = (reference, 1 if self.run is None else self.run[1] + 1)
        topic = stored.topic.encode()
        stream = stored.originator_id
        assert isinstance(stream, UUID)
        self.spill.write(_RECORD.pack(stream.bytes, stored.originator_version, len(topic),
                                      len(stored.state)))
        self.spill.write(topic)
        self.spill.write(stored.state)

    def announce(self) -> None:
        """The contract spilled so far is whole: its events are on disk, say so."""
        if self.run is None or self.spill is None:
            return
        reference, events = self.run
        self.spill.flush()
        payload = _COUNT.pack(events) + reference.encode()
        self.out.write(_MESSAGE.pack(_SPILLED, len(payload)) + payload)
        self.out.flush()
        self.run = None


def work() -> None:
    """A worker's whole life: its job on standard input, its result on standard output."""
    job: Job = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 (from our own process)
    out = sys.stdout.buffer
    with no_cycle_collection():
        result = _work(job, out)
    data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_MESSAGE.pack(_RESULT, len(data)))
    out.write(data)
    out.flush()


class _Progress:
    """Bytes read, reported to the caller a megabyte at a time, and the rest at the end
    (the caller's progress bar counts every byte of every file)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.pending = 0

    def __call__(self, n: int) -> None:
        self.pending += n
        if self.pending >= PROGRESS_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.out.write(_MESSAGE.pack(_PROGRESS, self.pending))
            self.out.flush()
            self.pending = 0


def _work(job: Job, out: BinaryIO) -> Result:
    progress = _Progress(out)
    files = [_read_range(job, i, progress) for i in range(len(job.paths))]
    progress.flush()
    if any(f is None for f in files):
        _hand_over(job, [[] for _ in files], refused=True)
        return Result(None)
    rows = [f.rows for f in files if f is not None]
    mine = _hand_over(job, [f.returns.values() for f in files if f is not None])
    del files  # the returns handed over are the other workers' to hold now
    parsed = []
    for i, returns in enumerate(_take(job, mine)):
        if returns is None:
            return Result(None)
        name = job.paths[i]
        parsed.append(Parsed(ReturnsFile(name, returns, rows[i]),
                             Source(file=name, sha256=job.cuts[i].sha256,
                                    signature=signature_beside(name))))
    if conflicts_between_files(parsed):
        return Result(None)
    batch = Batch(parsed, restate=job.restate, reason=job.reason)
    with Ledger.open(job.location, projector=None) as ledger, \
            Path(job.spill).open("wb") if job.spill else nullcontext() as spill:
        sink = _Spill(batch, spill, out)
        try:
            plan = ledger.plan(batch, job.meta, keep_events=False, refused=batch.refusal,
                               sink=sink)
        except InvalidInput:
            return Result(None)
        sink.announce()
    # Warnings made while deciding (a ladder rung outnumbering the one below) are the
    # same here as in one process: each is about one return, decided by this worker.
    return Result(receipts_of(parsed, batch, plan.decisions, sink.events,
                              job.spill is None, []))


def _read_range(job: Job, i: int, on_read: OnRead) -> ReturnsFile | None:
    """This worker's range of file ``i`` as returns, or None if it has anything to
    report (a problem, or a warning such as a repeated row)."""
    name, fmt, piece = job.paths[i], job.formats[i], job.cuts[i].ranges[job.index]
    problems: list[Problem] = []
    with open_range(name, piece, on_read) as stream:
        if piece.start == 0:  # the file's start: the header is this range's own
            table = read_table(stream, name, fmt, REQUIRED, OPTIONAL, problems)
        else:
            columns = _columns(name, fmt, job.cuts[i].ranges[0], problems)
            table = read_range(stream, name, fmt, columns, REQUIRED, piece.lines_before,
                               problems)
        returns = read_returns(table, name, problems)
    return None if problems or returns.warnings else returns


def _columns(name: str, fmt: Format, first: Range, problems: list[Problem]
             ) -> tuple[str, ...]:
    """The columns of a file, for a range after its first: a CSV file's header (read
    from the first range, whose worker reports any problem with it as well)."""
    if fmt != "csv":
        return (*REQUIRED, *OPTIONAL)
    with open_range(name, Range(0, first.end, 0)) as stream:
        return read_table(stream, name, fmt, REQUIRED, OPTIONAL, problems).columns


def _hand_over(job: Job, files: Sequence[Iterable[Return]], *, refused: bool = False
               ) -> list[list[Return]]:
    """Give every other worker its contracts' returns (read from this worker's range of
    each file); keep this worker's own."""
    shares: list[list[list[Return]]] = [[[] for _ in files] for _ in range(job.workers)]
    for i, returns in enumerate(files):
        for ret in returns:
            shares[share_of(ret.contract, job.workers)][i].append(ret)
    folder = Path(job.exchange)
    for k, share in enumerate(shares):
        if k != job.index:
            name = f"{job.index}-{k}"
            (folder / f"{name}.part").write_bytes(pickle.dumps(
                None if refused else share, protocol=pickle.HIGHEST_PROTOCOL))
            (folder / f"{name}.part").rename(folder / name)  # whole, or not there
    return shares[job.index]


def _take(job: Job, mine: list[list[Return]]) -> list[dict[ReturnKey, Return] | None]:
    """This worker's returns of each file, merged over every range in file order (None
    for every file if a row repeats across ranges, or another worker refused)."""
    parts: list[list[list[Return]] | None] = []
    for k in range(job.workers):
        if k == job.index:
            parts.append(mine)
            continue
        path = Path(job.exchange) / f"{k}-{job.index}"
        while not path.exists():
            time.sleep(_POLL_SECONDS)
        parts.append(pickle.loads(path.read_bytes()))  # noqa: S301 (our own worker's)
        path.unlink()
    merged: list[dict[ReturnKey, Return] | None] = []
    for i in range(len(mine)):
        returns: dict[ReturnKey, Return] = {}
        for part in parts:
            if part is None:
                return [None] * len(mine)
            for ret in part[i]:
                key = (ret.contract, ret.period, ret.provider)
                earlier = returns.get(key)
                if earlier is None:
                    returns[key] = ret
                elif not earlier.absorb(ret):
                    return [None] * len(mine)
        merged.append(returns)
    return merged
