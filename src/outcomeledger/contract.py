"""The contract decider: ``decide(state, command, meta) -> events`` or a domain error.

The contract stream is the consistency boundary (DESIGN 2): whether a variation,
return, adjustment or certification is acceptable depends only on what the stream
already holds. Nothing here reads the clock or does I/O.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
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
from .roles import authorise
from .signing import SignatureError, verify_digest
from .state import ContractState
from .term_checks import check_effective, check_terms, check_variation
from .terms import ContractTerms, Outcome, apply_variation


@dataclass(frozen=True, slots=True)
class ReturnReceipt:
    added: int = 0
    unchanged: int = 0
    restated: int = 0
    late: bool = False  # the added figures arrived after the return was due
    warnings: tuple[Problem, ...] = ()  # data-quality flags that do not block


@dataclass(frozen=True, slots=True)
class Decision:
    events: tuple[AnyEvent, ...]
    receipt: ReturnReceipt = ReturnReceipt()


def decide(state: ContractState, command: Command, meta: Meta) -> Decision:
    """Decide what ``command`` means for the contract: new events, or a refusal."""
    if isinstance(command, AgreeContract):
        authorise(command.terms, command, meta.recorded_by)
        return Decision((_agree(state, command, meta),))
    if not state.exists:
        raise Refused(f"contract {state.reference!r} has not been agreed")
    authorise(state.current_terms, command, meta.recorded_by)
    # A closed contract still settles what it owes (retention, true-ups): only
    # payment runs are accepted after closure.
    if state.closed is not None and not isinstance(command, CertifyPayment):
        raise Refused(f"contract {state.reference!r} was closed on {state.closed_on} "
                      f"({state.closed.reason}): nothing more can be recorded")
    match command:
        case VaryContract():
            return Decision((_vary(state, command, meta),))
        case SubmitReturn():
            _check_signature(state, command)
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


@dataclass(frozen=True, slots=True)
class _TermsIndex:
    """What the return checks look up in a contract's terms."""

    outcomes: dict[str, Outcome]
    measured: frozenset[str]  # social value and KPI codes: returned, never priced
    providers: frozenset[str]
    counted: frozenset[str]  # outcomes of kind "count": whole units
    rungs: dict[str, tuple[str, ...]]  # ladder outcome -> the outcomes it requires


# Terms are immutable and shared by every state of a stream, so their index is built
# once per terms object, not once per return (a pure memo, bounded).
_INDEXES: dict[int, tuple[ContractTerms, _TermsIndex]] = {}


def _index(terms: ContractTerms) -> _TermsIndex:
    hit = _INDEXES.get(id(terms))
    if hit is not None and hit[0] is terms:
        return hit[1]
    if len(_INDEXES) >= 64:
        _INDEXES.clear()
    outcomes = {o.code: o for o in terms.outcomes}
    index = _TermsIndex(
        outcomes=outcomes,
        measured=frozenset(s.code for s in terms.social_value) | {k.code for k in terms.kpis},
        providers=frozenset(p.id for p in terms.providers),
        counted=frozenset(code for code, o in outcomes.items() if o.kind == "count"),
        rungs={o.code: o.requires for o in terms.outcomes if o.requires})
    _INDEXES[id(terms)] = (terms, index)
    return index


#: Whole numbers that pass every value check (Decimal equality: 7 == 7.0): the bulk of
#: the values in returns, checked once here instead of once per row.
_SMALL_COUNTS = frozenset(Decimal(n) for n in range(1000))


def _figure_problems(state: ContractState, terms: ContractTerms, period: Period,
                     provider: str, figures: tuple[Figure, ...], source: str) -> list[Problem]:
    """Every problem with the figures of one return, each at the line of its row."""
    problems: list[Problem] = []
    index = _index(terms)
    outcomes, measured, providers, counted = (index.outcomes, index.measured,
                                              index.providers, index.counted)
    if provider and provider not in providers:
        problems.append(Problem(source, figures[0].line if figures else None, "provider",
                                f"not in the contract's delivery network (got {provider!r}, "
                                f"expected one of {sorted(providers) or 'no providers'})"))
    # The participant rules need the stream's history: built at the first participant's
    # row, so aggregate returns (the bulk of a large import) never scan it.
    first_seen: dict[tuple[str, str], tuple[str, str]] | None = None
    present: set[tuple[str, str]] = set()
    plain: set[Decimal] = set()
    for f in figures:
        value = f.value
        # Most rows are plain: an aggregate count of a known outcome, a whole number
        # already known to pass every value check. Nothing more is to be checked.
        if (f.outcome in counted and not f.participant and f.achieved_on is None
                and value.is_finite() and (value in _SMALL_COUNTS or value in plain)):
            continue
        outcome = outcomes.get(f.outcome)
        if outcome is None and f.outcome not in measured:
            retired = f.outcome in {o.code for o in state.base_terms.outcomes}
            hint = " (retired by a variation for this period)" if retired else ""
            problems.append(Problem(source, f.line, "outcome",
                                    f"unknown outcome for {period.id}{hint} (got "
                                    f"{f.outcome!r}, expected one of "
                                    f"{sorted(outcomes) + sorted(measured)})"))
            continue
        if not value.is_finite():
            problems.append(Problem(source, f.line, "value",
                                    f"not a finite number (got {value}, expected a decimal)"))
            continue
        whole = value == value.to_integral_value()
        if not ZERO <= value <= MAX_AMOUNT:
            if value < 0:
                problems.append(Problem(source, f.line, "value",
                                        f"negative (got {value}, expected 0 or more)"))
            else:
                problems.append(Problem(source, f.line, "value",
                                        f"absurdly large (got {value}, expected at most "
                                        f"{MAX_AMOUNT:.0E})"))
        elif whole:
            plain.add(value)
        if outcome is not None and outcome.kind == "count" and not whole:
            problems.append(Problem(source, f.line, "value",
                                    f"fractional count (got {value}, expected a whole "
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
        if outcome is None or not f.participant or value <= 0:
            continue
        if first_seen is None:
            first_seen = _participant_index(state, {g.participant for g in figures})
            present = {(g.participant, g.outcome) for g in figures
                       if g.participant and g.value > 0}
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


def _twice(first: Figure, again: Figure) -> str:
    who = f" for {again.participant}" if again.participant else ""
    return (f"{again.outcome}{who} appears twice with different values (got {again.value}, "
            f"expected {first.value} as on line {first.line} or one row only)")


def _participant_index(state: ContractState, participants: set[str]) -> dict[
        tuple[str, str], tuple[str, str]]:
    """(participant, outcome) -> (period, provider) of the earliest positive figure,
    for the ``participants`` of one return. Rejected returns are left out: payments
    never count them, so they must not use up a once-only outcome either."""
    index: dict[tuple[str, str], tuple[str, str]] = {}
    rejected = {key for key, status in state.returns.items() if status.rejected is not None}
    for (period_id, provider, outcome, participant), rec in state.figures.items():
        if (participant in participants and rec.value > 0
                and (period_id, provider) not in rejected):
            key = (participant, outcome)
            current = index.get(key)
            if current is None or state.period(period_id) < state.period(current[0]):
                index[key] = (period_id, provider)
    return index


def _ladder_warnings(state: ContractState, terms: ContractTerms, period: Period,
                     provider: str, figures: tuple[Figure, ...], source: str) -> tuple[
                         Problem, ...]:
    """Aggregate counts in which a ladder rung outnumbers the rung it requires.

    Cumulative over the contract's life, through this period and every later one (a
    restated lower rung can break a later period). Legitimate causes exist, e.g. entry
    before the programme began or counts recorded in different periods (domain.md b2:
    GM "3 months sustained" 329 > "entered" 328), so this is flagged, never refused.
    """
    rungs = _index(terms).rungs
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


def _distinct(figures: tuple[Figure, ...]) -> tuple[tuple[Figure, ...], list[Problem]]:
    """The figures with exact repeats dropped, and a problem for each repeat that gives
    the figure a different value (DESIGN 4.3)."""
    if len({f.outcome for f in figures}) == len(figures):
        return figures, []  # every row a different outcome: nothing can repeat
    first: dict[tuple[str, str], Figure] = {}
    problems: list[Problem] = []
    for f in figures:
        kept = first.setdefault((f.outcome, f.participant), f)
        if kept is not f and kept.value != f.value:
            problems.append(Problem("", f.line, "value", _twice(kept, f)))
    if len(first) == len(figures):
        return figures, problems
    return tuple(first.values()), problems


def _submit(state: ContractState, cmd: SubmitReturn, meta: Meta) -> Decision:
    source = cmd.source.file if cmd.source else "return"
    first_line = cmd.figures[0].line if cmd.figures else None
    period = _claim_period(state, cmd.period, source, first_line)
    terms = state.terms_for(period)
    figures, repeats = _distinct(cmd.figures)
    problems = [replace(p, source=source) for p in repeats]
    problems += _figure_problems(state, terms, period, cmd.provider, figures, source)
    if problems:
        raise InvalidInput(problems)
    new: list[Figure] = []
    changed: list[Figure] = []
    originals: list[Figure] = []
    unchanged = 0
    pid = period.id
    if (pid, cmd.provider) not in state.returns:
        new = list(figures)  # a first return: nothing recorded to compare with
    else:
        for f in figures:
            existing = state.figures.get((pid, cmd.provider, f.outcome, f.participant))
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
            f"{pid} {f.outcome}{' ' + f.participant if f.participant else ''} was "
            f"recorded as {o.value}; a different value needs --restate --reason "
            f"(got {f.value})") for f, o in zip(changed, originals, strict=True)])
    if changed:
        _require_reason(cmd.reason, "a restatement")
    events: list[AnyEvent] = []
    late = bool(new) and (
        meta.recorded_at.date() > period.end + timedelta(days=terms.returns_due_days))
    if new:
        events.append(ReturnSubmitted(
            contract=state.reference, recorded_at=meta.recorded_at,
            recorded_by=meta.recorded_by, reason=cmd.reason or "return submitted",
            period=pid, provider=cmd.provider, figures=tuple(new), source=cmd.source,
            late=late))
    if changed:
        events.append(ReturnRestated(
            contract=state.reference, recorded_at=meta.recorded_at,
            recorded_by=meta.recorded_by, reason=cmd.reason, period=pid,
            provider=cmd.provider, figures=tuple(changed), originals=tuple(originals),
            source=cmd.source))
    warnings = _ladder_warnings(state, terms, period, cmd.provider, figures, source)
    return Decision(tuple(events), ReturnReceipt(len(new), unchanged, len(changed), late,
                                                 warnings))


def _check_signature(state: ContractState, cmd: SubmitReturn) -> None:
    """On a contract with ``signed_returns``, the provider's signature must verify."""
    terms = state.current_terms
    if not terms.signed_returns:
        return
    source = cmd.source.file if cmd.source else "return"
    line = cmd.figures[0].line if cmd.figures else None
    keys = {p.id: p.public_key for p in terms.providers}
    if not cmd.provider or keys.get(cmd.provider) is None:
        raise InvalidInput([Problem(source, line, "provider", f"{state.reference} takes signed "
                                    "returns only: each row names a provider with a "
                                    f"registered key (got {cmd.provider!r})")])
    if cmd.source is None or not cmd.source.signature:
        raise InvalidInput([Problem(source, None, "signature", f"{state.reference} takes "
                                    "signed returns only: no signature for this file "
                                    "(expected FILE.sig from `returns sign`)")])
    try:
        verify_digest(keys[cmd.provider] or "", cmd.source.sha256, cmd.source.signature)
    except SignatureError as e:
        raise InvalidInput([Problem(source, None, "signature",
                                    f"{e} (provider {cmd.provider})")]) from None


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
