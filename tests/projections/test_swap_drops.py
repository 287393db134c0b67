"""A replay's swap drops the old tables without zeroing their pages.

The SQLite Python links here is built with SECURE_DELETE: every page of a dropped table
is overwritten with zeros and written to the WAL, which made a replay of a ledger of
1,000,000 events spend 4.2 s of its swap on the old tables. The read models hold nothing
the events beside them do not, so the swap drops them with the setting off, and gives
the connection its setting back (the participant key store's erasures rely on it).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from outcomeledger.app.demo import build_demo
from outcomeledger.app.ledger import open_ledger
from outcomeledger.projections import dump, rebuild


def _secure_delete(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA secure_delete").fetchone()
    assert row is not None
    return int(row[0])


def test_the_swap_drops_the_old_tables_unzeroed_and_restores_the_setting(
        tmp_path: Path) -> None:
    with open_ledger(str(tmp_path / "ledger.db"), create=True) as ledger:
        build_demo(ledger)
        with closing(ledger.connect()) as conn:
            assert isinstance(conn, sqlite3.Connection)
            before = list(dump(conn))
            conn.execute("PRAGMA secure_delete=1")  # as Debian's build has it
            statements: list[str] = []
            conn.set_trace_callback(statements.append)
            rebuild(conn)
            conn.set_trace_callback(None)
            assert list(dump(conn)) == before
            assert _secure_delete(conn) == 1
    drops = [i for i, s in enumerate(statements)
             if s.startswith("DROP TABLE IF EXISTS proj_")]
    pragmas = [(i, s) for i, s in enumerate(statements) if s.startswith("PRAGMA secure_delete=")]
    assert drops
    # Every drop (the fresh tables' before the rebuild, the live ones at the swap) between
    # a PRAGMA turning it off and the one putting it back.
    for d in drops:
        last = max((p for p in pragmas if p[0] < d), default=None)
        assert last is not None, statements[d]
        assert last[1] == "PRAGMA secure_delete=0", statements[d]
    assert pragmas[-1][1] == "PRAGMA secure_delete=1"
