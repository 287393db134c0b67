"""Validity: every stored event decided again against the events before it.

The hash chains (:mod:`.chain`) prove the stored bytes are the bytes written; they cannot
tell whether the decider would ever have written them. A row inserted by hand with the
right ``prev_hash`` and the next version (a ``ReturnSubmitted`` of -1,000,000 by an
undeclared actor) chains perfectly. So ``audit verify`` also folds each contract's events
in order and turns every stored event back into the command it records, decided by the
same :func:`~outcomeledger.domain.contract.decide.decide` against the state before it:
the terms, the periods and claims window, the roles and keys, the value domains, the
signatures of a contract that takes signed returns and of authenticated actors, the
payment arithmetic of a payment run. The decision must be exactly the stored event;
anything else is a :class:`Violation`. The rules are not restated here: a rule exists
once, in the decider and the checks it calls.

Pure: stored rows in, findings out (no I/O, no clock). Nothing in stored data may make
this raise: an event that does not decode, or that the rules cannot even be applied to,
is a finding like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import assert_never

import msgspec

from .. import codec
from ..actors import signature_problem
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
from ..errors import InvalidInput, LedgerError
from ..events import (
    EVENT_TYPES,
    RAN_TO_END,
    AnyEvent,
    BusinessCaseApproved,
    ContractAgreed,
    ContractBroken,
    ContractClosed,
    ContractExtended,
    ContractVaried,
    CostsReported,
    ParticipantErased,
    PaymentCertified,
    ReturnRejected,
    ReturnRestated,
    ReturnSubmitted,
    ReturnValidated,
    RewardAdjusted,
    Source,
    topic_of,
    type_name,
)
from ..payments.cumulative import Cumulative
from ..signing import RETURN_SCHEME_DIGEST, RETURN_SCHEME_STATEMENT
from .decide import decide
from .state import ContractState, InPlace

_encoder = msgspec.json.Encoder(decimal_format="string")
#: The topic each event type is stored under (looked up once per event verified).
_TOPICS: dict[type, str] = {cls: topic_of(cls) for cls in EVENT_TYPES}


@dataclass(frozen=True, slots=True)
class Violation:
    """A stored event the rules would not have recorded, given the events before it."""

    position: int
    contract: str
    version: int
    type: str  # the event's type, or its stored topic when it does not decode
    rule: str  # what the decider says, or how its decision differs from the event

    def __str__(self) -> str:
        return f"{self.contract} position {self.position} v{self.version}: {self.type}: " \
               f"{self.rule}"


def command_of(event: AnyEvent) -> Command:
    """The command whose decision ``event`` records (its actor and time are the meta)."""
    match event:
        case ReturnSubmitted():
            return SubmitReturn(event.period, event.provider, event.figures, event.source,
                                restate=False, reason=event.reason,
                                received_on=event.received_on,
                                signature_scheme=_scheme(event.source))
        case ReturnRestated():
            return SubmitReturn(event.period, event.provider, event.figures, event.source,
                                restate=True, reason=event.reason,
                                received_on=event.received_on,
                                signature_scheme=_scheme(event.source))
        case ReturnValidated():
            return ValidateReturn(event.period, event.provider, event.reason)
        case ReturnRejected():
            return RejectReturn(event.period, event.provider, event.reason)
        case PaymentCertified():
            # The programme's headroom is the programme stream's to prove (the draw
            # checked there); here, the run's own split of what it owed. A run certified
            # after a closure without a closure rule was recorded before rules were
            # recorded: decided by the rule of then (domain/payments/closure.py).
            return CertifyPayment(event.period, event.reason,
                                  headroom=event.amount if event.above_budget else None,
                                  closure_rule=event.closure_rule or RAN_TO_END)
        case RewardAdjusted():
            return AdjustReward(event.period, event.kind, event.amount, event.reason,
                                event.source)
        case ContractAgreed():
            return AgreeContract(event.terms, event.reason)
        case ContractVaried():
            return VaryContract(event.variation, event.effective_from, event.reason)
        case ContractExtended():
            return ExtendContract(event.option, event.decided_on, event.reason)
        case ContractBroken():  # before ContractClosed, which it extends
            return BreakContract(event.option, event.decided_on, event.reason)
        case ContractClosed():
            return CloseContract(event.closed_on, event.reason)
        case BusinessCaseApproved():
            return ApproveBusinessCase(event.business_case, event.reason)
        case CostsReported():
            return ReportCosts(event.period, (*event.costs, *event.restated), event.source,
                               restate=bool(event.restated), reason=event.reason,
                               received_on=event.received_on)
        case ParticipantErased():
            return EraseParticipant(event.pseudonym, event.reason)
        case _:
            assert_never(event)


def _scheme(source: Source | None) -> int:
    """The signature scheme a stored return was decided by: a signature without a
    sequence was recorded under scheme 1 (the file's SHA-256 alone), and verifies so."""
    if source is not None and source.signature and source.sequence is None:
        return RETURN_SCHEME_DIGEST
    return RETURN_SCHEME_STATEMENT


def _shown(value: object) -> str:
    text = _encoder.encode(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."


def _difference(stored: AnyEvent, decided: tuple[AnyEvent, ...]) -> str:
    """How the decision differs from the stored event, in words."""
    if not decided:
        return "the rules record nothing for it (what it records is already recorded)"
    if len(decided) > 1 or type(decided[0]) is not type(stored):
        return (f"the rules record {', '.join(type_name(e) for e in decided)} for it, not "
                f"{type_name(stored)}")
    want = decided[0]
    return "; ".join(f"{k} is {_shown(getattr(stored, k))}, the rules record "
                     f"{_shown(getattr(want, k))}" for k in stored.__struct_fields__
                     if getattr(stored, k) != getattr(want, k))


def refusal(error: LedgerError) -> str:
    """A refusal as a finding says it: each problem's field and message, or the words."""
    if isinstance(error, InvalidInput):
        return "; ".join(f"{p.field}: {p.message}" for p in error.problems)
    return str(error)


@dataclass
class StreamRules:
    """One contract stream's events, fed in stream order: each checked, then folded."""

    rules: bool = True  # False: decode only (the events, for a replay)
    state: ContractState | None = None
    violations: list[Violation] = field(default_factory=list)
    checked: int = 0
    #: Set once an event cannot be decoded or folded: the state of the contract after
    #: it is unknown, so its later events cannot be judged (and are not).
    stopped: bool = False
    _payable: Cumulative = field(default_factory=Cumulative)
    _folding: InPlace | None = None  # ``state``, folded in place (this checker's own)

    def add(self, position: int, version: int, topic: str, data: bytes) -> AnyEvent | None:
        """Check one stored event against the state before it and fold it in; the event,
        or None when it does not decode or the stream stopped before it."""
        if self.stopped:
            return None
        try:
            event = codec.decode(topic, data)
        except codec.DecodeError as e:
            contract = self.state.reference if self.state is not None else "?"
            self._stop(position, contract, version, topic, f"does not decode ({e})")
            return None
        folding = self._folding
        if folding is None:
            folding = self._folding = InPlace(ContractState(event.contract))
        state = folding.state
        if topic in codec.CURRENT_TOPICS and _TOPICS[type(event)] != topic:
            self._found(position, state.reference, version, type_name(event),
                        f"stored under topic {topic!r}, but it is a {_TOPICS[type(event)]}")
        if not self.rules:
            self.state = state
            return event
        self.checked += 1
        rule = self._judge(state, event)
        if rule is not None:
            self._found(position, state.reference, version, type_name(event), rule)
        try:
            # Folded even when refused: the later events were decided against a ledger
            # holding it, so they are judged against that ledger (one finding, not a
            # cascade). The state is this checker's own: folded in place, not copied.
            self.state = folding.add(event, "")
        except Exception as e:  # stored data must never crash the verifier
            self._stop(position, state.reference, version, type_name(event),
                       f"cannot be folded into the contract ({type(e).__name__}: {e})")
            return event
        try:
            self._payable.follow(self.state, event)
        except Exception:  # (a period the rules refused): payment runs computed whole
            self._payable = Cumulative(whole=True)
        return event

    def _judge(self, state: ContractState, event: AnyEvent) -> str | None:
        """None when the decider, given ``state``, records exactly ``event``."""
        try:
            decided = decide(state, command_of(event),
                             Meta(event.recorded_at, event.recorded_by, event.key_id),
                             payable=self._payable, advise=False).events
            # An authenticated actor's signature, checked against the keys of the terms
            # the event was decided against (an agreement's own).
            forged = None if event.key_id is None and event.signature is None else (
                signature_problem(event.terms if isinstance(event, ContractAgreed)
                                  else state.current_terms, event))
        except LedgerError as e:
            return refusal(e)
        except Exception as e:  # a poisoned history: reported, not raised
            return f"the rules cannot be applied to it ({type(e).__name__}: {e})"
        if forged is not None:
            return forged
        # The chain link is the chain's to check (and the decider leaves it to the store),
        # the signature checked above (the store signs what the decider decides).
        link, signature = event.prev_hash, event.signature
        if len(decided) == 1 and msgspec.structs.replace(
                decided[0], prev_hash=link, signature=signature) == event:
            return None  # (the verdict on almost every event: decided without a tuple)
        return _difference(event, tuple(msgspec.structs.replace(
            e, prev_hash=link, signature=signature) for e in decided))

    def _found(self, position: int, contract: str, version: int, kind: str,
               rule: str) -> None:
        self.violations.append(Violation(position, contract, version, kind, rule))

    def _stop(self, position: int, contract: str, version: int, kind: str,
              what: str) -> None:
        self.stopped = True
        self._found(position, contract, version, kind,
                    f"{what}; the contract's later events are not checked")


__all__ = ["StreamRules", "Violation", "command_of"]
