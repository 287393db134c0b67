"""Participant ids of a pseudonymised contract never reach the events (issue 21), by any
import path: worker processes leave such rows to the one-process import, which replaces
each id by its pseudonym; a ledger importing without its read models (bulk loaders)
writes the new keys in the events' transaction all the same."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import outcome, terms
from outcomeledger.app.ledger import open_ledger
from outcomeledger.domain.commands import AgreeContract, Meta
from outcomeledger.imports import parallel
from outcomeledger.imports.importer import import_returns

META = Meta(datetime(2025, 12, 1, tzinfo=UTC), "provider:test")
IDS = [f"NHS-{n:06d}" for n in range(40)]


def _ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    with open_ledger(str(path), create=True) as ledger:
        ledger.execute_batch([("C-P", AgreeContract(terms(
            reference="C-P", participant_ids="pseudonymised",
            outcomes=(outcome("O1", once_per_participant=True),))))],
            Meta(datetime(2025, 4, 1, tzinfo=UTC), "commissioner:t"))
    return path


def _returns(tmp_path: Path) -> Path:
    path = tmp_path / "returns.csv"
    path.write_text("contract,period,outcome,value,participant\n" + "".join(
        f"C-P,FY2025-Q1,O1,1,{who}\n" for who in IDS))
    return path


def _stored(path: Path) -> bytes:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT state FROM stored_events").fetchall()
    return b"".join(row[0] for row in rows)


def test_worker_processes_leave_a_pseudonymised_contract_to_the_one_process_import(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger_path, returns = _ledger(tmp_path), _returns(tmp_path)
    monkeypatch.setenv("OUTCOMELEDGER_IMPORT_WORKERS", "2")
    made: list[bool] = []
    run = parallel.run

    def spied(*args: Any, **kw: Any) -> Any:
        result = run(*args, **kw)
        made.append(result is not None)
        return result

    monkeypatch.setattr(parallel, "run", spied)
    with open_ledger(str(ledger_path)) as ledger:
        [receipt] = import_returns(ledger, [str(returns)], META)
    assert (receipt.added, made) == (len(IDS), [False])
    stored = _stored(ledger_path)
    assert not any(who.encode() in stored for who in IDS)
    assert stored.count(b'"participant":"P-') == len(IDS)


def test_an_import_without_read_models_writes_its_keys_with_its_events(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger_path, returns = _ledger(tmp_path), _returns(tmp_path)
    monkeypatch.setenv("OUTCOMELEDGER_IMPORT_WORKERS", "0")
    with open_ledger(str(ledger_path)) as ledger:
        ledger.project_on_write = False
        import_returns(ledger, [str(returns)], META)
        # The same ids again: the same pseudonyms, so nothing new.
        [again] = import_returns(ledger, [str(returns)], META)
    assert (again.added, again.unchanged) == (0, len(IDS))
    with closing(sqlite3.connect(ledger_path)) as conn:
        [(keys,)] = conn.execute("SELECT count(*) FROM participant_keys").fetchall()
    assert keys == len(IDS)
