"""returns import | validate | reject"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ..app import services as service
from ..imports.batch import ImportReceipt
from ..imports.importer import ImportRefused, import_returns
from ..imports.rows import FORMATS
from ..imports.sources import OnRead
from ..report import render
from .base import (
    Context,
    format_option,
    parse_date,
    pass_context,
    resolve_format,
    run,
    to_text,
)
from .dryrun import dry_run_option, would_record

# -- returns -------------------------------------------------------------------------

@click.group()
def returns() -> None:
    """Import, validate and reject performance returns."""


#: An import of figures files: returns (``import_returns``) or costs (``import_costs``).
Importer = Callable[..., list[ImportReceipt]]


def import_command(importer: Importer, noun: str, values: str, summary: str) -> click.Command:
    """The ``import`` command of a group of figures files (``returns``, ``costs``; their
    numbers are ``values``): the files in one transaction or nothing, its receipt, its
    refusals."""

    @click.command("import", help=summary)
    @click.argument("files", nargs=-1, required=True)
    @click.option("--dry-run", is_flag=True, help="Validate and print the receipt; write "
                  "nothing.")
    @click.option("--restate", is_flag=True, help=f"Allow changed {values} (needs --reason).")
    @click.option("--reason", default="", help="Why (required with --restate).")
    @click.option("--input-format", type=click.Choice(FORMATS), default=None,
                  help="Input format (default: from the file extension; CSV otherwise).")
    @click.option("--received-on", "received_on", default=None, help=f"The DATE the {noun} "
                  "were received, when earlier than today (back-filling a running "
                  "contract's history): lateness is judged by it.")
    @format_option("table", "json")
    @pass_context
    def command(c: Context, files: tuple[str, ...], dry_run: bool, restate: bool,
                reason: str, input_format: str | None, received_on: str | None,
                fmt: str | None) -> None:
        if restate and not reason.strip():
            raise click.UsageError(f"--restate needs --reason TEXT: why the {values} changed")
        received = parse_date(received_on, "--received-on") if received_on else None
        if received is not None and received > c.meta().recorded_at.date():
            raise click.BadParameter(f"in the future (got {received}, expected today or "
                                     "earlier)", param_hint="--received-on")

        def body() -> None:
            with c.ledger() as ledger, _progress(c, files, noun) as on_read:
                try:
                    receipts = importer(ledger, files, c.meta(), input_format=input_format,
                                        restate=restate, reason=reason, dry_run=dry_run,
                                        on_read=on_read, received_on=received)
                except ImportRefused as e:
                    click.echo(_receipt_table(e.receipts, "Refused: nothing was written"),
                               err=True)
                    raise
            for receipt in receipts:
                for warning in receipt.warnings:
                    click.echo(f"warning: {warning}", err=True)
                for late in receipt.late_returns:
                    click.echo(f"late: {receipt.file}: {late}", err=True)
            if resolve_format(fmt) == "json":
                click.echo(render.to_json([r.as_dict() for r in receipts]))
            else:
                title = "Import receipt" + (" (dry run: nothing written)" if dry_run else "")
                click.echo(_receipt_table(receipts, title), err=c.quiet)
        run(body)
    return command


returns.add_command(import_command(
    import_returns, "returns", "figures", "Import returns (CSV, NDJSON or JSON; - is "
    "standard input): all files in one transaction, or nothing at all."))


_RECEIPT = ("file", "sha256", "rows", "added", "unchanged", "restated", "refused", "late",
            "returns", "events", "warnings")
# A progress bar is worth drawing only when reading takes more than a moment.
_PROGRESS_FROM_BYTES = 8 << 20


def _receipt_table(receipts: list[ImportReceipt], title: str) -> str:
    rows = [[str(len(r.warnings)) if k == "warnings" else str(getattr(r, k))
             for k in _RECEIPT] for r in receipts]
    numeric = frozenset(_RECEIPT[2:])
    return to_text(render.Table(title, _RECEIPT, rows, numeric))


@contextmanager
def _progress(c: Context, files: tuple[str, ...], noun: str = "returns"
              ) -> Iterator[OnRead | None]:
    """Bytes read, on stderr, for large files on a terminal only."""
    total = sum(Path(f).stat().st_size for f in files if f != "-" and Path(f).is_file())
    if c.quiet or total < _PROGRESS_FROM_BYTES or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label=f"reading {noun}", file=sys.stderr) as bar:
        yield bar.update


def _review_command(name: str, reject: bool) -> None:
    summary = ("Reject a return: its figures leave payments." if reject
               else "Record that a return was validated.")

    @returns.command(name, help=summary)
    @click.argument("reference")
    @click.option("--period", required=True)
    @click.option("--provider", default="")
    @click.option("--reason", default="" if not reject else None, required=reject)
    @dry_run_option()
    @pass_context
    def command(c: Context, reference: str, period: str, provider: str, reason: str,
                dry_run: bool) -> None:
        def body() -> None:
            with c.ledger() as ledger:
                written = service.review(ledger, reference, period, provider, c.meta(),
                                         reject=reject, reason=reason, dry_run=dry_run)
                if dry_run:
                    would_record(written, quiet=c.quiet)
                    return
                c.say(f"{'rejected' if reject else 'validated'} the {period} return of "
                      f"{reference}{' from ' + provider if provider else ''}")
        run(body)


_review_command("validate", reject=False)
_review_command("reject", reject=True)


COMMANDS = [returns]
