"""Contract definition and variation formats (DESIGN 4.1, 4.2).

These Structs are the input contract with commissioners: unknown keys are refused,
so a misspelt ``max_vaule`` can never silently drop a cap. They are also embedded in
the ``ContractAgreed`` and ``ContractVaried`` events, so changing a field's type is a
new event version, never an edit.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from msgspec import Struct

from .periods import Cadence
from .risk_share_terms import RiskShare

NegativePolicy = Literal["net", "floor"]
OutcomeKind = Literal["count", "improvement", "measure"]
FeeBasis = Literal["period", "attachment"]
Role = Literal["commissioner", "provider", "auditor", "validator"]
ProviderKind = Literal["sme", "vcse", "public", "large"]
#: The ratings an extension or break condition may ask for (reg. 39 descriptors, best
#: first); "inadequate" would be no condition at all.
#: How a contract's returns hold participant ids: ``clear`` (as given; every contract
#: agreed before pseudonymisation existed) or ``pseudonymised`` (a keyed pseudonym per
#: participant, erasable: README "Participant data and erasure").
ParticipantIds = Literal["clear", "pseudonymised"]
RatingFloor = Literal["good", "approaching target", "requires improvement"]


class Tier(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A marginal price band: ``price`` for each unit up to ``upto`` (cumulative)."""

    price: Decimal
    upto: Decimal | None = None


class Outcome(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One payable (or measured) outcome and its pricing rule."""

    code: str
    name: str
    kind: OutcomeKind = "count"
    price: Decimal | None = None
    tiers: tuple[Tier, ...] | None = None
    threshold: Decimal | None = None
    cap_units: Decimal | None = None
    cap_value: Decimal | None = None
    once_per_participant: bool | None = None
    requires: tuple[str, ...] = ()
    deadweight: Decimal | None = None
    target: Decimal | dict[str, Decimal] | None = None
    unit: str | None = None
    # improvement outcomes (domain.md b5): expected = baseline * exposure / per
    baseline: Decimal | None = None
    per: Decimal | None = None
    cohort_size: Decimal | None = None
    exposure: str | None = None
    pool: str | None = None
    pool_threshold: Decimal | None = None


class Payer(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    id: str
    name: str
    share: Decimal
    commitment: Decimal | None = None
    residue: bool = False  # takes the rounding residue of splits


class ProviderTerms(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """What the integrator pays a provider (DESIGN 10), each part optional: a share of the
    outcome payments its figures earn, its own prices per outcome, a fee per period; and
    what it is to deliver, its targets per outcome over the term."""

    share: Decimal | None = None
    prices: dict[str, Decimal] | None = None
    fee: Decimal | None = None
    # The provider's share of the contract's targets (outcome code -> units over the
    # term): what the report rates its delivery against. None: no target of its own.
    targets: dict[str, Decimal] | None = None


class Provider(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One provider of the delivery network under the supplier (the integrator): who it
    is, when it was a member, and what the integrator pays it."""

    id: str
    name: str
    public_key: str | None = None  # Ed25519, base64 raw bytes or PEM (signed returns)
    # The keys below (DESIGN 10) are None unless given and then omitted when encoded:
    # contracts agreed before them keep their stored bytes.
    kind: ProviderKind | None = None
    local: bool | None = None
    joined: date | None = None  # membership dates; None: from the start, to the end
    left: date | None = None
    terms: ProviderTerms | None = None

    def member_on(self, day: date) -> bool:
        """Whether ``day`` falls within its membership (no dates: always)."""
        return ((self.joined is None or self.joined <= day)
                and (self.left is None or day <= self.left))

    def member_during(self, start: date, end: date) -> bool:
        """Whether its membership overlaps ``start``..``end``: a provider joining or
        leaving mid-period is a member for that period (returns, fees)."""
        return ((self.joined is None or self.joined <= end)
                and (self.left is None or start <= self.left))


class Fee(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A non-outcome payment: per period, or per attachment (units of ``outcome``)."""

    code: str
    name: str
    amount: Decimal
    basis: FeeBasis = "period"
    outcome: str | None = None


class SocialValue(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    code: str
    name: str
    mission: str
    target: Decimal
    proxy_value: Decimal | None = None
    unit: str | None = None


class Kpi(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A service level; a shortfall below ``target`` earns a service credit.

    credit = ``rate`` x shortfall (in KPI points) x the period's fees, at most
    ``cap`` x the period's fees.
    """

    code: str
    name: str
    target: Decimal
    rate: Decimal = Decimal(0)
    cap: Decimal | None = None


class Ratings(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Procurement Act 2023 rating thresholds, as shares of target (reg. 39 descriptors).

    The Act gives the descriptors but no numbers, so they are a contract term:
    actual / target at or above ``good`` is *good*, at or above ``approaching`` is
    *approaching target*, at or above ``requires_improvement`` is *requires
    improvement*, and anything lower is *inadequate*. A contract that says nothing
    gets these defaults (see :data:`DEFAULT_RATINGS`).
    """

    good: Decimal = Decimal("1.00")
    approaching: Decimal = Decimal("0.90")
    requires_improvement: Decimal = Decimal("0.75")


#: The thresholds used when a contract has no ``ratings`` table.
DEFAULT_RATINGS = Ratings()


class Condition(Struct, frozen=True, forbid_unknown_fields=True):
    """What an extension or break is earned on (DESIGN 11): every outcome with a target
    rated ``rating_at_least`` or better in each of the last ``periods`` completed periods."""

    rating_at_least: RatingFloor
    periods: int


class Extension(Struct, frozen=True, forbid_unknown_fields=True):
    """An option to extend the term by ``months``, to be decided by ``decide_by``."""

    id: str
    months: int
    decide_by: date
    condition: Condition


class Break(Struct, frozen=True, forbid_unknown_fields=True):
    """An option to end the contract early, on ``on``, if its condition holds."""

    id: str
    on: date
    condition: Condition


class BusinessCase(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Additional delivery agreed on a business case (DESIGN 11): its own outcomes (codes
    new to the contract), paid like the contract's from ``effective`` (a period boundary),
    first capped by ``budget`` (the most it pays over the contract's life), then by the
    contract's caps. ``providers``: the network providers who deliver it (empty: any)."""

    id: str
    title: str
    need: str
    effective: date
    budget: Decimal
    outcomes: tuple[Outcome, ...]
    providers: tuple[str, ...] = ()


class Actor(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    name: str
    role: Role
    provider: str | None = None
    # Ed25519, base64 raw bytes or PEM: the actor's writes must be signed with its key
    # (``--key``). Once any actor has one, every write to the contract must be signed.
    public_key: str | None = None


class ContractTerms(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    reference: str
    title: str
    buyer: str
    supplier: str
    start: date
    end: date
    cadence: Cadence
    outcomes: tuple[Outcome, ...]
    currency: str = "GBP"
    max_value: Decimal | None = None
    claims_until: date | None = None
    retention: Decimal | None = None
    negative_periods: NegativePolicy = "net"
    participant_cap: Decimal | None = None
    returns_due_days: int = 30
    signed_returns: bool = False
    payers: tuple[Payer, ...] = ()
    providers: tuple[Provider, ...] = ()
    fees: tuple[Fee, ...] = ()
    social_value: tuple[SocialValue, ...] = ()
    kpis: tuple[Kpi, ...] = ()
    actors: tuple[Actor, ...] = ()
    # None (omitted when encoded) keeps the stored bytes of contracts agreed before
    # ratings existed canonical; readers fall back to DEFAULT_RATINGS.
    ratings: Ratings | None = None
    # The programme (DESIGN 10) whose budget pays this contract's payment runs, if any.
    programme: str | None = None
    # DESIGN 11 options; empty tuples are omitted when encoded, so contracts agreed before
    # them keep their stored bytes.
    extensions: tuple[Extension, ...] = ()
    breaks: tuple[Break, ...] = ()
    # Shared risk on cost (DESIGN 11; domain/risk_share_terms.py). None (omitted when
    # encoded) keeps the stored bytes of contracts agreed before it.
    risk_share: RiskShare | None = None
    # "clear" (the default) is omitted when encoded: contracts agreed before it keep
    # their stored bytes. Fixed at agreement (a variation cannot change it).
    participant_ids: ParticipantIds = "clear"

    @property
    def last_claim_date(self) -> date:
        return self.claims_until or self.end

    def outcome(self, code: str) -> Outcome | None:
        for outcome in self.outcomes:
            if outcome.code == code:
                return outcome
        return None


def periodic_returns(terms: ContractTerms) -> bool:
    """Whether ``terms`` expect a return every period (the contract's cadence): some
    outcome is counted or measured per period, or a KPI is. Improvement outcomes are
    reported once, as a result per cohort (domain.md b5), not every period."""
    return bool(terms.kpis) or any(o.kind != "improvement" for o in terms.outcomes)
