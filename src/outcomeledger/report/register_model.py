"""The report's record of what happened to a contract, as data: returns received and
missing, the restatement and clawback register, the variation log.

Part of the published JSON shape of ``report --format json`` (see :mod:`.model`, which
holds the rest of it), with the same conventions. Apart from it because these sections
are built together from the ledger's records (:mod:`.register`), not from the payment
or performance figures.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from msgspec import Struct

ReturnStatusName = Literal["received", "missing", "rejected"]


class ReturnRow(Struct, frozen=True):
    period: str
    provider: str
    status: ReturnStatusName
    late: bool
    validated: bool
    restatements: int
    first_recorded_at: datetime | None
    first_recorded_by: str | None


class Returns(Struct, frozen=True):
    expected_by: Literal["provider", "contract"]
    expected: int  # periods_expected + results_expected
    periods_expected: int  # returns due every period (the cadence)
    results_expected: int  # one result per improvement outcome in force
    results_awaited: tuple[str, ...]  # improvement outcomes with no result yet
    received: int
    missing: int
    late: int
    rejected: int
    rows: tuple[ReturnRow, ...]


class Restatement(Struct, frozen=True):
    event: str
    period: str
    provider: str
    outcome: str
    participant: str
    original: Decimal
    restated: Decimal
    difference: Decimal
    earned_difference: Decimal
    payable_through_period_change: Decimal
    cash_effect: Decimal
    cash_effect_note: str
    reason: str
    recorded_by: str
    recorded_at: datetime
    evidence: str


class Adjustment(Struct, frozen=True):
    event: str
    period: str
    kind: str
    amount: Decimal
    reason: str
    recorded_by: str
    recorded_at: datetime


class Register(Struct, frozen=True):
    restatements: tuple[Restatement, ...]
    adjustments: tuple[Adjustment, ...]


class VariationEntry(Struct, frozen=True):
    event: str
    effective_from: date
    in_force: bool
    recorded_at: datetime
    recorded_by: str
    reason: str
    changes: tuple[str, ...]
    payable_effect: Decimal
