"""The checkpoint log and the keys: reading a log (every bad line refused as
``FILE:LINE: field: given, expected``), checking its signatures, appending to it.

Apart from checkpoints.py, which says what a checkpoint is and what the ledger must be to
extend one, because this is the files: what an operator hands in, and how it can be wrong.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..domain.errors import InvalidInput, Problem
from ..domain.signing import SignatureError, load_private_key, load_public_key, public_key_text
from ..storage.head import ledger_head
from .checkpoints import KIND, VERSION, Checkpoint, Entry, line_of, signed_bytes


def _read(path: Path, flag: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise InvalidInput([Problem(str(path), None, flag,
                                    f"cannot read ({e.strerror or e})")]) from None


def read_private_key(path: Path) -> Ed25519PrivateKey:
    """The signer's key file: an unencrypted PKCS8 PEM, as ``returns keygen`` writes."""
    try:
        return load_private_key(_read(path, "--key"))
    except SignatureError as e:
        raise InvalidInput([Problem(str(path), None, "--key", f"{e}; expected the private "
                                    "key file written by `returns keygen --out`")]) from None


def read_public_key(path: Path) -> Ed25519PublicKey:
    """The verifier's key file: base64 of the raw key (as ``returns keygen`` prints it)
    or a PEM public key. A private key is refused: checking needs only the public one,
    and asking for the private key would teach people to hand it around."""
    data = _read(path, "--key")
    if b"PRIVATE KEY" in data:
        raise InvalidInput([Problem(str(path), None, "--key", "is a private key; give the "
                                    "public key (the base64 line `returns keygen` printed)")])
    try:
        return load_public_key(data.decode("utf-8", errors="replace"))
    except SignatureError as e:
        raise InvalidInput([Problem(str(path), None, "--key", f"{e}; expected the base64 "
                                    "public key `returns keygen` printed, or a PEM public "
                                    "key")]) from None


_AT = re.compile(r" - at `\$\.?([A-Za-z_]*)(.*)`$")


def _given(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _problem_of(source: str, line: int, data: Any, error: msgspec.ValidationError) -> Problem:
    """msgspec's message turned into ``field: what was given, expected ...``."""
    message = str(error)
    match = _AT.search(message)
    expected = message[:match.start()] if match else message
    field = match.group(1) if match and match.group(1) else "line"
    named = re.search(r"field `([^`]*)`", expected)
    if field == "line" and named:  # a missing or unknown field is reported at `$`
        field = named.group(1)
    if expected.startswith("Object missing required field"):
        return Problem(source, line, field, "missing (every checkpoint line has it)")
    given = _given(data[field]) if isinstance(data, dict) and field in data else _given(data)
    return Problem(source, line, field, f"got {given}; {expected[0].lower()}{expected[1:]}")


def parse_line(raw: bytes, source: str, number: int) -> Checkpoint:
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as e:
        raise InvalidInput([Problem(source, number, "line", f"not JSON ({e}); expected one "
                                    "checkpoint object per line")]) from None
    except RecursionError:  # msgspec's untyped decode recurses per nesting level
        raise InvalidInput([Problem(source, number, "line", "JSON nested too deeply; "
                                    "expected one flat checkpoint object per line")]) from None
    if not isinstance(data, dict):
        raise InvalidInput([Problem(source, number, "line", f"got {_given(data)}; expected "
                                    "a JSON object")])
    try:
        checkpoint = msgspec.convert(data, Checkpoint)
    except msgspec.ValidationError as e:
        raise InvalidInput([_problem_of(source, number, data, e)]) from None
    problems: list[Problem] = []
    if checkpoint.checkpoint != KIND:
        problems.append(Problem(source, number, "checkpoint", f"got "
                                f"{_given(checkpoint.checkpoint)}; expected {KIND!r}"))
    if checkpoint.version != VERSION:
        problems.append(Problem(source, number, "version", f"got {checkpoint.version}; "
                                f"expected {VERSION}"))
    try:
        datetime.fromisoformat(checkpoint.time)
    except ValueError:
        problems.append(Problem(source, number, "time", f"got {_given(checkpoint.time)}; "
                                "expected an ISO timestamp"))
    if not checkpoint.signature:
        problems.append(Problem(source, number, "signature", "missing (an unsigned line "
                                "proves nothing)"))
    if problems:
        raise InvalidInput(problems)
    return checkpoint


def read_log(path: Path, *, missing_ok: bool = False) -> list[Entry]:
    """Every checkpoint of a log file, in file order (blank lines skipped); every bad
    line is reported, not only the first."""
    if missing_ok and not path.exists():
        return []
    data = _read(path, "--checkpoints" if not missing_ok else "--log")
    source = str(path)
    entries: list[Entry] = []
    problems: list[Problem] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            entries.append(Entry(source, number, parse_line(raw, source, number)))
        except InvalidInput as e:
            problems += e.problems
    if problems:
        raise InvalidInput(problems)
    if not entries and not missing_ok:
        raise InvalidInput([Problem(source, None, "--checkpoints", "holds no checkpoint; "
                                    "expected the log `audit checkpoint --log` appends to")])
    return entries


def check_signatures(entries: Sequence[Entry], key: Ed25519PublicKey, key_source: str) -> None:
    """Refuse unless every checkpoint is signed by ``key`` and says the same of itself."""
    expected = public_key_text(key)
    problems: list[Problem] = []
    for e in entries:
        c = e.checkpoint
        try:
            raw = base64.b64decode(c.signature, validate=True)
        except (ValueError, binascii.Error):
            problems.append(Problem(e.source, e.line, "signature", f"got {_given(c.signature)}"
                                    "; expected base64 of an Ed25519 signature"))
            continue
        if c.key != expected:
            problems.append(Problem(e.source, e.line, "key", f"got {_given(c.key)}; expected "
                                    f"the key in {key_source} ({expected})"))
            continue
        try:
            key.verify(raw, signed_bytes(c))
        except InvalidSignature:
            problems.append(Problem(e.source, e.line, "signature", "does not verify with the "
                                    f"key in {key_source}: the checkpoint was altered or forged"))
            continue
        if c.stream_heads is not None:
            # Signed but self-contradictory (a faulty signer): its heads cannot be trusted.
            recomputed = ledger_head(c.stream_heads, c.position)
            if recomputed.hash != c.head or len(c.stream_heads) != c.streams:
                problems.append(Problem(e.source, e.line, "stream_heads", "do not hash to the "
                                        f"checkpoint's head {c.head[:16]}…"))
    if problems:
        raise InvalidInput(problems)


def load(log: Path, key: Path) -> list[Entry]:
    """A checkpoint log and its verifier's key, every signature checked."""
    public = read_public_key(key)
    entries = read_log(log)
    check_signatures(entries, public, str(key))
    return entries


def append(log: Path, checkpoint: Checkpoint) -> None:
    """Append one line and flush it to disk: a checkpoint the commissioner was told was
    written must survive a crash."""
    line = line_of(checkpoint)
    with log.open("ab") as out:
        # A last line without its newline (cut short by hand): start a line of our own.
        if out.tell() > 0:
            with log.open("rb") as previous:
                previous.seek(-1, os.SEEK_END)
                if previous.read(1) != b"\n":
                    line = b"\n" + line
        out.write(line)
        out.flush()
        os.fsync(out.fileno())
