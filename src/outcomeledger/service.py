"""Application services: files and flags in, commands decided against the ledger.

The CLI and the demo both go through here, so the demo exercises exactly the
code paths a user does.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from .commands import (
    AdjustReward,
    AgreeContract,
    CertifyPayment,
    CloseContract,
    Command,
    Meta,
    RejectReturn,
    ValidateReturn,
    VaryContract,
)
from .documents import load_terms, load_variation
from .errors import InvalidInput, Problem
from .events import ADJUSTMENT_KINDS, PaymentCertified
from .imports.importer import ImportReceipt, import_returns  # moved; re-exported for callers
from .mechanism import Schedule, compute
from .money import parse_decimal
from .store import Ledger, Written


def agree(ledger: Ledger, path: Path, meta: Meta, reason: str = "contract agreed") -> str:
    terms = load_terms(path)
    ledger.execute(terms.reference, AgreeContract(terms, reason), meta)
    return terms.reference


def vary(ledger: Ledger, reference: str, path: Path, effective: date, reason: str,
         meta: Meta) -> Written:
    ledger.get(reference)
    variation = load_variation(path)
    return ledger.execute(reference, VaryContract(variation, effective, reason, str(path)),
                          meta)


def adjust(ledger: Ledger, reference: str, period: str, kind: str, amount: str, reason: str,
           meta: Meta) -> Written:
    ledger.get(reference)
    if kind not in ADJUSTMENT_KINDS:
        raise InvalidInput([Problem("--kind", None, "kind", f"unknown kind (got {kind!r}, "
                                    f"expected one of {', '.join(ADJUSTMENT_KINDS)})")])
    try:
        value = parse_decimal(amount)
    except ValueError as e:
        raise InvalidInput([Problem("--amount", None, "amount", f"{e} (expected a decimal "
                                    "amount such as -120000 or 2500.50)")]) from None
    command = AdjustReward(period=period, kind=kind, amount=value,  # type: ignore[arg-type]
                           reason=reason)
    return ledger.execute(reference, command, meta)


def certify(ledger: Ledger, reference: str, period: str, meta: Meta,
            reason: str = "payment run") -> PaymentCertified:
    ledger.get(reference)
    written = ledger.execute(reference, CertifyPayment(period, reason), meta)
    event = written.decision.events[0]
    assert isinstance(event, PaymentCertified)
    return event


def review(ledger: Ledger, reference: str, period: str, provider: str, meta: Meta, *,
           reject: bool, reason: str) -> Written:
    ledger.get(reference)
    command: Command = (RejectReturn(period, provider, reason) if reject
                        else ValidateReturn(period, provider, reason or "validated"))
    return ledger.execute(reference, command, meta)


def close(ledger: Ledger, reference: str, closed_on: date, reason: str, meta: Meta) -> Written:
    ledger.get(reference)
    return ledger.execute(reference, CloseContract(closed_on, reason), meta)


def payments(ledger: Ledger, reference: str) -> Schedule:
    return compute(ledger.get(reference))


__all__ = ["Decimal", "ImportReceipt", "adjust", "agree", "certify", "close",
           "import_returns", "payments", "review", "vary"]
