"""The audit trail in words: who did what, when, why, from which file (``audit log``).

Pure functions over decoded events and contract states; the CLI feeds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, assert_never

import msgspec

from ..domain.codec import LedgerEvent
from ..domain.contract.state import ContractState
from ..domain.events import (
    GENESIS,
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
)
from ..domain.money import fmt
from ..domain.programme.events import (
    AnyProgrammeEvent,
    ProgrammeAgreed,
    ProgrammeDrawn,
    ProgrammeVaried,
)
from ..domain.registry.events import ActorsRegistered
from ..domain.terms import ContractTerms
from ..domain.variations import apply_variation


@dataclass(frozen=True, slots=True)
class LogEntry:
    position: int
    contract: str
    version: int
    recorded_at: datetime
    recorded_by: str
    type: str
    what: str
    why: str
    file: str
    hash: str
    #: The source file's name and full SHA-256 (empty: the event came from no file).
    file_name: str = ""
    file_sha256: str = ""
    #: The previous event's hash in the stream (64 zeros for the first event: stored
    #: events omit the field then, as its default).
    prev_hash: str = GENESIS


def _value(v: Any) -> str:
    if isinstance(v, dict | list):
        return msgspec.json.encode(v, order="sorted").decode()
    return "-" if v is None else str(v)


#: The lists of the terms whose items have a key of their own: a change names the item and
#: its changed keys (``provider CN: added (Code Northshire CIC)``, ``provider P2.left: - →
#: 2020-11-30``), as outcomes are named by code, not the whole list before and after.
_KEYED = {"providers": ("provider", "id"), "payers": ("payer", "id"),
          "fees": ("fee", "code"), "kpis": ("KPI", "code"),
          "social_value": ("social value", "code"), "actors": ("actor", "name"),
          "extensions": ("extension", "id"), "breaks": ("break", "id")}


def _keyed_diff(key: str, old: list[dict[str, Any]], new: list[dict[str, Any]]
                ) -> list[str]:
    noun, ident = _KEYED[key]
    before = {item.get(ident): item for item in old}
    after = {item.get(ident): item for item in new}
    lines = [f"{noun} {name}: removed" for name in before if name not in after]
    for name, item in after.items():
        was = before.get(name)
        if was is None:
            label = item.get("name")
            lines.append(f"{noun} {name}: added" + (f" ({label})" if label and label != name
                                                     else ""))
            continue
        lines += [f"{noun} {name}.{field}: {_value(was.get(field))} → "
                  f"{_value(item.get(field))}" for field in sorted(set(was) | set(item))
                  if was.get(field) != item.get(field)]
    return lines


def diff_terms(before: ContractTerms, after: ContractTerms) -> list[str]:
    """Human-readable ``field: old → new`` lines between two versions of the terms."""
    old: dict[str, Any] = msgspec.to_builtins(before)
    new: dict[str, Any] = msgspec.to_builtins(after)
    lines = []
    for key in sorted(set(old) | set(new)):
        if key == "outcomes":
            continue
        if old.get(key) == new.get(key):
            continue
        if key in _KEYED:
            lines += _keyed_diff(key, old.get(key) or [], new.get(key) or [])
        else:
            lines.append(f"{key}: {_value(old.get(key))} → {_value(new.get(key))}")
    old_o = {o["code"]: o for o in old.get("outcomes", [])}
    new_o = {o["code"]: o for o in new.get("outcomes", [])}
    for code in old_o.keys() - new_o.keys():
        lines.append(f"outcome {code}: retired")
    for code in new_o.keys() - old_o.keys():
        lines.append(f"outcome {code}: added ({new_o[code].get('name')})")
    for code in sorted(old_o.keys() & new_o.keys()):
        a, b = old_o[code], new_o[code]
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                lines.append(f"{code}.{key}: {_value(a.get(key))} → {_value(b.get(key))}")
    return lines


def describe(event: AnyEvent, before: ContractState) -> str:
    """What an event did, in one line, given the contract state just before it."""
    match event:
        case ContractAgreed():
            t = event.terms
            cap = f"cap {fmt(t.max_value)}" if t.max_value is not None else "no contract cap"
            return (f"agreed: {len(t.outcomes)} outcomes, {cap}, term {t.start}..{t.end}, "
                    f"{t.cadence}ly")
        case ContractVaried():
            in_force = before.terms_on(event.effective_from)
            changes = diff_terms(in_force, apply_variation(in_force, event.variation))
            return f"varied from {event.effective_from}: " + ("; ".join(changes) or "no change")
        case ReturnSubmitted():
            who = f" from {event.provider}" if event.provider else ""
            late = " (late)" if event.late else ""
            return f"return {event.period}{who}: {len(event.figures)} figure(s){late}"
        case ReturnRestated():
            parts = [f"{n.outcome}{' ' + n.participant if n.participant else ''} "
                     f"{fmt(o.value)} → {fmt(n.value)}"
                     for n, o in zip(event.figures, event.originals, strict=True)]
            return f"restated {event.period}: " + "; ".join(parts)
        case ReturnValidated():
            return f"validated the {event.period} return"
        case ReturnRejected():
            return f"rejected the {event.period} return"
        case RewardAdjusted():
            return f"{event.kind} {fmt(event.amount)} in {event.period}"
        case PaymentCertified():
            true_up = f" (true-up {fmt(event.true_up)})" if event.true_up else ""
            above = (f" ({fmt(event.above_budget)} above programme {event.programme}'s "
                     "budget)" if event.above_budget else "")
            return f"certified {fmt(event.amount)} through {event.period}{true_up}{above}"
        case ContractExtended():
            return (f"extended by option {event.option} (judged on {event.decided_on}): "
                    f"end {before.current_terms.end} → {event.end}")
        case ContractBroken():
            return (f"broken by option {event.option} (judged on {event.decided_on}): "
                    f"closed on {event.closed_on}")
        case ContractClosed():
            return f"closed on {event.closed_on}"
        case ParticipantErased():
            return (f"participant {event.pseudonym} erased: the link to the person is "
                    "destroyed; the figures stay")
        case BusinessCaseApproved():
            case = event.business_case
            return (f"business case {case.id} approved from {case.effective}: budget "
                    f"{fmt(case.budget)}, outcomes {', '.join(o.code for o in case.outcomes)}")
        case CostsReported():
            parts = [f"{c.category} {fmt(c.amount)}" for c in event.costs] + [
                f"{n.category} {fmt(o.amount)} → {fmt(n.amount)}"
                for n, o in zip(event.restated, event.originals, strict=True)]
            late = " (late)" if event.late else ""
            return f"costs {event.period}{late}: " + "; ".join(parts)
        case _:
            assert_never(event)


def describe_programme(event: AnyProgrammeEvent) -> str:
    """What a programme event did, in one line."""
    match event:
        case ProgrammeAgreed():
            t = event.terms
            return (f"programme agreed: budget {fmt(t.budget)} {t.currency}, "
                    f"{len(t.funders)} funder(s), {t.start}..{t.end}")
        case ProgrammeVaried():
            changed = ", ".join(f for f in event.variation.__struct_fields__
                                if getattr(event.variation, f) is not msgspec.UNSET)
            return f"programme varied from {event.effective_from}: {changed}"
        case ProgrammeDrawn():
            above = (f", {fmt(event.above_budget)} above budget" if event.above_budget
                     else "")
            return (f"drew {fmt(event.amount)} for {event.contract} {event.period} "
                    f"(certified total {fmt(event.drawn_total)}{above})")
        case _:
            assert_never(event)


def describe_registration(event: ActorsRegistered) -> str:
    """What a registration of the actor registry did, in one line (names and roles; the
    keys are in the event)."""
    listed = ", ".join(f"{a.name} ({a.role})" for a in event.actors)
    return f"actor registry set to {len(event.actors)} actor(s): {listed}"


def source_of(event: LedgerEvent) -> str:
    source = getattr(event, "source", None)
    if source is None:
        return ""
    return f"{source.file} sha256:{source.sha256[:12]}"


def source_fields(event: LedgerEvent) -> tuple[str, str]:
    """(file name, full SHA-256) of the file an event came from; empty strings: none."""
    source = getattr(event, "source", None)
    return ("", "") if source is None else (source.file, source.sha256)
