"""Read model ``accountability``: target against actual, returns received, restatements.

Actuals are the latest figures returned (the restated view), summed over providers and
participants before any payment rule, excluding rejected returns. Whether a return is
``missing`` is judged as the contract's own history knows it: at the recorded time of
the contract's latest event, never the clock, so a replay always gives the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Annotated

from msgspec import Meta

from ..domain.contract.records import ReturnKey
from ..domain.contract.state import ContractState
from ..domain.events import ReturnRestated
from ..domain.money import ZERO
from ..domain.periods import days_after
from ..domain.terms import ContractTerms, periodic_returns
from .base import (
    Contract,
    ContractView,
    Day,
    PeriodId,
    Projection,
    Quantity,
    Row,
    Table,
    Timestamp,
    day,
    quantity,
    quantity_or_none,
    timestamp,
)


class AccountabilityRow(Row, frozen=True, kw_only=True):
    """One outcome, KPI or social-value commitment in one period: target against actual."""

    contract: Contract
    code: Annotated[str, Meta(description="Outcome, KPI or social-value code.")]
    period: PeriodId
    kind: Annotated[str, Meta(
        description="`count`, `improvement` or `measure` (outcomes), `kpi` or "
        "`social_value`.")]
    unit: Annotated[str | None, Meta(description="Unit of the figures, where declared.")]
    target: Annotated[Quantity | None, Meta(
        description="Target for this period (a per-period target map, or a KPI target); "
        "null when the target is a lifetime number or there is none.")]
    actual: Annotated[Quantity | None, Meta(
        description="Sum of the latest figures returned for the period, before payment "
        "rules; null: nothing reported.")]
    variance: Annotated[Quantity | None, Meta(
        description="actual - target; null unless both are known.")]
    cumulative: Annotated[Quantity, Meta(
        description="Sum of `actual` over the contract's life through this period.")]
    cumulative_target: Annotated[Quantity | None, Meta(
        description="Sum of per-period targets through this period, or the lifetime "
        "target; null: no target.")]
    status: Annotated[str, Meta(
        description="`met` / `missed` against the period target (for improvement outcomes "
        "fewer is better), `met` once the cumulative reaches a lifetime target, "
        "`reported`, or `not reported`.")]


class ReturnRow(Row, frozen=True, kw_only=True):
    """One performance return (period x provider), or the absence of one."""

    contract: Contract
    period: PeriodId
    provider: Annotated[str, Meta(
        description="Provider id; empty for a return from the supplier itself, or for a "
        "period with no return at all.")]
    status: Annotated[str, Meta(
        description="`received`, `late` (recorded after `due`), `rejected`, `missing` (no "
        "return although `due` has passed, as at the contract's latest event), `not due`, "
        "or `not expected` (no return, and the terms in force expect none that period: "
        "improvement outcomes are reported once per cohort, as a result).")]
    due: Annotated[Day, Meta(
        description="Period end plus `returns_due_days` of the terms in force.")]
    submissions: Annotated[int, Meta(description="ReturnSubmitted events (first, late or "
                                                 "supplementary).")]
    restatements: Annotated[int, Meta(description="ReturnRestated events.")]
    figures: Annotated[int, Meta(description="Figures currently recorded.")]
    first_recorded_at: Annotated[Timestamp | None, Meta(
        description="When the first figures were recorded.")]
    last_recorded_at: Annotated[Timestamp | None, Meta(
        description="When the latest submission or restatement was recorded.")]
    validated: Annotated[bool, Meta(description="A ReturnValidated event was recorded.")]
    rejected: Annotated[bool, Meta(
        description="A ReturnRejected event was recorded: its figures leave payments.")]


class RestatementRow(Row, frozen=True, kw_only=True):
    """One figure superseded by a restatement: the original and the restated value."""

    contract: Contract
    version: Annotated[int, Meta(description="Stream version of the ReturnRestated event.")]
    position: Annotated[int, Meta(description="Global position of the event.")]
    period: PeriodId
    provider: Annotated[str, Meta(description="Provider id (empty: the supplier).")]
    outcome: Annotated[str, Meta(description="Outcome code of the figure.")]
    participant: Annotated[str, Meta(description=(
        "Participant id as recorded (empty: an aggregate): on a contract with "
        "`participant_ids = \"pseudonymised\"`, its pseudonym (`P-` and 20 hex digits), "
        "never the id."))]
    original: Annotated[Quantity, Meta(description="Value replaced.")]
    restated: Annotated[Quantity, Meta(description="Value now in force.")]
    difference: Annotated[Quantity, Meta(description="restated - original.")]
    recorded_at: Annotated[Timestamp, Meta(description="When the restatement was recorded.")]
    recorded_by: Annotated[str, Meta(description="Who recorded it.")]
    reason: Annotated[str, Meta(description="Why (required for restatements).")]


TARGETS = Table("proj_accountability", AccountabilityRow, ("contract", "code", "period"))
RETURNS = Table("proj_accountability_returns", ReturnRow, ("contract", "period", "provider"))
RESTATEMENTS = Table("proj_accountability_restatements", RestatementRow,
                     ("contract", "version", "outcome", "participant"))

_Measure = tuple[str, str, str | None, Decimal | None, Decimal | None]


def _measures(terms: ContractTerms, period_id: str) -> list[_Measure]:
    """(code, kind, unit, period target, lifetime target) of everything measured."""
    out: list[_Measure] = []
    for o in terms.outcomes:
        if isinstance(o.target, dict):
            out.append((o.code, o.kind, o.unit, o.target.get(period_id), None))
        else:
            out.append((o.code, o.kind, o.unit, None, o.target))
    out.extend((k.code, "kpi", None, k.target, None) for k in terms.kpis)
    out.extend((s.code, "social_value", s.unit, None, s.target) for s in terms.social_value)
    return out


def _status(kind: str, actual: Decimal | None, target: Decimal | None,
            cumulative: Decimal, lifetime: Decimal | None) -> str:
    if actual is None:
        return "not reported"
    if target is not None:
        met = actual <= target if kind == "improvement" else actual >= target
        return "met" if met else "missed"
    if lifetime is not None and kind != "improvement" and cumulative >= lifetime:
        return "met"
    return "reported"


def _actuals(state: ContractState) -> dict[tuple[str, str], Decimal]:
    sums: dict[tuple[str, str], Decimal] = {}
    for (period, provider, outcome, _participant), record in state.figures.items():
        status = state.returns.get((period, provider))
        if status is not None and status.rejected is not None:
            continue
        key = (period, outcome)
        sums[key] = sums.get(key, ZERO) + record.value
    return sums


def target_rows(view: ContractView) -> list[Row]:
    state = view.state
    actuals = _actuals(state)
    cumulative: dict[str, Decimal] = defaultdict(Decimal)
    targets_so_far: dict[str, Decimal] = {}
    out: list[Row] = []
    ref = state.reference
    for p, pid in view.periods:
        for code, kind, unit, target, lifetime in _measures(view.terms_for(p), pid):
            actual = actuals.get((pid, code))
            if actual is not None:
                cumulative[code] += actual
            if target is not None:
                targets_so_far[code] = targets_so_far.get(code, ZERO) + target
            cumulative_target = lifetime if lifetime is not None else targets_so_far.get(code)
            out.append(AccountabilityRow(
                contract=ref, code=code, period=pid, kind=kind, unit=unit,
                target=quantity_or_none(target), actual=quantity_or_none(actual),
                variance=None if actual is None or target is None else quantity(
                    actual - target),
                cumulative=quantity(cumulative[code]),
                cumulative_target=quantity_or_none(cumulative_target),
                status=_status(kind, actual, target, cumulative[code], lifetime)))
    return out


def return_rows(view: ContractView, horizon: date) -> list[Row]:
    state = view.state
    figures: dict[tuple[str, str], int] = defaultdict(int)
    for period, provider, _outcome, _participant in state.figures:
        figures[(period, provider)] += 1
    by_period: dict[str, list[ReturnKey]] = defaultdict(list)
    for key in state.returns:
        by_period[key[0]].append(key)
    out: list[Row] = []
    ref = state.reference
    for p, pid in view.periods:
        due = days_after(p.end, view.terms_for(p).returns_due_days)
        due_day = day(due)
        keys = sorted(by_period.get(pid, ()))
        if not keys:
            # A period whose terms expect no periodic return (improvement outcomes are
            # reported once per cohort, as a result) is not missing one.
            expected = periodic_returns(view.terms_for(p))
            out.append(ReturnRow(
                contract=ref, period=pid, provider="",
                status=("not expected" if not expected else
                        "missing" if horizon > due else "not due"), due=due_day,
                submissions=0, restatements=0, figures=0, first_recorded_at=None,
                last_recorded_at=None, validated=False, rejected=False))
            continue
        for key in keys:
            s = state.returns[key]
            recorded = s.submitted if not s.restated else sorted(
                (*s.submitted, *s.restated), key=lambda r: r.version)
            status = "rejected" if s.rejected else "late" if s.late else "received"
            out.append(ReturnRow(
                contract=ref, period=pid, provider=key[1], status=status,
                due=due_day, submissions=len(s.submitted), restatements=len(s.restated),
                figures=figures[key],
                first_recorded_at=timestamp(recorded[0].recorded_at) if recorded else None,
                last_recorded_at=timestamp(recorded[-1].recorded_at) if recorded else None,
                validated=s.validated is not None, rejected=s.rejected is not None))
    return out


def restatement_rows(view: ContractView) -> list[Row]:
    out: list[Row] = []
    for version, event in enumerate(view.events, 1):
        if not isinstance(event, ReturnRestated):
            continue
        for new, old in zip(event.figures, event.originals, strict=True):
            out.append(RestatementRow(
                contract=event.contract, version=version, position=view.position_of(version),
                period=event.period, provider=event.provider, outcome=new.outcome,
                participant=new.participant, original=quantity(old.value),
                restated=quantity(new.value), difference=quantity(new.value - old.value),
                recorded_at=timestamp(event.recorded_at), recorded_by=event.recorded_by,
                reason=event.reason))
    return out


def rows(view: ContractView) -> tuple[list[Row], list[Row], list[Row]]:
    state = view.state
    if not state.exists:
        return [], [], []
    horizon = view.events[-1].recorded_at.date()
    return target_rows(view), return_rows(view, horizon), restatement_rows(view)


PROJECTION = Projection("accountability", (TARGETS, RETURNS, RESTATEMENTS), "contract",
                        contract_rows=rows)
