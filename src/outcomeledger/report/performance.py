"""Performance against target per outcome per period, and social value by mission.

Targets come from the terms: an outcome's ``target`` is either a lifetime number
(reported only against the cumulative actual, never spread over periods) or a map
``{period id: value}`` (each period against its own value, and the cumulative actual
against the sum of the targets of the periods reported). Per-period targets are read
from the terms in force for that period, so a varied target applies from its date.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from ..domain.money import ZERO
from ..domain.ratings import rate, worst
from ..domain.terms import Outcome
from .improvement import Walk, walk
from .model import (
    CumulativePerformance,
    Mission,
    OutcomePerformance,
    Performance,
    PeriodPerformance,
    RatingScale,
    SocialValueLine,
    Trend,
)
from .view import View, percent, units


def _outcomes(view: View) -> list[tuple[Outcome, bool]]:
    """Outcomes in force at the report date, then any retired ones seen in earlier periods."""
    found: dict[str, tuple[Outcome, bool]] = {o.code: (o, True) for o in view.terms.outcomes}
    for p in view.periods:
        for o in view.state.terms_for(view.period(p.period)).outcomes:
            found.setdefault(o.code, (o, False))
    return list(found.values())


def _period_target(view: View, code: str, period_id: str) -> Decimal | None:
    o = view.outcome_in(period_id, code)
    if o is None or not isinstance(o.target, dict):
        return None
    return o.target.get(period_id)


def _trend(change: Decimal | None) -> Trend | None:
    if change is None:
        return None
    return "up" if change > 0 else "down" if change < 0 else "level"


def _improvement(view: View, o: Outcome, in_force: bool, done: Walk) -> OutcomePerformance:
    """An improvement outcome has no target: each period with a result for it, rated by
    its payment test as known then, and the latest result rated by the test now (the
    latest result stands; results are not added up)."""
    rows: list[PeriodPerformance] = []
    previous: Decimal | None = None
    for p in view.periods:
        rating = done.period_ratings.get((o.code, p.period))
        if rating is None:
            continue
        actual = view.actuals.get((p.period, o.code), ZERO)
        change = None if previous is None else units(actual - previous)
        rows.append(PeriodPerformance(
            period=p.period, target=None, actual=units(actual), variance=None,
            pct_of_target=None, change=change, trend=_trend(change), rating=rating))
        previous = actual
    cumulative = CumulativePerformance(
        target_basis="improvement_test", target=None,
        actual=rows[-1].actual if rows else units(ZERO), variance=None, pct_of_target=None,
        rating=done.rating(o))
    return OutcomePerformance(code=o.code, name=o.name, kind=o.kind, unit=o.unit,
                              in_force=in_force, lifetime_target=None,
                              cumulative=cumulative, periods=tuple(rows))


def _outcome(view: View, o: Outcome, in_force: bool) -> OutcomePerformance:
    scale = view.ratings
    rows: list[PeriodPerformance] = []
    previous: Decimal | None = None
    total = ZERO
    target_sum: Decimal | None = None
    for p in view.periods:
        if view.outcome_in(p.period, o.code) is None:
            previous = None  # not in force: no trend across the gap
            continue
        actual = view.actuals.get((p.period, o.code), ZERO)
        target = _period_target(view, o.code, p.period)
        if target is None and p.period not in view.reported:
            continue  # no return and nothing expected: not a zero, just no data
        if target is not None:
            target_sum = (target_sum or ZERO) + target
        change = None if previous is None else units(actual - previous)
        rows.append(PeriodPerformance(
            period=p.period, target=target, actual=units(actual),
            variance=None if target is None else units(actual - target),
            pct_of_target=percent(actual, target), change=change,
            trend=_trend(change), rating=rate(actual, target, scale)))
        previous = actual
        total += actual
    lifetime: Decimal | None
    basis: Literal["lifetime", "per_period", "none", "improvement_test"]
    if isinstance(o.target, dict):
        lifetime = sum(o.target.values(), ZERO)
        basis, cumulative_target = "per_period", target_sum
    elif o.target is not None:
        lifetime = o.target
        basis, cumulative_target = "lifetime", o.target
    else:
        lifetime, basis, cumulative_target = None, "none", None
    cumulative = CumulativePerformance(
        target_basis=basis,
        target=cumulative_target, actual=units(total),
        variance=None if cumulative_target is None else units(total - cumulative_target),
        pct_of_target=percent(total, cumulative_target),
        rating=rate(total, cumulative_target, scale))
    return OutcomePerformance(code=o.code, name=o.name, kind=o.kind, unit=o.unit,
                              in_force=in_force, lifetime_target=lifetime,
                              cumulative=cumulative, periods=tuple(rows))


def performance(view: View, done: Walk | None = None) -> Performance:
    """Every outcome against its target; an improvement outcome by its payment test
    (``done``: the improvement walk, when the caller has it already)."""
    scale = view.ratings
    if done is None and any(o.kind == "improvement" for o, _f in _outcomes(view)):
        done = walk(view)
    outcomes = tuple(
        _improvement(view, o, in_force, done) if o.kind == "improvement" and done
        else _outcome(view, o, in_force) for o, in_force in _outcomes(view))
    return Performance(
        ratings=RatingScale(good=scale.good, approaching=scale.approaching,
                            requires_improvement=scale.requires_improvement,
                            source="contract" if view.terms.ratings else "default"),
        overall=worst([o.cumulative.rating for o in outcomes]),
        outcomes=outcomes)


def social_value(view: View) -> tuple[Mission, ...]:
    """Commitments against delivery, grouped by mission in the order first declared."""
    missions: dict[str, list[SocialValueLine]] = {}
    for sv in view.terms.social_value:
        delivered = sum((v for (_p, code), v in view.actuals.items() if code == sv.code), ZERO)
        proxy = None if sv.proxy_value is None else view.money(sv.proxy_value * delivered)
        missions.setdefault(sv.mission, []).append(SocialValueLine(
            code=sv.code, name=sv.name, unit=sv.unit, target=sv.target,
            delivered=units(delivered), pct_of_target=percent(delivered, sv.target),
            rating=rate(delivered, sv.target, view.ratings),
            proxy_value=None if sv.proxy_value is None else view.money(sv.proxy_value),
            proxy_total=proxy))
    return tuple(
        Mission(mission=name, commitments=tuple(lines),
                proxy_total=view.money(sum((x.proxy_total or ZERO for x in lines), ZERO)))
        for name, lines in missions.items())
