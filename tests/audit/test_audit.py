"""Audit integrity: tampering with stored events is caught; packs replay independently.

The tamper tests edit the events table with raw SQL, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from backends import Db
from conftest import D, terms
from outcomeledger.app.demo import build_gm, build_pb
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli


@pytest.fixture
def db(ledger_db: Db) -> Db:
    with open_ledger(ledger_db.url, create=True) as ledger:
        build_gm(ledger)
        build_pb(ledger)
    return ledger_db


def invoke(db: Db, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", db.url, *args])
    return result.exit_code, result.stdout, result.stderr


def sql(db: Db, statement: str, *params: object) -> list[tuple[object, ...]]:
    """Raw SQL on the events table: ``EVENTS`` and ``POSITION`` name its table and its
    global-position column on the ledger's backend."""
    return db.sql(statement.replace("EVENTS", db.events).replace("POSITION", db.position),
                  *params)


def state_of(db: Db, position: int) -> bytes:
    (row,) = sql(db, "SELECT state FROM EVENTS WHERE POSITION=?", position)
    assert isinstance(row[0], bytes)
    return row[0]


def head_of(db: Db) -> str:
    code, out, _ = invoke(db, "audit", "head")
    assert code == 0
    return out.strip()


def test_an_untouched_ledger_verifies(db: Db) -> None:
    code, out, _ = invoke(db, "audit", "verify", "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert report["ok"] is True
    assert report["events"] == 18
    assert report["streams"] == 2


def test_an_edited_payload_byte_is_caught(db: Db) -> None:
    state = state_of(db, 2)
    edited = state.replace(b"return submitted", b"return submittee")
    sql(db, "UPDATE EVENTS SET state=? WHERE POSITION=2", edited)
    code, out, _ = invoke(db, "audit", "verify")
    assert code == 1
    assert "GMHP-2017 position 3 v3: prev_hash" in out


def test_an_edited_amount_that_still_parses_is_caught(db: Db) -> None:
    state = state_of(db, 4)
    assert b'"value":"124"' in state
    sql(db, "UPDATE EVENTS SET state=? WHERE POSITION=4",
        state.replace(b'"value":"124"', b'"value":"125"'))
    code, out, _ = invoke(db, "audit", "verify")
    assert code == 1
    assert "GMHP-2017 position 5 v5" in out


def test_a_deleted_middle_event_is_caught(db: Db) -> None:
    sql(db, "DELETE FROM EVENTS WHERE POSITION=6")
    code, out, _ = invoke(db, "audit", "verify")
    assert code == 1
    assert "v7 follows v5: events missing or reordered" in out


def test_a_deleted_tail_is_caught_against_the_published_head(db: Db) -> None:
    published = head_of(db)
    sql(db, "DELETE FROM EVENTS WHERE POSITION=(SELECT MAX(POSITION) FROM EVENTS)")
    _, out, _ = invoke(db, "audit", "verify", "--format", "json")
    chain_findings = [m for m in json.loads(out)["mismatches"]
                      if not m.startswith("projection:")]
    assert chain_findings == [], "the chains alone cannot see a clean tail deletion"
    code, out, _ = invoke(db, "audit", "verify", "--head", published)
    assert code == 1
    assert "events deleted from the tail" in out


def test_a_rewritten_history_is_caught_against_an_earlier_published_head(
        db: Db) -> None:
    code, out, _ = invoke(db, "audit", "verify", "--head", "5:" + "a" * 64)
    assert code == 1
    assert "history before it was rewritten" in out


def test_reordered_events_are_caught(db: Db) -> None:
    first, second = state_of(db, 4), state_of(db, 5)
    sql(db, "UPDATE EVENTS SET state=? WHERE POSITION=4", second)
    sql(db, "UPDATE EVENTS SET state=? WHERE POSITION=5", first)
    code, out, _ = invoke(db, "audit", "verify", "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert any("position 4 v4: prev_hash" in m for m in report["mismatches"])


def test_an_event_moved_to_another_stream_is_caught(db: Db) -> None:
    (pb_stream,) = sql(db, "SELECT originator_id FROM EVENTS WHERE POSITION=13")
    sql(db, "UPDATE EVENTS SET originator_id=?, originator_version=99 "
        "WHERE POSITION=2", pb_stream[0])
    code, out, _ = invoke(db, "audit", "verify")
    assert code == 1
    assert "names contract 'GMHP-2017' but is stored in stream" in out


def test_a_pack_replays_to_the_live_payments_without_a_ledger(db: Db,
                                                              tmp_path: Path) -> None:
    pack = tmp_path / "pack.ndjson"
    code, _, _ = invoke(db, "audit", "export", "--output", str(pack))
    assert code == 0
    for ref in ("GMHP-2017", "PB-SIB-2010"):
        _, live, _ = invoke(db, "payments", ref, "--format", "json")
        result = CliRunner().invoke(cli, ["--db", str(tmp_path / "absent.db"), "audit",
                                          "replay", str(pack), "--contract", ref, "--format",
                                          "json"])
        assert result.exit_code == 0, result.stderr
        assert result.stdout == live
    assert not (tmp_path / "absent.db").exists()


def test_a_pack_header_pins_the_ledger_head(db: Db, tmp_path: Path) -> None:
    pack = tmp_path / "pack.ndjson"
    invoke(db, "audit", "export", "--output", str(pack))
    header = json.loads(pack.read_text().splitlines()[0])
    assert header["format"] == "outcomeledger-evidence-pack"
    assert header["events"] == 18
    assert header["ledger_head"] == head_of(db)


def test_a_tampered_pack_is_refused_naming_the_first_bad_line(db: Db,
                                                              tmp_path: Path) -> None:
    pack = tmp_path / "pack.ndjson"
    invoke(db, "audit", "export", "--output", str(pack))
    lines = pack.read_text().splitlines()
    assert '\\"value\\":\\"124\\"' in lines[4]
    lines[4] = lines[4].replace('\\"value\\":\\"124\\"', '\\"value\\":\\"125\\"')
    pack.write_text("\n".join(lines) + "\n")
    code, _, err = invoke(db, "audit", "replay", str(pack))
    assert code == 1
    assert f"{pack}:5: hash:" in err


def test_a_truncated_pack_is_refused(db: Db, tmp_path: Path) -> None:
    pack = tmp_path / "pack.ndjson"
    invoke(db, "audit", "export", "--output", str(pack))
    lines = pack.read_text().splitlines()
    pack.write_text("\n".join(lines[:-1]) + "\n")
    code, _, err = invoke(db, "audit", "replay", str(pack))
    assert code == 1
    assert "header says 18 (truncated or padded)" in err


def test_the_log_shows_who_what_why_and_the_source_file(db: Db) -> None:
    code, out, _ = invoke(db, "audit", "log", "GMHP-2017", "--type",
                          "ReturnRestated", "--format", "json")
    (entry,) = json.loads(out)
    assert code == 0
    assert entry["recorded_by"] == "validator:audit@gmca.gov.uk"
    assert entry["what"] == "restated FY2018-Q4: ACC12 124 → 120"
    assert entry["why"].startswith("tenancy ended before 12 months")
    assert entry["file"] == "demo_data/gm_restatement.csv"
    assert len(entry["file_sha256"]) == 64


def test_the_log_shows_variations_before_and_after(db: Db) -> None:
    code, out, _ = invoke(db, "audit", "log", "--type", "ContractVaried",
                          "--format", "json")
    whats = [e["what"] for e in json.loads(out)]
    assert code == 0
    assert whats == ["varied from 2020-10-01: end: 2020-12-31 → 2021-03-31",
                     "varied from 2014-04-01: outcome C3: retired"]


def test_the_log_filters_by_actor_and_time(db: Db) -> None:
    code, out, _ = invoke(db, "audit", "log", "--actor",
                          "validator:qinetiq-leicester", "--since", "2017-01-01",
                          "--format", "json")
    entries = json.loads(out)
    assert code == 0
    assert [e["type"] for e in entries] == ["ReturnSubmitted"]
    assert entries[0]["contract"] == "PB-SIB-2010"


def test_a_change_of_the_network_names_the_provider_not_the_whole_list() -> None:
    """diff_terms (the audit log, the report's variation log, UK10): a provider added or
    changed is named with what changed, as an outcome is (not the list before and after,
    as Python reprs)."""
    from outcomeledger.audit.log import diff_terms
    from outcomeledger.domain.terms import Fee, Provider

    before = terms(providers=(Provider("P1", "One"),), fees=(Fee("F", "Fee", D(10)),))
    after = terms(providers=(Provider("P1", "One", left=date(2026, 3, 31)),
                             Provider("CN", "Code Northshire CIC", kind="sme")),
                  fees=())
    assert diff_terms(before, after) == [
        "fee F: removed", "provider P1.left: - → 2026-03-31",
        "provider CN: added (Code Northshire CIC)"]
