"""What a report is computed from: contract states and the ledger head, live or as of.

``--as-of`` (a global position or a recorded time) reuses :mod:`outcomeledger.app.replay`,
which reads each contract as a prefix of its stream. The ledger head printed on the
report is computed here over exactly the same events (every stream cut at its first
event beyond the cutoff), so ``audit verify --head`` checks the history the figures
came from.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import msgspec

from ..domain.contract.state import ContractState
from ..domain.errors import LedgerError
from ..projections.source import Cutoff
from ..storage.chain import ChainVerifier, head_of
from ..storage.head import Head
from ..storage.store import Ledger
from . import replay

_BATCH = 1000

#: The latest event of every stream, by index seeks alone (no table scan): the ledger
#: head in milliseconds however many events the streams hold. Each stream's latest rowid
#: comes from the covering primary-key index; the rows are then read in rowid order.
_LATEST_SQL = """
WITH RECURSIVE streams(id) AS (
  SELECT MIN(originator_id) FROM stored_events
  UNION ALL
  SELECT (SELECT MIN(originator_id) FROM stored_events WHERE originator_id > streams.id)
  FROM streams WHERE streams.id IS NOT NULL),
latest(at) AS (
  SELECT (SELECT rowid FROM stored_events WHERE originator_id = streams.id
          ORDER BY originator_version DESC LIMIT 1) FROM streams WHERE streams.id IS NOT NULL)
SELECT rowid, originator_version, state FROM stored_events
WHERE rowid IN (SELECT at FROM latest) ORDER BY rowid"""


class _Stamp(msgspec.Struct):
    """Only the recording time: enough to apply a cutoff without decoding the event."""

    recorded_at: datetime


_stamp = msgspec.json.Decoder(_Stamp)


@dataclass(frozen=True, slots=True)
class Source:
    """A ledger read live (``cutoff`` None) or as of a cutoff."""

    ledger: Ledger
    as_of: str | None = None
    cutoff: Cutoff | None = None

    @classmethod
    def open(cls, ledger: Ledger, as_of: str | None) -> Source:
        return cls(ledger, as_of, None if as_of is None else replay.cutoff(ledger, as_of))

    def state(self, reference: str) -> ContractState:
        if self.as_of is None:
            return self.ledger.get(reference)
        return replay.contract_as_of(self.ledger, reference, self.as_of)

    def states(self) -> Iterator[ContractState]:
        """Every contract agreed by the cutoff, in the order they were agreed."""
        for reference in self.ledger.references():
            try:
                yield self.state(reference)
            except LedgerError:
                if self.as_of is None:
                    raise
                continue  # agreed after the cutoff: not in the ledger as it stood then

    def head(self) -> Head:
        """The ledger head over the events the cutoff admits (all events when live)."""
        if self.cutoff is None and self.ledger.location.kind == "sqlite" and (
                self.ledger.has_projections):
            with closing(self.ledger.connect()) as conn:
                assert isinstance(conn, sqlite3.Connection)
                latest = conn.execute(_LATEST_SQL).fetchall()
                (position,) = conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()
            live = head_of(latest, int(position or 0))
            if live is not None:
                return live
        verifier = ChainVerifier(full_decode=False)
        cut: set[UUID] = set()
        limit = None if self.cutoff is None else self.cutoff.position
        moment = None if self.cutoff is None else self.cutoff.moment
        position = 0
        while rows := self.ledger.notifications(position, _BATCH):
            for n in rows:
                if limit is not None and n.id > limit:
                    return verifier.head()
                stream = n.originator_id if isinstance(n.originator_id, UUID) else UUID(
                    str(n.originator_id))
                if stream in cut:
                    continue
                if moment is not None and _stamp.decode(n.state).recorded_at > moment:
                    cut.add(stream)  # a stream is a prefix: nothing after its cut counts
                    continue
                verifier.add(n.id, stream, n.originator_version, n.topic, n.state)
            position = rows[-1].id
        return verifier.head()
