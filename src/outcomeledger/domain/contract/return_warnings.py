"""The data-quality warnings on one return (never blocking: the figures are recorded):
a ladder rung counted more often than the rung it requires, a ``participant_cap`` that
aggregate figures escape, and totals far above their target or their history.

Apart from :mod:`outcomeledger.domain.contract.return_checks`, whose problems refuse a
return: these are only advice, and ``decide(..., advise=False)`` skips them.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from ..errors import Problem
from ..events import Figure
from ..money import ZERO
from ..periods import Period
from ..terms import ContractTerms
from .return_checks import terms_index
from .state import ContractState


def ladder_warnings(state: ContractState, terms: ContractTerms, period: Period,
                     provider: str, figures: tuple[Figure, ...], source: str) -> tuple[
                         Problem, ...]:
    """Aggregate counts in which a ladder rung outnumbers the rung it requires.

    Cumulative over the contract's life, through this period and every later one (a
    restated lower rung can break a later period). Legitimate causes exist, e.g. entry
    before the programme began or counts recorded in different periods (domain.md b2:
    GM "3 months sustained" 329 > "entered" 328), so this is flagged, never refused.
    """
    rungs = terms_index(terms).rungs
    if not rungs:
        return ()
    ladder = set(rungs).union(*rungs.values())
    mine = {f.outcome: f for f in figures if not f.participant and f.outcome in ladder}
    if not mine:
        return ()
    units: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for (period_id, prov, code, participant), rec in state.figures.items():
        if participant or code not in ladder or (
                period_id == period.id and prov == provider and code in mine):
            continue  # participant-level, off the ladder, or superseded by this return
        status = state.returns.get((period_id, prov))
        if status is None or status.rejected is None:
            units[period_id][code] += rec.value
    for code, f in mine.items():
        units[period.id][code] += f.value
    cumulative: dict[str, Decimal] = defaultdict(Decimal)
    warnings: list[Problem] = []
    flagged: set[tuple[str, str]] = set()
    for period_id in sorted(units, key=state.period):
        for code, value in units[period_id].items():
            cumulative[code] += value
        if state.period(period_id) < period:
            continue
        for rung, requires in rungs.items():
            for req in requires:
                if (rung, req) in flagged or not (rung in mine or req in mine):
                    continue
                if cumulative[rung] > cumulative[req]:
                    flagged.add((rung, req))
                    row = mine.get(rung) or mine[req]
                    warnings.append(Problem(
                        source, row.line, "value",
                        f"{rung} counted {cumulative[rung]} times through {period_id}, more "
                        f"than the {cumulative[req]} of {req} it requires (expected at most "
                        f"{cumulative[req]}; check the return: recorded, not refused)"))
    return tuple(warnings)


def cap_warnings(terms: ContractTerms, period: Period, figures: tuple[Figure, ...],
                 source: str) -> tuple[Problem, ...]:
    """A ``participant_cap`` that cannot apply: the cap is per participant, and aggregate
    figures name none, so they are paid without it. Reported on every return that has
    them (and by `payments`), never dropped in silence; not refused, because the figures
    are true and the contract as agreed still prices them (vary the contract to drop the
    cap, or return participant-level rows for it to apply)."""
    cap = terms.participant_cap
    if cap is None:
        return ()
    outcomes = terms_index(terms).outcomes
    capped: dict[str, int | None] = {}
    for f in figures:
        o = outcomes.get(f.outcome)
        if (not f.participant and f.value > 0 and o is not None and o.kind == "count"
                and (o.price is not None or o.tiers is not None)):
            capped.setdefault(f.outcome, f.line)
    if not capped:
        return ()
    return (Problem(source, next(iter(capped.values())), "participant", (
        f"participant_cap {cap} cannot apply to aggregate figures (no participant ids): "
        f"{', '.join(capped)} in {period.id} paid without it (expected participant-level "
        "rows for the cap to apply; recorded, not refused)")),)


#: A figure more than this many times its target, or its own history, is flagged: a
#: slipped digit or a cumulative count returned as a quarter's is the usual cause.
IMPLAUSIBLE = Decimal(10)
#: Below this, history is too small to judge by: 3 -> 40 is an ordinary start.
HISTORY_FLOOR = Decimal(10)
#: How far back history is looked at: two years of quarters (eight months monthly).
HISTORY_PERIODS = 8
_FLAGGED_FROM = IMPLAUSIBLE * HISTORY_FLOOR  # at most this, no history can flag a total


def plausibility_warnings(state: ContractState, terms: ContractTerms, period: Period,
                          provider: str, figures: tuple[Figure, ...], source: str
                          ) -> tuple[Problem, ...]:
    """Outcome totals of one return far above their target or their history (never
    blocking: a real surge must still be recordable).

    Target: the period's (a per-period map) or the whole-life number. History: the
    largest aggregate figure of the same outcome from the same provider in the
    :data:`HISTORY_PERIODS` periods before, looked up by key, and only for a total large
    enough to be flagged by it (an import of a million rows must not pay for a look back
    on every return; participant-level history is not summed, for the same reason)."""
    index = terms_index(terms)
    outcomes, targeted = index.outcomes, index.targeted
    totals: dict[str, Decimal] = {}
    lines: dict[str, int | None] = {}
    for f in figures:
        # An aggregate figure is its outcome's only one in the return, so a small one of
        # an outcome with no target cannot be flagged: the bulk of an import, skipped.
        if not (f.participant or f.value > _FLAGGED_FROM or f.outcome in targeted):
            continue
        if f.outcome in outcomes and f.value > 0:
            totals[f.outcome] = totals.get(f.outcome, ZERO) + f.value
            lines.setdefault(f.outcome, f.line)
    warnings: list[Problem] = []
    earlier: list[str] | None = None
    for code, total in totals.items():
        target = outcomes[code].target
        basis = f"its {period.id} target" if isinstance(target, dict) else (
            "its whole-life target")
        if isinstance(target, dict):
            target = target.get(period.id)
        if target is not None and target > 0 and total > IMPLAUSIBLE * target:
            warnings.append(Problem(source, lines[code], "value", (
                f"{code} {total} in {period.id} is more than {IMPLAUSIBLE} times {basis} of "
                f"{target} (expected at most {IMPLAUSIBLE * target}; check the return: "
                "recorded, not refused)")))
            continue
        if total <= _FLAGGED_FROM:
            continue  # no history of HISTORY_FLOOR or more can flag it
        if earlier is None:
            earlier = _recent_returns(state, period, provider)
        best = _largest_earlier(state, earlier, provider, code)
        if best is not None and best[0] >= HISTORY_FLOOR and total > IMPLAUSIBLE * best[0]:
            warnings.append(Problem(source, lines[code], "value", (
                f"{code} {total} in {period.id} is more than {IMPLAUSIBLE} times the largest "
                f"earlier figure, {best[0]} in {best[1]} (expected at most "
                f"{IMPLAUSIBLE * best[0]}; check the return: recorded, not refused)")))
    return tuple(warnings)


def _largest_earlier(state: ContractState, earlier: list[str], provider: str,
                     code: str) -> tuple[Decimal, str] | None:
    """The largest aggregate figure of ``code`` from ``provider`` in the ``earlier``
    periods, and its period."""
    best: tuple[Decimal, str] | None = None
    for pid in earlier:
        rec = state.figures.get((pid, provider, code, ""))
        if rec is not None and (best is None or rec.value > best[0]):
            best = (rec.value, pid)
    return best


def _recent_returns(state: ContractState, period: Period, provider: str) -> list[str]:
    """The periods, of the :data:`HISTORY_PERIODS` before ``period``, in which
    ``provider`` made a return that stands (not rejected)."""
    found: list[str] = []
    p = period
    for _ in range(HISTORY_PERIODS):
        if p <= state.first_period:
            break
        p = p.previous()
        status = state.returns.get((p.id, provider))
        if status is not None and status.rejected is None:
            found.append(p.id)
    return found
