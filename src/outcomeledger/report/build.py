"""The report as one pure function: contract state + ledger head -> :class:`ContractReport`.

No I/O and no clock: the same events and head give the same report, byte for byte,
so a reader holding an evidence pack can rebuild it. Loading the state as of a
position or time is :mod:`outcomeledger.app.report_source`'s job.
"""

from __future__ import annotations

from datetime import date

from ..domain.contract.state import ContractState
from ..storage.head import Head
from .business_case_section import business_cases
from .improvement import improvement, walk
from .model import (
    Basis,
    ContractReport,
    LedgerHead,
    PortfolioReport,
    PortfolioRow,
    StreamHead,
)
from .network import network
from .options import options
from .payments import payments
from .performance import performance, social_value
from .register import register, returns, variations
from .shares import payer_split
from .view import View


def ledger_head(head: Head) -> LedgerHead:
    return LedgerHead(position=head.position, hash=head.hash, streams=head.streams)


def _terms_label(state: ContractState, as_at: date | None) -> str:
    """Which version of the terms the report reads: agreed, or as varied by an event."""
    applied = [v for v in state.ordered_variations if as_at is None or v.effective_from <= as_at]
    if not applied:
        return f"agreed ({state.agreed_by.ref if state.agreed_by else 'v1'})"
    last = applied[-1]
    return f"as varied by {last.recorded.ref} (effective {last.effective_from})"


def build_report(state: ContractState, head: Head, *, as_of: str | None = None,
                 as_at: date | None = None) -> ContractReport:
    """Every section of the accountability report for one contract."""
    view = View(state, as_at)
    terms = view.terms
    last = view.periods[-1].period if view.periods else None
    payers = payer_split(view)
    money = payments(view, payers)
    in_force = _terms_label(state, as_at)
    tested = walk(view)
    return ContractReport(
        reference=state.reference, title=terms.title, buyer=terms.buyer,
        supplier=terms.supplier, currency=view.currency,
        status="closed" if state.closed is not None else "open",
        head=ledger_head(head),
        stream=StreamHead(version=state.version, hash=state.head_hash),
        basis=Basis(as_of=as_of, as_at=as_at, through_period=last, terms_in_force=in_force),
        performance=performance(view, tested), improvement=improvement(view, tested),
        payments=money, returns=returns(view),
        register=register(view), variations=variations(view), options=options(view),
        business_cases=business_cases(view),
        network=network(view, money), payers=payers,
        social_value=social_value(view))


def build_portfolio(reports: list[ContractReport], head: Head, *, as_of: str | None = None,
                    as_at: date | None = None) -> PortfolioReport:
    """One summary row per contract, each read off its full report."""
    rows = []
    for r in reports:
        contract_cap = next((c for c in r.payments.caps if c.kind == "contract"), None)
        rows.append(PortfolioRow(
            reference=r.reference, title=r.title, currency=r.currency, status=r.status,
            overall_rating=r.performance.overall, earned=r.payments.earned,
            above_cap=r.payments.above_cap, payable=r.payments.payable,
            certified=r.payments.certified,
            contract_cap=None if contract_cap is None else contract_cap.limit,
            headroom=None if contract_cap is None else contract_cap.headroom,
            returns_missing=r.returns.missing, returns_late=r.returns.late,
            restatements=len(r.register.restatements), variations=len(r.variations)))
    return PortfolioReport(head=ledger_head(head), as_of=as_of, as_at=as_at,
                           contracts=tuple(rows))
