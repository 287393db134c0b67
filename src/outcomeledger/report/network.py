"""The delivery network (the integrator model): who earned what, and what reached whom.

Each outcome line's earned amount is shared between the providers pro rata to the
units their figures returned for that outcome and period; figures returned without a
provider, and rounding, stay with the integrator (the supplier). A provider's
``payable`` is its share of earned applied to the outcome payments after caps; the
integrator's is what is left of those, plus the contract's fees, which are paid to the
supplier and to no provider.

Where a provider has ``[providers.terms]``, what the integrator owes it, what the buyer
pays for its outcomes and the margin between come from the chain
(:func:`..domain.payments.chain.provider_chains`, the figures of ``payments REF
--provider ID``), never recomputed here. The market-shaping figures are
:mod:`.market`'s.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from ..domain.money import ZERO
from ..domain.payments.chain import ProviderChain, provider_chains
from ..domain.payments.schedule import as_at
from ..domain.ratings import rate
from ..domain.terms import Provider
from .market import market
from .model import Payments
from .network_model import Network, ProviderOutcome, ProviderShare
from .view import View, percent, share, units

#: (provider id, outcome code) -> [units returned, earned allocated]; "" is the integrator.
Cells = dict[tuple[str, str], list[Decimal]]


def _attribute(view: View) -> tuple[dict[str, Decimal], Cells]:
    """Earned per provider and per (provider, outcome), in one pass over the figures."""
    earned: dict[str, Decimal] = defaultdict(Decimal)
    by_outcome: Cells = defaultdict(lambda: [ZERO, ZERO])
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
    return earned, by_outcome


def _chains(view: View) -> dict[str, ProviderChain]:
    """The chain of every provider with terms in the terms the report reads, over the
    periods it reads. Only those: each chain is a pass over the contract's figures (a
    report must stay fast on a long history), and without terms a chain owes nothing;
    what the buyer pays for such a provider's outcomes is near enough its ``payable``
    (they differ only where a cap binds on some outcomes and not others)."""
    schedule = view.schedule if view.as_at is None else as_at(view.schedule, view.state,
                                                              view.as_at)
    wanted = {p.id for p in view.terms.providers if p.terms is not None}
    return {c.provider.id: c for c in provider_chains(view.state, schedule, wanted)}


def _outcomes(view: View, by_outcome: Cells, who: str,
              targets: dict[str, Decimal] | None = None) -> tuple[ProviderOutcome, ...]:
    """What ``who`` delivered of each outcome, against its share of the targets (its
    terms' ``targets``, DESIGN 10), rated as the contract's outcomes are; an outcome it
    has a target for and has not delivered is there with nothing delivered."""
    targets = targets or {}
    cells = {code: cell for (whose, code), cell in by_outcome.items() if whose == who}
    for code in targets:
        cells.setdefault(code, [ZERO, ZERO])
    out = []
    for code, cell in cells.items():
        delivered, target = units(cell[0]), targets.get(code)
        out.append(ProviderOutcome(
            code=code, units=delivered, earned=view.money(cell[1]), target=target,
            percent_of_target=percent(delivered, target),
            rating=rate(delivered, target, view.ratings)))
    return tuple(out)


def _targets(provider: Provider) -> dict[str, Decimal] | None:
    return None if provider.terms is None else provider.terms.targets


def _provider_row(view: View, provider: Provider, latest: Provider, earned: Decimal,
                  total_earned: Decimal, outcome_payable: Decimal,
                  chain: ProviderChain | None, outcomes: tuple[ProviderOutcome, ...]
                  ) -> ProviderShare:
    """One provider: described by the terms the report reads, except its membership
    dates, which are facts about it (the latest recorded, as for returns and the chain).
    Its provider payments are what it is owed where the chain can say, else its
    ``payable``."""
    ratio = earned / total_earned if total_earned else ZERO
    payable = view.money(outcome_payable * ratio)
    owed = None if chain is None else chain.owed
    return ProviderShare(
        id=provider.id, name=provider.name, kind=provider.kind, local=provider.local,
        joined=latest.joined, left=latest.left, earned=view.money(earned),
        share=share(earned, total_earned), fees=None, adjustments=None, payable=payable,
        buyer_pays=None if chain is None else chain.buyer_pays, owed=owed,
        margin=None if chain is None else chain.margin,
        provider_payments=payable if owed is None else owed,
        payments_basis="payable" if owed is None else "owed", keeps=None, outcomes=outcomes)


def network(view: View, money: Payments) -> Network:
    terms = view.terms
    integrator = terms.supplier
    if not terms.providers:
        return Network(integrator=integrator, outcome_payable=money.outcome_payable,
                       fees=money.fees, adjustments=money.adjustments, providers=(),
                       market=None)
    earned, by_outcome = _attribute(view)
    total_earned = sum((p.earned for p in view.periods), ZERO)
    latest = {p.id: p for p in view.state.current_terms.providers}
    chains = _chains(view)
    rows = []
    for provider in terms.providers:
        rows.append(_provider_row(
            view, provider, latest.get(provider.id, provider),
            earned.get(provider.id, ZERO), total_earned, money.outcome_payable,
            chains.get(provider.id), _outcomes(view, by_outcome, provider.id, _targets(
                latest.get(provider.id, provider)))))
    rest_earned = total_earned - sum((x.earned for x in rows), ZERO)
    rest_payable = money.outcome_payable - sum((x.payable for x in rows), ZERO)
    # The supplier is paid the fees and the adjustments (bonuses, clawbacks, credits) as
    # well as its own outcomes; it keeps what of all that does not reach a provider.
    payable = view.money(rest_payable) + money.fees + money.adjustments
    reached = sum((x.provider_payments or ZERO for x in rows), ZERO)
    margins = [x.margin for x in rows if x.margin is not None]
    integrator_row = ProviderShare(
        id="", name=integrator, kind=None, local=None, joined=None, left=None,
        earned=view.money(rest_earned), share=share(rest_earned, total_earned),
        fees=money.fees, adjustments=money.adjustments, payable=payable, buyer_pays=None,
        owed=None, margin=sum(margins, ZERO) if margins else None, provider_payments=None,
        payments_basis=None,
        keeps=money.outcome_payable + money.fees + money.adjustments - reached,
        outcomes=_outcomes(view, by_outcome, ""))
    return Network(integrator=integrator, outcome_payable=money.outcome_payable,
                   fees=money.fees, adjustments=money.adjustments,
                   providers=(*rows, integrator_row), market=market(view, rows))
