"""Who pays: the payer split statement (the delivery network is :mod:`.network`'s).

Payer split (domain.md b13): each period's payable is split by the payers' shares in
the terms in force for that period; every payer's amount is rounded once, and the
payer marked ``residue`` (else the last listed) takes what rounding leaves, so the
amounts always add up to the payable exactly. Cumulative amounts are compared with
each payer's ``commitment``.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from ..domain.money import ZERO
from ..domain.terms import Payer
from .model import PayerPeriod, PayerStatement
from .view import View


def _split(view: View, payable: Decimal, payers: tuple[Payer, ...]) -> dict[str, Decimal]:
    residue = next((p for p in payers if p.residue), payers[-1])
    amounts = {p.id: view.money(payable * p.share) for p in payers if p is not residue}
    amounts[residue.id] = payable - sum(amounts.values(), ZERO)
    return {p.id: amounts[p.id] for p in payers}


def payer_split(view: View) -> tuple[PayerStatement, ...]:
    declared: dict[str, Payer] = {}
    rows: dict[str, list[PayerPeriod]] = defaultdict(list)
    running: dict[str, Decimal] = defaultdict(Decimal)
    for p in view.periods:
        payers = view.state.terms_for(view.period(p.period)).payers
        for payer in payers:
            declared[payer.id] = payer
        if not payers or p.payable == 0:
            continue
        for payer_id, amount in _split(view, p.payable, payers).items():
            running[payer_id] += amount
            rows[payer_id].append(PayerPeriod(period=p.period, payable=view.money(p.payable),
                                              amount=amount, cumulative=running[payer_id]))
    for payer in view.terms.payers:
        declared[payer.id] = payer  # the report date's terms describe each payer
    out = []
    for payer_id, payer in declared.items():
        amount = running.get(payer_id, ZERO)
        commitment = None if payer.commitment is None else view.money(payer.commitment)
        headroom = None if commitment is None else commitment - amount
        out.append(PayerStatement(
            id=payer_id, name=payer.name, share=payer.share, residue=payer.residue,
            commitment=commitment, amount=view.money(amount), headroom=headroom,
            over_commitment=headroom is not None and headroom < 0,
            periods=tuple(rows.get(payer_id, ()))))
    return tuple(out)
