"""The fields of an INDIGO project: leaves wrapped as ``{"value": …}``, read strictly.

Every refusal and every skipped field names the INDIGO field path (under the project's
``data``) and its line in the file.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import msgspec

from ..domain.errors import Problem
from .document_problems import Lines, dotted, line_of

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})(?:-([0-9]{2}))?")
Key = tuple[str | int, ...]


class Reader:
    """One INDIGO file being read: its source name, the line of each key, the problems
    that refuse it and the fields skipped."""

    def __init__(self, source: str, lines: Lines, prefix: Key) -> None:
        self.source, self.lines, self.prefix = source, lines, prefix
        self.problems: list[Problem] = []
        self.skipped: list[Problem] = []

    def _problem(self, path: Key, message: str) -> Problem:
        return Problem(self.source, line_of(self.lines, (*self.prefix, *path)),
                       dotted(path) or "document", message)

    def refuse(self, path: Key, message: str) -> None:
        self.problems.append(self._problem(path, message))

    def skip(self, path: Key, message: str) -> None:
        self.skipped.append(self._problem(path, f"skipped: {message}"))

    def leaf(self, data: Any, path: Key) -> tuple[Any, Key]:
        """The ``value`` of the leaf at ``path`` under ``data`` (None when absent)."""
        node = data
        for part in path:
            if isinstance(part, int):
                node = node[part] if isinstance(node, list) and part < len(node) else None
            else:
                node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return None, (*path, "value")
        if not isinstance(node, dict):
            self.refuse(path, f"not an INDIGO leaf (got {shown(node)}, expected "
                        '{"value": …})')
            return None, (*path, "value")
        value = node.get("value")
        return (None if value == "" else value), (*path, "value")

    def amount(self, data: Any, path: Key, what: str = "amount") -> Decimal | None:
        """An amount or count at ``path``: a number, or text that is exactly one; refused
        otherwise (money read from prose would be a guess)."""
        value, where = self.leaf(data, path)
        if value is None:
            return None
        number = as_number(value)
        if number is None:
            self.refuse(where, f"{what} as prose (got {shown(value)}, expected a number)")
        return number

    def date(self, data: Any, path: Key, *, end: bool) -> date | None:
        value, where = self.leaf(data, path)
        if value is None:
            return None
        day = as_date(value, end=end)
        if day is None:
            self.refuse(where, f"not a date (got {shown(value)}, expected YYYY-MM or "
                        "YYYY-MM-DD: a real month, and a day in it)")
        return day

    def text(self, data: Any, path: Key) -> str | None:
        value, where = self.leaf(data, path)
        if value is None or isinstance(value, str):
            return value.strip() if isinstance(value, str) else None
        self.refuse(where, f"not text (got {shown(value)}, expected a string)")
        return None


def as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return Decimal(value.strip())
    return None


def as_date(value: Any, *, end: bool) -> date | None:
    """``YYYY-MM`` (the first or, for an end, the last day of that month) or
    ``YYYY-MM-DD``; None for anything else, "2018-13" included."""
    m = _DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    if m is None:
        return None
    year, month = int(m[1]), int(m[2])
    try:
        if m[3] is not None:
            return date(year, month, int(m[3]))
        if not end:
            return date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        return date.fromordinal(following.toordinal() - 1)
    except ValueError:
        return None


def shown(value: Any) -> str:
    text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    return f'"{text}"' if isinstance(value, str) else text
