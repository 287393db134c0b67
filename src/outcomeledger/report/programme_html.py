"""The programme report (DESIGN 10) as one self-contained HTML page, in the style of the
contract report (:mod:`.html`): the budget at a glance, then its contracts and funders,
each table the same :class:`~.tables.Section` the CSV holds."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from .html import page, table, verify_section
from .programme import ProgrammeReport, programme_sections


def _money(value: Decimal, currency: str) -> str:
    return f"{value:,} {escape(currency)}"


def programme_html(r: ProgrammeReport) -> str:
    summary, contracts, funders = programme_sections(r)
    used = (r.certified / r.budget * 100).quantize(Decimal("0.1")) if r.budget else None
    facts = [("Budget", _money(r.budget, r.currency)),
             ("Certified", _money(r.certified, r.currency)
              + (f" ({used}% of the budget)" if used is not None else "")),
             ("Headroom", _money(r.headroom, r.currency)),
             ("Owed above the budget", _money(r.above_budget, r.currency)),
             ("Forecast at targets", _money(r.forecast_at_targets, r.currency)
              + (f", {_money(r.forecast_over_budget, r.currency)} over the budget"
                 if r.forecast_over_budget else ", within the budget"))]
    body = [
        '<header><p class="kicker">Programme report</p>',
        f"<h1>{escape(r.reference)}: {escape(r.title)}</h1>",
        f'<p class="lead">{escape(r.start)} to {escape(r.end)}; {len(r.contracts)} '
        f"contract(s), {len(r.funders)} funder(s), {r.draws} payment run(s) drawn"
        + (f"; as of {escape(r.as_of)}" if r.as_of else "") + ".</p></header>",
        "<main>",
        '<section aria-labelledby="budget-h"><h2 id="budget-h">The budget</h2><dl>',
        *(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in facts), "</dl>",
        table(summary, caption="The programme in one row (as the CSV holds it)",
              by_contract=True), "</section>",
        '<section aria-labelledby="contracts-h"><h2 id="contracts-h">Contracts</h2>',
        table(contracts, caption="Each contract: earned, payable, certified through the "
              "programme, owed above the budget, and its forecast at targets",
              by_contract=True), "</section>",
        '<section aria-labelledby="funders-h"><h2 id="funders-h">Funders</h2>',
        table(funders, caption="Each funder: committed, drawn so far, remaining"),
        "</section>", verify_section(r.head.position, r.head.hash), "</main>"]
    return page(f"Programme report: {r.reference}", body)
