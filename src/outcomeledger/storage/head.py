"""The ledger head (DESIGN 2): the last position plus a SHA-256 over every stream's head
``contract<TAB>version<TAB>hash`` line, in the global order of those head events.

Apart from the chain verifier (chain.py) because most of what handles heads only prints,
parses or compares them (reports, evidence packs, checkpoints) and never checks a chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Head:
    position: int
    hash: str
    streams: int

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        position, _, digest = text.partition(":")
        if not position.isdigit() or len(digest) != 64:
            raise ValueError(f"expected POSITION:SHA256 (got {text!r})")
        return cls(int(position), digest, -1)


#: (contract, version, hash, position) of a stream's latest event.
StreamHead = tuple[str, int, str, int]


def ledger_head(heads: Iterable[StreamHead], position: int) -> Head:
    """The head over every stream's latest event, taken in global order of those events."""
    ordered = sorted(heads, key=lambda h: h[3])
    digest = hashlib.sha256()
    for contract, version, event_hash, _position in ordered:
        digest.update(f"{contract}\t{version}\t{event_hash}\n".encode())
    return Head(position, digest.hexdigest(), len(ordered))
