"""Returns files (DESIGN 4.3) -> SubmitReturn commands, one per (contract, period, provider).

Every problem in a file is collected (not just the first) and reported as
``FILE:LINE: field: message``; nothing is written unless the whole import is valid.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..commands import SubmitReturn
from ..errors import Problem
from ..events import Figure, Source
from ..money import parse_decimal
from .rows import Format, read_rows

REQUIRED = ("contract", "period", "outcome", "value")
OPTIONAL = ("provider", "participant", "achieved_on", "evidence")


@dataclass(frozen=True, slots=True)
class ParsedFile:
    source: Source
    rows: int
    commands: dict[tuple[str, str, str], SubmitReturn]


def parse_returns(data: bytes, name: str, fmt: Format, problems: list[Problem], *,
                  restate: bool = False, reason: str = "") -> ParsedFile:
    source = Source(file=name, sha256=hashlib.sha256(data).hexdigest())
    groups: dict[tuple[str, str, str], dict[tuple[str, str], Figure]] = defaultdict(dict)
    count = 0
    for line, row in read_rows(data, name, fmt, REQUIRED, OPTIONAL, problems):
        count += 1
        bad = False
        for column in ("contract", "period", "outcome"):
            if not row.get(column):
                problems.append(Problem(name, line, column, "missing (expected a value)"))
                bad = True
        raw_value = row.get("value", "")
        value = Decimal(0)
        if not raw_value:
            problems.append(Problem(name, line, "value", "missing (expected a number)"))
            bad = True
        else:
            try:
                value = parse_decimal(raw_value)
            except ValueError:
                problems.append(Problem(name, line, "value", f"not a finite number (got "
                                        f"{raw_value!r}, expected a decimal like 12 or 3.5)"))
                bad = True
        achieved: date | None = None
        if row.get("achieved_on"):
            try:
                achieved = date.fromisoformat(row["achieved_on"])
            except ValueError:
                problems.append(Problem(name, line, "achieved_on", f"not an ISO date (got "
                                        f"{row['achieved_on']!r}, expected YYYY-MM-DD)"))
                bad = True
        if bad:
            continue
        key = (row["contract"], row["period"], row.get("provider", ""))
        figure = Figure(outcome=row["outcome"], value=value,
                        participant=row.get("participant", ""), achieved_on=achieved,
                        evidence=row.get("evidence", ""), line=line)
        fkey = (figure.outcome, figure.participant)
        previous = groups[key].get(fkey)
        if previous is not None:
            if previous.value != figure.value:
                problems.append(Problem(name, line, "value", f"same key as line "
                                        f"{previous.line} with a different value (got "
                                        f"{figure.value}, line {previous.line} has "
                                        f"{previous.value})"))
            continue
        groups[key][fkey] = figure
    commands = {
        key: SubmitReturn(period=key[1], provider=key[2], figures=tuple(figs.values()),
                          source=source, restate=restate, reason=reason)
        for key, figs in groups.items()
    }
    return ParsedFile(source, count, commands)
