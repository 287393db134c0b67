"""An auditor's independent check: every recorded scenario's evidence pack replays, with
no ledger database, to exactly the payments recorded for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from outcomeledger.cli import cli

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
