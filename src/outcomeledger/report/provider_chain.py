"""`payments REF --provider ID`: the chain for one provider, as a table and as JSON.

Money as decimal strings in JSON and plain decimals in CSV; an amount the ledger cannot
compute (a provider without terms owes nothing it knows of) is null in JSON and empty in
CSV and on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ..domain.money import fmt_money
from ..domain.payments.chain import ChainPeriod, ProviderChain
from .render import Table, money_cell

#: The amounts of each period, in the order the chain computes them.
AMOUNTS = ("buyer_pays", "share_part", "prices_part", "fee", "owed", "margin")


def chain_json(chain: ProviderChain, periods: Sequence[ChainPeriod]) -> dict[str, Any]:
    cur = chain.currency
    p = chain.provider

    def money(amount: Decimal | None) -> str | None:
        return None if amount is None else fmt_money(amount, cur)

    return {
        "contract": chain.contract,
        "currency": cur,
        "integrator": chain.integrator,
        "provider": {"id": p.id, "name": p.name, "kind": p.kind, "local": p.local,
                     "joined": None if p.joined is None else p.joined.isoformat(),
                     "left": None if p.left is None else p.left.isoformat()},
        "periods": [{"period": r.period, "units": str(r.units),
                     **{f: money(getattr(r, f)) for f in AMOUNTS}} for r in periods],
        "totals": {"buyer_pays": money(chain.buyer_pays), "owed": money(chain.owed),
                   "margin": money(chain.margin)},
    }


def chain_table(chain: ProviderChain, periods: Sequence[ChainPeriod], *,
                machine: bool) -> Table:
    cur = chain.currency

    def show(amount: Decimal | None) -> str:
        return "" if amount is None else money_cell(amount, cur, machine=machine)

    rows = [[r.period, str(r.units), *(show(getattr(r, f)) for f in AMOUNTS)]
            for r in periods]
    if not machine:
        rows.append(["total", "", show(chain.buyer_pays), "", "", "", show(chain.owed),
                     show(chain.margin)])
    p = chain.provider
    title = (f"Chain: {chain.contract} ({cur}), buyer -> {chain.integrator} -> "
             f"{p.name} ({p.id})")
    if p.terms is None and not machine:
        title += "; no [providers.terms]: what the integrator owes it is not recorded"
    return Table(title, ("period", "units", *AMOUNTS), rows, frozenset(("units", *AMOUNTS)))
