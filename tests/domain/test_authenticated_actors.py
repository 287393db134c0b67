"""Authenticated actors: on a contract whose actors declare keys, a name is not enough.

Given a contract whose commissioner and provider actors hold Ed25519 keys, when a write
claims an actor (``--actor``) without that actor's key (``--key``), then it is refused and
nothing is written; signed with it, every event records the key id and a signature of its
canonical bytes, which ``audit verify`` checks again (a forged one is a finding at its
position). A contract without keyed actors works as it always did.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ACTOR, T0, meta, terms
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.domain import codec
from outcomeledger.domain.commands import AdjustReward, AgreeContract, Meta, VaryContract
from outcomeledger.domain.contract.decide import decide
from outcomeledger.domain.contract.state import ContractState, evolve_owned
from outcomeledger.domain.contract.validity import StreamRules
from outcomeledger.domain.errors import InvalidInput, Refused
from outcomeledger.domain.events import AnyEvent, RewardAdjusted
from outcomeledger.domain.signing import (
    key_id,
    new_private_key_pem,
    private_key_bytes,
    sign_bytes,
)
from outcomeledger.domain.terms import Actor, Provider
from outcomeledger.domain.variations import ProviderChange, Variation
from outcomeledger.imports import parallel
from outcomeledger.storage.application import stream_id

CONTRACT = """
reference = "KEYED-1"
title = "Keyed actors"
buyer = "Council"
supplier = "Integrator"
start = 2025-04-01
end = 2026-03-31
cadence = "quarter"
providers = [{{ id = "P1", name = "Provider One" }}]
actors = [
  {{ name = "ann", role = "commissioner", public_key = "{ann}" }},
  {{ name = "pat", role = "provider", provider = "P1", public_key = "{pat}" }},
]

[[outcomes]]
code = "O1"
name = "Outcome one"
price = "100"
"""
RETURN = "contract,period,provider,outcome,value\nKEYED-1,FY2025-Q1,P1,O1,3\n"


class Keyed:
    """A ledger holding KEYED-1, agreed by ann with her key; ann's, pat's and mallory's
    key files beside it."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.db = str(tmp / "l.db")
        publics = {}
        for name in ("ann", "pat", "mallory"):
            code, public, _ = self.run_as(None, None, "returns", "keygen", "--out",
                                          str(tmp / f"{name}.pem"))
            assert code == 0
            publics[name] = public.strip()
        self.publics = publics
        (tmp / "c.toml").write_text(CONTRACT.format(**publics))
        (tmp / "q1.csv").write_text(RETURN)
        assert self.run_as(None, None, "init")[0] == 0

    def key(self, name: str) -> str:
        return str(self.tmp / f"{name}.pem")

    def run_as(self, actor: str | None, key: str | None, *args: str) -> tuple[int, str, str]:
        flags = ["--db", self.db]
        flags += ["--actor", actor] if actor else []
        flags += ["--key", self.key(key)] if key else []
        result: Result = CliRunner().invoke(cli, [*flags, *args])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception)
        assert "Traceback" not in result.output
        return result.exit_code, result.stdout, result.stderr

    def stored(self) -> list[bytes]:
        with open_ledger(self.db) as ledger:
            return [s.state for s in ledger.feed()]


@pytest.fixture
def keyed(tmp_path: Path) -> Keyed:
    ledger = Keyed(tmp_path)
    code, _, err = ledger.run_as("ann", "ann", "contract", "agree", str(tmp_path / "c.toml"))
    assert code == 0, err
    return ledger


def test_a_spoofed_actor_without_the_actors_key_is_refused(keyed: Keyed) -> None:
    before = keyed.stored()
    code, _, err = keyed.run_as("ann", None, "adjust", "KEYED-1", "--period", "FY2025-Q1",
                                "--kind", "bonus", "--amount", "5", "--reason", "spoof")
    assert code == 1
    assert "contract KEYED-1 takes signed writes only" in err
    assert keyed.stored() == before


def test_a_write_signed_with_another_actors_key_is_refused(keyed: Keyed) -> None:
    before = keyed.stored()
    for key in ("mallory", "pat"):  # an undeclared key, and a declared key of another
        code, _, err = keyed.run_as("ann", key, "adjust", "KEYED-1", "--period",
                                    "FY2025-Q1", "--kind", "bonus", "--amount", "5",
                                    "--reason", "spoof")
        assert code == 1
        assert f"the key {key_id(keyed.publics[key])} is not the key of actor 'ann'" in err
        # Who holds the key, or who would have been allowed, is never said.
        assert "pat" not in err.replace(keyed.key("pat"), "")
        assert "--actor" not in err
    assert keyed.stored() == before


def test_a_signed_write_records_the_key_and_a_signature_audit_verify_checks(
        keyed: Keyed) -> None:
    code, _, err = keyed.run_as("pat", "pat", "returns", "import", str(keyed.tmp / "q1.csv"))
    assert code == 0, err
    code, feed, _ = keyed.run_as(None, None, "events", "--contract", "KEYED-1")
    events = [json.loads(line) for line in feed.splitlines()]
    assert [(e["recorded_by"], e["data"]["key_id"]) for e in events] == [
        ("ann", key_id(keyed.publics["ann"])), ("pat", key_id(keyed.publics["pat"]))]
    assert all(e["data"]["signature"] for e in events)
    code, out, err = keyed.run_as(None, None, "audit", "verify")
    assert code == 0, out + err


def test_an_import_decided_by_worker_processes_is_signed_as_one_process_signs_it(
        keyed: Keyed, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers get the key with the meta, and sign the events they chain."""
    monkeypatch.setenv("OUTCOMELEDGER_IMPORT_WORKERS", "2")
    made = []
    run = parallel.run

    def spied(*args: Any, **kw: Any) -> Any:
        result = run(*args, **kw)
        made.append(result is not None)
        return result

    monkeypatch.setattr(parallel, "run", spied)
    code, _, err = keyed.run_as("pat", "pat", "returns", "import", str(keyed.tmp / "q1.csv"))
    assert code == 0, err
    assert made == [True]
    (_, returned) = [msgspec.json.decode(s) for s in keyed.stored()]
    assert returned["recorded_by"] == "pat"
    assert returned["signature"]
    code, out, err = keyed.run_as(None, None, "audit", "verify")
    assert code == 0, out + err


def test_a_provider_actors_key_does_not_make_it_a_commissioner(keyed: Keyed) -> None:
    code, _, err = keyed.run_as("pat", "pat", "adjust", "KEYED-1", "--period", "FY2025-Q1",
                                "--kind", "bonus", "--amount", "5", "--reason", "mine")
    assert code == 1
    assert "actor 'pat' may not record adjustments on contract KEYED-1" in err


def test_a_bad_key_file_is_refused_cleanly(keyed: Keyed) -> None:
    (keyed.tmp / "bad.pem").write_text("not a key\n")
    code, _, err = keyed.run_as("ann", "bad", "contract", "close", "KEYED-1", "--reason", "x")
    assert code == 1
    assert "bad.pem: --key: not an unencrypted PEM private key" in err


def test_without_keyed_actors_a_key_is_not_used_and_nothing_changes(tmp_path: Path) -> None:
    ledger = Keyed(tmp_path)
    keyed_actors = CONTRACT.format(**ledger.publics)
    start = keyed_actors.index("actors = [")
    open_contract = keyed_actors[:start] + keyed_actors[keyed_actors.index("]\n\n") + 3:]
    (tmp_path / "open.toml").write_text(open_contract.replace("KEYED-1", "OPEN-1"))
    code, _, err = ledger.run_as("anyone", "mallory", "contract", "agree",
                                 str(tmp_path / "open.toml"))
    assert code == 0, err
    (event,) = [msgspec.json.decode(s) for s in ledger.stored()]
    assert "key_id" not in event
    assert "signature" not in event


# -- the rules, without a ledger -------------------------------------------------------------

ANN_PEM, ANN_PUBLIC = new_private_key_pem()
MALLORY_PEM, _ = new_private_key_pem()
ANN_RAW, ANN_ID = private_key_bytes(ANN_PEM)
KEYED = terms(actors=(Actor("ann", "commissioner", public_key=ANN_PUBLIC),))


def signed(event: AnyEvent, raw: bytes) -> AnyEvent:
    return msgspec.structs.replace(event, signature=sign_bytes(raw, codec.signed_bytes(event)))


def history(sign: Callable[[AnyEvent], AnyEvent]) -> list[AnyEvent]:
    """KEYED agreed and an adjustment recorded by ann, chained, each event passed to
    ``sign``."""
    state, events = ContractState("C-TEST"), []
    ann = Meta(T0, "ann", ANN_ID, ANN_RAW)
    for command in (AgreeContract(KEYED),
                    AdjustReward("FY2025-Q1", "bonus", Decimal(5), "a bonus")):
        (event,) = decide(state, command, ann).events
        event = sign(msgspec.structs.replace(event, prev_hash=state.head_hash))
        events.append(event)
        state = evolve_owned(state, event, codec.event_hash(codec.encode(event)))
    return events


def findings(events: list[AnyEvent]) -> list[str]:
    checker = StreamRules()
    for version, event in enumerate(events, 1):
        checker.add(version, version, codec.topic(event), codec.encode(event))
    return [str(v) for v in checker.violations]


def test_every_signed_event_verifies() -> None:
    assert findings(history(lambda e: signed(e, ANN_RAW))) == []


def test_a_forged_signature_is_a_finding_at_its_position() -> None:
    mallory, _ = private_key_bytes(MALLORY_PEM)
    events = history(lambda e: signed(e, ANN_RAW))
    forged = signed(events[1], mallory)  # ann's key id, mallory's signature
    assert findings([events[0], forged]) == [
        f"C-TEST position 2 v2: RewardAdjusted: signature: the signature does not verify "
        f"(key {ANN_ID} of actor 'ann')"]


def test_an_altered_signed_event_is_a_finding() -> None:
    events = history(lambda e: signed(e, ANN_RAW))
    altered = msgspec.structs.replace(events[1], reason="altered after signing")
    (found,) = findings([events[0], altered])
    assert "signature: the signature does not verify" in found


def test_an_unsigned_event_on_a_keyed_contract_is_a_finding() -> None:
    events = history(lambda e: signed(e, ANN_RAW))
    stripped = msgspec.structs.replace(events[1], key_id=None, signature=None)
    (found,) = findings([events[0], stripped])
    assert found.endswith("contract C-TEST takes signed writes only: sign with your key "
                          "(--key FILE or $OUTCOMELEDGER_KEY)")


def test_an_unsigned_actor_may_not_declare_keys_then_act_without_them() -> None:
    with pytest.raises(Refused, match="takes signed writes only"):
        decide(ContractState("C-TEST"), AgreeContract(KEYED), Meta(T0, "ann"))


def test_a_key_shared_by_two_actors_is_refused() -> None:
    shared = terms(actors=(Actor("ann", "commissioner", public_key=ANN_PUBLIC),
                           Actor("bob", "commissioner", public_key=ANN_PUBLIC)))
    with pytest.raises(InvalidInput, match=r"actors\[1\]\.public_key: given the key"):
        decide(ContractState("C-TEST"), AgreeContract(shared), Meta(T0, "ann", ANN_ID))


# -- rotating a provider's key needs the commissioner's signature ----------------------------

def test_a_provider_key_rotation_without_a_commissioners_signature_is_refused() -> None:
    _, old = new_private_key_pem()
    _, new = new_private_key_pem()
    signed_terms = terms(signed_returns=True, providers=(Provider("P1", "One",
                                                                  public_key=old),))
    state = ContractState("C-TEST")
    for event in decide(state, AgreeContract(signed_terms), meta()).events:
        state = evolve_owned(state, event, "")
    rotate = VaryContract(Variation(providers=(ProviderChange("P1", public_key=new),)),
                          date(2025, 7, 1), "new key", "v.toml")
    with pytest.raises(InvalidInput, match=r"providers\[0\]\.public_key: a provider's key "
                       r"changes .* only by a variation signed by a commissioner's key"):
        decide(state, rotate, Meta(T0, ACTOR))
    stop = VaryContract(Variation(signed_returns=False), date(2025, 7, 1), "unsigned",
                        "v.toml")
    with pytest.raises(InvalidInput, match="signed_returns: a provider's key"):
        decide(state, stop, Meta(T0, ACTOR))


def test_an_operator_inserting_a_signed_looking_event_by_sql_is_found_by_audit_verify(
        keyed: Keyed) -> None:
    """A writer of the database chains an adjustment in ann's name, with ann's key id and
    a signature made with mallory's key: every hash chain accepts it, the signature does
    not."""
    with open_ledger(keyed.db) as ledger:
        (_agreed, head), = ledger.stream("KEYED-1")
    mallory, _ = private_key_bytes((keyed.tmp / "mallory.pem").read_bytes())
    forged = RewardAdjusted(contract="KEYED-1", recorded_at=T0, recorded_by="ann",
                            reason="a bonus", period="FY2025-Q1", kind="bonus",
                            amount=Decimal(500), prev_hash=head,
                            key_id=key_id(keyed.publics["ann"]))
    forged = msgspec.structs.replace(forged, signature=sign_bytes(
        mallory, codec.signed_bytes(forged)))
    with closing(sqlite3.connect(keyed.db)) as conn, conn:
        conn.execute("INSERT INTO stored_events (originator_id, originator_version, topic, "
                     "state) VALUES (?, ?, ?, ?)", (stream_id("KEYED-1").hex, 2,
                                                    codec.topic(forged), codec.encode(forged)))
    code, out, _ = keyed.run_as(None, None, "audit", "verify", "--format", "json")
    assert code == 1
    assert any("position 2 v2: RewardAdjusted: signature: the signature does not verify"
               in m for m in json.loads(out)["mismatches"])


def test_an_evidence_pack_of_a_keyed_contract_replays_with_its_signatures(
        keyed: Keyed) -> None:
    code, _, err = keyed.run_as("pat", "pat", "returns", "import", str(keyed.tmp / "q1.csv"))
    assert code == 0, err
    pack = str(keyed.tmp / "pack.ndjson")
    assert keyed.run_as(None, None, "audit", "export", "KEYED-1", "--output", pack)[0] == 0
    code, _, err = keyed.run_as(None, None, "audit", "replay", pack)
    assert code == 0, err


@settings(max_examples=40, deadline=None)
@given(reason=st.text(min_size=1, max_size=40).filter(lambda t: t.strip() != ""),
       cents=st.integers(min_value=1, max_value=10**9))
def test_a_signed_event_verifies_and_any_change_to_it_does_not(reason: str,
                                                                 cents: int) -> None:
    state, ann = ContractState("C-TEST"), Meta(T0, "ann", ANN_ID, ANN_RAW)
    (agreed,) = decide(state, AgreeContract(KEYED), ann).events
    agreed = signed(agreed, ANN_RAW)
    state = evolve_owned(state, agreed, codec.event_hash(codec.encode(agreed)))
    amount = Decimal(cents).scaleb(-2)
    (adjusted,) = decide(state, AdjustReward("FY2025-Q1", "bonus", amount, reason),
                         ann).events
    adjusted = signed(msgspec.structs.replace(adjusted, prev_hash=state.head_hash), ANN_RAW)
    assert findings([agreed, adjusted]) == []
    for changed in (msgspec.structs.replace(adjusted, amount=amount + 1),
                    msgspec.structs.replace(adjusted, reason=reason + "!"),
                    msgspec.structs.replace(adjusted, prev_hash="0" * 64)):
        assert any("signature: the signature does not verify" in f
                   for f in findings([agreed, changed]))
