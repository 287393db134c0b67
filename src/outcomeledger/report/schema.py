"""The published shape of ``report --format json``: a JSON Schema generated from the Structs.

``projections/report.schema.json`` holds these exact bytes; a test regenerates them and
fails on any drift. To publish a change: ``python -m outcomeledger.report.schema
projections/report.schema.json``, describe it in ``projections/REPORT.md`` and note it in
``CHANGELOG.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import msgspec

from ..projections.schema import normalised
from .model import FORMAT, FORMAT_VERSION, ContractReport, PortfolioReport
from .programme import ProgrammeReport

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def report_schema() -> dict[str, Any]:
    (contract, portfolio, programme), defs = normalised(msgspec.json.schema_components(
        (ContractReport, PortfolioReport, ProgrammeReport), ref_template="#/$defs/{name}"))
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": "report.schema.json",
        "title": "outcomeledger report",
        "description": f"`report REF --format json` (a ContractReport), `report --all "
                       f"--format json` (a PortfolioReport) or `report --programme REF "
                       f"--format json` (a ProgrammeReport); format {FORMAT!r} version "
                       f"{FORMAT_VERSION}. Money and quantities are decimal strings.",
        "oneOf": [contract, portfolio, programme],
        "$defs": defs,
    }


def schema_bytes() -> bytes:
    return msgspec.json.format(msgspec.json.encode(report_schema()), indent=2) + b"\n"


if __name__ == "__main__":
    Path(sys.argv[1]).write_bytes(schema_bytes())
