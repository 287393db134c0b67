"""Tidy CSV: one table per section, safe to open in a spreadsheet.

A text cell that starts like a formula (``= + - @``, tab, carriage return) gets a
leading apostrophe, so a provider-supplied name such as ``=HYPERLINK(...)`` is shown,
never run. Numbers are never touched: -10400.00 stays a number a spreadsheet can add.
The cell's type decides, not its text: a name "-5" is text and is neutralised.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from ..money import fmt
from ..timestamps import rfc3339
from .tables import Cell, Section

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return fmt(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    return "'" + value if value.startswith(_FORMULA_START) else value


def section_csv(section: Section) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(section.columns)
    writer.writerows([cell(v) for v in row] for row in section.rows)
    return out.getvalue()


def to_csv(sections: Sequence[Section]) -> str:
    """Every section on one stream, each introduced by a ``# name`` line."""
    return "".join(f"# {s.name}\n{section_csv(s)}" for s in sections)


def csv_files(sections: Sequence[Section], directory: Path) -> dict[Path, bytes | str]:
    """One ``<section>.csv`` file per section in ``directory``: the paths and their text
    (the command line writes them, each whole, see ``cli.output``)."""
    return {directory / f"{s.name}.csv": section_csv(s) for s in sections}
