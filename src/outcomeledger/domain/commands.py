"""Commands: what a person or system asks the ledger to do (imperatives)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .events import AdjustmentKind, Figure, Source
from .terms import ContractTerms, Variation


@dataclass(frozen=True, slots=True)
class Meta:
    """Who is acting and when: passed in, so the domain never reads the clock."""

    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True, slots=True)
class AgreeContract:
    terms: ContractTerms
    reason: str = "contract agreed"


@dataclass(frozen=True, slots=True)
class VaryContract:
    variation: Variation
    effective_from: date
    reason: str
    source: str = "variation"


@dataclass(frozen=True, slots=True)
class SubmitReturn:
    """All figures of one (period, provider) in one import."""

    period: str
    provider: str
    figures: tuple[Figure, ...]
    source: Source | None = None
    restate: bool = False
    reason: str = ""
    received_on: date | None = None  # when the return was received, if not today


@dataclass(frozen=True, slots=True)
class ValidateReturn:
    period: str
    provider: str
    reason: str = "validated"


@dataclass(frozen=True, slots=True)
class RejectReturn:
    period: str
    provider: str
    reason: str


@dataclass(frozen=True, slots=True)
class AdjustReward:
    period: str
    kind: AdjustmentKind
    amount: Decimal
    reason: str
    source: Source | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class CertifyPayment:
    period: str
    reason: str = "payment run"


@dataclass(frozen=True, slots=True)
class CloseContract:
    closed_on: date
    reason: str


Command = (
    AgreeContract | VaryContract | SubmitReturn | ValidateReturn | RejectReturn
    | AdjustReward | CertifyPayment | CloseContract
)
