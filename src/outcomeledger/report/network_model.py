"""The report's delivery network as data: who earned what, what reached each provider,
and whether the market is diversifying (DESIGN 10).

Part of the published JSON shape of ``report --format json`` (see :mod:`.model`, which
holds the rest of it), with the same conventions: money a decimal string at the minor
unit, ``null`` where a figure cannot be computed (a provider without terms owes nothing
the ledger knows of), never zero. Apart from it because the network and its market
figures are built together (:mod:`.network`, :mod:`.market`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from msgspec import Struct

from ..domain.ratings import Rating
from ..domain.terms import ProviderKind

#: Which amount a provider's ``provider_payments`` is: what the integrator owes it on
#: its terms, or (no terms) its attributed share of the outcome payments.
PaymentsBasis = Literal["owed", "payable"]


class ProviderOutcome(Struct, frozen=True):
    code: str
    units: Decimal
    earned: Decimal
    # The provider's share of the contract's target for the outcome (its terms'
    # ``targets``), its delivery as a percentage of it, and the reg. 39 rating of that;
    # null / "other" when its terms give it no target.
    target: Decimal | None
    percent_of_target: Decimal | None
    rating: Rating


class ProviderShare(Struct, frozen=True):
    id: str
    name: str
    kind: ProviderKind | None
    local: bool | None
    joined: date | None
    left: date | None
    earned: Decimal
    share: Decimal
    fees: Decimal | None
    adjustments: Decimal | None  # the integrator's row: the contract's adjustments
    payable: Decimal
    buyer_pays: Decimal | None
    owed: Decimal | None
    margin: Decimal | None
    provider_payments: Decimal | None
    payments_basis: PaymentsBasis | None
    keeps: Decimal | None  # the integrator's row: what stays with it
    outcomes: tuple[ProviderOutcome, ...]


class EntrantYear(Struct, frozen=True):
    year: str
    joined: int
    providers: tuple[str, ...]


class Market(Struct, frozen=True):
    provider_payments: Decimal
    sme_share: Decimal | None
    vcse_share: Decimal | None
    local_share: Decimal | None
    kind_unrecorded_share: Decimal | None
    local_unrecorded_share: Decimal | None
    hhi: Decimal | None
    founding: int
    entrants: tuple[EntrantYear, ...]


class Network(Struct, frozen=True):
    integrator: str
    outcome_payable: Decimal
    fees: Decimal
    adjustments: Decimal
    providers: tuple[ProviderShare, ...]
    market: Market | None
