"""The accountability report as data: every section a frozen msgspec Struct.

These Structs are the published JSON shape of ``report --format json`` (schema in
``projections/report.schema.json``, fields described in ``projections/REPORT.md``).
Money is a Decimal at the currency's minor unit and encodes as a decimal string;
a field that cannot be computed (no target, no cap) is ``null``, never zero. The
sections recording what happened to a contract (returns, register, variations) are in
:mod:`.register_model`, the delivery network and its market figures in
:mod:`.network_model`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from msgspec import Struct

from ..domain.payments.schedule import PeriodAmounts
from ..domain.ratings import Rating
from .improvement_model import Improvement
from .network_model import Network
from .register_model import Register, Returns, VariationEntry

FORMAT = "outcomeledger-report"
FORMAT_VERSION = 2  # 2: no blended cost_per_outcome (issue 20)

Trend = Literal["up", "down", "level"]
CapKind = Literal["contract", "outcome_units", "outcome_value", "participant", "payer"]


class LedgerHead(Struct, frozen=True):
    """The ledger head the report was computed from (``POSITION:HASH``): anyone can
    check it with ``audit verify --head``."""

    position: int
    hash: str
    streams: int


class StreamHead(Struct, frozen=True):
    """The contract's own stream: its last version and that event's hash."""

    version: int
    hash: str


class Basis(Struct, frozen=True):
    as_of: str | None
    as_at: date | None
    through_period: str | None
    terms_in_force: str


class RatingScale(Struct, frozen=True):
    good: Decimal
    approaching: Decimal
    requires_improvement: Decimal
    source: Literal["contract", "default"]


class PeriodPerformance(Struct, frozen=True):
    period: str
    target: Decimal | None
    actual: Decimal
    variance: Decimal | None
    pct_of_target: Decimal | None
    change: Decimal | None
    trend: Trend | None
    rating: Rating


class CumulativePerformance(Struct, frozen=True):
    target_basis: Literal["lifetime", "per_period", "none", "improvement_test"]
    target: Decimal | None
    actual: Decimal
    variance: Decimal | None
    pct_of_target: Decimal | None
    rating: Rating


class OutcomePerformance(Struct, frozen=True):
    code: str
    name: str
    kind: str
    unit: str | None
    in_force: bool
    lifetime_target: Decimal | None
    cumulative: CumulativePerformance
    periods: tuple[PeriodPerformance, ...]


class Performance(Struct, frozen=True):
    ratings: RatingScale
    overall: Rating
    outcomes: tuple[OutcomePerformance, ...]


class PeriodMoney(PeriodAmounts, frozen=True):
    contract_cap: Decimal | None
    retention_held: Decimal  # withheld in the period (``retained`` when positive)
    retention_released: Decimal  # released in it (``-retained`` when negative)


class OutcomeMoney(Struct, frozen=True):
    code: str
    name: str
    units: Decimal
    earned: Decimal
    above_cap: Decimal
    payable: Decimal
    price: Decimal | None  # the rate card's price per unit in the terms read (null: tiers)
    cost_per_unit: Decimal | None  # payable / units: what each outcome achieved cost


class CapUse(Struct, frozen=True):
    kind: CapKind
    subject: str
    measure: Literal["money", "units"]
    limit: Decimal
    used: Decimal
    headroom: Decimal
    reached: bool
    note: str


class Payments(Struct, frozen=True):
    earned: Decimal
    above_cap: Decimal
    adjustments: Decimal
    fees: Decimal
    retained: Decimal
    retention_held: Decimal
    retention_released: Decimal
    payable: Decimal
    certified: Decimal
    outstanding: Decimal
    outcome_payable: Decimal
    caps: tuple[CapUse, ...]
    outcomes: tuple[OutcomeMoney, ...]
    periods: tuple[PeriodMoney, ...]


class PayerPeriod(Struct, frozen=True):
    period: str
    payable: Decimal
    amount: Decimal
    cumulative: Decimal


class PayerStatement(Struct, frozen=True):
    id: str
    name: str
    share: Decimal
    residue: bool
    commitment: Decimal | None
    amount: Decimal
    headroom: Decimal | None
    over_commitment: bool
    periods: tuple[PayerPeriod, ...]


class SocialValueLine(Struct, frozen=True):
    code: str
    name: str
    unit: str | None
    target: Decimal
    delivered: Decimal
    pct_of_target: Decimal | None
    rating: Rating
    proxy_value: Decimal | None
    proxy_total: Decimal | None


class Mission(Struct, frozen=True):
    mission: str
    proxy_total: Decimal
    commitments: tuple[SocialValueLine, ...]


class OptionEntry(Struct, frozen=True):
    """An extension or break option (DESIGN 11): eligible on ``judged_on`` or not, and why."""

    option: str
    kind: Literal["extension", "break"]
    condition: str  # e.g. "good or better over 2 periods"
    months: int | None  # an extension's months; None for a break
    decide_by: date | None  # an extension's deadline
    break_on: date | None  # a break's closing date
    judged_on: date
    eligible: bool
    why: str
    exercised_on: date | None  # the day it was judged on when exercised; None: not used


class CaseOutcome(Struct, frozen=True):
    """One outcome of the base contract or of a business case: delivered against its
    target, and what each unit cost."""

    code: str
    name: str
    units: Decimal  # counted from the latest figures, over the report's periods
    target: Decimal | None  # whole-term (per-period targets summed); None: no target
    earned: Decimal
    payable: Decimal
    cost_per_unit: Decimal | None  # payable / units; None with no units


class BusinessCaseEntry(Struct, frozen=True):
    """The base contract (``business_case`` None) or one business case (DESIGN 11), side
    by side: budget, earned and paid by its outcomes. Fees, adjustments and retention are
    the contract's and not shared out."""

    business_case: str | None
    title: str
    need: str | None
    effective: date
    budget: Decimal | None  # a business case's budget; the base: the contract cap, if any
    earned: Decimal
    above_cap: Decimal
    payable: Decimal
    remaining: Decimal | None  # budget - payable
    outcomes: tuple[CaseOutcome, ...]


class ContractReport(Struct, frozen=True, kw_only=True):
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    reference: str
    title: str
    buyer: str
    supplier: str
    currency: str
    status: Literal["open", "closed"]
    head: LedgerHead
    stream: StreamHead
    basis: Basis
    performance: Performance
    improvement: Improvement | None
    payments: Payments
    returns: Returns
    register: Register
    variations: tuple[VariationEntry, ...]
    options: tuple[OptionEntry, ...]
    #: The base contract and each business case; empty for a contract without any.
    business_cases: tuple[BusinessCaseEntry, ...] = ()
    network: Network
    payers: tuple[PayerStatement, ...]
    social_value: tuple[Mission, ...]


class PortfolioRow(Struct, frozen=True):
    reference: str
    title: str
    currency: str
    status: Literal["open", "closed"]
    overall_rating: Rating
    earned: Decimal
    above_cap: Decimal
    payable: Decimal
    certified: Decimal
    contract_cap: Decimal | None
    headroom: Decimal | None
    returns_missing: int
    returns_late: int
    restatements: int
    variations: int


class PortfolioReport(Struct, frozen=True, kw_only=True):
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    head: LedgerHead
    as_of: str | None
    as_at: date | None
    contracts: tuple[PortfolioRow, ...]
