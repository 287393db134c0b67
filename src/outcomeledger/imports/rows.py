"""Reading tabular input files into (line, field dict) pairs, collecting problems.

CSV (UTF-8, BOM tolerated, quoted fields), NDJSON (one object per line) and JSON
(an array of objects) share one row shape, so validation is written once.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import msgspec

from ..errors import Problem

Format = Literal["csv", "ndjson", "json"]
Row = tuple[int, dict[str, str]]


def detect_format(name: str, explicit: str | None) -> Format:
    if explicit in ("csv", "ndjson", "json"):
        return explicit  # type: ignore[return-value]
    lower = name.lower()
    if lower.endswith((".ndjson", ".jsonl")):
        return "ndjson"
    if lower.endswith(".json"):
        return "json"
    return "csv"


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_rows(data: bytes, source: str, fmt: Format, required: tuple[str, ...],
              optional: tuple[str, ...], problems: list[Problem]) -> Iterator[Row]:
    """Yield (line, row) pairs; structural problems are appended to ``problems``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        problems.append(Problem(source, line, "file", f"invalid UTF-8 (byte 0x"
                                f"{data[e.start]:02x} at offset {e.start}, expected UTF-8 "
                                "text)"))
        return
    known = set(required) | set(optional)
    if fmt == "csv":
        yield from _csv_rows(text, source, required, known, problems)
    else:
        yield from _json_rows(text, source, fmt, required, known, problems)


def _csv_rows(text: str, source: str, required: tuple[str, ...], known: set[str],
              problems: list[Problem]) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        problems.append(Problem(source, 1, "header", "empty file (expected a header row with "
                                f"{', '.join(required)})"))
        return
    except csv.Error as e:
        problems.append(Problem(source, 1, "header", f"malformed CSV: {e}"))
        return
    columns = [h.strip() for h in header]
    missing = [c for c in required if c not in columns]
    if missing:
        problems.append(Problem(source, 1, "header", f"missing required column(s) "
                                f"{', '.join(missing)} (got {', '.join(columns)})"))
        return
    unknown = [c for c in columns if c not in known]
    if unknown:
        problems.append(Problem(source, 1, "header", f"unknown column(s) {', '.join(unknown)} "
                                f"(expected {', '.join(sorted(known))})"))
        return
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            problems.append(Problem(source, reader.line_num, "row", f"malformed CSV: {e}"))
            return
        line = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(columns):
            problems.append(Problem(source, line, "row", f"wrong number of fields (got "
                                    f"{len(cells)}, expected {len(columns)})"))
            continue
        yield line, {c: v.strip() for c, v in zip(columns, cells, strict=True)}


def _json_rows(text: str, source: str, fmt: Format, required: tuple[str, ...],
               known: set[str], problems: list[Problem]) -> Iterator[Row]:
    if fmt == "json":
        try:
            items = msgspec.json.decode(text.encode(), type=list[dict[str, object]])
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            problems.append(Problem(source, None, "document",
                                    f"expected a JSON array of objects ({e})"))
            return
        # A JSON array has no useful line numbers; the item's 1-based index is reported.
        numbered = list(enumerate(items, start=1))
    else:
        numbered = []
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                numbered.append((number, msgspec.json.decode(raw.encode(),
                                                            type=dict[str, object])))
            except (msgspec.DecodeError, msgspec.ValidationError) as e:
                problems.append(Problem(source, number, "row",
                                        f"expected one JSON object per line ({e})"))
    for line, item in numbered:
        unknown = sorted(set(item) - known)
        if unknown:
            problems.append(Problem(source, line, unknown[0], f"unknown field (expected one "
                                    f"of {', '.join(sorted(known))})"))
            continue
        missing = [c for c in required if c not in item or item[c] in (None, "")]
        if missing:
            for c in missing:
                problems.append(Problem(source, line, c, "missing (expected a value)"))
            continue
        yield line, {k: _as_text(v) for k, v in item.items()}


def read_source(path: str) -> tuple[bytes, str]:
    """The bytes of ``path`` (``-`` is stdin) and its display name."""
    if path == "-":
        return sys.stdin.buffer.read(), "-"
    return Path(path).read_bytes(), path
