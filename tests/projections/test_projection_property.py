"""Properties of the projector over random contract histories.

* Catching up after any prefix of the history, in batches of any size, then after the
  rest, leaves exactly the tables a full replay builds (on SQLite and PostgreSQL).
* The projector's whole-stream fold, and the decider's in-place fold, build exactly the
  state ``state.evolve`` builds.
"""

from __future__ import annotations

import tempfile
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends import Server
from histories import REFS, _write, histories
from outcomeledger.app.ledger import open_ledger
from outcomeledger.domain import codec
from outcomeledger.domain.commands import (
    Command,
)
from outcomeledger.domain.contract.state import (
    ContractState,
    InPlace,
    evolve,
    evolve_owned,
    fold,
    fold_events,
)
from outcomeledger.projections import Cutoff, catch_up, dump, in_memory, rebuild


def _catch_up_after_any_prefix(url: str, history: list[tuple[str, Command]],
                               checkpoints: set[int], batch: int) -> None:
    with open_ledger(url, create=True) as ledger, closing(ledger.connect()) as conn:
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
            open_ledger(str(Path(tmp) / "l.db"), create=True) as ledger:
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
            # One accumulator kept over the whole stream (a verifier's): equal after each event.
            in_place, built = InPlace(ContractState(ref)), ContractState(ref)
            for event, digest in stream:
                built = evolve(built, event, digest)
                assert in_place.add(event, digest) == built
            assert all(h == codec.event_hash(codec.encode(e)) for e, h in stream)
