"""audit verify | log | export | replay | head."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from uuid import UUID

import click

from .. import render
from ..audit import LogEntry, describe, source_of
from ..chain import ChainVerifier, Head
from ..errors import InvalidInput, LedgerError, Problem
from ..evidence import StoredRow, parse_as_of, read_pack, write_pack
from ..mechanism import compute
from ..replay import differences, stored_batches, verify_ledger
from ..state import ContractState, evolve
from ..store import Ledger, stream_id
from .base import Context, emit, format_option, pass_context, resolve_format, run


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


@click.group()
def audit() -> None:
    """Verify integrity, read the trail, export and replay evidence packs."""


@audit.command("verify")
@click.option("--head", "published", default=None,
              help="A published ledger head POSITION:HASH the history must still match.")
@click.option("--full", is_flag=True,
              help="Also decode every event and check its bytes are the canonical encoding "
              "(by default only each stream's latest event: the chain vouches for the rest).")
@format_option("table", "json")
@pass_context
def audit_verify(c: Context, published: str | None, full: bool, fmt: str | None) -> None:
    """Recompute every hash chain and every projection; exit 1 on any mismatch."""
    def body() -> None:
        with c.ledger() as ledger:
            verifier = verify_ledger(ledger, full_decode=full)
        head = verifier.head()
        problems = [str(m) for m in verifier.mismatches]
        with c.ledger() as ledger:
            if ledger.has_projections:
                # Rebuild every projection in memory and compare with the stored rows.
                problems += [f"projection: {d}" for d in differences(ledger, limit=50)]
        if published:
            try:
                pinned = Head.parse(published)
            except ValueError as e:
                raise InvalidInput([Problem("--head", None, "head", str(e))]) from None
            if pinned.position > head.position:
                problems.append(f"ledger ends at position {head.position} but the published "
                                f"head is at {pinned.position}: events deleted from the tail")
            elif pinned.position == head.position and pinned.hash != head.hash:
                problems.append(f"ledger head {head} differs from the published head "
                                f"{published}: history was rewritten")
            elif pinned.position < head.position:
                replayed = ChainVerifier(full_decode=False)
                with c.ledger() as ledger:
                    for rows in stored_batches(ledger, upto=pinned.position):
                        replayed.add_rows(rows)
                if replayed.head().hash != pinned.hash:
                    problems.append(f"the ledger up to position {pinned.position} hashes to "
                                    f"{replayed.head().hash}, not the published "
                                    f"{pinned.hash}: history before it was rewritten")
        data = {"events": verifier.count, "streams": len(verifier.streams),
                "head": str(head), "ok": not problems, "mismatches": problems}
        if resolve_format(fmt) == "json":
            click.echo(render.to_json(data))
        else:
            for p in problems:
                click.echo(f"MISMATCH {p}")
            click.echo(f"{verifier.count} events in {len(verifier.streams)} contract streams; "
                       f"ledger head {head}")
        if problems:
            click.echo(f"verification failed: {len(problems)} mismatch(es)", err=True)
            sys.exit(1)
        c.say("verified: every hash chain is intact")
    run(body)


@audit.command("head")
@pass_context
def audit_head(c: Context) -> None:
    """Print the ledger head (POSITION:HASH) to publish elsewhere."""
    def body() -> None:
        verifier = ChainVerifier(full_decode=False)
        with c.ledger() as ledger:
            for rows in stored_batches(ledger):
                verifier.add_rows(rows)
        click.echo(str(verifier.head()))
    run(body)


@audit.command("log")
@click.argument("reference", required=False)
@click.option("--since", default=None, help="Only events recorded at or after this time.")
@click.option("--actor", "actor", default=None, help="Only events recorded by this actor.")
@click.option("--type", "kind", default=None, help="Only events of this type, e.g. "
              "ReturnRestated.")
@format_option()
@pass_context
def audit_log(c: Context, reference: str | None, since: str | None, actor: str | None,
              kind: str | None, fmt: str | None) -> None:
    """The trail: when, who, what, why, which file; before → after for variations."""
    def body() -> None:
        moment = parse_as_of(since) if since else None
        if isinstance(moment, int):
            raise InvalidInput([Problem("--since", None, "since",
                                        f"expected an ISO timestamp (got {since!r})")])
        entries: list[LogEntry] = []
        states: dict[str, ContractState] = {}
        with c.ledger() as ledger:
            if reference:
                ledger.get(reference)
            wanted = stream_id(reference) if reference else None
            for s in ledger.feed():
                if wanted is not None and s.stream != wanted:
                    continue
                event = s.event
                before = states.get(event.contract) or ContractState(event.contract)
                states[event.contract] = evolve(before, event, s.hash)
                if moment is not None and event.recorded_at < moment:
                    continue
                if actor and event.recorded_by != actor:
                    continue
                if kind and type(event).__name__ != kind:
                    continue
                entries.append(LogEntry(s.position, event.contract, s.version,
                                        event.recorded_at, event.recorded_by,
                                        type(event).__name__, describe(event, before),
                                        event.reason, source_of(event), s.hash))
        columns = ("position", "recorded_at", "recorded_by", "contract", "type", "what",
                   "why", "file")
        rows = [[str(e.position), e.recorded_at.isoformat(), e.recorded_by, e.contract,
                 e.type, e.what, e.why, e.file] for e in entries]
        data = [{"position": e.position, "recorded_at": e.recorded_at.isoformat(),
                 "recorded_by": e.recorded_by, "contract": e.contract, "version": e.version,
                 "type": e.type, "what": e.what, "why": e.why, "file": e.file,
                 "hash": e.hash} for e in entries]
        out = resolve_format(fmt)
        if out == "table":
            for e in entries:
                click.echo(f"#{e.position} {e.recorded_at:%Y-%m-%d %H:%M} {e.recorded_by}  "
                           f"{e.contract} {e.type}\n    {e.what}\n    why: {e.why or '-'}"
                           + (f"\n    file: {e.file}" if e.file else ""))
        else:
            emit(out, render.Table("Audit log", columns, rows), data)
    run(body)


@audit.command("export")
@click.argument("reference", required=False)
@click.option("--as-of", "as_of", default=None, help="Only events up to this position or time.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the pack here (default: stdout).")
@pass_context
def audit_export(c: Context, reference: str | None, as_of: str | None,
                 output: Path | None) -> None:
    """Write an evidence pack (NDJSON): header with heads, then every event with its hash."""
    def body() -> None:
        limit = parse_as_of(as_of) if as_of else None
        with c.ledger() as ledger:
            if reference:
                ledger.get(reference)
            contracts = [reference] if reference else ledger.references()
            rows = list(stored_rows(ledger, reference, limit))
            whole = ChainVerifier(full_decode=False)
            for row in stored_rows(ledger, None, limit):
                whole.add(row.position, row.stream, row.version, row.topic, row.state)
        target = output.open("wb") if output else sys.stdout.buffer
        try:
            head = write_pack(target, rows, contracts, as_of, whole.head())
        finally:
            if output:
                target.close()
            else:
                target.flush()
        c.say(f"exported {len(rows)} events; pack head {head}")
    run(body)


@audit.command("replay")
@click.argument("pack", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--contract", "reference", default=None, help="Only this contract's payments.")
@format_option()
@pass_context
def audit_replay(c: Context, pack: Path, reference: str | None, fmt: str | None) -> None:
    """Verify a pack and print its payments, with no ledger database at all."""
    def body() -> None:
        try:
            handle = pack.open("rb")
        except OSError as e:
            raise InvalidInput([Problem(str(pack), None, "file",
                                        f"cannot read ({e.strerror})")]) from None
        with handle:
            replayed = read_pack(iter(handle), str(pack))
        refs = [reference] if reference else sorted(replayed.states)
        out = resolve_format(fmt)
        results = []
        for ref in refs:
            state = replayed.states.get(ref)
            if state is None or not state.exists:
                raise LedgerError(f"the pack holds no contract {ref!r}")
            schedule = compute(state)
            results.append((schedule, render.payments_json(schedule, schedule.periods)))
        if out == "json" and reference:
            click.echo(render.to_json(results[0][1]))
        elif out == "json":
            click.echo(render.to_json({"pack_head": str(replayed.head),
                                       "contracts": [r[1] for r in results]}))
        else:
            for schedule, data in results:
                emit(out, render.payments_table(schedule, schedule.periods,
                                                machine=out != "table"), data)
        c.say(f"pack verified: {replayed.header.events} events, head {replayed.head}")
    run(body)


COMMANDS = [audit]
__all__ = ["COMMANDS", "UUID", "stored_rows"]
