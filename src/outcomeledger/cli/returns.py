"""returns import | validate | reject"""

from __future__ import annotations

import click

from .. import render, service
from .base import Context, format_option, pass_context, run

# -- returns -------------------------------------------------------------------------

@click.group()
def returns() -> None:
    """Import, validate and reject performance returns."""


@returns.command("import")
@click.argument("files", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="Validate and print the receipt; write nothing.")
@click.option("--restate", is_flag=True, help="Allow changed figures (needs --reason).")
@click.option("--reason", default="", help="Why (required with --restate).")
@click.option("--input-format", type=click.Choice(["csv", "ndjson", "json"]), default=None,
              help="Input format (default: from the file extension; CSV otherwise).")
@format_option("table", "json")
@pass_context
def returns_import(c: Context, files: tuple[str, ...], dry_run: bool, restate: bool,
                   reason: str, input_format: str | None, fmt: str | None) -> None:
    """Import returns (CSV, NDJSON or JSON): all files in one transaction."""
    def body() -> None:
        with c.ledger() as ledger:
            receipts = service.import_returns(ledger, files, c.meta(),
                                              input_format=input_format, restate=restate,
                                              reason=reason, dry_run=dry_run)
        columns = ("file", "sha256", "rows", "added", "unchanged", "restated", "refused",
                   "returns", "events", "dry_run")
        rows = [[str(getattr(r, k)) for k in columns] for r in receipts]
        data = [{k: getattr(r, k) for k in columns} for r in receipts]
        out = fmt or "table"
        if out == "json":
            click.echo(render.to_json(data))
        else:
            title = "Import receipt" + (" (dry run: nothing written)" if dry_run else "")
            click.echo(render.to_text(render.Table(title, columns, rows)), err=c.quiet)
    run(body)


def _review_command(name: str, reject: bool) -> None:
    @returns.command(name)
    @click.argument("reference")
    @click.option("--period", required=True)
    @click.option("--provider", default="")
    @click.option("--reason", default="" if not reject else None, required=reject)
    @pass_context
    def command(c: Context, reference: str, period: str, provider: str, reason: str) -> None:
        def body() -> None:
            with c.ledger() as ledger:
                service.review(ledger, reference, period, provider, c.meta(), reject=reject,
                               reason=reason)
                c.say(f"{name}d the {period} return of {reference}")
        run(body)

    command.__doc__ = ("Reject a return: its figures leave payments." if reject
                       else "Record that a return was validated.")


_review_command("validate", reject=False)
_review_command("reject", reject=True)




COMMANDS = [returns]
