"""The improvement test shown: for each outcome paid on a reduction against a baseline or
comparison group (domain.md b5, Peterborough), the result, its own test, its pool's, and
what was paid because of them.

The results come from :func:`outcomeledger.domain.payments.improvement.measure`, the
formula the payment mechanism uses, walked over the periods in the same order with the
same carry-over (the latest result stands until another is returned; a pool is judged
once every member has a result, until it clears). What was paid is read off the payment
schedule's lines, never recomputed. A test ties the two: an outcome is paid exactly when
this section says a test passed.

Ratings (reg. 39 descriptors) come from the test, not a target: see
:func:`outcomeledger.domain.ratings.rate_improvement`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from ..domain.contract.records import FigureRecord
from ..domain.money import ZERO, round_places
from ..domain.payments.closure import closure_of
from ..domain.payments.improvement import Measured, measure
from ..domain.ratings import Rating, rate_improvement
from ..domain.terms import Outcome
from .improvement_model import Improvement, ImprovementResult, PaidOn, PoolTest, TestResult
from .view import View, units


def _pct(share: Decimal | None) -> Decimal | None:
    return None if share is None else round_places(share * 100, 2)


@dataclass
class _Pool:
    members: tuple[str, ...]
    threshold: Decimal
    tested_in: str | None = None
    gap: Decimal | None = None
    expected: Decimal | None = None
    cleared: bool = False


@dataclass
class Walk:
    """The results as the mechanism carries them, period by period."""

    results: dict[str, tuple[Measured, str]] = field(default_factory=dict)
    pools: dict[str, _Pool] = field(default_factory=dict)
    #: (outcome code, period) -> the rating as known at the end of that period, for each
    #: period with a result for the outcome.
    period_ratings: dict[tuple[str, str], Rating] = field(default_factory=dict)

    def own_test(self, o: Outcome) -> bool:
        found = self.results.get(o.code)
        return found is not None and (o.threshold is None
                                      or found[0].reduction >= o.threshold)

    def pooled(self, o: Outcome) -> bool:
        pool = None if o.pool is None else self.pools.get(o.pool)
        return pool is not None and pool.cleared

    def rating(self, o: Outcome) -> Rating:
        found = self.results.get(o.code)
        own = self.own_test(o)
        return rate_improvement(None if found is None else found[0].gap, own,
                                not own and self.pooled(o))


def walk(view: View) -> Walk:
    """Every improvement result and pool test through the periods the report reads."""
    out = Walk()
    if not _outcomes(view):
        return out
    by_period: dict[str, dict[str, list[FigureRecord]]] = defaultdict(
        lambda: defaultdict(list))
    for key, record in sorted(view.figures.items()):
        by_period[key[0]][key[2]].append(record)
    closure = closure_of(view.state)
    for p in view.periods:
        period = view.period(p.period)
        if closure is not None and closure.after(period):
            continue  # nothing accrues after a closure: the mechanism reads no result
        terms = view.state.terms_for(period)
        mine = [o for o in terms.outcomes if o.kind == "improvement"]
        by_outcome = by_period.get(p.period, {})
        for o in mine:
            if by_outcome.get(o.code):
                m = measure(o, by_outcome)
                if m.expected > 0:
                    out.results[o.code] = (m, p.period)
        groups: dict[str, list[Outcome]] = defaultdict(list)
        for o in mine:
            if o.pool is not None:
                groups[o.pool].append(o)
        for name, members in groups.items():
            pool = out.pools.get(name)
            if pool is not None and pool.cleared:
                continue  # cleared once: its members are paid on it from then on
            codes = tuple(m.code for m in members)
            threshold = members[0].pool_threshold or ZERO
            if pool is None:
                pool = out.pools[name] = _Pool(codes, threshold)
            else:  # the members in force now (a variation may retire one)
                pool.members, pool.threshold = codes, threshold
            if any(m.code not in out.results for m in members):
                continue
            pool.tested_in = p.period
            pool.gap = sum((out.results[m.code][0].gap for m in members), ZERO)
            pool.expected = sum((out.results[m.code][0].expected for m in members), ZERO)
            pool.cleared = pool.gap / pool.expected >= pool.threshold
        for o in mine:
            if by_outcome.get(o.code) and o.code in out.results:
                out.period_ratings[(o.code, p.period)] = out.rating(o)
    return out


def _outcomes(view: View) -> list[tuple[Outcome, bool]]:
    """Improvement outcomes in force at the report date, then retired ones seen before."""
    found = {o.code: (o, True) for o in view.terms.outcomes if o.kind == "improvement"}
    for p in view.periods:
        for o in view.state.terms_for(view.period(p.period)).outcomes:
            if o.kind == "improvement":
                found.setdefault(o.code, (o, False))
    return list(found.values())


def _test(passed: bool | None) -> TestResult:
    return "no result" if passed is None else "passed" if passed else "failed"


def improvement(view: View, done: Walk | None = None) -> Improvement | None:
    """The section, or None for a contract without improvement outcomes."""
    outcomes = _outcomes(view)
    if not outcomes:
        return None
    done = walk(view) if done is None else done
    paid: dict[str, list[tuple[str, Decimal, Decimal]]] = defaultdict(list)
    for p in view.periods:
        for line in p.lines:
            paid[line.outcome].append((p.period, line.paid_units, line.payable))
    rows = []
    for o, in_force in outcomes:
        found = done.results.get(o.code)
        m = None if found is None else found[0]
        own = done.own_test(o) if m is not None else None
        pool = None if o.pool is None else done.pools.get(o.pool)
        # A pool tests the members in force when it is judged: a retired outcome is in none.
        pool_test = None if pool is None or o.code not in pool.members else _test(
            None if pool.tested_in is None else pool.cleared)
        lines = paid.get(o.code, [])
        payable = view.money(sum((x[2] for x in lines), ZERO))
        paid_on: PaidOn | None = (None if not payable else "own result" if own
                                  else "pooled result")
        rows.append(ImprovementResult(
            code=o.code, name=o.name, in_force=in_force, baseline=o.baseline or ZERO,
            per=units(o.per or Decimal(1)),
            exposure_basis="cohort_size" if o.cohort_size is not None else o.exposure or "",
            exposure=None if m is None else units(m.exposure),
            expected=None if m is None else units(m.expected),
            observed=None if m is None else units(m.observed),
            observed_rate=None if m is None or not m.exposure else round_places(
                m.observed * m.per / m.exposure, 2),
            gap=None if m is None else units(m.gap),
            reduction_pct=None if m is None else _pct(m.reduction),
            threshold_pct=_pct(o.threshold), result_period=None if found is None else found[1],
            own_test=_test(own), pool=o.pool, pool_threshold_pct=_pct(o.pool_threshold),
            pool_test=pool_test, paid_on=paid_on,
            units_paid=units(sum((x[1] for x in lines), ZERO)),
            price=None if o.price is None else view.money(o.price), payable=payable,
            paid_in=tuple(x[0] for x in lines if x[2]), rating=done.rating(o)))
    pools = []
    for name, pool in done.pools.items():
        tested = pool.tested_in is not None and pool.expected is not None
        gap, expected = (pool.gap, pool.expected) if tested else (None, None)
        pools.append(PoolTest(
            pool=name, members=pool.members, tested_in=pool.tested_in,
            awaiting=tuple(c for c in pool.members if c not in done.results),
            expected=None if expected is None else units(expected),
            observed=None if expected is None or gap is None else units(expected - gap),
            gap=None if gap is None else units(gap),
            reduction_pct=None if gap is None or not expected else _pct(gap / expected),
            threshold_pct=_pct(pool.threshold) or ZERO,
            test=_test(pool.cleared if tested else None),
            payable_on_pool=view.money(sum(
                (r.payable for r in rows if r.pool == name and r.paid_on == "pooled result"),
                ZERO))))
    return Improvement(outcomes=tuple(rows), pools=tuple(pools),
                       payable=view.money(sum((r.payable for r in rows), ZERO)))
