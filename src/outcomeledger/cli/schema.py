"""schema: the published JSON Schemas of the read models, and the drift check."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..projections import schema as schemas
from .base import Context, pass_context, run


@click.command("schema")
@click.option("--check", is_flag=True, help="Exit 1 when the published files differ from "
              "the code.")
@click.option("--write", is_flag=True, help="Regenerate the published files from the code.")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              default=Path("projections"), show_default=True,
              help="The published projections folder.")
@pass_context
def schema(c: Context, check: bool, write: bool, folder: Path) -> None:
    """Print the JSON Schema of every projection table (generated from the code)."""
    def body() -> None:
        if check:
            problems = schemas.check(folder)
            for problem in problems:
                click.echo(f"drift: {problem}", err=True)
            if problems:
                click.echo("published schemas differ from the code; run "
                           "`outcomeledger schema --write` and record the change in "
                           "CHANGELOG.md", err=True)
                sys.exit(1)
            c.say(f"{folder}: published schemas match the code")
        elif write:
            for path in schemas.write(folder):
                c.say(f"wrote {path}")
        else:
            click.echo(schemas.all_schemas().decode(), nl=False)
    run(body)


COMMANDS = [schema]
