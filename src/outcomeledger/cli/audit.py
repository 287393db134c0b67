"""audit verify | log | head (export, replay: evidence.py; checkpoint: checkpoint.py)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from ..app.replay import check, stored_batches, verify_ledger
from ..audit.log import (
    LogEntry,
    describe,
    describe_programme,
    describe_registration,
    source_fields,
    source_of,
)
from ..domain.contract.state import ContractState, evolve
from ..domain.errors import InvalidInput, Problem
from ..domain.events import EVENT_TYPES
from ..domain.programme.events import PROGRAMME_EVENT_TYPES, ProgrammeEvent
from ..domain.registry.events import REGISTRY, REGISTRY_EVENT_TYPES, RegistryEvent
from ..domain.timestamps import rfc3339
from ..report import render
from ..storage.application import stream_id
from ..storage.chain import ChainVerifier
from ..storage.head import Head
from ..storage.store import Ledger
from .base import (
    Context,
    emit,
    format_option,
    parse_moment,
    pass_context,
    resolve_format,
    run,
)
from .checkpoint import checkpoint_log_of, checkpoint_options, checkpoint_problems


@click.group()
def audit() -> None:
    """Verify integrity, read the trail, export and replay evidence packs."""


@audit.command("verify")
@click.option("--head", "published", default=None,
              help="A published ledger head POSITION:HASH the history must still match.")
@click.option("--full", is_flag=True,
              help="Also decode every event and check its bytes are the canonical encoding "
              "(by default only each stream's latest event: the chain vouches for the rest).")
@click.option("--no-rules", "no_rules", is_flag=True,
              help="Skip deciding every event again (by default each stored event must be "
              "one the rules would have recorded, given the events before it).")
@checkpoint_options("Every checkpoint of this log (from `audit checkpoint`) the ledger must "
                    "still extend.")
@format_option("table", "json")
@pass_context
def audit_verify(c: Context, published: str | None, full: bool, no_rules: bool,
                 log: Path | None, key: Path | None, fmt: str | None) -> None:
    """Recompute every hash chain, decide every event again by the rules and recompute
    every projection; exit 1 on any mismatch."""
    anchors = checkpoint_log_of(log, key)

    def body() -> None:
        with c.ledger() as ledger:
            verifier = verify_ledger(ledger, full_decode=full)
        head = verifier.head()
        problems = [str(m) for m in verifier.mismatches]
        problems += _decided_again(c, rules=not no_rules)
        if anchors is not None:
            problems += checkpoint_problems(c, anchors(), verifier)
        if published:
            problems += _published_head_problems(c, published, head)
        data = {"events": verifier.count, "streams": len(verifier.streams),
                "head": str(head), "ok": not problems, "mismatches": problems}
        if resolve_format(fmt) == "json":
            click.echo(render.to_json(data))
        else:
            for p in problems:
                click.echo(f"MISMATCH {p}")
            click.echo(f"{verifier.count} events in {len(verifier.streams)} streams; "
                       f"ledger head {head}")
        if problems:
            click.echo(f"verification failed: {len(problems)} mismatch(es)", err=True)
            sys.exit(1)
        c.say("verified: every hash chain is intact" + (
            "" if no_rules else ", every event is one the rules would have recorded"))
    run(body, writes=False)


def _decided_again(c: Context, *, rules: bool) -> list[str]:
    """Every event decided again by the rules; every read model present, caught up, and
    what a replay of the events gives."""
    with c.ledger() as ledger:
        checked = check(ledger, rules=rules, limit=50)
    problems = [f"rule: {v}" for v in checked.violations]
    if checked.violation_count > len(checked.violations):
        problems.append(f"rule: {checked.violation_count - len(checked.violations)} "
                        "more event(s) the rules would not have recorded")
    problems += [f"projection: {d}" for d in checked.findings]
    return problems


def parse_head(text: str) -> Head:
    try:
        return Head.parse(text)
    except ValueError as e:
        raise InvalidInput([Problem("--head", None, "head", str(e))]) from None


def _published_head_problems(c: Context, published: str, head: Head) -> list[str]:
    """What differs between the ledger (its head ``head``) and a head published as
    ``published``: a shorter ledger, another head, or another history up to it."""
    pinned = parse_head(published)
    if pinned.position > head.position:
        return [f"ledger ends at position {head.position} but the published "
                f"head is at {pinned.position}: events deleted from the tail"]
    if pinned.position == head.position and pinned.hash != head.hash:
        return [f"ledger head {head} differs from the published head "
                f"{published}: history was rewritten"]
    if pinned.position < head.position:
        replayed = ChainVerifier(full_decode=False)
        with c.ledger() as ledger:
            for rows in stored_batches(ledger, upto=pinned.position):
                replayed.add_rows(rows)
        if replayed.head().hash != pinned.hash:
            return [f"the ledger up to position {pinned.position} hashes to "
                    f"{replayed.head().hash}, not the published "
                    f"{pinned.hash}: history before it was rewritten"]
    return []


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
    run(body, writes=False)


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
    moment = parse_moment(since, "--since") if since else None
    if isinstance(moment, int):
        raise click.BadParameter(f"expected an ISO timestamp (got {since!r})",
                                 param_hint="--since")
    known = [t.__name__ for t in (*EVENT_TYPES, *PROGRAMME_EVENT_TYPES,
                                  *REGISTRY_EVENT_TYPES)]
    if kind and kind not in known:
        raise click.BadParameter(f"no such event type (got {kind!r}, expected one of "
                                 f"{', '.join(known)})", param_hint="--type")

    def body() -> None:
        with c.ledger() as ledger:
            entries = _log_entries(ledger, reference, moment, actor, kind)
        _show_log(entries, resolve_format(fmt))
    run(body, writes=False)


def _log_entries(ledger: Ledger, reference: str | None, since: datetime | None,
                 actor: str | None, kind: str | None) -> list[LogEntry]:
    """The trail's entries: every event (of ``reference`` only, if given) folded in
    order, so each is described against the state just before it; the filters pick."""
    entries: list[LogEntry] = []
    states: dict[str, ContractState] = {}
    if reference:
        ledger.get(reference)
    wanted = stream_id(reference) if reference else None
    for s in ledger.feed():
        if wanted is not None and s.stream != wanted:
            continue
        event = s.event
        if isinstance(event, ProgrammeEvent):
            # A programme's own events (DESIGN 10), under the programme's reference.
            where, what = event.programme, describe_programme(event)
        elif isinstance(event, RegistryEvent):
            # The actor registry's (issue 21), under the registry's name.
            where, what = REGISTRY, describe_registration(event)
        else:
            before = states.get(event.contract) or ContractState(event.contract)
            states[event.contract] = evolve(before, event, s.hash)
            where, what = event.contract, describe(event, before)
        if since is not None and event.recorded_at < since:
            continue
        if actor and event.recorded_by != actor:
            continue
        if kind and type(event).__name__ != kind:
            continue
        entries.append(LogEntry(s.position, where, s.version,
                                event.recorded_at, event.recorded_by,
                                type(event).__name__, what,
                                event.reason, source_of(event), s.hash,
                                *source_fields(event), event.prev_hash))
    return entries


def _show_log(entries: list[LogEntry], out: str) -> None:
    """The trail as a readable table (one entry, its lines), or in a machine format."""
    if out == "table":
        show = render.shown  # one entry, its lines: stored line breaks are escaped
        for e in entries:
            click.echo(f"#{e.position} {e.recorded_at:%Y-%m-%d %H:%M} "
                       f"{show(e.recorded_by)}  {show(e.contract)} {e.type}\n    "
                       f"{show(e.what)}\n    why: {show(e.why or '-')}"
                       + (f"\n    file: {show(e.file)}" if e.file else ""))
        return
    # Machine formats: RFC 3339 times, the file's name and full SHA-256 apart, and
    # prev_hash explicit (64 zeros for a stream's first event).
    columns = ("position", "recorded_at", "recorded_by", "contract", "type", "what",
               "why", "file", "file_sha256", "hash", "prev_hash")
    rows = [[str(e.position), rfc3339(e.recorded_at), e.recorded_by, e.contract,
             e.type, e.what, e.why, e.file_name, e.file_sha256, e.hash, e.prev_hash]
            for e in entries]
    data = [{"position": e.position, "recorded_at": rfc3339(e.recorded_at),
             "recorded_by": e.recorded_by, "contract": e.contract, "version": e.version,
             "type": e.type, "what": e.what, "why": e.why, "file": e.file_name or None,
             "file_sha256": e.file_sha256 or None, "hash": e.hash,
             "prev_hash": e.prev_hash} for e in entries]
    emit(out, render.Table("Audit log", columns, rows), data)


COMMANDS = [audit]
