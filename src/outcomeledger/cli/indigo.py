"""import indigo FILE.json: a contract (and returns) from an INDIGO project (DESIGN 12)."""

from __future__ import annotations

from pathlib import Path

import click

from ..app import services as service
from ..report import render
from .base import Context, pass_context, run


@click.group("import")
def import_group() -> None:
    """Start from data published elsewhere: contracts from open data standards."""


@import_group.command("indigo")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--reference", default=None, help="The contract's reference (default: the "
              "INDIGO project id).")
@click.option("--dry-run", "dry_run", is_flag=True, help="Check everything and print the "
              "contract definition and the returns that would be recorded; write nothing.")
@pass_context
def import_indigo(c: Context, file: Path, reference: str | None, dry_run: bool) -> None:
    """Agree the contract an INDIGO project (data standard v4.1) gives, and record its
    numeric results as returns; every field skipped is named on stderr."""
    def body() -> None:
        with c.ledger() as ledger:
            project, written = service.import_indigo(ledger, file, c.meta(),
                                                     reference=reference, dry_run=dry_run)
        for skipped in project.skipped:
            click.echo(f"warning: {skipped}", err=True)
        events = sum(len(w.decision.events) for w in written)
        if dry_run:
            click.echo(render.to_json({"contract": project.document, "returns": project.returns}))
            if not c.quiet:
                click.echo(f"dry run: {events} event(s) would be recorded; nothing was "
                           "written", err=True)
            return
        c.say(f"agreed {project.document['reference']} from {file}; "
              f"{len(project.returns)} result(s) recorded as returns, "
              f"{len(project.skipped)} field(s) skipped")
    run(body)


COMMANDS = [import_group]
