"""replay | project: rebuild the read models, or catch them up (DESIGN 6)."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import click

from ..app import replay as replaying
from ..projections import follow as following
from ..report import render
from ..storage.store import Ledger
from .base import (
    Context,
    Stop,
    check_moment,
    emit,
    format_option,
    pass_context,
    resolve_format,
    run,
)


def _progress(c: Context, total: int, label: str) -> AbstractContextManager[Any]:
    """A progress bar on stderr, only when stderr is a terminal (never in pipes or logs)."""
    if c.quiet or total == 0 or not sys.stderr.isatty():
        return nullcontext(None)
    return click.progressbar(length=total, label=label, file=sys.stderr)


@click.command("replay")
@click.option("--as-of", "as_of", callback=check_moment, default=None,
              help="Print every projection as it stood at this POSITION or TIMESTAMP "
              "(NDJSON on stdout); the live tables are not touched.")
@pass_context
def replay(c: Context, as_of: str | None) -> None:
    """Rebuild every projection from position 0 into fresh tables and swap them in."""
    def body() -> None:
        with c.ledger() as ledger:
            if as_of is not None:
                out = sys.stdout.buffer
                for line in replaying.projections_as_of(ledger, as_of):
                    out.write(line)
                out.flush()
                return
            # The rebuild reads each event twice: once folded into its contract's
            # read models, once into the audit trail.
            with _progress(c, 2 * ledger.max_position(), "replaying") as bar:
                done = replaying.rebuild(ledger, None if bar is None else bar.update)
        c.say(f"replayed {done.events} events; projections at position {done.position}")
    run(body, writes=as_of is None)  # --as-of only reads


@click.command("project")
@click.option("--follow", is_flag=True, help="Keep the projections current until stopped "
              "(SIGTERM or Ctrl-C): woken by PostgreSQL LISTEN/NOTIFY, polling on SQLite. "
              "Prints a line per batch on stderr: position, lag in events and seconds.")
@click.option("--interval", type=click.FloatRange(min=0.01), default=1.0, show_default=True,
              help="Seconds between polls with --follow on SQLite.")
@click.option("--status", is_flag=True, help="Print each projection's tracking position "
              "against the ledger's last position, and change nothing.")
@format_option("table", "json")
@pass_context
def project(c: Context, follow: bool, interval: float, status: bool,
            fmt: str | None) -> None:
    """Catch the projections up with the events (one transaction per batch)."""
    def body() -> None:
        with c.ledger() as ledger:
            if status:
                _status(ledger, resolve_format(fmt))
                return
            if not follow:
                total = ledger.project()
                c.say(f"projected {total} events; projections at position "
                      f"{ledger.max_position()}")
                return
            with Stop() as stop:
                following.follow(ledger, lambda: stop.requested,
                                 lambda lag: c.say(str(lag)), interval)
    run(body)


def _status(ledger: Ledger, fmt: str) -> None:
    positions, head = following.status(ledger)
    rows = [(f"proj_{name}", position, head - position)
            for name, position in positions.items()]
    data = {"head": head, "projections": [
        {"projection": name, "position": position, "lag_events": behind}
        for name, position, behind in rows]}
    table = render.Table(f"Projections (ledger head {head})",
                         ("projection", "position", "lag_events"),
                         [[name, str(position), str(behind)] for name, position, behind in rows],
                         frozenset(("position", "lag_events")))
    emit(fmt, table, data)


COMMANDS = [replay, project]
