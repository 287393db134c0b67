"""What every read model is made of: row types, tables, and the views they fold from.

A projection is a pure function of the event sequence. Two shapes exist:

* contract projections: rows of one contract, a function of that contract's stream
  (a :class:`ContractView`); the projector recomputes a contract's rows whenever a
  batch touches it (delete + insert), so catch-up and full replay agree exactly;
* event projections: one row per event, a function of the event alone.

Row types are msgspec Structs: the SQL columns and the published JSON Schema are both
generated from them, so code and documentation cannot drift. Cells are text, integers
or booleans only: money is fixed-point text at the currency's minor unit, never REAL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from ..domain.contract.state import ContractState
from ..domain.events import AnyEvent
from ..domain.money import ROUNDING, ZERO, fmt, minor_unit
from ..domain.payments.mechanism import schedule_periods
from ..domain.periods import Period, period_containing, periods_between
from ..domain.terms import ContractTerms

_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"

# ``extra["kind"]`` names the kind of value for projections/README.md; the JSON Schema
# carries the pattern or format a downstream validator can check.

#: Money: fixed-point decimal text at the currency's minor unit (``"2629000.00"``).
Money = Annotated[str, Meta(pattern=_DECIMAL, extra={"kind": "money"})]
#: A quantity (units, counts, rates): plain decimal text, never exponent notation.
Quantity = Annotated[str, Meta(pattern=_DECIMAL, extra={"kind": "decimal"})]
#: A UTC timestamp exactly as events write it (``"2017-12-01T10:00:00Z"``).
Timestamp = Annotated[str, Meta(extra_json_schema={"format": "date-time"},
                                extra={"kind": "timestamp"})]
#: An ISO date (``"2020-10-01"``).
Day = Annotated[str, Meta(extra_json_schema={"format": "date"}, extra={"kind": "date"})]
#: A SHA-256 hex digest.
Sha256 = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$", extra={"kind": "sha256"})]
#: Canonical JSON text (sorted keys, decimals as strings).
JsonText = Annotated[str, Meta(extra_json_schema={"contentMediaType": "application/json"},
                               extra={"kind": "json"})]
#: The key column every contract read model starts with.
Contract = Annotated[str, Meta(description="Contract reference.")]
#: A canonical period id.
PeriodId = Annotated[str, Meta(description="Period id (`2025-04` or `FY2025-Q1`).")]


class Row(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every projection row type."""


@dataclass(frozen=True, slots=True)
class Table:
    """One SQL table ``proj_<name>`` of a projection, with its row type and key."""

    name: str
    row: type[Row]
    key: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.row.__struct_fields__


#: One stored event as the projector reads it, a plain tuple to keep the hot loop lean:
#: (position, stream id as uuid hex, stream version, topic, stored bytes).
RawEvent = tuple[int, str, int, str, bytes]


class ContractView:
    """A contract's stream folded up to some position, with each event's position.

    It also caches what several read models ask of the same contract (its periods and
    the terms in force for each), so a contract's rows cost one pass, not one per model.
    """

    def __init__(self, state: ContractState, events: tuple[AnyEvent, ...],
                 positions: tuple[int, ...]) -> None:
        self.state = state
        self.events = events
        self.positions = positions  # positions[v - 1] is the position of stream version v
        self._terms: dict[date, ContractTerms] = {}

    @property
    def reference(self) -> str:
        return self.state.reference

    def position_of(self, version: int) -> int:
        return self.positions[version - 1]

    @cached_property
    def periods(self) -> tuple[tuple[Period, str], ...]:
        """(period, id) of every period the read models cover (see :func:`periods_of`)."""
        return tuple((p, p.id) for p in periods_of(self.state))

    def terms_for(self, period: Period) -> ContractTerms:
        terms = self._terms.get(period.start)
        if terms is None:
            terms = self._terms[period.start] = self.state.terms_for(period)
        return terms


ContractRows = Callable[[ContractView], Sequence[Sequence[Row]]]
EventRows = Callable[[Sequence[RawEvent]], Sequence[Row]]


@dataclass(frozen=True, slots=True)
class Projection:
    """A read model: its tables and the pure function producing their rows.

    ``contract_rows`` returns one sequence of rows per table, in table order;
    ``event_rows`` returns the rows of one table for a batch of events.
    """

    name: str
    tables: tuple[Table, ...]
    scope: Literal["contract", "event"]
    contract_rows: ContractRows | None = None
    event_rows: EventRows | None = None

    @property
    def tracking_name(self) -> str:
        return f"proj_{self.name}"

    def tables_of(self, view: ContractView) -> Iterator[tuple[Table, Sequence[Row]]]:
        """Each table of a contract-scope read model with its rows for one contract."""
        assert self.contract_rows is not None
        return zip(self.tables, self.contract_rows(view), strict=True)


# -- cell formatting: one rule per kind of value, shared by every projection ----------

_json = msgspec.json.Encoder(order="sorted", decimal_format="string")


_quanta: dict[str, Decimal] = {}
_zeros: dict[str, str] = {}


def money(amount: Decimal, currency: str) -> str:
    """Exactly :func:`outcomeledger.domain.money.fmt_money`, with the minor unit looked up once
    per currency: replays format millions of amounts."""
    quantum = _quanta.get(currency)
    if quantum is None:
        quantum = _quanta[currency] = minor_unit(currency)
        _zeros[currency] = fmt(ZERO.quantize(quantum))
    if not amount:  # zero, or minus zero: most amounts of a schedule
        return _zeros[currency]
    rounded = amount.quantize(quantum, ROUNDING)
    # A zero, negative or not, prints as the currency's zero (fmt never prints "-0.00").
    return format(rounded, "f") if rounded else _zeros[currency]


def money_or_none(amount: Decimal | None, currency: str) -> str | None:
    return None if amount is None else money(amount, currency)


def quantity(value: Decimal) -> str:
    """Exactly :func:`outcomeledger.domain.money.fmt`."""
    return format(value, "f") if value else fmt(value)


def quantity_or_none(value: Decimal | None) -> str | None:
    return None if value is None else quantity(value)


# Timestamps repeat (a return, its validation and its payment run share one), and a
# replay formats one or two per row: each distinct moment is encoded once.
# Keyed with the UTC offset too: equal instants in different offsets are written apart.
_timestamps: dict[tuple[datetime, timedelta | None], str] = {}


def timestamp(moment: datetime) -> str:
    """A UTC timestamp exactly as the event JSON writes it (``2017-12-01T10:00:00Z``)."""
    key = (moment, moment.utcoffset())
    text = _timestamps.get(key)
    if text is None:
        if len(_timestamps) >= 65536:
            _timestamps.clear()
        text = _timestamps[key] = msgspec.json.decode(_json.encode(moment))
    return text


def day(value: date) -> str:
    return value.isoformat()


def canonical_json(value: Any) -> str:
    """Sorted-key JSON with decimals as strings: the same encoding events are stored in."""
    return _json.encode(value).decode()


def periods_of(state: ContractState) -> list[Period]:
    """The periods a contract's read models cover: from the one containing its start
    through the end of its claims window (as varied) or its last activity, if later."""
    terms = state.base_terms
    last = period_containing(state.current_terms.last_claim_date, terms.cadence)
    activity = schedule_periods(state)
    if activity and activity[-1] > last:
        last = activity[-1]
    return periods_between(terms.start, last.end, terms.cadence)
