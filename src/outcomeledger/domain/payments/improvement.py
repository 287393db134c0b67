"""Improvement outcomes (DESIGN 5, step 1): the units an outcome earns on are the gap
between the events its baseline rate expects and those observed, paid when the reduction
clears its ``threshold`` or its pool's ``pool_threshold``.

Separate from the count rules of :mod:`outcomeledger.domain.payments.steps` because the
result carries over periods (the latest result stands until another is returned) and a
pool is judged across its outcomes before any of their lines is priced.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from ..contract.records import FigureRecord
from ..money import ZERO, fmt
from ..periods import Period
from ..terms import ContractTerms, Outcome
from .running import Running
from .schedule import Step, event_refs


@dataclass(frozen=True, slots=True)
class Measured:
    """One improvement result as returned: the events observed against those the
    baseline (or comparison group) rate expects for the exposure (domain.md b5)."""

    observed: Decimal
    exposure: Decimal
    per: Decimal
    expected: Decimal  # baseline * exposure / per

    @property
    def gap(self) -> Decimal:
        """Events avoided: expected minus observed (negative: more events than expected)."""
        return self.expected - self.observed

    @property
    def reduction(self) -> Decimal:
        """The gap as a share of expected, unrounded (thresholds compare this)."""
        return self.gap / self.expected


def measure(o: Outcome, by_outcome: dict[str, list[FigureRecord]]) -> Measured:
    """The result of improvement outcome ``o`` from one period's figures (its own rows,
    and its ``exposure`` outcome's unless it has a fixed ``cohort_size``). The one
    formula: the payment mechanism and the report's improvement section both use it."""
    observed = sum((r.value for r in by_outcome.get(o.code, [])), ZERO)
    if o.cohort_size is not None:
        exposure = o.cohort_size
    else:
        exposure = sum((r.value for r in by_outcome.get(o.exposure or "", [])), ZERO)
    per = o.per or Decimal(1)
    return Measured(observed, exposure, per, (o.baseline or ZERO) * exposure / per)


def improvement_units(o: Outcome, terms: ContractTerms, p: Period,
                      by_outcome: dict[str, list[FigureRecord]], run: Running,
                      steps: list[Step]) -> Decimal:
    """Units (events avoided) newly payable in ``p``: cumulative target minus paid so far."""
    rows = by_outcome.get(o.code, [])
    if rows:
        m = measure(o, by_outcome)
        observed, exposure, per, expected = m.observed, m.exposure, m.per, m.expected
        if expected > 0:
            gap = m.gap
            run.results[o.code] = (gap, expected, p.id)
            steps.append(Step("result", f"observed {fmt(observed)} against expected "
                              f"{fmt(expected)} (baseline {fmt(o.baseline or ZERO)} per "
                              f"{fmt(per)} x exposure {fmt(exposure)}): gap {fmt(gap)}, "
                              f"reduction {fmt(round(gap / expected * 100, 4))}%",
                              None, event_refs(rows)))
        else:
            steps.append(Step("result", "no exposure reported for the period: no result",
                              None, event_refs(rows)))
    result = run.results.get(o.code)
    if result is None:
        return ZERO
    gap, expected, result_period = result
    # Thresholds compare unrounded ratios: 8.387% must never round up to 10%.
    earned_alone = o.threshold is None or gap / expected >= o.threshold
    pooled = o.pool is not None and o.pool in run.pools_triggered
    target = gap if (earned_alone or pooled) else ZERO
    if rows and not earned_alone and not pooled:
        steps.append(Step("threshold", f"reduction below the {fmt(o.threshold or ZERO)} "
                          "threshold: nothing earned" + (f" unless pool {o.pool} clears "
                          f"{fmt(o.pool_threshold or ZERO)}" if o.pool else "")))
    due = target - run.paid_units[o.code]
    if due and pooled and not earned_alone:
        steps.append(Step("pool", f"paid on the pooled result of {o.pool}: this outcome's "
                          f"gap of {fmt(gap)} (result returned for {result_period})"))
    return due


def evaluate_pools(terms: ContractTerms, run: Running, steps: list[Step]) -> None:
    pools: dict[str, list[Outcome]] = defaultdict(list)
    for o in terms.outcomes:
        if o.kind == "improvement" and o.pool is not None:
            pools[o.pool].append(o)
    for name, members in pools.items():
        if name in run.pools_triggered or any(m.code not in run.results for m in members):
            continue
        gap = sum((run.results[m.code][0] for m in members), ZERO)
        expected = sum((run.results[m.code][1] for m in members), ZERO)
        threshold = members[0].pool_threshold or ZERO
        reduction = gap / expected
        cleared = reduction >= threshold
        steps.append(Step("pool", f"pool {name} ({', '.join(m.code for m in members)}): "
                          f"pooled reduction {fmt(round(reduction * 100, 4))}% "
                          f"{'clears' if cleared else 'misses'} {fmt(threshold)}"))
        if cleared:
            run.pools_triggered.add(name)
