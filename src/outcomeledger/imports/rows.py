"""Reading tabular input files as a stream of (line, cells), collecting problems.

CSV (UTF-8, BOM tolerated, quoted fields), NDJSON (one object per line) and JSON
(an array of objects) share one row shape: a list of cells in the order of
``Table.columns``. CSV and NDJSON are streamed, so a file of millions of rows is never
held whole, decoded or as per-row dicts; a JSON array is read whole (its bytes only).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, BinaryIO, Literal

import msgspec

from ..domain.errors import Problem
from ..domain.text_checks import first_control

Format = Literal["csv", "ndjson", "json"]
FORMATS: tuple[Format, ...] = ("csv", "ndjson", "json")
Row = tuple[int, list[str]]

_SURROGATE = re.compile("[\udc80-\udcff]+")
_JSON_KEY = re.compile(rb'"((?:[^"\\]|\\.)*)"\s*:')
_BYTE_AT = re.compile(r"\(byte (\d+)\)")
_decode_json = msgspec.json.Decoder(Any, float_hook=Decimal).decode  # numbers stay exact
# The CSV module's default limit (128 KiB) would refuse a long evidence note; this
# still bounds a runaway unclosed quote. JSON cells are held to the same limit: a field
# is stored for ever, whichever format brought it.
FIELD_LIMIT = 1 << 24
csv.field_size_limit(FIELD_LIMIT)


def detect_format(name: str, explicit: str | None) -> Format:
    for fmt in FORMATS:
        if explicit == fmt:
            return fmt
    lower = name.lower()
    if lower.endswith((".ndjson", ".jsonl")):
        return "ndjson"
    if lower.endswith(".json"):
        return "json"
    return "csv"


def is_blank(cells: Iterable[str]) -> bool:
    return all(not c.strip() for c in cells)


@dataclass(frozen=True, slots=True)
class Table:
    """The columns of a file and a one-pass iterator over its rows."""

    columns: tuple[str, ...]
    rows: Iterator[Row] = field(default_factory=lambda: iter(()))


def read_table(stream: BinaryIO, source: str, fmt: Format,
               required: tuple[str, ...], optional: tuple[str, ...],
               problems: list[Problem]) -> Table:
    """Open ``stream`` as a table; structural problems are appended to ``problems``.

    Rows come lazily from ``Table.rows``; a row with a structural problem (wrong number
    of fields, invalid UTF-8, malformed JSON) is reported and never yielded.
    """
    if fmt == "csv":
        return _csv_table(stream, source, required, optional, problems)
    columns = (*required, *optional)
    if fmt == "ndjson":
        return Table(columns, _ndjson_rows(stream, source, columns, required, problems))
    return Table(columns, _json_array_rows(stream, source, columns, required, problems))


def read_range(stream: BinaryIO, source: str, fmt: Format, columns: tuple[str, ...],
               required: tuple[str, ...], lines_before: int, problems: list[Problem]
               ) -> Table:
    """The rows of a piece of a file that starts at a row boundary after the header
    (see ``ranges``), with ``columns`` read from the header and lines numbered as in
    the whole file."""
    if fmt == "csv":
        # Not utf-8-sig: only the file's very first bytes can be a byte-order mark.
        text = _Text(stream, encoding="utf-8")
        return Table(columns, _csv_rows(csv.reader(text.text, strict=True), text, source,
                                        columns, problems, _invalid_utf8[0], lines_before))
    if fmt == "ndjson":
        return Table(columns, _ndjson_rows(stream, source, columns, required, problems,
                                           lines_before))
    raise ValueError(f"a {fmt} file is read whole, not in ranges")


# -- CSV -------------------------------------------------------------------------------

# Invalid UTF-8 is let through as surrogate escapes, so the row it sits in can be
# reported with its line and column instead of aborting the file. The decoder calls
# this handler only on invalid bytes: a clean file pays nothing, and a reader checks
# its rows for escapes only once the count has moved.
_invalid_utf8 = [0]
_escape = codecs.lookup_error("surrogateescape")


def _count_invalid(error: UnicodeError) -> tuple[str | bytes, int]:
    _invalid_utf8[0] += 1
    return _escape(error)


codecs.register_error("outcomeledger.surrogateescape", _count_invalid)


class _Text:
    """The decoded text of a CSV file, detached (not closed) when done with."""

    def __init__(self, stream: BinaryIO, encoding: str = "utf-8-sig") -> None:
        self.text = io.TextIOWrapper(stream, encoding=encoding, newline="",
                                     errors="outcomeledger.surrogateescape")
        self.detached = False

    def detach(self) -> None:
        # The caller owns the byte stream and reads the rest of it for the file's hash:
        # a wrapper left to the garbage collector would close it first.
        if not self.detached:
            self.detached = True
            self.text.detach()


def _csv_table(stream: BinaryIO, source: str, required: tuple[str, ...],
               optional: tuple[str, ...], problems: list[Problem]) -> Table:
    invalid_before = _invalid_utf8[0]
    text = _Text(stream)
    reader = csv.reader(text.text, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        text.detach()
        problems.append(Problem(source, 1, "header", "empty file (expected a header row with "
                                f"{', '.join(required)})"))
        return Table(())
    except csv.Error as e:
        text.detach()
        problems.append(Problem(source, 1, "header", f"malformed CSV: {e} (expected a "
                                f"header row with {', '.join(required)})"))
        return Table(())
    columns = tuple(h.strip() for h in header)
    known = (*required, *optional)
    before = len(problems)
    # (The count moves as soon as a bad byte is decoded, which may be in a later row.)
    if _invalid_utf8[0] != invalid_before and (
            bad := _bad_utf8(source, 1, ["header"] * len(header), header)):
        # A header that is not UTF-8 says the whole file is in another encoding: one
        # problem that names it, not one per column it garbled.
        problems.append(bad[0])
        text.detach()
        return Table(())
    if (separator := _other_separator(header, required)) is not None:
        # A spreadsheet saved with its locale's separator: say so once, not per column.
        problems.append(Problem(source, 1, "header", f"this looks like {separator!r}-separated"
                                f" text, not comma-separated CSV (got {','.join(header)!r});"
                                f" save or export it with ',' as the separator (expected "
                                f"columns {', '.join(required)})"))
        text.detach()
        return Table(())
    for name in required:
        if name not in columns:
            problems.append(Problem(source, 1, name, f"missing required column (got "
                                    f"{', '.join(columns) or 'no columns'}; expected "
                                    f"{', '.join(required)}, optionally "
                                    f"{', '.join(optional)})"))
    for name in dict.fromkeys(columns):
        if columns.count(name) > 1:
            problems.append(Problem(source, 1, name, "column appears twice (expected each "
                                    "column once)"))
        elif name not in known:
            problems.append(Problem(source, 1, name or "header", f"unknown column (got "
                                    f"{name!r}, expected one of {', '.join(known)})"))
    if len(problems) > before:
        text.detach()
        return Table(())
    return Table(columns, _csv_rows(reader, text, source, columns, problems, invalid_before))


def _other_separator(header: list[str], required: tuple[str, ...]) -> str | None:
    """The separator (``;``, tab or ``|``) a header with none of the required columns
    would have every one of them with."""
    if any(h.strip() in required for h in header):
        return None
    line = ",".join(header)
    for separator in (";", "\t", "|"):
        if all(name in (c.strip().strip('"') for c in line.split(separator))
               for name in required):
            return separator
    return None


def _csv_rows(reader: Any, text: _Text, source: str, columns: tuple[str, ...],
              problems: list[Problem], invalid_before: int, lines_before: int = 0
              ) -> Iterator[Row]:
    width = len(columns)
    last = reader.line_num + lines_before
    try:
        while True:
            try:
                for cells in reader:
                    line = last + 1  # a quoted field may span lines: report where it starts
                    last = reader.line_num + lines_before
                    if len(cells) != width:
                        if not is_blank(cells):
                            problems.append(_wrong_width(source, line, columns, cells))
                        continue
                    if _invalid_utf8[0] != invalid_before:
                        bad = _bad_utf8(source, line, columns, cells)
                        if bad:
                            problems.extend(bad)
                            continue
                    # The row's one C-level test, inline (nearly every row passes it);
                    # reading the file in chunks and searching those measured no faster.
                    if not "".join(cells).isprintable() and (
                            control := first_control(cells, columns)) is not None:
                        problems.append(Problem(source, line, *control))
                        continue
                    yield line, cells
                return
            except csv.Error as e:
                # The reader starts afresh on the next line: keep collecting problems.
                problems.append(Problem(source, last + 1, "row", f"malformed CSV: {e} "
                                        "(expected fields separated by commas, quotes "
                                        "doubled inside quoted fields)"))
                last = reader.line_num + lines_before
    finally:
        text.detach()


def _wrong_width(source: str, line: int, columns: tuple[str, ...],
                 cells: list[str]) -> Problem:
    expected = f"expected {len(columns)}: {', '.join(columns)}"
    if len(cells) < len(columns):
        return Problem(source, line, columns[len(cells)], f"missing: the row has "
                       f"{len(cells)} fields (got {','.join(cells)!r}, {expected})")
    return Problem(source, line, "row", f"wrong number of fields (got {len(cells)}, "
                   f"{expected})")


def _bad_utf8(source: str, line: int, names: Iterable[str], cells: Iterable[str]) -> list[
        Problem]:
    found = []
    for name, cell in zip(names, cells, strict=False):
        if _SURROGATE.search(cell):
            raw = cell.encode("utf-8", "surrogateescape")
            found.append(Problem(source, line, name, f"invalid UTF-8 (got {raw[:40]!r}, "
                                 f"expected UTF-8 text){_encoding_hint(raw)}"))
    return found


def _encoding_hint(raw: bytes) -> str:
    """What the bytes most likely are, for the person who has to save the file again."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "; this looks like UTF-16: save the file as UTF-8"
    try:
        raw.decode("cp1252")
    except UnicodeDecodeError:
        return ""
    return ("; this looks like Windows-1252 (a spreadsheet's plain 'CSV'): save it as "
            "'CSV UTF-8'")


# -- JSON ------------------------------------------------------------------------------

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
                   f"expected UTF-8 text){_encoding_hint(data[at:at + 2])}")


def _ndjson_rows(stream: BinaryIO, source: str, columns: tuple[str, ...],
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


def _json_array_rows(stream: BinaryIO, source: str, columns: tuple[str, ...],
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
