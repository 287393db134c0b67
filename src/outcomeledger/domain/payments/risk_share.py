"""Shared risk on cost (DESIGN 11, NEC Option C style): each period's ``gain_share`` or
``pain_share`` line, from the costs reported against the contract's ``[risk_share]``.

The rule, for a period *k* in which costs are reported, with the terms in force for it:

* **Target, pro-rated by periods of the term.** ``target_cost`` is the cost of the whole
  term; through period *k* the target is ``target_cost × k ÷ N``, where *N* is the number of
  periods of the term in force (from the period containing ``start`` to the one containing
  ``end``) and *k* the period's place among them (1 for the first; never more than *N*).
  (An extension lengthens the term in force from its effective date: the same target
  spread over more periods, unless a variation gives ``[risk_share]`` a new one.)
* **Outturn**: the latest amount of every cost category of every period up to and
  including *k* (restatements included).
* **Bands, like income-tax bands.** Band *i* covers outturn ÷ target from the ``upto``
  of the band before it (the first: from nothing) to its own ``upto`` (the last: open).
  The difference between outturn and target is cut at the band boundaries (``upto ×
  target``) and each slice is multiplied by its band's ``supplier_share``; the sum is the
  cumulative share: **positive** (a gain share, owed to the supplier) when the outturn is
  below the target, **negative** (a pain share, borne by the supplier) when above, zero on
  target. A pain share never goes below ``-pain_cap``. It is quantized once, here
  (:func:`outcomeledger.domain.money.quantize`).
* **The period's line** = the cumulative share through *k* − the cumulative share through
  the last period before it with costs reported (0 at first); so the lines of a contract
  add up to its cumulative share exactly. A period with no costs reported has no line:
  the share is measured again at the next period with costs. The line's step is named by
  the cumulative share it brings the contract to (``gain_share`` at or below target,
  ``pain_share`` above); its amount may have either sign as the outturn moves.
* **Where in DESIGN 5:** step 4, after the period's adjustments, service credits and fees,
  before retention (which withholds its share of the line as of any payment); it counts in
  the period's ``adjustments`` (the kinds ``gain_share`` and ``pain_share`` of DESIGN 4.4).
* **Closure:** a period begun after a contract's closure shares nothing (no line), as it
  pays nothing else (:mod:`.closure`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ..contract.records import CostRecord
from ..money import ZERO, fmt, quantize, round_places
from ..periods import Period, period_containing
from ..risk_share_terms import RiskShare, ShareBand
from ..terms import ContractTerms
from .running import Running
from .schedule import Step


def elapsed(terms: ContractTerms, period: Period) -> tuple[int, int]:
    """(k, N): the place of ``period`` among the N periods of ``terms``' term (k at most
    N, at least 1)."""
    first = period_containing(terms.start, terms.cadence)
    last = period_containing(terms.end, terms.cadence)
    size = 3 if terms.cadence == "quarter" else 1

    def place(p: Period) -> int:
        return ((p.start.year - first.start.year) * 12
                + p.start.month - first.start.month) // size + 1

    n = place(last)
    return min(max(place(period), 1), n), n


def slices(outturn: Decimal, target: Decimal, bands: Sequence[ShareBand]
           ) -> list[tuple[Decimal, Decimal, Decimal | None, ShareBand]]:
    """The parts of the difference between ``outturn`` and ``target`` in each band:
    (amount, band start, band end (None: open), band), for the bands it crosses."""
    low, high = min(outturn, target), max(outturn, target)
    out = []
    start: Decimal | None = None  # the first band runs from nothing
    for band in bands:
        a = low if start is None else max(low, start * target)
        b = high if band.upto is None else min(high, band.upto * target)
        if b > a:
            out.append((b - a, ZERO if start is None else start, band.upto, band))
        start = band.upto
    return out


def cumulative_share(outturn: Decimal, target: Decimal, risk: RiskShare) -> Decimal:
    """The supplier's cumulative share (unrounded, before ``pain_cap``): positive below
    target, negative above."""
    total = sum((amount * band.supplier_share
                 for amount, _, _, band in slices(outturn, target, risk.bands)), ZERO)
    return total if outturn <= target else -total


def risk_share_step(terms: ContractTerms, period: Period, costs: Sequence[CostRecord],
                    run: Running) -> Step | None:
    """The period's line (None when it has no costs or its terms share no risk), carrying
    the outturn and the cumulative share in ``run``."""
    if not costs:
        return None
    run.outturn += sum((c.amount for c in costs), ZERO)
    run.cost_events = tuple(sorted({*run.cost_events, *(c.recorded.version for c in costs)}))
    risk = terms.risk_share
    if risk is None:
        return None
    k, n = elapsed(terms, period)
    target = risk.target_cost * k / n
    outturn = run.outturn
    share = cumulative_share(outturn, target, risk)
    capped = risk.pain_cap is not None and share < -risk.pain_cap
    if capped:
        assert risk.pain_cap is not None
        share = -risk.pain_cap
    position = quantize(share, terms.currency)
    line, previous = position - run.shared, run.shared
    run.shared = position
    return Step("gain_share" if outturn <= target else "pain_share",
                _detail(terms, risk, outturn, target, (k, n), position, previous, capped),
                line, tuple(f"v{v}" for v in run.cost_events))


def _detail(terms: ContractTerms, risk: RiskShare, outturn: Decimal, target: Decimal,
            kn: tuple[int, int], position: Decimal, previous: Decimal, capped: bool) -> str:
    """The derivation in words: outturn against the pro-rated target, each band's slice,
    the cumulative share and what the earlier periods already had."""
    cur = terms.currency
    parts = [f"{fmt(quantize(amount, cur))} in band {fmt(start)}-"
             f"{'open' if end is None else fmt(end)} at {fmt(band.supplier_share)}"
             for amount, start, end, band in slices(outturn, target, risk.bands)]
    what = "underrun" if outturn <= target else "overrun"
    cap = (f" (pain capped at {fmt(risk.pain_cap)})"
           if capped and risk.pain_cap is not None else "")
    return (f"cost outturn {fmt(outturn)} against target {fmt(quantize(target, cur))} "
            f"({fmt(risk.target_cost)} x {kn[0]}/{kn[1]} periods of the term; outturn / "
            f"target {fmt(round_places(outturn / target, 4))}); {what}: "
            f"{'; '.join(parts) or 'none'}; cumulative share {fmt(position)}{cap}, less "
            f"{fmt(previous)} through earlier periods")
