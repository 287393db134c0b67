"""Tidy CSV: one table per section, safe to open in a spreadsheet.

A text cell a spreadsheet would run as a formula gets a leading apostrophe, by the one
rule every CSV output uses (``render.would_be_formula``), so a provider-supplied name such
as ``=HYPERLINK(...)`` is shown, never run, while a lone ``-`` or ``-5`` is left as it is.
Numbers are never touched: -10400.00 stays a number a spreadsheet can add.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from ..domain.money import fmt
from ..domain.timestamps import rfc3339
from .render import would_be_formula
from .tables import Cell, Section


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
    return "'" + value if would_be_formula(value) else value


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
