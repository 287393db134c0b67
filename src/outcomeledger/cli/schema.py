"""schema: the published JSON Schemas of the read models, and the drift check."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..imports import formats as input_formats
from ..projections import schema as schemas
from .base import Context, pass_context, run
from .output import OutputError, ledger_location, make_directory, write_outputs


@click.command("schema")
@click.option("--check", is_flag=True, help="Exit 1 when the published files differ from "
              "the code.")
@click.option("--write", is_flag=True, help="Regenerate the published files from the code.")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="The published folder (default: projections, or docs "
              "with --inputs).")
@click.option("--inputs", is_flag=True, help="The input formats users write (contract, "
              "variation, returns, adjustments and costs rows: docs/schemas and "
              "docs/formats.md) instead of the projections.")
@pass_context
def schema(c: Context, check: bool, write: bool, folder: Path | None, inputs: bool) -> None:
    """Print the JSON Schema of every projection table, or with --inputs of every input
    format (generated from the code)."""
    published = input_formats if inputs else schemas
    if folder is None:
        folder = Path("docs" if inputs else "projections")

    def body() -> None:
        if check:
            problems = published.check(folder)
            for problem in problems:
                click.echo(f"drift: {problem}", err=True)
            if problems:
                click.echo("published schemas differ from the code; run "
                           f"`outcomeledger schema{' --inputs' if inputs else ''} --write` "
                           "and record the change in CHANGELOG.md", err=True)
                sys.exit(1)
            c.say(f"{folder}: published schemas match the code")
        elif write:
            try:
                files = published.changes(folder)
            except (OSError, ValueError) as e:
                raise OutputError(f"cannot regenerate the schemas in {folder}: {e}") from None
            if inputs:
                make_directory(folder / "schemas")
            # Each file whole, and none over the ledger (cli/output.py).
            write_outputs(files, ledger_location(c.db))
            for path in files:
                c.say(f"wrote {path}")
        else:
            click.echo(published.all_schemas().decode(), nl=False)
    run(body)


COMMANDS = [schema]
