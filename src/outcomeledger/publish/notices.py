"""What a notice adds to its release: UK10 contract change and UK11 termination.

UK9 (contract performance) lives in :mod:`.performance`. Each builder refuses a contract
with nothing to publish as its notice, in one line naming the contract and the notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..audit.log import diff_terms
from ..domain.contract.records import VariationRecord
from ..domain.contract.state import ContractState
from ..domain.errors import LedgerError
from ..domain.terms import ContractTerms
from ..report.register import terms_varied


@dataclass(frozen=True)
class Notice:
    """A notice's part of its release: when its facts were recorded, its tags, and the
    fields of ``contracts[0]`` beyond id, awardID and title."""

    date: datetime
    tag: tuple[str, ...]
    contract: dict[str, Any] = field(default_factory=dict)


def day_start(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def day_end(day: date) -> str:
    return f"{day.isoformat()}T23:59:59Z"


def period(start: date, end: date) -> dict[str, str]:
    return {"startDate": day_start(start), "endDate": day_end(end)}


def value(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def term_fields(terms: ContractTerms) -> dict[str, Any]:
    """The contract's period and (when capped) value under ``terms``."""
    out: dict[str, Any] = {"period": period(terms.start, terms.end)}
    if terms.max_value is not None:
        out["value"] = value(terms.max_value, terms.currency)
    return out


def status(state: ContractState, as_at: date | None) -> str:
    """``terminated`` once closed (by ``as_at``), else ``active``."""
    closed = state.closed_on is not None and (as_at is None or state.closed_on <= as_at)
    return "terminated" if closed else "active"


def nothing(state: ContractState, notice: str, why: str) -> LedgerError:
    return LedgerError(f"{state.reference}: nothing to publish as {notice}: {why}")


def _money(amount: Decimal | None, currency: str) -> str:
    return "uncapped" if amount is None else f"{amount} {currency}"


def _amendment(state: ContractState, v: VariationRecord) -> dict[str, Any]:
    """One variation as an OCDS amendment: the UK extension's ``value`` and ``period``
    are the amended contract's; the before → after of both, the effective date and every
    other change are in ``description``."""
    before, after = terms_varied(state, v)
    # An extension option exercised is a change of the term like a variation of `end`.
    lines = [f"Extension option {x.option} exercised, its condition judged on "
             f"{x.decided_on.isoformat()}." for x in state.exercised
             if x.recorded.version == v.recorded.version]
    # A business case (DESIGN 11) adds delivery within a budget of its own: say so, with
    # its need, since the contract's value does not move.
    lines += [f"Business case {c.id} approved: {c.title}. Need: {c.need}. Budget: "
              f"{_money(c.budget, after.currency)} (its outcomes are paid within it, and "
              "within the contract's value)." for c in (
                  r.business_case for r in state.business_cases
                  if r.recorded.version == v.recorded.version)]
    lines += [f"Effective from {v.effective_from.isoformat()}.",
             f"Value: {_money(before.max_value, before.currency)} → "
             f"{_money(after.max_value, after.currency)}.",
             f"Term: {before.start.isoformat()} to {before.end.isoformat()} → "
             f"{after.start.isoformat()} to {after.end.isoformat()}."]
    # Sorted: diff_terms lists added and retired outcomes in set order.
    lines += sorted(f"Changed: {line}" for line in diff_terms(before, after)
                    if not line.startswith(("max_value:", "end:")))
    out: dict[str, Any] = {
        "id": f"{state.reference}-{v.recorded.ref}",
        "date": f"{v.recorded.recorded_at:%Y-%m-%dT%H:%M:%SZ}",
        "rationale": v.recorded.reason or "not recorded",
        "description": "\n".join(lines), **term_fields(after)}
    return out


def contract_change(state: ContractState, as_at: date | None) -> Notice:
    """UK10: every variation effective by ``as_at`` (all when None), in recording order,
    as ``contracts[0].amendments``; the contract's period and value as last amended."""
    chosen = [v for v in sorted(state.variations, key=lambda x: x.recorded.version)
              if as_at is None or v.effective_from <= as_at]
    if not chosen:
        raise nothing(state, "UK10", "no variation" + (
            f" effective by {as_at.isoformat()}" if as_at else ""))
    terms = state.current_terms if as_at is None else state.terms_on(as_at)
    contract = {"status": status(state, as_at), **term_fields(terms),
                "amendments": [_amendment(state, v) for v in chosen]}
    latest = max(v.recorded.recorded_at for v in chosen)
    return Notice(latest, ("contractAmendment",), contract)


def termination(state: ContractState, as_at: date | None) -> Notice:
    """UK11: the closure (date, reason) as a terminated contract whose period ends on
    the closing date, with the notice document carrying the reason."""
    closed, closed_on = state.closed, state.closed_on
    if closed is None or closed_on is None:
        raise nothing(state, "UK11", "the contract is not closed")
    if as_at is not None and closed_on > as_at:
        raise nothing(state, "UK11", f"the contract closes on {closed_on.isoformat()}, "
                      f"after {as_at.isoformat()}")
    terms = state.current_terms
    contract: dict[str, Any] = {
        "status": "terminated", "period": period(terms.start, closed_on),
        "implementation": {"documents": [{
            "id": f"{state.reference}-UK11", "documentType": "contractTerminationNotice",
            "noticeType": "UK11", "title": "Contract termination notice",
            "description": f"Closed on {closed_on.isoformat()}: "
                           f"{closed.reason or 'no reason recorded'}",
            "datePublished": f"{closed.recorded_at:%Y-%m-%dT%H:%M:%SZ}"}]}}
    if terms.max_value is not None:
        contract["value"] = value(terms.max_value, terms.currency)
    return Notice(closed.recorded_at, ("contractTermination",), contract)
