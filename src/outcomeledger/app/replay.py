"""Replay: rebuild the projections, read the ledger as of a point, load recorded histories.

``--as-of`` is a global position (what the ledger held once that event was recorded) or
a timestamp (events recorded at or before it). Either way every contract is read as a
prefix of its stream, computed from the events alone; live tables are never touched,
so an as-of answer is what the live command printed at that moment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import msgspec
from eventsourcing.persistence import StoredEvent

from .. import projections
from ..audit.evidence import PackEvent, parse_as_of
from ..audit.pack_verification import read_pack
from ..domain import codec
from ..domain.contract.state import ContractState
from ..domain.contract.validity import StreamRules, Violation
from ..domain.errors import InvalidInput, LedgerError, Problem, UnknownContract
from ..domain.programme.validity import ProgrammeRules
from ..projections import compare, source, sql
from ..projections.base import ContractView, RawEvent
from ..projections.projector import Progress
from ..projections.sql import snapshot
from ..storage.application import stream_id
from ..storage.chain import ChainVerifier
from ..storage.location import StoreError
from ..storage.store import Ledger
from ..storage.verification import verify, verify_sqlite


def cutoff(ledger: Ledger, as_of: str) -> projections.Cutoff:
    """Parse ``--as-of POSITION|TIMESTAMP`` against the ledger's current head."""
    parsed = parse_as_of(as_of.strip())
    head = ledger.max_position()
    if isinstance(parsed, datetime):
        return projections.Cutoff(head, parsed)
    if parsed < 1 or parsed > head:
        raise InvalidInput([Problem("--as-of", None, "as_of", f"no such position (got "
                                    f"{parsed}, expected 1 to {head})")])
    return projections.Cutoff(parsed)


def contract_as_of(ledger: Ledger, reference: str, as_of: str) -> ContractState:
    """The contract as the ledger held it at ``as_of``, from its events alone."""
    return view_as_of(ledger, reference, as_of).state


def view_as_of(ledger: Ledger, reference: str, as_of: str) -> ContractView:
    """The contract as the ledger held it at ``as_of``, and its events up to then."""
    limit = cutoff(ledger, as_of)
    with closing(ledger.connect()) as conn:
        view = source.contract_view(conn, stream_id(reference).hex, limit)
    if view is None or not view.state.exists:
        if ledger.load(reference).exists:
            raise LedgerError(f"{reference} was not yet agreed as of {as_of}")
        raise UnknownContract(reference)
    return view


def projections_as_of(ledger: Ledger, as_of: str) -> Iterator[bytes]:
    """Every projection table as it stood at ``as_of``, as canonical NDJSON lines."""
    limit = cutoff(ledger, as_of)
    with closing(ledger.connect()) as conn, closing(projections.in_memory(conn, limit)) as mem:
        yield from projections.dump(mem)


def rebuild(ledger: Ledger, progress: Progress | None = None) -> projections.CatchUp:
    """Every read model rebuilt from position 0; one that cannot be computed is a
    StoreError naming it (the live tables are left as they were)."""
    from ..projections.projector import failure

    with closing(ledger.connect()) as conn:
        try:
            return projections.rebuild(conn, progress=progress)
        except Exception as e:
            if (what := failure(e)) is not None:
                raise StoreError(f"the projections cannot be rebuilt: {what}") from e
            raise


def differences(ledger: Ledger, limit: int = 20) -> list[str]:
    """Rows where the live tables differ from a replay of the events they track."""
    with closing(ledger.connect()) as conn:
        projections.ensure(conn)
        # One snapshot: a follower committing a batch between reading the tracked
        # position and the rows would otherwise show as differences.
        with snapshot(conn):
            tracked = projections.positions(conn)
            if min(tracked.values()) == 0:
                return []
            return compare.differences(conn, tracked, limit=limit)


@dataclass
class Checked:
    """What ``audit verify`` found beyond the chains: the rules, the read models."""

    findings: list[str] = field(default_factory=list)  # read models: missing, behind, differ
    violations: list[Violation] = field(default_factory=list)  # the first ``limit``
    violation_count: int = 0
    checked: int = 0  # events judged by the rules


def check(ledger: Ledger, *, rules: bool = True, limit: int = 50,
          workers: int | None = None) -> Checked:
    """Every stored event judged by the rules (:mod:`.rules`), and the read models checked:
    every table and tracking position present, none behind the ledger, and every row
    what a replay of the events they track gives (:func:`compare.verify`). Reads only:
    a missing table is reported, not created (a dropped ``tracking`` table recreated
    empty would hide itself and then trip the projector on rows already there)."""
    if not ledger.has_projections:
        return _check_in_memory(ledger, rules, limit)
    out = Checked()
    with closing(ledger.connect()) as conn, snapshot(conn):
        head = source.head(conn)
        names = [t.name for p in projections.PROJECTIONS for t in p.tables]
        missing = sorted({*names, "tracking"} - sql.existing(conn, [*names, "tracking"]))
        tracked: dict[str, int] | None = None
        if missing:
            out.findings.append(f"projection tables missing: {', '.join(missing)} (rebuild "
                                "them with `outcomeledger replay`)")
        else:
            tracked = projections.positions(conn)
            for p in projections.PROJECTIONS:
                behind = head - tracked[p.name]
                if behind > 0:
                    out.findings.append(
                        f"projection proj_{p.name} is at position {tracked[p.name]} but the "
                        f"ledger at {head}: {behind} event(s) not projected (run "
                        "`outcomeledger project`)")
            if min(tracked.values()) == 0:
                tracked = None  # nothing projected yet: no rows to compare
        found = compare.verify(conn, tracked, head, rules=rules, limit=limit,
                               workers=workers)
        programmes = ProgrammeRules()
        if rules:
            for row in source.programme_rows(conn, head):
                programmes.add(*row)
            programmes.finish()
    out.findings += found.differences
    out.violations, out.violation_count, out.checked = _with_programmes(
        found.violations, found.violation_count, found.checked, programmes, limit)
    return out


def _with_programmes(violations: list[Violation], count: int, checked: int,
                     programmes: ProgrammeRules, limit: int
                     ) -> tuple[list[Violation], int, int]:
    """The contracts' findings with the programmes' (DESIGN 10), in position order."""
    joined = sorted([*violations, *programmes.violations], key=lambda v: v.position)
    return (joined[:limit], count + len(programmes.violations),
            checked + programmes.checked)


def _check_in_memory(ledger: Ledger, rules: bool, limit: int) -> Checked:
    """:func:`check` of a ledger with no read models (an in-memory SQLite store)."""
    streams: dict[str, StreamRules] = {}
    programmes = ProgrammeRules()
    for rows in stored_batches(ledger):
        for position, stream, version, topic, data in rows:
            if rules:
                programmes.add(position, version, topic, data)
            if codec.is_ledger_topic(topic):
                continue
            checker = streams.get(stream)
            if checker is None:
                checker = streams[stream] = StreamRules(rules=rules)
            checker.add(position, version, topic, data)
    programmes.finish()
    found = sorted((v for c in streams.values() for v in c.violations),
                   key=lambda v: v.position)
    violations, count, checked = _with_programmes(
        found, len(found), sum(c.checked for c in streams.values()), programmes, limit)
    return Checked([], violations, count, checked)


def stored_batches(ledger: Ledger, upto: int | None = None,
                   size: int = 2000) -> Iterator[Sequence[RawEvent]]:
    """Every stored event (up to position ``upto``) in global order, as raw rows
    (position, stream id as uuid hex, version, topic, stored bytes) in big batches.

    Read with a plain cursor where the database allows one: no per-event objects, so a
    whole-ledger check (``audit verify``, ``audit head``) costs little more than the scan.
    """
    if ledger.has_projections:
        with closing(ledger.connect()) as conn:
            yield from source.scan(conn, 0, source.head(conn) if upto is None else upto, size)
        return
    position = 0
    while rows := ledger.notifications(position, 1000):
        batch = [(n.id, (n.originator_id if isinstance(n.originator_id, UUID)
                         else UUID(str(n.originator_id))).hex, n.originator_version, n.topic,
                  n.state) for n in rows if upto is None or n.id <= upto]
        if batch:
            yield batch
        if len(batch) < len(rows):
            return
        position = rows[-1].id


#: Ledgers at least this long are verified by several processes (start-up costs ~0.2 s).
PARALLEL_VERIFY_FROM = 200_000


def verify_ledger(ledger: Ledger, *, full_decode: bool = False,
                  workers: int | None = None) -> ChainVerifier:
    """Every hash chain of the ledger (``audit verify``): on a large SQLite file, split
    over the machine's cores (at most ``workers``, default 2)."""
    path = ledger.location.path
    if ledger.location.kind == "sqlite" and ledger.has_projections and path is not None:
        upto = ledger.max_position()
        wanted = workers if workers is not None else (
            2 if upto >= PARALLEL_VERIFY_FROM else 1)
        wanted = min(wanted, os.cpu_count() or 1)
        if wanted > 1 and sys.executable:  # workers are fresh interpreters
            return verify_sqlite(str(path), upto, full_decode=full_decode, workers=wanted)
    return verify(stored_batches(ledger), full_decode=full_decode)


# -- recorded histories (replay/): evidence packs loaded into a fresh ledger -------------

def load_pack(ledger: Ledger, lines: Sequence[bytes], source_name: str) -> int:
    """Verify an evidence pack and write its events, byte for byte, into an empty ledger;
    returns the events written. Positions, hashes and chains come out identical."""
    read_pack(iter(lines), source_name)
    if ledger.max_position():
        raise LedgerError(f"{ledger.location.display} is not empty: a pack is loaded into a "
                          "fresh ledger only")
    items = [msgspec.json.decode(line, type=PackEvent) for line in lines[1:] if line.strip()]
    for expected, item in enumerate(items, 1):
        if item.position != expected:
            raise LedgerError(f"{source_name}: positions must run 1, 2, 3...; a whole-ledger "
                              f"pack is needed (got {item.position} at event {expected})")
    ledger.recorder.insert_events([
        StoredEvent(UUID(item.stream), item.version, item.topic, item.state.encode())
        for item in items])
    ledger.after_write()
    return len(items)
