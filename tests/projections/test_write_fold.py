"""A write hands the read models the contract's stream as it folded it.

Deciding a command loads and folds the contract's stream; the write's catch-up used to
read the same stream back and fold it again. A one-command write now hands its own fold
over (``storage.writing.Folded``), on a SQLite file as on PostgreSQL: the read models it
writes must be exactly those a fold of the stored events gives, and the stream is not
read again.
"""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backends import Db
from outcomeledger.app import services
from outcomeledger.app.demo import build_demo
from outcomeledger.app.ledger import open_ledger
from outcomeledger.domain.commands import Meta
from outcomeledger.projections import compare, positions, source
from outcomeledger.projections.projector import _known
from outcomeledger.storage.application import stream_id
from outcomeledger.storage.writing import Folded

REF, PERIOD = "NHF-HW-2022", "FY2024-Q4"  # a contract in a programme: its run draws on it
META = Meta(datetime(2030, 1, 2, tzinfo=UTC), "test")


def test_a_write_hands_the_read_models_the_stream_it_folded(
        ledger_db: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    # On PostgreSQL too: the write loads the stream with its positions (seen failing
    # there before: the catch-up read and folded the stream again).
    with open_ledger(ledger_db.url, create=True) as ledger:
        build_demo(ledger)
        read: list[str] = []
        contract_view = source.contract_view

        def reading(conn: Any, stream: str, *args: Any) -> Any:
            read.append(stream)
            return contract_view(conn, stream, *args)

        monkeypatch.setattr(source, "contract_view", reading)
        services.adjust(ledger, REF, PERIOD, "bonus", "250", "a bonus to pay", META)
        run = services.certify(ledger, REF, PERIOD, META)
        # (seen failing before: each write read its contract's stream back)
        assert read == []
        assert run.programme == "NHF-2022"
        with closing(ledger.connect()) as conn:
            # Every read model equal to a replay of the stored events, fully caught up.
            assert compare.differences(conn, positions(conn), limit=50) == []
            assert set(positions(conn).values()) == {source.head(conn)}


def test_the_fold_is_taken_only_when_it_ends_where_the_batch_leaves_its_stream(
        tmp_path: Path) -> None:
    """A catch-up batch that stops before the write's own events (read models far
    behind), or a stream the batch does not hold, reads and folds the stream instead."""
    with open_ledger(str(tmp_path / "ledger.db"), create=True) as ledger:
        build_demo(ledger)
        with closing(ledger.connect()) as conn:
            stream = stream_id(REF).hex
            rows = source.stream_rows(conn, stream, source.head(conn))
        events = tuple(ledger.events(REF))
        state = ledger.get(REF)
        folded = Folded(stream, state, events, tuple(r[0] for r in rows))
        batch = [(position, stream, version, topic, data)
                 for position, version, topic, data in rows]
        assert list(_known(folded, batch)) == [stream]  # the whole stream: taken
        assert _known(folded, batch[:-1]) == {}  # cut before its last event
        assert _known(folded, [(1, "another", 1, "", b"")]) == {}
        assert _known(None, batch) == {}
