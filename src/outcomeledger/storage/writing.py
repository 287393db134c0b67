"""Writing: events appended in one transaction with the read models that follow from them.

An event is committed only with everything that follows from it (its read models, its
payment schedule over the whole term) computed and written, so a refusal always means
nothing was written. The store does not know what the read models are: the layer that
opens the ledger hands it a :class:`Projector` (``app.ledger.open_ledger``), and a ledger
opened without one (a worker process that only decides) writes events alone.
Part of :class:`~outcomeledger.storage.store.Ledger`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, suppress
from typing import NamedTuple, Protocol, TypeVar
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteAggregateRecorder

from ..domain.contract.state import ContractState
from ..domain.errors import LedgerError
from ..domain.events import AnyEvent
from . import sqldb
from .connections import Connections
from .location import StoreError, first_line, locked

T = TypeVar("T")


class Folded(NamedTuple):
    """A contract's stream as a write leaves it, folded by the write itself: the state
    after its events, every event of the stream and each one's position. Handed to the
    read models with the write, which would otherwise read the stream back and fold it
    again (a long contract's events, twice per write)."""

    stream: str  # the stream's id, as the events table holds it (hex)
    state: ContractState
    events: tuple[AnyEvent, ...]
    positions: tuple[int, ...]


#: The stream a write leaves, given the positions its events took (None: not known).
AfterWrite = Callable[[Sequence[int]], Folded | None]


class Projector(Protocol):
    """What the store needs of the read models: catch them up with the events."""

    def catch_up(self, conn: sqldb.Conn) -> int:
        """Catch every read model up, in transactions of its own: the events projected."""

    def catch_up_within(self, conn: sqldb.Conn, folded: Folded | None = None) -> int:
        """Catch every read model up inside the caller's open transaction: the position.
        ``folded``: a contract's stream as the write left it (the read models may take
        it instead of reading and folding the stream again)."""

    def failure(self, error: BaseException) -> str | None:
        """``error`` as a read model that cannot be computed, in one line; else None."""


def _rollback(conn: sqldb.Conn) -> None:
    """Roll back, if the connection still can (a dropped one already has): the error
    that made us roll back is the one to report."""
    with suppress(Exception):
        conn.execute("ROLLBACK")


def _row(e: StoredEvent) -> tuple[str, int, str, bytes]:
    stream = e.originator_id
    return (stream.hex if isinstance(stream, UUID) else str(stream), e.originator_version,
            e.topic, e.state)


class Writing(Connections):
    """The writing half of the ledger."""

    recorder: ApplicationRecorder
    projector: Projector | None
    #: Bring the projections up to date after every write (read your own writes). Bulk
    #: loaders (bench, scenario import) switch it off and catch up once at the end.
    project_on_write = True
    # Projection tables checked (present, current layout) and caught up before this
    # ledger's first write; whether that catch-up met an event it cannot project;
    # whether the last write projected its own events (see ``after_write``).
    _projections_ready = False
    _stuck = False
    _projected: int | None = None

    def max_position(self) -> int:
        """The ledger's head: the position of the last event written (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    # -- projections (DESIGN 6) --------------------------------------------------------

    def project(self) -> int:
        """Catch every projection up with the events written; returns the events projected.

        A read model that cannot be computed, or a lock held elsewhere past the lock
        timeout, is a StoreError naming it (one line, not a traceback)."""
        projector = self._projector()
        try:
            return self._project(projector)
        except Exception as e:
            if (what := projector.failure(e)) is not None:
                raise StoreError(f"the projections cannot be brought up to date: {what}"
                                 ) from e
            if sqldb.lock_timed_out(e):
                raise locked(self.location.display, self.lock_timeout_s()) from None
            raise

    def _projector(self) -> Projector:
        if self.projector is None:
            raise StoreError(f"the ledger at {self.location.display} was opened without "
                             "its read models; nothing can project them")
        return self.projector

    def _project(self, projector: Projector) -> int:
        if self.location.kind != "postgresql":
            with closing(self.connect()) as conn:
                return projector.catch_up(conn)
        for attempt in (1, 2):
            try:
                return projector.catch_up(self.kept_connection())
            except sqldb.connection_lost() as e:
                if sqldb.lock_timed_out(e):  # (psycopg files it as an OperationalError)
                    raise
                # The kept connection died (a server restart, an idle timeout): a
                # batch is one transaction, so catching up again is safe. Once.
                if self._pg is not None:
                    self._pg.close()
                    self._pg = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def after_write(self) -> None:
        if self._projected is not None and self._projected == self.max_position():
            return  # the write's own transaction projected its events, and no one wrote since
        if self._projects_on_write():
            try:
                self.project()
            except sqldb.errors() as e:
                raise StoreError(f"events were written but the projections could not be "
                                 f"updated ({first_line(e)}); run `outcomeledger project`"
                                 ) from None

    def _projects_on_write(self) -> bool:
        return self.project_on_write and self.has_projections and self.projector is not None

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
                yield _row(e)
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

    def append(self, stored: Sequence[StoredEvent],
               also: Callable[[sqldb.Conn], None] | None = None,
               after: AfterWrite | None = None) -> Sequence[int] | None:
        """Append decided, chained events in one transaction: their positions, or None
        when another writer got to one of their streams first (nothing written).

        When the ledger keeps projections and projects on write, the same transaction
        writes the projections of the new events (see the module docstring). ``also``
        writes in that transaction too, before the events (the participant keys they
        use, :mod:`.participant_keys`); a unique-key conflict there is a conflict too.
        ``after``: the contract's stream as these events leave it, from their positions
        (the read models take it rather than fold the stream again)."""
        if self._projects_on_write():
            return self._write(self._inserter(stored), also, after=after)
        if also is not None:
            return self._write(self._inserter(stored), also, project=False)
        try:
            # One insert_events call is one database transaction: every event of the
            # batch lands, or (refused, conflicting, killed) none does.
            return self.recorder.insert_events(stored) or ()
        except IntegrityError:
            return None
        except PersistenceError as e:  # unreachable, refused (no privilege), ...
            raise StoreError(f"the ledger could not be written: {first_line(e)}") from None

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
            conn.executemany(recorder.insert_events_statement, [_row(e) for e in stored])
            positions = list(range(before + 1, sqldb.head(conn) + 1))
            if len(positions) != len(stored):
                raise StoreError(f"appended {len(stored)} events but the ledger moved by "
                                 f"{len(positions)} positions; nothing was written")
            return positions
        return insert_sqlite

    def _write(self, insert: Callable[[sqldb.Conn], T],
               also: Callable[[sqldb.Conn], None] | None = None, *,
               project: bool = True,
               after: Callable[[T], Folded | None] | None = None) -> T | None:
        """One transaction: ``also``, ``insert`` the events, then (``project``) catch every
        projection up with them; commit all or nothing. None when another writer got to
        one of the streams first. A projection that cannot be computed, a lock held too
        long or any database error rolls everything back and is refused in one line.
        ``project=False``: a ledger that does not project on write, with something to
        write beside its events (the participant keys they use)."""
        projector = self._projector() if project else None
        if projector is not None:
            self._ready_projections(projector)
        conn: sqldb.Conn
        if self.location.kind == "postgresql":
            conn, owned = self.kept_connection(), False
        else:
            conn, owned = self.connect(), True
        try:
            conn.execute("BEGIN IMMEDIATE" if self.location.kind == "sqlite" else "BEGIN")
            try:
                try:
                    if also is not None:
                        also(conn)
                    result = insert(conn)
                except sqldb.integrity_errors():
                    _rollback(conn)
                    return None
                if projector is not None:
                    projected = projector.catch_up_within(
                        conn, None if after is None else after(result))
                conn.execute("COMMIT")
                if projector is not None:
                    self._projected, self._stuck = projected, False
            except BaseException as e:
                _rollback(conn)
                if isinstance(e, LedgerError) or not isinstance(e, Exception):
                    raise
                if projector is not None and (what := projector.failure(e)) is not None:
                    raise self._unprojectable(what) from e
                if not isinstance(e, sqldb.errors()):
                    raise
                raise self.database_refusal(e) from None
            return result
        finally:
            if owned:
                conn.close()

    def _unprojectable(self, what: str) -> StoreError:
        return StoreError(f"nothing was written: {what}" + (
            "; it was recorded before this write, by an older version that accepted "
            "what this one refuses: vary that contract within today's bounds"
            if self._stuck else ""))

    def _ready_projections(self, projector: Projector) -> None:
        """Before this ledger's first write: create missing projection tables, rebuild
        outdated ones and catch up, each in transactions of their own, so that the
        write's transaction holds little more than its own events' projections (later
        writes skip this: it costs catalog queries, and the write catches up anyway).
        A read model that cannot be computed is left to the write's transaction, whose
        new events may be what repairs it."""
        if self._projections_ready:
            return
        try:
            self._project(projector)
        except StoreError:
            raise
        except Exception as e:
            if projector.failure(e) is None:
                if not isinstance(e, sqldb.errors()):
                    raise
                raise self.database_refusal(e) from None
            self._stuck = True
        self._projections_ready = True
