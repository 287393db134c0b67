"""The documented data service: Datasette serving a ledger with the published metadata.

Starts the `datasette` of this environment (the `serve` extra, in the lock, so CI has it)
on a loopback port over a demo ledger, and reads `proj_payments` through its JSON API:
money must sort and filter as numbers there, never as the decimal text it is stored as.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from outcomeledger.app.demo import build_demo
from outcomeledger.app.ledger import open_ledger
from outcomeledger.projections import TABLES
from outcomeledger.projections.datasette import DATABASE, METADATA, metadata
from outcomeledger.projections.fields import fields

PUBLISHED = Path(__file__).resolve().parents[2] / "projections" / METADATA
# The executable installed next to this interpreter: the environment under test.
DATASETTE = Path(sys.executable).parent / "datasette"
READY_TIMEOUT = 60.0

needs_datasette = pytest.mark.skipif(not DATASETTE.exists(), reason="datasette is not "
                                     "installed (pip install 'outcomeledger[serve]')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def get(base: str, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(base + path, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of Datasette serving a demo ledger named as the metadata expects."""
    ledger = tmp_path_factory.mktemp("served") / f"{DATABASE}.db"
    with open_ledger(str(ledger), create=True) as opened:
        build_demo(opened)
    port = free_port()
    process = subprocess.Popen(
        [str(DATASETTE), str(ledger), "--metadata", str(PUBLISHED), "--host", "127.0.0.1",
         "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if process.poll() is not None:
                assert process.stderr is not None
                pytest.fail(f"datasette exited: {process.stderr.read().decode()}")
            try:
                if get(base, "/-/versions.json")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"datasette not ready on port {port} after {READY_TIMEOUT}s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()


def payments(base: str, query: str) -> list[dict[str, Any]]:
    status, rows = get(base, f"/{DATABASE}/proj_payments.json?_shape=array&_size=max&{query}")
    assert status == 200, rows
    assert isinstance(rows, list)
    return rows


@needs_datasette
def test_money_sorts_as_numbers(served: str) -> None:
    # Given the demo's payable periods, from 0.00 up to 2,790,000.00
    # When they are read sorted on the money column's companion, both ways
    ascending = [Decimal(r["payable"]) for r in payments(served, "_sort=payable_minor")]
    descending = [Decimal(r["payable"])
                  for r in payments(served, "_sort_desc=payable_minor")]
    # Then they come in numeric order, which the text order would break: as text
    # "1125000.00" sorts before "312000.00" and "52820.00" after "2790000.00"
    assert ascending == sorted(ascending)
    assert descending == sorted(ascending, reverse=True)
    assert descending[0] == Decimal("2790000.00")
    assert ascending.index(Decimal("312000.00")) < ascending.index(Decimal("1125000.00"))
    as_text = sorted(str(a) for a in ascending)
    assert [Decimal(a) for a in as_text] != ascending


@needs_datasette
def test_sorting_money_as_text_is_refused(served: str) -> None:
    # Given the metadata, which lists the companions as the sortable money columns
    # When a client asks to sort on the text column itself
    status, body = get(served, f"/{DATABASE}/proj_payments.json?_sort=payable")
    # Then Datasette refuses rather than sorting "2850.00" above "22420.00"
    assert status != 200
    assert body["error"] == "Cannot sort table by payable"


@needs_datasette
def test_money_filters_as_numbers(served: str) -> None:
    # Given every period with its payable amount
    everything = payments(served, "_col=payable")
    # When filtered on the companion for 1,000,000.00 (100,000,000 pence) and more
    over = payments(served, "payable_minor__gte=100000000&_col=payable")
    # Then exactly the periods paying at least that much come back
    expected = {(r["contract"], r["period"]) for r in everything
                if Decimal(r["payable"]) >= Decimal("1000000.00")}
    assert expected
    assert {(r["contract"], r["period"]) for r in over} == expected
    # (the same filter on the text column compares text: 2850.00 would pass it)
    as_text = payments(served, "payable__gte=1000000&_col=payable")
    assert {(r["contract"], r["period"]) for r in as_text} != expected


@needs_datasette
def test_the_published_metadata_is_what_datasette_serves(served: str) -> None:
    # When Datasette is asked for its metadata
    status, served_metadata = get(served, "/-/metadata.json")
    # Then it is the generated metadata, describing the payments columns
    assert status == 200
    assert served_metadata == metadata()
    columns = served_metadata["databases"][DATABASE]["tables"]["proj_payments"]["columns"]
    assert "payable_minor" in columns["payable"]


def test_every_column_is_described_and_money_sorts_only_by_its_companion() -> None:
    # Given the generated metadata (no server needed)
    tables = metadata()["databases"][DATABASE]["tables"]
    for table in TABLES:
        described = tables[table.name]
        money = [f.name for f in fields(table.row) if f.kind == "money"]
        # Then every published column, and every money companion, has a description
        assert set(described["columns"]) == {*table.columns, *(f"{m}_minor" for m in money)}
        assert all(described["columns"].values())
        # And money sorts only through its integer companion, never as text
        assert not set(money) & set(described["sortable_columns"])
        assert {f"{m}_minor" for m in money} <= set(described["sortable_columns"])
    assert tables["proj_contract_state"]["label_column"] == "title"
