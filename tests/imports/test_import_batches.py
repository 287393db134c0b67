"""Ledger.execute_batch, the single transaction under every import: each command is
decided against the state its contract has after the commands before it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from outcomeledger.app.ledger import open_ledger
from outcomeledger.domain import codec
from outcomeledger.domain.commands import AgreeContract, Command, Meta, SubmitReturn
from outcomeledger.domain.errors import InvalidInput
from outcomeledger.domain.events import GENESIS, Figure
from outcomeledger.domain.terms import ContractTerms, Outcome
from outcomeledger.storage.application import stream_id
from outcomeledger.storage.store import Ledger

META = Meta(datetime(2026, 1, 5, tzinfo=UTC), "tester")


def submit(period: str, participant: str = "", line: int = 2) -> SubmitReturn:
    return SubmitReturn(period=period, provider="", figures=(Figure(
        outcome="O1", value=Decimal(1), participant=participant, line=line),))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = open_ledger(str(tmp_path / "l.db"), create=True)
    opened.project_on_write = False
    outcomes = (Outcome(code="O1", name="One", price=Decimal(100)),)
    batch: list[tuple[str, Command]] = [(ref, AgreeContract(ContractTerms(
        reference=ref, title="t", buyer="b", supplier="s", start=date(2020, 4, 1),
        end=date(2022, 3, 31), cadence="quarter", outcomes=outcomes))) for ref in "AB"]
    opened.execute_batch(batch, META)
    with opened:
        yield opened


def test_a_contract_met_again_later_in_a_batch_continues_its_chain(ledger: Ledger) -> None:
    batch: list[tuple[str, Command]] = [("A", submit("FY2020-Q1")), ("B", submit("FY2020-Q1")),
                                        ("A", submit("FY2020-Q2"))]
    written = ledger.execute_batch(batch, META)
    assert [len(w.positions) for w in written] == [1, 1, 1]
    rows = ledger.recorder.select_events(stream_id("A"))
    assert [r.originator_version for r in rows] == [1, 2, 3]
    events = [codec.decode(r.topic, r.state) for r in rows]
    hashes = [codec.event_hash(r.state) for r in rows]
    assert [e.prev_hash for e in events] == [GENESIS, hashes[0], hashes[1]]


def test_each_command_sees_the_figures_of_the_commands_before_it(ledger: Ledger) -> None:
    batch: list[tuple[str, Command]] = [("A", submit("FY2020-Q1", "P-1", 2)),
                                        ("B", submit("FY2020-Q1", "P-1", 3)),
                                        ("A", submit("FY2020-Q2", "P-1", 4))]
    before = ledger.max_position()
    with pytest.raises(InvalidInput) as refused:
        ledger.execute_batch(batch, META)
    assert [(p.line, p.field) for p in refused.value.problems] == [(4, "participant")]
    assert ledger.max_position() == before


def test_every_invalid_command_of_a_batch_is_reported(ledger: Ledger) -> None:
    batch: list[tuple[str, Command]] = [("A", submit("FY2099-Q1", line=2)),
                                        ("A", submit("FY2020-Q1", line=3)),
                                        ("B", submit("nonsense", line=4))]
    with pytest.raises(InvalidInput) as refused:
        ledger.execute_batch(batch, META)
    assert [(p.line, p.field) for p in refused.value.problems] == [(2, "period"),
                                                                   (4, "period")]
