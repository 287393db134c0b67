"""The report as plain-text tables for a terminal (``--format table``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from .layout import records
from .render import Table, shown, to_text
from .tables import Cell, Section

#: Sections that are always one record: printed as lines of ``column  value``.
_RECORDS = frozenset({"summary", "network_market", "programme"})


def _cell(value: Cell) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:,}"  # money is already at its minor unit; counts stay whole
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, int | date):
        return str(value)
    return value


def _numeric(section: Section) -> frozenset[str]:
    return frozenset(name for i, name in enumerate(section.columns)
                     if any(isinstance(row[i], Decimal | int) and not isinstance(row[i], bool)
                            for row in section.rows))


#: Sections whose rows are contracts: their ``contract`` column is the row's name.
_BY_CONTRACT = frozenset({"portfolio", "programme_contracts"})


def to_table_text(sections: Sequence[Section], width: int | None = None) -> str:
    """Each non-empty section as a titled table, laid out within ``width`` characters
    (None: no limit); the ``contract`` column is dropped (the first title names the
    contract)."""
    parts = []
    for s in sections:
        if not s.rows:
            parts.append(f"{s.title}: none")
            continue
        if len(s.rows) == 1 and s.name in _RECORDS:  # one record reads better as lines
            pairs = [(c, v) for c, v in zip(s.columns, s.rows[0], strict=True)
                     if c != "contract" or s.name == "summary"]
            parts.append(records([shown(s.title)], [c for c, _v in pairs],
                                 [[shown(_cell(v)) for _c, v in pairs]], width))
            continue
        keep = [i for i, c in enumerate(s.columns)
                if c != "contract" or s.name in _BY_CONTRACT]
        columns = tuple(s.columns[i] for i in keep)
        rows = [[_cell(row[i]) for i in keep] for row in s.rows]
        parts.append(to_text(Table(s.title, columns, rows, _numeric(s)), width))
    return "\n\n".join(parts)
