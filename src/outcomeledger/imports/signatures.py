"""Signature files: ``FILE.sig`` beside a returns file, as read (made by :mod:`.signing`).

Scheme 2 (``returns sign`` today): one JSON line per contract the file returns for,
``{"contract", "periods", "scheme": 2, "sequence", "signature"}``, the signature over the
:class:`~outcomeledger.domain.signing.ReturnStatement` of the file's SHA-256 with the
line's contract, periods and sequence. Scheme 1 (before): one line, the base64 signature
of the file's SHA-256 alone; still read, so that the decider can name it (it refuses it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import msgspec

from ..domain.errors import InvalidInput, Problem
from ..domain.events import Source
from ..domain.signing import RETURN_SCHEME_STATEMENT

#: How many contract lines a signature file may hold (one per contract of its file).
MAX_LINES = 10_000


class SignatureLine(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One contract's signature of a returns file (scheme 2)."""

    contract: Annotated[str, msgspec.Meta(
        min_length=1, description="The contract the file's rows are for.")]
    periods: Annotated[tuple[str, ...], msgspec.Meta(
        min_length=1, description="Every period of the file's rows for the contract.")]
    scheme: Annotated[int, msgspec.Meta(
        ge=RETURN_SCHEME_STATEMENT, le=RETURN_SCHEME_STATEMENT,
        description="The signature scheme: 2.")]
    sequence: Annotated[int, msgspec.Meta(
        ge=0, le=2**63 - 1, description=(
            "The provider's sequence number: more than that of every file the ledger "
            "accepted from the provider before (`returns sign` uses the time in seconds "
            "since 1970 unless given --sequence)."))]
    signature: Annotated[str, msgspec.Meta(
        pattern="^[A-Za-z0-9+/]+={0,2}$",
        description="Base64 Ed25519 signature of the statement (docs/formats.md).")]


@dataclass(frozen=True, slots=True)
class Signatures:
    """A signature file as read: a scheme-1 signature, or scheme-2 lines by contract."""

    digest_only: str | None = None
    lines: Mapping[str, SignatureLine] = field(default_factory=dict)

    def source(self, base: Source, contract: str) -> Source:
        """The source of the returns of ``contract``: ``base`` with its signature."""
        if self.digest_only is not None:
            return msgspec.structs.replace(base, signature=self.digest_only)
        line = self.lines.get(contract)
        if line is None:
            return base
        return msgspec.structs.replace(base, signature=line.signature,
                                       sequence=line.sequence,
                                       periods=tuple(sorted(set(line.periods))))


_line = msgspec.json.Decoder(SignatureLine)


def read_signatures(sig: Path) -> Signatures | None:
    """The signature file ``sig``, or None when there is none; InvalidInput, at its line,
    for one that cannot be a signature file."""
    if not sig.is_file():
        return None
    data = sig.read_bytes()
    if not data.isascii():
        # A signature file is ASCII: anything else is refused here, with its place,
        # rather than reaching the decoder (or the decider) as text it cannot be.
        at = next(i for i, b in enumerate(data) if b > 0x7F)
        raise _bad(sig, data.count(b"\n", 0, at) + 1, f"given byte 0x{data[at]:02x} at "
                   f"byte {at}, expected the ASCII text `returns sign` writes")
    text = data.decode("ascii")
    rows = [(n, row.strip()) for n, row in enumerate(text.splitlines(), 1) if row.strip()]
    if not rows:
        raise _bad(sig, 1, "given an empty file, expected the signature `returns sign` "
                   "writes")
    if len(rows) == 1 and not rows[0][1].startswith("{"):
        return Signatures(digest_only=rows[0][1])  # scheme 1
    if len(rows) > MAX_LINES:
        raise _bad(sig, MAX_LINES + 1, f"given {len(rows)} lines, expected at most "
                   f"{MAX_LINES} (one per contract)")
    lines: dict[str, SignatureLine] = {}
    for n, row in rows:
        try:
            line = _line.decode(row)
        except msgspec.DecodeError as e:
            raise _bad(sig, n, f"given {_shown(row)}, expected one JSON line per contract "
                       f"as `returns sign` writes ({e})") from None
        if line.contract in lines:
            raise _bad(sig, n, f"given contract {line.contract!r} twice, expected one "
                       "line per contract")
        lines[line.contract] = line
    return Signatures(lines=lines)


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _bad(sig: Path, line: int, message: str) -> InvalidInput:
    return InvalidInput([Problem(str(sig), line, "signature", message)])

