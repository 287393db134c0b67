"""The command line (DESIGN 7): parse, call a service, render. Nothing else."""

from __future__ import annotations

from pathlib import Path

import click

from ..app import participants
from ..domain.errors import LedgerError
from ..storage.location import ledger_exists, locate
from .base import MIN_WIDTH, Context, Root, pass_context, run, text_width
from .output import check_output, write_output


@click.group(cls=Root, context_settings={"auto_envvar_prefix": "OUTCOMELEDGER",
                                         "help_option_names": ["-h", "--help"]})
@click.option("--db", default=None, envvar="OUTCOMELEDGER_DB",
              help="Ledger: a path, sqlite:///path or postgresql://user@host:port/db "
              "(default ./outcomeledger.db).")
@click.option("--actor", default=None, envvar="OUTCOMELEDGER_ACTOR",
              help="Who is acting (default: $OUTCOMELEDGER_ACTOR, then the OS user).")
@click.option("--key", "key", default=None, envvar="OUTCOMELEDGER_KEY", metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="The actor's private key (PEM, from `returns keygen`): signs every "
              "event a write records, on contracts whose actors declare keys "
              "(default: $OUTCOMELEDGER_KEY).")
@click.option("--quiet", is_flag=True, help="No progress or confirmation messages.")
@click.option("--width", type=click.IntRange(min=MIN_WIDTH), default=None, metavar="N",
              help="Lay tables out within N characters (default: the terminal's width; "
              "not on a terminal, $COLUMNS, else 100). Wide tables wrap their text, or "
              "print one record per row.")
@click.version_option(package_name="outcomeledger")
@click.pass_context
def cli(ctx: click.Context, db: str | None, actor: str | None, key: Path | None,
        quiet: bool, width: int | None) -> None:
    """outcomeledger: an auditable ledger for outcome-based contracts."""
    ctx.obj = Context(db, actor, quiet, width, key)


@cli.command()
@pass_context
def init(c: Context) -> None:
    """Create an empty ledger: the events table and the projection tables."""
    def body() -> None:
        with c.ledger(create=True) as ledger:
            if ledger.has_projections:
                ledger.project()
            if ledger.location.kind == "postgresql":
                # Before sql/roles.sql is run, so that it can keep the reader out of it.
                participants.create_key_store(ledger)
            c.say(f"ledger ready at {ledger.location.display} "
                  f"({ledger.max_position()} events)")
    run(body)


@cli.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the summary to this file.")
@click.option("--reports", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write each contract's HTML accountability report into this folder.")
@pass_context
def demo(c: Context, output: Path | None, reports: Path | None) -> None:
    """Build a realistic demo ledger in a fresh database; print its payments and the
    accountability portfolio."""
    from ..app.demo import build_demo

    def body() -> None:
        location = locate(c.db)
        if location.path is not None and location.path.exists():
            raise LedgerError(f"{location.path} already exists; the demo builds a fresh "
                              "ledger (remove it or pass --db NEW.db)")
        if location.kind == "postgresql" and ledger_exists(location):
            raise LedgerError(f"a ledger already exists in {location.display}; the demo "
                              "builds a fresh one (pass --db with an empty database)")
        if output is not None:
            check_output(output, location)  # before the ledger is built, not after
        with c.ledger(create=True) as ledger:
            text = build_demo(ledger, say=c.say, reports=reports,
                              width=text_width(terminal=None if output is None else False))
        click.echo(text)
        if output is not None:
            write_output(output, text + "\n", location)
    run(body)




def _register() -> None:
    from . import (
        actors,
        audit,
        checkpoint,
        contract,
        costs,
        events,
        evidence,
        indigo,
        participant,
        payments,
        programme,
        publish,
        replay,
        report,
        returns,
        schema,
        signing,
    )

    for module in (actors, audit, contract, costs, events, indigo, participant, payments, programme,
                   publish, replay, report, returns, schema):
        for command in module.COMMANDS:
            cli.add_command(command)
    # `audit export`, `audit replay` and `audit checkpoint` live in modules of their own,
    # under the same group.
    for command in evidence.COMMANDS + checkpoint.COMMANDS:
        audit.audit.add_command(command)
    # `returns keygen` and `returns sign` live beside import, under the same group.
    for command in signing.COMMANDS:
        returns.returns.add_command(command)


_register()


def main() -> None:
    cli(prog_name="outcomeledger")
