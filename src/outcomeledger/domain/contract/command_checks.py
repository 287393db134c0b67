"""The checks on a command's own fields, before the decider weighs it against the
stream: a reason given where one is required, a period within the term or the claims
window, the day a return was received, a signed return's signature.

Apart from :mod:`outcomeledger.domain.contract.decide` because they need only the
command and the contract's terms, not what the stream already holds against it.
"""

from __future__ import annotations

from datetime import date

from ..commands import Meta, ReportCosts, SubmitReturn
from ..errors import COMMAND, InvalidInput, Problem
from ..periods import Period, PeriodError
from ..signing import SignatureError, verify_digest
from .state import ContractState


def require_reason(reason: str, what: str) -> None:
    if not reason.strip():
        raise InvalidInput([Problem(COMMAND, None, "reason",
                                    f"a reason is required for {what}")])


def claim_period(state: ContractState, period_id: str, source: str, line: int | None,
                  field: str = "period") -> Period:
    """Parse a period and check it lies within the term or the claims window."""
    try:
        period = state.period(period_id)
    except PeriodError as e:
        raise InvalidInput([Problem(source, line, field, f"{e} (got {period_id!r})")]) from None
    terms = state.current_terms
    if period.end < terms.start:
        raise InvalidInput([Problem(source, line, field, f"before the contract starts (got "
                                    f"{period_id}, contract starts {terms.start})")])
    if period.start > terms.last_claim_date:
        raise InvalidInput([Problem(source, line, field, f"after the claims window closes "
                                    f"(got {period_id}, claims close {terms.last_claim_date})")])
    return period


def received_on(cmd: SubmitReturn | ReportCosts, meta: Meta, period: Period) -> date:
    """The day a return (or a period's costs) was received: given (a back-filled
    history), or the day it is recorded; never after that day, nor before its period
    starts."""
    if cmd.received_on is None:
        return meta.recorded_at.date()
    if cmd.received_on > meta.recorded_at.date():
        raise InvalidInput([Problem(COMMAND, None, "received_on", f"in the future "
                                    f"(got {cmd.received_on}, expected at most "
                                    f"{meta.recorded_at.date()}, the day it is recorded)")])
    if cmd.received_on < period.start:
        raise InvalidInput([Problem(COMMAND, None, "received_on", f"before the "
                                    f"{period.id} period starts (got {cmd.received_on}, "
                                    f"expected {period.start} or later)")])
    return cmd.received_on


def check_signature(state: ContractState, cmd: SubmitReturn) -> None:
    """On a contract with ``signed_returns``, the provider's signature must verify."""
    terms = state.current_terms
    if not terms.signed_returns:
        return
    source = cmd.source.file if cmd.source else "return"
    line = cmd.figures[0].line if cmd.figures else None
    keys = {p.id: p.public_key for p in terms.providers}
    if not cmd.provider or keys.get(cmd.provider) is None:
        raise InvalidInput([Problem(source, line, "provider", f"{state.reference} takes signed "
                                    "returns only: each row names a provider with a "
                                    f"registered key (got {cmd.provider!r})")])
    if cmd.source is None or not cmd.source.signature:
        raise InvalidInput([Problem(source, None, "signature", f"{state.reference} takes "
                                    "signed returns only: no signature for this file "
                                    "(expected FILE.sig from `returns sign`)")])
    try:
        verify_digest(keys[cmd.provider] or "", cmd.source.sha256, cmd.source.signature)
    except SignatureError as e:
        raise InvalidInput([Problem(source, None, "signature",
                                    f"{e} (provider {cmd.provider})")]) from None
