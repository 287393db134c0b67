"""events: the NDJSON feed downstream systems follow (DESIGN 7), read once or followed live."""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import click
import msgspec

from ..app import feed, programmes
from ..app.feed import MAX_POSITION, FeedLine
from ..report import render
from .base import Context, Stop, pass_context, run

#: The feed reads from ``--after`` + 1, which must fit in 64 bits too: anything larger
#: is a usage error here, not an OverflowError from the driver.
MAX_AFTER = MAX_POSITION - 1

#: ``--format``: ``ndjson`` is the feed (always the default, on a terminal too: scripts and
#: consumers read it); ``json`` one array of the same objects, for tools that read one
#: document (not with --follow: an array that never closes is no document); ``csv`` the
#: same fields, ``data`` as its JSON text; ``table`` one line per event for people,
#: without ``hash``, ``prev_hash`` and ``data``.
FORMATS = ("ndjson", "json", "csv", "table")
COLUMNS = ("position", "contract", "type", "recorded_at", "recorded_by", "hash", "prev_hash",
           "data")

_json = msgspec.json.Encoder(decimal_format="string")


class _ConsumerGone(Exception):
    """The reader of standard output closed it (``events --follow | head``)."""


@contextmanager
def _to_consumer() -> Iterator[None]:
    """Writes to the consumer: a closed pipe is its way of saying it has read enough,
    told apart here from a broken pipe anywhere else (which stays a refusal)."""
    try:
        yield
    except BrokenPipeError:
        raise _ConsumerGone from None


class _Output:
    """Writes pages of the feed in one format to a binary stream, flushed after every
    page so that a follower's consumer sees each event as soon as it is read."""

    def __init__(self, fmt: str, out: BinaryIO) -> None:
        self.fmt, self.out, self.count = fmt, out, 0
        with _to_consumer():
            if fmt == "csv":
                self._text([list(COLUMNS)])
            elif fmt == "table":
                self.out.write(self._row(("position", "recorded_at", "contract", "type",
                                          "recorded_by")) + self._row(
                    ("-" * 8, "-" * 20, "-" * 16, "-" * 16, "-" * 11)))

    def page(self, lines: list[FeedLine]) -> None:
        with _to_consumer():
            self._page(lines)
            self.out.flush()

    def _page(self, lines: list[FeedLine]) -> None:
        if self.fmt == "ndjson":
            self.out.write(feed.ndjson(lines))
        elif self.fmt == "json":
            for line in lines:
                self.out.write(b",\n" if self.count else b"[\n")
                self.out.write(_json.encode(line))
                self.count += 1
        elif self.fmt == "csv":
            self._text([[str(e.position), render.csv_safe(e.contract), e.type, e.recorded_at,
                         render.csv_safe(e.recorded_by), e.hash, e.prev_hash,
                         feed.data_text(e)] for e in lines])
        else:
            self.out.write(b"".join(self._row((str(e.position), e.recorded_at, e.contract,
                                               e.type, e.recorded_by)) for e in lines))

    def close(self) -> None:
        with _to_consumer():
            if self.fmt == "json":
                self.out.write(b"\n]\n" if self.count else b"[]\n")
            self.out.flush()

    def _text(self, rows: list[list[str]]) -> None:
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        self.out.write(text.getvalue().encode())

    @staticmethod
    def _row(cells: tuple[str, ...]) -> bytes:
        # Escaped: a stored name cannot repaint the terminal or forge the next line.
        position, at, contract, kind, by = (render.shown(c) for c in cells)
        return (f"{position:>8}  {at:<20}  {contract:<16}  {kind:<16}  {by}".rstrip()
                + "\n").encode()


def _interval_needs_follow(ctx: click.Context, _param: click.Parameter,
                           value: float) -> float:
    source = ctx.get_parameter_source("interval")
    if source is click.core.ParameterSource.COMMANDLINE and not ctx.params.get("follow"):
        raise click.UsageError("--interval goes with --follow (seconds between polls)")
    return value


@click.command("events")
@click.option("--after", type=click.IntRange(min=0, max=MAX_AFTER), default=0,
              show_default=True,
              help="Only events after this global position (the last one you saw).")
@click.option("--contract", "reference", default=None, help="Only this contract's events.")
@click.option("--programme", default=None, metavar="REF",
              help="Only this programme's events (its agreement, variations and draws).")
@click.option("--limit", type=click.IntRange(min=1, max=MAX_POSITION), default=None,
              help="At most this many events (with --follow: stop after them).")
@click.option("--follow", is_flag=True, is_eager=True,
              help="Keep printing events as they are committed, until SIGTERM or Ctrl-C "
              "(exit 0): woken by PostgreSQL LISTEN/NOTIFY, polling on SQLite. Resume "
              "with --after the last position printed.")
@click.option("--interval", type=click.FloatRange(min=0.01), default=1.0,
              show_default=True, callback=_interval_needs_follow,
              help="Seconds between polls with --follow on SQLite.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="ndjson",
              show_default=True, help="ndjson (the feed), json (one array), csv, or table "
              "(for people).")
@pass_context
def events(c: Context, after: int, reference: str | None, programme: str | None,
           limit: int | None, follow: bool, interval: float, fmt: str) -> None:
    """Print events in global order, one JSON object per line: position, contract, type,
    recorded_at (RFC 3339, UTC), recorded_by, hash (SHA-256 of the stored bytes), prev_hash
    (64 zeros for a contract's first event) and data (the event as stored)."""
    if reference is not None and programme is not None:
        raise click.UsageError("--contract and --programme select different streams: give "
                               "one of them")
    if follow and fmt == "json":
        raise click.UsageError("--format json is one array, which a follower never "
                               "closes: follow with --format ndjson (or csv, table)")

    def body() -> None:
        try:
            output = _Output(fmt, sys.stdout.buffer)
            with c.ledger() as ledger:
                if reference is not None:
                    ledger.get(reference)
                if programme is not None:
                    programmes.programme(ledger, programme)
                if follow:
                    with Stop() as stop:
                        feed.follow(ledger, after, output.page, lambda: stop.requested,
                                    reference=reference, limit=limit, interval=interval,
                                    programme=programme)
                else:
                    for page in feed.read(ledger, after, reference, limit, programme):
                        output.page(page)
            output.close()
        except _ConsumerGone:
            _consumer_gone()
    run(body, writes=False)


def _consumer_gone() -> None:
    """The reader closed the pipe (``events --follow | head``): a consumer may stop
    reading whenever it has what it wants, so the feed ends quietly, exit 0. Standard
    output now points at nothing, so the flush at exit cannot fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


COMMANDS = [events]
