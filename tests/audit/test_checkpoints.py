"""Signed checkpoints (issue 15, item 4): what the chains alone cannot see, a head signed and
kept outside the database catches.

Each tamper case first shows that plain ``audit verify`` passes (the attacker rewrote
consistently and rebuilt the projections with ``replay``), then that ``audit verify
--checkpoints LOG --key PUB`` fails naming the checkpoint. On SQLite and PostgreSQL: the
tampering is raw SQL on each backend's events table.
"""

from __future__ import annotations

import json
import re
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from backends import Db
from outcomeledger.app.demo import build_enf, build_gm, build_pb
from outcomeledger.app.ledger import open_ledger
from outcomeledger.app.replay import stored_batches
from outcomeledger.audit import checkpoints
from outcomeledger.cli import cli
from outcomeledger.domain import codec
from outcomeledger.domain.signing import new_private_key_pem


@pytest.fixture
def db(ledger_db: Db) -> Db:
    with open_ledger(ledger_db.url, create=True) as ledger:
        build_gm(ledger)
        build_pb(ledger)
    return ledger_db


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    """(private key PEM, public key base64) files, as `returns keygen` makes them."""
    pem, public = new_private_key_pem()
    private_file, public_file = tmp_path / "commissioner.pem", tmp_path / "commissioner.pub"
    private_file.write_bytes(pem)
    public_file.write_text(public + "\n")
    return private_file, public_file


def run(db: Db | None, *args: str) -> Result:
    prefix = ["--db", db.url] if db is not None else ["--db", "/nonexistent/ledger.db"]
    return CliRunner().invoke(cli, [*prefix, *args])


def clean_exit(result: Result, code: int) -> str:
    """The exit code is ``code``, with no traceback; the combined output."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    assert "Traceback" not in result.output
    return result.output


def checkpoint(db: Db, keys: tuple[Path, Path], log: Path, *extra: str) -> None:
    clean_exit(run(db, "audit", "checkpoint", "--key", str(keys[0]), "--log", str(log),
                   *extra), 0)


def verify(db: Db, keys: tuple[Path, Path] | None = None,
           log: Path | None = None) -> Result:
    extra = [] if keys is None or log is None else ["--checkpoints", str(log), "--key",
                                                    str(keys[1])]
    return run(db, "audit", "verify", "--format", "json", *extra)


def sql(db: Db, statement: str, *params: object) -> list[tuple[Any, ...]]:
    return db.sql(statement.replace("EVENTS", db.events).replace("POSITION", db.position),
                  *params)


def rebuild_projections(db: Db) -> None:
    """What an attacker does after editing events, so no projection gives them away."""
    clean_exit(run(db, "replay"), 0)


def rewrite_whole_chain(db: Db, position: int, old: bytes, new: bytes) -> None:
    """Edit one event and recompute every later ``prev_hash`` of its stream, so every
    chain is intact again: the rewrite a store's writer can always make."""
    rows = sql(db, "SELECT POSITION, originator_id, state FROM EVENTS ORDER BY POSITION")
    target = next(r for r in rows if r[0] == position)
    stream = target[1]
    state = bytes(target[2])
    assert old in state
    edited = state.replace(old, new)
    sql(db, "UPDATE EVENTS SET state=? WHERE POSITION=?", edited, position)
    previous, current = codec.event_hash(state), codec.event_hash(edited)
    for at, owner, raw in rows:
        if owner != stream or int(at) <= position:
            continue
        before = bytes(raw)
        after = before.replace(f'"prev_hash":"{previous}"'.encode(),
                               f'"prev_hash":"{current}"'.encode())
        assert after != before
        sql(db, "UPDATE EVENTS SET state=? WHERE POSITION=?", after, at)
        previous, current = codec.event_hash(before), codec.event_hash(after)


def ok(result: Result) -> bool:
    return bool(json.loads(result.stdout)["ok"])


def test_an_untouched_and_a_grown_ledger_extend_their_checkpoints(
        db: Db, keys: tuple[Path, Path], tmp_path: Path) -> None:
    log = tmp_path / "checkpoints.log"
    checkpoint(db, keys, log)
    with open_ledger(db.url) as ledger:
        build_enf(ledger)
    checkpoint(db, keys, log)
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    # The one output time style (issue 14, item 9): RFC 3339 in UTC with Z.
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", json.loads(x)["time"])
               for x in lines)
    result = verify(db, keys, log)
    clean_exit(result, 0)
    assert ok(result)


def test_a_whole_chain_rewrite_passes_plain_verify_and_is_caught_by_a_checkpoint(
        db: Db, keys: tuple[Path, Path], tmp_path: Path) -> None:
    log = tmp_path / "checkpoints.log"
    checkpoint(db, keys, log)
    rewrite_whole_chain(db, 4, b'"reason":"', b'"reason":"(amended) ')
    rebuild_projections(db)
    plain = verify(db)
    assert ok(plain), plain.output
    result = verify(db, keys, log)
    clean_exit(result, 1)
    (finding,) = json.loads(result.stdout)["mismatches"]
    assert f"checkpoint {log}:1" in finding
    assert "an event at or before it was changed" in finding
    assert "contracts whose history differs: GMHP-2017" in finding


def test_deleted_newest_events_pass_plain_verify_and_are_caught_by_a_checkpoint(
        db: Db, keys: tuple[Path, Path], tmp_path: Path) -> None:
    log = tmp_path / "checkpoints.log"
    checkpoint(db, keys, log)
    sql(db, "DELETE FROM EVENTS WHERE POSITION > 15")
    rebuild_projections(db)
    assert ok(verify(db))
    result = verify(db, keys, log)
    clean_exit(result, 1)
    (finding,) = json.loads(result.stdout)["mismatches"]
    assert "the ledger ends at position 15 (15 events) but the checkpoint is at position " \
        "18" in finding


def test_everything_deleted_then_replayed_passes_plain_verify_and_is_caught(
        db: Db, keys: tuple[Path, Path], tmp_path: Path) -> None:
    log = tmp_path / "checkpoints.log"
    checkpoint(db, keys, log)
    sql(db, "DELETE FROM EVENTS")
    rebuild_projections(db)
    assert ok(verify(db))
    result = verify(db, keys, log)
    clean_exit(result, 1)
    assert "the ledger ends at position 0 (0 events)" in result.stdout


def test_an_earlier_checkpoint_catches_a_rewrite_before_it_and_names_it(
        db: Db, keys: tuple[Path, Path], tmp_path: Path) -> None:
    """Events rewritten and the tail replaced by as many new ones: the later checkpoint
    and the earlier one are both checked, in one pass."""
    log = tmp_path / "checkpoints.log"
    checkpoint(db, keys, log)
    with open_ledger(db.url) as ledger:
        build_enf(ledger)
    checkpoint(db, keys, log)
    rewrite_whole_chain(db, 14, b'"reason":"', b'"reason":"(cohort 3 dropped) ')
    rebuild_projections(db)
    assert ok(verify(db))
    findings = json.loads(verify(db, keys, log).stdout)["mismatches"]
    assert [f.split(" (")[0] for f in findings] == [f"checkpoint {log}:1",
                                                   f"checkpoint {log}:2"]
    assert all("PB-SIB-2010" in f for f in findings)


def test_a_forged_checkpoint_signature_is_refused(db: Db, keys: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    """A forger who rewrote the ledger also rewrites the checkpoint to its new head."""
    log = tmp_path / "checkpoints.log"
    checkpoint(db, keys, log)
    rewrite_whole_chain(db, 4, b'"reason":"', b'"reason":"(amended) ')
    rebuild_projections(db)
    line = json.loads(log.read_text())
    with open_ledger(db.url) as ledger:
        head = ledger.max_position()
    assert head == line["position"]
    new_head = run(db, "audit", "head").stdout.strip().split(":")[1]
    line["head"] = new_head
    line["stream_heads"] = None
    del line["stream_heads"]
    log.write_text(json.dumps(line) + "\n")
    out = clean_exit(verify(db, keys, log), 1)
    assert f"{log}:1: signature: does not verify with the key in {keys[1]}" in out
    # ... and one signed by the forger's own key names the key that signed it.
    other = tmp_path / "other.pem"
    other.write_bytes(new_private_key_pem()[0])
    forged = tmp_path / "forged.log"
    checkpoint(db, (other, keys[1]), forged)
    out = clean_exit(verify(db, keys, forged), 1)
    assert f"{forged}:1: key: got " in out
    assert f"expected the key in {keys[1]}" in out


def test_checkpoint_refuses_to_extend_a_log_the_ledger_no_longer_extends(
        db: Db, keys: tuple[Path, Path], tmp_path: Path) -> None:
    log = tmp_path / "checkpoints.log"
    checkpoint(db, keys, log)
    sql(db, "DELETE FROM EVENTS WHERE POSITION > 15")
    out = clean_exit(run(db, "audit", "checkpoint", "--key", str(keys[0]), "--log", str(log)),
                     1)
    assert "the ledger no longer extends the log, not appending" in out
    assert len(log.read_text().splitlines()) == 1


def test_a_checkpoint_without_stream_heads_still_anchors_the_head(
        db: Db, keys: tuple[Path, Path], tmp_path: Path) -> None:
    log = tmp_path / "checkpoints.log"
    checkpoint(db, keys, log, "--no-streams")
    assert "stream_heads" not in log.read_text()
    rewrite_whole_chain(db, 4, b'"reason":"', b'"reason":"(amended) ')
    rebuild_projections(db)
    (finding,) = json.loads(verify(db, keys, log).stdout)["mismatches"]
    assert "hashes to" in finding
    assert "contracts whose" not in finding


# -- bad input: exit 1 or 2, one clean message, never a traceback ------------------------

@pytest.mark.parametrize("backend_free", [None])
def test_bad_keys_and_logs_are_refused_cleanly(backend_free: None, tmp_path: Path,
                                               keys: tuple[Path, Path]) -> None:
    db = Db(str(tmp_path / "ledger.db"), "sqlite")
    with open_ledger(db.url, create=True) as ledger:
        build_pb(ledger)
    log = tmp_path / "checkpoints.log"
    checkpoint(db, keys, log)
    good = log.read_text()
    garbled = tmp_path / "garbled.key"
    garbled.write_text("not a key\n")

    # checkpoint: missing, garbled and public key files
    out = clean_exit(run(db, "audit", "checkpoint", "--key", str(tmp_path / "none.pem")), 1)
    assert f"{tmp_path / 'none.pem'}: --key: cannot read" in out
    out = clean_exit(run(db, "audit", "checkpoint", "--key", str(garbled)), 1)
    assert f"{garbled}: --key: not an unencrypted PEM private key" in out
    out = clean_exit(run(db, "audit", "checkpoint", "--key", str(keys[1])), 1)
    assert "expected the private key file written by `returns keygen --out`" in out

    # verify: a private key, a garbled key, a missing log, a lone flag
    for key, said in ((keys[0], "is a private key"), (garbled, "not an Ed25519 public key")):
        out = clean_exit(run(db, "audit", "verify", "--checkpoints", str(log), "--key",
                             str(key)), 1)
        assert f"{key}: --key: {said}" in out
    out = clean_exit(run(db, "audit", "verify", "--checkpoints", str(tmp_path / "none.log"),
                         "--key", str(keys[1])), 1)
    assert "none.log: --checkpoints: cannot read" in out
    clean_exit(run(db, "audit", "verify", "--checkpoints", str(log)), 2)
    clean_exit(run(db, "audit", "verify", "--key", str(keys[1])), 2)

    # malformed lines: FILE:LINE: field: what was given, what was expected
    entry = json.loads(good)
    cases = {
        "{not json\n": ("line", "not JSON"),
        "[1, 2]\n": ("line", "got [1, 2]; expected a JSON object"),
        json.dumps({**entry, "position": "18"}): ("position", "got '18'; expected `int`"),
        json.dumps({**entry, "position": -1}): ("position", "got -1; expected `int` >= 1"),
        json.dumps({**entry, "head": "abc"}): ("head", "got 'abc'; expected `str` matching"),
        json.dumps({k: v for k, v in entry.items() if k != "head"}): ("head", "missing"),
        json.dumps({**entry, "extra": 1}): ("extra", "got 1; object contains unknown field"),
        json.dumps({**entry, "time": "yesterday"}): ("time", "got 'yesterday'; expected an "
                                                     "ISO timestamp"),
        json.dumps({**entry, "checkpoint": "x"}): ("checkpoint", "got 'x'; expected "
                                                   "'outcomeledger-checkpoint'"),
        json.dumps({**entry, "signature": "%%%"}): ("signature", "got '%%%'; expected base64"),
        json.dumps({k: v for k, v in entry.items() if k != "signature"}): (
            "signature", "missing (an unsigned line proves nothing)"),
        "[" * 100_000 + "]" * 100_000: ("line", "JSON nested too deeply"),
    }
    bad = tmp_path / "bad.log"
    for line, (field, said) in cases.items():
        bad.write_text(good + "\n" + line.strip() + "\n")
        out = clean_exit(run(db, "audit", "verify", "--checkpoints", str(bad), "--key",
                             str(keys[1])), 1)
        assert f"{bad}:3: {field}: {said}" in out, (line, out)
        out = clean_exit(run(db, "audit", "checkpoint", "--key", str(keys[0]), "--log",
                             str(bad)), 1)
        assert f"{bad}:3: {field}: {said}" in out, (line, out)
    bad.write_text("\n")
    out = clean_exit(run(db, "audit", "verify", "--checkpoints", str(bad), "--key",
                         str(keys[1])), 1)
    assert "holds no checkpoint" in out


def test_checkpoint_of_an_empty_ledger_is_refused(ledger_db: Db,
                                                  keys: tuple[Path, Path]) -> None:
    with open_ledger(ledger_db.url, create=True):
        pass
    out = clean_exit(run(ledger_db, "audit", "checkpoint", "--key", str(keys[0])), 1)
    assert "the ledger holds no events: nothing to checkpoint" in out


def test_the_heads_read_from_each_streams_latest_event_are_the_walked_ones(db: Db) -> None:
    """``audit verify --checkpoints`` on intact chains reads each stream's latest event up
    to a checkpoint instead of walking every event: the same snapshots, on both backends
    (a deleted middle event leaves positions with no event)."""
    sql(db, "DELETE FROM EVENTS WHERE POSITION = 17")
    pins = [1, 5, 12, 13, 16, 17, 18, 40]
    with open_ledger(db.url) as ledger:
        _, walked = checkpoints.walk(stored_batches(ledger), pins)
        with closing(ledger.connect()) as conn:
            read = checkpoints.snapshots_of_heads(conn, pins)
    assert read is not None
    for pin in pins:
        assert read[pin].head() == walked[pin].head(), pin
        assert read[pin].events == walked[pin].events, pin


def test_a_broken_chain_and_a_changed_stream_head_are_both_reported(
        db: Db, keys: tuple[Path, Path], tmp_path: Path) -> None:
    """With a chain already broken, the heads at each checkpoint come from a walk over
    every event (a stream's latest event no longer vouches for the rest). The edit of a
    middle event is the chain's to report (the heads, and so the checkpoint, still
    match); the edit of a stream's latest event, in canonical form, only the
    checkpoint's."""
    log = tmp_path / "checkpoints.log"
    checkpoint(db, keys, log)
    for position in (4, 18):
        (row,) = sql(db, "SELECT state FROM EVENTS WHERE POSITION=?", position)
        sql(db, "UPDATE EVENTS SET state=? WHERE POSITION=?",
            bytes(row[0]).replace(b'"reason":"', b'"reason":"(amended) '), position)
    findings = json.loads(verify(db, keys, log).stdout)["mismatches"]
    assert any("GMHP-2017 position 5 v5: prev_hash" in f for f in findings), findings
    (anchored,) = [f for f in findings if f.startswith(f"checkpoint {log}:1")]
    assert "contracts whose history differs: PB-SIB-2010)" in anchored


def test_an_edited_latest_event_passes_plain_verify_and_is_caught(
        db: Db, keys: tuple[Path, Path], tmp_path: Path) -> None:
    """No later event's ``prev_hash`` vouches for a stream's latest event."""
    log = tmp_path / "checkpoints.log"
    checkpoint(db, keys, log)
    (row,) = sql(db, "SELECT state FROM EVENTS WHERE POSITION=18")
    sql(db, "UPDATE EVENTS SET state=? WHERE POSITION=18",
        bytes(row[0]).replace(b'"reason":"', b'"reason":"(amended) '))
    rebuild_projections(db)
    plain = verify(db)
    assert ok(plain), plain.output
    (finding,) = json.loads(verify(db, keys, log).stdout)["mismatches"]
    assert "contracts whose history differs: PB-SIB-2010)" in finding


def test_checkpoint_refuses_to_sign_a_ledger_whose_chains_are_broken(
        db: Db, keys: tuple[Path, Path], tmp_path: Path) -> None:
    sql(db, "DELETE FROM EVENTS WHERE POSITION = 6")
    log = tmp_path / "checkpoints.log"
    out = clean_exit(run(db, "audit", "checkpoint", "--key", str(keys[0]), "--log", str(log)),
                     1)
    assert "the ledger's hash chains do not verify (GMHP-2017 position 7 v7" in out
    assert "not signing" in out
    assert not log.exists()
