"""audit verify | log | export | replay | head | checkpoint."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path
from uuid import UUID

import click

from ..app.replay import check, stored_batches, verify_ledger
from ..audit import checkpoint_log, checkpoints
from ..audit.evidence import StoredRow, write_pack
from ..audit.log import LogEntry, describe, source_fields, source_of
from ..audit.pack_verification import ReplayedPack, Unanchored, anchor, read_pack
from ..domain.contract.state import ContractState, evolve
from ..domain.errors import InvalidInput, LedgerError, Problem
from ..domain.events import EVENT_TYPES
from ..domain.payments.mechanism import compute
from ..domain.timestamps import rfc3339
from ..report import render
from ..storage.chain import ChainVerifier
from ..storage.head import Head
from ..storage.store import Ledger, stream_id
from .base import (
    Context,
    F,
    check_moment,
    emit,
    format_option,
    parse_moment,
    pass_context,
    resolve_format,
    run,
)
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


def checkpoint_options(log_help: str) -> Callable[[F], F]:
    """``--checkpoints LOG --key PUB``, given together."""
    def decorate(fn: F) -> F:
        fn = click.option("--key", "key", default=None,
                          type=click.Path(dir_okay=False, path_type=Path),
                          help="The public key the checkpoints are signed with (the base64 "
                          "line `returns keygen` printed).")(fn)
        return click.option("--checkpoints", "log", default=None,
                            type=click.Path(dir_okay=False, path_type=Path),
                            help=log_help)(fn)
    return decorate


def _anchors(log: Path | None, key: Path | None
             ) -> Callable[[], list[checkpoints.Entry]] | None:
    """The checkpoint log to check against, read (and every signature checked) when the
    command body runs, so a bad file is a refusal like any other bad input."""
    if (log is None) != (key is None):
        raise click.UsageError("--checkpoints and --key go together: the log and the public "
                               "key its checkpoints are signed with")
    if log is None or key is None:
        return None
    return lambda: checkpoint_log.load(log, key)


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
    anchors = _anchors(log, key)

    def body() -> None:
        with c.ledger() as ledger:
            verifier = verify_ledger(ledger, full_decode=full)
        head = verifier.head()
        problems = [str(m) for m in verifier.mismatches]
        with c.ledger() as ledger:
            # Every event decided again by the rules; every read model present, caught
            # up, and what a replay of the events gives.
            checked = check(ledger, rules=not no_rules, limit=50)
        problems += [f"rule: {v}" for v in checked.violations]
        if checked.violation_count > len(checked.violations):
            problems.append(f"rule: {checked.violation_count - len(checked.violations)} "
                            "more event(s) the rules would not have recorded")
        problems += [f"projection: {d}" for d in checked.findings]
        if anchors is not None:
            problems += _checkpoint_problems(c, anchors(), verifier)
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
        c.say("verified: every hash chain is intact" + (
            "" if no_rules else ", every event is one the rules would have recorded"))
    run(body, writes=False)


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
    known = [t.__name__ for t in EVENT_TYPES]
    if kind and kind not in known:
        raise click.BadParameter(f"no such event type (got {kind!r}, expected one of "
                                 f"{', '.join(known)})", param_hint="--type")

    def body() -> None:
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
                                        event.reason, source_of(event), s.hash,
                                        *source_fields(event), event.prev_hash))
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
        out = resolve_format(fmt)
        if out == "table":
            show = render.shown  # one entry, its lines: stored line breaks are escaped
            for e in entries:
                click.echo(f"#{e.position} {e.recorded_at:%Y-%m-%d %H:%M} "
                           f"{show(e.recorded_by)}  {show(e.contract)} {e.type}\n    "
                           f"{show(e.what)}\n    why: {show(e.why or '-')}"
                           + (f"\n    file: {show(e.file)}" if e.file else ""))
        else:
            emit(out, render.Table("Audit log", columns, rows), data)
    run(body, writes=False)


@audit.command("export")
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


@audit.command("replay")
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
    anchors = _anchors(log, key)

    def body() -> None:
        pinned = _parse_head(published) if published else None
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
        c.say(f"pack verified: {replayed.header.events} events, head {replayed.head}; "
              + (anchored or "checked against itself only (give --head or --checkpoints to "
                 "check it against a head published outside it)"))
    run(body, writes=False)


def _parse_head(text: str) -> Head:
    try:
        return Head.parse(text)
    except ValueError as e:
        raise InvalidInput([Problem("--head", None, "head", str(e))]) from None


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


def _checkpoint_problems(c: Context, entries: list[checkpoints.Entry],
                         verified: ChainVerifier) -> list[str]:
    """What differs between the ledger ``verified`` read and each checkpoint. With every
    chain intact, each stream's latest event up to a checkpoint vouches for the rest: one
    indexed read per checkpoint (0.3 s at 300,000 events, a walk 7 s). Otherwise, or for a
    long log, one more pass over the events (the chain walk may have run in worker
    processes that keep no intermediate heads)."""
    pins = [e.checkpoint.position for e in entries]
    with c.ledger() as ledger:
        if not verified.mismatches and ledger.has_projections and len(set(pins)) <= 16:
            with closing(ledger.connect()) as conn:
                snapshots = checkpoints.snapshots_of_heads(conn, pins)
            if snapshots is not None:
                return checkpoints.problems(entries, verified, snapshots)
    with c.ledger() as ledger:
        walked, snapshots = checkpoints.walk(stored_batches(ledger), pins)
    return checkpoints.problems(entries, walked, snapshots)


@audit.command("checkpoint")
@click.option("--key", "key", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The commissioner's private key (PEM, from `returns keygen --out`).")
@click.option("--log", "log", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Append the checkpoint to this log (default: print it). The ledger "
              "must still extend every checkpoint already in it.")
@click.option("--no-streams", "no_streams", is_flag=True,
              help="Leave out each contract's stream head (a shorter line; a mismatch is "
              "then not traced to a contract, nor a one-contract pack checked against it).")
@pass_context
def audit_checkpoint(c: Context, key: Path, log: Path | None, no_streams: bool) -> None:
    """Sign the ledger head (position, hash, events, time) and append it to a log kept
    outside the database: what `audit verify --checkpoints` checks the ledger against."""
    def body() -> None:
        private = checkpoint_log.read_private_key(key)
        entries = checkpoint_log.read_log(log, missing_ok=True) if log else []
        if entries:
            checkpoint_log.check_signatures(entries, private.public_key(), str(key))
        with c.ledger() as ledger:
            verifier, snapshots = checkpoints.walk(
                stored_batches(ledger), [e.checkpoint.position for e in entries])
        if verifier.count == 0:
            raise LedgerError("the ledger holds no events: nothing to checkpoint")
        if verifier.mismatches:
            raise LedgerError(f"the ledger's hash chains do not verify ({verifier.mismatches[0]}"
                              f"{' …' if len(verifier.mismatches) > 1 else ''}): not signing "
                              "a head over them; run `audit verify`")
        differ = checkpoints.problems(entries, verifier, snapshots)
        if differ:
            raise LedgerError("the ledger no longer extends the log, not appending: "
                              + "; ".join(differ))
        made = checkpoints.make(verifier, private, streams=not no_streams)
        if log:
            try:
                checkpoint_log.append(log, made)
            except OSError as e:
                raise InvalidInput([Problem(str(log), None, "--log",
                                            f"cannot append ({e.strerror or e})")]) from None
            c.say(f"checkpoint of {made.position}:{made.head} ({made.events} events) "
                  f"appended to {log}")
        else:
            click.echo(checkpoints.line_of(made).decode(), nl=False)
    run(body)


COMMANDS = [audit]
__all__ = ["COMMANDS", "UUID", "stored_rows"]
