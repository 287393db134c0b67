"""The actor registry (issue 21): who may agree and vary programmes, provably.

Given a ledger whose actor registry holds an administrator (ada) and a programme
commissioner (cora), each with an Ed25519 key: when a programme write claims an actor
without a registered key of the right role, or a registry change is not signed by an
administrator, then it is refused and nothing is written; signed, each event carries its
key id and signature, which ``audit verify`` checks against the registry as it stood when
the event was recorded (a key registered later never validates an event before it). A
stored programme event that is unsigned or signed with the wrong key, inserted with plain
SQL, is a finding. A draw made by a signed payment run carries the run's key and a
signature of its own bytes. While the registry is empty, programmes work as they always did.
"""

from __future__ import annotations

import json
from contextlib import closing
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import msgspec
import pytest
from click.testing import CliRunner, Result

from backends import Db
from outcomeledger.cli import cli
from outcomeledger.domain import codec
from outcomeledger.domain.programme.events import ProgrammeDrawn, ProgrammeVaried
from outcomeledger.domain.programme.terms import ProgrammeVariation
from outcomeledger.domain.programme.validity import ProgrammeRules
from outcomeledger.domain.signing import private_key_bytes, sign_bytes
from outcomeledger.projections import source

PROGRAMME = """\
reference = "FCF"
title = "Fair Chance Fund"
currency = "GBP"
start = 2020-04-01
end = 2024-03-31
budget = "15000"
"""
CONTRACT = """\
reference = "C-FCF"
title = "Youth homelessness"
buyer = "DCLG"
supplier = "Provider"
start = 2020-04-01
end = 2023-03-31
cadence = "quarter"
currency = "GBP"
programme = "FCF"
actors = [
  {{ name = "kim", role = "commissioner", public_key = "{kim}" }},
  {{ name = "kim", role = "validator", public_key = "{kim}" }},
]

[[outcomes]]
code = "ACC"
name = "Entered accommodation"
price = "1000"
"""


def registry(**actors: tuple[str, str]) -> str:
    """An ``actors register`` file: name = (role, public key)."""
    return "".join(f'[[actors]]\nname = "{name.rstrip("_")}"\nrole = "{role}"\n'
                   f'public_key = "{key}"\n\n' for name, (role, key) in actors.items())


class Ledger:
    """A ledger (SQLite or PostgreSQL) and a folder with key files for ada, cora, cora2
    (cora's next key), kim and mallory."""

    def __init__(self, tmp: Path, db: Db) -> None:
        self.tmp = tmp
        self.backend = db
        self.db = db.url
        self.public: dict[str, str] = {}
        for name in ("ada", "cora", "cora2", "kim", "mallory"):
            code, out, _ = self.run(None, None, "returns", "keygen", "--out",
                                    str(tmp / f"{name}.pem"))
            assert code == 0
            self.public[name] = out.strip()
        assert self.run(None, None, "init")[0] == 0

    def file(self, name: str, text: str) -> str:
        (self.tmp / name).write_text(text, encoding="utf-8")
        return str(self.tmp / name)

    def run(self, actor: str | None, key: str | None, *args: str) -> tuple[int, str, str]:
        flags = ["--db", self.db, "--actor", actor or "tester"]
        flags += ["--key", str(self.tmp / f"{key}.pem")] if key else []
        result: Result = CliRunner().invoke(cli, [*flags, *args])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception)
        assert "Traceback" not in result.output
        return result.exit_code, result.stdout, result.stderr

    def ok(self, actor: str | None, key: str | None, *args: str) -> str:
        code, out, err = self.run(actor, key, *args)
        assert code == 0, err
        return out

    def register(self, actor: str | None, key: str | None, **actors: tuple[str, str]
                 ) -> tuple[int, str, str]:
        return self.run(actor, key, "actors", "register",
                        self.file("reg.toml", registry(**actors)), "--reason", "registry")

    def rows(self) -> list[tuple[int, str, int, str, bytes]]:
        """(position, stream as uuid hex, version, topic, stored bytes) of every event."""
        db = self.backend
        stream = "originator_id" if db.backend == "sqlite" else (
            "replace(originator_id::text, '-', '')")
        return [(int(r[0]), str(r[1]), int(r[2]), str(r[3]), bytes(r[4])) for r in db.sql(
            f"SELECT {db.position}, {stream}, originator_version, topic, state FROM "
            f"{db.events} ORDER BY {db.position}")]

    def insert(self, stream: str, version: int, topic: str, state: bytes) -> None:
        """What an operator with write access to the database can do: append a row."""
        db = self.backend
        db.sql(f"INSERT INTO {db.events} (originator_id, originator_version, topic, state) "
               "VALUES (?, ?, ?, ?)", stream if db.backend == "sqlite" else UUID(stream),
               version, topic, state)

    def verify(self) -> tuple[int, str]:
        code, out, err = self.run(None, None, "audit", "verify", "--format", "json")
        return code, out + err


@pytest.fixture
def ledger(tmp_path: Path, ledger_db: Db) -> Ledger:
    return Ledger(tmp_path, ledger_db)


@pytest.fixture
def keyed(ledger: Ledger) -> Ledger:
    """ada (administrator) and cora (commissioner) registered; FCF agreed by cora."""
    code, _, err = ledger.register("ada", None, ada=("administrator", ledger.public["ada"]),
                                   cora=("commissioner", ledger.public["cora"]))
    assert code == 0, err
    ledger.ok("cora", "cora", "programme", "agree", ledger.file("p.toml", PROGRAMME))
    return ledger


def test_an_empty_registry_leaves_programme_writes_as_they_were(ledger: Ledger) -> None:
    """No registry: any actor agrees and varies, no key asked, no key recorded (a key
    given identifies no one there), and the events hold no signature fields."""
    ledger.ok("anyone", "mallory", "programme", "agree", ledger.file("p.toml", PROGRAMME))
    ledger.ok("someone", None, "programme", "vary", "FCF",
              ledger.file("v.toml", 'budget = "20000"\n'), "--effective", "2021-04-01",
              "--reason", "more")
    states = [r[4] for r in ledger.rows()]
    assert len(states) == 2
    assert not any(b'"key_id"' in s or b'"signature"' in s for s in states)
    shown = json.loads(ledger.ok(None, None, "actors", "show", "--format", "json"))
    assert shown == {"version": 0, "keyed": False, "changed_at": None, "changed_by": None,
                     "actors": []}
    assert ledger.verify()[0] == 0


def test_a_spoofed_actor_on_a_keyed_registry_is_refused(keyed: Ledger) -> None:
    before = keyed.rows()
    vary = ("programme", "vary", "FCF", keyed.file("v.toml", 'budget = "20000"\n'),
            "--effective", "2021-04-01", "--reason", "more")
    # cora's name without her key; with mallory's key; ada (the administrator) with hers.
    for actor, key, says in (
            ("cora", None, "the actor registry is keyed: to vary programmes, sign the write"),
            ("cora", "mallory", "actor 'cora' signing with key"),
            ("ada", "ada", "actor 'ada' signing with key"),
            ("mallory", "mallory", "actor 'mallory' signing with key")):
        code, _, err = keyed.run(actor, key, *vary)
        assert code == 1, err
        assert says in err
        # A refusal never says who would have been allowed.
        assert "cora" not in err.replace("actor 'cora'", "")
        assert "commissioner" not in err
    assert keyed.rows() == before
    keyed.ok("cora", "cora", *vary)
    [*_, (_, _, _, topic, state)] = keyed.rows()
    event = codec.decode_any(topic, state)
    assert isinstance(event, ProgrammeVaried)
    assert event.key_id
    assert event.signature
    assert keyed.verify()[0] == 0


def test_a_registry_change_needs_an_administrators_signature(keyed: Ledger) -> None:
    """Rotating cora's key: refused unsigned, refused signed by cora herself (a
    commissioner), accepted signed by ada. From then on cora's old key is refused."""
    before = keyed.rows()
    rotated = {"ada": ("administrator", keyed.public["ada"]),
               "cora": ("commissioner", keyed.public["cora2"])}
    for actor, key in (("ada", None), ("cora", "cora"), ("ada", "mallory")):
        code, _, err = keyed.register(actor, key, **rotated)
        assert code == 1, err
        assert ("the actor registry is keyed: to change the actor registry" in err or
                "may not change the actor registry" in err)
    assert keyed.rows() == before
    assert keyed.register("ada", "ada", **rotated)[0] == 0
    vary = ("programme", "vary", "FCF", keyed.file("v.toml", 'budget = "20000"\n'),
            "--effective", "2021-04-01", "--reason", "more")
    assert keyed.run("cora", "cora", *vary)[0] == 1
    keyed.ok("cora", "cora2", *vary)
    # The agreement cora signed with her old key is judged by the registry of its time.
    code, out = keyed.verify()
    assert code == 0, out
    shown = json.loads(keyed.ok(None, None, "actors", "show", "--format", "json"))
    assert shown["version"] == 2
    assert shown["changed_by"] == "ada"
    assert [a["public_key"] for a in shown["actors"]] == [keyed.public["ada"],
                                                          keyed.public["cora2"]]


def test_a_registration_that_would_unkey_the_registry_is_refused(ledger: Ledger) -> None:
    """Every registration keeps an administrator: a registry is never unkeyed again."""
    code, _, err = ledger.register("x", None, cora=("commissioner", ledger.public["cora"]))
    assert code == 1
    assert "reg.toml:1: actors: no administrator" in err
    assert ledger.rows() == []


def _programme_head(ledger: Ledger) -> tuple[str, int, str]:
    """(stream, version, hash) of FCF's latest event."""
    stream = codec.programme_stream_id("FCF").hex
    [*_, last] = [r for r in ledger.rows() if r[1] == stream]
    return stream, last[2], codec.event_hash(last[4])


def _forged_variation(ledger: Ledger, key: str | None, actor: str = "cora") -> None:
    """A ProgrammeVaried appended to FCF's stream by plain SQL, chained correctly,
    unsigned (``key`` None) or signed with ``key`` in ``actor``'s name."""
    stream, version, head = _programme_head(ledger)
    event = ProgrammeVaried(programme="FCF", recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
                            recorded_by=actor, reason="forged", prev_hash=head,
                            effective_from=date(2021, 4, 1),
                            variation=ProgrammeVariation(budget=Decimal("99999")))
    if key is not None:
        raw, kid = private_key_bytes((ledger.tmp / f"{key}.pem").read_bytes())
        event = msgspec.structs.replace(event, key_id=kid)
        event = msgspec.structs.replace(event, signature=sign_bytes(
            raw, codec.signed_bytes(event)))
    ledger.insert(stream, version + 1, codec.topic(event), codec.encode(event))


@pytest.mark.parametrize(("key", "finding"), [
    (None, "the actor registry is keyed: to vary programmes, sign the write"),
    ("mallory", "may not vary programmes"),
])
def test_a_programme_event_inserted_by_sql_is_a_finding(keyed: Ledger, key: str | None,
                                                        finding: str) -> None:
    _forged_variation(keyed, key)
    code, out = keyed.verify()
    assert code == 1, out
    assert "programme:FCF position 3" in out or "FCF position 3" in out, out
    assert finding in out, out


def test_a_forged_signature_with_a_registered_key_id_is_a_finding(keyed: Ledger) -> None:
    """Signed by mallory, but naming cora's key id: the signature does not verify."""
    stream, version, _ = _programme_head(keyed)
    _forged_variation(keyed, "mallory")
    [*_, (_, _, _, topic, state)] = keyed.rows()
    event = codec.decode_any(topic, state)
    cora_id = private_key_bytes((keyed.tmp / "cora.pem").read_bytes())[1]
    forged = msgspec.structs.replace(event, key_id=cora_id)
    keyed.insert(stream, version + 2, topic, codec.encode(msgspec.structs.replace(
        forged, prev_hash=codec.event_hash(state))))
    code, out = keyed.verify()
    assert code == 1, out
    assert "signature: the signature does not verify" in out, out


def test_a_key_registered_later_never_validates_an_event_before_it(keyed: Ledger) -> None:
    """A variation signed with cora2's key, stored before cora2 was registered, stays a
    finding once cora2 is registered: each event is judged by the registry of its time."""
    _forged_variation(keyed, "cora2")
    assert keyed.register("ada", "ada", ada=("administrator", keyed.public["ada"]),
                          cora=("commissioner", keyed.public["cora2"]))[0] == 0
    code, out = keyed.verify()
    assert code == 1, out
    assert "may not vary programmes" in out, out


def test_a_registry_change_inserted_by_sql_without_a_signature_is_a_finding(
        keyed: Ledger) -> None:
    [first] = [r for r in keyed.rows() if r[1] == codec.registry_stream_id().hex]
    event = codec.decode_any(first[3], first[4])
    forged = msgspec.structs.replace(event, recorded_by="mallory", reason="takeover",
                                     prev_hash=codec.event_hash(first[4]))
    keyed.insert(first[1], 2, first[3], codec.encode(forged))
    code, out = keyed.verify()
    assert code == 1, out
    assert "registry:actors position 3" in out, out
    assert "to change the actor registry, sign the write" in out, out


def test_a_signed_runs_draw_is_signed_and_checked(keyed: Ledger) -> None:
    """kim, the contract's keyed commissioner, certifies: the run and its draw carry her
    key id, the draw a signature of its own bytes. A draw whose signature is stripped or
    forged is a finding of the programme rules."""
    keyed.ok("kim", "kim", "contract", "agree",
             keyed.file("c.toml", CONTRACT.format(kim=keyed.public["kim"])))
    keyed.ok("kim", "kim", "returns", "import", keyed.file(
        "r.csv", "contract,period,outcome,value\nC-FCF,FY2020-Q1,ACC,2\n"))
    keyed.ok("kim", "kim", "payments", "certify", "C-FCF", "--period", "FY2020-Q1")
    rows = keyed.rows()
    draws = [r for r in rows if r[3] == codec.programme_topic_of_drawn]
    [draw_row] = draws
    draw = codec.decode_any(draw_row[3], draw_row[4])
    assert isinstance(draw, ProgrammeDrawn)
    kim_id = private_key_bytes((keyed.tmp / "kim.pem").read_bytes())[1]
    assert draw.key_id == kim_id
    assert draw.signature
    assert keyed.verify()[0] == 0

    def findings(replacement: ProgrammeDrawn) -> list[str]:
        rules = ProgrammeRules()
        for position, _stream, version, topic, state in rows:
            rules.add(position, version, topic,
                      codec.encode(replacement) if state is draw_row[4] else state)
        rules.finish()
        return [v.rule for v in rules.violations]

    assert findings(draw) == []
    assert findings(msgspec.structs.replace(draw, signature=None)) == [
        "signature: the payment run is signed, its draw is not"]
    mallory = private_key_bytes((keyed.tmp / "mallory.pem").read_bytes())[0]
    forged = msgspec.structs.replace(draw, signature=sign_bytes(
        mallory, codec.signed_bytes(draw)))
    assert findings(forged) == [
        f"signature: the signature does not verify (key {kim_id} of actor 'kim')"]


def test_every_reader_of_the_whole_ledger_knows_the_registry(keyed: Ledger) -> None:
    """The feed, the audit log and trail, an evidence pack read back, the projections
    rebuilt and as of a past position all name the registry's events."""
    feed = [json.loads(line) for line in keyed.ok(None, None, "events").splitlines()]
    assert [(f["contract"], f["type"]) for f in feed] == [
        ("registry:actors", "ActorsRegistered"), ("FCF", "ProgrammeAgreed")]
    log = json.loads(keyed.ok(None, None, "audit", "log", "--format", "json"))
    assert log[0]["what"] == ("actor registry set to 2 actor(s): ada (administrator), "
                              "cora (commissioner)")
    assert json.loads(keyed.ok(None, None, "audit", "log", "--type", "ActorsRegistered",
                               "--format", "json"))[0]["position"] == 1
    trail = keyed.backend.sql("SELECT position, contract, type FROM proj_audit_trail "
                              "ORDER BY position")
    assert trail == [(1, "registry:actors", "ActorsRegistered"), (2, "FCF",
                                                                  "ProgrammeAgreed")]
    pack = keyed.tmp / "pack.ndjson"
    keyed.ok(None, None, "audit", "export", "--output", str(pack))
    assert json.loads(pack.read_text().splitlines()[0])["contracts"] == [
        "programme:FCF", "registry:actors"]
    keyed.ok(None, None, "audit", "replay", str(pack))
    keyed.ok(None, None, "replay")
    keyed.ok(None, None, "replay", "--as-of", "1")
    # As of a time: the registry's stream cut as a contract's is (by its events' times).
    at = feed[0]["recorded_at"]
    keyed.ok(None, None, "replay", "--as-of", at)
    assert keyed.ok(None, None, "audit", "verify", "--full")


def test_a_parallel_rebuild_leaves_the_registry_to_the_main_process(keyed: Ledger) -> None:
    """A parallel rebuild's workers take the streams ``source.streams`` lists (contracts)
    and the main process those ``source.others`` gives: the registry's stream is one of
    the latter (never a contract's for a worker to fold), and together they are every
    stored event, each once."""
    keyed.ok("cora", "cora", "programme", "vary", "FCF",
             keyed.file("v.toml", 'budget = "20000"\n'), "--effective", "2021-04-01",
             "--reason", "more")
    with closing(keyed.backend.connect()) as conn:
        upto = source.head(conn)
        listed = [s for s, _first, _count in source.streams(conn, upto)]
        others = [(e[0], e[3]) for page in source.others(conn, upto) for e in page]
    assert listed == []  # a registry and a programme: no contract stream
    assert sorted(others) == [(1, "ActorsRegistered/1"), (2, "ProgrammeAgreed/1"),
                              (3, "ProgrammeVaried/1")]
