"""An auditor's independent check: every recorded scenario's evidence pack replays, with
no ledger database, to exactly the payments recorded for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from outcomeledger.app import replay
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.domain import codec

ROOT = Path(__file__).resolve().parents[2] / "replay"
SCENARIOS = sorted(p.name for p in ROOT.iterdir() if (p / "events.pack.ndjson").is_file())


def test_there_are_scenarios_to_replay() -> None:
    assert len(SCENARIOS) >= 4


@pytest.mark.parametrize("name", SCENARIOS)
def test_audit_replay_of_the_pack_reproduces_the_recorded_payments(name: str,
                                                                    tmp_path: Path) -> None:
    folder = ROOT / name
    expected = (folder / "expected" / "payments.json").read_text()
    reference = json.loads(expected)["contract"]
    absent = tmp_path / "no-ledger.db"
    result = CliRunner().invoke(cli, ["--db", str(absent), "audit", "replay",
                                      str(folder / "events.pack.ndjson"), "--contract",
                                      reference, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == expected.strip()
    assert not absent.exists()


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_recorded_event_decodes_and_encodes_to_its_stored_bytes(name: str) -> None:
    """The terms' newer keys (the provider network's among them) default to nothing and
    are omitted when encoded: events recorded before them keep their bytes, so their
    hashes and the chain hold."""
    lines = (ROOT / name / "events.pack.ndjson").read_text().splitlines()[1:]
    for line in lines:
        row = json.loads(line)
        stored = row["state"].encode()
        assert codec.encode(codec.decode_any(row["topic"], stored)) == stored, row["position"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_audit_verify_passes_on_the_recorded_scenario(name: str, tmp_path: Path) -> None:
    """``audit verify`` decides every stored event again under today's rules (the
    provider network's checks among them): every recorded scenario still passes."""
    db = str(tmp_path / "ledger.db")
    pack = ROOT / name / "events.pack.ndjson"
    with open_ledger(db, create=True) as ledger:
        replay.load_pack(ledger, pack.read_bytes().splitlines(keepends=True), str(pack))
    result = CliRunner().invoke(cli, ["--db", db, "audit", "verify"])
    assert result.exit_code == 0, result.output
