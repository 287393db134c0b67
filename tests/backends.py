"""The two storage backends: every test that opens a ledger runs on SQLite and PostgreSQL.

Fixtures (registered by ``conftest.py``):

* ``ledger_db`` / ``ledger_url``: a fresh, empty ledger location per test, parametrised
  by backend: a file in ``tmp_path``, or an empty PostgreSQL database of its own
  (created with a unique name; emptied after the test and handed to a later test, as
  creating a database costs ten times emptying one; all dropped at the end);
* ``module_ledger_db``: the same, shared by a module's tests (built once, e.g. the demo);
* :func:`copy_of`: a private copy of a ledger (SQLite backup; PostgreSQL ``CREATE
  DATABASE ... TEMPLATE``), for tests that tamper with a shared one;
* :class:`Db` gives tests raw SQL on either backend (tamper tests edit stored rows).

The PostgreSQL half needs a server: ``OUTCOMELEDGER_TEST_PG`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``) is an admin URL allowed to create
databases. Connectivity is checked once per session; without a server the PostgreSQL
tests are skipped with the reason, unless ``OUTCOMELEDGER_REQUIRE_PG=1`` (set by
``.ci/run``), which turns the skip into a failure.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg
import pytest

from outcomeledger.storage import sqldb
from outcomeledger.storage.location import locate

ADMIN_URL = os.environ.get("OUTCOMELEDGER_TEST_PG",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRED = os.environ.get("OUTCOMELEDGER_REQUIRE_PG", "") not in ("", "0")
PREFIX = "oltest_"

Backend = Literal["sqlite", "postgresql"]
BACKENDS = [pytest.param("sqlite", id="sqlite"),
            pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql)]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: runs against a PostgreSQL server "
                            "(skipped without one; see tests/backends.py)")


@dataclass(frozen=True)
class Db:
    """A ledger location and raw SQL on it (``?`` placeholders on both backends)."""

    url: str
    backend: Backend

    @property
    def events(self) -> str:
        """The events table eventsourcing keeps."""
        return sqldb.EVENTS_TABLE[self.backend]

    @property
    def position(self) -> str:
        """The column holding the global position in :attr:`events`."""
        return sqldb.POSITION[self.backend]

    @property
    def path(self) -> Path:
        assert self.backend == "sqlite", "only a SQLite ledger is a file"
        return Path(self.url)

    def connect(self) -> sqldb.Conn:
        if self.backend == "sqlite":
            return sqlite3.connect(self.url, isolation_level=None)
        return sqldb.pg_connect(locate(self.url).env)

    def sql(self, statement: str, *params: object) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction; the rows it returns, if any."""
        with closing(self.connect()) as conn:
            cursor = conn.execute(statement, params)
            return [tuple(r) for r in cursor.fetchall()] if cursor.description else []

    def tables(self) -> set[str]:
        catalog = ("SELECT name FROM sqlite_master WHERE type = 'table'" if
                   self.backend == "sqlite" else
                   "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {r[0] for r in self.sql(catalog)}

    def indexes(self) -> set[str]:
        catalog = ("SELECT name FROM sqlite_master WHERE type = 'index'" if
                   self.backend == "sqlite" else
                   "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        return {r[0] for r in self.sql(catalog)}


class Server:
    """The PostgreSQL server the tests may create databases on."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
        self._names = itertools.count(1)
        self._free: list[Db] = []  # emptied databases, ready for another test
        self._drop_stale()

    def url(self, name: str) -> str:
        base = self.admin_url.rsplit("/", 1)[0]
        return f"{base}/{name}"

    def create(self, template: str | None = None) -> Db:
        if template is None and self._free:
            return self._free.pop()
        name = f"{PREFIX}{os.getpid()}_{next(self._names)}"
        # A template copies a whole ledger (events, projections, sequence) in one step.
        source = f" TEMPLATE {template}" if template else ""
        self.admin.execute(f"CREATE DATABASE {name}{source}")
        return Db(self.url(name), "postgresql")

    def release(self, db: Db) -> None:
        """Empty ``db`` as a new database is (public schema and all) for a later test."""
        try:
            with closing(psycopg.connect(db.url, autocommit=True)) as conn:
                # Whatever a test left connected (a killed child's session) goes first.
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                conn.execute("DROP SCHEMA public CASCADE")
                conn.execute("CREATE SCHEMA public AUTHORIZATION pg_database_owner")
                conn.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
        except psycopg.Error:
            self.drop(db)  # dropped by the test itself (roles), or beyond repair
            return
        self._free.append(db)

    def drop(self, db: Db) -> None:
        name = db.url.rsplit("/", 1)[1]
        self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _drop_stale(self) -> None:
        """Drop test databases left by sessions that were killed (their pid is gone);
        databases of sessions still running are theirs."""
        rows = self.admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                  (PREFIX + "%",)).fetchall()
        for (name,) in rows:
            pid = name[len(PREFIX):].split("_", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        for db in self._free:
            self.drop(db)
        self.admin.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """The server, checked once per session: skipped (or failed, when required) if
    unreachable."""
    try:
        server = Server(ADMIN_URL)
    except psycopg.OperationalError as e:
        why = sqldb.describe_connect_error(e, sqldb.pg_params(locate(ADMIN_URL).env))
        reason = (f"no PostgreSQL server for the tests ({why}); set OUTCOMELEDGER_TEST_PG "
                  "to an admin URL that may create databases")
        if REQUIRED:
            pytest.fail(f"OUTCOMELEDGER_REQUIRE_PG is set but {reason}", pytrace=False)
        pytest.skip(reason)
    try:
        yield server
    finally:
        server.close()


def new_db(request: pytest.FixtureRequest, backend: Backend, folder: Path) -> Db:
    """A fresh ledger location on ``backend``, removed when ``request``'s scope ends."""
    if backend == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        return Db(str(folder / "ledger.db"), "sqlite")
    server: Server = request.getfixturevalue("pg_server")
    db = server.create()
    request.addfinalizer(lambda: server.release(db))
    return db


@pytest.fixture(params=BACKENDS)
def ledger_db(request: pytest.FixtureRequest, tmp_path: Path) -> Db:
    """A fresh ledger location (nothing created yet: ``init`` or ``create=True``)."""
    return new_db(request, request.param, tmp_path)


@pytest.fixture
def ledger_url(ledger_db: Db) -> str:
    return ledger_db.url


@pytest.fixture(scope="module", params=BACKENDS)
def module_ledger_db(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> Db:
    return new_db(request, request.param, tmp_path_factory.mktemp("ledger"))


def copy_of(request: pytest.FixtureRequest, db: Db, folder: Path) -> Db:
    """A private copy of ``db`` (which nothing may be connected to, on PostgreSQL)."""
    if db.backend == "sqlite":
        copy = folder / f"copy-{next(_copies)}.db"
        with closing(sqlite3.connect(db.url)) as src, closing(sqlite3.connect(copy)) as dst:
            src.backup(dst)
        return Db(str(copy), "sqlite")
    server: Server = request.getfixturevalue("pg_server")
    made = server.create(template=db.url.rsplit("/", 1)[1])
    request.addfinalizer(lambda: server.drop(made))
    return made


_copies = itertools.count(1)
