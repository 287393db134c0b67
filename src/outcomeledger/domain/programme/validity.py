"""Validity of programme streams (DESIGN 10): every programme event decided again, and
every payment run of a contract in a programme matched with its draw.

The contract streams' rules (:mod:`..contract.validity`) judge each payment run against
its own contract; what they cannot see is the programme: that the budget really had only
the headroom a capped run claims, that the draw's totals follow, and that each run and
its draw were written together. Fed in global order: the programme streams' events and
the contracts' ``PaymentCertified`` events that name a programme. Pure, as the contract
rules are: nothing in stored data makes this raise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from .. import codec
from ..commands import Meta
from ..contract.validity import Violation
from ..errors import LedgerError
from ..events import PaymentCertified, topic_of
from ..money import quantize
from .decide import AgreeProgramme, VaryProgramme, decide_programme
from .events import AnyProgrammeEvent, ProgrammeAgreed, ProgrammeDrawn, ProgrammeVaried
from .state import ProgrammeState, evolve_programme

#: The contract events these rules read (the runs, for their draws).
CERTIFIED_TOPIC = topic_of(PaymentCertified)
#: Bytes every run naming a programme holds (source.programme_rows selects on them too).
_PROGRAMME_KEY = b'"programme":'


@dataclass
class ProgrammeRules:
    states: dict[str, ProgrammeState] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    checked: int = 0
    _run: tuple[int, int, PaymentCertified] | None = None  # a run waiting for its draw

    def add(self, position: int, version: int, topic: str, data: bytes) -> None:
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

    def _judge(self, state: ProgrammeState, position: int,
               event: AnyProgrammeEvent) -> str | None:
        meta = Meta(event.recorded_at, event.recorded_by)
        try:
            match event:
                case ProgrammeAgreed():
                    decided = decide_programme(state, AgreeProgramme(event.terms, event.reason),
                                               meta)
                case ProgrammeVaried():
                    decided = decide_programme(state, VaryProgramme(
                        event.variation, event.effective_from, event.reason), meta)
                case ProgrammeDrawn():
                    return self._draw(state, position, event)
        except LedgerError as e:
            return str(e)
        except Exception as e:  # a poisoned history: reported, not raised
            return f"the rules cannot be applied to it ({type(e).__name__}: {e})"
        if msgspec.structs.replace(decided, prev_hash=event.prev_hash) != event:
            return "the rules record a different event for it"
        return None

    def _draw(self, state: ProgrammeState, position: int, event: ProgrammeDrawn) -> str | None:
        run, self._run = self._run, None
        if not state.exists:
            return f"a draw on programme {event.programme!r}, which has not been agreed"
        if run is None or run[0] != position - 1:
            return "a draw with no payment run written with it"
        certified = run[2]
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
