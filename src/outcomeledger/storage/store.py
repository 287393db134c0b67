"""The event store: an eventsourcing ``Application`` with a msgspec mapper of our own.

One stream per contract, id ``uuid5(NAMESPACE_URL, "outcomeledger:/contracts/" + ref)``.
The global order is the recorder's notification id. The stored topic is the event's
tag and version, and the stored state is the event's canonical bytes, whose SHA-256
is the event hash. Optimistic-concurrency conflicts are retried, never lost.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    Notification,
    PersistenceError,
    StoredEvent,
    Transcoder,
)
from eventsourcing.sqlite import SQLiteAggregateRecorder
from eventsourcing.utils import Environment

from ..domain import codec
from ..domain.commands import Command, Meta
from ..domain.contract.decide import Decision, decide
from ..domain.contract.state import ContractState, evolve_owned, fold_events
from ..domain.errors import (
    ConcurrencyExhausted,
    InvalidInput,
    LedgerError,
    Problem,
    UnknownContract,
)
from ..domain.events import AnyEvent, ContractAgreed, topic_of
from . import sqldb
from .location import (
    DEFAULT_DB,
    Location,
    StoreError,
    check_postgres,
    first_line,
    ledger_exists,
    locate,
    locked,
)

MAX_ATTEMPTS = 20

T = TypeVar("T")


def _rollback(conn: sqldb.Conn) -> None:
    """Roll back, if the connection still can (a dropped one already has): the error
    that made us roll back is the one to report."""
    with suppress(Exception):
        conn.execute("ROLLBACK")


def stream_id(reference: str) -> UUID:
    return codec.stream_id_of(reference)


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event in its stream: what eventsourcing's recorders store and return."""

    originator_id: UUID
    originator_version: int
    event: AnyEvent


class MsgspecMapper(Mapper[UUID]):
    """Maps events to stored events by tag and canonical bytes (no module paths)."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        envelope: Envelope = domain_event
        return StoredEvent(originator_id=envelope.originator_id,
                           originator_version=envelope.originator_version,
                           topic=codec.topic(envelope.event),
                           state=codec.encode(envelope.event))

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        oid = stored_event.originator_id
        return Envelope(oid if isinstance(oid, UUID) else UUID(str(oid)),
                        stored_event.originator_version,
                        codec.decode(stored_event.topic, stored_event.state))


class LedgerApplication(Application[UUID]):
    name = "OutcomeLedger"

    def construct_env(self, name: str, env: Any = None) -> Environment:
        # Only the settings we pass: a stray PERSISTENCE_MODULE in the OS environment
        # must never redirect a ledger to another store.
        return Environment(name, dict(env or {}))

    def construct_transcoder(self) -> Transcoder:
        return JSONTranscoder()

    def construct_mapper(self) -> Mapper[UUID]:
        return MsgspecMapper(self.construct_transcoder())


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
    event: AnyEvent

    @property
    def hash(self) -> str:
        return codec.event_hash(self.state)


#: Turns a refusal of the batch's command ``index`` (decided against ``state``) into
#: located problems, so that one report shows every refusal of a batch.
Refusals = Callable[[int, ContractState, LedgerError], list[Problem]]


@dataclass(slots=True)
class _Plan:
    """A batch decided and encoded, ready to append."""

    stored: list[StoredEvent] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # command index of each stored event
    decisions: list[Decision] = field(default_factory=list)

    def emit(self, stored: StoredEvent, owner: int) -> None:
        self.stored.append(stored)
        self.owners.append(owner)


#: Where :meth:`Ledger.plan` sends each encoded event, with the index of its command.
Sink = Callable[[StoredEvent, int], None]


class Ledger:
    """The ledger: load contract state, decide, append with retry, read the global feed."""

    def __init__(self, location: Location, *, create: bool = False) -> None:
        self.location = location
        env = location.env
        # PostgreSQL: the connection the projector keeps for this ledger's writes (a new
        # server process per write would pay a cold catalog cache every time).
        self._pg: sqldb.PgConnection | None = None
        # SQLite: a plain connection for reading contract streams (see ``load``).
        self._reader: sqlite3.Connection | None = None
        # Projection tables checked (present, current layout) and caught up before this
        # ledger's first write; whether that catch-up met an event it cannot project;
        # whether the last write projected its own events (see ``after_write``).
        self._projections_ready = False
        self._stuck = False
        self._projected: int | None = None
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
    def open(cls, url: str | None, *, create: bool = False) -> Ledger:
        return cls(locate(url), create=create)

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

    def _stream_rows(self, stream: UUID) -> list[tuple[str, bytes]]:
        """(topic, stored bytes) of a stream's events in order. A SQLite file is read with
        a plain cursor, without the recorder's object per event: loading a contract is
        the first step of every command and query, and a long stream costs several
        milliseconds that way."""
        path = self.location.path
        if self.location.kind != "sqlite" or not self.has_projections or path is None:
            return [(r.topic, r.state) for r in self.recorder.select_events(stream)]
        if self._reader is None:
            # Reads only, each in its own implicit transaction; a follower may call from
            # another thread, which SQLite serialises on the connection.
            # The URI location.py chose: read-only on a read-only file or filesystem.
            self._reader = sqlite3.connect(self.location.env["SQLITE_DBNAME"], uri=True,
                                           timeout=30, check_same_thread=False)
        rows: list[tuple[str, bytes]] = self._reader.execute(
            "SELECT topic, state FROM stored_events WHERE originator_id = ? "
            "ORDER BY originator_version", (stream.hex,)).fetchall()
        return rows

    def get(self, reference: str) -> ContractState:
        state = self.load(reference)
        if not state.exists:
            raise UnknownContract(reference)
        return state

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

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
                             codec.decode(n.topic, n.state))
            position = rows[-1].id

    def references(self) -> list[str]:
        """References of every agreed contract, in the order they were agreed."""
        topic = topic_of(ContractAgreed)
        refs: list[str] = []
        position = 0
        while True:
            rows = self.notifications(position, 1000, topics=[topic])
            if not rows:
                return refs
            for n in rows:
                refs.append(msgspec.json.decode(n.state)["contract"])
            position = rows[-1].id

    # -- projections (DESIGN 6) --------------------------------------------------------

    #: Bring the projections up to date after every write (read your own writes). Bulk
    #: loaders (bench, scenario import) switch it off and catch up once at the end.
    project_on_write = True

    @property
    def has_projections(self) -> bool:
        """Projections live beside the events: in a SQLite file or a PostgreSQL database
        (an in-memory SQLite ledger has no second connection to keep them in)."""
        if self.location.kind == "postgresql":
            return True
        path = self.location.path
        return (path is not None
                and ":memory:" not in str(path) and "mode=memory" not in str(path))

    def connect(self) -> sqldb.Conn:
        """A plain connection to the ledger's database, in autocommit mode: projections
        and replay issue their own transactions (see ``projections.sql.begin``)."""
        if not self.has_projections:
            raise StoreError(f"projections are kept in SQLite files or PostgreSQL only (got "
                             f"{self.location.display})")
        if self.location.kind == "postgresql":
            try:
                return sqldb.pg_connect(self.location.env)
            except sqldb.ConnectError as e:
                raise StoreError(str(e)) from None
        assert self.location.path is not None
        try:
            return sqlite3.connect(self.location.env["SQLITE_DBNAME"], uri=True,
                                   timeout=self.lock_timeout_s() or 30, isolation_level=None)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open {self.location.display}: {e}") from None

    def project(self) -> int:
        """Catch every projection up with the events written; returns the events projected.

        A read model that cannot be computed, or a lock held elsewhere past the lock
        timeout, is a StoreError naming it (one line, not a traceback)."""
        from ..projections.projector import failure

        try:
            return self._project()
        except Exception as e:
            if (what := failure(e)) is not None:
                raise StoreError(f"the projections cannot be brought up to date: {what}"
                                 ) from e
            if sqldb.lock_timed_out(e):
                raise locked(self.location.display, self.lock_timeout_s()) from None
            raise

    def _project(self) -> int:
        from contextlib import closing

        from ..projections import catch_up

        if self.location.kind == "postgresql":
            for attempt in (1, 2):
                if self._pg is None:
                    conn = self.connect()
                    assert isinstance(conn, sqldb.PgConnection)
                    self._pg = conn
                try:
                    return catch_up(self._pg).events
                except sqldb.connection_lost() as e:
                    if sqldb.lock_timed_out(e):  # (psycopg files it as an OperationalError)
                        raise
                    # The kept connection died (a server restart, an idle timeout): a
                    # batch is one transaction, so catching up again is safe. Once.
                    self._pg.close()
                    self._pg = None
                    if attempt == 2:
                        raise
        with closing(self.connect()) as conn:
            return catch_up(conn).events

    def after_write(self) -> None:
        if self._projected is not None and self._projected == self.max_position():
            return  # the write's own transaction projected its events, and no one wrote since
        if self.project_on_write and self.has_projections:
            try:
                self.project()
            except sqldb.errors() as e:
                raise StoreError(f"events were written but the projections could not be "
                                 f"updated ({first_line(e)}); run `outcomeledger project`"
                                 ) from None

    # -- writing ---------------------------------------------------------------------

    def append_streamed(self, events: Iterable[StoredEvent]) -> int | None:
        """Append events as they arrive, all in one transaction (a SQLite ledger): how
        many, or None when another writer got to one of their streams first. Nothing is
        written unless every event arrives: an exception raised while they are produced
        rolls the transaction back and propagates. (A returns import decided by worker
        processes appends their events while they are still deciding.) The projections
        of the events are written in the same transaction (see :meth:`append`)."""
        recorder = self.recorder
        if not isinstance(recorder, SQLiteAggregateRecorder):
            raise StoreError(f"streamed appends are for SQLite ledgers (got "
                             f"{self.location.display})")
        count = 0

        def rows() -> Iterator[tuple[str, int, str, bytes]]:
            nonlocal count
            for e in events:
                stream = e.originator_id
                yield (stream.hex if isinstance(stream, UUID) else str(stream),
                       e.originator_version, e.topic, e.state)
                count += 1

        if self._projects_on_write():
            def insert(conn: sqldb.Conn) -> int:
                conn.executemany(recorder.insert_events_statement, rows())
                return count
            return self._write(insert)
        try:
            # The statement and the transaction (BEGIN ... COMMIT, or ROLLBACK on any
            # exception) are eventsourcing's own, as in its insert_events.
            with recorder.datastore.transaction(commit=True) as cursor:
                cursor.executemany(recorder.insert_events_statement, rows())
        except IntegrityError:
            return None
        except PersistenceError as e:
            raise StoreError(f"the ledger could not be written: {first_line(e)}") from None
        return count

    def execute(self, reference: str, command: Command, meta: Meta) -> Written:
        """Decide ``command`` against the contract's latest state and append the events."""
        return self.execute_batch([(reference, command)], meta)[0]

    def execute_batch(self, batch: Sequence[tuple[str, Command]], meta: Meta,
                      on_attempt: Callable[[int], None] | None = None, *,
                      dry_run: bool = False, keep_events: bool = True,
                      refused: Refusals | None = None) -> list[Written]:
        """Decide every command, in order, and append all events in one transaction.

        All or nothing: nothing is written unless every command is accepted. The
        problems of every invalid command are collected and raised as one InvalidInput;
        any other refusal raises at once, unless ``refused`` turns it into located
        problems too. A concurrency conflict re-reads the streams and decides again.
        ``dry_run`` decides without writing. ``keep_events=False`` keeps only each
        decision's receipt, so a large import never holds all its events as objects.
        """
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if on_attempt:
                on_attempt(attempt)
            plan = self.plan(batch, meta, keep_events, refused)
            if dry_run or not plan.stored:
                if not dry_run:
                    # Nothing new to append, but read models left behind (a write killed
                    # before its catch-up, an import with projections off) are still
                    # brought up to date: every write returns with them current.
                    self.after_write()
                return [Written(d, ()) for d in plan.decisions]
            ids = self.append(plan.stored)
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

    def append(self, stored: Sequence[StoredEvent]) -> Sequence[int] | None:
        """Append decided, chained events in one transaction: their positions, or None
        when another writer got to one of their streams first (nothing written).

        When the ledger keeps projections and projects on write, the same transaction
        writes the projections of the new events: an event is committed only with
        everything that follows from it (its read models, its payment schedule over the
        whole term) computed and written, so a refusal always means nothing was written.
        """
        if self._projects_on_write():
            return self._write(self._inserter(stored))
        try:
            # One insert_events call is one database transaction: every event of the
            # batch lands, or (refused, conflicting, killed) none does.
            return self.recorder.insert_events(stored) or ()
        except IntegrityError:
            return None
        except PersistenceError as e:  # unreachable, refused (no privilege), ...
            raise StoreError(f"the ledger could not be written: {first_line(e)}") from None

    def _projects_on_write(self) -> bool:
        return self.project_on_write and self.has_projections

    def _inserter(self, stored: Sequence[StoredEvent]) -> Callable[[sqldb.Conn], list[int]]:
        """Appends ``stored`` inside :meth:`_write`'s transaction: their positions."""
        recorder = self.recorder
        if self.location.kind == "postgresql":
            # Imported here: psycopg costs every SQLite command a fifth of a second.
            from .pgrecorder import LedgerPostgresRecorder

            assert isinstance(recorder, LedgerPostgresRecorder)
            pg = recorder

            def insert_pg(conn: sqldb.Conn) -> list[int]:
                assert isinstance(conn, sqldb.PgConnection)
                return pg.insert_events_on(conn.raw, stored)
            return insert_pg
        assert isinstance(recorder, SQLiteAggregateRecorder)

        def insert_sqlite(conn: sqldb.Conn) -> list[int]:
            # Holding the write lock (BEGIN IMMEDIATE), the rows take the rowids after
            # the highest: the positions are that range (eventsourcing reads each
            # row's lastrowid, one statement per event).
            before = sqldb.head(conn)
            conn.executemany(recorder.insert_events_statement, [
                (e.originator_id.hex if isinstance(e.originator_id, UUID)
                 else str(e.originator_id), e.originator_version, e.topic, e.state)
                for e in stored])
            positions = list(range(before + 1, sqldb.head(conn) + 1))
            if len(positions) != len(stored):
                raise StoreError(f"appended {len(stored)} events but the ledger moved by "
                                 f"{len(positions)} positions; nothing was written")
            return positions
        return insert_sqlite

    def _write(self, insert: Callable[[sqldb.Conn], T]) -> T | None:
        """One transaction: ``insert`` the events, then catch every projection up with
        them; commit both or neither. None when another writer got to one of the
        streams first. A projection that cannot be computed, a lock held too long or
        any database error rolls everything back and is refused in one line."""
        from ..projections.projector import catch_up_within, failure

        self._ready_projections()
        conn, owned = self._write_connection()
        try:
            conn.execute("BEGIN IMMEDIATE" if self.location.kind == "sqlite" else "BEGIN")
            try:
                try:
                    result = insert(conn)
                except sqldb.integrity_errors():
                    _rollback(conn)
                    return None
                projected = catch_up_within(conn).position
                conn.execute("COMMIT")
                self._projected, self._stuck = projected, False
            except BaseException as e:
                _rollback(conn)
                if isinstance(e, LedgerError) or not isinstance(e, Exception):
                    raise
                if (what := failure(e)) is not None:
                    raise StoreError(f"nothing was written: {what}" + (
                        "; it was recorded before this write, by an older version that "
                        "accepted what this one refuses: vary that contract within today's "
                        "bounds" if self._stuck else "")) from e
                if not isinstance(e, sqldb.errors()):
                    raise
                raise self._database_refusal(e) from None
            return result
        finally:
            if owned:
                conn.close()

    def _ready_projections(self) -> None:
        """Before this ledger's first write: create missing projection tables, rebuild
        outdated ones and catch up, each in transactions of their own, so that the
        write's transaction holds little more than its own events' projections (later
        writes skip this: it costs catalog queries, and the write catches up anyway).
        A read model that cannot be computed is left to the write's transaction, whose
        new events may be what repairs it."""
        from ..projections.projector import failure

        if self._projections_ready:
            return
        try:
            self._project()
        except StoreError:
            raise
        except Exception as e:
            if failure(e) is None:
                if not isinstance(e, sqldb.errors()):
                    raise
                raise self._database_refusal(e) from None
            self._stuck = True
        self._projections_ready = True

    def _write_connection(self) -> tuple[sqldb.Conn, bool]:
        """The connection a write transaction runs on, and whether to close it after:
        PostgreSQL, the kept one (a new one if it died); SQLite, a new one."""
        if self.location.kind != "postgresql":
            return self.connect(), True
        if self._pg is not None and (self._pg.raw.closed or self._pg.raw.broken):
            self._pg.close()
            self._pg = None
        if self._pg is None:
            conn = self.connect()
            assert isinstance(conn, sqldb.PgConnection)
            self._pg = conn
        return self._pg, False

    def _database_refusal(self, error: BaseException) -> StoreError:
        if sqldb.lock_timed_out(error):
            return locked(self.location.display, self.lock_timeout_s())
        return StoreError(f"the ledger could not be written ({first_line(error)}); nothing "
                          "was written")

    def lock_timeout_s(self) -> int:
        """How long a command waits for a lock another session holds (both backends)."""
        key = "POSTGRES_LOCK_TIMEOUT" if self.location.kind == "postgresql" else (
            "SQLITE_LOCK_TIMEOUT")
        return int(self.location.env.get(key) or 0)

    def plan(self, batch: Sequence[tuple[str, Command]], meta: Meta, keep_events: bool,
             refused: Refusals | None, sink: Sink | None = None) -> _Plan:
        """Decide the batch against the latest states and encode its events, chained.

        With a ``sink``, each encoded event goes to it (with its command's index) instead
        of into the plan: an import decided by a worker process streams them to a file.
        """
        plan = _Plan()
        emit = sink or plan.emit
        problems: list[Problem] = []
        current: str | None = None
        state = ContractState("")
        stream = stream_id("")
        # Only the state of the contract being decided is held: a batch grouped by
        # contract (as imports are) never holds every contract's figures at once.
        # A contract met again later is rebuilt from the store plus its pending events.
        left: set[str] = set()
        # Events decided but not yet folded into ``state``: folded only if another
        # command of the same contract follows (a one-return-per-contract import never
        # pays for it). Chaining needs only the previous event's hash.
        unfolded: list[tuple[AnyEvent, str]] = []
        for index, (reference, command) in enumerate(batch):
            if reference != current:
                if current is not None:
                    left.add(current)
                if sink is not None and reference in left:
                    # Its earlier events went to the sink, out of reach of ``_resume``.
                    raise ValueError(f"a batch decided into a sink must keep each "
                                     f"contract's commands together ({reference!r} again)")
                current, stream = reference, stream_id(reference)
                state = self._resume(reference, plan.stored, stream) if (
                    reference in left) else self.load(reference)
                unfolded.clear()
            for event, digest in unfolded:
                # ``state`` is this loop's own (loaded or resumed for this contract, or
                # the result of the last fold): folded in place, not copied per return.
                state = evolve_owned(state, event, digest)
            unfolded.clear()
            try:
                decision = decide(state, command, meta)
            except InvalidInput as e:
                problems.extend(e.problems)
                plan.decisions.append(Decision(()))
                continue
            except LedgerError as e:
                if refused is None:
                    raise
                problems.extend(refused(index, state, e))
                plan.decisions.append(Decision(()))
                continue
            head, version = state.head_hash, state.version
            for event in decision.events:
                chained = msgspec.structs.replace(event, prev_hash=head)
                data = codec.encode(chained)
                head, version = codec.event_hash(data), version + 1
                unfolded.append((chained, head))
                emit(StoredEvent(originator_id=stream, originator_version=version,
                                 topic=codec.topic(chained), state=data), index)
            plan.decisions.append(decision if keep_events else Decision((), decision.receipt))
        if problems:
            raise InvalidInput(problems)
        return plan

    def _resume(self, reference: str, pending: list[StoredEvent], stream: UUID) -> ContractState:
        state = self.load(reference)
        for stored in pending:
            if stored.originator_id == stream:
                state = evolve_owned(state, codec.decode(stored.topic, stored.state),
                                     codec.event_hash(stored.state))
        return state


__all__ = ["DEFAULT_DB", "Envelope", "Ledger", "LedgerApplication", "Location",
           "MsgspecMapper", "StoreError", "Stored", "Written", "ledger_exists", "locate",
           "stream_id"]
