"""Reading tabular input files as a stream of (line, cells), collecting problems: which
format a file is in, and the reader that opens it.

CSV (UTF-8, BOM tolerated, quoted fields: ``csv_rows``), NDJSON (one object per line)
and JSON (an array of objects: ``json_rows``) share one row shape (``table``): a list of
cells in the order of ``Table.columns``. CSV and NDJSON are streamed, so a file of
millions of rows is never held whole, decoded or as per-row dicts; a JSON array is read
whole (its bytes only).
"""

from __future__ import annotations

from typing import BinaryIO, Literal

from ..domain.errors import Problem
from .csv_rows import csv_range, csv_table
from .json_rows import json_array_rows, ndjson_rows
from .table import Table

Format = Literal["csv", "ndjson", "json"]
FORMATS: tuple[Format, ...] = ("csv", "ndjson", "json")


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


def read_table(stream: BinaryIO, source: str, fmt: Format,
               required: tuple[str, ...], optional: tuple[str, ...],
               problems: list[Problem]) -> Table:
    """Open ``stream`` as a table; structural problems are appended to ``problems``.

    Rows come lazily from ``Table.rows``; a row with a structural problem (wrong number
    of fields, invalid UTF-8, malformed JSON) is reported and never yielded.
    """
    if fmt == "csv":
        return csv_table(stream, source, required, optional, problems)
    columns = (*required, *optional)
    if fmt == "ndjson":
        return Table(columns, ndjson_rows(stream, source, columns, required, problems))
    return Table(columns, json_array_rows(stream, source, columns, required, problems))


def read_range(stream: BinaryIO, source: str, fmt: Format, columns: tuple[str, ...],
               required: tuple[str, ...], lines_before: int, problems: list[Problem]
               ) -> Table:
    """The rows of a piece of a file that starts at a row boundary after the header
    (see ``ranges``), with ``columns`` read from the header and lines numbered as in
    the whole file."""
    if fmt == "csv":
        return csv_range(stream, source, columns, lines_before, problems)
    if fmt == "ndjson":
        return Table(columns, ndjson_rows(stream, source, columns, required, problems,
                                          lines_before))
    raise ValueError(f"a {fmt} file is read whole, not in ranges")
