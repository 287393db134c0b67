"""events: the NDJSON feed downstream systems follow (DESIGN 7)."""

from __future__ import annotations

import sys

import click

from ..app import replay
from .base import Context, pass_context, run

#: Positions and counts go to the database as 64-bit integers (SQLite INTEGER, PostgreSQL
#: BIGINT): anything larger is a usage error here, not an OverflowError from the driver.
#: (The feed reads from ``--after`` + 1, which must fit too.)
MAX_POSITION = 2**63 - 1
MAX_AFTER = MAX_POSITION - 1


@click.command("events")
@click.option("--after", type=click.IntRange(min=0, max=MAX_AFTER), default=0,
              show_default=True,
              help="Only events after this global position (the last one you saw).")
@click.option("--contract", "reference", default=None, help="Only this contract's events.")
@click.option("--limit", type=click.IntRange(min=1, max=MAX_POSITION), default=None,
              help="At most this many events.")
@pass_context
def events(c: Context, after: int, reference: str | None, limit: int | None) -> None:
    """Print events in global order, one JSON object per line: position, contract, type,
    recorded_at (RFC 3339, UTC), recorded_by, hash (SHA-256 of the stored bytes), prev_hash
    (64 zeros for a contract's first event) and data (the event as stored)."""
    def body() -> None:
        out = sys.stdout.buffer
        with c.ledger() as ledger:
            if reference is not None:
                ledger.get(reference)
            for line in replay.feed(ledger, after, reference, limit):
                out.write(line)
        out.flush()
    run(body, writes=False)


COMMANDS = [events]
