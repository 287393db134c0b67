"""Input files as byte streams that hash themselves while they are read.

The SHA-256 recorded on every event an import writes is taken from the very bytes the
parser read, in the same single pass: a file of millions of rows is never held whole,
and standard input (``-``) works exactly like a file.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from ..domain.errors import Problem
from .signatures import Signatures, read_signatures

#: Called with the number of bytes just read (drives a progress bar).
OnRead = Callable[[int], None]


class _Hashing(io.RawIOBase):
    """A raw stream that feeds every byte read through it to a digest."""

    def __init__(self, raw: Any, on_read: OnRead | None) -> None:
        super().__init__()
        self.raw = raw
        self.digest = hashlib.sha256()
        self.on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n: int = self.raw.readinto(buffer)
        if n:
            self.digest.update(memoryview(buffer)[:n])
            if self.on_read is not None:
                self.on_read(n)
        return n or 0


class Input:
    """One input file being read: its display name, size (if known) and byte stream."""

    def __init__(self, name: str, raw: Any, size: int | None, *,
                 on_read: OnRead | None = None, signature: Signatures | None = None,
                 owned: bool = True, path: str | None = None) -> None:
        self.name = name
        self.size = size
        self.path = path  # a file another process can open too (not stdin, not bytes)
        self.on_read = on_read
        self.signature = signature
        self._owned = owned
        self._hashing = _Hashing(raw, on_read)
        self.stream: BinaryIO = io.BufferedReader(self._hashing, buffer_size=1 << 16)

    def finish(self) -> str:
        """Read whatever the parser left (the hash covers the whole file), close, and
        return the file's SHA-256."""
        while self.stream.read(1 << 20):
            pass
        self.close()
        return self._hashing.digest.hexdigest()

    def close(self) -> None:
        if self._owned:
            self._hashing.raw.close()


def open_input(path: str, on_read: OnRead | None = None) -> Input:
    """Open ``path`` (``-`` is standard input); OSError when it cannot be read,
    InvalidInput when the signature beside it cannot be one."""
    if path == "-":
        return Input("-", sys.stdin.buffer, None, on_read=on_read, owned=False)
    signature = signature_beside(path)  # first: a refused signature leaves no file open
    raw = io.FileIO(path, "rb")
    return Input(path, raw, os.fstat(raw.fileno()).st_size, on_read=on_read,
                 signature=signature, path=path)


def bytes_input(name: str, data: bytes) -> Input:
    return Input(name, io.BytesIO(data), len(data))


def signature_beside(path: str) -> Signatures | None:
    """The signature file ``FILE.sig`` next to the file, for contracts that take signed
    returns (verified by the decider against the file's hash); InvalidInput, at its line,
    when it cannot be one."""
    return read_signatures(Path(path + ".sig"))


def unreadable(path: str, error: OSError) -> Problem:
    return Problem(path, None, "file", f"cannot read ({error.strerror or error}; expected a "
                   "readable CSV, NDJSON or JSON file, or - for standard input)")
