"""Counterfactuals (DESIGN 11): a contract as if some of its events had never been recorded.

"What did this variation, restatement or business case change?" is answered by folding
the contract's own stream again without those events and computing its schedule: the
events are named by their position in the stream (their version: ``v9`` in ``contract
show`` and ``payments explain``), and every other event is folded as it was recorded,
keeping its own version. Nothing is decided again: a later event that relied on a left-out
one (a restatement of a left-out return) is folded as recorded. Pure; nothing is written.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from ..errors import InvalidInput, Problem
from ..events import AnyEvent
from .state import ContractState, fold_without


def without(reference: str, events: Sequence[AnyEvent], positions: Collection[int],
            source: str = "--without") -> ContractState:
    """The state of contract ``reference`` from its stream ``events`` (in order), as if
    the events at ``positions`` (stream versions, from 1) had never been recorded.

    Refused, every problem at once: a position that is not this contract's, and the
    agreement itself (position 1: without it nothing would remain)."""
    count = len(events)
    problems = [Problem(source, None, "without", f"{reference} has no event at position "
                        f"{p} (its stream holds positions 1 to {count})")
                for p in sorted(positions) if not 1 <= p <= count]
    if 1 in positions:
        problems.append(Problem(source, None, "without", "position 1 is the agreement "
                                "itself: without it nothing would remain (expected 2 to "
                                f"{count})"))
    if problems:
        raise InvalidInput(problems)
    return fold_without(reference, events, positions)


def without_variation(state: ContractState, version: int) -> ContractState:
    """``without`` one ``ContractVaried`` event (at stream ``version``), from the state
    alone: a variation adds nothing to a state but its record, and the other events keep
    their versions, so the fold without it is the state without that record (the report's
    variation log asks this of every variation; tests check the two agree)."""
    return replace(state, variations=tuple(v for v in state.variations
                                           if v.recorded.version != version))
