"""audit verify also rebuilds every projection and compares it with the stored rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from backends import Db
from outcomeledger.app.demo import build_demo, build_gm
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.projections import compare, compare_workers, positions
from outcomeledger.storage.store import Ledger


def ledger_with_projections(tmp_path: Path,
                            build: Callable[[Ledger], object] = build_gm) -> Path:
    path = tmp_path / "ledger.db"
    with open_ledger(str(path), create=True) as ledger:
        build(ledger)
    return path


def verify(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", str(path), "audit", "verify", "--format",
                                      "table"])
    return result.exit_code, result.stdout


def test_current_projections_verify(tmp_path: Path) -> None:
    code, out = verify(ledger_with_projections(tmp_path))
    assert code == 0, out


def test_an_edited_projection_row_is_caught(tmp_path: Path) -> None:
    path = ledger_with_projections(tmp_path)
    with sqlite3.connect(path) as conn:
        changed = conn.execute("UPDATE proj_payments SET payable='1192001.00' WHERE "
                               "contract='GMHP-2017' AND period='FY2018-Q4'").rowcount
        conn.commit()
    assert changed == 1
    code, out = verify(path)
    assert code == 1
    assert "MISMATCH projection: live table has a row replay does not" in out
    assert "1192001.00" in out


def test_a_deleted_projection_row_is_caught(tmp_path: Path) -> None:
    path = ledger_with_projections(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM proj_audit_trail WHERE position=3")
        conn.commit()
    code, out = verify(path)
    assert code == 1
    assert "MISMATCH projection: replay has a row the live table lacks" in out


def _insert_copy(path: Path, select: str, table: str,
                 first: Callable[[Any], object]) -> object:
    """A copy of the first row ``select`` finds, inserted into ``table`` with its first
    column replaced by ``first(that column)``; the new first column."""
    with sqlite3.connect(path) as conn:
        # Without the generated money companions (`*_minor`, last): not insertable.
        width = len(conn.execute(f"PRAGMA table_info({table})").fetchall())
        row = conn.execute(select).fetchone()[:width]
        marks = ", ".join("?" * len(row))
        new = first(row[0])
        conn.execute(f"INSERT INTO {table} VALUES ({marks})", (new, *row[1:]))
        conn.commit()
    return new


def test_rows_of_a_contract_with_no_events_are_caught(tmp_path: Path) -> None:
    path = ledger_with_projections(tmp_path)
    _insert_copy(path, "SELECT * FROM proj_payments_totals", "proj_payments_totals",
                 lambda _: "GHOST-1")
    code, out = verify(path)
    assert code == 1
    assert "live table has a row replay does not" in out
    assert "GHOST-1" in out


def test_an_audit_trail_row_beyond_the_last_event_is_caught(tmp_path: Path) -> None:
    path = ledger_with_projections(tmp_path)
    beyond = _insert_copy(path, "SELECT * FROM proj_audit_trail ORDER BY position DESC",
                          "proj_audit_trail", lambda last: last + 7)
    code, out = verify(path)
    assert code == 1
    assert f'"position":{beyond}' in out


def test_a_tracking_position_ahead_of_the_others_is_caught(tmp_path: Path) -> None:
    path = ledger_with_projections(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE tracking SET notification_id = notification_id + 1 "
                     "WHERE application_name = 'proj_payments'")
        conn.commit()
    code, out = verify(path)
    assert code == 1
    assert '"projection":"proj_payments"' in out


@pytest.mark.parametrize("limit", [3, 1000])
def test_contract_workers_find_what_one_process_finds(tmp_path: Path, limit: int) -> None:
    """Compared by worker processes or by one: the same differences, in the same order,
    cut at the same limit."""
    path = ledger_with_projections(tmp_path, build_demo)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE proj_payments SET payable = '1.00' WHERE period LIKE 'FY2019%'")
        conn.execute("UPDATE proj_accountability SET actual = '7' WHERE code LIKE 'A%'")
        conn.execute("DELETE FROM proj_audit_trail WHERE position % 5 = 0")
        conn.commit()
    with open_ledger(str(path)) as ledger, closing(ledger.connect()) as conn:
        tracked = positions(conn)
        one = compare.differences(conn, tracked, limit=limit, workers=0)
        split = compare.differences(conn, tracked, limit=limit, workers=2)
    assert len(one) == limit if limit == 3 else len(one) > 20
    assert split == one


@pytest.fixture
def demo_ledger(ledger_db: Db) -> Db:
    """The demo ledger with its read models, on each backend."""
    with open_ledger(ledger_db.url, create=True) as ledger:
        build_demo(ledger)
    return ledger_db


def test_contract_workers_compare_on_either_backend(
        demo_ledger: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL too: each worker connects with the caller's parameters and compares its
    share in a snapshot of its own; the findings are one process's, and stale positions
    send every share back (seen failing on PostgreSQL before: no worker started)."""
    demo_ledger.sql("UPDATE proj_payments SET payable = '1.00' WHERE period LIKE 'FY2019%'")
    demo_ledger.sql("UPDATE proj_accountability SET actual = '7' WHERE code LIKE 'A%'")
    started: list[object] = []
    start = compare_workers.start

    def counted(*args: Any) -> Any:
        started.append(args)
        return start(*args)

    monkeypatch.setattr(compare_workers, "start", counted)
    with open_ledger(demo_ledger.url) as ledger, closing(ledger.connect()) as conn:
        tracked = positions(conn)
        one = compare.differences(conn, tracked, limit=1000, workers=0)
        split = compare.differences(conn, tracked, limit=1000, workers=2)
        stale = {name: position - 1 for name, position in tracked.items()}
        assert (compare.differences(conn, stale, limit=50, workers=2)
                == compare.differences(conn, stale, limit=50, workers=0))
    assert len(started) == 4  # two workers, twice
    assert len(one) > 20
    assert split == one


def test_a_worker_that_sees_the_tables_move_hands_its_share_back(tmp_path: Path) -> None:
    path = ledger_with_projections(tmp_path, build_demo)
    with open_ledger(str(path)) as ledger, closing(ledger.connect()) as conn:
        tracked = positions(conn)
        stale = {name: position - 1 for name, position in tracked.items()}
        # Positions the worker will not find: it must give its share back, and the
        # comparison still be the one-process comparison against those positions.
        assert (compare.differences(conn, stale, limit=50, workers=2)
                == compare.differences(conn, stale, limit=50, workers=0))
