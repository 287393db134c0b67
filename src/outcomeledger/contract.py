"""The contract decider: ``decide(state, command, meta) -> events`` or a domain error.

The contract stream is the consistency boundary (DESIGN 2): whether a variation,
return, adjustment or certification is acceptable depends only on what the stream
already holds. Nothing here reads the clock or does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import assert_never

from .commands import (
    AdjustReward,
    AgreeContract,
    CertifyPayment,
    CloseContract,
    Command,
    Meta,
    RejectReturn,
    SubmitReturn,
    ValidateReturn,
    VaryContract,
)
from .errors import InvalidInput, Problem, Refused
from .events import (
    AnyEvent,
    ContractAgreed,
    ContractClosed,
    ContractVaried,
    Figure,
    PaymentCertified,
    ReturnRejected,
    ReturnRestated,
    ReturnSubmitted,
    ReturnValidated,
    RewardAdjusted,
)
from .mechanism import compute, cumulative_through
from .money import MAX_AMOUNT, ZERO
from .periods import Period, PeriodError
from .state import ContractState
from .terms import ContractTerms, apply_variation, check_effective, check_terms, check_variation


@dataclass(frozen=True, slots=True)
class ReturnReceipt:
    added: int = 0
    unchanged: int = 0
    restated: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    events: tuple[AnyEvent, ...]
    receipt: ReturnReceipt = ReturnReceipt()


def decide(state: ContractState, command: Command, meta: Meta) -> Decision:
    """Decide what ``command`` means for the contract: new events, or a refusal."""
    if isinstance(command, AgreeContract):
        return Decision((_agree(state, command, meta),))
    if not state.exists:
        raise Refused(f"contract {state.reference!r} has not been agreed")
    # A closed contract still settles what it owes (retention, true-ups): only
    # payment runs are accepted after closure.
    if state.closed is not None and not isinstance(command, CertifyPayment):
        raise Refused(f"contract {state.reference!r} was closed on {state.closed_on} "
                      f"({state.closed.reason}): nothing more can be recorded")
    match command:
        case VaryContract():
            return Decision((_vary(state, command, meta),))
        case SubmitReturn():
            return _submit(state, command, meta)
        case ValidateReturn() | RejectReturn():
            return Decision((_review(state, command, meta),))
        case AdjustReward():
            return Decision((_adjust(state, command, meta),))
        case CertifyPayment():
            return Decision((_certify(state, command, meta),))
        case CloseContract():
            return Decision((_close(state, command, meta),))
        case _:
            assert_never(command)


def _require_reason(reason: str, what: str) -> None:
    if not reason.strip():
        raise InvalidInput([Problem("--reason", None, "reason",
                                    f"a reason is required for {what}")])


def _agree(state: ContractState, cmd: AgreeContract, meta: Meta) -> ContractAgreed:
    if state.exists:
        raise Refused(f"contract {state.reference!r} already exists (agreed "
                      f"{state.agreed_by.recorded_at if state.agreed_by else '?'}); "
                      "change it with a variation")
    problems = check_terms(cmd.terms, "contract")
    if problems:
        raise InvalidInput(problems)
    return ContractAgreed(contract=cmd.terms.reference, recorded_at=meta.recorded_at,
                          recorded_by=meta.recorded_by, reason=cmd.reason, terms=cmd.terms)


def _vary(state: ContractState, cmd: VaryContract, meta: Meta) -> ContractVaried:
    _require_reason(cmd.reason, "a variation")
    current = state.current_terms
    problems = check_effective(current, cmd.effective_from, "--effective")
    in_force = state.terms_on(cmd.effective_from)
    problems += check_variation(in_force, cmd.variation, cmd.source)
    if not problems:
        problems += check_terms(apply_variation(in_force, cmd.variation), cmd.source)
        problems += check_terms(apply_variation(current, cmd.variation), cmd.source)
    if problems:
        raise InvalidInput(list(dict.fromkeys(problems)))
    return ContractVaried(contract=state.reference, recorded_at=meta.recorded_at,
                          recorded_by=meta.recorded_by, reason=cmd.reason,
                          effective_from=cmd.effective_from, variation=cmd.variation)


def _claim_period(state: ContractState, period_id: str, source: str, line: int | None,
                  field: str = "period") -> Period:
    """Parse a period and check it lies within the term or the claims window."""
    try:
        period = state.period(period_id)
    except PeriodError as e:
        raise InvalidInput([Problem(source, line, field, f"{e} (got {period_id!r})")]) from None
    terms = state.current_terms
    if period.end < terms.start:
        raise InvalidInput([Problem(source, line, field, f"before the contract starts (got "
                                    f"{period_id}, contract starts {terms.start})")])
    if period.start > terms.last_claim_date:
        raise InvalidInput([Problem(source, line, field, f"after the claims window closes "
                                    f"(got {period_id}, claims close {terms.last_claim_date})")])
    return period


def _figure_problems(state: ContractState, terms: ContractTerms, period: Period,
                     provider: str, figures: tuple[Figure, ...], source: str) -> list[Problem]:
    problems: list[Problem] = []
    outcomes = {o.code: o for o in terms.outcomes}
    measured = {s.code for s in terms.social_value} | {k.code for k in terms.kpis}
    providers = {p.id for p in terms.providers}
    if provider and provider not in providers:
        problems.append(Problem(source, figures[0].line if figures else None, "provider",
                                f"not in the contract's delivery network (got {provider!r}, "
                                f"expected one of {sorted(providers) or 'no providers'})"))
    first_seen = _participant_index(state)
    present = {(f.participant, f.outcome) for f in figures if f.participant and f.value > 0}
    for f in figures:
        outcome = outcomes.get(f.outcome)
        if outcome is None and f.outcome not in measured:
            retired = f.outcome in {o.code for o in state.base_terms.outcomes}
            hint = " (retired by a variation for this period)" if retired else ""
            problems.append(Problem(source, f.line, "outcome",
                                    f"unknown outcome for {period.id}{hint} (got "
                                    f"{f.outcome!r}, expected one of "
                                    f"{sorted(outcomes) + sorted(measured)})"))
            continue
        if not f.value.is_finite():
            problems.append(Problem(source, f.line, "value",
                                    f"not a finite number (got {f.value}, expected a decimal)"))
            continue
        if f.value < 0:
            problems.append(Problem(source, f.line, "value",
                                    f"negative (got {f.value}, expected 0 or more)"))
        if f.value > MAX_AMOUNT:
            problems.append(Problem(source, f.line, "value",
                                    f"absurdly large (got {f.value}, expected at most "
                                    f"{MAX_AMOUNT:.0E})"))
        if outcome is not None and outcome.kind == "count" and f.value != f.value.to_integral():
            problems.append(Problem(source, f.line, "value",
                                    f"fractional count (got {f.value}, expected a whole "
                                    f"number of {outcome.unit or 'outcomes'})"))
        if f.achieved_on is not None:
            if not period.contains(f.achieved_on):
                problems.append(Problem(source, f.line, "achieved_on",
                                        f"outside its period (got {f.achieved_on}, expected "
                                        f"{period.start}..{period.end})"))
            elif f.achieved_on > terms.last_claim_date:
                problems.append(Problem(source, f.line, "achieved_on",
                                        f"after the claims window closed (got {f.achieved_on},"
                                        f" claims close {terms.last_claim_date})"))
        if outcome is None or not f.participant or f.value <= 0:
            continue
        seen = first_seen.get((f.participant, f.outcome))
        if (outcome.once_per_participant is not False and seen is not None
                and seen != (period.id, provider)):
            problems.append(Problem(source, f.line, "participant",
                                    f"{f.outcome} is claimable once per participant and "
                                    f"{f.participant} already has it in {seen[0]}"))
        for req in outcome.requires:
            earlier = first_seen.get((f.participant, req))
            ok = (f.participant, req) in present or (
                earlier is not None and state.period(earlier[0]) <= period)
            if not ok:
                problems.append(Problem(source, f.line, "participant",
                                        f"{f.outcome} requires {req} first and "
                                        f"{f.participant} has not achieved it"))
    return problems


def _participant_index(state: ContractState) -> dict[tuple[str, str], tuple[str, str]]:
    """(participant, outcome) -> (period, provider) of the earliest positive figure."""
    index: dict[tuple[str, str], tuple[str, str]] = {}
    for (period_id, provider, outcome, participant), rec in state.figures.items():
        if participant and rec.value > 0:
            key = (participant, outcome)
            current = index.get(key)
            if current is None or state.period(period_id) < state.period(current[0]):
                index[key] = (period_id, provider)
    return index


def _submit(state: ContractState, cmd: SubmitReturn, meta: Meta) -> Decision:
    source = cmd.source.file if cmd.source else "return"
    first_line = cmd.figures[0].line if cmd.figures else None
    period = _claim_period(state, cmd.period, source, first_line)
    terms = state.terms_for(period)
    problems = _figure_problems(state, terms, period, cmd.provider, cmd.figures, source)
    if problems:
        raise InvalidInput(problems)
    new: list[Figure] = []
    changed: list[Figure] = []
    originals: list[Figure] = []
    unchanged = 0
    for f in cmd.figures:
        existing = state.figures.get((period.id, cmd.provider, f.outcome, f.participant))
        if existing is None:
            new.append(f)
        elif existing.value == f.value:
            unchanged += 1
        else:
            changed.append(f)
            originals.append(existing.figure)
    if changed and not cmd.restate:
        raise InvalidInput([Problem(
            source, f.line, "value",
            f"{period.id} {f.outcome}{' ' + f.participant if f.participant else ''} was "
            f"recorded as {o.value}; a different value needs --restate --reason "
            f"(got {f.value})") for f, o in zip(changed, originals, strict=True)])
    if changed:
        _require_reason(cmd.reason, "a restatement")
    events: list[AnyEvent] = []
    late = meta.recorded_at.date() > period.end + timedelta(days=terms.returns_due_days)
    if new:
        events.append(ReturnSubmitted(
            contract=state.reference, recorded_at=meta.recorded_at,
            recorded_by=meta.recorded_by, reason=cmd.reason or "return submitted",
            period=period.id, provider=cmd.provider, figures=tuple(new), source=cmd.source,
            late=late))
    if changed:
        events.append(ReturnRestated(
            contract=state.reference, recorded_at=meta.recorded_at,
            recorded_by=meta.recorded_by, reason=cmd.reason, period=period.id,
            provider=cmd.provider, figures=tuple(changed), originals=tuple(originals),
            source=cmd.source))
    return Decision(tuple(events), ReturnReceipt(len(new), unchanged, len(changed)))


def _review(state: ContractState, cmd: ValidateReturn | RejectReturn,
            meta: Meta) -> ReturnValidated | ReturnRejected:
    period = _claim_period(state, cmd.period, "--period", None)
    key = (period.id, cmd.provider)
    status = state.returns.get(key)
    if status is None:
        raise Refused(f"no return for {period.id}"
                      f"{' from ' + cmd.provider if cmd.provider else ''} to review")
    kind: type[ReturnRejected] | type[ReturnValidated] = ReturnValidated
    if isinstance(cmd, RejectReturn):
        _require_reason(cmd.reason, "rejecting a return")
        if status.rejected is not None:
            raise Refused(f"the {period.id} return is already rejected")
        kind = ReturnRejected
    return kind(contract=state.reference, recorded_at=meta.recorded_at,
                recorded_by=meta.recorded_by, reason=cmd.reason, period=period.id,
                provider=cmd.provider)


def _adjust(state: ContractState, cmd: AdjustReward, meta: Meta) -> RewardAdjusted:
    source = cmd.source.file if cmd.source else "--amount"
    _require_reason(cmd.reason, "an adjustment")
    period = _claim_period(state, cmd.period, source if cmd.source else "--period", cmd.line)
    if not cmd.amount.is_finite() or cmd.amount == 0 or abs(cmd.amount) > MAX_AMOUNT:
        raise InvalidInput([Problem(source, cmd.line, "amount",
                                    f"expected a non-zero finite amount (got {cmd.amount})")])
    return RewardAdjusted(contract=state.reference, recorded_at=meta.recorded_at,
                          recorded_by=meta.recorded_by, reason=cmd.reason, period=period.id,
                          kind=cmd.kind, amount=cmd.amount, source=cmd.source)


def _certify(state: ContractState, cmd: CertifyPayment, meta: Meta) -> PaymentCertified:
    period = _claim_period(state, cmd.period, "--period", None)
    if state.certifications:
        last = state.period(state.certifications[-1].period)
        if period < last:
            raise Refused(f"{last.id} is already certified; certify {last.id} or later")
    schedule = compute(state)
    cumulative = cumulative_through(schedule, period, state)
    amount = cumulative - state.certified_total
    true_up = ZERO
    if state.certifications:
        last = state.period(state.certifications[-1].period)
        true_up = cumulative_through(schedule, last, state) - state.certified_total
        if period == last and amount == 0:
            raise Refused(f"{period.id} is already certified and nothing has changed since")
    return PaymentCertified(contract=state.reference, recorded_at=meta.recorded_at,
                            recorded_by=meta.recorded_by, reason=cmd.reason, period=period.id,
                            amount=amount, cumulative_payable=cumulative, true_up=true_up)


def _close(state: ContractState, cmd: CloseContract, meta: Meta) -> ContractClosed:
    _require_reason(cmd.reason, "closing a contract")
    if cmd.closed_on < state.base_terms.start:
        raise InvalidInput([Problem("--on", None, "closed_on", f"before the contract starts "
                                    f"(got {cmd.closed_on}, starts {state.base_terms.start})")])
    return ContractClosed(contract=state.reference, recorded_at=meta.recorded_at,
                          recorded_by=meta.recorded_by, reason=cmd.reason,
                          closed_on=cmd.closed_on)


__all__ = ["Decimal", "Decision", "ReturnReceipt", "decide"]
