"""The report as one self-contained HTML page: inline CSS and SVG, no scripts, no fetches.

It prints (``@media print``) as well as it reads on screen; headings, table captions
and chart text alternatives make it usable with a screen reader. Every table is a
:class:`~outcomeledger.report.tables.Section`, the same data as the CSV.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from html import escape

from ..domain.ratings import Rating
from .charts import actual_vs_target, payable_vs_cap
from .currency import money
from .improvement_model import Improvement, ImprovementResult, PoolTest
from .model import ContractReport, PortfolioReport
from .people import for_people
from .provenance import Provenance
from .register_model import Returns
from .style import CSS
from .tables import Cell, Section, contract_sections, portfolio_sections

_RATING_COLUMNS = frozenset({"rating", "overall_rating"})
_NAV = (("performance", "Performance"), ("payments", "Payments and caps"),
        ("returns", "Returns"), ("register", "Restatements and clawbacks"),
        ("variations", "Variations"), ("network", "Delivery network"),
        ("payers", "Payer split"), ("social-value", "Social value"),
        ("verify", "How to check"))


def _amount(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,}"


def _badge(rating: str) -> str:
    return f'<span class="rating r-{rating.replace(" ", "-")}">{escape(rating)}</span>'


def _cell(value: Cell, column: str) -> tuple[str, str]:
    """(HTML, class) of one table cell."""
    if value is None:
        return '<span aria-label="none">—</span>', "none"
    if isinstance(value, bool):
        return ("yes" if value else "no"), ""
    if isinstance(value, Decimal):
        return f"{value:,}", "num"
    if isinstance(value, int):
        return str(value), "num"
    if isinstance(value, datetime):
        return escape(value.strftime("%Y-%m-%d %H:%M UTC")), ""
    if isinstance(value, date):
        return value.isoformat(), ""
    if column in _RATING_COLUMNS:
        return _badge(value), ""
    return escape(value), ""


def table(section: Section, keep: Callable[[tuple[Cell, ...]], bool] = lambda _r: True,
           caption: str | None = None, *, by_contract: bool = False) -> str:
    """A captioned table (its wrapper's id ``data-NAME``, which a chart's caption links
    to); the ``contract`` column is dropped unless rows are contracts.
    Amounts of money are :class:`~.currency.Money` (see :func:`.people.for_people`) and
    write themselves with the currency's sign."""
    rows = [r for r in section.rows if keep(r)]
    if not rows:
        return f"<p class=\"empty\">{escape(caption or section.title)}: none recorded.</p>"
    # The contract column repeats the page's subject; an all-blank text column (no
    # providers, no participants) only squeezes the columns that say something.
    cols = [i for i, c in enumerate(section.columns)
            if (by_contract or c != "contract") and any(r[i] != "" for r in rows)]
    numeric = {i for i in cols if any(isinstance(r[i], Decimal | int)
                                      and not isinstance(r[i], bool) for r in rows)}
    head = "".join(f'<th scope="col">{escape(section.columns[i].replace("_", " "))}</th>'
                   for i in cols)
    body = []
    for row in rows:
        cells = []
        for n, i in enumerate(cols):
            html, cls = _cell(row[i], section.columns[i])
            if cls == "none" and i in numeric:
                cls = "num none"  # keep the column's alignment
            tag = "th" if n == 0 else "td"
            attrs = (' scope="row"' if n == 0 else "") + (f' class="{cls}"' if cls else "")
            cells.append(f"<{tag}{attrs}>{html}</{tag}>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll" id="data-{section.name}"><table>'
            f"<caption>{escape(caption or section.title)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def page(title: str, body: Sequence[str], provenance: Provenance | None = None) -> str:
    """The page; with ``provenance``, a closing line saying when, from which ledger head
    and by which version it was generated."""
    if provenance is not None:
        body = [*body, f'<footer><p class="provenance">{escape(provenance.line())}</p>'
                "</footer>"]
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>", '<link rel="icon" href="data:,">',
        f"<style>{CSS}</style>", "</head>", "<body>", *body, "</body>", "</html>", ""])


def verify_section(position: int, digest: str, extra: str = "") -> str:
    return (f'<section id="verify" aria-labelledby="verify-h"><h2 id="verify-h">How to check '
            f"this report</h2><p>Computed from the ledger up to position {position}, whose "
            f"head hash is <code class=\"hash\">{digest}</code>{extra}. Anyone holding the "
            "ledger or an evidence pack can recompute it: "
            f"<code>outcomeledger audit verify --head {position}:{digest}</code>.</p></section>")


def _targets(r: ContractReport) -> list[tuple[str, Decimal, Decimal, Rating]]:
    items = [(o.code, o.cumulative.actual, o.cumulative.target, o.cumulative.rating)
             for o in r.performance.outcomes if o.cumulative.target is not None]
    items += [(f"{c.code} (social value)", c.delivered, c.target, c.rating)
              for m in r.social_value for c in m.commitments]
    return items


def _matrix(r: ContractReport) -> str:
    """Per-period performance as outcomes x periods: far shorter than one row per pair."""
    outcomes = [o for o in r.performance.outcomes if o.periods]
    periods = list(dict.fromkeys(p.period for o in outcomes for p in o.periods))
    if not periods:
        return '<p class="empty">No period has a return or a target yet.</p>'
    head = "".join(f'<th scope="col" class="num">{escape(p)}</th>' for p in periods)
    body = []
    for o in outcomes:
        by_period = {p.period: p for p in o.periods}
        cells = []
        for period in periods:
            x = by_period.get(period)
            if x is None:
                cells.append('<td class="num none"><span aria-label="not in force">—</span></td>')
            elif x.target is None:
                cells.append(f'<td class="num">{x.actual:,}</td>')
            else:
                cells.append(f'<td class="num">{x.actual:,} of {x.target:,}<br>'
                             f"{_badge(x.rating)}</td>")
        body.append(f'<tr><th scope="row">{escape(o.code)}</th>{"".join(cells)}</tr>')
    return ('<div class="scroll"><table><caption>Actual per outcome and period (with the '
            "period's target and rating where it has one; periods with a return or a "
            f'target)</caption><thead><tr><th scope="col">outcome</th>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def contract_html(r: ContractReport, provenance: Provenance | None = None) -> str:
    # Every section as its HTML table, money in the contract's currency.
    s = {x.name: table(x) for x in for_people(contract_sections(r), r.currency)}
    ret = r.returns
    body = [
        *_header(r), "<main>", *_performance(r, s), *_improvement(r, s), *_payments(r, s),
        '<section id="returns" aria-labelledby="returns-h"><h2 id="returns-h">Returns</h2>',
        f"<p>{_expected(ret)}: {ret.received} received, {ret.missing} missing, "
        f"{ret.late} late, {ret.rejected} rejected.</p>",
        s["returns"], "</section>",
        '<section id="register" aria-labelledby="register-h">',
        '<h2 id="register-h">Restatements and clawbacks</h2>',
        s["restatements"], s["adjustments"], "</section>",
        '<section id="variations" aria-labelledby="variations-h">',
        '<h2 id="variations-h">Variation log</h2>', s["variations"], "</section>",
        *(['<section id="options" aria-labelledby="options-h">',
           '<h2 id="options-h">Extension and break options</h2>', s["options"],
           "</section>"] if "options" in s else []),
        *(['<section id="business-cases" aria-labelledby="business-cases-h">',
           '<h2 id="business-cases-h">Base contract and business cases</h2>',
           s["business_cases"], "</section>"] if "business_cases" in s else []),
        *_network(r, s),
        '<section id="payers" aria-labelledby="payers-h"><h2 id="payers-h">Payer split</h2>',
        s["payers"], s["payer_grid"], "</section>",
        '<section id="social-value" aria-labelledby="sv-h"><h2 id="sv-h">Social value</h2>',
        s["social_value"], "</section>",
        verify_section(r.head.position, r.head.hash,
                f" (this contract's stream at version {r.stream.version}, hash "
                f'<code class="hash">{r.stream.hash}</code>)'),
        "</main>"]
    return page(f"Accountability report: {r.reference}", body, provenance)


def _expected(ret: Returns) -> str:
    """What returns the contract expects, by its outcomes' reporting basis."""
    parts = []
    if ret.periods_expected or not ret.results_expected:
        parts.append(f"{ret.periods_expected} periodic return(s) expected by "
                     f"{ret.expected_by}")
    if ret.results_expected:
        awaited = (f", awaiting {escape(', '.join(ret.results_awaited))}"
                   if ret.results_awaited else "")
        parts.append(f"{ret.results_expected} result(s) expected, one per improvement "
                     f"outcome in force{awaited}")
    return "; ".join(parts)


def _header(r: ContractReport) -> list[str]:
    """The title, the basis, the headline figures and the links to the sections."""
    pay, perf, cur = r.payments, r.performance, r.currency
    contract_cap = next((c for c in pay.caps if c.kind == "contract"), None)
    figures = [("Earned at the rate card", money(pay.earned, cur)),
               ("Above caps (earned, not payable)", money(pay.above_cap, cur)),
               ("Payable", money(pay.payable, cur)), ("Certified", money(pay.certified, cur)),
               ("Contract cap headroom", "no contract cap" if contract_cap is None
                else f"{money(contract_cap.headroom, cur)} of "
                     f"{money(contract_cap.limit, cur)}"),
               ("Overall rating", _badge(perf.overall))]
    as_of = f"; as of {escape(r.basis.as_of)}" if r.basis.as_of else ""
    as_at = f"; terms and periods as at {r.basis.as_at}" if r.basis.as_at else ""
    return [
        '<header><p class="kicker">Accountability report</p>',
        f"<h1>{escape(r.title)}</h1>",
        f'<p class="lead">{escape(r.reference)}: {escape(r.buyer)} with {escape(r.supplier)}. '
        f"Status: {r.status}. Periods through {escape(r.basis.through_period or 'none')}; "
        f"terms {escape(r.basis.terms_in_force)}{as_of}{as_at}. Money in {escape(cur)}.</p>",
        '<dl class="figures">' + "".join(f"<div><dt>{escape(k)}</dt><dd>{v}</dd></div>"
                                         for k, v in figures) + "</dl></header>",
        '<nav aria-label="Sections"><ol>' + "".join(
            f'<li><a href="#{a}">{escape(t)}</a></li>' for a, t in _nav(r)) + "</ol></nav>"]


def _nav(r: ContractReport) -> tuple[tuple[str, str], ...]:
    """The section links: the improvement test after performance where there is one."""
    if r.improvement is None:
        return _NAV
    return (_NAV[0], ("improvement", "Improvement test"), *_NAV[1:])


def _performance(r: ContractReport, s: dict[str, str]) -> list[str]:
    """The performance section: the rating scale, the targets chart and the tables."""
    perf = r.performance
    scale = perf.ratings
    chart_targets = _both(actual_vs_target("chart-targets", _targets(r), scale),
                          actual_vs_target("chart-targets-narrow", _targets(r), scale,
                                           narrow=True))
    return [
        '<section id="performance" aria-labelledby="performance-h">',
        '<h2 id="performance-h">Performance against target</h2>',
        f"<p>Ratings use the Procurement Act 2023 descriptors with thresholds from "
        f"{'the contract' if scale.source == 'contract' else 'the ledger defaults'}: "
        f"good at {scale.good * 100:.0f}% of target or more, approaching target at "
        f"{scale.approaching * 100:.0f}%, requires improvement at "
        f"{scale.requires_improvement * 100:.0f}%, inadequate below; "
        f"&ldquo;other&rdquo; where no target is set. Overall: {_badge(perf.overall)}.</p>",
        f'<figure class="chart">{chart_targets}<figcaption>Cumulative actual as a percentage '
        "of target for every outcome and social value commitment with a target (the "
        'figures as tables: <a href="#data-performance_cumulative">outcomes</a>'
        + (', <a href="#data-social_value">social value</a>' if r.social_value else "")
        + ").</figcaption></figure>"
        if chart_targets else "<p>No outcome has a target to chart.</p>",
        s["performance_cumulative"], _matrix(r), "</section>"]


def _both(wide: str, narrow: str) -> str:
    """A chart drawn for a screen and for a phone; the stylesheet shows one of them."""
    if not wide:
        return ""
    return f'<div class="chart-wide">{wide}</div><div class="chart-narrow">{narrow}</div>'


def _cohort_text(x: ImprovementResult, cur: str) -> str:
    """One improvement outcome's result and tests in words, with every figure a reader
    needs to check it."""
    name = f"<strong>{escape(x.code)}</strong> ({escape(x.name)})"
    if x.observed is None or x.expected is None:
        why = "no result returned yet" if x.in_force else (
            "retired before any result was returned; nothing paid")
        return f"<li>{name}: {why}.</li>"
    exposure = ("a cohort of " + _amount(x.exposure) if x.exposure_basis == "cohort_size"
                else f"an exposure of {_amount(x.exposure)} ({escape(x.exposure_basis)})")
    text = (f"{name}, result returned for {escape(x.result_period or '')}: "
            f"{_amount(x.observed)} events observed ({_amount(x.observed_rate)} per "
            f"{_amount(x.per)}) "
            f"against {_amount(x.expected)} expected at the baseline of {_amount(x.baseline)} per "
            f"{_amount(x.per)} for {exposure}: {_amount(x.gap)} events avoided, a reduction of "
            f"{_amount(x.reduction_pct)}%")
    if x.threshold_pct is None:
        text += " (no threshold of its own)"
    else:
        verdict = "clears" if x.own_test == "passed" else "is below"
        text += f", which {verdict} its own threshold of {_amount(x.threshold_pct)}%"
    if x.own_test != "passed" and x.pool is not None:
        pool = {"passed": "cleared", "failed": "missed",
                "no result": "not yet judged"}.get(x.pool_test or "", "not judged")
        text += f"; its pool {escape(x.pool)} {pool} its threshold of " \
                f"{_amount(x.pool_threshold_pct)}%"
    if x.payable:
        price = "" if x.price is None else f" × {money(x.price, cur)} per event"
        text += (f". Paid on its {escape(x.paid_on or '')}: {_amount(x.units_paid)} events "
                 f"avoided{price} = <strong>{money(x.payable, cur)}</strong> (in "
                 f"{escape(', '.join(x.paid_in))})")
    else:
        text += ". Nothing paid"
    return f"<li>{text}. Rating: {_badge(x.rating)}</li>"


def _pool_text(p: PoolTest, cur: str) -> str:
    members = escape(", ".join(p.members))
    if p.test == "no result":
        return (f"<li>Pool <strong>{escape(p.pool)}</strong> ({members}): not judged yet, "
                f"awaiting the result of {escape(', '.join(p.awaiting))}; threshold "
                f"{_amount(p.threshold_pct)}%.</li>")
    verdict = "clears" if p.test == "passed" else "misses"
    return (f"<li>Pool <strong>{escape(p.pool)}</strong> ({members}), judged in "
            f"{escape(p.tested_in or '')}: {_amount(p.observed)} events observed against "
            f"{_amount(p.expected)} expected, {_amount(p.gap)} avoided, a pooled reduction of "
            f"{_amount(p.reduction_pct)}%, which {verdict} its threshold of "
            f"{_amount(p.threshold_pct)}%. Paid to members below their own threshold because "
            f"of it: <strong>{money(p.payable_on_pool, cur)}</strong>.</li>")


def _improvement(r: ContractReport, s: dict[str, str]) -> list[str]:
    """The improvement test (domain.md b5): why outcomes paid on a reduction against a
    baseline or comparison group were paid, or not, with figures a reader can check."""
    imp: Improvement | None = r.improvement
    if imp is None:
        return []
    cur = r.currency
    return [
        '<section id="improvement" aria-labelledby="improvement-h">',
        '<h2 id="improvement-h">Improvement outcomes: the test behind the payments</h2>',
        "<p>These outcomes are paid on the events avoided: the events expected at the "
        "baseline (comparison group) rate for the cohort, minus those observed. An outcome "
        "is paid when its reduction clears its own threshold or, failing that, when its "
        "pool's reduction over all its members clears the pool's threshold. Thresholds are "
        "compared unrounded (a reduction of 9.996% does not clear 10%). Ratings follow "
        "the test: good (own threshold cleared), approaching target (paid on the pool), "
        "requires "
        "improvement (a reduction, no test cleared yet), inadequate (no reduction), other "
        "(no result yet).</p>",
        "<ul>" + "".join(_cohort_text(x, cur) for x in imp.outcomes) + "</ul>",
        *(["<ul>" + "".join(_pool_text(p, cur) for p in imp.pools) + "</ul>"]
          if imp.pools else []),
        f"<p>Paid on improvement outcomes in all: <strong>{money(imp.payable, cur)}"
        "</strong>.</p>",
        s["improvement"], s["improvement_pools"], "</section>"]


def _payments(r: ContractReport, s: dict[str, str]) -> list[str]:
    """The payments section: the payable-against-cap chart, the cost per outcome and the
    tables."""
    pay, cur = r.payments, r.currency
    chart_payable = _both(payable_vs_cap("chart-payable", pay.periods, cur),
                          payable_vs_cap("chart-payable-narrow", pay.periods, cur,
                                         narrow=True))
    return [
        '<section id="payments" aria-labelledby="payments-h">',
        '<h2 id="payments-h">Payments against caps</h2>',
        f'<figure class="chart">{chart_payable}<figcaption>Cumulative payable and earned by '
        "period, against the contract cap in force (the figures per period: "
        '<a href="#data-payments">the payments table</a>).</figcaption></figure>'
        if chart_payable else "<p>No period has any payment activity yet.</p>",
        "<p>Cost per outcome is shown for each outcome on its own (payable ÷ units "
        "achieved, against the rate card's price): outcomes of different kinds are not "
        "averaged together.</p>",
        s["caps"], s["payments"], s["outcome_costs"], "</section>"]


def _network(r: ContractReport, s: dict[str, str]) -> list[str]:
    """The delivery network: what reached whom, then whether the market is diversifying."""
    m = r.network.market
    lead = "<p>No delivery network is recorded.</p>" if m is None else (
        f"<p>Provider payments {money(m.provider_payments, r.currency)} (what the "
        "integrator owes a provider on its terms, else its share of the outcome payments): "
        f"SME {_pct(m.sme_share)}, VCSE {_pct(m.vcse_share)} (kind not recorded "
        f"{_pct(m.kind_unrecorded_share)}), local {_pct(m.local_share)} (not recorded "
        f"{_pct(m.local_unrecorded_share)}); "
        f"concentration (Herfindahl–Hirschman, 0–10,000) {_amount(m.hhi)}.</p>"
        + _integrator(r))
    return ['<section id="network" aria-labelledby="network-h">',
            '<h2 id="network-h">Delivery network</h2>', lead, s["network"],
            s["network_outcomes"], s["network_market"],
            s["network_entrants"], "</section>"]


def _integrator(r: ContractReport) -> str:
    """What the integrator is paid beyond its own outcomes, and what it keeps."""
    row = next((x for x in r.network.providers if not x.id), None)
    if row is None:
        return ""
    cur, net = r.currency, r.network
    margin = "" if row.margin is None else (
        f", its margin on providers paid on their terms {money(row.margin, cur)}")
    keeps = "" if row.keeps is None else (
        f" After what reached the providers, the integrator keeps "
        f"<strong>{money(row.keeps, cur)}</strong>.")
    return (f"<p>The integrator, {escape(net.integrator)}, is paid the contract's fees "
            f"({money(net.fees, cur)}) and its adjustments ({money(net.adjustments, cur)}) "
            f"besides the outcome payments for its own figures "
            f"({money(row.payable - net.fees - net.adjustments, cur)}){margin}.{keeps}</p>")


def _pct(share: Decimal | None) -> str:
    return "—" if share is None else f"{share * 100:.2f}%"


def portfolio_html(p: PortfolioReport, provenance: Provenance | None = None) -> str:
    (section,) = for_people(portfolio_sections(p))
    body = ['<header><p class="kicker">Accountability report</p><h1>Portfolio summary</h1>',
            f'<p class="lead">{len(p.contracts)} contract(s).</p></header>', "<main>",
            '<section aria-labelledby="portfolio-h"><h2 id="portfolio-h">Contracts</h2>',
            table(section, caption="Every contract: payments, caps, rating, returns",
                   by_contract=True),
            "</section>", verify_section(p.head.position, p.head.hash), "</main>"]
    return page("Accountability report: portfolio", body, provenance)
