"""Validity of programme streams (DESIGN 10): every programme event decided again, and
every payment run of a contract in a programme matched with its draw; and of the actor
registry's stream (issue 21), whose registrations are decided again too and against which
each programme event is authenticated, the registry as it stood when it was recorded.

The contract streams' rules (:mod:`..contract.validity`) judge each payment run against
its own contract; what they cannot see is the programme: that the budget really had only
the headroom a capped run claims, that the draw's totals follow, and that each run and
its draw were written together. Fed in global order: the programme streams' and the
registry's events, the contracts' ``PaymentCertified`` events that name a programme, and
the agreements and variations that declare actors' keys (a signed run's draw is signed
with the run's key, looked up by its id). Pure, as the contract rules are: nothing in
stored data makes this raise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from .. import codec
from ..actors import verified
from ..commands import Meta
from ..contract.validity import Violation, refusal
from ..errors import LedgerError
from ..events import ContractAgreed, ContractVaried, PaymentCertified, topic_of
from ..money import quantize
from ..registry.events import REGISTRY, ActorsRegistered
from ..registry.rules import (
    RegisterActors,
    RegistryState,
    decide_registry,
    evolve_registry,
    signature_problem,
)
from ..signing import key_index
from .decide import AgreeProgramme, VaryProgramme, decide_programme
from .events import AnyProgrammeEvent, ProgrammeAgreed, ProgrammeDrawn, ProgrammeVaried
from .state import ProgrammeState, evolve_programme

#: The contract events these rules read (the runs, for their draws).
CERTIFIED_TOPIC = topic_of(PaymentCertified)
#: ... and the terms that declare actors' keys (for the signatures of draws).
KEYS_TOPICS = frozenset((topic_of(ContractAgreed), topic_of(ContractVaried)))
#: Bytes every event declaring a key holds (source.programme_rows selects on them too).
KEY_MARKER = b'"public_key":'
#: Bytes every run naming a programme holds (source.programme_rows selects on them too).
_PROGRAMME_KEY = b'"programme":'


@dataclass
class ProgrammeRules:
    states: dict[str, ProgrammeState] = field(default_factory=dict)
    registry: RegistryState = field(default_factory=RegistryState)
    violations: list[Violation] = field(default_factory=list)
    checked: int = 0
    _run: tuple[int, int, PaymentCertified] | None = None  # a run waiting for its draw
    #: Key id -> public key of every actor key the contracts declared so far (an id is
    #: the key's own hash: the same key whichever contract declared it).
    _keys: dict[str, str] = field(default_factory=dict)

    def add(self, position: int, version: int, topic: str, data: bytes) -> None:
        if topic in KEYS_TOPICS:
            if KEY_MARKER in data:
                self._learn_keys(topic, data)
            return
        if codec.is_registry_topic(topic):
            self._unmatched()
            self._add_registry(position, version, topic, data)
            return
        if topic == CERTIFIED_TOPIC:
            self._unmatched()
            if _PROGRAMME_KEY not in data:
                return  # a run outside programmes: as the SQL feed of these rules skips it
            try:
                run = codec.decode(topic, data)
            except codec.DecodeError:
                return  # the contract's own rules report it
            if isinstance(run, PaymentCertified) and run.programme:
                self._run = (position, version, run)
            return
        if not codec.is_programme_topic(topic):
            return
        try:
            event = codec.decode_programme(topic, data)
        except codec.DecodeError as e:
            self._found(position, "programme:?", version, topic, f"does not decode ({e})")
            return
        if not isinstance(event, ProgrammeDrawn):
            self._unmatched()
        state = self.states.setdefault(event.programme, ProgrammeState(event.programme))
        self.checked += 1
        if (rule := self._judge(state, position, event)) is not None:
            self._found(position, "programme:" + event.programme, version,
                        type(event).__name__, rule)
        try:
            evolve_programme(state, event, codec.event_hash(data))
        except Exception as e:  # stored data must never crash the verifier
            self._found(position, "programme:" + event.programme, version,
                        type(event).__name__, f"cannot be folded ({type(e).__name__}: {e})")

    def finish(self) -> None:
        self._unmatched()

    def _learn_keys(self, topic: str, data: bytes) -> None:
        try:
            event = codec.decode(topic, data)
        except codec.DecodeError:
            return  # the contract's own rules report it
        actors = (event.terms.actors if isinstance(event, ContractAgreed) else
                  event.variation.actors if isinstance(event, ContractVaried) else ())
        self._keys.update(key_index(a.public_key for a in actors if a.public_key))

    def _add_registry(self, position: int, version: int, topic: str, data: bytes) -> None:
        """A registration, judged against the registry before it, then folded."""
        try:
            event = codec.decode_registry(topic, data)
        except codec.DecodeError as e:
            self._found(position, REGISTRY, version, topic, f"does not decode ({e})")
            return
        self.checked += 1
        before = self.registry
        try:
            decided = decide_registry(before, RegisterActors(event.actors, event.reason),
                                      Meta(event.recorded_at, event.recorded_by, event.key_id))
            rule = (signature_problem(before, event, "administrator") or
                    _differs(decided, event))
        except LedgerError as e:
            rule = refusal(e)
        except Exception as e:  # a poisoned history: reported, not raised
            rule = f"the rules cannot be applied to it ({type(e).__name__}: {e})"
        if rule is not None:
            self._found(position, REGISTRY, version, type(event).__name__, rule)
        # Folded even when refused, as a contract's events are: what came after was
        # decided against a ledger holding it (one finding, not a cascade).
        evolve_registry(before, event, codec.event_hash(data))

    def _judge(self, state: ProgrammeState, position: int,
               event: AnyProgrammeEvent) -> str | None:
        meta = Meta(event.recorded_at, event.recorded_by, event.key_id)
        try:
            match event:
                case ProgrammeAgreed():
                    decided = decide_programme(state, AgreeProgramme(event.terms, event.reason),
                                               meta, self.registry)
                case ProgrammeVaried():
                    decided = decide_programme(state, VaryProgramme(
                        event.variation, event.effective_from, event.reason), meta,
                        self.registry)
                case ProgrammeDrawn():
                    return self._draw(state, position, event)
        except LedgerError as e:
            return refusal(e)
        except Exception as e:  # a poisoned history: reported, not raised
            return f"the rules cannot be applied to it ({type(e).__name__}: {e})"
        # Signed by the key of a commissioner the registry held when it was recorded.
        return signature_problem(self.registry, event, "commissioner") or _differs(
            decided, event)

    def _draw(self, state: ProgrammeState, position: int, event: ProgrammeDrawn) -> str | None:
        run, self._run = self._run, None
        if not state.exists:
            return f"a draw on programme {event.programme!r}, which has not been agreed"
        if run is None or run[0] != position - 1:
            return "a draw with no payment run written with it"
        certified = run[2]
        if (why := self._draw_signature(certified, event)) is not None:
            return why
        if (certified.contract, certified.period, certified.amount,
                certified.above_budget or Decimal(0), certified.programme) != (
                event.contract, event.period, event.amount, event.above_budget,
                event.programme):
            return (f"the draw does not match the payment run at position {run[0]} "
                    f"({certified.contract} {certified.period} {certified.amount})")
        owed = event.amount + event.above_budget
        headroom = state.headroom
        expected = owed if owed <= headroom else max(headroom, Decimal(0))
        if event.amount != expected:
            return (f"draws {event.amount} of the {owed} owed, but the programme's headroom "
                    f"was {headroom}: the rules draw {expected}")
        if event.budget != quantize(state.terms.budget, state.terms.currency):
            return f"drawn against a budget of {event.budget}, but the budget was " \
                   f"{state.terms.budget}"
        if event.drawn_total != state.drawn_total + event.amount:
            return (f"drawn_total is {event.drawn_total}, the rules record "
                    f"{state.drawn_total + event.amount}")
        funders = {f.id for f in state.terms.funders}
        parts = sum((f.amount for f in event.funders), Decimal(0))
        if state.terms.funders and (parts != event.amount or
                                    any(f.id not in funders for f in event.funders)):
            return (f"the funders' parts ({parts}) are not the draw ({event.amount}) split "
                    "between the programme's funders")
        return None

    def _draw_signature(self, run: PaymentCertified, event: ProgrammeDrawn) -> str | None:
        """A draw is its run's, signed as it is: the same actor, time and reason, and,
        for a signed run, the same key over the draw's own bytes (the run's key is the
        contract's rules' to check against its terms)."""
        if (event.recorded_by, event.recorded_at, event.reason, event.key_id) != (
                run.recorded_by, run.recorded_at, run.reason, run.key_id):
            return (f"the draw does not record the payment run's actor, time, reason and key "
                    f"(run: {run.recorded_by!r}, key {run.key_id}; draw: "
                    f"{event.recorded_by!r}, key {event.key_id})")
        if event.key_id is not None and event.signature is None:
            return "signature: the payment run is signed, its draw is not"
        return verified(event, self._keys, "is not a key any contract declared")

    def _unmatched(self) -> None:
        """A payment run of a programme's contract whose draw did not follow it."""
        if self._run is not None:
            position, version, run = self._run
            self._found(position, run.contract, version, "PaymentCertified",
                        f"names programme {run.programme!r} but no draw on it was written "
                        "with it")
            self._run = None

    def _found(self, position: int, owner: str, version: int, kind: str, rule: str) -> None:
        self.violations.append(Violation(position, owner, version, kind, rule))


def _differs(decided: AnyProgrammeEvent | ActorsRegistered,
             event: AnyProgrammeEvent | ActorsRegistered) -> str | None:
    """None when the decision is the stored event, its chain link and signature aside
    (the chain's and the signature check's to judge)."""
    if msgspec.structs.replace(decided, prev_hash=event.prev_hash,
                               signature=event.signature) != event:
        return "the rules record a different event for it"
    return None
