"""The event store: the ledger every command and query goes through.

Reading (a contract's stream and state, the global feed), deciding commands against the
latest state and appending their events with optimistic concurrency: conflicts are
retried, never lost. The global order is the recorder's notification id. How events are
stored is :mod:`.application`; how a batch is decided and chained, :mod:`.planning`; how
it is written with its read models, :mod:`.writing`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from uuid import UUID

import msgspec
from eventsourcing.persistence import Notification, PersistenceError, StoredEvent

from ..domain import codec
from ..domain.commands import Command, Meta
from ..domain.contract.decide import Decision
from ..domain.contract.state import ContractState, InPlace, fold_events
from ..domain.errors import ConcurrencyExhausted, UnknownContract
from ..domain.events import AnyEvent, ContractAgreed, topic_of
from ..domain.programme.events import ProgrammeAgreed, programme_topic_of
from ..domain.programme.state import ProgrammeState, fold_programme
from ..domain.registry.rules import RegistryState, fold_registry
from . import sqldb
from .application import LedgerApplication, stream_id
from .location import Location, StoreError, check_postgres, locate
from .planning import Entry, Plan, Refusals, Sink, plan_batch
from .writing import AfterWrite, Folded, Projector, Writing

MAX_ATTEMPTS = 20
#: A stream's events in order, read from a SQLite file with a plain cursor (the columns
#: are the caller's: with or without each event's position).
_STREAM = ("SELECT {} FROM stored_events WHERE originator_id = ? "
           "ORDER BY originator_version")
#: The same on PostgreSQL, as one row of three arrays: psycopg (pure Python here) pays
#: per value fetched and reads an array's elements faster than as many cells; a
#: contract of 1,068 events loads in 3.1 ms, against 16 through the recorder's
#: ``select_events`` (a row and an object per event).
_PG_STREAM = sqldb.pg_arrays("originator_version", ("notification_id", "topic", "state"),
                             "originator_id = ?::uuid")


@dataclass(frozen=True, slots=True)
class Written:
    """What a command wrote: the decision and the global positions of its events."""

    decision: Decision
    positions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Stored:
    """One stored event in global order, with its hash."""

    position: int
    stream: UUID
    version: int
    topic: str
    state: bytes
    event: codec.LedgerEvent

    @property
    def hash(self) -> str:
        return codec.event_hash(self.state)


class _Loaded(NamedTuple):
    """A contract's stream as a write loaded it: its state, events and their positions."""

    state: ContractState
    events: list[AnyEvent]
    positions: list[int]


def _after_write(kept: dict[str, _Loaded], stored: Sequence[StoredEvent]
                 ) -> AfterWrite | None:
    """The contract's stream as the write of ``stored`` leaves it, from the positions the
    events take: the state loaded for the decision with the new events folded into it
    (that state was the planner's alone, and a one-command plan folds nothing into it),
    every event and position. None when the write loaded no contract, or more than one."""
    if len(kept) != 1:
        return None
    ((reference, loaded),) = kept.items()
    stream = stream_id(reference)

    def after(positions: Sequence[int]) -> Folded | None:
        folding = InPlace(loaded.state)
        events, at = list(loaded.events), list(loaded.positions)
        for event, position in zip(stored, positions, strict=True):
            if event.originator_id == stream:  # (not a programme's draw)
                decoded = codec.decode(event.topic, event.state)
                folding.add(decoded, codec.event_hash(event.state))
                events.append(decoded)
                at.append(position)
        return Folded(stream.hex, folding.state, tuple(events), tuple(at))
    return after


class Ledger(Writing):
    """The ledger: load contract state, decide, append with retry, read the global feed.

    ``projector`` keeps the read models in step with every write, in the write's own
    transaction; a ledger opened with None (a worker that only decides, a reader) writes
    events alone and cannot project (see :mod:`.writing`).
    """

    def __init__(self, location: Location, *, projector: Projector | None,
                 create: bool = False) -> None:
        self.location = location
        self.projector = projector
        env = location.env
        self._pg = None
        # SQLite: a plain connection for reading contract streams (see ``load``).
        self._reader: sqlite3.Connection | None = None
        if location.kind == "sqlite" and not create:
            assert location.path is not None
            if not location.path.exists():
                raise StoreError(f"no ledger at {location.path} (run `outcomeledger init` "
                                 "first, or pass --db)")
        if location.kind == "postgresql":
            self._pg = check_postgres(location, create=create)
            # Only `init` creates the schema: concurrent processes each running
            # eventsourcing's CREATE ... IF NOT EXISTS statements can collide in the
            # system catalogs, and a reader must not create tables at all.
            env = {**env, "CREATE_TABLE": "yes" if create else "no"}
        try:
            self.app = LedgerApplication(env=env)
        except (PersistenceError, OSError, sqlite3.Error) as e:
            if self._pg is not None:
                self._pg.close()
            raise StoreError(f"cannot open the ledger at {location.display}: {e}") from None
        self.recorder = self.app.recorder

    @classmethod
    def open(cls, url: str | None, *, projector: Projector | None,
             create: bool = False) -> Ledger:
        return cls(locate(url), projector=projector, create=create)

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()
        if self._reader is not None:
            self._reader.close()
        self.app.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------

    def stream(self, reference: str) -> list[tuple[AnyEvent, str]]:
        """Every (event, hash) of one contract stream, in stream order."""
        rows = self.recorder.select_events(stream_id(reference))
        return [(codec.decode(r.topic, r.state), codec.event_hash(r.state)) for r in rows]

    def load(self, reference: str) -> ContractState:
        # The whole-stream fold builds exactly the state ``evolve`` builds event by event
        # (tests/projections/test_projection_property.py), without a copy of the state per
        # event, and hashes only the last event: the state keeps no other hash.
        rows = self._stream_rows(stream_id(reference))
        if not rows:
            return ContractState(reference)
        return fold_events(reference, [codec.decode(topic, state) for topic, state in rows],
                           codec.event_hash(rows[-1][1]))

    def _loader(self, kept: dict[str, _Loaded]) -> Callable[[str], ContractState]:
        """``load``, keeping each contract's events and their positions in ``kept`` as
        well (a SQLite file or a PostgreSQL ledger; in memory nothing is kept)."""
        def load(reference: str) -> ContractState:
            rows = self._positioned_rows(stream_id(reference))
            if rows is None:
                return self.load(reference)
            if not rows:
                return ContractState(reference)
            events = [codec.decode(topic, state) for _position, topic, state in rows]
            state = fold_events(reference, events, codec.event_hash(rows[-1][2]))
            kept[reference] = _Loaded(state, events, [r[0] for r in rows])
            return state
        return load

    def _positioned_rows(self, stream: UUID) -> list[tuple[int, str, bytes]] | None:
        """(position, topic, stored bytes) of a stream's events in order, from a SQLite
        file or PostgreSQL (None: neither, see :meth:`_stream_rows`)."""
        if self.location.kind == "postgresql":
            return self._pg_rows(stream)
        reader = self._file_reader()
        if reader is None:
            return None
        rows: list[tuple[int, str, bytes]] = reader.execute(
            _STREAM.format("rowid, topic, state"), (stream.hex,)).fetchall()
        return rows

    def _pg_rows(self, stream: UUID) -> list[tuple[int, str, bytes]]:
        """:meth:`_positioned_rows` on PostgreSQL, through the kept connection (outside
        any transaction of this ledger's: a write opens its own on it after planning)."""
        return self.kept_connection().fetch_arrays(_PG_STREAM, (stream,))

    def events(self, reference: str) -> list[AnyEvent]:
        """Every event of one contract stream, in stream order (a counterfactual folds
        them again without some; the hashes are not needed)."""
        return [codec.decode(topic, state) for topic, state in
                self._stream_rows(stream_id(reference))]

    def _stream_rows(self, stream: UUID) -> list[tuple[str, bytes]]:
        """(topic, stored bytes) of a stream's events in order. A SQLite file is read with
        a plain cursor and PostgreSQL as arrays (``_PG_STREAM``), without the recorder's
        object per event: loading a contract is the first step of every command and
        query, and a long stream costs several milliseconds that way (over ten on
        PostgreSQL)."""
        if self.location.kind == "postgresql":
            return [(topic, state) for _position, topic, state in self._pg_rows(stream)]
        reader = self._file_reader()
        if reader is None:
            return [(r.topic, r.state) for r in self.recorder.select_events(stream)]
        rows: list[tuple[str, bytes]] = reader.execute(
            _STREAM.format("topic, state"), (stream.hex,)).fetchall()
        return rows

    def _file_reader(self) -> sqlite3.Connection | None:
        """The plain connection reading a SQLite file (None: the ledger is not one)."""
        if (self.location.kind != "sqlite" or not self.has_projections
                or self.location.path is None):
            return None
        if self._reader is None:
            # Reads only, each in its own implicit transaction; a follower may call from
            # another thread, which SQLite serialises on the connection.
            # The URI location.py chose: read-only on a read-only file or filesystem.
            self._reader = sqlite3.connect(self.location.env["SQLITE_DBNAME"], uri=True,
                                           timeout=30, check_same_thread=False)
        return self._reader

    def load_programme(self, reference: str) -> ProgrammeState:
        """A programme's state (DESIGN 10): its stream folded (empty: not agreed)."""
        rows = self._stream_rows(codec.programme_stream_id(reference))
        return fold_programme(reference, [(codec.decode_programme(topic, state),
                                           codec.event_hash(state)) for topic, state in rows])

    def load_registry(self) -> RegistryState:
        """The actor registry (issue 21): its stream folded (empty: no actor registered)."""
        rows = self._stream_rows(codec.registry_stream_id())
        return fold_registry([(codec.decode_registry(topic, state), codec.event_hash(state))
                              for topic, state in rows])

    def programme_references(self) -> list[str]:
        """References of every agreed programme, in the order they were agreed."""
        return self._agreed(programme_topic_of(ProgrammeAgreed), "programme")

    def _agreed(self, topic: str, key: str) -> list[str]:
        """``key`` of every event stored under ``topic``, in global order, a page of
        notifications at a time."""
        refs: list[str] = []
        position = 0
        while rows := self.notifications(position, 1000, topics=[topic]):
            refs += (msgspec.json.decode(n.state)[key] for n in rows)
            position = rows[-1].id
        return refs

    def get(self, reference: str) -> ContractState:
        state = self.load(reference)
        if not state.exists:
            raise UnknownContract(reference)
        return state

    def require(self, reference: str) -> None:
        """Refuse an unknown contract (``UnknownContract``) without loading it: a write
        says so before reading its files, and then decides on the state it loads itself
        (folding a long stream twice cost a write tens of milliseconds)."""
        if not self.recorder.select_events(stream_id(reference), limit=1):
            raise UnknownContract(reference)

    def notifications(self, after: int = 0, limit: int = 1000,
                      topics: Sequence[str] = ()) -> Sequence[Notification]:
        return self.recorder.select_notifications(after + 1, limit, topics=topics)

    def feed(self, after: int = 0, batch: int = 1000,
             upto: int | None = None) -> Iterator[Stored]:
        """Every stored event after ``after`` (and up to ``upto``), in global order."""
        position = after
        while True:
            rows = self.recorder.select_notifications(position + 1, batch, stop=upto)
            if not rows:
                return
            for n in rows:
                oid = n.originator_id if isinstance(n.originator_id, UUID) else UUID(
                    str(n.originator_id))
                yield Stored(n.id, oid, n.originator_version, n.topic, n.state,
                             codec.decode_any(n.topic, n.state))
            position = rows[-1].id

    def references(self) -> list[str]:
        """References of every agreed contract, in the order they were agreed."""
        return self._agreed(topic_of(ContractAgreed), "contract")

    def execute(self, reference: str, command: Command, meta: Meta) -> Written:
        """Decide ``command`` against the contract's latest state and append the events."""
        return self.execute_batch([(reference, command)], meta)[0]

    def execute_batch(self, batch: Sequence[Entry], meta: Meta,
                      on_attempt: Callable[[int], None] | None = None, *,
                      dry_run: bool = False, keep_events: bool = True,
                      refused: Refusals | None = None,
                      also: Callable[[sqldb.Conn], None] | None = None) -> list[Written]:
        """Decide every command, in order, and append all events in one transaction.

        All or nothing: nothing is written unless every command is accepted. The
        problems of every invalid command are collected and raised as one InvalidInput;
        any other refusal raises at once, unless ``refused`` turns it into located
        problems too. A concurrency conflict re-reads the streams and decides again.
        ``dry_run`` decides without writing. ``keep_events=False`` keeps only each
        decision's receipt, so a large import never holds all its events as objects.
        ``also`` writes in the events' transaction, before them (participant keys).
        """
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if on_attempt:
                on_attempt(attempt)
            # One command: its contract's stream, as loaded, is kept to hand the read
            # models the stream as the write leaves it (see _after_write).
            kept: dict[str, _Loaded] | None = {} if len(batch) == 1 and not dry_run else None
            plan = self.plan(batch, meta, keep_events, refused,
                             load=None if kept is None else self._loader(kept))
            if dry_run or not plan.stored:
                if not dry_run:
                    # Nothing new to append, but read models left behind (a write killed
                    # before its catch-up, an import with projections off) are still
                    # brought up to date: every write returns with them current.
                    self.after_write()
                return [Written(d, ()) for d in plan.decisions]
            ids = self.append(plan.stored, also,
                              None if not kept else _after_write(kept, plan.stored))
            if ids is None:
                time.sleep(min(0.005 * attempt, 0.1))
                continue
            positions: list[list[int]] = [[] for _ in plan.decisions]
            for owner, position in zip(plan.owners, ids, strict=False):
                positions[owner].append(position)
            written = [Written(d, tuple(p))
                       for d, p in zip(plan.decisions, positions, strict=True)]
            self.after_write()
            return written
        raise ConcurrencyExhausted(f"gave up after {MAX_ATTEMPTS} concurrent-write conflicts; "
                                   "nothing was written")

    def plan(self, batch: Sequence[Entry], meta: Meta, keep_events: bool,
             refused: Refusals | None, sink: Sink | None = None, *,
             load: Callable[[str], ContractState] | None = None) -> Plan:
        """Decide the batch against the latest states and encode its events, chained
        (see :func:`.planning.plan_batch`); ``load``: how a contract's state is loaded
        (default :meth:`load`)."""
        return plan_batch(self.load if load is None else load, batch, meta, keep_events,
                          refused, sink, self.load_programme, self.load_registry)
