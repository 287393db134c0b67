"""Who pays and who delivers: the payer split statement and the delivery network.

Payer split (domain.md b13): each period's payable is split by the payers' shares in
the terms in force for that period; every payer's amount is rounded once, and the
payer marked ``residue`` (else the last listed) takes what rounding leaves, so the
amounts always add up to the payable exactly. Cumulative amounts are compared with
each payer's ``commitment``.

Delivery network (the integrator model): each outcome line's earned amount is shared
between the providers pro rata to the units their figures returned for that outcome
and period; figures returned without a provider, and rounding, stay with the
integrator (the supplier). A provider's share of payments is its share of earned
applied to the outcome payments after caps.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from ..domain.money import ZERO
from ..domain.terms import Payer
from .model import Network, PayerPeriod, PayerStatement, ProviderOutcome, ProviderShare
from .view import View, share, units


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


def network(view: View, outcome_payable: Decimal) -> Network:
    terms = view.terms
    integrator = terms.supplier
    if not terms.providers:
        return Network(integrator=integrator, outcome_payable=outcome_payable, providers=())
    earned: dict[str, Decimal] = defaultdict(Decimal)
    by_outcome: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    # (period, outcome) -> (provider, value) of each positive figure, in figure order:
    # one pass over the figures, not one per payment line.
    positive: dict[tuple[str, str], list[tuple[str, Decimal]]] = defaultdict(list)
    for k, r in view.figures.items():
        if r.value > 0:
            positive[(k[0], k[2])].append((k[1], r.value))
    for p in view.periods:
        for line in p.lines:
            returned = positive.get((p.period, line.outcome), [])
            total = sum((v for _who, v in returned), ZERO)
            for who, value in returned:
                portion = line.earned * value / total
                earned[who] += portion
                cell = by_outcome[(who, line.outcome)]
                cell[0] += value
                cell[1] += portion
    total_earned = sum((p.earned for p in view.periods), ZERO)
    shares = []
    for provider_id, name in ((x.id, x.name) for x in terms.providers):
        mine = earned.get(provider_id, ZERO)
        ratio = mine / total_earned if total_earned else ZERO
        shares.append(ProviderShare(
            id=provider_id, name=name, earned=view.money(mine), share=share(mine, total_earned),
            payable=view.money(outcome_payable * ratio),
            outcomes=tuple(ProviderOutcome(code=code, units=units(cell[0]),
                                           earned=view.money(cell[1]))
                           for (who, code), cell in by_outcome.items() if who == provider_id)))
    rest_earned = total_earned - sum((x.earned for x in shares), ZERO)
    rest_payable = outcome_payable - sum((x.payable for x in shares), ZERO)
    integrator_row = ProviderShare(
        id="", name=integrator, earned=view.money(rest_earned),
        share=share(rest_earned, total_earned),
        payable=view.money(rest_payable),
        outcomes=tuple(ProviderOutcome(code=code, units=units(cell[0]),
                                       earned=view.money(cell[1]))
                       for (who, code), cell in by_outcome.items() if who == ""))
    return Network(integrator=integrator, outcome_payable=outcome_payable,
                   providers=(*shares, integrator_row))
