"""Properties of the projector over random contract histories.

* Catching up after any prefix of the history, in batches of any size, then after the
  rest, leaves exactly the tables a full replay builds (on SQLite and PostgreSQL).
* The projector's whole-stream fold, and the decider's in-place fold, build exactly the
  state ``state.evolve`` builds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import closing, suppress
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends import Server
from conftest import ACTOR, T0, fig, terms
from outcomeledger.domain import codec
from outcomeledger.domain.commands import (
    AdjustReward,
    AgreeContract,
    CertifyPayment,
    CloseContract,
    Command,
    Meta,
    RejectReturn,
    SubmitReturn,
    ValidateReturn,
    VaryContract,
)
from outcomeledger.domain.contract.state import ContractState, evolve_owned, fold, fold_events
from outcomeledger.domain.errors import LedgerError
from outcomeledger.domain.terms import OutcomeChange, Variation
from outcomeledger.projections import Cutoff, catch_up, dump, in_memory, rebuild
from outcomeledger.storage.store import Ledger

REFS = ("C-A", "C-B")
PERIODS = ("FY2025-Q1", "FY2025-Q2", "FY2025-Q3", "FY2025-Q4", "FY2026-Q1", "FY2026-Q2")
STARTS = (date(2025, 7, 1), date(2025, 10, 1), date(2026, 1, 1))
money = st.decimals(min_value=-5000, max_value=5000, places=2, allow_nan=False,
                    allow_infinity=False).filter(lambda d: d != 0)
counts = st.integers(min_value=0, max_value=40)


def _agree(ref: str, cap: int | None, retention: bool) -> Command:
    return AgreeContract(terms(reference=ref,
                               max_value=None if cap is None else Decimal(cap),
                               retention=Decimal("0.05") if retention else None))


def _return(period: str, provider: str, a: int, b: int, restate: bool) -> Command:
    return SubmitReturn(period, provider, (fig("O1", a), fig("O2", b)), restate=restate,
                        reason="corrected" if restate else "")


# Few (period, provider) keys, so returns often meet earlier ones: restatements.
returns = st.builds(_return, st.sampled_from(PERIODS[:3]), st.sampled_from(("", "P1")),
                    counts, counts, st.booleans())
variations = st.builds(lambda start, price: VaryContract(
    Variation(outcomes=(OutcomeChange(code="O1", price=Decimal(price)),)), start,
    "re-priced"), st.sampled_from(STARTS), st.integers(1, 500))
# Weighted by repetition (one_of would merge repeats): returns are most of a history.
commands = st.sampled_from([
    returns, returns, returns, returns, returns, returns,
    st.builds(_agree, st.sampled_from(REFS), st.none() | st.integers(500, 20_000),
              st.booleans()),
    st.builds(lambda p, amount, kind: AdjustReward(p, kind, amount, "adjusted"),
              st.sampled_from(PERIODS), money,
              st.sampled_from(("bonus", "recovery", "service_credit"))),
    variations, variations,
    st.builds(CertifyPayment, st.sampled_from(PERIODS)),
    st.builds(CertifyPayment, st.sampled_from(PERIODS)),
    st.builds(ValidateReturn, st.sampled_from(PERIODS[:3]),
              st.sampled_from(("", "P1"))),
    st.builds(lambda p, prov: RejectReturn(p, prov, "evidence missing"),
              st.sampled_from(PERIODS[:3]), st.sampled_from(("", "P1"))),
]).flatmap(lambda strategy: strategy)
# Every history agrees both contracts first (so most commands are accepted) and may
# end with a closure (which refuses everything after it but payment runs).
# Every history starts by agreeing both contracts, so most later commands are accepted.
histories = st.builds(
    lambda rest, closing_ref: [(ref, AgreeContract(terms(reference=ref))) for ref in REFS]
    + rest + ([] if closing_ref is None else [
        (closing_ref, CloseContract(date(2027, 3, 31), "ended")),
        (closing_ref, CertifyPayment("FY2026-Q4"))]),
    st.lists(st.tuples(st.sampled_from(REFS), commands), min_size=1, max_size=16),
    st.none() | st.sampled_from(REFS))


def _write(ledger: Ledger, history: list[tuple[str, Command]]) -> Iterator[int]:
    """Execute each command (refusals write nothing); yields the step number after each."""
    for step, (ref, command) in enumerate(history):
        with suppress(LedgerError):
            ledger.execute(ref, command, Meta(T0 + timedelta(hours=step), ACTOR))
        yield step


def _catch_up_after_any_prefix(url: str, history: list[tuple[str, Command]],
                               checkpoints: set[int], batch: int) -> None:
    with Ledger.open(url, create=True) as ledger, closing(ledger.connect()) as conn:
        ledger.project_on_write = False
        for step in _write(ledger, history):
            if step in checkpoints:
                done = catch_up(conn, batch=batch)
                assert done.position == ledger.max_position()
                with closing(in_memory(conn, Cutoff(done.position))) as replayed:
                    assert list(dump(conn)) == list(dump(replayed))
        catch_up(conn, batch=batch)
        live = list(dump(conn))
        rebuild(conn)
        assert list(dump(conn)) == live


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories, checkpoints=st.sets(st.integers(0, 19)),
       batch=st.integers(1, 5))
def test_catch_up_after_any_prefix_equals_a_full_replay(
        history: list[tuple[str, Command]], checkpoints: set[int], batch: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _catch_up_after_any_prefix(str(Path(tmp) / "l.db"), history, checkpoints, batch)


@pytest.mark.postgresql
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories, checkpoints=st.sets(st.integers(0, 19)),
       batch=st.integers(1, 5))
def test_catch_up_after_any_prefix_equals_a_full_replay_on_postgresql(
        pg_server: Server, history: list[tuple[str, Command]], checkpoints: set[int],
        batch: int) -> None:
    # Fewer examples than on SQLite: each needs a database of its own.
    db = pg_server.create()
    try:
        _catch_up_after_any_prefix(db.url, history, checkpoints, batch)
    finally:
        pg_server.release(db)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories)
def test_projector_fold_equals_evolve(history: list[tuple[str, Command]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            Ledger.open(str(Path(tmp) / "l.db"), create=True) as ledger:
        ledger.project_on_write = False
        for _ in _write(ledger, history):
            pass
        for ref in REFS:
            stream = ledger.stream(ref)
            assert fold_events(ref, [e for e, _ in stream], stream[-1][1]) == fold(ref, stream)
            owned = ContractState(ref)
            for event, digest in stream:
                owned = evolve_owned(owned, event, digest)
            assert owned == fold(ref, stream)
            assert all(h == codec.event_hash(codec.encode(e)) for e, h in stream)
