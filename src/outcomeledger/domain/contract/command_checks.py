"""The checks on a command's own fields, before the decider weighs it against the
stream: a reason given where one is required, a period within the term or the claims
window, the day a return was received, a signed return's signature.

Apart from :mod:`outcomeledger.domain.contract.decide` because they need only the
command and the contract's terms, not what the stream already holds against it.
"""

from __future__ import annotations

from datetime import date

from msgspec import UNSET

from ..actors import keyed
from ..commands import Meta, ReportCosts, SubmitReturn, VaryContract
from ..errors import COMMAND, InvalidInput, Problem
from ..periods import Period, PeriodError
from ..signing import (
    RETURN_SCHEME_DIGEST,
    ReturnStatement,
    SignatureError,
    verify_digest,
    verify_statement,
)
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
    """On a contract with ``signed_returns``, the provider's signature must verify with
    the provider's key in force for the return's period (a key a variation introduces
    signs only the periods from its effective date). Scheme 2 (today's) signs the
    contract, the periods and a sequence number with the file's hash: the return's period
    must be one of them, and the sequence must not go back on one the ledger already
    accepted from the provider (an old file cannot come back as a restatement)."""
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
    signed = cmd.source
    key = _key_for_period(state, cmd.provider, cmd.period) or ""
    try:
        if cmd.signature_scheme == RETURN_SCHEME_DIGEST and signed.sequence is None:
            # Recorded under scheme 1: it verifies as it did, but never after a scheme-2
            # file from the provider (an old file slipped in behind the sequence).
            if last_sequence(state, cmd.provider) is not None:
                raise InvalidInput([Problem(source + ".sig", 1, "signature", (
                    "given a scheme 1 signature after a scheme 2 one from provider "
                    f"{cmd.provider}, expected scheme 2 (it cannot be replayed)"))])
            verify_digest(key, signed.sha256, signed.signature or "")
            return
        if signed.sequence is None or signed.periods is None:
            raise InvalidInput([Problem(source + ".sig", 1, "signature", (
                "given a scheme 1 signature (of the file's SHA-256 alone, which can be "
                "replayed), expected a scheme 2 signature from `returns sign` (it also "
                "signs the contract, periods and sequence)"))])
        if cmd.period not in signed.periods:
            raise InvalidInput([Problem(source, line, "period", (
                f"not signed (given {cmd.period}, the signature covers "
                f"{', '.join(signed.periods) or 'no period'} of {state.reference})"))])
        verify_statement(key, ReturnStatement(
            contract=state.reference, periods=signed.periods, sequence=signed.sequence,
            sha256=signed.sha256), signed.signature or "")
    except SignatureError as e:
        raise InvalidInput([Problem(source, None, "signature",
                                    f"{e} (provider {cmd.provider})")]) from None
    last = last_sequence(state, cmd.provider)
    if last is not None and (signed.sequence < last[0] or (
            signed.sequence == last[0] and signed.sha256 != last[1])):
        raise InvalidInput([Problem(source + ".sig", 1, "sequence", (
            f"given {signed.sequence}, expected more than {last[0]}, the sequence of the "
            f"last signed file accepted from provider {cmd.provider} (an old signed file "
            "cannot be imported again: sign the file again)"))])


def _key_for_period(state: ContractState, provider: str, period_id: str) -> str | None:
    """The provider's key in force on the period's first day (its period already checked
    by the decider; an unparseable one is refused there, not here)."""
    try:
        terms = state.terms_for(state.period(period_id))
    except PeriodError:
        terms = state.current_terms
    return next((p.public_key for p in terms.providers if p.id == provider), None)


def last_sequence(state: ContractState, provider: str) -> tuple[int, str] | None:
    """(sequence, file SHA-256) of the latest scheme-2 signed file the contract holds
    figures of from ``provider``, or None."""
    found: tuple[int, str] | None = None
    for (_, by, _, _), record in state.figures.items():
        signed = record.source
        if by == provider and signed is not None and signed.sequence is not None and (
                found is None or signed.sequence > found[0]):
            found = (signed.sequence, signed.sha256)
    return found


def check_key_change(state: ContractState, cmd: VaryContract) -> None:
    """A variation that replaces or removes a provider's key, or stops requiring signed
    returns, must be signed by a commissioner's key: the contract must have keyed actors
    (whose rules then make every write a signed one, a variation a commissioner's)."""
    if keyed(state.current_terms):
        return
    current = {p.id: p.public_key for p in state.current_terms.providers}
    fields = [f"providers[{i}].public_key" for i, change in enumerate(cmd.variation.providers)
              if change.public_key is not UNSET and current.get(change.id) is not None
              and change.public_key != current.get(change.id)]
    if state.current_terms.signed_returns and cmd.variation.signed_returns is False:
        fields.append("signed_returns")
    if fields:
        raise InvalidInput([Problem(cmd.source, None, field, (
            "a provider's key changes (and signed returns stop) only by a variation signed "
            "by a commissioner's key; this contract declares no keyed actors (declare a "
            "commissioner with a public_key first, then sign with --key)"))
            for field in fields])
