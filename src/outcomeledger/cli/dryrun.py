"""``--dry-run`` on every command that writes: decide with every rule, print the events
that would be recorded, write nothing. In an append-only ledger a write cannot be taken
back, so the flag must never be accepted and then ignored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..domain import codec
from ..report import render
from ..storage.store import Written

F = TypeVar("F", bound=Callable[..., Any])

HELP = "Decide with every rule and print the events that would be recorded; write nothing."


def dry_run_option(help_text: str = HELP) -> Callable[[F], F]:
    return click.option("--dry-run", "dry_run", is_flag=True, help=help_text)


def would_record(written: Written, *, quiet: bool = False) -> None:
    """The events a dry run decided, as JSON on stdout (the stored fields, without the
    chain link, which only the append fixes), and one line on stderr."""
    events = [{k: v for k, v in codec.to_builtins(e).items() if k != "prev_hash"}
              for e in written.decision.events]
    click.echo(render.to_json(events))
    if not quiet:
        click.echo(f"dry run: {len(events)} event(s) would be recorded; nothing was "
                   "written", err=True)


__all__ = ["HELP", "dry_run_option", "would_record"]
