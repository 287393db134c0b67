"""``contract show --format table``: the terms as a reader checks them against the signed
contract (who pays, who delivers, fees, social value, targets, KPIs, options) and each
variation as the changes it made, in words."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ..audit.log import diff_terms
from ..domain.contract.state import ContractState
from ..domain.money import fmt, fmt_thousands
from ..domain.terms import ContractTerms, Outcome, ProviderTerms
from ..domain.timestamps import rfc3339
from .register import terms_varied
from .render import Table


def target_text(o: Outcome) -> str:
    """An outcome's target in words: ``120 over the contract``, ``30 a period,
    FY2018-Q2 to FY2019-Q1 (4 periods)``, ``110 over 4 periods, FY2018-Q2 to FY2019-Q1``."""
    if o.target is None:
        return ""
    if isinstance(o.target, Decimal):
        return f"{fmt(o.target)} over the contract"
    if not o.target:
        return ""
    ids = list(o.target)  # as the contract lists them
    span = ids[0] if len(ids) == 1 else f"{ids[0]} to {ids[-1]}"
    values = set(o.target.values())
    if len(values) == 1:
        return f"{fmt(values.pop())} a period, {span} ({len(ids)} period(s))"
    total = sum(o.target.values(), Decimal(0))
    return f"{fmt(total)} over {len(ids)} periods, {span}"


def _share(share: Decimal | None) -> str:
    return "" if share is None else f"{fmt((share * 100).normalize())}%"


def _tables(terms: ContractTerms) -> list[Table]:
    cur = terms.currency
    def money(amount: Decimal | None) -> str:
        return "" if amount is None else fmt_thousands(amount, cur)

    tables = []
    targets = [[o.code, target_text(o), o.unit or ""] for o in terms.outcomes
               if o.target is not None]
    if targets:
        tables.append(Table("Targets", ("code", "target", "unit"), targets))
    if terms.payers:
        tables.append(Table(f"Payers ({cur})", ("id", "name", "share", "commitment",
                                                "residue"),
                            [[p.id, p.name, _share(p.share), money(p.commitment),
                              "yes" if p.residue else ""] for p in terms.payers],
                            frozenset({"share", "commitment"})))
    if terms.providers:
        tables.append(_without_empty_columns(Table(
            "Providers (the delivery network)",
            ("id", "name", "kind", "local", "joined", "left", "terms"),
            [[p.id, p.name, p.kind or "", _yes_no(p.local), str(p.joined or ""),
              str(p.left or ""), _provider_terms(p.terms, money)]
             for p in terms.providers])))
    if terms.fees:
        tables.append(Table(f"Fees ({cur})", ("code", "name", "amount", "basis"),
                            [[f.code, f.name, money(f.amount),
                              "per period" if f.basis == "period"
                              else f"per unit of {f.outcome}"] for f in terms.fees],
                            frozenset({"amount"})))
    if terms.social_value:
        tables.append(Table("Social value", ("code", "name", "mission", "target",
                                             "proxy value"),
                            [[s.code, s.name, s.mission,
                              fmt(s.target) + (f" {s.unit}" if s.unit else ""),
                              money(s.proxy_value)] for s in terms.social_value],
                            frozenset({"proxy value"})))
    if terms.kpis:
        tables.append(Table("KPIs (a shortfall earns a service credit)",
                            ("code", "name", "target", "credit rate", "credit cap"),
                            [[k.code, k.name, fmt(k.target), fmt(k.rate),
                              "" if k.cap is None else fmt(k.cap)] for k in terms.kpis],
                            frozenset({"target", "credit rate", "credit cap"})))
    options = [[e.id, "extension", f"{e.months} months, decide by {e.decide_by}",
                _condition(e.condition.rating_at_least, e.condition.periods)]
               for e in terms.extensions]
    options += [[b.id, "break", f"on {b.on}",
                 _condition(b.condition.rating_at_least, b.condition.periods)]
                for b in terms.breaks]
    if options:
        tables.append(Table("Options", ("id", "kind", "when", "condition"), options))
    if (risk := terms.risk_share) is not None:
        low, bands = "0", []
        for band in risk.bands:
            if band.upto is None:  # the last band is open
                bands.append([f"above {low}", _share(band.supplier_share)])
                continue
            bands.append([f"{low} to {fmt(band.upto)}", _share(band.supplier_share)])
            low = fmt(band.upto)
        tables.append(Table(
            f"Risk shared on cost ({cur}): target {money(risk.target_cost)} over the term, "
            f"pain cap {'none' if risk.pain_cap is None else money(risk.pain_cap)}; the "
            "supplier's share of each slice of the over- or underrun",
            ("outturn / target", "supplier share"), bands, frozenset({"supplier share"})))
    return tables


def _without_empty_columns(table: Table) -> Table:
    """``table`` less the columns no row fills (a network with no kinds or dates)."""
    keep = [i for i, _c in enumerate(table.columns) if any(row[i] for row in table.rows)]
    return Table(table.title, tuple(table.columns[i] for i in keep),
                 [[row[i] for i in keep] for row in table.rows], table.numeric)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _condition(floor: str, periods: int) -> str:
    return f"every outcome with a target rated {floor} or better over the last {periods} " \
           "period(s)"


def _provider_terms(terms: ProviderTerms | None,
                    money: Callable[[Decimal | None], str]) -> str:
    """What the integrator pays the provider, in words."""
    if terms is None:
        return ""
    parts = []
    if terms.share is not None:
        parts.append(f"{_share(terms.share)} of what its figures earn")
    if terms.prices:
        parts.append("prices " + ", ".join(f"{code} {money(p)}"
                                           for code, p in terms.prices.items()))
    if terms.fee is not None:
        parts.append(f"fee {money(terms.fee)} a period")
    if terms.targets:
        parts.append("targets " + ", ".join(f"{code} {fmt(units)}"
                                            for code, units in terms.targets.items()))
    return "; ".join(parts)


def variations_table(state: ContractState) -> Table:
    """Each variation with what it changed, in words (``S16H.price: 2500 → 2700``)."""
    rows = []
    for v in state.ordered_variations:
        before, after = terms_varied(state, v)
        rows.append([v.effective_from.isoformat(), v.recorded.ref,
                     rfc3339(v.recorded.recorded_at), v.recorded.recorded_by,
                     v.recorded.reason, "; ".join(diff_terms(before, after)) or "no change"])
    return Table("Variations", ("effective", "event", "recorded_at", "recorded_by", "reason",
                                "changes"), rows)


def contract_tables(state: ContractState, terms: ContractTerms) -> list[Table]:
    """Every table ``contract show`` prints after the outcomes (:func:`render.contract_table`),
    the variations last."""
    tables = _tables(terms)
    if state.variations:
        tables.append(variations_table(state))
    return tables
