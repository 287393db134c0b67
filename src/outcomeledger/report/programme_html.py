"""The programme report (DESIGN 10) as one self-contained HTML page, in the style of the
contract report (:mod:`.html`): the budget at a glance, then its contracts and funders,
each table the same :class:`~.tables.Section` the CSV holds."""

from __future__ import annotations

from decimal import Decimal

from .html import page, table
from .programme import ProgrammeReport, programme_sections


def programme_html(r: ProgrammeReport) -> str:
    summary, contracts, funders = programme_sections(r)
    used = (r.certified / r.budget * 100).quantize(Decimal("0.1")) if r.budget else None
    return page(
        "programme.html.j2", f"Programme report: {r.reference}", None, r=r, used=used,
        summary=table(summary, "The programme in one row (as the CSV holds it)",
                      by_contract=True),
        contracts=table(contracts, "Each contract: earned, payable, certified through the "
                        "programme, owed above the budget, and its forecast at targets",
                        by_contract=True),
        funders=table(funders, "Each funder: committed, drawn so far, remaining"))
