"""Costs files (DESIGN 11, shared risk on cost): rows ``contract, period, category,
amount`` (and ``evidence``), one command per (contract, period).

Read and imported by the returns machinery (:mod:`.returns`, :mod:`.importer`): the same
formats (CSV, NDJSON, JSON), every problem of every file at its line, all files in one
transaction or none, re-importing a file a no-op, a changed amount refused unless
``--restate --reason``, and the same receipt. One difference: a row repeating another
is refused rather than counted once, since two rows of one category would be two costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from ..domain.commands import Command, Meta, ReportCosts
from ..domain.events import Cost, Source
from ..storage.store import Ledger
from .batch import ImportReceipt
from .importer import import_returns
from .returns import Columns, Return
from .sources import OnRead

REQUIRED = ("contract", "period", "category", "amount")
OPTIONAL = ("evidence",)


def _report(ret: Return, source: Source, restate: bool, reason: str) -> Command:
    """The period's costs as one command (``category`` is the figure's key, ``amount``
    its value)."""
    details = ret.details or {}
    costs = tuple(Cost(category=str(key), amount=value, evidence=details.get(i, (None, ""))[1],
                       line=line)
                  for i, (key, value, line) in enumerate(zip(ret.keys, ret.values, ret.lines,
                                                             strict=True)))
    return ReportCosts(period=ret.period, costs=costs, source=source, restate=restate,
                       reason=reason)


COSTS = Columns(REQUIRED, OPTIONAL, "category", "amount", _report, repeats_counted=False)


def import_costs(ledger: Ledger, paths: Sequence[str], meta: Meta, *,
                 input_format: str | None = None, restate: bool = False, reason: str = "",
                 dry_run: bool = False, on_read: OnRead | None = None,
                 received_on: date | None = None) -> list[ImportReceipt]:
    """Import every costs file (``-`` is standard input) as one transaction, as
    :func:`.importer.import_returns` does returns."""
    return import_returns(ledger, paths, meta, input_format=input_format, restate=restate,
                          reason=reason, dry_run=dry_run, on_read=on_read,
                          received_on=received_on, columns=COSTS)
