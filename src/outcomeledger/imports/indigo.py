"""Reading one INDIGO project (data standard v4.1) as a contract definition and returns.

INDIGO (the Government Outcomes Lab's data on impact bonds) wraps every leaf as
``{"value": …}`` and is messy: amounts as prose ("$8,000,000", "C$1.3M", "=M33"), periods
such as "2018-13", results as prose. Nothing here guesses. What would change the money
terms of the contract if misread (a price, a cap, the currency, the dates) is refused with
the INDIGO field that holds it; what the contract can stand without (a metric with no
price, a result with no number) is skipped with a line naming the field and value.
docs/formats.md ("INDIGO import") lists every rule.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from ..domain.commands import Command
from ..domain.errors import InvalidInput, Problem
from ..domain.events import Source
from .batch import Batch, Parsed
from .document_problems import json_lines
from .indigo_fields import Key, Reader
from .indigo_results import ResultRow, result_rows
from .indigo_terms import contract_document
from .returns import OPTIONAL, REQUIRED, read_returns
from .rows import read_table

_JSON = msgspec.json.Decoder(float_hook=Decimal)


@dataclass
class IndigoProject:
    """What one INDIGO file gives: a contract document (DESIGN 4.1, as a dict), the
    returns rows read from its numeric ``results[]``, and every field skipped."""

    document: dict[str, Any]
    returns: list[ResultRow]
    skipped: list[Problem] = field(default_factory=list)


def read_indigo(path: Path, reference: str | None = None) -> IndigoProject:
    """Read ``path`` as an INDIGO project; InvalidInput lists every refused field."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput([Problem(source, None, "file", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput([Problem(source, None, "file", f"cannot read ({e}; expected "
                                    "a UTF-8 INDIGO project JSON file)")]) from None
    try:
        raw = _JSON.decode(text.encode())
    except (msgspec.DecodeError, RecursionError) as e:
        raise InvalidInput([Problem(source, None, "document", f"invalid JSON ({e}; "
                                    "expected an INDIGO project JSON file)")]) from None
    data, project_id, prefix = _unwrap(source, raw)
    reader = Reader(source, json_lines(text), prefix)
    reference = reference or project_id
    if not reference:
        reader.refuse(("project", "id"), "no project id (expected the INDIGO API's "
                      '{"project": {"id": …}} or --reference REF)')
    document = contract_document(reader, data, reference or "")
    rows = result_rows(reader, data, reference or "", document) if document else []
    def in_file_order(problem: Problem) -> int:
        return problem.line or 0

    if reader.problems:
        raise InvalidInput(sorted(reader.problems, key=in_file_order))
    assert document is not None
    return IndigoProject(document, rows, sorted(reader.skipped, key=in_file_order))


def _unwrap(source: str, raw: Any) -> tuple[dict[str, Any], str | None, Key]:
    """The project's data object and id: the INDIGO API's ``{"project": {"id", "data"}}``
    or a bare data object (its id then comes from --reference)."""
    project = raw.get("project") if isinstance(raw, dict) else None
    if isinstance(project, dict) and isinstance(project.get("data"), dict):
        ident = project.get("id")
        return project["data"], ident if isinstance(ident, str) else None, ("project", "data")
    if isinstance(raw, dict) and ("outcome_pricings" in raw or "outcome_metrics" in raw):
        return raw, None, ()
    raise InvalidInput([Problem(source, None, "document", (
        f"not an INDIGO project (got {_kind(raw)}"
        '; expected {"project": {"id": …, "data": {…}}} as the INDIGO API gives it, or a '
        "project's data with outcome_metrics and outcome_pricings)"))])


def indigo_returns(path: Path, rows: list[ResultRow]) -> Sequence[tuple[str, Command]]:
    """The rows as the commands ``returns import`` would decide for the same figures,
    their source the INDIGO file (its name and SHA-256)."""
    if not rows:
        return []
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(REQUIRED), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    problems: list[Problem] = []
    name = f"{path}#results"
    table = read_table(io.BytesIO(text.getvalue().encode()), name, "csv", REQUIRED,
                       OPTIONAL, problems)
    returns = read_returns(table, name, problems)
    if problems:
        raise InvalidInput(problems)
    source = Source(file=str(path), sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    return list(Batch([Parsed(returns, source)], restate=False, reason=""))


def _kind(raw: Any) -> str:
    if isinstance(raw, dict):
        return "an object with keys " + ", ".join(map(str, list(raw)[:5]))
    return f"a JSON {type(raw).__name__}"


__all__ = ["IndigoProject", "indigo_returns", "read_indigo"]
