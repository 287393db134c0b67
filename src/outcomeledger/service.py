"""Application services: files and flags in, commands decided against the ledger.

The CLI and the demo both go through here, so the demo exercises exactly the
code paths a user does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
from .contract import decide
from .documents import load_terms, load_variation
from .errors import InvalidInput, Problem
from .events import ADJUSTMENT_KINDS, PaymentCertified
from .imports.returns import parse_returns
from .imports.rows import Format, detect_format, read_source
from .mechanism import Schedule, compute
from .money import parse_decimal
from .state import ContractState, evolve
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


@dataclass(frozen=True, slots=True)
class ImportReceipt:
    file: str
    sha256: str
    rows: int
    added: int
    unchanged: int
    restated: int
    refused: int
    returns: int
    events: int
    dry_run: bool


def import_returns(ledger: Ledger, paths: Sequence[str], meta: Meta, *,
                   input_format: str | None = None, restate: bool = False, reason: str = "",
                   dry_run: bool = False) -> list[ImportReceipt]:
    """Import every file as one transaction: all files land, or none and nothing changes."""
    problems: list[Problem] = []
    files: list[tuple[str, bytes]] = []
    for path in paths:
        try:
            data, name = read_source(path)
        except OSError as e:
            problems.append(Problem(path, None, "file", f"cannot read ({e.strerror})"))
            continue
        files.append((name, data))
    if problems:
        raise InvalidInput(problems)
    return import_data(ledger, files, meta, input_format=input_format, restate=restate,
                       reason=reason, dry_run=dry_run)


def import_data(ledger: Ledger, files: Sequence[tuple[str, bytes]], meta: Meta, *,
                input_format: str | None = None, restate: bool = False, reason: str = "",
                dry_run: bool = False) -> list[ImportReceipt]:
    """Import named file contents as one transaction (see :func:`import_returns`)."""
    if restate and not reason.strip():
        raise InvalidInput([Problem("--reason", None, "reason",
                                    "a restatement needs --reason TEXT")])
    problems: list[Problem] = []
    parsed = []
    for name, data in files:
        fmt: Format = detect_format(name, input_format)
        parsed.append(parse_returns(data, name, fmt, problems, restate=restate, reason=reason))
    if problems:
        raise InvalidInput(problems)
    batch: list[tuple[str, Command]] = []
    owners: list[int] = []
    known: dict[str, bool] = {}
    for index, pf in enumerate(parsed):
        for (reference, _period, _provider), command in pf.commands.items():
            if reference not in known:
                known[reference] = ledger.load(reference).exists
            if not known[reference]:
                line = command.figures[0].line
                problems.append(Problem(pf.source.file, line, "contract",
                                        f"unknown contract (got {reference!r})"))
                continue
            batch.append((reference, command))
            owners.append(index)
    if problems:
        raise InvalidInput(problems)
    written = _execute_collecting(ledger, batch, meta, dry_run)
    receipts = []
    for index, pf in enumerate(parsed):
        mine = [w for w, o in zip(written, owners, strict=True) if o == index]
        receipts.append(ImportReceipt(
            file=pf.source.file, sha256=pf.source.sha256, rows=pf.rows,
            added=sum(w.decision.receipt.added for w in mine),
            unchanged=sum(w.decision.receipt.unchanged for w in mine),
            restated=sum(w.decision.receipt.restated for w in mine),
            refused=0, returns=len(mine),
            events=sum(len(w.decision.events) for w in mine), dry_run=dry_run))
    return receipts


def _execute_collecting(ledger: Ledger, batch: list[tuple[str, Command]], meta: Meta,
                        dry_run: bool) -> list[Written]:
    """Plan the whole batch first, so every refusal in every file is reported at once."""
    problems: list[Problem] = []
    states: dict[str, ContractState] = {}
    planned: list[Written] = []
    for reference, command in batch:
        state = states.get(reference) or ledger.load(reference)
        try:
            decision = decide(state, command, meta)
        except InvalidInput as e:
            problems.extend(e.problems)
            continue
        for event in decision.events:
            state = evolve(state, event, "")
        states[reference] = state
        planned.append(Written(decision, ()))
    if problems:
        raise InvalidInput(problems)
    if dry_run:
        return planned
    return ledger.execute_batch(batch, meta)


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
