"""Shared risk on cost (DESIGN 11, NEC Option C style): the ``[risk_share]`` table of a
contract and what makes one sound.

``target_cost`` is the cost the whole term is expected to take; ``bands`` split the
over- or underrun by outturn ÷ target (like income-tax bands), each band giving the
supplier's share of the part of the difference that falls in it; ``pain_cap`` is the most
the supplier bears of an overrun over the contract's life. The arithmetic is in
:mod:`outcomeledger.domain.payments.risk_share`.

The bands are written in increasing order of ``upto`` (outturn ÷ target, e.g. ``0.9``);
the first runs from nothing, each next one from the ``upto`` before it, and the last band
is open: it gives no ``upto`` (as the last of an outcome's price ``tiers``).
"""

from __future__ import annotations

from decimal import Decimal

from msgspec import Struct

from .bounds import finite
from .errors import Problem


class ShareBand(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A band of outturn ÷ target, up to ``upto`` (the last band: open), and the
    supplier's share of the part of the over- or underrun that falls in it."""

    supplier_share: Decimal
    upto: Decimal | None = None


class RiskShare(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """The contract's target cost, the bands that share its over- or underrun between
    buyer and supplier, and the most the supplier bears of an overrun."""

    target_cost: Decimal
    bands: tuple[ShareBand, ...]
    pain_cap: Decimal | None = None


def check_risk_share(p: list[Problem], source: str, risk: RiskShare) -> None:
    """Every problem of a ``[risk_share]`` table, appended to ``p``: a positive target, a
    pain cap of 0 or more, shares within 0..1 and bands increasing to an open last one."""
    zero, one = Decimal(0), Decimal(1)
    finite(p, source, "risk_share.target_cost", risk.target_cost)
    if risk.target_cost.is_finite() and risk.target_cost <= zero:
        p.append(Problem(source, None, "risk_share.target_cost", "the cost the term is "
                         f"expected to take (got {risk.target_cost}, expected more than 0)"))
    finite(p, source, "risk_share.pain_cap", risk.pain_cap, low=zero)
    if not risk.bands:
        p.append(Problem(source, None, "risk_share.bands", "at least one band is required "
                         "(expected [{ supplier_share }] at the least)"))
    previous = zero
    for i, band in enumerate(risk.bands):
        where = f"risk_share.bands[{i}]"
        finite(p, source, f"{where}.supplier_share", band.supplier_share, low=zero, high=one)
        last = i == len(risk.bands) - 1
        if band.upto is None:
            if not last:
                p.append(Problem(source, None, f"{where}.upto", "only the last band is "
                                 "open (expected an upto: outturn ÷ target, e.g. 0.9)"))
            continue
        if last:
            p.append(Problem(source, None, f"{where}.upto", f"the last band is open (got "
                             f"upto = {band.upto}, expected no upto)"))
        if not band.upto.is_finite() or band.upto <= previous:
            p.append(Problem(source, None, f"{where}.upto", f"bands must increase (got "
                             f"{band.upto} after {previous}, expected more than {previous})"))
        else:
            previous = band.upto
