"""Signed returns: a contract that requires them refuses unsigned or wrongly signed files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli

CONTRACT = """
reference = "SIGNED-1"
title = "Signed returns"
buyer = "Council"
supplier = "Integrator"
start = 2025-04-01
end = 2026-03-31
cadence = "quarter"
signed_returns = true
providers = [{{ id = "P1", name = "Provider One", public_key = "{key}" }}]

[[outcomes]]
code = "O1"
name = "Outcome one"
price = "100"
"""
RETURN = "contract,period,provider,outcome,value\nSIGNED-1,FY2025-Q1,P1,O1,3\n"


def cli_run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "l.db"), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def signed(tmp_path: Path) -> Path:
    """A ledger with a contract taking signed returns from P1; returns P1's key file."""
    key = tmp_path / "p1.pem"
    code, public, _ = cli_run(tmp_path, "returns", "keygen", "--out", str(key))
    assert code == 0
    (tmp_path / "c.toml").write_text(CONTRACT.format(key=public.strip()))
    assert cli_run(tmp_path, "init")[0] == 0
    assert cli_run(tmp_path, "contract", "agree", str(tmp_path / "c.toml"))[0] == 0
    (tmp_path / "q1.csv").write_text(RETURN)
    return key


def events(tmp_path: Path) -> int:
    with open_ledger(str(tmp_path / "l.db")) as ledger:
        return ledger.max_position()


def test_a_signed_file_is_accepted_and_its_signature_kept(tmp_path: Path,
                                                          signed: Path) -> None:
    code, _, _ = cli_run(tmp_path, "returns", "sign", str(tmp_path / "q1.csv"), "--key",
                         str(signed))
    assert code == 0
    code, _, err = cli_run(tmp_path, "returns", "import", str(tmp_path / "q1.csv"))
    assert code == 0, err
    _, feed, _ = cli_run(tmp_path, "events", "--contract", "SIGNED-1")
    submitted = [json.loads(line) for line in feed.splitlines()][-1]
    line = json.loads((tmp_path / "q1.csv.sig").read_text())
    assert submitted["type"] == "ReturnSubmitted"
    assert submitted["data"]["source"]["signature"] == line["signature"]
    assert submitted["data"]["source"]["sequence"] == line["sequence"]
    assert submitted["data"]["source"]["periods"] == ["FY2025-Q1"] == line["periods"]


def test_an_unsigned_file_is_refused(tmp_path: Path, signed: Path) -> None:
    before = events(tmp_path)
    code, _, err = cli_run(tmp_path, "returns", "import", str(tmp_path / "q1.csv"))
    assert code == 1
    assert "q1.csv: signature: SIGNED-1 takes signed returns only" in err
    assert events(tmp_path) == before


def test_a_file_changed_after_signing_is_refused(tmp_path: Path, signed: Path) -> None:
    cli_run(tmp_path, "returns", "sign", str(tmp_path / "q1.csv"), "--key", str(signed))
    (tmp_path / "q1.csv").write_text(RETURN.replace(",3\n", ",4\n"))
    before = events(tmp_path)
    code, _, err = cli_run(tmp_path, "returns", "import", str(tmp_path / "q1.csv"))
    assert code == 1
    assert "signature: the signature does not match the file" in err
    assert events(tmp_path) == before


def test_a_file_signed_with_another_key_is_refused(tmp_path: Path, signed: Path) -> None:
    other = tmp_path / "other.pem"
    cli_run(tmp_path, "returns", "keygen", "--out", str(other))
    cli_run(tmp_path, "returns", "sign", str(tmp_path / "q1.csv"), "--key", str(other))
    code, _, err = cli_run(tmp_path, "returns", "import", str(tmp_path / "q1.csv"))
    assert code == 1
    assert ("the signature does not match the file, its contract, periods and sequence and "
            "the provider's key for the period") in err


def test_a_signed_contract_needs_a_key_for_every_provider(tmp_path: Path) -> None:
    unkeyed = CONTRACT.replace(', public_key = "{key}"', "").format()
    (tmp_path / "c.toml").write_text(unkeyed)
    cli_run(tmp_path, "init")
    code, _, err = cli_run(tmp_path, "contract", "agree", str(tmp_path / "c.toml"))
    assert code == 1
    assert "providers[0].public_key: signed_returns needs every provider's Ed25519" in err


def test_keygen_never_overwrites_a_key(tmp_path: Path, signed: Path) -> None:
    code, _, err = cli_run(tmp_path, "returns", "keygen", "--out", str(signed))
    assert code == 1
    assert "already exists" in err
