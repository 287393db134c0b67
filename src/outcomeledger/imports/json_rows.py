"""Reading NDJSON (one object per line, streamed) and JSON (an array of objects, read
whole: its bytes only) input as rows of a :class:`~.table.Table`.

Separate from the CSV reader: JSON brings its own problems (objects that are not, keys
repeated or unknown, values of the wrong type), found per object with msgspec and, only
where needed, the standard library's parser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO

import msgspec

from ..domain.errors import Problem
from ..domain.text_checks import first_control
from .csv_rows import encoding_hint
from .table import FIELD_LIMIT, Row

_JSON_KEY = re.compile(rb'"((?:[^"\\]|\\.)*)"\s*:')
_BYTE_AT = re.compile(r"\(byte (\d+)\)")
_decode_json = msgspec.json.Decoder(Any, float_hook=Decimal).decode  # numbers stay exact


def _cells(item: object, source: str, line: int, columns: tuple[str, ...],
           required: tuple[str, ...], problems: list[Problem],
           unknown_seen: set[str], raw: bytes) -> list[str] | None:
    """One JSON object as cells in ``columns`` order, or None when it has problems."""
    if not isinstance(item, dict):
        problems.append(Problem(source, line, "row", f"expected a JSON object (got "
                                f"{type(item).__name__})"))
        return None
    ok = True
    for key in item:
        if key not in columns:
            ok = False
            if key not in unknown_seen:  # once per file: the import is refused anyway
                unknown_seen.add(key)
                problems.append(Problem(source, line, key, f"unknown field (expected one of "
                                        f"{', '.join(columns)})"))
    cells = []
    for name in columns:
        value = item.get(name)
        if value is None:
            text = ""
        elif isinstance(value, str):
            text = value
        elif isinstance(value, bool) or not isinstance(value, int | Decimal):
            problems.append(Problem(source, line, name, f"expected a string or number (got "
                                    f"{msgspec.json.encode(value).decode()[:60]})"))
            ok = False
            continue
        else:
            text = str(value)  # ints and exact decimals (never a float)
        if len(text) > FIELD_LIMIT:
            problems.append(Problem(source, line, name, f"longer than the limit of a field "
                                    f"(got {len(text):,} characters, expected at most "
                                    f"{FIELD_LIMIT:,}, as in a CSV file)"))
            ok = False
            continue
        if not text.strip() and name in required:
            problems.append(Problem(source, line, name, "missing (expected a value)"))
            ok = False
        cells.append(text)
    # JSON writes a C0 control inside a string only as an escape, so a line without a
    # backslash, DEL or a C1 control's lead byte (0xC2, also that of £ and NBSP) holds
    # none: most lines skip the check of their cells.
    if ok and (b"\\" in raw or b"\x7f" in raw or b"\xc2" in raw) and (
            control := first_control(cells, columns)) is not None:
        problems.append(Problem(source, line, *control))
        return None
    return cells if ok else None


def _duplicate_key(raw: bytes, item: object) -> str | None:
    """A key that appears twice in the JSON object ``raw`` (decoded as ``item``), or None.

    msgspec keeps the last of two equal keys, silently (CSV refuses a repeated column);
    other JSON readers keep the first, so the figure recorded would depend on the
    reader. The test costs one ``bytes.count`` per row: in JSON every key, at any depth,
    is followed by exactly one structural colon, so a line with no more colons than
    ``item`` has distinct keys holds no key twice. Only a line with colons inside its
    values (a note, a time) is parsed again, by the standard library's parser, which
    sees every key (``object_pairs_hook``).
    """
    if not isinstance(item, dict) or raw.count(b":") <= len(item):
        return None
    return repeated_key(raw)


def repeated_key(text: str | bytes) -> str | None:
    """The first key repeated within one object anywhere in the JSON ``text``, or None:
    parsed again by the standard library, whose ``object_pairs_hook`` sees every key."""
    try:
        json.loads(text, object_pairs_hook=_no_duplicates)
    except _Duplicate as e:
        return e.key
    except (ValueError, RecursionError):  # msgspec read it: nothing more to learn here
        return None
    return None


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            raise _Duplicate(key)
        seen[key] = value
    return seen


def _duplicate_problem(source: str, line: int, key: str) -> Problem:
    return Problem(source, line, key, "appears twice in one object (expected each field "
                   "once: which of the two values counts depends on the JSON reader)")


def _invalid_utf8_at(data: bytes) -> int | None:
    """Offset of the first byte that is not UTF-8, or None when ``data`` is UTF-8.

    Asked of our own decoder, not read off msgspec's error: msgspec releases differ in
    which error a bad byte raises (``UnicodeDecodeError`` before 0.23, ``DecodeError``
    after), so a decode error of any kind is first checked here.
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start
    return None


def _utf8_problem(source: str, line: int, data: bytes, at: int, line_start: int = 0) -> Problem:
    """Invalid UTF-8 at byte ``at``, named by the JSON key whose value holds it."""
    keys = _JSON_KEY.findall(data[line_start:at])
    name = keys[-1].decode("utf-8", "replace") if keys else "row"
    return Problem(source, line, name, f"invalid UTF-8 (got byte 0x{data[at]:02x}, "
                   f"expected UTF-8 text){encoding_hint(data[at:at + 2])}")


def ndjson_rows(stream: BinaryIO, source: str, columns: tuple[str, ...],
                 required: tuple[str, ...], problems: list[Problem], lines_before: int = 0
                 ) -> Iterator[Row]:
    unknown: set[str] = set()
    for number, raw in enumerate(stream, start=lines_before + 1):
        if not raw.strip():
            continue
        try:
            item: object = _decode_json(raw)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError,
                RecursionError) as e:
            if (at := _invalid_utf8_at(raw)) is not None:
                problems.append(_utf8_problem(source, number, raw, at))
            else:
                problems.append(Problem(source, number, "row", f"expected one JSON object "
                                        f"per line ({_why(e)})"))
            continue
        if (duplicate := _duplicate_key(raw, item)) is not None:
            problems.append(_duplicate_problem(source, number, duplicate))
            continue
        cells = _cells(item, source, number, columns, required, problems, unknown, raw)
        if cells is not None:
            yield number, cells


def json_array_rows(stream: BinaryIO, source: str, columns: tuple[str, ...],
                     required: tuple[str, ...], problems: list[Problem]) -> Iterator[Row]:
    data = stream.read()
    line_of = _LineCounter(data)
    if (at := _invalid_utf8_at(data)) is not None:
        problems.append(_utf8_problem(source, line_of(at), data, at,
                                      data.rfind(b"\n", 0, at) + 1))
        return
    try:
        items = msgspec.json.decode(data, type=list[msgspec.Raw])
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as e:
        byte = _BYTE_AT.search(str(e))
        problems.append(Problem(source, line_of(int(byte[1])) if byte else None, "document",
                                f"expected a JSON array of objects ({e})"))
        return
    unknown: set[str] = set()
    offset = 0
    for raw in items:
        # Items are exact slices of the document, in order: the next match is this one.
        offset = data.find(raw, offset)
        line = line_of(offset)
        try:
            item: object = _decode_json(raw)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as e:
            problems.append(Problem(source, line, "row", f"expected a JSON object ({_why(e)})"))
            continue
        text = bytes(raw)
        if (duplicate := _duplicate_key(text, item)) is not None:
            problems.append(_duplicate_problem(source, line, duplicate))
            continue
        cells = _cells(item, source, line, columns, required, problems, unknown, text)
        if cells is not None:
            yield line, cells


def _why(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error)


class _LineCounter:
    """Line numbers of increasing byte offsets, counting each newline once."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0
        self.line = 1

    def __call__(self, offset: int) -> int:
        if offset < self.offset:
            self.offset, self.line = 0, 1
        self.line += self.data.count(b"\n", self.offset, offset)
        self.offset = offset
        return self.line
