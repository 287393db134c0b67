"""Importing returns files: parse, decide and append, all files as one transaction.

The pipeline: every file is streamed once (hashed as it is read) into compact returns;
the returns are decided contract by contract against the ledger and appended in one
``insert_events`` call. Every problem in every file is collected first, so a refused
import names them all and leaves the ledger exactly as it was. Files of 4 MB and more
on a SQLite ledger are read and decided by worker processes (``parallel``), with the
same result; an import with anything to report is then made here, in one process.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from ..domain.commands import Meta
from ..domain.errors import InvalidInput, Problem
from ..domain.events import Source
from ..storage.store import Ledger
from . import parallel
from .batch import (
    Batch,
    ImportReceipt,
    Parsed,
    conflicts_between_files,
    no_cycle_collection,
    receipts_of,
)
from .pseudonyms import pseudonymise
from .returns import RETURNS, Columns, read_returns
from .rows import detect_format, read_table
from .sources import Input, OnRead, bytes_input, open_input, unreadable


class ImportRefused(InvalidInput):
    """Every problem of a refused import, with each file's receipt (nothing written)."""

    def __init__(self, problems: list[Problem], receipts: list[ImportReceipt]) -> None:
        super().__init__(problems)
        self.receipts = receipts


def import_returns(ledger: Ledger, paths: Sequence[str], meta: Meta, *,
                   input_format: str | None = None, restate: bool = False, reason: str = "",
                   dry_run: bool = False, on_read: OnRead | None = None,
                   received_on: date | None = None,
                   columns: Columns = RETURNS) -> list[ImportReceipt]:
    """Import every file (``-`` is standard input) as one transaction: all files land,
    or none does and nothing changes. ``received_on``: the day the returns were received,
    when earlier than today (a back-filled history); lateness is judged by it.
    ``columns``: what the files hold (returns; costs, ``imports.costs``)."""
    inputs: list[Input] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            inputs.append(open_input(path, on_read))
        except OSError as e:
            problems.append(unreadable(path, e))
        except InvalidInput as e:  # a signature beside the file that cannot be one
            problems.extend(e.problems)
    try:
        if problems:
            raise InvalidInput(problems)
        return _import(ledger, inputs, meta, input_format, restate, reason, dry_run,
                       received_on, columns)
    finally:
        for source in inputs:
            source.close()


def import_data(ledger: Ledger, files: Sequence[tuple[str, bytes]], meta: Meta, *,
                input_format: str | None = None, restate: bool = False, reason: str = "",
                dry_run: bool = False, columns: Columns = RETURNS) -> list[ImportReceipt]:
    """Import named file contents as one transaction (see :func:`import_returns`)."""
    inputs = [bytes_input(name, data) for name, data in files]
    return _import(ledger, inputs, meta, input_format, restate, reason, dry_run,
                   columns=columns)


def _import(ledger: Ledger, inputs: list[Input], meta: Meta, input_format: str | None,
            restate: bool, reason: str, dry_run: bool,
            received_on: date | None = None,
            columns: Columns = RETURNS) -> list[ImportReceipt]:
    if restate and not reason.strip():
        raise InvalidInput([Problem("--reason", None, "reason",
                                    "a restatement needs --reason TEXT (got nothing)")])
    # Large files are decided by worker processes, a share of the contracts each; any
    # problem sends the import down the one-process path, which lists every problem.
    # (A back-filled history, rare and small, is imported by this process; so are costs.)
    receipts = None if received_on or columns is not RETURNS else parallel.run(
        ledger, inputs, meta, input_format=input_format, restate=restate, reason=reason,
        dry_run=dry_run)
    if receipts is not None:
        return receipts
    problems: list[Problem] = []
    with no_cycle_collection():
        parsed = parse(inputs, input_format, problems, columns)
        # Pseudonymised contracts' participants: their ids replaced before deciding, the
        # keys of new ones written with the events (worker processes refuse such rows,
        # leaving them to this path: see return_checks).
        save_keys = pseudonymise(ledger, parsed, meta.recorded_at, problems)
        batch = Batch(parsed, restate=restate, reason=reason, received_on=received_on)
        try:
            # With problems already found, still decide everything (writing nothing) so
            # that one report lists every problem of the import.
            written = ledger.execute_batch(batch, meta, dry_run=dry_run or bool(problems),
                                           keep_events=False, refused=batch.refusal,
                                           also=save_keys)
        except InvalidInput as e:
            problems += e.problems
            written = []
    decisions = [w.decision for w in written]
    events = [len(w.positions) for w in written]
    if problems:
        order = {p.file.name: index for index, p in enumerate(parsed)}
        problems.sort(key=lambda pr: (order.get(pr.source, -1), pr.line or 0))
        raise ImportRefused(problems, receipts_of(parsed, batch, [], [], dry_run, problems))
    return receipts_of(parsed, batch, decisions, events, dry_run, [])


def parse(inputs: list[Input], input_format: str | None, problems: list[Problem],
          columns: Columns = RETURNS) -> list[Parsed]:
    """Every file read into returns, and the figures two files give different values;
    problems go to ``problems``."""
    parsed: list[Parsed] = []
    for source in inputs:
        fmt = detect_format(source.name, input_format)
        table = read_table(source.stream, source.name, fmt, columns.required,
                           columns.optional, problems)
        returns = read_returns(table, source.name, problems, columns)
        parsed.append(Parsed(returns, Source(file=source.name, sha256=source.finish()),
                             source.signature))
    problems += conflicts_between_files(parsed)
    return parsed


