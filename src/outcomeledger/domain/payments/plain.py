"""The fast path of the commonest outcome line: a plain outcome (one price, nothing
else) with one aggregate figure, in an unexplained schedule.

The same arithmetic as steps 1-3 of :mod:`.steps` for that case, the same expressions in
the same order; apart from the steps because it is a speed-up of their loop, not a step
an auditor checks. ``audit verify`` re-decides every payment run of a history, and most
lines of a rate card are plain.
"""

from __future__ import annotations

from ..contract.records import FigureRecord
from ..money import ROUNDING, ZERO, minor_unit
from ..terms import ContractTerms, Outcome
from .running import Running
from .schedule import OutcomeLine


def is_plain(o: Outcome, terms: ContractTerms) -> bool:
    """Whether ``o``'s line is steps 1-3 at their simplest under ``terms``: units at one
    price, with no deadweight, threshold, tiers, caps, participant cap or improvement test
    (what :func:`plain_line` computes)."""
    return (o.kind != "improvement" and o.tiers is None and not o.deadweight
            and o.threshold is None and o.cap_units is None and o.cap_value is None
            and terms.participant_cap is None)


def plain_line(o: Outcome, terms: ContractTerms, row: FigureRecord, run: Running
               ) -> OutcomeLine | None:
    """:func:`.steps.outcome_line` for a plain outcome (:func:`is_plain`) with one aggregate
    figure, unexplained: the commonest line of all, and the arithmetic of every payment run
    ``audit verify`` decides again. The same expressions in the same order, so the same
    Decimals (tests/domain/test_fast_paths.py holds it to :func:`.steps.outcome_line`); None
    when the line is not that simple after all (a negative period floored), for
    :func:`.steps.outcome_line` to compute, nothing carried yet."""
    code = o.code
    units = ZERO + row.figure.value
    before = run.paid_units[code]
    after = before + units
    earned = ((after - before) * (o.price or ZERO)).quantize(minor_unit(terms.currency),
                                                             ROUNDING)
    if earned < 0 and terms.negative_periods == "floor":
        return None
    run.paid_units[code] = after
    run.value[code] += earned
    return OutcomeLine(code, o.name, units, units, earned, earned - earned, earned, ())
