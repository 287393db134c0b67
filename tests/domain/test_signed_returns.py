"""Signed returns: a contract that requires them refuses unsigned or wrongly signed files."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.domain import codec
from outcomeledger.domain.events import Figure, ReturnRestated, ReturnSubmitted, Source
from outcomeledger.domain.signing import load_private_key, sign_digest
from outcomeledger.storage.application import stream_id

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


# -- scheme 2: the contract, periods and a sequence signed with the file ----------------------

def sign(tmp_path: Path, key: Path, name: str, sequence: int) -> None:
    code, _, err = cli_run(tmp_path, "returns", "sign", str(tmp_path / name), "--key", str(key),
                           "--sequence", str(sequence))
    assert code == 0, err


def figures(tmp_path: Path) -> list[str]:
    _, out, _ = cli_run(tmp_path, "payments", "SIGNED-1", "--format", "json")
    return [p["earned"] for p in json.loads(out)["periods"]]


def test_an_old_signed_file_cannot_be_reimported_as_a_restatement(tmp_path: Path,
                                                                   signed: Path) -> None:
    (tmp_path / "old.csv").write_text(RETURN.replace(",3\n", ",5\n"))
    sign(tmp_path, signed, "old.csv", 1)
    assert cli_run(tmp_path, "returns", "import", str(tmp_path / "old.csv"))[0] == 0
    (tmp_path / "new.csv").write_text(RETURN.replace(",3\n", ",7\n"))
    sign(tmp_path, signed, "new.csv", 2)
    code, _, err = cli_run(tmp_path, "returns", "import", str(tmp_path / "new.csv"),
                           "--restate", "--reason", "corrected")
    assert code == 0, err
    assert figures(tmp_path)[0] == "700.00"
    before = events(tmp_path)
    code, _, err = cli_run(tmp_path, "returns", "import", str(tmp_path / "old.csv"),
                           "--restate", "--reason", "revert")
    assert code == 1
    assert ("old.csv.sig:1: sequence: given 1, expected more than 2, the sequence of the "
            "last signed file accepted from provider P1") in err
    assert events(tmp_path) == before
    assert figures(tmp_path)[0] == "700.00"


def test_a_sequence_raised_in_the_signature_file_breaks_the_signature(
        tmp_path: Path, signed: Path) -> None:
    (tmp_path / "new.csv").write_text(RETURN.replace(",3\n", ",7\n"))
    sign(tmp_path, signed, "new.csv", 5)
    assert cli_run(tmp_path, "returns", "import", str(tmp_path / "new.csv"))[0] == 0
    sign(tmp_path, signed, "q1.csv", 1)
    sig = tmp_path / "q1.csv.sig"
    sig.write_text(sig.read_text().replace('"sequence":1', '"sequence":9'))
    before = events(tmp_path)
    code, _, err = cli_run(tmp_path, "returns", "import", str(tmp_path / "q1.csv"),
                           "--restate", "--reason", "revert")
    assert code == 1
    assert "signature: the signature does not match the file, its contract, periods" in err
    assert events(tmp_path) == before


def test_a_signature_covers_only_the_periods_it_names(tmp_path: Path, signed: Path) -> None:
    sign(tmp_path, signed, "q1.csv", 1)
    sig = tmp_path / "q1.csv.sig"
    sig.write_text(sig.read_text().replace("FY2025-Q1", "FY2025-Q2"))
    code, _, err = cli_run(tmp_path, "returns", "import", str(tmp_path / "q1.csv"))
    assert code == 1
    assert "q1.csv:2: period: not signed (given FY2025-Q1, the signature covers FY2025-Q2" in err


def test_a_scheme_1_signature_is_refused_for_a_new_import(tmp_path: Path,
                                                          signed: Path) -> None:
    data = (tmp_path / "q1.csv").read_bytes()
    (tmp_path / "q1.csv.sig").write_text(
        sign_digest(load_private_key(signed.read_bytes()), hashlib.sha256(data).hexdigest()))
    before = events(tmp_path)
    code, _, err = cli_run(tmp_path, "returns", "import", str(tmp_path / "q1.csv"))
    assert code == 1
    assert ("q1.csv.sig:1: signature: given a scheme 1 signature (of the file's SHA-256 "
            "alone, which can be replayed)") in err
    assert events(tmp_path) == before


@pytest.mark.parametrize(("content", "says"), [
    (b"{not json\n", "q1.csv.sig:1: signature: given '{not json', expected one JSON line"),
    ("caf\u00e9\n".encode(), "q1.csv.sig:1: signature: given byte 0xc3 at byte 3"),
    (b"\n\n", "q1.csv.sig:1: signature: given an empty file"),
    (b'{"contract":"SIGNED-1","periods":["FY2025-Q1"],"scheme":2,"sequence":-1,'
     b'"signature":"AA=="}\n', "q1.csv.sig:1: signature: given"),
])
def test_a_malformed_signature_file_is_refused_at_its_line(
        tmp_path: Path, signed: Path, content: bytes, says: str) -> None:
    (tmp_path / "q1.csv.sig").write_bytes(content)
    code, _, err = cli_run(tmp_path, "returns", "import", str(tmp_path / "q1.csv"))
    assert code == 1
    assert says in err
    assert "Traceback" not in err


ROTATING = CONTRACT.replace(
    'providers = [{{ id = "P1", name = "Provider One", public_key = "{key}" }}]',
    'providers = [{{ id = "P1", name = "Provider One", public_key = "{key}" }}]\n'
    'actors = [{{ name = "ann", role = "commissioner", public_key = "{ann}" }},\n'
    '          {{ name = "pat", role = "provider", provider = "P1", public_key = "{pat}" }}]')


def test_a_key_introduced_by_a_variation_never_signs_periods_before_it(
        tmp_path: Path) -> None:
    keys = {}
    for name in ("old", "new", "ann", "pat"):
        keys[name] = cli_run(tmp_path, "returns", "keygen", "--out",
                             str(tmp_path / f"{name}.pem"))[1].strip()
    (tmp_path / "c.toml").write_text(ROTATING.format(key=keys["old"], ann=keys["ann"],
                                                     pat=keys["pat"]))
    assert cli_run(tmp_path, "init")[0] == 0
    ann = ("--actor", "ann", "--key", str(tmp_path / "ann.pem"))
    pat = ("--actor", "pat", "--key", str(tmp_path / "pat.pem"))
    assert cli_run(tmp_path, *ann, "contract", "agree", str(tmp_path / "c.toml"))[0] == 0
    (tmp_path / "v.toml").write_text(f'[[providers]]\nid = "P1"\npublic_key = "{keys["new"]}"\n')
    vary = ("contract", "vary", "SIGNED-1", str(tmp_path / "v.toml"), "--effective",
            "2025-07-01", "--reason", "key rotated")
    code, _, err = cli_run(tmp_path, *pat, *vary)  # not the commissioner
    assert code == 1
    assert "actor 'pat' may not vary the contract" in err
    code, _, err = cli_run(tmp_path, *ann, *vary)
    assert code == 0, err
    (tmp_path / "q1.csv").write_text(RETURN)
    (tmp_path / "q2.csv").write_text(RETURN.replace("FY2025-Q1", "FY2025-Q2"))
    sign_with = tmp_path / "new.pem"
    sign(tmp_path, sign_with, "q1.csv", 1)
    before = events(tmp_path)
    code, _, err = cli_run(tmp_path, *pat, "returns", "import", str(tmp_path / "q1.csv"))
    assert code == 1
    assert "signature: the signature does not match" in err
    assert events(tmp_path) == before
    sign(tmp_path, sign_with, "q2.csv", 2)
    code, _, err = cli_run(tmp_path, *pat, "returns", "import", str(tmp_path / "q2.csv"))
    assert code == 0, err
    sign(tmp_path, tmp_path / "old.pem", "q1.csv", 3)
    code, _, err = cli_run(tmp_path, *pat, "returns", "import", str(tmp_path / "q1.csv"))
    assert code == 0, err
    code, out, err = cli_run(tmp_path, "audit", "verify")
    assert code == 0, out + err


def test_a_key_rotation_without_the_commissioners_signature_is_refused(
        tmp_path: Path, signed: Path) -> None:
    _, public, _ = cli_run(tmp_path, "returns", "keygen", "--out", str(tmp_path / "new.pem"))
    (tmp_path / "v.toml").write_text(
        f'[[providers]]\nid = "P1"\npublic_key = "{public.strip()}"\n')
    before = events(tmp_path)
    code, _, err = cli_run(tmp_path, "--actor", "comm", "contract", "vary", "SIGNED-1",
                           str(tmp_path / "v.toml"), "--effective", "2025-04-01", "--reason",
                           "new key")
    assert code == 1
    assert ("v.toml:1: providers[0].public_key: a provider's key changes (and signed returns "
            "stop) only by a variation signed by a commissioner's key") in err
    assert events(tmp_path) == before


def test_a_scheme_1_return_slipped_in_after_a_scheme_2_one_is_a_finding(
        tmp_path: Path, signed: Path) -> None:
    """Returns recorded under scheme 1 keep verifying, but one stored after the provider's
    first scheme-2 file (an old file's signature, inserted by someone who can write the
    database) is refused by the rules ``audit verify`` decides again."""
    sign(tmp_path, signed, "q1.csv", 1)
    assert cli_run(tmp_path, "returns", "import", str(tmp_path / "q1.csv"))[0] == 0
    with open_ledger(str(tmp_path / "l.db")) as ledger:
        (_, _), (submitted, head) = ledger.stream("SIGNED-1")
    assert isinstance(submitted, ReturnSubmitted)
    assert submitted.source is not None
    old = RETURN.replace(",3\n", ",1\n").encode()
    digest = hashlib.sha256(old).hexdigest()
    slipped = msgspec.structs.replace(
        submitted, prev_hash=head, reason="restated", figures=(Figure("O1", Decimal(1)),),
        source=Source("old.csv", digest, sign_digest(load_private_key(signed.read_bytes()),
                                                     digest)))
    restated = ReturnRestated(**{f: getattr(slipped, f) for f in slipped.__struct_fields__
                                 if f not in ("late", "signature", "key_id")},
                              originals=submitted.figures)
    with closing(sqlite3.connect(tmp_path / "l.db")) as conn, conn:
        conn.execute("INSERT INTO stored_events (originator_id, originator_version, topic, "
                     "state) VALUES (?, ?, ?, ?)", (stream_id("SIGNED-1").hex, 3,
                                                    codec.topic(restated),
                                                    codec.encode(restated)))
    code, out, _ = cli_run(tmp_path, "audit", "verify", "--format", "json")
    assert code == 1
    assert any("v3: ReturnRestated: signature: given a scheme 1 signature after a scheme 2"
               in m for m in json.loads(out)["mismatches"])
