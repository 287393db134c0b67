"""The fast paths of bench/ give exactly the answers of the straightforward ones.

* ``audit verify`` split over processes finds the same mismatches, in the same order,
  and the same head as one verifier fed every event in order; so does the raw-row
  path against the one-event-at-a-time ``ChainVerifier.add``.
* The report's ledger head, read from each stream's latest event by index seeks, is the
  head a walk over every event computes.
* The terms in force, cached per state, are the agreed terms varied in order.
* A rebuild split over worker processes writes exactly the tables one process writes.
* Schedules recomputed from the period of a changed figure on are full recomputations.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends import Db
from conftest import D, agreed, apply, fig, submit, tally, terms
from conftest import outcome as priced
from outcomeledger.app.demo import build_demo
from outcomeledger.app.ledger import open_ledger
from outcomeledger.app.replay import stored_batches, verify_ledger
from outcomeledger.app.report_source import Source
from outcomeledger.domain.payments.mechanism import compute, compute_changed
from outcomeledger.domain.payments.running import Running
from outcomeledger.domain.payments.schedule import OutcomeLine, PeriodPayment
from outcomeledger.domain.payments.steps import apply_contract_cap
from outcomeledger.domain.variations import apply_variation
from outcomeledger.projections import PROJECTIONS, dump, projector, rebuild, source
from outcomeledger.projections.parallel import rebuild_tables
from outcomeledger.storage.chain import ChainVerifier
from outcomeledger.storage.verification import verify, verify_sqlite


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    with open_ledger(str(path), create=True) as ledger:
        build_demo(ledger)
    return path


def sql(path: Path, statement: str, *params: object) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(statement, params).fetchall()
        conn.commit()
    return rows


def one_by_one(path: Path) -> ChainVerifier:
    """The reference: every event through ``add``, in global order."""
    verifier = ChainVerifier(full_decode=False)
    for position, stream, version, topic, state in sql(
            path, "SELECT rowid, originator_id, originator_version, topic, state FROM "
            "stored_events ORDER BY rowid"):
        verifier.add(int(position), UUID(str(stream)), int(version), str(topic),
                     bytes(state))
    verifier.check_heads()
    return verifier


def outcome(v: ChainVerifier) -> tuple[list[str], str, int, int]:
    return [str(m) for m in v.mismatches], str(v.head()), v.count, len(v.streams)


def tamper(path: Path, how: str) -> None:
    if how == "edit":
        (state,) = sql(path, "SELECT state FROM stored_events WHERE rowid = 5")[0]
        assert isinstance(state, bytes)
        sql(path, "UPDATE stored_events SET state = ? WHERE rowid = 5",
            state.replace(b'"recorded_by":"', b'"recorded_by":"X'))
    elif how == "delete":
        sql(path, "DELETE FROM stored_events WHERE rowid IN (7, 30)")
    elif how == "move":
        (other,) = sql(path, "SELECT originator_id FROM stored_events WHERE rowid = 13")[0]
        sql(path, "UPDATE stored_events SET originator_id = ?, originator_version = 99 "
            "WHERE rowid = 2", other)
    elif how == "utf8":  # a byte that is not UTF-8, inside a string of a middle event
        (state,) = sql(path, "SELECT state FROM stored_events WHERE rowid = 4")[0]
        assert isinstance(state, bytes)
        sql(path, "UPDATE stored_events SET state = ? WHERE rowid = 4",
            state.replace(b'"contract":"', b'"contract":"\xff'))
    elif how == "garble":
        sql(path, "UPDATE stored_events SET state = ? WHERE rowid = 21", b"{not json")
    elif how == "head":  # the last event of a stream: only the canonical check sees it
        (last,) = sql(path, "SELECT MAX(rowid) FROM stored_events")[0]
        (state,) = sql(path, "SELECT state FROM stored_events WHERE rowid = ?", last)[0]
        assert isinstance(state, bytes)
        sql(path, "UPDATE stored_events SET state = ? WHERE rowid = ?", b" " + state, last)


@pytest.mark.parametrize("how", ["none", "edit", "utf8", "delete", "move", "garble", "head"])
def test_verification_split_over_processes_equals_one_pass(ledger_path: Path,
                                                           how: str) -> None:
    tamper(ledger_path, how)
    expected = one_by_one(ledger_path)
    assert (how == "none") == (not expected.mismatches)
    (upto,) = sql(ledger_path, "SELECT MAX(rowid) FROM stored_events")[0]
    assert isinstance(upto, int)
    split = verify_sqlite(str(ledger_path), upto, workers=3)
    assert outcome(split) == outcome(expected)
    with open_ledger(str(ledger_path)) as ledger:
        assert outcome(verify(stored_batches(ledger, size=4))) == outcome(expected)
        assert outcome(verify_ledger(ledger, workers=2)) == outcome(expected)


def test_the_reports_ledger_head_is_the_walked_head(ledger_path: Path) -> None:
    with open_ledger(str(ledger_path)) as ledger:
        fast = Source.open(ledger, None).head()
        walked = ChainVerifier(full_decode=False)
        for rows in stored_batches(ledger):
            walked.add_rows(rows)
    assert fast == walked.head()
    assert fast.streams == 7  # six contracts and a programme


def test_terms_in_force_are_the_agreed_terms_varied_in_order(ledger_path: Path) -> None:
    with open_ledger(str(ledger_path)) as ledger:
        varied = [s for s in map(ledger.get, ledger.references()) if s.variations]
        assert len(varied) >= 4  # the demo's contracts with variations (NHF-SCH-2022 has none)
        for state in varied:
            for day in (date(2010, 1, 1), date(2014, 4, 1), date(2019, 1, 1),
                        date(2020, 4, 1), date(2030, 1, 1)):
                terms = state.base_terms
                for v in state.ordered_variations:
                    if v.effective_from <= day:
                        terms = apply_variation(terms, v.variation)
                assert state.terms_on(day) == terms


@pytest.fixture
def demo_db(ledger_db: Db) -> Db:
    """The demo ledger, on each backend."""
    with open_ledger(ledger_db.url, create=True) as ledger:
        build_demo(ledger)
    return ledger_db


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_a_rebuild_split_over_processes_writes_the_same_tables(
        demo_db: Db, workers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # On PostgreSQL the workers connect with the parameters of the rebuild's connection
    # (seen failing there when the rebuild was left to one process).
    with open_ledger(demo_db.url) as ledger, closing(ledger.connect()) as conn:
        monkeypatch.setenv("OUTCOMELEDGER_REPLAY_WORKERS", "0")
        rebuild(conn)
        one_process = list(dump(conn))
        monkeypatch.setenv("OUTCOMELEDGER_REPLAY_WORKERS", str(workers))

        def one_process_build(*args: object, **kwargs: object) -> int:
            raise AssertionError("rebuilt in one process, not split over workers")

        monkeypatch.setattr(projector, "build", one_process_build)
        steps: list[int] = []
        done = rebuild(conn, progress=steps.append)
        assert list(dump(conn)) == one_process
    assert done.events == 125
    # Every event counted twice, as `replay`'s progress bar expects (2 x the events).
    assert sum(steps) == 2 * 125


def test_the_workers_streams_and_the_other_events_hold_every_event_once(
        ledger_path: Path) -> None:
    """A parallel rebuild's shares: the workers' streams (every event of each) and the
    main process's other events are together every stored event, each once."""
    with open_ledger(str(ledger_path)) as ledger, closing(ledger.connect()) as conn:
        upto = ledger.max_position()
        positions = [p for s, _first, _count in source.streams(conn, upto)
                     for p, _version, _topic, _state in source.stream_rows(conn, s, upto)]
        others = [e[0] for page in source.others(conn, upto) for e in page]
    assert others  # the demo's programme
    assert sorted(positions + others) == list(range(1, upto + 1))


def test_a_failed_worker_fails_the_rebuild_before_any_swap(demo_db: Db) -> None:
    contract_models = [p for p in PROJECTIONS if p.scope == "contract"]
    with open_ledger(demo_db.url) as ledger, closing(ledger.connect()) as conn, \
            pytest.raises(RuntimeError, match=r"(?s)replay worker failed.*"
                                              r"(no such table|__nowhere\" does not exist)"):
        rebuild_tables(conn, 38, "__nowhere", contract_models, workers=2)


def test_a_schedule_with_one_figure_changed_is_computed_from_that_period_on(
        ledger_path: Path) -> None:
    """compute_changed shares the periods before each figure's period: the result is still
    exactly compute() of the state holding the other value."""
    with open_ledger(str(ledger_path)) as ledger:
        for ref in ledger.references():
            state = ledger.get(ref)
            changes = []
            expected = []
            for key in list(state.figures)[::2]:
                record = state.figures[key]
                for value in (Decimal(0), record.value + 5, Decimal("2.50"), record.value):
                    figures = dict(state.figures)
                    figures[key] = msgspec.structs.replace(
                        record, figure=msgspec.structs.replace(record.figure, value=value))
                    changes.append((key, value))
                    expected.append(compute(replace(state, figures=figures)))
            assert compute_changed(state, changes) == (compute(state), expected), ref
            unchanged, amounts_only = compute_changed(state, changes, explain=False)
            assert unchanged == compute(state, explain=False)
            for got, want in zip(amounts_only, expected, strict=True):
                assert [amounts(p) for p in got.periods] == [amounts(p) for p in want.periods]


def amounts(p: PeriodPayment) -> tuple[object, ...]:
    return (p.period, p.earned, p.above_cap, p.adjustments, p.fees, p.retained, p.payable,
            p.cumulative_payable, p.certified, p.true_up, p.other,
            [(line.outcome, line.units, line.paid_units, line.earned, line.above_cap,
              line.payable, [s for s in line.steps if s.label not in ("units", "earned")])
             for line in p.lines])


@pytest.fixture(scope="module")
def demo_rows(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[int, str, int, str, bytes]]:
    path = tmp_path_factory.mktemp("chain") / "ledger.db"
    with open_ledger(str(path), create=True) as ledger:
        build_demo(ledger)
    return [(int(p), str(s), int(v), str(t), bytes(b))
            for p, s, v, t, b in sql(path, "SELECT rowid, originator_id, originator_version, "
                                           "topic, state FROM stored_events ORDER BY rowid")]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_changed_byte_of_any_event_is_caught_by_the_fast_path(
        demo_rows: list[tuple[int, str, int, str, bytes]], data: st.DataObject) -> None:
    """The chain's fast path (substring checks instead of a parse) misses nothing: change
    one byte anywhere in any event and verification reports that event or the next one of
    its stream (whose prev_hash no longer matches); a stream's latest event, which no later
    event vouches for, is caught by the ledger head instead when the edit still parses."""
    at = data.draw(st.integers(0, len(demo_rows) - 1), label="event")
    position, stream, version, topic, state = demo_rows[at]
    offset = data.draw(st.integers(0, len(state) - 1), label="byte")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != state[offset]), label="value")
    edited = state[:offset] + bytes([byte]) + state[offset + 1:]
    rows = [*demo_rows[:at], (position, stream, version, topic, edited), *demo_rows[at + 1:]]
    found = verify([rows[:at + 1], rows[at + 1:]])
    later = [p for p, s, *_ in demo_rows[at + 1:] if s == stream]
    if later or found.mismatches:
        assert found.mismatches
        assert found.mismatches[0].position in {position, *later[:1]}
    else:
        assert found.head() != verify([demo_rows]).head()


QUARTERS = [f"FY{year}-Q{q}" for year in (2025, 2026) for q in (1, 2, 3, 4)]


@st.composite
def mixed_contracts(draw: st.DrawFn) -> Any:
    """A contract whose outcomes are plain (one price, nothing else) or not (a cap, a
    threshold, tiers, deadweight), with a random history of returns, some restated."""
    prices = st.decimals(min_value=0, max_value=5000, places=4, allow_nan=False,
                         allow_infinity=False)
    outcomes = []
    for i in range(draw(st.integers(1, 4))):
        extra = draw(st.sampled_from([{}, {}, {"cap_units": D(40)},
                                      {"threshold": D(3)}, {"deadweight": D("0.25")},
                                      {"cap_value": D(900)}]))
        outcomes.append(priced(f"O{i}", price=draw(prices), **extra))
    state = agreed(outcomes=tuple(outcomes), currency=draw(st.sampled_from(["GBP", "JPY"])),
                   max_value=draw(st.none() | st.integers(0, 50_000).map(D)),
                   retention=draw(st.none() | st.decimals(0, 1, places=2)),
                   participant_cap=draw(st.sampled_from([None, None, D(500)])))
    values = st.integers(0, 60)
    commands: list[Any] = []
    for period in draw(st.lists(st.sampled_from(QUARTERS), max_size=5, unique=True)):
        commands.append(tally(period, **{o.code: draw(values) for o in outcomes}))
        if draw(st.booleans()):
            commands.append(submit(period, *(fig(o.code, draw(values)) for o in outcomes),
                                   restate=True, reason="corrected"))
    return apply(state, *commands)


@settings(max_examples=200, deadline=None)
@given(mixed_contracts())
def test_the_plain_line_fast_path_computes_what_the_steps_compute(state: Any) -> None:
    """Unexplained schedules take plain.plain_line for plain outcomes; explained ones go
    through every step. Their amounts are the same Decimals, exponent and all."""
    fast = compute(state, explain=False)
    steps = compute(state, explain=True)
    assert repr([amounts(p) for p in fast.periods]) == repr(
        [amounts(p) for p in steps.periods])


def clipped_line_by_line(payables: list[Decimal], before: Decimal, cap: Decimal | None
                         ) -> tuple[list[Decimal], Decimal]:
    """The contract cap as DESIGN 5 states it: each line, in order, allowed what lies
    within the cap of the running total's move."""
    allowed, total = [], before
    for payable in payables:
        after = total + payable
        allowed.append(after - total if cap is None else min(after, cap) - min(total, cap))
        total = after
    return allowed, total


@settings(max_examples=300, deadline=None)
@given(payables=st.lists(st.decimals(-500, 2000, places=2), max_size=6),
       before=st.decimals(0, 3000, places=2),
       cap=st.none() | st.decimals(0, 5000, places=1))
def test_the_contract_cap_skips_the_clip_only_where_no_line_reaches_it(
        payables: list[Decimal], before: Decimal, cap: Decimal | None) -> None:
    lines = [OutcomeLine(f"O{i}", "o", D(1), D(1), p, D(0), p, ())
             for i, p in enumerate(payables)]
    run = Running(contract=before)
    got = apply_contract_cap(lines, terms(max_value=cap), run)
    allowed, total = clipped_line_by_line(payables, before, cap)
    assert [line.payable for line in got] == allowed
    assert repr(run.contract) == repr(total)
