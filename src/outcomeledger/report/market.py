"""Is the delivery network diversifying? The market-shaping figures of DESIGN 10.

All are read off the providers' rows of the network (:mod:`.network`), the integrator
left out: it is the supplier, not a provider of its own network.

* **Provider payments** of a provider: what the integrator owes it on its terms (the
  chain's ``owed``) where the ledger can compute that for every period the report reads;
  else (no terms) its ``payable``, the share of the outcome payments its figures earned.
  Owed is what actually reaches the provider, so it is used wherever it is known; the
  attributed share is the best the ledger records otherwise, and each row says which
  it is (``payments_basis``).
* **Shares** to SME, VCSE and local providers: their provider payments over all
  providers' (four places); a provider whose kind, or locality, is not recorded is in
  the whole and in no part, and the unrecorded share is shown. ``null`` when the
  providers were paid nothing: no share of nothing.
* **Concentration**: the Herfindahl–Hirschman index, the sum of the squared percentage
  shares of provider payments, 0 (spread thinly) to 10,000 (one provider), to two
  places; ``null`` when there is nothing to share.
* **New entrants** per UK financial year (April to March, as the ledger's quarters) from
  the contract's start through its end (or the last joining): the providers whose
  ``joined`` falls in it. A provider with no ``joined``, or joined on the start date,
  was there from the start (``founding``), not an entrant.

Every ratio is computed from the exact amounts and rounded once, by the ledger's
rounding rule (:func:`..domain.money.round_places`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from ..domain.money import ZERO, round_places
from .network_model import EntrantYear, Market, ProviderShare
from .view import View

_HHI_SCALE = Decimal(10_000)


def financial_year(day: date) -> int:
    """The UK financial year ``day`` falls in, named by the year it starts (FY2025 runs
    1 April 2025 to 31 March 2026)."""
    return day.year if day.month >= 4 else day.year - 1


def _entrants(view: View, rows: Sequence[ProviderShare]) -> tuple[int, tuple[EntrantYear, ...]]:
    start = view.terms.start
    entrants = [r for r in rows if r.joined is not None and r.joined > start]
    joined_years = [financial_year(r.joined) for r in entrants if r.joined is not None]
    first = financial_year(start)
    last = max([financial_year(view.terms.end), *joined_years])
    years = tuple(EntrantYear(
        year=f"FY{year}", joined=joined_years.count(year),
        providers=tuple(r.id for r, y in zip(entrants, joined_years, strict=True) if y == year))
        for year in range(first, last + 1))
    return len(rows) - len(entrants), years


def market(view: View, rows: Sequence[ProviderShare]) -> Market:
    """The market-shaping figures of the providers ``rows`` (the integrator's row is not
    one of them)."""
    paid = [(r, r.provider_payments or ZERO) for r in rows]
    total = sum((amount for _r, amount in paid), ZERO)

    def part(which: Callable[[ProviderShare], bool]) -> Decimal | None:
        if total <= 0:
            return None
        return round_places(sum((a for r, a in paid if which(r)), ZERO) / total, 4)

    hhi = None if total <= 0 else round_places(
        _HHI_SCALE * sum((a * a for _r, a in paid), ZERO) / (total * total), 2)
    founding, entrants = _entrants(view, rows)
    return Market(
        provider_payments=total, sme_share=part(lambda r: r.kind == "sme"),
        vcse_share=part(lambda r: r.kind == "vcse"), local_share=part(lambda r: r.local is True),
        kind_unrecorded_share=part(lambda r: r.kind is None),
        local_unrecorded_share=part(lambda r: r.local is None),
        hhi=hhi, founding=founding, entrants=entrants)
