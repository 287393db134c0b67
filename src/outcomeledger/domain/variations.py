"""Variations (DESIGN 4.2): what a variation may change, and the terms it leaves.

A variation names only what changes: outcomes matched by ``code`` and providers by
``id``, each giving only the keys it changes (``UNSET`` keys keep the terms' value). The
Structs are embedded in ``ContractVaried`` events, so a field's type never changes.
Apart from :mod:`.terms` (what a contract is) because this is how it changes.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec
from msgspec import UNSET, Struct, UnsetType

from .risk_share_terms import RiskShare
from .terms import (
    Actor,
    ContractTerms,
    Fee,
    Kpi,
    NegativePolicy,
    Outcome,
    OutcomeKind,
    Payer,
    Provider,
    ProviderKind,
    ProviderTerms,
    Ratings,
    SocialValue,
    Tier,
)


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


class ProviderChange(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Keys of one provider that a variation replaces (``id`` with ``left`` retires it);
    an unknown id adds a provider."""

    # Provider's fields in its order: variations stored with whole providers keep bytes.
    id: str
    name: str | UnsetType = UNSET
    public_key: str | UnsetType | None = UNSET
    kind: ProviderKind | UnsetType | None = UNSET
    local: bool | UnsetType | None = UNSET
    joined: date | UnsetType | None = UNSET
    left: date | UnsetType | None = UNSET
    terms: ProviderTerms | UnsetType | None = UNSET


class Variation(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A partial contract document: only the fields that change."""

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
    providers: tuple[ProviderChange, ...] = ()  # matched by id: changed, or added
    fees: tuple[Fee, ...] = ()  # matched by code: replaces, or adds
    social_value: tuple[SocialValue, ...] = ()  # matched by code
    kpis: tuple[Kpi, ...] = ()  # matched by code
    actors: tuple[Actor, ...] = ()  # added
    ratings: Ratings | UnsetType | None = UNSET  # replaces the whole table
    programme: str | UnsetType | None = UNSET  # joins (or, with "", leaves) a programme
    risk_share: RiskShare | UnsetType | None = UNSET  # replaces the whole table


def _replace_by(items: tuple[Struct, ...], new: tuple[Struct, ...], key: str) -> tuple[Struct, ...]:
    by_key = {getattr(item, key): item for item in items}
    for item in new:
        by_key[getattr(item, key)] = item
    return tuple(by_key.values())


def _given(change: Struct) -> dict[str, object]:
    """The fields a change gives (those not left UNSET)."""
    return {f: getattr(change, f) for f in change.__struct_fields__
            if getattr(change, f) is not UNSET}


def apply_variation(terms: ContractTerms, variation: Variation) -> ContractTerms:
    """The terms after ``variation``; the result still needs
    :func:`outcomeledger.domain.term_checks.check_terms`."""
    changes: dict[str, object] = {}
    for name in ("title", "end", "claims_until", "max_value", "retention",
                 "negative_periods", "participant_cap", "returns_due_days", "signed_returns",
                 "payers", "ratings", "programme", "risk_share"):
        value = getattr(variation, name)
        if value is not UNSET:
            changes[name] = value
    outcomes = {o.code: o for o in terms.outcomes}
    for change in variation.outcomes:
        fields = _given(change)
        current = outcomes.get(change.code)
        if current is None:
            outcomes[change.code] = msgspec.convert(fields, Outcome, from_attributes=False)
        else:
            # An outcome has one pricing rule: a variation giving the other one replaces
            # it (TOML cannot write the null that would clear it). Terms with both were
            # always refused, so no stored variation replays differently.
            for rule, other in (("price", "tiers"), ("tiers", "price")):
                if fields.get(rule) is not None and other not in fields:
                    fields[other] = None
            outcomes[change.code] = msgspec.structs.replace(current, **fields)
    for code in variation.retire:
        outcomes.pop(code, None)
    changes["outcomes"] = tuple(outcomes.values())
    changes["providers"] = _changed_providers(terms.providers, variation.providers)
    changes["fees"] = _replace_by(terms.fees, variation.fees, "code")
    changes["social_value"] = _replace_by(terms.social_value, variation.social_value, "code")
    changes["kpis"] = _replace_by(terms.kpis, variation.kpis, "code")
    changes["actors"] = _replace_by(terms.actors, variation.actors, "name")
    return msgspec.structs.replace(terms, **changes)


def _changed_providers(providers: tuple[Provider, ...],
                       changes: tuple[ProviderChange, ...]) -> tuple[Provider, ...]:
    """Each change's keys replace its provider's (so a variation retires a provider by
    giving its ``id`` and ``left`` alone); an unknown id is a provider added."""
    by_id = {p.id: p for p in providers}
    for change in changes:
        fields = _given(change)
        current = by_id.get(change.id)
        by_id[change.id] = (msgspec.convert(fields, Provider, from_attributes=False)
                            if current is None else msgspec.structs.replace(current, **fields))
    return tuple(by_id.values())
