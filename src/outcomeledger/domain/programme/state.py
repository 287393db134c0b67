"""A programme's state: the fold of its stream (terms as varied, every draw)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import assert_never

from ..events import GENESIS
from .events import AnyProgrammeEvent, ProgrammeAgreed, ProgrammeDrawn, ProgrammeVaried
from .terms import ProgrammeTerms, ProgrammeVariation, apply_programme_variation


@dataclass(frozen=True, slots=True)
class DrawRecord:
    contract: str
    period: str
    amount: Decimal
    above_budget: Decimal
    drawn_total: Decimal
    funders: tuple[tuple[str, Decimal], ...]
    split: str
    recorded_at: datetime
    recorded_by: str
    version: int


@dataclass(frozen=True, slots=True)
class ProgrammeVariationRecord:
    effective_from: date
    variation: ProgrammeVariation
    reason: str
    recorded_at: datetime
    recorded_by: str
    version: int


@dataclass
class ProgrammeState:
    reference: str
    agreed: ProgrammeAgreed | None = None
    variations: list[ProgrammeVariationRecord] = field(default_factory=list)
    draws: list[DrawRecord] = field(default_factory=list)
    version: int = 0
    head_hash: str = GENESIS

    @property
    def exists(self) -> bool:
        return self.agreed is not None

    @property
    def base_terms(self) -> ProgrammeTerms:
        assert self.agreed is not None, "programme not agreed"
        return self.agreed.terms

    @property
    def terms(self) -> ProgrammeTerms:
        """The terms with every variation applied, in the order recorded: the budget a
        payment run draws against is the one in force when it is certified."""
        terms = self.base_terms
        for record in self.variations:
            terms = apply_programme_variation(terms, record.variation)
        return terms

    @property
    def drawn_total(self) -> Decimal:
        return self.draws[-1].drawn_total if self.draws else Decimal(0)

    @property
    def headroom(self) -> Decimal:
        """What the budget can still pay (never below 0: a budget varied down below what
        is already certified takes nothing back)."""
        return max(self.terms.budget - self.drawn_total, Decimal(0))

    def by_commitments(self) -> tuple[Decimal, dict[str, Decimal]]:
        """What the draws split by commitments add up to, in all and per funder."""
        total, parts = Decimal(0), dict[str, Decimal]()
        for record in self.draws:
            if record.split == "commitments":
                total += record.amount
                for fid, amount in record.funders:
                    parts[fid] = parts.get(fid, Decimal(0)) + amount
        return total, parts

    def last_draw(self, contract: str) -> DrawRecord | None:
        for record in reversed(self.draws):
            if record.contract == contract:
                return record
        return None


def evolve_programme(state: ProgrammeState, event: AnyProgrammeEvent,
                     event_hash: str) -> ProgrammeState:
    """Fold one event into ``state`` (in place: a programme's state is its caller's)."""
    version = state.version + 1
    match event:
        case ProgrammeAgreed():
            state.agreed = event
        case ProgrammeVaried():
            state.variations.append(ProgrammeVariationRecord(
                event.effective_from, event.variation, event.reason, event.recorded_at,
                event.recorded_by, version))
        case ProgrammeDrawn():
            state.draws.append(DrawRecord(
                event.contract, event.period, event.amount, event.above_budget,
                event.drawn_total, tuple((f.id, f.amount) for f in event.funders),
                event.split, event.recorded_at, event.recorded_by, version))
        case _:
            assert_never(event)
    state.version = version
    state.head_hash = event_hash
    return state


def fold_programme(reference: str, events: list[tuple[AnyProgrammeEvent, str]]
                   ) -> ProgrammeState:
    state = ProgrammeState(reference)
    for event, digest in events:
        evolve_programme(state, event, digest)
    return state
