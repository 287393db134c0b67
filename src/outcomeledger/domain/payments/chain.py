"""Down the chain (DESIGN 10): for one provider of an integrator's network, per period, what
the buyer pays for that provider's outcomes, what the integrator owes the provider on the
provider's own terms, and the integrator's margin between the two.

* **Buyer pays** for the provider's outcomes: each outcome line's payable (after every cap,
  before retention, fees and adjustments, which are the contract's, not a provider's)
  shared between the providers pro rata to the positive units their figures returned for
  that outcome and period, as the report's delivery network shares earned amounts.
  Figures returned without a provider stay with the integrator.
* **Owed** to the provider, by the terms in force for the period (``[providers.terms]``):
  ``share`` of what the buyer pays for its outcomes, plus its own ``prices`` times the
  units it returned for each priced outcome, plus ``fee`` for each period its membership
  overlaps. A provider without terms is owed nothing the ledger can compute (None).
* **Margin**: buyer pays minus owed.

Each part is rounded once, per period, by the ledger's one rounding rule
(:func:`..money.quantize`); totals are sums of the rounded periods. Pure: state and
schedule in, rows out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from decimal import Decimal

from msgspec import Struct

from ..contract.state import ContractState
from ..errors import Refused
from ..money import ZERO, quantize
from ..periods import Period
from ..terms import Provider
from .closure import closure_of
from .schedule import Schedule


class ChainPeriod(Struct, frozen=True, gc=False):
    """One period of the chain for one provider."""

    period: str
    units: Decimal  # the units the provider returned for the period, every outcome
    buyer_pays: Decimal  # for the provider's outcomes
    share_part: Decimal | None  # owed as a share of buyer_pays
    prices_part: Decimal | None  # owed at the provider's own prices
    fee: Decimal | None  # owed per period of membership
    owed: Decimal | None  # the three parts together; None: no terms
    margin: Decimal | None  # buyer_pays - owed


class ProviderChain(Struct, frozen=True, gc=False):
    contract: str
    currency: str
    integrator: str
    provider: Provider
    periods: tuple[ChainPeriod, ...]
    buyer_pays: Decimal
    owed: Decimal | None
    margin: Decimal | None


def provider_chain(state: ContractState, schedule: Schedule, provider_id: str
                   ) -> ProviderChain:
    """The chain for ``provider_id`` over every period of ``schedule``."""
    latest = [p.id for p in state.current_terms.providers]
    if provider_id not in latest:
        known = ", ".join(latest) or "none"
        raise Refused(f"contract {state.reference} has no provider {provider_id!r} "
                      f"(its providers: {known})", "provider")
    return provider_chains(state, schedule, {provider_id})[0]


def provider_chains(state: ContractState, schedule: Schedule,
                    ids: Collection[str] | None = None) -> tuple[ProviderChain, ...]:
    """The chain of every provider of the network (latest terms), or of those in ``ids``,
    in the order declared; what they all read (the figures, the outcome payments shared
    out, each period's terms) is worked out once for all of them."""
    providers = [p for p in state.current_terms.providers if ids is None or p.id in ids]
    if not providers:
        return ()
    basis = _Basis(state, schedule)
    return tuple(_chain(state, schedule, basis, p) for p in providers)


class _Basis:
    """What every provider's chain reads, once per contract and schedule: each
    provider's units per period and outcome, what the buyer pays for them, and each
    period with its terms' providers by id."""

    def __init__(self, state: ContractState, schedule: Schedule) -> None:
        by_outcome, self.by_provider = _units(state)
        self.buyer = _buyer_pays(schedule, by_outcome)
        declared: dict[int, dict[str, Provider]] = {}  # terms (by identity) -> providers
        self.periods: list[tuple[str, Period, dict[str, Provider]]] = []
        closure = closure_of(state)
        #: Periods begun after the contract's closure: nothing accrues down the chain
        #: either (no provider fee, no units priced), as nothing does for the buyer.
        self.closed = frozenset(p.period for p in schedule.periods if closure is not None
                                and closure.after(state.period(p.period)))
        for p in schedule.periods:
            period = state.period(p.period)
            terms = state.terms_for(period)
            providers = declared.get(id(terms))
            if providers is None:
                providers = declared[id(terms)] = {x.id: x for x in terms.providers}
            self.periods.append((p.period, period, providers))


def _buyer_pays(schedule: Schedule, units: dict[str, dict[str, dict[str, Decimal]]]
                ) -> dict[str, dict[str, Decimal]]:
    """period -> provider -> what the buyer pays for its outcomes, unrounded: each line's
    payable shared pro rata to the positive units returned for its outcome."""
    out: dict[str, dict[str, Decimal]] = {}
    for p in schedule.periods:
        returned = units.get(p.period)
        if not returned:
            continue
        shares: dict[str, Decimal] = defaultdict(Decimal)
        for line in p.lines:
            by_provider = returned.get(line.outcome)
            if not by_provider:
                continue
            total = sum((v for v in by_provider.values() if v > 0), ZERO)
            if not total:
                continue
            for who, mine in by_provider.items():
                if mine > 0:
                    shares[who] += line.payable * mine / total
        out[p.period] = shares
    return out


def _chain(state: ContractState, schedule: Schedule, basis: _Basis, provider: Provider
           ) -> ProviderChain:
    provider_id = provider.id
    currency = schedule.currency
    rows = []
    for pid, period, declared in basis.periods:
        # The provider's terms as the period's terms give them; its membership dates are
        # facts about it, so the latest terms' dates apply to every period.
        pays = basis.buyer.get(pid, {}).get(provider_id, ZERO)
        closed = pid in basis.closed
        rows.append(_row(pid, period, declared.get(provider_id, provider), provider,
                         {} if closed else basis.by_provider.get(pid, {}).get(provider_id, {}),
                         quantize(pays, currency), currency, closed=closed))
    owed = [r.owed for r in rows]
    unknown = any(o is None for o in owed) or (not rows and provider.terms is None)
    owed_total = None if unknown else sum((o for o in owed if o is not None), ZERO)
    buyer_total = sum((r.buyer_pays for r in rows), ZERO)
    return ProviderChain(
        contract=state.reference, currency=currency, integrator=state.current_terms.supplier,
        provider=provider, periods=tuple(rows), buyer_pays=buyer_total,
        owed=owed_total, margin=None if owed_total is None else buyer_total - owed_total)


def _row(pid: str, period: Period, terms_of: Provider, latest: Provider,
         mine: dict[str, Decimal], buyer: Decimal, currency: str, *,
         closed: bool = False) -> ChainPeriod:
    """One period of the chain; ``mine``: the provider's units per outcome; ``closed``:
    a period begun after the contract's closure (no fee)."""
    units = sum(mine.values(), ZERO)
    t = terms_of.terms
    if t is None:
        return ChainPeriod(pid, units, buyer, None, None, None, None, None)
    share_part = None if t.share is None else quantize(buyer * t.share, currency)
    prices_part = None if t.prices is None else quantize(
        sum((price * mine.get(code, ZERO) for code, price in t.prices.items()), ZERO),
        currency)
    fee = None if t.fee is None else (
        quantize(t.fee, currency) if latest.member_during(period.start, period.end)
        and not closed else ZERO)
    owed = sum((x for x in (share_part, prices_part, fee) if x is not None), ZERO)
    return ChainPeriod(pid, units, buyer, share_part, prices_part, fee, owed, buyer - owed)


def _units(state: ContractState) -> tuple[dict[str, dict[str, dict[str, Decimal]]],
                                          dict[str, dict[str, dict[str, Decimal]]]]:
    """The units returned, rejected returns left out, two ways: period -> outcome ->
    provider (to share each outcome line out) and period -> provider -> outcome (each
    provider's own row), in one pass over the figures."""
    by_outcome: dict[str, dict[str, dict[str, Decimal]]] = {}
    by_provider: dict[str, dict[str, dict[str, Decimal]]] = {}
    returns = state.returns
    # A return's figures mostly follow one another in the map (a return is recorded
    # whole), so its status and its two target maps are looked up again only when the
    # (period, provider) changes, which is correct in any order.
    current: tuple[str, str] | None = None
    rejected = False
    outcomes: dict[str, dict[str, Decimal]] = {}
    own: dict[str, Decimal] = {}
    for (period, provider, outcome, _participant), record in state.figures.items():
        if current is None or current[0] != period or current[1] != provider:
            current = (period, provider)
            status = returns.get(current)
            rejected = status is not None and status.rejected is not None
            if not rejected:
                outcomes = by_outcome.setdefault(period, {})
                own = by_provider.setdefault(period, {}).setdefault(provider, {})
        if rejected:
            continue
        value = record.value
        cell = outcomes.get(outcome)
        if cell is None:
            cell = outcomes[outcome] = {}
        cell[provider] = cell.get(provider, ZERO) + value
        own[outcome] = own.get(outcome, ZERO) + value
    return by_outcome, by_provider
