"""The programme report (DESIGN 10) as one self-contained HTML page, in the style of the
contract report (:mod:`.html`): the budget at a glance, then its contracts and funders,
each table the same :class:`~.tables.Section` the CSV holds."""

from __future__ import annotations

from decimal import Decimal

from .currency import money
from .html import page, table
from .people import for_people
from .programme import ProgrammeReport, programme_sections
from .provenance import Provenance


def programme_html(r: ProgrammeReport, provenance: Provenance | None = None) -> str:
    """The page; money in the programme's currency, and with ``provenance`` the line
    saying when it was generated, from which ledger head, as the contract pages do."""
    summary, contracts, funders = for_people(programme_sections(r), r.currency)
    used = (r.certified / r.budget * 100).quantize(Decimal("0.1")) if r.budget else None
    cash = {name: money(getattr(r, name), r.currency) for name in (
        "budget", "certified", "headroom", "above_budget", "forecast_at_targets",
        "forecast_over_budget")}
    return page(
        "programme.html.j2", f"Programme report: {r.reference}", provenance, r=r, used=used,
        cash=cash,
        summary=table(summary, "The programme in one row (as the CSV holds it)",
                      by_contract=True),
        contracts=table(contracts, "Each contract: earned, payable, certified through the "
                        "programme, owed above the budget, and its forecast at targets",
                        by_contract=True),
        funders=table(funders, "Each funder: committed, drawn so far, remaining"))
