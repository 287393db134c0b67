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

import msgspec
from msgspec import UNSET, Struct, UnsetType

from .errors import Problem
from .money import MAX_AMOUNT
from .periods import Cadence, is_boundary
from .signing import SignatureError, load_public_key

NegativePolicy = Literal["net", "floor"]
OutcomeKind = Literal["count", "improvement", "measure"]
FeeBasis = Literal["period", "attachment"]
Role = Literal["commissioner", "provider", "auditor", "validator"]


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


class Provider(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    id: str
    name: str
    public_key: str | None = None  # Ed25519, base64 raw bytes or PEM (signed returns)


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
    ``cap`` x the period's fees (domain.md b11).
    """

    code: str
    name: str
    target: Decimal
    rate: Decimal = Decimal(0)
    cap: Decimal | None = None


class Ratings(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Procurement Act 2023 rating thresholds, as shares of target (domain.md e1 #2).

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


class Actor(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    name: str
    role: Role
    provider: str | None = None


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

    @property
    def last_claim_date(self) -> date:
        return self.claims_until or self.end

    def outcome(self, code: str) -> Outcome | None:
        for outcome in self.outcomes:
            if outcome.code == code:
                return outcome
        return None


class OutcomeChange(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Fields of one outcome that a variation replaces; an unknown code adds an outcome."""

    code: str
    name: str | UnsetType = UNSET
    kind: OutcomeKind | UnsetType = UNSET
    price: Decimal | UnsetType | None = UNSET
    tiers: tuple[Tier, ...] | UnsetType | None = UNSET
    threshold: Decimal | UnsetType | None = UNSET
    cap_units: Decimal | UnsetType | None = UNSET
    cap_value: Decimal | UnsetType | None = UNSET
    once_per_participant: bool | UnsetType | None = UNSET
    requires: tuple[str, ...] | UnsetType = UNSET
    deadweight: Decimal | UnsetType | None = UNSET
    target: Decimal | dict[str, Decimal] | UnsetType | None = UNSET
    unit: str | UnsetType | None = UNSET
    baseline: Decimal | UnsetType | None = UNSET
    per: Decimal | UnsetType | None = UNSET
    cohort_size: Decimal | UnsetType | None = UNSET
    exposure: str | UnsetType | None = UNSET
    pool: str | UnsetType | None = UNSET
    pool_threshold: Decimal | UnsetType | None = UNSET


class Variation(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A partial contract document: only the fields that change (DESIGN 4.2)."""

    title: str | UnsetType = UNSET
    end: date | UnsetType = UNSET
    claims_until: date | UnsetType | None = UNSET
    max_value: Decimal | UnsetType | None = UNSET
    retention: Decimal | UnsetType | None = UNSET
    negative_periods: NegativePolicy | UnsetType = UNSET
    participant_cap: Decimal | UnsetType | None = UNSET
    returns_due_days: int | UnsetType = UNSET
    signed_returns: bool | UnsetType = UNSET
    outcomes: tuple[OutcomeChange, ...] = ()
    retire: tuple[str, ...] = ()
    payers: tuple[Payer, ...] | UnsetType = UNSET  # replaces the payer list
    providers: tuple[Provider, ...] = ()  # added to the network
    fees: tuple[Fee, ...] = ()  # matched by code: replaces, or adds
    social_value: tuple[SocialValue, ...] = ()  # matched by code
    kpis: tuple[Kpi, ...] = ()  # matched by code
    actors: tuple[Actor, ...] = ()  # added
    ratings: Ratings | UnsetType | None = UNSET  # replaces the whole table


def _replace_by(items: tuple[Struct, ...], new: tuple[Struct, ...], key: str) -> tuple[Struct, ...]:
    by_key = {getattr(item, key): item for item in items}
    for item in new:
        by_key[getattr(item, key)] = item
    return tuple(by_key.values())


def apply_variation(terms: ContractTerms, variation: Variation) -> ContractTerms:
    """The terms after ``variation``; the result still needs :func:`check_terms`."""
    changes: dict[str, object] = {}
    for name in ("title", "end", "claims_until", "max_value", "retention",
                 "negative_periods", "participant_cap", "returns_due_days", "signed_returns",
                 "payers", "ratings"):
        value = getattr(variation, name)
        if value is not UNSET:
            changes[name] = value
    outcomes = {o.code: o for o in terms.outcomes}
    for change in variation.outcomes:
        fields = {f: getattr(change, f) for f in change.__struct_fields__
                  if getattr(change, f) is not UNSET}
        current = outcomes.get(change.code)
        if current is None:
            outcomes[change.code] = msgspec.convert(fields, Outcome, from_attributes=False)
        else:
            outcomes[change.code] = msgspec.structs.replace(current, **fields)
    for code in variation.retire:
        outcomes.pop(code, None)
    changes["outcomes"] = tuple(outcomes.values())
    changes["providers"] = _replace_by(terms.providers, variation.providers, "id")
    changes["fees"] = _replace_by(terms.fees, variation.fees, "code")
    changes["social_value"] = _replace_by(terms.social_value, variation.social_value, "code")
    changes["kpis"] = _replace_by(terms.kpis, variation.kpis, "code")
    changes["actors"] = _replace_by(terms.actors, variation.actors, "name")
    return msgspec.structs.replace(terms, **changes)


def check_variation(terms: ContractTerms, variation: Variation, source: str) -> list[Problem]:
    """Problems that only make sense against the terms being varied."""
    problems: list[Problem] = []
    codes = {o.code for o in terms.outcomes}
    for code in variation.retire:
        if code not in codes:
            problems.append(Problem(source, None, "retire",
                                    f"no outcome {code!r} to retire (got {code!r}, "
                                    f"expected one of {sorted(codes)})"))
    for change in variation.outcomes:
        if change.code not in codes and (change.name is UNSET or (
                change.price in (UNSET, None) and change.tiers in (UNSET, None)
                and change.kind in (UNSET, "count"))):
            problems.append(Problem(source, None, f"outcomes[{change.code}]",
                                    "a new outcome needs a name and a pricing rule "
                                    "(price or tiers)"))
    return problems


def _finite(problems: list[Problem], source: str, field: str, value: Decimal | None,
            *, low: Decimal | None = None, high: Decimal | None = None) -> None:
    if value is None:
        return
    if not value.is_finite():
        problems.append(Problem(source, None, field, f"not a finite number (got {value})"))
        return
    if abs(value) > MAX_AMOUNT:
        problems.append(Problem(source, None, field, f"absurdly large (got {value})"))
    if low is not None and value < low:
        problems.append(Problem(source, None, field, f"must be at least {low} (got {value})"))
    if high is not None and value > high:
        problems.append(Problem(source, None, field, f"must be at most {high} (got {value})"))


def check_terms(terms: ContractTerms, source: str) -> list[Problem]:
    """Every semantic problem with a (possibly varied) contract definition."""
    p: list[Problem] = []
    zero, one = Decimal(0), Decimal(1)
    if not terms.reference.strip():
        p.append(Problem(source, None, "reference", "must not be empty"))
    if terms.end < terms.start:
        p.append(Problem(source, None, "end", f"ends before it starts (got {terms.end}, "
                                              f"expected on or after {terms.start})"))
    if terms.claims_until is not None and terms.claims_until < terms.end:
        p.append(Problem(source, None, "claims_until",
                         f"claims window closes before the term ends (got {terms.claims_until},"
                         f" expected on or after {terms.end})"))
    if len(terms.currency) != 3 or not terms.currency.isupper():
        p.append(Problem(source, None, "currency",
                         f"expected an ISO 4217 code like GBP (got {terms.currency!r})"))
    _finite(p, source, "max_value", terms.max_value, low=zero)
    _finite(p, source, "retention", terms.retention, low=zero, high=one)
    _finite(p, source, "participant_cap", terms.participant_cap, low=zero)
    if not terms.outcomes:
        p.append(Problem(source, None, "outcomes", "at least one outcome is required"))
    codes = [o.code for o in terms.outcomes]
    for code in {c for c in codes if codes.count(c) > 1}:
        p.append(Problem(source, None, "outcomes", f"outcome code {code!r} appears twice"))
    known = set(codes)
    for i, o in enumerate(terms.outcomes):
        _check_outcome(p, source, f"outcomes[{i}]", o, known)
    sv_codes = {s.code for s in terms.social_value}
    if clash := known & sv_codes:
        p.append(Problem(source, None, "social_value",
                         f"codes also used by outcomes: {sorted(clash)}"))
    for i, sv in enumerate(terms.social_value):
        _finite(p, source, f"social_value[{i}].target", sv.target, low=zero)
        _finite(p, source, f"social_value[{i}].proxy_value", sv.proxy_value, low=zero)
    if terms.payers:
        total = sum((pay.share for pay in terms.payers), zero)
        if total != one:
            p.append(Problem(source, None, "payers", f"shares must sum to 1 (got {total})"))
        if sum(1 for pay in terms.payers if pay.residue) > 1:
            p.append(Problem(source, None, "payers", "at most one payer takes the residue"))
        for i, pay in enumerate(terms.payers):
            _finite(p, source, f"payers[{i}].share", pay.share, low=zero, high=one)
            _finite(p, source, f"payers[{i}].commitment", pay.commitment, low=zero)
    for i, fee in enumerate(terms.fees):
        _finite(p, source, f"fees[{i}].amount", fee.amount)
        if fee.basis == "attachment" and (fee.outcome is None or fee.outcome not in known):
            p.append(Problem(source, None, f"fees[{i}].outcome",
                             "an attachment fee names the outcome that counts attachments "
                             f"(got {fee.outcome!r}, expected one of {sorted(known)})"))
    for i, kpi in enumerate(terms.kpis):
        _finite(p, source, f"kpis[{i}].rate", kpi.rate, low=zero)
        _finite(p, source, f"kpis[{i}].cap", kpi.cap, low=zero, high=one)
    if terms.ratings is not None:
        _check_ratings(p, source, terms.ratings)
    provider_ids = {prov.id for prov in terms.providers}
    for i, prov in enumerate(terms.providers):
        if prov.public_key is not None:
            try:
                load_public_key(prov.public_key)
            except SignatureError as e:
                p.append(Problem(source, None, f"providers[{i}].public_key", str(e)))
        elif terms.signed_returns:
            p.append(Problem(source, None, f"providers[{i}].public_key",
                             "signed_returns needs every provider's Ed25519 public key"))
    for i, actor in enumerate(terms.actors):
        if actor.role == "provider" and actor.provider not in provider_ids:
            p.append(Problem(source, None, f"actors[{i}].provider",
                             f"a provider actor names a provider of the network "
                             f"(got {actor.provider!r}, expected one of {sorted(provider_ids)})"))
    return p


def _check_ratings(p: list[Problem], source: str, r: Ratings) -> None:
    for name in ("good", "approaching", "requires_improvement"):
        _finite(p, source, f"ratings.{name}", getattr(r, name), low=Decimal(0))
    values = (r.good, r.approaching, r.requires_improvement)
    # Decimal ordering raises on NaN; _finite above has already reported those.
    if all(v.is_finite() for v in values) and not values[0] >= values[1] >= values[2]:
        p.append(Problem(source, None, "ratings",
                         "thresholds must not increase from good to approaching to "
                         f"requires_improvement (got {r.good}, {r.approaching}, "
                         f"{r.requires_improvement})"))


def _check_outcome(p: list[Problem], source: str, where: str, o: Outcome,
                   known: set[str]) -> None:
    zero, one = Decimal(0), Decimal(1)
    if not o.code.strip():
        p.append(Problem(source, None, f"{where}.code", "must not be empty"))
    _finite(p, source, f"{where}.price", o.price, low=zero)
    _finite(p, source, f"{where}.threshold", o.threshold, low=zero)
    _finite(p, source, f"{where}.cap_units", o.cap_units, low=zero)
    _finite(p, source, f"{where}.cap_value", o.cap_value, low=zero)
    _finite(p, source, f"{where}.deadweight", o.deadweight, low=zero, high=one)
    for code in o.requires:
        if code not in known or code == o.code:
            p.append(Problem(source, None, f"{where}.requires",
                             f"prerequisite {code!r} is not another outcome of this contract"))
    if o.kind == "measure":
        if o.price is not None or o.tiers is not None:
            p.append(Problem(source, None, f"{where}.price",
                             "a measure is reported, not paid: remove price/tiers"))
        return
    if (o.price is None) == (o.tiers is None):
        p.append(Problem(source, None, f"{where}.price",
                         "exactly one pricing rule is required: price or tiers"))
    if o.tiers is not None:
        _check_tiers(p, source, f"{where}.tiers", o.tiers)
    if o.kind == "improvement":
        if o.baseline is None or o.baseline <= zero:
            p.append(Problem(source, None, f"{where}.baseline",
                             "an improvement outcome needs a positive baseline rate"))
        if (o.cohort_size is None) == (o.exposure is None):
            p.append(Problem(source, None, f"{where}.cohort_size",
                             "an improvement outcome needs exactly one of cohort_size or "
                             "exposure (the code of a measure giving each period's exposure)"))
        if o.exposure is not None and o.exposure not in known:
            p.append(Problem(source, None, f"{where}.exposure",
                             f"exposure {o.exposure!r} is not an outcome of this contract"))
        _finite(p, source, f"{where}.threshold", o.threshold, low=zero, high=one)
        _finite(p, source, f"{where}.pool_threshold", o.pool_threshold, low=zero, high=one)
        _finite(p, source, f"{where}.per", o.per, low=Decimal("1e-9"))
        if (o.pool is None) != (o.pool_threshold is None):
            p.append(Problem(source, None, f"{where}.pool",
                             "pool and pool_threshold go together"))


def _check_tiers(p: list[Problem], source: str, where: str, tiers: tuple[Tier, ...]) -> None:
    if not tiers:
        p.append(Problem(source, None, where, "at least one band is required"))
        return
    previous = Decimal(0)
    for i, tier in enumerate(tiers):
        _finite(p, source, f"{where}[{i}].price", tier.price, low=Decimal(0))
        last = i == len(tiers) - 1
        if tier.upto is None and not last:
            p.append(Problem(source, None, f"{where}[{i}].upto",
                             "only the last band may be open-ended"))
        if tier.upto is not None:
            if last:
                p.append(Problem(source, None, f"{where}[{i}].upto",
                                 "the last band is open-ended: remove upto"))
            if tier.upto <= previous:
                p.append(Problem(source, None, f"{where}[{i}].upto",
                                 f"bands must increase (got {tier.upto} after {previous})"))
            previous = tier.upto


def check_effective(terms: ContractTerms, effective: date, source: str) -> list[Problem]:
    """A variation takes effect on a period boundary, never before the contract starts."""
    if effective < terms.start:
        return [Problem(source, None, "effective",
                        f"before the contract starts (got {effective}, expected on or after "
                        f"{terms.start})")]
    if effective != terms.start and not is_boundary(effective, terms.cadence):
        return [Problem(source, None, "effective",
                        f"not on a period boundary (got {effective}, expected the first day "
                        f"of a {terms.cadence})")]
    if effective > terms.last_claim_date:
        return [Problem(source, None, "effective",
                        f"after the claims window closes (got {effective}, expected on or "
                        f"before {terms.last_claim_date})")]
    return []
