"""publish ocds through the command line, on both backends: the same validated bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from outcomeledger.app import replay
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "replay" / "S2-greater-manchester" / "events.pack.ndjson"
GOLDEN = ROOT / "tests" / "publish" / "golden" / "GMHP-2017-uk9.json"


@pytest.fixture
def ledger(ledger_url: str) -> str:
    with open_ledger(ledger_url, create=True) as opened:
        replay.load_pack(opened, PACK.read_bytes().splitlines(keepends=True), PACK.name)
    return ledger_url


def publish(db: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db, "publish", "ocds", "GMHP-2017", *args],
                              env=env)


def test_publish_prints_the_golden_notice_on_either_backend(ledger: str) -> None:
    result = publish(ledger, "--notice", "uk9",
                     env={"OUTCOMELEDGER_OCID_PREFIX": "ocds-abc123"})
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == GOLDEN.read_bytes()


def test_the_flag_overrides_the_environment_and_names_the_ocid(ledger: str) -> None:
    result = publish(ledger, "--notice", "uk11", "--ocid-prefix", "ocds-zz0001",
                     env={"OUTCOMELEDGER_OCID_PREFIX": "ocds-abc123"})
    assert result.exit_code == 0, result.output
    [release] = json.loads(result.stdout)["releases"]
    assert release["ocid"] == "ocds-zz0001-GMHP-2017"
    assert release["tag"] == ["contractTermination"]


def test_nothing_to_publish_is_one_line_and_exit_1(ledger: str) -> None:
    result = publish(ledger, "--notice", "uk10", "--as-at", "2018-01-01",
                     "--ocid-prefix", "ocds-abc123")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: GMHP-2017: nothing to publish as UK10: no variation effective by "
        "2018-01-01"]
    assert result.stdout == ""
