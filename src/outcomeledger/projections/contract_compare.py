"""The contract-by-contract half of :func:`.compare.verify`: a share of the contracts,
each stream read and decoded once, its events judged by the rules and folded, and its
read models replayed from the same events and compared with the live rows.

Apart from :mod:`.compare` because a worker process (:mod:`.compare_workers`) runs the
same comparison on its share, without the rest of the verifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from uuid import UUID

from ..domain import codec
from ..domain.contract.state import fold_events
from ..domain.contract.validity import StreamRules, Violation
from ..domain.events import AnyEvent
from ..storage.sqldb import Conn
from . import source, sql
from .base import ContractView, Projection
from .row_diff import Scratch, differ, select


class ContractFindings:
    """What one process found in its share of the contracts."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.differences: list[str] = []  # the first ``limit``, in stream order
        self.violations: list[Violation] = []  # the first ``limit`` by position (cut)
        self.count = 0
        self.checked = 0

    def run(self, conn: Conn, streams: Sequence[str], position: int, upto: int,
            contract_ps: Sequence[Projection], scratch: Scratch, rules: bool) -> None:
        for stream in streams:
            self._contract(conn, stream, position, upto, contract_ps, scratch, rules)
        self.cut()

    def _contract(self, conn: Conn, stream: str, position: int, upto: int,
                  contract_ps: Sequence[Projection], scratch: Scratch, rules: bool) -> None:
        checker = StreamRules(rules=rules)
        events: list[AnyEvent] = []
        positions: list[int] = []
        last = b""
        broken: int | None = None  # the first position up to ``position`` not decoded
        for at, version, topic, data in source.stream_rows(conn, stream,
                                                           max(position, upto)):
            event = checker.add(at, version, topic, data)
            if at <= position and broken is None:
                if event is None:
                    broken = at
                else:
                    events.append(event)
                    positions.append(at)
                    last = data
        self.violations += checker.violations
        self.count += len(checker.violations)
        self.checked += checker.checked
        if len(self.violations) > 4 * self.limit:
            self.cut()
        if not contract_ps or len(self.differences) >= self.limit:
            return
        reference = events[0].contract if events else _uuid_text(stream)
        if broken is not None:
            self.differences.append(f"contract {reference}: read models not compared: "
                                    f"its event at position {broken} does not decode")
            return
        if not events:
            return
        try:
            state = checker.state
            if state is not None and rules and state.version == len(events):
                # The rules folded exactly these events: their state is the fold's
                # (tests/projections/test_projection_property.py), but for the head hash.
                state = replace(state, head_hash=codec.event_hash(last))
            else:
                state = fold_events(reference, events, codec.event_hash(last))
            view = ContractView(state, tuple(events), tuple(positions))
            for p in contract_ps:
                for table, rows in p.tables_of(view):
                    live = conn.execute(select(table, "contract = ?"),
                                        (view.reference,)).fetchall()
                    if not sql.same_rows(live, rows):
                        self.differences += differ(table, live, scratch.rows(table, rows))
        except Exception as e:  # stored data must never crash the verifier
            self.differences.append(f"contract {reference}: read models cannot be "
                                    f"recomputed ({type(e).__name__}: {e})")
        del self.differences[self.limit:]

    def cut(self) -> None:
        self.violations.sort(key=lambda v: (v.position, v.rule))
        del self.violations[self.limit:]

    def join(self, other: ContractFindings) -> None:
        self.differences = (self.differences + other.differences)[:self.limit]
        self.violations += other.violations
        self.count += other.count
        self.checked += other.checked
        self.cut()


def _uuid_text(stream: str) -> str:
    try:
        return f"stream {UUID(stream)}"
    except ValueError:
        return f"stream {stream}"
