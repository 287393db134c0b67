"""costs import (DESIGN 11, shared risk on cost)"""

from __future__ import annotations

import click

from ..imports.costs import import_costs
from .returns import import_command


@click.group()
def costs() -> None:
    """Import the costs of contracts sharing risk on cost."""


costs.add_command(import_command(
    import_costs, "costs", "amounts", "Import costs (CSV, NDJSON or JSON: contract, period, "
    "category, amount, evidence; - is standard input) of contracts with a [risk_share]: "
    "all files in one transaction, or nothing at all."))


COMMANDS = [costs]
