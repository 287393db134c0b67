"""The contract decider: ``decide(state, command, meta) -> events`` or a domain error.

The contract stream is the consistency boundary (DESIGN 2): whether a variation,
return, adjustment or certification is acceptable depends only on what the stream
already holds. Nothing here reads the clock or does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import TypeVar, assert_never

import msgspec

from ..adjustment_rules import amount_problems, plain
from ..commands import (
    AdjustReward,
    AgreeContract,
    ApproveBusinessCase,
    BreakContract,
    CertifyPayment,
    CloseContract,
    Command,
    EraseParticipant,
    ExtendContract,
    Meta,
    RejectReturn,
    ReportCosts,
    SubmitReturn,
    ValidateReturn,
    VaryContract,
)
from ..errors import COMMAND, InvalidInput, Problem, Refused
from ..events import (
    CLOSURE_RULE,
    RAN_TO_END,
    AnyEvent,
    BusinessCaseApproved,
    ContractAgreed,
    ContractBroken,
    ContractClosed,
    ContractExtended,
    ContractVaried,
    Figure,
    ParticipantErased,
    PaymentCertified,
    ReturnRejected,
    ReturnRestated,
    ReturnSubmitted,
    ReturnValidated,
    RewardAdjusted,
)
from ..money import MAX_AMOUNT, ZERO
from ..payments.cumulative import cumulative_through
from ..payments.mechanism import compute
from ..periods import Period, day_problem, days_after, months_after
from ..programme.events import AnyProgrammeEvent
from ..registry.events import AnyRegistryEvent
from ..roles import authorise
from ..term_checks import check_effective, check_terms, check_variation
from ..terms import Break, Extension
from ..timestamps import rfc3339
from ..variations import apply_variation
from .business_cases import as_variation, business_case_problems, codes_ever
from .command_checks import (
    check_key_change,
    check_signature,
    claim_period,
    received_on,
    require_reason,
)
from .costs import report_costs
from .options import blocked, judge
from .return_checks import distinct, figure_problems, returns_outside_membership
from .return_warnings import cap_warnings, ladder_warnings, plausibility_warnings
from .state import ContractState
from .superseding import compared


class ReturnReceipt(msgspec.Struct, frozen=True):
    added: int = 0
    unchanged: int = 0
    restated: int = 0
    late: bool = False  # the added figures arrived after the return was due
    late_days: int = 0  # by how many days
    warnings: tuple[Problem, ...] = ()  # data-quality flags that do not block


class Decision(msgspec.Struct, frozen=True):
    """What a command means: its events, and for a return what the import reports.
    (A Struct, as the events are: one is built for every command decided.)

    ``programme_events`` are those of a programme's stream: a programme agreed or varied,
    or the draw a payment run makes on its programme (appended with the run's event);
    ``registry_events`` those of the actor registry's stream (a registration)."""

    events: tuple[AnyEvent, ...]
    receipt: ReturnReceipt = ReturnReceipt()
    programme_events: tuple[AnyProgrammeEvent, ...] = ()
    registry_events: tuple[AnyRegistryEvent, ...] = ()


#: Cumulative payable through a period, as the contract state stands: what a payment run
#: certifies. By default the whole schedule is computed; a verifier re-deciding every
#: payment run of a long history passes one that carries on from the last it computed.
Payable = Callable[[ContractState, Period], Decimal]


def decide(state: ContractState, command: Command, meta: Meta, *,
           payable: Payable | None = None, advise: bool = True) -> Decision:
    """Decide what ``command`` means for the contract: new events, or a refusal.

    ``advise=False`` leaves out the receipt's warnings, which never change a decision:
    for a verifier deciding every stored event again, not for a person recording one.
    On a contract with keyed actors (:mod:`..actors`) each event names the key it is to be
    signed with; the store signs it as it chains it."""
    if isinstance(command, AgreeContract):
        agreed = _agree(state, command, meta)  # the terms sound before they name who acts
        signed = authorise(command.terms, command, meta)
        return _keyed(Decision((agreed,)), signed, meta)
    if not state.exists:
        raise Refused(f"contract {state.reference!r} has not been agreed")
    signed = authorise(state.current_terms, command, meta)
    return _keyed(_decide(state, command, meta, payable, advise), signed, meta)


def _keyed(decision: Decision, signed: bool, meta: Meta) -> Decision:
    if not signed or not decision.events:
        return decision
    return msgspec.structs.replace(decision, events=tuple(
        msgspec.structs.replace(e, key_id=meta.key_id) for e in decision.events))


def _decide(state: ContractState, command: Command, meta: Meta, payable: Payable | None,
            advise: bool) -> Decision:
    # A closed contract still settles what it owes (retention, true-ups): only
    # payment runs are accepted after closure (and erasures: a person's right outlives
    # the contract).
    if state.closed is not None and not isinstance(command, CertifyPayment | EraseParticipant):
        raise Refused(f"contract {state.reference!r} was closed on {state.closed_on} "
                      f"({state.closed.reason}): nothing more can be recorded")
    match command:  # (the commonest first: a match tries each class pattern in turn)
        case SubmitReturn():
            check_signature(state, command)
            return _submit(state, command, meta, advise)
        case ValidateReturn() | RejectReturn():
            return Decision((_review(state, command, meta),))
        case CertifyPayment():
            return Decision((_certify(state, command, meta, payable),))
        case AdjustReward():
            return Decision((_adjust(state, command, meta),))
        case VaryContract():
            check_key_change(state, command)
            return Decision((_vary(state, command, meta),))
        case CloseContract():
            return Decision((_close(state, command, meta),))
        case ExtendContract():
            return Decision((_extend(state, command, meta),))
        case BreakContract():
            return Decision((_break(state, command, meta),))
        case ApproveBusinessCase():
            return Decision((_approve(state, command, meta),))
        case ReportCosts():  # shared risk on cost (DESIGN 11): contract/costs.py
            events, n = report_costs(state, command, meta)
            return Decision(events, ReturnReceipt(n.added, n.unchanged, n.restated,
                                                  n.late_days > 0, n.late_days))
        case AgreeContract():  # (decided above; here the contract exists: refused)
            return Decision((_agree(state, command, meta),))
        case EraseParticipant():
            return Decision((_erase(state, command, meta),))
        case _:
            assert_never(command)


def _agree(state: ContractState, cmd: AgreeContract, meta: Meta) -> ContractAgreed:
    if state.exists:
        raise Refused(f"contract {state.reference!r} already exists (agreed "
                      f"{rfc3339(state.agreed_by.recorded_at) if state.agreed_by else '?'}); "
                      "change it with a variation")
    problems = check_terms(cmd.terms, "contract")
    if problems:
        raise InvalidInput(problems)
    return ContractAgreed(contract=cmd.terms.reference, recorded_at=meta.recorded_at,
                          recorded_by=meta.recorded_by, reason=cmd.reason, terms=cmd.terms)


def _vary(state: ContractState, cmd: VaryContract, meta: Meta) -> ContractVaried:
    require_reason(cmd.reason, "a variation")
    current = state.current_terms
    problems = check_effective(current, cmd.effective_from, COMMAND)
    in_force = state.terms_on(cmd.effective_from)
    problems += check_variation(in_force, cmd.variation, cmd.source)
    if not problems:
        problems += check_terms(apply_variation(in_force, cmd.variation), cmd.source)
        varied = apply_variation(current, cmd.variation)
        problems += check_terms(varied, cmd.source)
        problems += returns_outside_membership(state, varied, cmd.source)
    if problems:
        raise InvalidInput(list(dict.fromkeys(problems)))
    return ContractVaried(contract=state.reference, recorded_at=meta.recorded_at,
                          recorded_by=meta.recorded_by, reason=cmd.reason,
                          effective_from=cmd.effective_from, variation=cmd.variation)


def _approve(state: ContractState, cmd: ApproveBusinessCase,
             meta: Meta) -> BusinessCaseApproved:
    """A business case: its own checks against the contract, then the terms with its
    outcomes added checked as a variation's would be (a code clashing with a measure)."""
    require_reason(cmd.reason, "a business case")
    case = cmd.business_case
    current = state.current_terms
    problems = business_case_problems(
        case, current, codes_ever(state.base_terms, state.variations, current),
        {record.business_case.id for record in state.business_cases}, cmd.source)
    if not problems:
        added = as_variation(case)
        problems += check_terms(apply_variation(state.terms_on(case.effective), added),
                                cmd.source)
        problems += check_terms(apply_variation(current, added), cmd.source)
    if problems:
        raise InvalidInput(list(dict.fromkeys(problems)))
    return BusinessCaseApproved(contract=state.reference, recorded_at=meta.recorded_at,
                                recorded_by=meta.recorded_by, reason=cmd.reason,
                                business_case=case)


def _submit(state: ContractState, cmd: SubmitReturn, meta: Meta,
            advise: bool = True) -> Decision:
    source = cmd.source.file if cmd.source else "return"
    first_line = cmd.figures[0].line if cmd.figures else None
    period = claim_period(state, cmd.period, source, first_line)
    terms = state.terms_for(period)
    figures, repeats = distinct(cmd.figures)
    problems = [replace(p, source=source) for p in repeats]
    unmet: list[Problem] = []
    problems += figure_problems(state, terms, period, cmd.provider, figures, source, unmet)
    if problems:
        raise InvalidInput(problems)
    pid = period.id
    if (pid, cmd.provider) not in state.returns:
        new = list(figures)  # a first return: nothing recorded to compare with
        changed: list[Figure] = []
        originals: list[Figure] = []
        unchanged = 0
    else:
        new, changed, originals, unchanged = _compared(state, cmd, pid, figures, source)
    events: list[AnyEvent] = []
    received = received_on(cmd, meta, period)
    due = days_after(period.end, terms.returns_due_days)
    late = bool(new) and received > due
    late_days = (received - due).days if late else 0
    if new:
        events.append(ReturnSubmitted(
            contract=state.reference, recorded_at=meta.recorded_at,
            recorded_by=meta.recorded_by, reason=cmd.reason or "return submitted",
            period=pid, provider=cmd.provider, figures=tuple(new), source=cmd.source,
            late=late, received_on=cmd.received_on))
    if changed:
        events.append(ReturnRestated(
            contract=state.reference, recorded_at=meta.recorded_at,
            recorded_by=meta.recorded_by, reason=cmd.reason, period=pid,
            provider=cmd.provider, figures=tuple(changed), originals=tuple(originals),
            source=cmd.source, received_on=cmd.received_on))
    if not advise:
        return Decision(tuple(events), ReturnReceipt(len(new), unchanged, len(changed), late,
                                                     late_days))
    warnings = (*unmet, *ladder_warnings(state, terms, period, cmd.provider, figures, source),
                *cap_warnings(terms, period, figures, source),
                *plausibility_warnings(state, terms, period, cmd.provider, figures, source))
    return Decision(tuple(events), ReturnReceipt(len(new), unchanged, len(changed), late,
                                                 late_days, warnings))


def _compared(state: ContractState, cmd: SubmitReturn, pid: str, figures: tuple[Figure, ...],
              source: str) -> tuple[list[Figure], list[Figure], list[Figure], int]:
    """A return for a period and provider already returned, against what is recorded: the
    figures new to it, those whose value changed (and the figures they replace), how many
    are unchanged. A changed value is refused unless restated, with a reason."""
    def recorded(f: Figure) -> Figure | None:
        rec = state.figures.get((pid, cmd.provider, f.outcome, f.participant))
        return None if rec is None else rec.figure

    def refusal(f: Figure, o: Figure) -> Problem:
        return Problem(source, f.line, "value",
                       f"{pid} {f.outcome}{' ' + f.participant if f.participant else ''} was "
                       f"recorded as {o.value}; a different value needs --restate --reason "
                       f"(got {f.value})")

    c = compared(figures, recorded, _value, restate=cmd.restate, reason=cmd.reason,
                 refusal=refusal)
    return c.new, c.changed, c.originals, c.unchanged


def _value(f: Figure) -> Decimal:
    return f.value


def _review(state: ContractState, cmd: ValidateReturn | RejectReturn,
            meta: Meta) -> ReturnValidated | ReturnRejected:
    period = claim_period(state, cmd.period, COMMAND, None)
    key = (period.id, cmd.provider)
    status = state.returns.get(key)
    if status is None:
        others = sorted(p or "(no provider)" for pid, p in state.returns if pid == period.id)
        raise Refused(f"no return for {period.id}"
                      f"{' from ' + cmd.provider if cmd.provider else ' without a provider'}"
                      " to review" + (f" (returns for {period.id} are from "
                                      f"{', '.join(others)}: give --provider)" if others
                                      else ""))
    kind: type[ReturnRejected] | type[ReturnValidated] = ReturnValidated
    if isinstance(cmd, RejectReturn):
        require_reason(cmd.reason, "rejecting a return")
        if status.rejected is not None:
            raise Refused(f"the {period.id} return is already rejected")
        kind = ReturnRejected
    return kind(contract=state.reference, recorded_at=meta.recorded_at,
                recorded_by=meta.recorded_by, reason=cmd.reason, period=period.id,
                provider=cmd.provider)


def _adjust(state: ContractState, cmd: AdjustReward, meta: Meta) -> RewardAdjusted:
    source = cmd.source.file if cmd.source else COMMAND
    require_reason(cmd.reason, "an adjustment")
    period = claim_period(state, cmd.period, source, cmd.line)
    if not cmd.amount.is_finite() or cmd.amount == 0 or abs(cmd.amount) > MAX_AMOUNT:
        raise InvalidInput([Problem(source, cmd.line, "amount",
                                    f"expected a non-zero finite amount (got {cmd.amount})")])
    problems = amount_problems(cmd.kind, cmd.amount, state.base_terms.currency, source,
                               cmd.line)
    if problems:
        raise InvalidInput(problems)
    return RewardAdjusted(contract=state.reference, recorded_at=meta.recorded_at,
                          recorded_by=meta.recorded_by, reason=cmd.reason, period=period.id,
                          kind=cmd.kind, amount=plain(cmd.amount), source=cmd.source)


def _scheduled(state: ContractState, closure_rule: int) -> Payable:
    # Amounts only: the words of each line's units and earned steps change none of them.
    schedule = compute(state, explain=False, closure_rule=closure_rule)
    return lambda st, period: cumulative_through(schedule, period, st)


def _certify(state: ContractState, cmd: CertifyPayment, meta: Meta,
             payable: Payable | None) -> PaymentCertified:
    period = claim_period(state, cmd.period, COMMAND, None)
    if state.certifications:
        last = state.period(state.certifications[-1].period)
        if period < last:
            raise Refused(f"{last.id} is already certified; certify {last.id} or later")
    # After a closure, the run records the closure rule it is decided by; a run recorded
    # under an earlier rule (``audit verify`` deciding it again) is decided by that rule,
    # and records none, as runs did before rules were recorded.
    rule = cmd.closure_rule if state.closed is not None else None
    through = (_scheduled(state, cmd.closure_rule)
               if payable is None or rule not in (None, CLOSURE_RULE) else payable)
    cumulative = through(state, period)
    certified = state.certified_total  # (a sum over every run: once)
    owed = cumulative - certified
    programme = state.current_terms.programme or None
    amount, above = _within_budget(owed, cmd.headroom if programme else None)
    true_up = ZERO
    if state.certifications:
        previous = state.certifications[-1]
        last = state.period(previous.period)
        # What the last run owed but its programme could not pay is carried, not a
        # correction of the periods certified.
        true_up = through(state, last) - certified - previous.above_budget
        if period == last and amount == 0 and (above or ZERO) == previous.above_budget:
            raise Refused(f"{period.id} is already certified and nothing has changed since"
                          + (f" (programme {programme!r} has no budget left for the "
                             f"{above} above it)" if above else ""))
    return PaymentCertified(contract=state.reference, recorded_at=meta.recorded_at,
                            recorded_by=meta.recorded_by, reason=cmd.reason, period=period.id,
                            amount=amount, cumulative_payable=cumulative, true_up=true_up,
                            programme=programme, above_budget=above,
                            closure_rule=None if rule == RAN_TO_END else rule)


def _within_budget(owed: Decimal, headroom: Decimal | None) -> tuple[Decimal, Decimal | None]:
    """(certified, above budget) of a run that owes ``owed``: all of it outside a
    programme (``headroom`` None); inside, no more than the programme can still pay. A
    run that gives money back (negative) is always certified whole: it returns budget."""
    if headroom is None or owed <= headroom:
        return owed, None
    paid = max(headroom, ZERO)
    return paid, owed - paid


def _close(state: ContractState, cmd: CloseContract, meta: Meta) -> ContractClosed:
    require_reason(cmd.reason, "closing a contract")
    if (why := day_problem(cmd.closed_on)) is not None:
        raise InvalidInput([Problem(COMMAND, None, "closed_on", why)])
    if cmd.closed_on < state.base_terms.start:
        raise InvalidInput([Problem(COMMAND, None, "closed_on", f"before the contract starts "
                                    f"(got {cmd.closed_on}, starts {state.base_terms.start})")])
    return ContractClosed(contract=state.reference, recorded_at=meta.recorded_at,
                          recorded_by=meta.recorded_by, reason=cmd.reason,
                          closed_on=cmd.closed_on)


def _erase(state: ContractState, cmd: EraseParticipant, meta: Meta) -> ParticipantErased:
    """An erasure names a pseudonym of a pseudonymised contract that some figure holds
    and that was not erased before. (Whether the key store still links it to a person is
    the application's to check: the stream never holds the id.)"""
    require_reason(cmd.reason, "an erasure")
    if state.base_terms.participant_ids != "pseudonymised":
        raise Refused(f"contract {state.reference!r} records participant ids in clear "
                      "(participant_ids = \"clear\"): they are in the bytes of its "
                      "immutable events, which erasure cannot remove", "participant")
    if cmd.pseudonym in state.erased:
        raise Refused(f"participant {cmd.pseudonym} of contract {state.reference!r} was "
                      "erased already", "participant")
    if not any(key[3] == cmd.pseudonym for key in state.figures):
        raise Refused(f"no figure of contract {state.reference!r} names participant "
                      f"{cmd.pseudonym}", "participant")
    return ParticipantErased(contract=state.reference, recorded_at=meta.recorded_at,
                             recorded_by=meta.recorded_by, reason=cmd.reason,
                             pseudonym=cmd.pseudonym)


_O = TypeVar("_O", Extension, Break)


def _option(state: ContractState, cmd: ExtendContract | BreakContract, meta: Meta,
            kind: type[_O]) -> _O:
    """The option ``cmd`` exercises, once it may be: one of the contract's options of
    ``kind``, not used before, exercised on a day not in the future and not past its
    deadline, its condition holding over the periods completed by then (DESIGN 11)."""
    noun = "extension" if kind is Extension else "break"
    require_reason(cmd.reason, f"an {noun}" if kind is Extension else f"a {noun}")
    terms = state.current_terms
    options = terms.extensions if kind is Extension else terms.breaks
    option = next((o for o in options if o.id == cmd.option), None)
    if not isinstance(option, kind):
        raise InvalidInput([Problem(COMMAND, None, "option", (
            f"no {noun} option {cmd.option!r} in {state.reference}'s terms "
            f"(got {cmd.option!r}, expected one of {sorted(o.id for o in options)})"))])
    if (why := day_problem(cmd.on)) is not None:
        raise InvalidInput([Problem(COMMAND, None, "on", why)])
    if cmd.on > meta.recorded_at.date():
        raise InvalidInput([Problem(COMMAND, None, "on", (
            f"in the future (got {cmd.on}, expected at most {meta.recorded_at.date()}, the "
            "day it is recorded): a condition is judged on completed periods"))])
    if (fault := blocked(state, option, cmd.on)) is not None:
        field, message = fault
        raise InvalidInput([Problem(COMMAND, None, field, f"{option.id}: {message}")])
    judgement = judge(state, option.condition, cmd.on)
    if not judgement.holds:
        raise InvalidInput(judgement.problems(option.id))
    return option


def _extend(state: ContractState, cmd: ExtendContract, meta: Meta) -> ContractExtended:
    option = _option(state, cmd, meta, Extension)
    terms = state.current_terms
    end = months_after(terms.end, option.months)
    claims = (None if terms.claims_until is None
              else months_after(terms.claims_until, option.months))
    problems = check_terms(msgspec.structs.replace(terms, end=end, claims_until=claims),
                           COMMAND)
    if problems:
        raise InvalidInput([replace(p, field="option", message=f"{option.id} would make "
                                    f"{p.field} {p.message}") for p in problems])
    return ContractExtended(contract=state.reference, recorded_at=meta.recorded_at,
                            recorded_by=meta.recorded_by, reason=cmd.reason,
                            option=option.id, months=option.months, decided_on=cmd.on,
                            effective_from=days_after(terms.end, 1), end=end,
                            claims_until=claims)


def _break(state: ContractState, cmd: BreakContract, meta: Meta) -> ContractBroken:
    option = _option(state, cmd, meta, Break)
    return ContractBroken(contract=state.reference, recorded_at=meta.recorded_at,
                          recorded_by=meta.recorded_by, reason=cmd.reason,
                          closed_on=option.on, option=option.id, decided_on=cmd.on)
