"""Pricing rules: what units are worth under a price or marginal tiers, and how much of
a cumulative move a cap lets through."""

from __future__ import annotations

from decimal import Decimal

from ..money import ZERO, fmt
from ..terms import Outcome, Tier


def tiered_value(tiers: tuple[Tier, ...], units: Decimal) -> Decimal:
    """Value of the first ``units`` units (cumulative) under marginal bands."""
    value, lower = ZERO, ZERO
    remaining = units
    for tier in tiers:
        if remaining <= 0:
            break
        width = remaining if tier.upto is None else min(remaining, tier.upto - lower)
        value += width * tier.price
        remaining -= width
        if tier.upto is not None:
            lower = tier.upto
    return value


def price_between(o: Outcome, before: Decimal, after: Decimal) -> Decimal:
    """Value of the units between cumulative counts ``before`` and ``after``."""
    if o.tiers is not None:
        return tiered_value(o.tiers, after) - tiered_value(o.tiers, before)
    return (after - before) * (o.price or ZERO)


# The words for a price rule, by (price, tiers): the same few rules describe every line.
_PRICE_TEXT: dict[tuple[Decimal | None, tuple[Tier, ...] | None], str] = {}


def describe_price(o: Outcome) -> str:
    key = (o.price, o.tiers)
    text = _PRICE_TEXT.get(key)
    if text is None:
        if len(_PRICE_TEXT) >= 4096:
            _PRICE_TEXT.clear()
        text = _PRICE_TEXT[key] = price_text(o)
    return text


def price_text(o: Outcome) -> str:
    if o.tiers is not None:
        bands = ", ".join(f"{fmt(t.price)} up to {fmt(t.upto)}" if t.upto is not None
                          else f"{fmt(t.price)} above" for t in o.tiers)
        return f"marginal tiers ({bands}) on cumulative units"
    return f"price {fmt(o.price or ZERO)} per unit"


def capped_delta(before: Decimal, after: Decimal, cap: Decimal | None) -> Decimal:
    """The part of the move ``before -> after`` that lies within a cumulative cap."""
    if cap is None:
        return after - before
    return min(after, cap) - min(before, cap)
