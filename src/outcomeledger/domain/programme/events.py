"""The events of a programme stream (DESIGN 10), published and versioned as the contract
events are (:mod:`outcomeledger.domain.events`): stored topic ``<tag>/<version>``, a
``prev_hash`` chaining each to the one before it in the programme's stream.

A union of their own: every reader of a contract stream can rely on ``event.contract``,
and the readers of the whole ledger (the feed, the audit trail, the verifier) tell the
two kinds apart by topic (:func:`outcomeledger.domain.codec.is_programme_topic`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, Literal

from msgspec import Struct

from ..events import GENESIS
from .terms import ProgrammeTerms, ProgrammeVariation


class ProgrammeEvent(Struct, frozen=True, tag_field="type", tag=True, kw_only=True,
                     omit_defaults=True):
    VERSION: ClassVar[int] = 1

    programme: str
    recorded_at: datetime
    recorded_by: str
    reason: str = ""
    prev_hash: str = GENESIS
    # Signed (issue 21), omitted when unset so that every unsigned event keeps its bytes:
    # a programme agreed or varied on a keyed actor registry, by a registered
    # commissioner's key (domain/registry/rules.py); a draw made by a signed payment run,
    # by the certifying actor's key, over the draw's own canonical bytes (it is chained on
    # another stream than the run's signature covers). As a contract event's.
    key_id: str | None = None
    signature: str | None = None


class ProgrammeAgreed(ProgrammeEvent, frozen=True, kw_only=True):
    terms: ProgrammeTerms


class ProgrammeVaried(ProgrammeEvent, frozen=True, kw_only=True):
    effective_from: date
    variation: ProgrammeVariation


class FunderDraw(Struct, frozen=True, omit_defaults=True):
    """A funder's part of one draw."""

    id: str
    amount: Decimal


class ProgrammeDrawn(ProgrammeEvent, frozen=True, kw_only=True):
    """The programme's side of one payment run of a contract in it, written in the same
    transaction as the contract's ``PaymentCertified``: ``amount`` is what that run
    certified (negative when a correction gives money back to the budget),
    ``above_budget`` what the run owed that the budget could not pay, ``drawn_total``
    the programme's certified total after it, ``budget`` the budget it was drawn against
    (so a draw reads whole on its own: headroom after it is budget - drawn_total),
    ``funders`` who pays ``amount``."""

    contract: str
    period: str
    amount: Decimal
    above_budget: Decimal
    drawn_total: Decimal
    budget: Decimal
    funders: tuple[FunderDraw, ...] = ()
    #: How ``funders`` was split: by the funders' commitments (cumulatively, so each
    #: funder's total tracks its share), or by the contract's payer shares.
    split: Literal["commitments", "payers"] = "commitments"


AnyProgrammeEvent = ProgrammeAgreed | ProgrammeVaried | ProgrammeDrawn

PROGRAMME_EVENT_TYPES: tuple[type[ProgrammeEvent], ...] = (
    ProgrammeAgreed, ProgrammeVaried, ProgrammeDrawn)


def programme_topic_of(cls: type[ProgrammeEvent]) -> str:
    return f"{cls.__name__}/{cls.VERSION}"
