"""The report as one self-contained HTML page: inline CSS and SVG, no scripts, no fetches.

It prints (``@media print``) as well as it reads on screen; headings, table captions
and chart text alternatives make it usable with a screen reader. Every table is a
:class:`~outcomeledger.report.tables.Section`, the same data as the CSV. The pages are
written by the templates in ``templates/`` (:mod:`.templating`, autoescaped); this
module gathers what they show.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal, NamedTuple

from markupsafe import Markup

from ..domain.ratings import Rating
from .charts import actual_vs_target, payable_vs_cap
from .currency import money
from .model import ContractReport, PeriodPerformance, PortfolioReport
from .people import for_people
from .provenance import Provenance
from .style import CSS
from .tables import Cell, Section, contract_sections, portfolio_sections
from .templating import render

_RATING_COLUMNS = frozenset({"rating", "overall_rating"})
_NAV = (("performance", "Performance"), ("payments", "Payments and caps"),
        ("returns", "Returns"), ("register", "Restatements and clawbacks"),
        ("variations", "Variations"), ("network", "Delivery network"),
        ("payers", "Payer split"), ("social-value", "Social value"),
        ("verify", "How to check"))


class CellView(NamedTuple):
    """One table cell as the template writes it: its text (or rating) and class."""

    kind: Literal["none", "text", "rating"]
    text: str
    cls: str


class TableView(NamedTuple):
    """A captioned table (its wrapper's id ``data-NAME``, which a chart's caption links
    to); no rows: a line saying none is recorded."""

    name: str
    caption: str
    head: tuple[str, ...]
    rows: tuple[tuple[CellView, ...], ...]


def _cell(value: Cell, column: str) -> CellView:
    """One table cell. Amounts of money are :class:`~.currency.Money` (see
    :func:`.people.for_people`) and write themselves with the currency's sign."""
    if value is None:
        return CellView("none", "", "none")
    if isinstance(value, bool):
        return CellView("text", "yes" if value else "no", "")
    if isinstance(value, Decimal):
        return CellView("text", f"{value:,}", "num")
    if isinstance(value, int):
        return CellView("text", str(value), "num")
    if isinstance(value, datetime):
        return CellView("text", value.strftime("%Y-%m-%d %H:%M UTC"), "")
    if isinstance(value, date):
        return CellView("text", value.isoformat(), "")
    if column in _RATING_COLUMNS:
        return CellView("rating", value, "")
    return CellView("text", value, "")


def table(section: Section, caption: str | None = None, *,
          by_contract: bool = False) -> TableView:
    """A section as a table; the ``contract`` column is dropped unless rows are
    contracts."""
    rows = section.rows
    # The contract column repeats the page's subject; an all-blank text column (no
    # providers, no participants) only squeezes the columns that say something.
    cols = [i for i, c in enumerate(section.columns)
            if (by_contract or c != "contract") and any(r[i] != "" for r in rows)]
    numeric = {i for i in cols if any(isinstance(r[i], Decimal | int)
                                      and not isinstance(r[i], bool) for r in rows)}
    body = []
    for row in rows:
        cells = []
        for i in cols:
            view = _cell(row[i], section.columns[i])
            if view.kind == "none" and i in numeric:
                view = view._replace(cls="num none")  # keep the column's alignment
            cells.append(view)
        body.append(tuple(cells))
    return TableView(section.name, caption or section.title,
                     tuple(section.columns[i].replace("_", " ") for i in cols), tuple(body))


def page(template: str, title: str, provenance: Provenance | None, **context: object) -> str:
    """A page: the stylesheet inlined (a constant of ours, marked safe) and, with
    ``provenance``, a closing line saying when, from which ledger head and by which
    version it was generated."""
    return render(template, title=title, css=Markup(CSS),  # noqa: S704 (our constant)
                  provenance=provenance, **context)


def _targets(r: ContractReport) -> list[tuple[str, Decimal, Decimal, Rating]]:
    items = [(o.code, o.cumulative.actual, o.cumulative.target, o.cumulative.rating)
             for o in r.performance.outcomes if o.cumulative.target is not None]
    items += [(f"{c.code} (social value)", c.delivered, c.target, c.rating)
              for m in r.social_value for c in m.commitments]
    return items


class Matrix(NamedTuple):
    """Per-period performance as outcomes x periods: far shorter than one row per pair.
    A cell is ``None`` where the outcome was not in force."""

    periods: tuple[str, ...]
    rows: tuple[tuple[str, tuple[PeriodPerformance | None, ...]], ...]


def _matrix(r: ContractReport) -> Matrix:
    outcomes = [o for o in r.performance.outcomes if o.periods]
    periods = tuple(dict.fromkeys(p.period for o in outcomes for p in o.periods))
    rows = []
    for o in outcomes:
        by_period = {p.period: p for p in o.periods}
        rows.append((o.code, tuple(by_period.get(period) for period in periods)))
    return Matrix(periods, tuple(rows))


def _svg(chart: str) -> Markup:
    """A chart's SVG as vl-convert wrote it, its words escaped by :mod:`.charts`."""
    return Markup(chart)  # noqa: S704 (rendered by vl-convert from our own specification)


def contract_html(r: ContractReport, provenance: Provenance | None = None) -> str:
    # Every section as its HTML table, money in the contract's currency.
    s = {x.name: table(x) for x in for_people(contract_sections(r), r.currency)}
    pay, cur, scale = r.payments, r.currency, r.performance.ratings
    contract_cap = next((c for c in pay.caps if c.kind == "contract"), None)
    figures = [("Earned at the rate card", money(pay.earned, cur)),
               ("Above caps (earned, not payable)", money(pay.above_cap, cur)),
               ("Payable", money(pay.payable, cur)), ("Certified", money(pay.certified, cur)),
               ("Contract cap headroom", "no contract cap" if contract_cap is None
                else f"{money(contract_cap.headroom, cur)} of "
                     f"{money(contract_cap.limit, cur)}")]
    targets = _targets(r)
    targets_chart = actual_vs_target("chart-targets", targets, scale)
    payable_chart = payable_vs_cap("chart-payable", pay.periods, cur)
    return page(
        "contract.html.j2", f"Accountability report: {r.reference}", provenance, r=r, s=s,
        figures=figures, nav=_nav(r), matrix=_matrix(r),
        integrator=next((x for x in r.network.providers if not x.id), None),
        targets_chart=targets_chart and (_svg(targets_chart), _svg(actual_vs_target(
            "chart-targets-narrow", targets, scale, narrow=True))),
        payable_chart=payable_chart and (_svg(payable_chart), _svg(payable_vs_cap(
            "chart-payable-narrow", pay.periods, cur, narrow=True))))


def _nav(r: ContractReport) -> tuple[tuple[str, str], ...]:
    """The section links: the improvement test after performance, and the options and
    business cases after the variations, where the contract has them."""
    nav = list(_NAV)
    if r.improvement is not None:
        nav.insert(1, ("improvement", "Improvement test"))
    at = nav.index(("variations", "Variations")) + 1
    if r.business_cases:
        nav.insert(at, ("business-cases", "Business cases"))
    if r.options:
        nav.insert(at, ("options", "Options"))
    return tuple(nav)


def portfolio_html(p: PortfolioReport, provenance: Provenance | None = None) -> str:
    (section,) = for_people(portfolio_sections(p))
    return page("portfolio.html.j2", "Accountability report: portfolio", provenance, p=p,
                contracts=table(section, "Every contract: payments, caps, rating, returns",
                                by_contract=True))
