"""The records a contract state keeps of each fact: figures, returns, variations,
adjustments and certifications, each with the event that recorded it (``Recorded``).

Apart from :mod:`outcomeledger.domain.contract.state` because readers of the figures and
their provenance (payments, the report's registers) need these and not the fold.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from msgspec import Struct

from ..events import Cost, Figure, Source
from ..terms import BusinessCase
from ..variations import Variation

#: (period id, provider, outcome, participant)
FigureKey = tuple[str, str, str, str]
#: (period id, provider)
ReturnKey = tuple[str, str]
#: (period id, cost category)
CostKey = tuple[str, str]


# The records below are frozen msgspec Structs rather than dataclasses: a large import
# or a replay makes one per figure, and a Struct is built several times faster than a
# frozen dataclass (whose __init__ goes through object.__setattr__ field by field).
# They hold no reference cycles, so the cyclic garbage collector need not track them.


class Recorded(Struct, frozen=True, gc=False):
    """Provenance of a fact: the event that recorded it."""

    version: int  # position in the contract stream, 1-based
    recorded_at: datetime
    recorded_by: str
    reason: str

    @property
    def ref(self) -> str:
        return f"v{self.version}"


class FigureRecord(Struct, frozen=True, gc=False):
    figure: Figure
    recorded: Recorded
    source: Source | None
    history: tuple[tuple[Decimal, Recorded], ...] = ()  # earlier values, oldest first

    @property
    def value(self) -> Decimal:
        return self.figure.value


class CostRecord(Struct, frozen=True, gc=False):
    """A cost line as it stands (DESIGN 11): the latest amount of its category and period."""

    cost: Cost
    recorded: Recorded
    source: Source | None
    history: tuple[tuple[Decimal, Recorded], ...] = ()  # earlier amounts, oldest first

    @property
    def amount(self) -> Decimal:
        return self.cost.amount


class ReturnStatus(Struct, frozen=True, gc=False):
    submitted: tuple[Recorded, ...] = ()
    restated: tuple[Recorded, ...] = ()
    validated: Recorded | None = None
    rejected: Recorded | None = None
    late: bool = False


class VariationRecord(Struct, frozen=True, gc=False):
    effective_from: date
    variation: Variation
    recorded: Recorded


class OptionRecord(Struct, frozen=True, gc=False):
    """An extension or break option exercised (DESIGN 11): which, judged on which day."""

    option: str
    kind: Literal["extension", "break"]
    decided_on: date
    recorded: Recorded


class BusinessCaseRecord(Struct, frozen=True, gc=False):
    """A business case approved (DESIGN 11). Its outcomes join the terms as a variation
    adding them would (a ``VariationRecord`` of the same event, in ``variations``)."""

    business_case: BusinessCase
    recorded: Recorded


class AdjustmentRecord(Struct, frozen=True, gc=False):
    period: str
    kind: str
    amount: Decimal
    recorded: Recorded


class CertificationRecord(Struct, frozen=True, gc=False):
    period: str
    amount: Decimal
    cumulative_payable: Decimal
    true_up: Decimal
    recorded: Recorded
    above_budget: Decimal = Decimal(0)  # owed but past its programme's budget
