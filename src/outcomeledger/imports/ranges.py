"""A returns file cut into byte ranges that start at row boundaries, for worker processes.

A CSV row may span lines (a quoted field can hold a newline), so a cut is made only
after a newline preceded by an even number of quote characters: in well-formed CSV
(quotes doubled inside quoted fields) that newline is outside any field. A malformed
file may still be cut in the wrong place; its rows are then refused by the worker that
reads them, and a refused import is read again whole, in one process. NDJSON is cut at
any newline. Each range knows the lines before it, so rows keep their line numbers.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any, BinaryIO

from .sources import OnRead

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Range:
    start: int  # byte offset of the range's first row (0: the file's start, header and all)
    end: int  # byte offset after its last row
    lines_before: int  # physical lines before ``start``


@dataclass(frozen=True, slots=True)
class Cut:
    """A file cut into ranges, and the SHA-256 of the whole file as read then."""

    ranges: tuple[Range, ...]
    sha256: str
    size: int


def cut(path: str, fmt: str, pieces: int) -> Cut | None:
    """``path`` cut into ``pieces`` ranges of about equal size (some may be empty), or
    None when it cannot be cut safely (a JSON array; line ends other than LF or CRLF,
    which the CSV reader counts as lines where a byte count cannot)."""
    if fmt not in ("csv", "ndjson"):
        return None
    digest = hashlib.sha256()
    size = 0
    quotes = lines = 0  # before the current chunk
    ranges: list[Range] = []
    start, start_lines = 0, 0
    with open(path, "rb") as f:  # noqa: PTH123 (a path string, as the importer takes)
        total = _size(f)
        targets = [total * k // pieces for k in range(1, pieces)]
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            if b"\r" in chunk and (chunk.count(b"\r") != chunk.count(b"\r\n")
                                   or chunk.endswith(b"\r")):
                return None
            at = 0
            while targets and size + len(chunk) > targets[0]:
                # The first newline at or after the target with an even number of quotes
                # before it (CSV); the search goes on into the next chunk if need be.
                found = chunk.find(b"\n", max(at, targets[0] - size))
                while found >= 0 and fmt == "csv" and (
                        quotes + chunk.count(b'"', 0, found)) % 2:
                    found = chunk.find(b"\n", found + 1)
                if found < 0:
                    targets[0] = size + len(chunk)  # keep looking from the next chunk
                    break
                at = found + 1
                ranges.append(Range(start, size + at, start_lines))
                start, start_lines = size + at, lines + chunk.count(b"\n", 0, at)
                targets.pop(0)
            quotes += chunk.count(b'"')
            lines += chunk.count(b"\n")
            size += len(chunk)
    ranges.append(Range(start, size, start_lines))
    while len(ranges) < pieces:
        ranges.append(Range(size, size, lines))
    return Cut(tuple(ranges), digest.hexdigest(), size)


def _size(f: BinaryIO) -> int:
    f.seek(0, io.SEEK_END)
    size = f.tell()
    f.seek(0)
    return size


class _Bounded(io.RawIOBase):
    """The bytes ``start``..``end`` of a file, reported to ``on_read`` as they are read."""

    def __init__(self, path: str, start: int, end: int, on_read: OnRead | None) -> None:
        super().__init__()
        self.raw = io.FileIO(path, "rb")
        self.raw.seek(start)
        self.left = end - start
        self.on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            return 0
        view = memoryview(buffer)[:self.left]
        n: int = self.raw.readinto(view) or 0
        self.left -= n
        if n and self.on_read is not None:
            self.on_read(n)
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_range(path: str, piece: Range, on_read: OnRead | None = None) -> BinaryIO:
    """A buffered byte stream of one range of ``path``."""
    return io.BufferedReader(_Bounded(path, piece.start, piece.end, on_read),
                             buffer_size=1 << 16)
