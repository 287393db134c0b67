"""audit export | audit replay: evidence packs, written from the ledger and read back
with no ledger at all.

Apart from audit.py because these two commands deal in pack files (and replay's anchoring
of a pack to published heads) where the rest of the group reads the ledger itself; they are
added to the ``audit`` group with the others (``cli._register``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import click

from ..audit import checkpoints
from ..audit.evidence import StoredRow, write_pack
from ..audit.pack_verification import ReplayedPack, Unanchored, anchor, read_pack
from ..domain.errors import InvalidInput, LedgerError, Problem
from ..domain.payments.mechanism import compute
from ..report import render
from ..storage.application import stream_id
from ..storage.chain import ChainVerifier
from ..storage.head import Head
from ..storage.store import Ledger
from .audit import parse_head
from .base import (
    Context,
    check_moment,
    emit,
    format_option,
    parse_moment,
    pass_context,
    resolve_format,
    run,
)
from .checkpoint import checkpoint_log_of, checkpoint_options
from .output import atomic_output


def stored_rows(ledger: Ledger, reference: str | None = None,
                as_of: int | datetime | None = None) -> Iterator[StoredRow]:
    """Stored events in global order, optionally one contract's and up to ``as_of``."""
    stream = stream_id(reference) if reference else None
    upto = as_of if isinstance(as_of, int) else None
    for s in ledger.feed(upto=upto):
        if stream is not None and s.stream != stream:
            continue
        if isinstance(as_of, datetime) and s.event.recorded_at > as_of:
            continue
        yield StoredRow(s.position, s.stream, s.version, s.topic, s.state)


@click.command("export")
@click.argument("reference", required=False)
@click.option("--as-of", "as_of", callback=check_moment, default=None,
              help="Only events up to this position or time.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the pack here (default: stdout).")
@pass_context
def audit_export(c: Context, reference: str | None, as_of: str | None,
                 output: Path | None) -> None:
    """Write an evidence pack (NDJSON): header with heads, then every event with its hash."""
    def body() -> None:
        limit = parse_moment(as_of, "--as-of") if as_of else None
        with c.ledger() as ledger:
            if reference:
                ledger.get(reference)
            contracts = [reference] if reference else ledger.references()
            rows = list(stored_rows(ledger, reference, limit))
            whole = ChainVerifier(full_decode=False)
            for row in stored_rows(ledger, None, limit):
                whole.add(row.position, row.stream, row.version, row.topic, row.state)
        stream_heads = [h[:4] for h in whole.streams.values()]
        if output:
            # Whole or not at all, and never over the ledger (cli/output.py).
            with atomic_output(output, ledger.location) as target:
                head = write_pack(target, rows, contracts, as_of, whole.head(), stream_heads)
        else:
            head = write_pack(sys.stdout.buffer, rows, contracts, as_of, whole.head(),
                              stream_heads)
            sys.stdout.buffer.flush()
        c.say(f"exported {len(rows)} events; pack head {head}")
    run(body)


@click.command("replay")
@click.argument("pack", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--contract", "reference", default=None, help="Only this contract's payments.")
@click.option("--head", "published", default=None,
              help="A published ledger head POSITION:HASH the pack must match.")
@checkpoint_options("A checkpoint log (from `audit checkpoint`) the pack must match.")
@format_option()
@pass_context
def audit_replay(c: Context, pack: Path, reference: str | None, published: str | None,
                 log: Path | None, key: Path | None, fmt: str | None) -> None:
    """Verify a pack and print its payments, with no ledger database at all."""
    anchors = checkpoint_log_of(log, key)

    def body() -> None:
        pinned = parse_head(published) if published else None
        entries = anchors() if anchors is not None else []
        pins = [e.checkpoint.position for e in entries] + ([pinned.position] if pinned else [])
        try:
            handle = pack.open("rb")
        except OSError as e:
            raise InvalidInput([Problem(str(pack), None, "file",
                                        f"cannot read ({e.strerror})")]) from None
        with handle:
            replayed = read_pack(iter(handle), str(pack), pins)
        anchored = _anchor_pack(str(pack), replayed, pinned, entries)
        refs = [reference] if reference else sorted(replayed.states)
        out = resolve_format(fmt)
        results = []
        for ref in refs:
            state = replayed.states.get(ref)
            if state is None or not state.exists:
                raise LedgerError(f"the pack holds no contract {ref!r}")
            schedule = compute(state)
            data = render.payments_json(schedule, schedule.periods)
            results.append((schedule, data, render.with_programme(data, state)))
        if out == "json" and reference:
            click.echo(render.to_json(results[0][1]))
        elif out == "json":
            click.echo(render.to_json({"pack_head": str(replayed.head),
                                       "contracts": [r[1] for r in results]}))
        else:
            for schedule, data, programme in results:
                emit(out, render.payments_table(schedule, schedule.periods,
                                                machine=out != "table"), data)
                if programme and out == "table":
                    click.echo(f"\n{programme}")
        c.say(f"pack verified: {replayed.header.events} events, head {replayed.head}; "
              + (anchored or "checked against itself only (give --head or --checkpoints to "
                 "check it against a head published outside it)"))
    run(body, writes=False)


def _anchor_pack(source: str, pack: ReplayedPack, pinned: Head | None,
                 entries: list[checkpoints.Entry]) -> str | None:
    """Check a pack against a published head and a checkpoint log: refused when it differs
    from either, or when neither can be compared with it; what anchored it otherwise."""
    said: list[str] = []
    if pinned is not None:
        try:
            why = anchor(pack, pinned)
        except Unanchored as e:
            raise InvalidInput([Problem("--head", None, "head", f"cannot check the pack "
                                        f"against it: {e}")]) from None
        if why:
            raise InvalidInput([Problem(source, None, "pack", why)])
        said.append(f"matches the published head {pinned}")
    matched: list[checkpoints.Entry] = []
    skipped: list[str] = []
    for entry in entries:
        try:
            why = anchor(pack, entry.checkpoint.pinned(), entry.checkpoint.stream_heads)
        except Unanchored as u:
            skipped.append(f"{entry.where}: {u}")
            continue
        if why:
            raise InvalidInput([Problem(source, None, "pack", f"checkpoint {entry.where} "
                                        f"({entry.checkpoint.time}): {why}")])
        matched.append(entry)
    if entries and not matched:
        raise InvalidInput([Problem("--checkpoints", None, "checkpoints", "no checkpoint can "
                                    "be compared with this pack (" + "; ".join(skipped[-3:])
                                    + ")")])
    if matched:
        last = matched[-1]
        said.append(f"matches {len(matched)} checkpoint(s), the latest {last.where} at "
                    f"position {last.checkpoint.position} ({last.checkpoint.time})")
    return "; ".join(said) or None


COMMANDS = [audit_export, audit_replay]
