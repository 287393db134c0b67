"""What the payment arithmetic produces: a schedule of period payments, their lines and
the steps of each line's derivation (``payments explain``), with the words and event
references every step is written with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from msgspec import Struct

from ..contract.records import CostRecord, FigureRecord
from ..contract.state import ContractState
from ..money import ZERO, fmt

# Steps, lines and period payments are frozen msgspec Structs rather than dataclasses:
# a schedule makes a few per outcome per period, and a replay computes every schedule,
# so their construction cost counts (a Struct is built several times faster).


class Step(Struct, frozen=True, gc=False):
    """One step of a derivation, tied to the events that caused it."""

    label: str
    detail: str
    amount: Decimal | None = None
    refs: tuple[str, ...] = ()


def amount_text(amount: Decimal) -> str:
    """:func:`outcomeledger.domain.money.fmt`, with the common case (not zero) first."""
    return format(amount, "f") if amount else fmt(amount)


def event_refs(records: Iterable[FigureRecord | CostRecord]) -> tuple[str, ...]:
    """The events behind ``records``, each once, in stream order (``v3``, ``v12``)."""
    return tuple([f"v{v}" for v in sorted({r.recorded.version for r in records})])


class OutcomeLine(Struct, frozen=True, gc=False):
    outcome: str
    name: str
    units: Decimal
    paid_units: Decimal
    earned: Decimal
    above_cap: Decimal
    payable: Decimal
    steps: tuple[Step, ...]
    business_case: str = ""  # the business case whose outcome this is (DESIGN 11)


class PeriodAmounts(Struct, frozen=True, gc=False):
    """One period's money, step by step (the report's payment rows have the same)."""

    period: str
    earned: Decimal
    above_cap: Decimal
    adjustments: Decimal
    fees: Decimal
    retained: Decimal
    payable: Decimal
    cumulative_payable: Decimal
    certified: Decimal
    true_up: Decimal


class PeriodPayment(PeriodAmounts, frozen=True, gc=False):
    terms_in_force: str
    lines: tuple[OutcomeLine, ...]
    other: tuple[Step, ...]


@dataclass(frozen=True)
class Schedule:
    contract: str
    currency: str
    max_value: Decimal | None
    periods: tuple[PeriodPayment, ...]
    certified_total: Decimal

    def total(self, name: str) -> Decimal:
        return sum((getattr(p, name) for p in self.periods), ZERO)

    @property
    def headroom(self) -> Decimal | None:
        """What the contract cap still allows for outcome payments."""
        if self.max_value is None:
            return None
        paid_outcomes = self.total("earned") - self.total("above_cap")
        return self.max_value - paid_outcomes

    def period(self, period_id: str) -> PeriodPayment | None:
        for p in self.periods:
            if p.period == period_id:
                return p
        return None


def as_at(schedule: Schedule, state: ContractState, day: date) -> Schedule:
    """``schedule`` as the contract stood on business date ``day`` (``--as-at``): the
    periods begun by then, their totals and certifications, under the contract cap in
    force that day. Later periods are dropped whole; a period's own figures are never cut
    (a payment is computed per period)."""
    periods = tuple(p for p in schedule.periods if state.period(p.period).start <= day)
    return Schedule(schedule.contract, schedule.currency, state.terms_on(day).max_value,
                    periods, sum((p.certified for p in periods), ZERO))
