"""No event the ledger cannot live with (issue 15, items 1, 6 and 8).

* Dates and day counts are bounded where they are decided: a term, claims window,
  closure or period outside what the ledger records is refused with the field, the
  value given and what was expected, and nothing is written.
* An event is committed only together with its projections: when they cannot be
  computed the write is refused whole (exit 1, one line, no traceback), whatever the
  cause.
* A ledger already holding such an event (written by an older version) still takes
  writes, projects and replays.
* PostgreSQL gives up waiting behind another session's lock, as SQLite does, with one
  clear message.

Every command runs through the CLI on both backends (tests/backends.py).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner, Result
from eventsourcing.persistence import StoredEvent

from backends import Db
from outcomeledger.app import services as service
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.domain import codec
from outcomeledger.domain.commands import Meta
from outcomeledger.domain.contract.state import ContractState
from outcomeledger.domain.events import ContractAgreed
from outcomeledger.domain.periods import PeriodError, parse_period, periods_between
from outcomeledger.imports.documents import load_terms
from outcomeledger.projections import base as projection_base
from outcomeledger.projections import follow, positions
from outcomeledger.projections.sql import PG_LOCK
from outcomeledger.storage import location, store
from outcomeledger.storage.application import stream_id
from outcomeledger.storage.location import Location, locate

DATA = resources.files("outcomeledger").joinpath("demo_data")
ENF = str(DATA.joinpath("enf.toml"))  # quarterly, 2018-07-01 .. 2021-06-30
GM = str(DATA.joinpath("gm.toml"))
PB = str(DATA.joinpath("pb.toml"))
ENF_RETURN = str(DATA.joinpath("enf_FY2018-Q2.csv"))


class Cli:
    def __init__(self, db: Db) -> None:
        self.db = db

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", self.db.url, "--actor", "tester", *args])

    def head(self) -> tuple[int, str]:
        """(events, hash of the last one): what a refused command must leave alone."""
        with open_ledger(self.db.url) as ledger:
            last = list(ledger.feed(max(ledger.max_position() - 1, 0)))
            return ledger.max_position(), last[-1].hash if last else ""

    def tracked(self) -> set[int]:
        with open_ledger(self.db.url) as ledger, closing(ledger.connect()) as conn:
            return set(positions(conn).values())


@pytest.fixture
def run(ledger_db: Db) -> Cli:
    run = Cli(ledger_db)
    assert run("init").exit_code == 0
    result = run("contract", "agree", ENF)
    assert result.exit_code == 0, result.stderr
    return run


def refused(run: Cli, *args: str) -> str:
    """Run a command that must be refused cleanly and change nothing: its one message."""
    before = run.head()
    result = run(*args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception)
    assert "Traceback" not in result.stderr
    assert run.head() == before
    assert run.tracked() == {before[0]}
    return result.stderr


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def with_line(path: str, key: str, line: str) -> str:
    """The contract file at ``path`` with its ``key = ...`` line replaced by ``line``."""
    text = Path(path).read_text(encoding="utf-8")
    out = [line if row.startswith(f"{key} = ") else row for row in text.splitlines()]
    assert line in out, f"no {key} line in {path}"
    return "\n".join(out) + "\n"


# -- item 1: the six inputs that poisoned a ledger, refused with nothing written ----------

@pytest.mark.parametrize(("key", "line", "expected"), [
    ("end", "end = 9999-12-31",
     "end: outside the dates a ledger records (got 9999-12-31, expected "
     "1900-01-01 to 2200-12-31)"),
    ("end", "end = 2090-06-30",
     "end: a term of more than 50 years (got 2090-06-30, expected on or before "
     "2068-07-01)"),
    ("start", "start = 0001-01-01",
     "start: outside the dates a ledger records (got 0001-01-01"),
    ("returns_due_days", "returns_due_days = 3000000",
     "returns_due_days: days after a period ends that its return is due (got "
     "3000000, expected 0 to 3660)"),
    ("returns_due_days", "returns_due_days = -1",
     "returns_due_days: days after a period ends that its return is due (got -1, "
     "expected 0 to 3660)"),
])
def test_a_contract_beyond_the_bounds_is_refused_and_nothing_is_written(
        run: Cli, tmp_path: Path, key: str, line: str, expected: str) -> None:
    text = with_line(ENF, key, line).replace("MHEP-ENF-2018", "BOUNDS-1")
    message = refused(run, "contract", "agree", write(tmp_path, "c.toml", text))
    assert expected in message
    # The ledger still takes writes afterwards (it used to crash on every one).
    assert run("contract", "agree", GM).exit_code == 0
    assert run.tracked() == {run.head()[0]}


@pytest.mark.parametrize(("variation", "expected"), [
    ("end = 9999-12-31\n", "end: outside the dates a ledger records (got "
     "9999-12-31, expected 1900-01-01 to 2200-12-31)"),
    ("claims_until = 9999-12-31\n", "claims_until: outside the dates a ledger "
     "records (got 9999-12-31"),
    ("claims_until = 2040-01-01\n", "claims_until: claims window open more than 10 "
     "years after the term ends (got 2040-01-01, expected on or before 2031-06-30)"),
    ("returns_due_days = 3000000\n", "returns_due_days: days after a period ends "
     "that its return is due (got 3000000, expected 0 to 3660)"),
])
def test_a_variation_beyond_the_bounds_is_refused_and_nothing_is_written(
        run: Cli, tmp_path: Path, variation: str, expected: str) -> None:
    path = write(tmp_path, "v.toml", variation)
    message = refused(run, "contract", "vary", "MHEP-ENF-2018", path, "--effective",
                      "2019-04-01", "--reason", "extension")
    assert expected in message


def test_closing_on_a_date_beyond_the_bounds_is_refused(run: Cli) -> None:
    message = refused(run, "contract", "close", "MHEP-ENF-2018", "--on", "9999-12-31",
                      "--reason", "ended")
    assert message.startswith("error: --on: ")
    assert ("outside the dates a ledger records (got 9999-12-31, expected 1900-01-01 to "
            "2200-12-31)") in message


# -- item 6: periods and positions out of range ------------------------------------------

@pytest.mark.parametrize(("period", "year"), [("FY9999-Q4", 10000), ("FY0000-Q1", 0),
                                              ("FY2200-Q4", 2201)])
def test_a_period_beyond_the_bounds_is_refused_on_the_command_line(
        run: Cli, period: str, year: int) -> None:
    message = refused(run, "adjust", "MHEP-ENF-2018", "--period", period, "--kind", "bonus",
                      "--amount", "5", "--reason", "r")
    assert message.startswith("error: --period: ")
    assert (f"{period} begins in {year}, outside the years a ledger records (1900 to 2200)"
            ) in message
    message = refused(run, "payments", "certify", "MHEP-ENF-2018", "--period", period)
    assert f"{period} begins in {year}" in message


@pytest.mark.parametrize("period", ["FY9999-Q4", "FY0000-Q1", "9999-10-01..9999-12-31"])
def test_a_period_beyond_the_bounds_is_refused_in_a_returns_file(
        run: Cli, tmp_path: Path, period: str) -> None:
    path = write(tmp_path, "r.csv", "contract,period,outcome,value\n"
                                    f"MHEP-ENF-2018,{period},ENG,1\n")
    message = refused(run, "returns", "import", path)
    assert f"r.csv:2: period: {period} begins in" in message


def test_events_after_a_position_beyond_64_bits_is_a_usage_error(run: Cli) -> None:
    result = run("events", "--after", "99999999999999999999999")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert "is not in the range 0<=x<=9223372036854775806" in result.stderr
    last = run("events", "--after", str(2**63 - 2), "--limit", str(2**63 - 1))
    assert (last.exit_code, last.stdout) == (0, "")


def test_period_ids_are_bounded_to_the_years_a_ledger_records() -> None:
    assert parse_period("FY1900-Q1", "quarter").start == date(1900, 4, 1)
    assert parse_period("FY2200-Q3", "quarter").end == date(2200, 12, 31)
    assert parse_period("2200-12", "month").end == date(2200, 12, 31)
    for text, cadence in [("FY2200-Q4", "quarter"), ("1899-12", "month"),
                          ("FY9999-Q4", "quarter"), ("0000-01", "month")]:
        with pytest.raises(PeriodError, match="outside the years a ledger records"):
            parse_period(text, cadence)


# -- item 1: an event is committed only with its projections ------------------------------

def test_a_write_whose_projections_cannot_be_computed_writes_nothing(
        run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the cause (here a read model made to fail for one contract), the event
    and its projections commit together or not at all: exit 1 means nothing written."""
    periods_of = projection_base.periods_of

    def failing(state: ContractState) -> list[object]:
        if state.reference == "GMHP-2017":
            raise OverflowError("date value out of range")
        return periods_of(state)  # type: ignore[return-value]

    monkeypatch.setattr(projection_base, "periods_of", failing)
    message = refused(run, "contract", "agree", GM)
    assert message.startswith("error: nothing was written: the contract_state read model "
                              "of contract 'GMHP-2017' at position 2 cannot be computed "
                              "(OverflowError: date value out of range)")
    assert message.count("\n") == 1
    # Other contracts are still written, with their projections.
    assert run("returns", "import", ENF_RETURN).exit_code == 0
    written = run.head()[0]
    assert written > 1
    assert run.tracked() == {written}
    monkeypatch.undo()
    assert run("contract", "agree", GM).exit_code == 0
    assert run.head()[0] == written + 1
    assert run.tracked() == {written + 1}


def test_an_import_whose_projections_cannot_be_computed_writes_nothing(
        run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    periods_of = projection_base.periods_of

    def failing(state: ContractState) -> list[object]:
        if state.figures:
            raise ArithmeticError("schedule cannot be computed")
        return periods_of(state)  # type: ignore[return-value]

    monkeypatch.setattr(projection_base, "periods_of", failing)
    message = refused(run, "returns", "import", ENF_RETURN)
    assert "nothing was written: the contract_state read model of contract " \
           "'MHEP-ENF-2018' at position 3 cannot be computed (ArithmeticError: " in message


def test_an_event_already_stored_that_cannot_be_projected_is_named_not_a_traceback(
        run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """An event stored beneath today's checks (by an older version) whose read models
    cannot be computed: `project`, `replay` and every write say so in one line, and
    change nothing."""
    with open_ledger(run.db.url) as ledger:
        ledger.project_on_write = False  # stored, as an older version stored it
        service.agree(ledger, Path(GM), Meta(datetime(2020, 1, 1, tzinfo=UTC), "old"))
    periods_of = projection_base.periods_of

    def failing(state: ContractState) -> list[object]:
        if state.reference == "GMHP-2017":
            raise OverflowError("date value out of range")
        return periods_of(state)  # type: ignore[return-value]

    monkeypatch.setattr(projection_base, "periods_of", failing)
    result = run("project")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: the projections cannot be brought up to date: the contract_state read "
        "model of contract 'GMHP-2017' at position 2 cannot be computed (OverflowError: "
        "date value out of range)\n")
    result = run("replay")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: the projections cannot be rebuilt: the read models of contract 'GMHP-2017' "
        "cannot be computed (OverflowError: date value out of range)\n")
    before = run.head()
    result = run("returns", "import", ENF_RETURN)
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert "nothing was written: the contract_state read model of contract 'GMHP-2017'" \
           in result.stderr
    assert "recorded before this write, by an older version" in result.stderr
    assert run.head() == before
    assert run.tracked() == {1}


# -- item 1: a ledger poisoned by an older version still works -----------------------------

def poison(url: str, **terms: object) -> None:
    """Append, as an older version did, a contract whose terms are beyond the bounds
    (the decider of today refuses them, so the event goes in beneath it)."""
    agreed = load_terms(Path(ENF))
    agreed = msgspec.structs.replace(agreed, reference="POISON", **terms)
    event = ContractAgreed(contract="POISON", recorded_at=datetime(2020, 1, 1, tzinfo=UTC),
                           recorded_by="old-version", reason="contract agreed",
                           terms=agreed, prev_hash=ContractState("POISON").head_hash)
    with open_ledger(url) as ledger:
        ledger.recorder.insert_events([StoredEvent(stream_id("POISON"), 1,
                                                   codec.topic(event), codec.encode(event))])


@pytest.mark.parametrize("terms", [{"end": date(9999, 12, 31)},
                                   {"claims_until": date(9999, 12, 31)},
                                   {"returns_due_days": 3_000_000}],
                         ids=["end", "claims_until", "returns_due_days"])
def test_a_ledger_holding_an_event_beyond_the_bounds_still_takes_writes(
        run: Cli, terms: dict[str, object]) -> None:
    poison(run.db.url, **terms)
    assert run.head()[0] == 2
    result = run("contract", "agree", GM)
    assert result.exit_code == 0, result.stderr
    assert run.head()[0] == 3
    assert run.tracked() == {3}
    assert run("replay").exit_code == 0
    assert run("payments", "POISON", "--format", "json").exit_code == 0


# -- item 8: a lock held elsewhere is waited for at most the lock timeout -----------------

@pytest.fixture
def short_lock_timeout(monkeypatch: pytest.MonkeyPatch) -> int:
    """Every ledger opened gives up on a lock after 2 s (30 s by default on both
    backends): the refusal is what is tested, not the length of the wait."""
    real = locate

    def locate_2s(url: str | None) -> Location:
        found = real(url)
        key = "POSTGRES_LOCK_TIMEOUT" if found.kind == "postgresql" else "SQLITE_LOCK_TIMEOUT"
        assert found.env[key] == "30"
        return replace(found, env={**found.env, key: "2"})

    # Both names: the store's (a ledger opened) and the module's own (a lock met outside
    # a ledger's writes is reported by the CLI after locating the ledger again).
    monkeypatch.setattr(store, "locate", locate_2s)
    monkeypatch.setattr(location, "locate", locate_2s)
    return 2


def behind_a_lock(run: Cli, lock: str, *args: str) -> tuple[Result, float]:
    """Run a command while another session holds ``lock`` (SQL, in a transaction): its
    result and how long it took. A command still waiting after 20 s fails the test
    (releasing the lock lets it finish): it would have waited for ever."""
    locker = run.db.connect()
    with ThreadPoolExecutor(1) as pool:
        try:
            locker.execute("BEGIN IMMEDIATE" if run.db.backend == "sqlite" else "BEGIN")
            if lock:
                locker.execute(lock)
            started = time.monotonic()
            future = pool.submit(run, *args)
            try:
                result = future.result(timeout=20)
            except FuturesTimeout:
                pytest.fail(f"{' '.join(args)} was still waiting for the lock after 20 s")
            return result, time.monotonic() - started
        finally:
            locker.execute("ROLLBACK")
            locker.close()


def test_a_write_behind_another_sessions_lock_gives_up_with_a_clear_message(
        run: Cli, short_lock_timeout: int) -> None:
    # SQLite: BEGIN IMMEDIATE holds the write lock. PostgreSQL: the lock eventsourcing's
    # writers take (reads go on, writes wait).
    lock = "" if run.db.backend == "sqlite" else (
        "LOCK TABLE outcomeledger_events IN EXCLUSIVE MODE")
    result, waited = behind_a_lock(run, lock, "contract", "agree", GM)
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: the ledger at ")
    assert (f"stayed locked by another session for {short_lock_timeout} s (a long import "
            "or replay, or a LOCK TABLE left open); nothing was written") in result.stderr
    assert result.stderr.count("\n") == 1
    assert waited < 15 * short_lock_timeout
    assert run.head()[0] == 1
    assert run("contract", "agree", GM).exit_code == 0


@pytest.mark.parametrize("command", [("payments", "MHEP-ENF-2018"), ("events",),
                                     ("contract", "agree", GM), ("audit", "verify"),
                                     ("project", "--status")])
def test_postgresql_reads_behind_an_exclusive_lock_give_up_too(
        run: Cli, short_lock_timeout: int, command: tuple[str, ...]) -> None:
    """An ACCESS EXCLUSIVE lock (LOCK TABLE's default) stops reads as well: they used to
    wait for ever (and eventsourcing retried a failed read ten times)."""
    if run.db.backend == "sqlite":
        pytest.skip("SQLite readers never wait for a writer (WAL)")
    result, waited = behind_a_lock(
        run, "LOCK TABLE outcomeledger_events IN ACCESS EXCLUSIVE MODE", *command)
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "stayed locked by another session for 2 s" in result.stderr
    assert waited < 15
    assert run.head()[0] == 1


def test_periods_stop_at_the_last_day_a_ledger_records() -> None:
    periods = periods_between(date(2018, 7, 1), date(9999, 12, 31), "quarter")
    assert periods[-1].end == date(2200, 12, 31)


def test_a_postgresql_follower_waits_behind_a_long_projection_however_long(
        run: Cli, short_lock_timeout: int) -> None:
    """The lock timeout is for commands; a follower waiting its turn behind a writer
    projecting a long import in its own transaction must not die of it."""
    if run.db.backend == "sqlite":
        pytest.skip("the SQLite follower polls; it has no lock to time out on")
    stop = threading.Event()
    died: list[BaseException] = []

    def follower() -> None:
        try:
            with open_ledger(run.db.url) as ledger:
                follow.follow(ledger, stop.is_set, lambda _lag: None, 0.05)
        except BaseException as e:  # reported by the test
            died.append(e)

    thread = threading.Thread(target=follower, daemon=True)
    thread.start()
    locker = run.db.connect()
    try:
        locker.execute("BEGIN")
        locker.execute("SELECT pg_advisory_xact_lock(?)", (PG_LOCK,))  # a projector's
        with open_ledger(run.db.url) as ledger:
            ledger.project_on_write = False
            service.agree(ledger, Path(GM), Meta(datetime(2020, 1, 1, tzinfo=UTC), "w"))
        time.sleep(3 * short_lock_timeout)
        assert not died, died
        assert thread.is_alive()
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    deadline = time.monotonic() + 20
    while run.tracked() != {2} and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    thread.join(timeout=20)
    assert not died, died
    assert run.tracked() == {2}
