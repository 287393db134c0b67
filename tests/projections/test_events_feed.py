"""`events`: the NDJSON feed downstream systems follow (DESIGN 7), on both backends."""

from __future__ import annotations

import csv
import hashlib
import io

import msgspec
import pytest
from click.testing import CliRunner, Result

from backends import Db
from outcomeledger.app.demo import build_demo
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli

FIELDS = ["position", "contract", "type", "recorded_at", "recorded_by", "hash", "prev_hash",
          "data"]
canonical = msgspec.json.Encoder(order="sorted", decimal_format="string")


@pytest.fixture(scope="module")
def db(module_ledger_db: Db) -> Db:
    with open_ledger(module_ledger_db.url, create=True) as ledger:
        build_demo(ledger)
    return module_ledger_db


def events(db: Db, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db.url, "events", *args])


def lines(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    return [msgspec.json.decode(line) for line in result.stdout_bytes.splitlines()]


def test_one_event_per_line_in_global_order_with_the_published_fields(db: Db) -> None:
    result = events(db)
    assert result.stdout_bytes.endswith(b"\n")
    feed = lines(result)
    assert [e["position"] for e in feed] == list(range(1, 126))
    assert all(list(e) == FIELDS for e in feed)
    restated = next(e for e in feed if e["type"] == "ReturnRestated")
    assert restated["contract"] == "GMHP-2017"
    assert restated["recorded_at"] == "2019-06-30T16:00:00Z"
    assert restated["recorded_by"] == "validator:audit@gmca.gov.uk"
    data = restated["data"]
    assert isinstance(data, dict)
    assert data["originals"][0]["value"] == "124"


def test_hash_is_the_sha256_of_the_stored_bytes_and_data_re_encodes_to_them(db: Db) -> None:
    stored = dict(db.sql(f"SELECT {db.position}, state FROM {db.events}"))
    for e in lines(events(db)):
        state = stored[e["position"]]
        assert e["hash"] == hashlib.sha256(state).hexdigest()
        # The data is the whole event: canonical re-encoding gives back the stored bytes,
        # so a consumer can verify the hash chain from the feed alone.
        assert canonical.encode(e["data"]) == state


def test_after_contract_and_limit(db: Db) -> None:
    assert [e["position"] for e in lines(events(db, "--after", "122"))] == [123, 124, 125]
    pb = lines(events(db, "--contract", "PB-SIB-2010"))
    assert {e["contract"] for e in pb} == {"PB-SIB-2010"}
    assert [e["position"] for e in pb] == list(range(13, 19))
    assert [e["position"] for e in lines(events(db, "--contract", "PB-SIB-2010", "--after",
                                                "14", "--limit", "2"))] == [15, 16]
    assert lines(events(db, "--after", "125")) == []


def test_a_consumer_following_with_after_sees_every_event_once(db: Db) -> None:
    seen: list[int] = []
    cursor = 0
    while True:
        page = lines(events(db, "--after", str(cursor), "--limit", "7"))
        if not page:
            break
        seen += [int(str(e["position"])) for e in page]
        cursor = seen[-1]
    assert seen == list(range(1, 126))


def test_unknown_contract_is_refused(db: Db) -> None:
    result = events(db, "--contract", "NOPE")
    assert result.exit_code == 1
    assert "no contract with reference 'NOPE'" in result.stderr


# -- --format (issue 19): ndjson is the feed; json, csv and table show the same events ------

def test_format_ndjson_is_the_default(db: Db) -> None:
    assert events(db, "--format", "ndjson").stdout_bytes == events(db).stdout_bytes


def test_format_json_is_one_array_of_the_feed_objects(db: Db) -> None:
    # given the feed as NDJSON, when asked for JSON, then one array of the same objects
    array = msgspec.json.decode(events(db, "--format", "json", "--after", "30").stdout_bytes)
    assert array == lines(events(db, "--after", "30"))
    assert msgspec.json.decode(events(db, "--format", "json", "--after", "125").stdout_bytes
                               ) == []


def test_format_csv_has_the_feed_fields_with_data_as_json_text(db: Db) -> None:
    result = events(db, "--format", "csv", "--contract", "PB-SIB-2010")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == FIELDS
    feed = lines(events(db, "--contract", "PB-SIB-2010"))
    assert [int(r["position"]) for r in rows] == [e["position"] for e in feed]
    assert [msgspec.json.decode(r["data"]) for r in rows] == [e["data"] for e in feed]
    assert [r["hash"] for r in rows] == [e["hash"] for e in feed]


def test_format_table_prints_a_line_per_event_for_people(db: Db) -> None:
    result = events(db, "--format", "table", "--after", "36")
    assert result.exit_code == 0, result.output
    header, rule, *rows = result.stdout.splitlines()
    assert header.split() == ["position", "recorded_at", "contract", "type", "recorded_by"]
    assert set(rule.replace(" ", "")) == {"-"}
    feed = lines(events(db, "--after", "36"))
    assert [r.split() for r in rows] == [
        [str(e["position"]), e["recorded_at"], e["contract"], e["type"], e["recorded_by"]]
        for e in feed]
