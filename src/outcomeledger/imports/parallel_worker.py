"""The worker side of a parallel returns import (see :mod:`.parallel`): what one worker
process does with its range of every file, and what passes between it and the caller.

A separate module because it runs in another interpreter, started by name
(``python -c "from outcomeledger.imports.parallel_worker import work; work()"``): its job
(:class:`Job`) comes pickled on standard input, and it answers on standard output in the
messages below (progress, a contract's events spilled, its :class:`Result`); the caller
reads those messages and the spilled events back by the same formats.
"""

from __future__ import annotations

import pickle  # between this package's own processes only
import struct
import sys
import time
import zlib
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ..domain.commands import Meta
from ..domain.errors import InvalidInput, Problem
from ..domain.events import Source
from ..storage.store import Ledger
from .batch import (
    Batch,
    ImportReceipt,
    Parsed,
    conflicts_between_files,
    no_cycle_collection,
    receipts_of,
)
from .ranges import Cut, Range, open_range
from .returns import OPTIONAL, REQUIRED, Return, ReturnKey, ReturnsFile, read_returns
from .rows import Format, read_range, read_table
from .sources import OnRead, signature_beside

#: Progress reports from a worker, at most one per this many bytes read.
PROGRESS_BYTES = 1 << 20
#: How often a worker looks for the returns the others hand it.
_POLL_SECONDS = 0.005

RECORD = struct.Struct("<16sIHI")  # stream, version, topic length, state length
MESSAGE = struct.Struct("<cQ")  # kind, then bytes read (progress) or payload length
PROGRESS, SPILLED, _RESULT = b"P", b"S", b"R"
COUNT = struct.Struct("<I")  # a spilled contract's events, before its reference


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
        self.spill.write(RECORD.pack(stream.bytes, stored.originator_version, len(topic),
                                      len(stored.state)))
        self.spill.write(topic)
        self.spill.write(stored.state)

    def announce(self) -> None:
        """The contract spilled so far is whole: its events are on disk, say so."""
        if self.run is None or self.spill is None:
            return
        reference, events = self.run
        self.spill.flush()
        payload = COUNT.pack(events) + reference.encode()
        self.out.write(MESSAGE.pack(SPILLED, len(payload)) + payload)
        self.out.flush()
        self.run = None


def work() -> None:
    """A worker's whole life: its job on standard input, its result on standard output."""
    job: Job = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 (from our own process)
    out = sys.stdout.buffer
    with no_cycle_collection():
        result = _work(job, out)
    data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(MESSAGE.pack(_RESULT, len(data)))
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
            self.out.write(MESSAGE.pack(PROGRESS, self.pending))
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
                             Source(file=name, sha256=job.cuts[i].sha256),
                             signature_beside(name)))
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
