"""Running the chain verifier over a whole ledger: in one pass over batches of raw rows,
or, for a large SQLite file, split over worker processes and joined in order.

Apart from chain.py, which checks the events it is fed, because this is how they are fed:
the reading, the worker processes and what they hand back.
"""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from contextlib import closing
from urllib.parse import quote

import msgspec

from . import workers as processes
from .chain import ChainVerifier, Mismatch


def verify(batches: Iterable[Iterable[tuple[int, str, int, str, bytes]]], *,
           full_decode: bool = False) -> ChainVerifier:
    """Every chain of the stored events fed as raw rows in global order, then the canonical
    decode check of each stream's latest event (of every event with ``full_decode``)."""
    verifier = ChainVerifier(full_decode=full_decode)
    for rows in batches:
        verifier.add_rows(rows)
    verifier.check_heads()
    return verifier


# -- a SQLite ledger, verified by several processes at once ------------------------------

_RANGE_SQL = ("SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
              "WHERE rowid > ? AND rowid <= ? ORDER BY rowid")
#: The same rows without the topic (see ``ChainVerifier.add_rows``).
_RANGE_CHAIN_SQL = ("SELECT rowid, originator_id, originator_version, state FROM stored_events "
                    "WHERE rowid > ? AND rowid <= ? ORDER BY rowid")
#: Rows fetched at a time: small enough that a batch stays in the CPU caches.
_FETCH = 2000


class _Segment(msgspec.Struct, array_like=True):
    """A verifier's findings as a worker process hands them back."""

    count: int
    position: int
    streams: dict[str, tuple[str, int, str, int, str, bytes]]
    mismatches: list[tuple[str, int | None, int | None, str]]
    order: list[tuple[int, int]]
    first: dict[str, tuple[str, int, int, str]]
    stream_of: dict[str, str]


def verify_sqlite(path: str, upto: int, *, full_decode: bool = False,
                  workers: int = 2) -> ChainVerifier:
    """:func:`verify` of a SQLite ledger file through position ``upto``, with the positions
    split into ``workers`` consecutive ranges verified in parallel processes and joined
    in order (:meth:`ChainVerifier.join`): the same result in a fraction of the time,
    since hashing and parsing every event is CPU work each process does alone.

    Workers are fresh interpreters (``python -m outcomeledger.storage.verification``; see
    :mod:`outcomeledger.storage.workers` for why not forks).
    """
    bounds = [upto * k // workers for k in range(workers + 1)]
    ranges = list(itertools.pairwise(bounds))
    procs = [subprocess.Popen(  # noqa: S603 (our own interpreter and module, no shell)
        [sys.executable, "-m", "outcomeledger.storage.verification", path, str(after), str(until),
         "full" if full_decode else "chains"], stdout=subprocess.PIPE,
        env=processes.environment())
        for after, until in ranges[1:]]
    # The first range is this process's own share: one interpreter fewer to start.
    parts = [_range_verifier(path, *ranges[0], full_decode)]
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"a verification worker failed (exit {proc.returncode})")
        parts.append(_from_segment(_segment_decoder.decode(out), full_decode))
    whole = parts[0]
    for part in parts[1:]:
        whole.join(part)
    whole.check_heads()
    return whole


_segment_decoder = msgspec.msgpack.Decoder(_Segment)


def _from_segment(seg: _Segment, full_decode: bool) -> ChainVerifier:
    return ChainVerifier(full_decode=full_decode, opened=bool(seg.first), streams=seg.streams,
                         mismatches=[Mismatch(*m) for m in seg.mismatches],
                         position=seg.position, count=seg.count, _stream_of=seg.stream_of,
                         _order=seg.order, _first=seg.first)


def _range_verifier(path: str, after: int, upto: int, full_decode: bool) -> ChainVerifier:
    verifier = ChainVerifier(full_decode=full_decode, opened=after > 0)
    with closing(sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True,
                                 isolation_level=None)) as conn:
        conn.execute("BEGIN")  # one snapshot: the heads' topics are those of the rows read
        # Only the full decode needs every event's topic (see ``add_rows``).
        cursor = conn.execute(_RANGE_SQL if full_decode else _RANGE_CHAIN_SQL, (after, upto))
        while rows := cursor.fetchmany(_FETCH):
            verifier.add_rows(rows, topics=full_decode)

        def topics(positions: list[int]) -> dict[int, str]:
            found: dict[int, str] = {}
            for i in range(0, len(positions), 500):
                part = positions[i:i + 500]
                found.update(conn.execute(
                    "SELECT rowid, topic FROM stored_events WHERE rowid IN "
                    f"({', '.join('?' * len(part))})", part).fetchall())
            return found

        verifier.fill_topics(topics)
    return verifier


def _verify_range(path: str, after: int, upto: int, full_decode: bool) -> bytes:
    verifier = _range_verifier(path, after, upto, full_decode)
    return msgspec.msgpack.encode(_Segment(
        verifier.count, verifier.position, verifier.streams,
        [(m.contract, m.position, m.version, m.what) for m in verifier.mismatches],
        verifier._order, verifier._first, verifier._stream_of))


if __name__ == "__main__":  # a worker of verify_sqlite: PATH AFTER UPTO full|chains
    sys.stdout.buffer.write(_verify_range(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                          sys.argv[4] == "full"))
