"""Micro-benchmarks of the hot paths (pytest-benchmark), on one synthetic contract.

    .venv/bin/python -m pytest bench/test_micro.py --benchmark-enable

Out of the default test run (pyproject: ``testpaths = ["tests"]``, and benchmarks are
disabled unless asked for). The data is one contract of ``bench/synthetic.py``: about
1,000 events over 47 quarters (20 outcomes, 10 providers), as every contract of the
1,000,000-event ledger; the CSV is the import benchmark's. Each benchmark asserts what
it computed, so a fast wrong answer fails.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import synthetic
from outcomeledger.domain import codec
from outcomeledger.domain.contract.state import ContractState, evolve, fold, fold_events
from outcomeledger.domain.events import AnyEvent, Figure, ReturnSubmitted
from outcomeledger.domain.money import quantize
from outcomeledger.domain.payments.mechanism import compute
from outcomeledger.domain.payments.pricing import tiered_value
from outcomeledger.domain.terms import Tier
from outcomeledger.imports.returns import OPTIONAL, REQUIRED, read_returns
from outcomeledger.imports.rows import read_table
from outcomeledger.projections import accountability, audit_trail, payments
from outcomeledger.projections.base import ContractView
from outcomeledger.storage.chain import ChainVerifier

Bench = Callable[..., Any]
STREAM = synthetic.contract_stream()
EVENTS: list[AnyEvent] = STREAM.events
STORED = [(n, s.originator_id.hex, s.originator_version, s.topic, s.state)
          for n, s in enumerate(STREAM.pending, 1)]
HEAD = codec.event_hash(STORED[-1][4])


@pytest.fixture(scope="module")
def state() -> ContractState:
    return fold_events(synthetic.reference(0), EVENTS, HEAD)


@pytest.fixture(scope="module")
def view(state: ContractState) -> ContractView:
    return ContractView(state, tuple(EVENTS), tuple(range(1, len(EVENTS) + 1)))


# -- codec -------------------------------------------------------------------------------

def test_codec_encode_stream(benchmark: Bench) -> None:
    encoded = benchmark(lambda: [codec.encode(e) for e in EVENTS])
    assert encoded == [s[4] for s in STORED]


def test_codec_decode_stream(benchmark: Bench) -> None:
    decoded = benchmark(lambda: [codec.decode(s[3], s[4]) for s in STORED])
    assert decoded == EVENTS


def test_codec_encode_a_20_figure_return(benchmark: Bench) -> None:
    event = ReturnSubmitted(
        contract="BENCH-0000", recorded_at=datetime(2030, 1, 1, tzinfo=UTC),
        recorded_by="bench", reason="return submitted", period="FY2010-Q1",
        figures=tuple(Figure(f"O{o:02d}", Decimal(o % 9), line=o + 2) for o in range(20)))
    data = benchmark(codec.encode, event)
    assert codec.decode(codec.topic(event), data) == event


# -- fold --------------------------------------------------------------------------------

def test_fold_a_stream(benchmark: Bench, state: ContractState) -> None:
    folded = benchmark(fold_events, synthetic.reference(0), EVENTS, HEAD)
    assert folded == state


def test_evolve_a_return_onto_a_long_history(benchmark: Bench, state: ContractState) -> None:
    """What deciding one more return costs the state (one copy-on-write step)."""
    event = ReturnSubmitted(
        contract="BENCH-0000", recorded_at=datetime(2030, 1, 1, tzinfo=UTC),
        recorded_by="bench", reason="supplementary", period="FY2010-Q1",
        figures=tuple(Figure(f"O{o:02d}", Decimal(1)) for o in range(20)))
    after = benchmark(evolve, state, event, "0" * 64)
    assert after.version == state.version + 1
    assert len(after.figures) == len(state.figures) + 20


def test_fold_event_by_event_is_the_same_state(state: ContractState) -> None:
    """Not timed: the fast fold above is the reference fold's result."""
    assert fold(synthetic.reference(0), [(e, HEAD) for e in EVENTS]) == state


# -- CSV parse -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def returns_csv(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path: Path = tmp_path_factory.mktemp("micro") / "returns.csv"
    synthetic.write_returns(path, 20_000)
    return path.read_bytes()


def test_csv_parse_20000_rows(benchmark: Bench, returns_csv: bytes) -> None:
    def parse() -> int:
        problems: list[Any] = []
        table = read_table(io.BytesIO(returns_csv), "returns.csv", "csv", REQUIRED, OPTIONAL,
                           problems)
        parsed = read_returns(table, "returns.csv", problems)
        assert not problems
        return parsed.rows

    assert benchmark(parse) == 20_000


# -- payment arithmetic ------------------------------------------------------------------

def test_payments_of_a_contract(benchmark: Bench, state: ContractState) -> None:
    schedule = benchmark(compute, state)
    assert len(schedule.periods) == 47
    assert schedule.total("payable") == schedule.periods[-1].cumulative_payable


def test_quantize(benchmark: Bench) -> None:
    assert benchmark(quantize, Decimal("1234.565"), "GBP") == Decimal("1234.57")


def test_tiered_value(benchmark: Bench) -> None:
    bands = (Tier(Decimal(100), Decimal(370)), Tier(Decimal(80), Decimal(410)),
             Tier(Decimal(50)))
    # 370 x 100 + 40 x 80 + 90 x 50
    assert benchmark(tiered_value, bands, Decimal(500)) == Decimal(44700)


# -- read models and the chain -----------------------------------------------------------

def test_payments_rows_of_a_contract(benchmark: Bench, view: ContractView) -> None:
    periods, totals, lines, _providers = benchmark(payments.rows, view)
    assert (len(periods), len(totals)) == (47, 1)
    assert len(lines) > 47 * 20


def test_accountability_rows_of_a_contract(benchmark: Bench, view: ContractView) -> None:
    targets, returns, restatements = benchmark(accountability.rows, view)
    assert len(targets) == 47 * 20
    assert len(returns) == 47 * 10
    assert restatements


def test_audit_trail_rows_of_a_stream(benchmark: Bench) -> None:
    rows = benchmark(audit_trail.rows, STORED)
    assert len(rows) == len(STORED)


def test_verify_a_stream(benchmark: Bench) -> None:
    def check() -> ChainVerifier:
        verifier = ChainVerifier(full_decode=False)
        verifier.add_rows(STORED)
        return verifier

    verifier = benchmark(check)
    assert verifier.count == len(STORED)
    assert not verifier.mismatches
