"""Signing a returns file (``returns sign``): its scheme-2 signature file (see
:mod:`.signatures`), made from the returns ``returns import`` would read in it."""

from __future__ import annotations

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..domain.errors import InvalidInput, Problem
from ..domain.signing import ReturnStatement, sign_statement
from .returns import parse_returns
from .rows import detect_format
from .signatures import SignatureLine


def sign_file(data: bytes, name: str, key: Ed25519PrivateKey, sequence: int,
              input_format: str | None = None) -> str:
    """The scheme-2 signature file of the returns file ``data`` (named ``name``): one line
    per contract its rows return for, each signing the file's SHA-256 with the contract,
    its periods and ``sequence``. InvalidInput when the file is not one ``returns import``
    would read (a signature vouches for what the ledger will read, nothing else)."""
    problems: list[Problem] = []
    parsed = parse_returns(data, name, detect_format(name, input_format), problems)
    if problems:
        raise InvalidInput(problems)
    periods: dict[str, set[str]] = {}
    for contract, period, _ in parsed.commands:
        periods.setdefault(contract, set()).add(period)
    if not periods:
        raise InvalidInput([Problem(name, None, "file", "given a file without rows, expected "
                                    "the returns to sign")])
    lines = []
    for contract in sorted(periods):
        statement = ReturnStatement(contract=contract, periods=tuple(sorted(periods[contract])),
                                    sequence=sequence, sha256=parsed.source.sha256)
        lines.append(_encoder.encode(SignatureLine(
            contract=contract, periods=statement.periods, scheme=statement.scheme,
            sequence=sequence, signature=sign_statement(key, statement))).decode())
    return "\n".join(lines) + "\n"


_encoder = msgspec.json.Encoder(order="sorted")
