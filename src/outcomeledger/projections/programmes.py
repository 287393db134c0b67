"""Read models of programmes (DESIGN 10): every draw on a programme's budget, and each
funder's part of it.

Event read models (one row per ``ProgrammeDrawn``, a function of the event alone: a
draw records the budget it was drawn against, so each row reads whole). A downstream
system sums ``amount_minor`` by programme, contract or funder, and reads a programme's
latest ``drawn_total`` and ``headroom`` from its last row.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated

from msgspec import Meta

from ..domain import codec
from ..domain.money import fmt
from ..domain.programme.events import ProgrammeDrawn
from .base import Money, PeriodId, Projection, RawEvent, Row, Table, Timestamp, timestamp

Position = Annotated[int, Meta(description="Global position of the `ProgrammeDrawn` event "
                               "(the payment run it draws for is the position before).",
                               ge=1)]
Programme = Annotated[str, Meta(description="Programme reference.")]


class DrawRow(Row, frozen=True, kw_only=True):
    """One payment run's draw on its programme."""

    position: Position
    programme: Programme
    contract: Annotated[str, Meta(description="The contract whose payment run drew.")]
    period: PeriodId
    recorded_at: Annotated[Timestamp, Meta(description="When the run was recorded (UTC).")]
    amount: Annotated[Money, Meta(
        description="What the run certified and drew (negative: money given back to the "
        "budget).")]
    above_budget: Annotated[Money, Meta(
        description="What the run owed that the budget could not pay (owed again at its "
        "next run).")]
    drawn_total: Annotated[Money, Meta(
        description="The programme's certified total after this draw.")]
    budget: Annotated[Money, Meta(description="The budget in force when it was drawn.")]
    headroom: Annotated[Money, Meta(
        description="What the budget could still pay after this draw (never below 0).")]


class FunderDrawRow(Row, frozen=True, kw_only=True):
    """One funder's part of one draw."""

    position: Position
    funder: Annotated[str, Meta(description="The funder's id.")]
    programme: Programme
    contract: Annotated[str, Meta(description="The contract whose payment run drew.")]
    period: PeriodId
    amount: Annotated[Money, Meta(description="The funder's part of the draw.")]
    split: Annotated[str, Meta(description=(
        "`commitments` (in proportion to the funders' commitments, cumulatively) or "
        "`payers` (by the contract's payer shares)."))]


DRAWS = Table("proj_programme_draws", DrawRow, ("position",))
FUNDER_DRAWS = Table("proj_programme_funder_draws", FunderDrawRow, ("position", "funder"))


def _draws(events: Sequence[RawEvent]) -> list[tuple[int, ProgrammeDrawn]]:
    drawn_topic = codec.programme_topic_of_drawn
    out = []
    for position, _stream, _version, topic, state in events:
        if topic == drawn_topic:
            event = codec.decode_programme(topic, state)
            assert isinstance(event, ProgrammeDrawn)
            out.append((position, event))
    return out


def draw_rows(events: Sequence[RawEvent]) -> list[Row]:
    return [DrawRow(position=position, programme=d.programme, contract=d.contract,
                    period=d.period, recorded_at=timestamp(d.recorded_at),
                    amount=fmt(d.amount), above_budget=fmt(d.above_budget),
                    drawn_total=fmt(d.drawn_total), budget=fmt(d.budget),
                    headroom=fmt(_headroom(d)))
            for position, d in _draws(events)]


def _headroom(d: ProgrammeDrawn) -> Decimal:
    left = d.budget - d.drawn_total
    return left if left >= 0 else left * 0  # 0 at the budget's exponent ("0.00")


def funder_rows(events: Sequence[RawEvent]) -> list[Row]:
    return [FunderDrawRow(position=position, funder=f.id, programme=d.programme,
                          contract=d.contract, period=d.period, amount=fmt(f.amount),
                          split=d.split)
            for position, d in _draws(events) for f in d.funders]


DRAWS_PROJECTION = Projection("programme_draws", (DRAWS,), "event", event_rows=draw_rows)
FUNDER_DRAWS_PROJECTION = Projection("programme_funder_draws", (FUNDER_DRAWS,), "event",
                                     event_rows=funder_rows)
