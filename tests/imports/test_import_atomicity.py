"""All or nothing: one import is one transaction. A file refused, or a process killed
(SIGKILL) at any moment of an import, leaves the ledger with every event of the import
or none of them, never part. On both backends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest

from backends import Db, copy_of
from outcomeledger.app.ledger import open_ledger
from outcomeledger.domain.commands import AgreeContract, Command, Meta
from outcomeledger.domain.errors import InvalidInput
from outcomeledger.domain.terms import ContractTerms, Outcome
from outcomeledger.imports.importer import import_data, import_returns
from outcomeledger.storage.application import stream_id
from outcomeledger.storage.location import StoreError

META = Meta(datetime(2026, 1, 5, tzinfo=UTC), "tester")
CONTRACTS, OUTCOMES, PERIODS = 100, 20, 40  # 80,000 rows in 4,000 returns


def _agree(url: str) -> int:
    outcomes = tuple(Outcome(code=f"O{o:02d}", name=f"Outcome {o}", price=Decimal(100))
                     for o in range(OUTCOMES))
    batch: list[tuple[str, Command]] = [(f"K-{c:03d}", AgreeContract(ContractTerms(
        reference=f"K-{c:03d}", title="t", buyer="b", supplier="s", start=date(2015, 4, 1),
        end=date(2025, 3, 31), cadence="quarter", outcomes=outcomes)))
        for c in range(CONTRACTS)]
    with open_ledger(url, create=True) as ledger:
        ledger.project_on_write = False
        ledger.execute_batch(batch, META)
        return ledger.max_position()


def _returns(path: Path) -> int:
    with path.open("w", encoding="utf-8") as out:
        out.write("contract,period,outcome,value\n")
        for p in range(PERIODS):
            period = f"FY{2015 + p // 4}-Q{p % 4 + 1}"
            out.writelines(f"K-{c:03d},{period},O{o:02d},{(c + o + p) % 30}\n"
                           for c in range(CONTRACTS) for o in range(OUTCOMES))
    return PERIODS * CONTRACTS  # one event per return


IMPORT = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from outcomeledger.storage import planning
from outcomeledger.domain.commands import Meta
from outcomeledger.imports.importer import import_returns
from outcomeledger.app.ledger import open_ledger
if len(sys.argv) > 3:  # mark the moment the import is a quarter through deciding
    decide, calls = planning.decide, [0]
    def marking(*args):
        calls[0] += 1
        if calls[0] == 1000:
            Path(sys.argv[3]).touch()
            time.sleep(60)
        return decide(*args)
    planning.decide = marking
with open_ledger(sys.argv[1]) as ledger:
    ledger.project_on_write = False
    import_returns(ledger, [sys.argv[2]], Meta(datetime(2026, 1, 5, tzinfo=UTC), "tester"))
"""


def _events(url: str) -> int:
    with open_ledger(url) as ledger:
        return ledger.max_position()


@pytest.fixture(scope="module")
def prepared(module_ledger_db: Db, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[Db, Path, int, int]:
    returns = tmp_path_factory.mktemp("atomic") / "returns.csv"
    before = _agree(module_ledger_db.url)
    return module_ledger_db, returns, before, before + _returns(returns)


#: Holding this lock, eventsourcing's PostgreSQL recorder is inside its append.
_APPENDING = ("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
              "WHERE c.relname = 'outcomeledger_events' AND l.mode = 'ExclusiveLock' "
              "AND l.granted")


def _writing(db: Db) -> bool:
    """Whether an import's write transaction is under way, not committed: on SQLite it
    has spilled 256 kB into the WAL; on PostgreSQL it holds the append lock."""
    if db.backend == "sqlite":
        wal = Path(db.url + "-wal")
        return wal.exists() and wal.stat().st_size > 256 * 1024
    return bool(db.sql(_APPENDING)[0][0])


def _kill_when(db: Db, returns: Path, *, deciding: Path | None = None,
               writing: bool = False) -> bool:
    """Run an import in a subprocess and SIGKILL it once it is a quarter through
    deciding (it touches ``deciding`` then), or once it is writing (see
    :func:`_writing`). True when it was killed before it finished."""
    marker = [] if deciding is None else [str(deciding)]
    process = subprocess.Popen([sys.executable, "-c", IMPORT, db.url, str(returns), *marker])
    started = time.monotonic()
    try:
        while process.poll() is None and time.monotonic() - started < 60:
            due = deciding is not None and deciding.exists()
            if due or (writing and _writing(db)):
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                return process.returncode == -signal.SIGKILL
            time.sleep(0.002)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return False


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["deciding", "writing"],
                         ids=["while deciding", "while writing"])
def test_an_import_killed_midway_leaves_nothing_partial(
        prepared: tuple[Db, Path, int, int], tmp_path: Path,
        request: pytest.FixtureRequest, moment: str) -> None:
    base, returns, before, after = prepared
    db = copy_of(request, base, tmp_path)
    # A moment the child marks, not a time: a fast host decides 80,000 rows in well under
    # a second and would be killed only once it had committed.
    killed = (_kill_when(db, returns, deciding=tmp_path / "deciding") if moment == "deciding"
              else _kill_when(db, returns, writing=True))
    assert killed, "the import finished before it was killed"
    assert _events(db.url) == before  # nothing of the import, not a part of it
    # The ledger is intact, and the same import then succeeds in full.
    with open_ledger(db.url) as ledger:
        ledger.project_on_write = False
        [receipt] = import_returns(ledger, [str(returns)], META)
    assert receipt.added == CONTRACTS * OUTCOMES * PERIODS
    assert _events(db.url) == after


@pytest.mark.slow
def test_an_import_by_worker_processes_killed_while_writing_leaves_nothing_partial(
        prepared: tuple[Db, Path, int, int], tmp_path: Path,
        request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Decided by workers, the events are appended while the workers still decide: the
    transaction is open for longer, and a kill then must leave nothing either."""
    base, returns, before, _ = prepared
    if base.backend != "sqlite":
        pytest.skip("worker processes import into SQLite ledgers only")
    monkeypatch.setenv("OUTCOMELEDGER_IMPORT_WORKERS", "2")  # inherited by the import
    db = copy_of(request, base, tmp_path)
    assert _kill_when(db, returns, writing=True), "the import finished before it was killed"
    assert _events(db.url) == before
    monkeypatch.delenv("OUTCOMELEDGER_IMPORT_WORKERS")
    with open_ledger(db.url) as ledger:
        ledger.project_on_write = False
        [receipt] = import_returns(ledger, [str(returns)], META)
    assert receipt.added == CONTRACTS * OUTCOMES * PERIODS


def test_a_refusal_in_a_later_file_leaves_the_ledger_as_it_was(ledger_url: str) -> None:
    before = _agree(ledger_url)
    good = b"contract,period,outcome,value\nK-001,FY2016-Q1,O01,3\n"
    bad = b"contract,period,outcome,value\nK-002,FY2016-Q1,O01,3\nK-002,FY2016-Q1,O99,1\n"
    with open_ledger(ledger_url) as ledger:
        ledger.project_on_write = False
        with pytest.raises(InvalidInput) as refused:
            import_data(ledger, [("good.csv", good), ("bad.csv", bad)], META)
        assert [(p.source, p.line, p.field) for p in refused.value.problems] == [
            ("bad.csv", 3, "outcome")]
        assert ledger.max_position() == before


def test_a_failure_while_writing_leaves_nothing(ledger_db: Db,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The database refusing the write part-way (here: after the first event) rolls
    the whole transaction back."""
    before = _agree(ledger_db.url)
    data = b"contract,period,outcome,value\nK-001,FY2016-Q1,O01,3\nK-002,FY2016-Q1,O01,3\n"
    if ledger_db.backend == "postgresql":
        # PostgreSQL appends a batch in one INSERT: the server refuses its second row.
        ledger_db.sql("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
                      "BEGIN RAISE EXCEPTION 'disk full'; END $$")
        ledger_db.sql("CREATE TRIGGER refuse BEFORE INSERT ON outcomeledger_events FOR EACH "
                      f"ROW WHEN (NEW.originator_id = '{stream_id('K-002')}') "
                      "EXECUTE FUNCTION refuse()")
        with open_ledger(ledger_db.url) as ledger:
            ledger.project_on_write = False
            with pytest.raises(StoreError, match="disk full"):
                import_data(ledger, [("r.csv", data)], META)
            assert ledger.max_position() == before
        return
    with open_ledger(ledger_db.url) as ledger:
        ledger.project_on_write = False
        recorder = type(ledger.recorder)
        original = cast(Any, recorder)._insert_events  # the SQLite recorder's private step

        def fail_after_first(self: object, cursor: object, stored: list[object],
                             **kw: object) -> object:
            original(self, cursor, stored[:1], **kw)
            raise OSError("disk full")

        monkeypatch.setattr(recorder, "_insert_events", fail_after_first)
        with pytest.raises(OSError, match="disk full"):
            import_data(ledger, [("r.csv", data)], META)
        assert ledger.max_position() == before
