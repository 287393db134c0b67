"""`events`: the NDJSON feed downstream systems follow (DESIGN 7)."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner, Result

from outcomeledger.cli import cli
from outcomeledger.demo import build_demo
from outcomeledger.store import Ledger

FIELDS = ["position", "contract", "type", "recorded_at", "recorded_by", "hash", "data"]
canonical = msgspec.json.Encoder(order="sorted", decimal_format="string")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("feed") / "ledger.db"
    with Ledger.open(str(path), create=True) as ledger:
        build_demo(ledger)
    return path


def events(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), "events", *args])


def lines(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    return [msgspec.json.decode(line) for line in result.stdout_bytes.splitlines()]


def test_one_event_per_line_in_global_order_with_the_published_fields(db: Path) -> None:
    result = events(db)
    assert result.stdout_bytes.endswith(b"\n")
    feed = lines(result)
    assert [e["position"] for e in feed] == list(range(1, 39))
    assert all(list(e) == FIELDS for e in feed)
    restated = next(e for e in feed if e["type"] == "ReturnRestated")
    assert restated["contract"] == "GMHP-2017"
    assert restated["recorded_at"] == "2019-06-30T16:00:00Z"
    assert restated["recorded_by"] == "validator:audit@gmca.gov.uk"
    data = restated["data"]
    assert isinstance(data, dict)
    assert data["originals"][0]["value"] == "124"


def test_hash_is_the_sha256_of_the_stored_bytes_and_data_re_encodes_to_them(db: Path) -> None:
    with closing(sqlite3.connect(db)) as conn:
        stored = dict(conn.execute("SELECT rowid, state FROM stored_events").fetchall())
    for e in lines(events(db)):
        state = stored[e["position"]]
        assert e["hash"] == hashlib.sha256(state).hexdigest()
        # The data is the whole event: canonical re-encoding gives back the stored bytes,
        # so a consumer can verify the hash chain from the feed alone.
        assert canonical.encode(e["data"]) == state


def test_after_contract_and_limit(db: Path) -> None:
    assert [e["position"] for e in lines(events(db, "--after", "35"))] == [36, 37, 38]
    pb = lines(events(db, "--contract", "PB-SIB-2010"))
    assert {e["contract"] for e in pb} == {"PB-SIB-2010"}
    assert [e["position"] for e in pb] == list(range(13, 19))
    assert [e["position"] for e in lines(events(db, "--contract", "PB-SIB-2010", "--after",
                                                "14", "--limit", "2"))] == [15, 16]
    assert lines(events(db, "--after", "38")) == []


def test_a_consumer_following_with_after_sees_every_event_once(db: Path) -> None:
    seen: list[int] = []
    cursor = 0
    while True:
        page = lines(events(db, "--after", str(cursor), "--limit", "7"))
        if not page:
            break
        seen += [int(str(e["position"])) for e in page]
        cursor = seen[-1]
    assert seen == list(range(1, 39))


def test_unknown_contract_is_refused(db: Path) -> None:
    result = events(db, "--contract", "NOPE")
    assert result.exit_code == 1
    assert "no contract with reference 'NOPE'" in result.stderr
