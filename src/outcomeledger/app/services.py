"""Application services: files and flags in, commands decided against the ledger.

The CLI and the demo both go through here, so the demo exercises exactly the
code paths a user does.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..domain.adjustment_rules import parse_amount
from ..domain.commands import (
    AdjustReward,
    AgreeContract,
    ApproveBusinessCase,
    BreakContract,
    CertifyPayment,
    CloseContract,
    Command,
    ExtendContract,
    Meta,
    RejectReturn,
    ValidateReturn,
    VaryContract,
)
from ..domain.errors import InvalidInput, Problem
from ..domain.events import ADJUSTMENT_KINDS, PaymentCertified
from ..domain.payments.mechanism import compute
from ..domain.payments.schedule import Schedule
from ..domain.terms import ContractTerms
from ..domain.text_checks import confusable_with
from ..imports.document_problems import locate
from ..imports.documents import (
    load_business_case,
    load_terms,
    load_variation,
    terms_from_data,
)
from ..imports.importer import import_returns
from ..imports.indigo import IndigoProject, indigo_returns, read_indigo
from ..storage.store import Ledger, Written


def _execute(ledger: Ledger, reference: str, command: Command, meta: Meta,
             dry_run: bool) -> Written:
    """Decide and append; a dry run decides exactly as a write would (every rule, the
    same events) and appends nothing, so what it shows is what would be recorded."""
    return ledger.execute_batch([(reference, command)], meta, dry_run=dry_run)[0]


def agree(ledger: Ledger, path: Path, meta: Meta, reason: str = "contract agreed") -> str:
    return agreed(ledger, path, meta, reason).decision.events[0].contract


def _distinct(ledger: Ledger, terms: ContractTerms, source: str) -> None:
    # A reference a person cannot tell from an existing one (case, full-width forms,
    # spaces) would send returns to the wrong contract, or to neither.
    if (other := confusable_with(terms.reference, ledger.references())) is not None:
        raise InvalidInput([Problem(source, None, "reference", (
            f"too like the existing contract {other!r} (got {terms.reference!r}; "
            "references that differ only in case, spacing or character forms are "
            "refused: choose a distinct reference)"))])


def agreed(ledger: Ledger, path: Path, meta: Meta, reason: str = "contract agreed", *,
           dry_run: bool = False) -> Written:
    terms = load_terms(path)
    _distinct(ledger, terms, str(path))
    try:
        return _execute(ledger, terms.reference, AgreeContract(terms, reason), meta, dry_run)
    except InvalidInput as e:  # the terms' own checks: each on its line of the file
        raise InvalidInput(locate(path, e.problems, sources=("contract", str(path)))) from None


def import_indigo(ledger: Ledger, path: Path, meta: Meta, *, reference: str | None = None,
                  dry_run: bool = False) -> tuple[IndigoProject, list[Written]]:
    """Agree the contract an INDIGO project gives and record its numeric results, in one
    transaction: the terms pass every check ``contract agree`` makes, the returns every
    check ``returns import`` makes, or nothing is written."""
    project = read_indigo(path, reference)
    terms = terms_from_data(str(path), project.document)
    _distinct(ledger, terms, str(path))
    agree_command = AgreeContract(terms, f"imported from INDIGO {path.name}")
    batch: list[tuple[str, Command]] = [(terms.reference, agree_command)]
    batch += indigo_returns(path, project.returns)
    return project, ledger.execute_batch(batch, meta, dry_run=dry_run)


def vary(ledger: Ledger, reference: str, path: Path, effective: date, reason: str,
         meta: Meta, *, dry_run: bool = False) -> Written:
    ledger.require(reference)
    variation = load_variation(path)
    try:
        return _execute(ledger, reference, VaryContract(variation, effective, reason,
                                                        str(path)), meta, dry_run)
    except InvalidInput as e:  # each on the line of its key in the file
        raise InvalidInput(locate(path, e.problems, sources=(str(path),),
                                  nested=False)) from None


def approve_business_case(ledger: Ledger, reference: str, path: Path, reason: str,
                          meta: Meta, *, dry_run: bool = False) -> Written:
    """``contract business-case``: the file read, decided and (unless ``dry_run``) appended;
    every problem on the line of its key in the file."""
    ledger.require(reference)
    case = load_business_case(path)
    try:
        return _execute(ledger, reference, ApproveBusinessCase(case, reason, str(path)), meta,
                        dry_run)
    except InvalidInput as e:
        raise InvalidInput(locate(path, e.problems, sources=(str(path),))) from None


def adjust(ledger: Ledger, reference: str, period: str, kind: str, amount: str, reason: str,
           meta: Meta, *, dry_run: bool = False) -> Written:
    ledger.require(reference)
    if kind not in ADJUSTMENT_KINDS:
        raise InvalidInput([Problem("--kind", None, "kind", f"unknown kind (got {kind!r}, "
                                    f"expected one of {', '.join(ADJUSTMENT_KINDS)})")])
    try:
        value = parse_amount(amount)
    except ValueError as e:
        raise InvalidInput([Problem("--amount", None, "amount", str(e))]) from None
    command = AdjustReward(period=period, kind=kind, amount=value,  # type: ignore[arg-type]
                           reason=reason)
    return _execute(ledger, reference, command, meta, dry_run)


def certify(ledger: Ledger, reference: str, period: str, meta: Meta,
            reason: str = "payment run", *, dry_run: bool = False) -> PaymentCertified:
    ledger.require(reference)
    written = _execute(ledger, reference, CertifyPayment(period, reason), meta, dry_run)
    event = written.decision.events[0]
    assert isinstance(event, PaymentCertified)
    return event


def review(ledger: Ledger, reference: str, period: str, provider: str, meta: Meta, *,
           reject: bool, reason: str, dry_run: bool = False) -> Written:
    ledger.require(reference)
    command: Command = (RejectReturn(period, provider, reason) if reject
                        else ValidateReturn(period, provider, reason or "validated"))
    return _execute(ledger, reference, command, meta, dry_run)


def close(ledger: Ledger, reference: str, closed_on: date, reason: str, meta: Meta, *,
          dry_run: bool = False) -> Written:
    ledger.require(reference)
    return _execute(ledger, reference, CloseContract(closed_on, reason), meta, dry_run)


def exercise(ledger: Ledger, reference: str, option: str, on: date, reason: str, meta: Meta,
             *, extend: bool, dry_run: bool = False) -> Written:
    """Exercise an extension (``extend``) or break option, judged on ``on`` (DESIGN 11)."""
    ledger.require(reference)
    command: Command = (ExtendContract(option, on, reason) if extend
                        else BreakContract(option, on, reason))
    return _execute(ledger, reference, command, meta, dry_run)


def payments(ledger: Ledger, reference: str) -> Schedule:
    return compute(ledger.get(reference))


# The returns import is an application service too (the pipeline lives in imports/).
__all__ = ["adjust", "agree", "agreed", "certify", "close", "exercise", "import_indigo",
           "import_returns", "payments", "review", "vary"]
