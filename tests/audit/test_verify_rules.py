"""``audit verify`` checks validity, not only integrity, and never crashes on what it finds.

Tamper cases (raw SQL on SQLite and PostgreSQL): events forged with the right
``prev_hash`` and the next version, which every hash chain accepts, are refused by the
rules decided again; an event whose topic or bytes were replaced is a finding naming its
position, not a traceback; a dropped ``tracking`` table and projections left behind are
findings; and a write that adds nothing still catches lagging projections up. The pure
checker (:mod:`outcomeledger.domain.contract.validity`) and the incremental payable it
certifies with are checked against the decider and ``compute`` over random histories.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings

from backends import Db
from conftest import ACTOR, T0, fig, meta, terms
from histories import REFS, _write, histories
from outcomeledger.app import services as service
from outcomeledger.app.demo import _path, build_gm, build_pb
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.domain import codec
from outcomeledger.domain.commands import AgreeContract, CertifyPayment, Command, SubmitReturn
from outcomeledger.domain.contract.decide import decide
from outcomeledger.domain.contract.state import ContractState, evolve_owned
from outcomeledger.domain.contract.validity import StreamRules
from outcomeledger.domain.events import (
    AnyEvent,
    Figure,
    PaymentCertified,
    ReturnSubmitted,
    Source,
)
from outcomeledger.domain.payments.cumulative import Cumulative, cumulative_through
from outcomeledger.domain.payments.mechanism import compute
from outcomeledger.domain.signing import (
    RETURN_SCHEME_DIGEST,
    load_private_key,
    new_private_key_pem,
    sign_digest,
)
from outcomeledger.domain.terms import Actor, Provider
from outcomeledger.storage.application import stream_id

PB = "PB-SIB-2010"


@pytest.fixture
def db(ledger_db: Db) -> Db:
    with open_ledger(ledger_db.url, create=True) as ledger:
        build_gm(ledger)
        build_pb(ledger)
    return ledger_db


def invoke(db: Db, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["--db", db.url, *args])
    # Exit 1 by ``sys.exit`` after a report, never by an exception escaping.
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception)
    assert "Traceback" not in result.stderr
    return result


def sql(db: Db, statement: str, *params: object) -> list[tuple[object, ...]]:
    return db.sql(statement.replace("EVENTS", db.events).replace("POSITION", db.position),
                  *params)


def forge(db: Db, make: type[AnyEvent], **fields: object) -> str:
    """Append, by plain SQL, an event of PB-SIB-2010 chained exactly as the ledger would
    chain it (its prev_hash, the next version): the forgery a writer login can make.
    Where it is, as findings name it: ``position P vV``."""
    stream = stream_id(PB)
    key: object = stream.hex if db.backend == "sqlite" else stream
    ((version, last),) = sql(db, "SELECT originator_version, state FROM EVENTS WHERE "
                             "originator_id = ? ORDER BY originator_version DESC LIMIT 1",
                             key)
    assert isinstance(last, bytes)
    assert isinstance(version, int)
    event = make(contract=PB, prev_hash=codec.event_hash(last), **fields)  # type: ignore[arg-type]
    sql(db, "INSERT INTO EVENTS (originator_id, originator_version, topic, state) "
        "VALUES (?, ?, ?, ?)", key, version + 1, codec.topic(event), codec.encode(event))
    ((position,),) = sql(db, "SELECT MAX(POSITION) FROM EVENTS")
    return f"position {position} v{version + 1}"


def head(db: Db) -> str:
    result = invoke(db, "audit", "head")
    assert result.exit_code == 0
    return result.stdout.strip()


def findings(db: Db, *args: str) -> list[str]:
    result = invoke(db, "audit", "verify", "--format", "json", *args)
    report = json.loads(result.stdout)
    assert result.exit_code == (1 if report["mismatches"] else 0)
    mismatches: list[str] = report["mismatches"]
    return mismatches


# -- validity: forgeries every hash chain accepts ----------------------------------------

def test_a_forged_negative_return_by_an_unknown_actor_is_refused_by_the_rules(
        db: Db) -> None:
    """The issue's forgery: a ReturnSubmitted of -1,000,000 by "comm", chained."""
    published = head(db)
    position = forge(db, ReturnSubmitted, recorded_at=datetime(2018, 1, 5, tzinfo=UTC),
                     recorded_by="comm", reason="return submitted", period="FY2017-Q2",
                     figures=(Figure(outcome="C1", value=Decimal("-1000000")),))
    assert invoke(db, "project").exit_code == 0  # the tables show it, as in the issue
    for flags in ((), ("--full",), ("--head", published)):
        found = [f for f in findings(db, *flags) if f.startswith("rule:")]
        assert found == [f"rule: {PB} {position}: ReturnSubmitted: value: "
                         "negative (got -1000000, expected 0 or more)"], flags
    # What integrity alone says: every chain intact, every table what the events give.
    assert findings(db, "--no-rules") == []


def test_a_forged_payment_run_is_refused_by_the_rules(db: Db) -> None:
    position = forge(db, PaymentCertified, recorded_at=datetime(2018, 1, 5, tzinfo=UTC),
                     recorded_by="commissioner:reducing-reoffending@justice.gov.uk",
                     reason="payment run", period="FY2017-Q2", amount=Decimal("400000000"),
                     cumulative_payable=Decimal("401206900"), true_up=Decimal(0))
    invoke(db, "project")
    assert [f for f in findings(db) if f.startswith("rule:")] == [
        f"rule: {PB} {position}: PaymentCertified: FY2017-Q2 is already certified and "
        "nothing has changed since"]


def test_an_untouched_demo_ledger_obeys_every_rule(db: Db) -> None:
    result = invoke(db, "audit", "verify")
    assert result.exit_code == 0, result.stdout
    assert "every event is one the rules would have recorded" in result.stderr


# -- the verifier never crashes on what it exists to find ----------------------------------

def test_an_event_stored_under_an_unknown_topic_is_a_finding(db: Db) -> None:
    sql(db, "UPDATE EVENTS SET topic = 'PaymentCertified/2' WHERE POSITION = 4")
    found = findings(db)
    assert any(f.startswith("rule: GMHP-2017 position 4 v4: PaymentCertified/2: does not "
                            "decode (unknown event topic 'PaymentCertified/2')")
               for f in found), found
    # Without the rules, the read models that cannot be replayed say so.
    assert any("its event at position 4 does not decode" in f
               for f in findings(db, "--no-rules"))


def test_an_event_whose_bytes_are_garbage_is_a_finding(db: Db) -> None:
    sql(db, "UPDATE EVENTS SET state = ? WHERE POSITION = 15", b"\x00\xffnot an event")
    found = findings(db)
    assert any("position 15" in f and "does not decode" in f for f in found), found
    assert any("position 15" in f and "stored bytes do not parse" in f for f in found)


def test_a_dropped_tracking_table_is_a_finding_and_stays_dropped(db: Db) -> None:
    db.sql("DROP TABLE tracking")
    assert "projection: projection tables missing: tracking (rebuild them with " \
           "`outcomeledger replay`)" in findings(db)
    assert "tracking" not in db.tables()  # verify reads; it never creates


@pytest.mark.parametrize("how", ["DROP TABLE tracking", "DELETE FROM tracking"])
def test_project_rebuilds_read_models_whose_tracking_was_lost(db: Db, how: str) -> None:
    """Rows at no known position are rebuilt, not inserted again from position 0 (which
    failed on a UNIQUE constraint); verify then finds nothing."""
    db.sql(how)
    result = invoke(db, "project")
    assert result.exit_code == 0, result.stderr
    assert findings(db) == []


def test_projections_left_behind_are_a_finding_and_a_no_op_write_catches_them_up(
        db: Db, tmp_path: Path) -> None:
    with open_ledger(db.url) as ledger:
        ledger.project_on_write = False  # as a write killed before its catch-up leaves it
        service.agree(ledger, _path("enf.toml"),
                      meta(datetime(2018, 6, 20, 10, tzinfo=UTC)))
        service.import_returns(ledger, [str(_path("enf_FY2018-Q2.csv"))],
                               meta(datetime(2018, 10, 12, 9, tzinfo=UTC)))
    found = findings(db)
    assert any(f.startswith("projection: projection proj_payments is at position 18 but "
                            "the ledger at 21: 3 event(s) not projected") for f in found), found
    # The same file again: nothing new is recorded, but the write still catches up.
    result = invoke(db, "returns", "import", str(_path("enf_FY2018-Q2.csv")))
    assert result.exit_code == 0, result.stderr
    assert findings(db) == []


# -- the pure checker -----------------------------------------------------------------------

def _checked(events: list[AnyEvent]) -> list[str]:
    checker = StreamRules()
    for version, event in enumerate(events, 1):
        data = codec.encode(event)
        checker.add(version, version, codec.topic(event), data)
    return [v.rule for v in checker.violations]


def _decided(commands: list[Command], by: str = ACTOR) -> list[AnyEvent]:
    state = ContractState("C-TEST")
    events: list[AnyEvent] = []
    for n, command in enumerate(commands):
        for event in decide(state, command, meta(T0 + timedelta(days=n), by)).events:
            events.append(event)
            state = evolve_owned(state, event, "")
    return events


def test_an_event_by_an_actor_without_the_role_is_refused() -> None:
    agreed = terms(actors=(Actor("boss", "commissioner"), Actor("p1", "provider", "P1")))
    events = _decided([AgreeContract(agreed)], by="boss")
    forged = ReturnSubmitted(contract="C-TEST", recorded_at=T0, recorded_by="p1",
                             reason="return submitted", period="FY2025-Q1", provider="P2",
                             figures=(fig("O1", 3),))
    (rule,) = _checked([*events, forged])
    assert rule == "actor 'p1' may not submit returns for provider 'P2' on contract C-TEST"


def test_a_signed_return_whose_signature_does_not_verify_is_refused() -> None:
    """A return recorded under signature scheme 1 (the file's SHA-256 alone, before
    scheme 2) still verifies; altered, it does not."""
    pem, public = new_private_key_pem()
    agreed = terms(signed_returns=True, providers=(Provider("P1", "One", public_key=public),))
    digest = "ab" * 32
    signed = Source(file="q1.csv", sha256=digest,
                    signature=sign_digest(load_private_key(pem), digest))
    events = _decided([AgreeContract(agreed),
                       SubmitReturn("FY2025-Q1", "P1", (fig("O1", 3),), signed,
                                    signature_scheme=RETURN_SCHEME_DIGEST)])
    assert _checked(events) == []
    assert isinstance(events[1], ReturnSubmitted)
    forged = msgspec.structs.replace(events[1], source=replace_sha(signed, "cd" * 32))
    (rule,) = _checked([events[0], forged])
    assert rule.startswith("signature: the signature does not match the file")


def replace_sha(source: Source, sha256: str) -> Source:
    return msgspec.structs.replace(source, sha256=sha256)


def test_a_return_the_rules_would_have_flagged_late_must_say_so() -> None:
    events = _decided([AgreeContract(terms())])
    hidden = ReturnSubmitted(contract="C-TEST", recorded_at=datetime(2026, 1, 5, tzinfo=UTC),
                             recorded_by=ACTOR, reason="return submitted", period="FY2025-Q1",
                             figures=(fig("O1", 3),))
    assert _checked([*events, hidden]) == ["late is false, the rules record true"]


def test_a_payment_run_must_certify_what_the_arithmetic_gives() -> None:
    events = _decided([AgreeContract(terms()), SubmitReturn("FY2025-Q1", "", (fig("O1", 3),)),
                       CertifyPayment("FY2025-Q1")])
    assert _checked(events) == []
    run = events[-1]
    assert isinstance(run, PaymentCertified)
    assert run.amount == Decimal("300.00")
    forged = msgspec.structs.replace(run, amount=Decimal("300000.00"),
                                     cumulative_payable=Decimal("300000.00"))
    assert _checked([*events[:-1], forged]) == [
        'amount is "300000.00", the rules record "300.00"; cumulative_payable is '
        '"300000.00", the rules record "300.00"']


def test_a_refused_event_is_one_finding_and_the_later_events_are_still_judged() -> None:
    """A forged period the payment arithmetic cannot place does not stop the checker:
    the next event is judged (here, refused for its own reason)."""
    events = _decided([AgreeContract(terms())])
    forged = [ReturnSubmitted(contract="C-TEST", recorded_at=T0, recorded_by=ACTOR,
                              reason="return submitted", period=period,
                              figures=(fig("O1", value),))
              for period, value in (("FY2025-Q9", 3), ("FY2025-Q1", -2))]
    found = _checked([*events, *forged])
    assert len(found) == 2, found
    assert found[0].startswith("period: ")
    assert found[1] == "value: negative (got -2, expected 0 or more)"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories)
def test_every_history_the_decider_writes_obeys_the_rules_and_the_payable_agrees(
        history: list[tuple[str, Command]]) -> None:
    """Whatever the decider accepted is accepted again, event by event; and the payable
    the checker carries on from run to run is ``compute``'s, after every event."""
    with tempfile.TemporaryDirectory() as tmp, \
            open_ledger(str(Path(tmp) / "l.db"), create=True) as ledger:
        ledger.project_on_write = False
        for _ in _write(ledger, history):
            pass
        for ref in REFS:
            checker = StreamRules()
            payable = Cumulative()
            state = ContractState(ref)
            for version, (event, _digest) in enumerate(ledger.stream(ref), 1):
                checker.add(version, version, codec.topic(event), codec.encode(event))
                state = evolve_owned(state, event, "")
                payable.follow(state, event)
                schedule = compute(state)
                for period in {state.period(pp.period) for pp in schedule.periods}:
                    assert payable(state, period) == cumulative_through(
                        schedule, period, state)
            assert checker.violations == []

