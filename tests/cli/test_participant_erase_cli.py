"""`participant erase` (issue 21): after it, no stored byte holds the participant's id
(it never did: events, projections, packs and the feed hold a pseudonym), the key that
linked the pseudonym to the id is gone, `audit verify` passes and the payments are
byte-identical; a later return naming the id is refused, never linked back."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from ledgered import Ledgered, rows

HEADER = "contract,period,participant,outcome,value,evidence\n"
ALICE = "Alice Example 1970-01-01"
CONTRACT = """
reference = "C-PSEUDO"
title = "Pseudonymised participants"
buyer = "Test Council"
supplier = "Test Supplier Ltd"
start = 2025-04-01
end = 2027-03-31
cadence = "quarter"
participant_cap = "300"
participant_ids = "pseudonymised"

[[outcomes]]
code = "O1"
name = "Entered work"
price = "100"

[[outcomes]]
code = "O2"
name = "Sustained work"
price = "250"
requires = ["O1"]
"""


@pytest.fixture
def pseudo(tmp_path: Path) -> Ledgered:
    """A SQLite ledger (its file's bytes are read) with C-PSEUDO agreed and two returns
    naming ALICE (one with evidence naming her) and BOB-2."""
    ledgered = Ledgered(tmp_path)
    assert ledgered("init").exit_code == 0
    result = ledgered("contract", "agree", ledgered.write("c.toml", CONTRACT))
    assert result.exit_code == 0, result.stderr
    ledgered.imported("q1.csv", rows(f"C-PSEUDO,FY2025-Q1,{ALICE},O1,1,letter to {ALICE}",
                                     "C-PSEUDO,FY2025-Q1,BOB-2,O1,1,", header=HEADER))
    ledgered.imported("q2.csv", rows(f"C-PSEUDO,FY2025-Q2,{ALICE},O2,1,",
                                     "C-PSEUDO,FY2025-Q2,BOB-2,O2,1,", header=HEADER))
    return ledgered


def pseudonym(ledgered: Ledgered, participant: str) -> str | None:
    result = ledgered("participant", "show", "C-PSEUDO", participant, "--format", "json")
    assert result.exit_code == 0, result.stderr
    found: str | None = json.loads(result.stdout)["pseudonym"]
    return found


def stored_bytes(ledgered: Ledgered) -> bytes:
    """Every byte of the ledger's files (database, write-ahead log, shared memory)."""
    return b"".join(p.read_bytes() for p in sorted(Path(ledgered.db).parent.glob(
        Path(ledgered.db).name + "*")))


def outputs(ledgered: Ledgered) -> dict[str, str]:
    """What the read paths print: the feed, a pack, the audit log, payments explained,
    the report, the payments."""
    commands = {
        "feed": ("events",),
        "pack": ("audit", "export", "C-PSEUDO"),
        "audit log": ("audit", "log", "C-PSEUDO", "--format", "json"),
        "explain": ("payments", "explain", "C-PSEUDO", "--period", "FY2025-Q2",
                    "--format", "json"),
        "report": ("report", "C-PSEUDO", "--format", "json"),
        "payments": ("payments", "C-PSEUDO", "--format", "json"),
    }
    out = {}
    for name, args in commands.items():
        result = ledgered(*args)
        assert result.exit_code == 0, (name, result.stderr)
        out[name] = result.stdout
    return out


def key_rows(ledgered: Ledgered) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(ledgered.db)) as conn:
        return conn.execute("SELECT pseudonym, secret, erased_at FROM participant_keys "
                            "ORDER BY created_at, lookup").fetchall()


def test_no_stored_byte_or_read_path_holds_the_id_of_a_pseudonymised_participant(
        pseudo: Ledgered) -> None:
    alias = pseudonym(pseudo, ALICE)
    assert alias is not None
    assert alias.startswith("P-")
    assert ALICE.encode() not in stored_bytes(pseudo)
    assert b"Alice" not in stored_bytes(pseudo)  # nor the evidence naming her
    printed = outputs(pseudo)
    for name, text in printed.items():
        assert "Alice" not in text, name
    assert alias in printed["feed"]
    assert alias in printed["explain"]


def test_after_an_erasure_no_link_is_left_verify_passes_and_payments_are_unchanged(
        pseudo: Ledgered) -> None:
    alias = pseudonym(pseudo, ALICE)
    assert alias is not None
    [secret] = [row[1] for row in key_rows(pseudo) if row[0] == alias]
    assert isinstance(secret, str)
    before = outputs(pseudo)
    events = pseudo.events()
    result = pseudo("participant", "erase", "C-PSEUDO", ALICE, "--reason",
                    "UK GDPR Art. 17 request DSR-7")
    assert result.exit_code == 0, result.stderr
    assert pseudo.events() == events + 1
    after = outputs(pseudo)
    assert after["payments"] == before["payments"]  # byte-identical
    assert json.loads(after["explain"]) == json.loads(before["explain"])
    # The feed grew by the erasure alone: every earlier event is byte-identical.
    assert after["feed"].startswith(before["feed"])
    [erasure] = [json.loads(line) for line in after["feed"].splitlines()[len(
        before["feed"].splitlines()):]]
    assert (erasure["type"], erasure["data"]["pseudonym"]) == ("ParticipantErased", alias)
    verified = pseudo("audit", "verify")
    assert verified.exit_code == 0, verified.stdout + verified.stderr
    stored = stored_bytes(pseudo)
    assert b"Alice" not in stored
    # Nor the destroyed secret, in a free page or the write-ahead log.
    assert secret.encode() not in stored
    # The link is gone: no key row holds the pseudonym or a secret for it.
    erased = [row for row in key_rows(pseudo) if row[2] is not None]
    assert erased == [(None, None, erased[0][2])]
    assert pseudonym(pseudo, ALICE) is None
    assert pseudonym(pseudo, "BOB-2") is not None  # the others keep theirs
    for name, text in after.items():
        assert "Alice" not in text, name


def test_a_later_return_naming_an_erased_id_is_refused_not_linked_back(
        pseudo: Ledgered) -> None:
    assert pseudo("participant", "erase", "C-PSEUDO", ALICE, "--reason", "Art. 17"
                  ).exit_code == 0
    events = pseudo.events()
    path = pseudo.write("q3.csv", rows(f"C-PSEUDO,FY2025-Q3,{ALICE},O1,1,", header=HEADER))
    result = pseudo("returns", "import", path)
    assert result.exit_code == 1
    assert "q3.csv:2: participant: erased from contract C-PSEUDO" in result.stderr
    assert pseudo.events() == events


def test_a_later_return_for_the_same_participant_maps_to_the_same_pseudonym(
        pseudo: Ledgered) -> None:
    alias = pseudonym(pseudo, ALICE)
    # O1 is claimable once per participant: the same id is the same pseudonym.
    path = pseudo.write("again.csv", rows(f"C-PSEUDO,FY2025-Q3,{ALICE},O1,1,",
                                          header=HEADER))
    result = pseudo("returns", "import", path)
    assert result.exit_code == 1
    assert f"{alias} already has it in FY2025-Q1" in result.stderr
    assert pseudonym(pseudo, ALICE) == alias


def test_a_refused_import_writes_no_key(pseudo: Ledgered) -> None:
    keys = key_rows(pseudo)
    path = pseudo.write("bad.csv", rows("C-PSEUDO,FY2025-Q3,NEW-1,O1,1,",
                                        "C-PSEUDO,FY2025-Q3,NEW-2,O9,1,", header=HEADER))
    assert pseudo("returns", "import", path).exit_code == 1
    assert key_rows(pseudo) == keys
    refused = pseudo("participant", "show", "C-PSEUDO", "NEW-1")
    assert refused.exit_code == 1
    assert "unknown participant" in refused.stderr


def test_a_restatement_names_the_participant_by_the_same_pseudonym(pseudo: Ledgered) -> None:
    alias = pseudonym(pseudo, ALICE)
    path = pseudo.write("fix.csv", rows(f"C-PSEUDO,FY2025-Q1,{ALICE},O1,0,",
                                        "C-PSEUDO,FY2025-Q1,BOB-2,O1,1,", header=HEADER))
    result = pseudo("returns", "import", path, "--restate", "--reason", "entered in error")
    assert result.exit_code == 0, result.stderr
    last = json.loads(pseudo("events").stdout.splitlines()[-1])
    assert last["type"] == "ReturnRestated"
    assert [(f["participant"], f["value"]) for f in last["data"]["figures"]] == [(alias, "0")]


def test_an_erasure_on_either_backend_keeps_the_payments_and_passes_verify(
        tmp_path: Path, ledger_url: str) -> None:
    ledgered = Ledgered(tmp_path, ledger_url)
    assert ledgered("init").exit_code == 0
    assert ledgered("contract", "agree", ledgered.write("c.toml", CONTRACT)).exit_code == 0
    ledgered.imported("q1.csv", rows(f"C-PSEUDO,FY2025-Q1,{ALICE},O1,1,",
                                     "C-PSEUDO,FY2025-Q1,BOB-2,O1,1,", header=HEADER))
    payments = ledgered("payments", "C-PSEUDO", "--format", "json").stdout
    result = ledgered("participant", "erase", "C-PSEUDO", ALICE, "--reason", "Art. 17")
    assert result.exit_code == 0, result.stderr
    assert ledgered("payments", "C-PSEUDO", "--format", "json").stdout == payments
    assert ledgered("audit", "verify").exit_code == 0
    assert pseudonym(ledgered, ALICE) is None
    assert pseudonym(ledgered, "BOB-2") is not None
    again = ledgered("returns", "import", ledgered.write("q2.csv", rows(
        f"C-PSEUDO,FY2025-Q2,{ALICE},O2,1,", header=HEADER)))
    assert again.exit_code == 1
    assert "erased from contract C-PSEUDO" in again.stderr
