"""A programme's terms, as the commissioner writes them (TOML or JSON, DESIGN 10), and
the variation that changes its budget or funders.

Structs as the contract's terms are: unknown keys refused, defaults omitted when encoded.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec
from msgspec import UNSET, Struct, UnsetType


class Funder(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One funder of the programme and what it has committed to pay."""

    id: str
    name: str
    commitment: Decimal


class ProgrammeTerms(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    reference: str
    title: str
    currency: str
    start: date
    end: date
    budget: Decimal  # the most the programme pays across all its contracts
    funders: tuple[Funder, ...] = ()


class ProgrammeVariation(Struct, frozen=True, forbid_unknown_fields=True,
                         omit_defaults=True):
    """What a ``programme vary`` file may change: the budget, the end, the funders (the
    whole list, replaced)."""

    title: str | UnsetType = UNSET
    end: date | UnsetType = UNSET
    budget: Decimal | UnsetType = UNSET
    funders: tuple[Funder, ...] | UnsetType = UNSET


def apply_programme_variation(terms: ProgrammeTerms,
                              variation: ProgrammeVariation) -> ProgrammeTerms:
    changes = {name: getattr(variation, name) for name in variation.__struct_fields__
               if getattr(variation, name) is not UNSET}
    return msgspec.structs.replace(terms, **changes)
