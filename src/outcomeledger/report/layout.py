"""Tables laid out for a terminal of a given width: as they are when they fit; else the
widest text columns wrapped (numbers never are); else, when even that cannot fit, one
record per row (``column  value`` lines).

Our own layout rather than a table library: every table keeps exactly its old form when it
fits (the golden outputs, ``--as-of`` answers compared with what was printed then), a
terminal table has no colour to switch off, and the command line needs no new
dependency. Widths count characters; cells are already escaped (:func:`render.shown`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

#: Between two columns.
GAP = "  "
#: A text column is never wrapped narrower than this (unless all of it is narrower).
MIN_TEXT = 10
#: A word longer than this (a hash, a path) may be cut to let its column wrap.
LONG_WORD = 16


def lay_out(title: Sequence[str], columns: Sequence[str], rows: Sequence[Sequence[str]],
            numeric: frozenset[str], width: int | None) -> str:
    """The table's text; ``width`` None: no limit (one line per row, as wide as it is)."""
    natural = [len(c) for c in columns]
    for row in rows:
        natural = [max(w, len(c)) for w, c in zip(natural, row, strict=True)]
    if width is not None and _total(natural) > width:
        fitted = _fit(columns, rows, natural, numeric, width)
        if fitted is None:
            return records(title, columns, rows, width)
        natural = fitted
    titles = _wrap_lines(title, width)
    return "\n".join([*titles, *_grid(columns, rows, numeric, natural)])


def _total(widths: Sequence[int]) -> int:
    return sum(widths) + len(GAP) * (len(widths) - 1)


def _fit(columns: Sequence[str], rows: Sequence[Sequence[str]], natural: list[int],
         numeric: frozenset[str], width: int) -> list[int] | None:
    """Column widths within ``width``: the widest text columns narrowed first, each to no
    less than its longest word (so a reference or a name is not cut in two; at most
    ``LONG_WORD``, at least ``MIN_TEXT``); None when that is not enough."""
    floors = []
    for i, (w, name) in enumerate(zip(natural, columns, strict=True)):
        if name in numeric:
            floors.append(w)
            continue
        longest = max(len(word) for cell in (name, *(row[i] for row in rows))
                      for word in (cell.split() or [""]))
        floors.append(min(w, max(MIN_TEXT, min(longest, LONG_WORD))))
    if _total(floors) > width:
        return None
    widths = list(natural)
    while _total(widths) > width:
        # The widest column that may still shrink gives up one character.
        i = max((j for j in range(len(widths)) if widths[j] > floors[j]),
                key=lambda j: widths[j])
        widths[i] -= 1
    return widths


def _wrap(cell: str, width: int) -> list[str]:
    if len(cell) <= width:
        return [cell]
    return textwrap.wrap(cell, width, break_on_hyphens=False) or [""]


def _wrap_lines(lines: Sequence[str], width: int | None) -> list[str]:
    if width is None:
        return list(lines)
    return [part for line in lines for part in (_wrap(line, width) if line else [""])]


def _grid(columns: Sequence[str], rows: Sequence[Sequence[str]], numeric: frozenset[str],
          widths: Sequence[int]) -> list[str]:
    def lines(cells: Sequence[str]) -> list[str]:
        wrapped = [_wrap(c, w) for c, w in zip(cells, widths, strict=True)]
        height = max(len(w) for w in wrapped)
        out = []
        for k in range(height):
            out.append(GAP.join(
                (part[k] if k < len(part) else "").rjust(w) if name in numeric
                else (part[k] if k < len(part) else "").ljust(w)
                for part, w, name in zip(wrapped, widths, columns, strict=True)).rstrip())
        return out

    out = [*lines(columns), GAP.join("-" * w for w in widths)]
    for row in rows:
        out += lines(row)
    return out


def records(title: Sequence[str], columns: Sequence[str], rows: Sequence[Sequence[str]],
            width: int | None) -> str:
    """One record per row, a blank line between: ``column  value`` lines, each value
    wrapped under itself within ``width`` (None: no limit)."""
    label = max(len(c) for c in columns)
    room = None if width is None else max(width - label - len(GAP), MIN_TEXT)
    out = _wrap_lines(title, width)
    for n, row in enumerate(rows):
        if n:
            out.append("")
        for name, cell in zip(columns, row, strict=True):
            parts = _wrap(cell, room) if cell and room is not None else [cell]
            out.append(f"{name.ljust(label)}{GAP}{parts[0]}".rstrip())
            out += [f"{'':{label}}{GAP}{p}".rstrip() for p in parts[1:]]
    return "\n".join(out)
