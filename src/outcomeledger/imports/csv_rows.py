"""Reading CSV input (UTF-8, BOM tolerated, quoted fields) as a :class:`~.table.Table`,
streamed: a file of millions of rows is never held whole, decoded or as per-row dicts.

Separate from the JSON readers: CSV has a header to check and its own way of letting
invalid UTF-8 through (below), so that each bad row is reported with its line and column.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from ..domain.errors import Problem
from ..domain.text_checks import first_control
from .table import FIELD_LIMIT, Row, Table, is_blank

_SURROGATE = re.compile("[\udc80-\udcff]+")
csv.field_size_limit(FIELD_LIMIT)  # (why: see table.FIELD_LIMIT)

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


def csv_table(stream: BinaryIO, source: str, required: tuple[str, ...],
              optional: tuple[str, ...], problems: list[Problem]) -> Table:
    """A CSV file as a table: its header checked, its rows streamed (see ``rows``)."""
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
    before = len(problems)
    # (The count moves as soon as a bad byte is decoded, which may be in a later row.)
    if _invalid_utf8[0] != invalid_before and (
            bad := _bad_utf8(source, 1, ["header"] * len(header), header)):
        # A header that is not UTF-8 says the whole file is in another encoding: one
        # problem that names it, not one per column it garbled.
        problems.append(bad[0])
    elif (separator := _other_separator(header, required)) is not None:
        # A spreadsheet saved with its locale's separator: say so once, not per column.
        problems.append(Problem(source, 1, "header", f"this looks like {separator!r}-separated"
                                f" text, not comma-separated CSV (got {','.join(header)!r});"
                                f" save or export it with ',' as the separator (expected "
                                f"columns {', '.join(required)})"))
    else:
        _column_problems(source, columns, required, optional, problems)
    if len(problems) > before:
        text.detach()
        return Table(())
    return Table(columns, _csv_rows(reader, text, source, columns, problems, invalid_before))


def csv_range(stream: BinaryIO, source: str, columns: tuple[str, ...], lines_before: int,
              problems: list[Problem]) -> Table:
    """The rows of a piece of a CSV file after its header (see ``rows.read_range``)."""
    # Not utf-8-sig: only the file's very first bytes can be a byte-order mark.
    text = _Text(stream, encoding="utf-8")
    return Table(columns, _csv_rows(csv.reader(text.text, strict=True), text, source,
                                    columns, problems, _invalid_utf8[0], lines_before))


def _column_problems(source: str, columns: tuple[str, ...], required: tuple[str, ...],
                     optional: tuple[str, ...], problems: list[Problem]) -> None:
    """The header's columns against those expected: each missing, repeated or unknown."""
    known = (*required, *optional)
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
                                 f"expected UTF-8 text){encoding_hint(raw)}"))
    return found


def encoding_hint(raw: bytes) -> str:
    """What the bytes most likely are, for the person who has to save the file again."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "; this looks like UTF-16: save the file as UTF-8"
    try:
        raw.decode("cp1252")
    except UnicodeDecodeError:
        return ""
    return ("; this looks like Windows-1252 (a spreadsheet's plain 'CSV'): save it as "
            "'CSV UTF-8'")
