"""Whether an extension or break option (DESIGN 11) may be exercised on a day, and why.

An option is earned on the ledger's own figures: every outcome with a target for a period
must be rated at least the condition's rating (the reg. 39 rule of
:mod:`outcomeledger.domain.ratings`, the report's) in each of the last ``periods``
completed periods, those ending on or before the day it is judged on. The actual is the
sum of the latest figures of returns not rejected, before any payment rule, as the report
rates it; a period with a target and no return is rated on an actual of 0. A lifetime
target is rated only on the whole life (never per period) and so takes no part.

The decider refuses with these findings; the report shows them for every option. Pure:
the day comes in as an argument, never from the clock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from ..errors import COMMAND, Problem
from ..periods import Period
from ..ratings import Rating, at_least, rate
from ..terms import DEFAULT_RATINGS, Break, Condition, Extension
from .state import ContractState

OptionKind = Literal["extension", "break"]


@dataclass(frozen=True, slots=True)
class Rated:
    """One outcome in one judged period: its actual against its target, rated."""

    period: str
    actual: Decimal
    target: Decimal
    rating: Rating

    def __str__(self) -> str:
        return f"{self.period} {self.rating} ({self.actual} against {self.target})"


@dataclass(frozen=True, slots=True)
class OutcomeRatings:
    """An outcome with a target in at least one judged period, rated in each of them."""

    code: str
    name: str
    periods: tuple[Rated, ...]
    meets: bool


@dataclass(frozen=True, slots=True)
class Judgement:
    """An option's condition judged on ``on``: over which periods, each outcome's
    ratings, and why it cannot be judged at all (``shortfall``), if so."""

    condition: Condition
    on: date
    periods: tuple[str, ...]
    outcomes: tuple[OutcomeRatings, ...]
    shortfall: str | None = None

    @property
    def holds(self) -> bool:
        return self.shortfall is None and all(o.meets for o in self.outcomes)

    @property
    def why(self) -> str:
        """The judgement in words: what holds, or every outcome that fails."""
        if self.shortfall is not None:
            return self.shortfall
        floor = self.condition.rating_at_least
        if self.holds:
            return (f"every outcome with a target rated {floor} or better in "
                    f"{', '.join(self.periods)}")
        return "; ".join(
            f"{o.code} ({o.name}) below {floor}: {', '.join(str(r) for r in o.periods)}"
            for o in self.outcomes if not o.meets)

    def problems(self, option: str) -> list[Problem]:
        """The refusal of ``option``: one problem per failing outcome, or the shortfall."""
        if self.shortfall is not None:
            return [Problem(COMMAND, None, "option", f"{option}: {self.shortfall}")]
        floor = self.condition.rating_at_least
        return [Problem(COMMAND, None, "option",
                        f"{option}: {o.code} ({o.name}) not rated {floor} or better in "
                        "every period "
                        f"judged (got {', '.join(str(r) for r in o.periods)})")
                for o in self.outcomes if not o.meets]


def judged_periods(state: ContractState, periods: int, on: date) -> list[Period]:
    """The last ``periods`` periods of the contract completed on or before ``on``
    (fewer when the contract has not run that long)."""
    last = state.first_period
    if last.end > on:
        return []
    while last.next().end <= on:
        last = last.next()
    out = [last]
    while len(out) < periods and out[-1].start > state.first_period.start:
        out.append(out[-1].previous())
    return out[::-1]


def _actuals(state: ContractState, period_ids: set[str]) -> dict[tuple[str, str], Decimal]:
    """(period id, outcome code) -> the sum of the latest figures of returns not rejected."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for (pid, provider, code, _participant), record in state.figures.items():
        if pid not in period_ids:
            continue
        status = state.returns.get((pid, provider))
        if status is not None and status.rejected is not None:
            continue
        totals[(pid, code)] += record.value
    return totals


def judge(state: ContractState, condition: Condition, on: date) -> Judgement:
    """``condition`` judged on the ledger's figures, over the periods completed by ``on``."""
    periods = judged_periods(state, condition.periods, on)
    ids = tuple(p.id for p in periods)
    if len(periods) < condition.periods:
        return Judgement(condition, on, ids, (), (
            f"{len(periods)} period(s) completed by {on}, {condition.periods} needed to "
            "judge the condition"))
    scale = state.terms_on(on).ratings or DEFAULT_RATINGS
    actuals = _actuals(state, set(ids))
    rated: dict[str, list[Rated]] = {}
    names: dict[str, str] = {}
    for p in periods:
        for o in state.terms_for(p).outcomes:
            if not isinstance(o.target, dict) or p.id not in o.target:
                continue
            actual, target = actuals.get((p.id, o.code), Decimal(0)), o.target[p.id]
            rated.setdefault(o.code, []).append(
                Rated(p.id, actual, target, rate(actual, target, scale)))
            names.setdefault(o.code, o.name)
    if not rated:
        return Judgement(condition, on, ids, (), (
            f"no outcome has a target for {', '.join(ids)}: nothing to judge the "
            "condition on"))
    floor: Rating = condition.rating_at_least
    return Judgement(condition, on, ids, tuple(
        OutcomeRatings(code, names[code], tuple(rs), all(at_least(r.rating, floor) for r in rs))
        for code, rs in rated.items()))


@dataclass(frozen=True, slots=True)
class OptionStatus:
    """Whether an option may be exercised on a day, and why (the report's row)."""

    option: Extension | Break
    kind: OptionKind
    eligible: bool
    why: str
    exercised_on: date | None = None  # the day it was judged on, once exercised


def blocked(state: ContractState, option: Extension | Break,
            on: date) -> tuple[str, str] | None:
    """Why ``option`` cannot be exercised on ``on`` whatever the figures, as (the field
    at fault: ``option`` or ``on``, why), or None."""
    used = next((r for r in state.exercised if r.option == option.id), None)
    if used is not None:
        return "option", (f"already exercised ({used.recorded.ref}, judged on "
                          f"{used.decided_on}): an option is used once")
    if isinstance(option, Extension) and on > option.decide_by:
        return "on", f"after its decide_by (got {on}, expected on or before {option.decide_by})"
    if isinstance(option, Break) and on > option.on:
        return "on", f"after the break's date (got {on}, expected on or before {option.on})"
    return None


def option_statuses(state: ContractState, on: date) -> tuple[OptionStatus, ...]:
    """Every option of the latest terms, judged on ``on``."""
    terms = state.current_terms
    out: list[OptionStatus] = []
    options: list[tuple[OptionKind, Extension | Break]] = [
        *(("extension", e) for e in terms.extensions), *(("break", b) for b in terms.breaks)]
    for kind, option in options:
        used = next((r.decided_on for r in state.exercised if r.option == option.id), None)
        if state.closed is not None and used is None:
            out.append(OptionStatus(option, kind, False, f"the contract was closed on "
                                                         f"{state.closed_on}", used))
            continue
        why = blocked(state, option, on)
        if why is not None:
            out.append(OptionStatus(option, kind, False, why[1], used))
            continue
        judgement = judge(state, option.condition, on)
        out.append(OptionStatus(option, kind, judgement.holds, judgement.why))
    return tuple(out)
