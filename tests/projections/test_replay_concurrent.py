"""Replays started at the same time never clobber each other's half-built tables.

A replay builds fresh tables and swaps them in; a second replay (or a catch-up that finds
tables in an older layout and rebuilds them) must not drop or fill those tables while
the first is building them. Each waits for the one before it; every one succeeds, and
the tables end exactly as one replay leaves them. On both backends.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import closing

import pytest

from backends import Db
from outcomeledger.app.demo import build_demo
from outcomeledger.app.ledger import open_ledger
from outcomeledger.projections import dump
from outcomeledger.projections.registry import TABLES


def test_concurrent_replays_each_succeed_and_agree(ledger_db: Db) -> None:
    with open_ledger(ledger_db.url, create=True) as ledger:
        build_demo(ledger)
        with closing(ledger.connect()) as conn:
            expected = list(dump(conn))
    # Workers even on this small ledger (SQLite), so builds overlap in several processes.
    env = {**os.environ, "OUTCOMELEDGER_REPLAY_WORKERS": "2"}
    command = [sys.executable, "-c", "from outcomeledger.cli import main; main()",
               "--db", ledger_db.url, "replay"]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with open_ledger(ledger_db.url) as ledger, closing(ledger.connect()) as conn:
        assert list(dump(conn)) == expected
        names = {t.name for t in TABLES}
        if ledger_db.backend == "sqlite":
            left = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        else:
            left = {r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
        assert not {n for n in left if n.startswith("proj_")} - names


pytestmark = pytest.mark.slow
