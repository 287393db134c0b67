"""The programme report (DESIGN 10): a programme's budget, what each of its contracts has
earned, been certified and left above the budget, what it would pay at its targets, and
what each funder has been drawn for.

Built from the programme's state and its contracts' states: the same arithmetic as
``payments`` (nothing here computes money of its own: it adds up schedules and draws).
Laid out once as :class:`~.tables.Section` tables, which the text, CSV and HTML formats
all render; the JSON format is the model itself (``projections/report.schema.json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from msgspec import Struct

from ..domain.contract.state import ContractState
from ..domain.money import ZERO, quantize
from ..domain.payments.forecast import with_forecast
from ..domain.programme.state import ProgrammeState
from .model import FORMAT, FORMAT_VERSION, LedgerHead
from .tables import Section


class FunderLine(Struct, frozen=True):
    id: str
    name: str
    commitment: Decimal
    drawn: Decimal  # its parts of every draw so far
    remaining: Decimal  # commitment - drawn


class ProgrammeContractLine(Struct, frozen=True):
    reference: str
    title: str
    in_programme: bool  # its terms name the programme now (False: it left, keeping draws)
    earned: Decimal  # outcome payments earned to date, before caps
    payable: Decimal  # what the contract's own terms make payable to date
    certified: Decimal  # certified through this programme (the sum of its draws)
    above_budget: Decimal  # owed at its last run past the programme's budget
    last_certified: str  # the period of its last draw ("" if none)
    forecast_at_targets: Decimal  # payable over the whole term if every target is met


class ProgrammeReport(Struct, frozen=True, kw_only=True):
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    kind: Literal["programme"] = "programme"
    reference: str
    title: str
    currency: str
    start: str
    end: str
    budget: Decimal
    certified: Decimal
    above_budget: Decimal
    headroom: Decimal  # budget - certified, never below 0
    forecast_at_targets: Decimal  # the contracts' forecasts added up
    forecast_over_budget: Decimal  # how far that forecast passes the budget (0: within)
    draws: int
    funders: tuple[FunderLine, ...]
    contracts: tuple[ProgrammeContractLine, ...]
    as_of: str | None
    head: LedgerHead


class Member(Struct, frozen=True):
    """What the report needs of one contract: from its state (:func:`member_of`) or,
    live, from the read models that keep the same figures (``proj_contract_state``,
    ``proj_payments_totals``)."""

    reference: str
    title: str
    programme: str | None  # the programme its latest terms name
    earned: Decimal
    payable: Decimal
    forecast_at_targets: Decimal


def member_of(state: ContractState) -> Member:
    schedule, forecast = with_forecast(state, explain=False)
    terms = state.current_terms
    return Member(state.reference, terms.title, terms.programme or None,
                  schedule.total("earned"), schedule.total("payable"), forecast)


def programme_report(programme: ProgrammeState, contracts: Sequence[Member],
                     head: LedgerHead, as_of: str | None = None) -> ProgrammeReport:
    terms = programme.terms
    cur = terms.currency

    def q(amount: Decimal) -> Decimal:  # every amount at the currency's minor unit
        return quantize(amount, cur)

    drawn_by: dict[str, Decimal] = {}
    certified_by: dict[str, Decimal] = {}
    for d in programme.draws:
        certified_by[d.contract] = certified_by.get(d.contract, ZERO) + d.amount
        for fid, amount in d.funders:
            drawn_by[fid] = drawn_by.get(fid, ZERO) + amount
    lines = []
    for member in contracts:
        last = programme.last_draw(member.reference)
        lines.append(ProgrammeContractLine(
            reference=member.reference, title=member.title,
            in_programme=member.programme == programme.reference,
            earned=q(member.earned), payable=q(member.payable),
            certified=q(certified_by.get(member.reference, ZERO)),
            above_budget=q(last.above_budget if last is not None else ZERO),
            last_certified=last.period if last is not None else "",
            forecast_at_targets=q(member.forecast_at_targets)))
    funders = tuple(FunderLine(f.id, f.name, q(f.commitment), q(drawn_by.get(f.id, ZERO)),
                               q(f.commitment - drawn_by.get(f.id, ZERO)))
                    for f in terms.funders)
    forecast = sum((c.forecast_at_targets for c in lines if c.in_programme), ZERO)
    return ProgrammeReport(
        reference=terms.reference, title=terms.title, currency=cur,
        start=terms.start.isoformat(), end=terms.end.isoformat(), budget=q(terms.budget),
        certified=q(programme.drawn_total),
        above_budget=q(sum((c.above_budget for c in lines), ZERO)),
        headroom=q(programme.headroom), forecast_at_targets=q(forecast),
        forecast_over_budget=q(max(forecast - terms.budget, ZERO)),
        draws=len(programme.draws), funders=funders, contracts=tuple(lines), as_of=as_of,
        head=head)


def programme_sections(r: ProgrammeReport) -> list[Section]:
    """The report as tables: the budget, its contracts, its funders."""
    return [
        Section("programme", f"Programme {r.reference}: {r.title}", (
            "programme", "title", "currency", "start", "end", "budget", "certified",
            "headroom", "above_budget", "forecast_at_targets", "forecast_over_budget",
            "draws", "as_of", "ledger_position", "ledger_hash"), [(
                r.reference, r.title, r.currency, r.start, r.end, r.budget, r.certified,
                r.headroom, r.above_budget, r.forecast_at_targets, r.forecast_over_budget,
                r.draws, r.as_of, r.head.position, r.head.hash)]),
        Section("programme_contracts", "Contracts: earned, payable, certified and above "
                "the budget", (
                    "contract", "title", "in_programme", "earned", "payable", "certified",
                    "above_budget", "last_certified", "forecast_at_targets"),
                [(c.reference, c.title, c.in_programme, c.earned, c.payable, c.certified,
                  c.above_budget, c.last_certified, c.forecast_at_targets)
                 for c in r.contracts]),
        Section("programme_funders", "Funders: committed and drawn", (
            "funder", "name", "commitment", "drawn", "remaining"),
            [(f.id, f.name, f.commitment, f.drawn, f.remaining) for f in r.funders]),
    ]
