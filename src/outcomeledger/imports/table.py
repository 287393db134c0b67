"""The one shape every input reader yields, whatever the format: a :class:`Table` of
columns and a one-pass iterator of rows, each row ``(line, cells)`` with the cells in the
order of the columns. Separate from the readers (``csv_rows``, ``json_rows``) so that they
and the readers of returns and adjustments share it without importing each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

Row = tuple[int, list[str]]

# The CSV module's default limit (128 KiB) would refuse a long evidence note; this
# still bounds a runaway unclosed quote. JSON cells are held to the same limit: a field
# is stored for ever, whichever format brought it.
FIELD_LIMIT = 1 << 24


def is_blank(cells: Iterable[str]) -> bool:
    return all(not c.strip() for c in cells)


@dataclass(frozen=True, slots=True)
class Table:
    """The columns of a file and a one-pass iterator over its rows."""

    columns: tuple[str, ...]
    rows: Iterator[Row] = field(default_factory=lambda: iter(()))

