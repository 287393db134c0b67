"""``--as-of`` answers exactly what the live command printed at that moment.

The demo history is recorded one write at a time; after every write the live output of
`contract show` and `payments` (JSON and table) is captured. Re-run at the end with
`--as-of POSITION` and `--as-of TIMESTAMP`, each must print the captured bytes, before
and after the restatement, the variation and the closure. On both backends.
"""

from __future__ import annotations

import json
from contextlib import closing

import pytest
from click.testing import CliRunner, Result

from backends import Db
from outcomeledger.app.demo import build_demo
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.domain import codec
from outcomeledger.domain.events import Event
from outcomeledger.domain.programme.events import ProgrammeDrawn, ProgrammeEvent
from outcomeledger.projections import dump

pytestmark = pytest.mark.slow


def _invoke(db: Db, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db.url, *args], catch_exceptions=False)


def _reads(reference: str) -> list[tuple[str, ...]]:
    return [("payments", reference, "--format", fmt) for fmt in ("json", "table")] + [
        ("contract", "show", reference, "--format", fmt) for fmt in ("json", "table")]


def _printed(args: tuple[str, ...], out: bytes) -> object:
    """What a read printed, compared: the programme report says which ``as_of`` it was
    asked for (null live), so that one field is left out; everything else is bytes."""
    if "--programme" not in args:
        return out
    report = json.loads(out)
    del report["as_of"]
    return report


Capture = tuple[int, str, str, dict[tuple[str, ...], bytes]]


@pytest.fixture(scope="module")
def history(module_ledger_db: Db) -> tuple[Db, list[Capture]]:
    db = module_ledger_db
    captured: list[Capture] = []
    with open_ledger(db.url, create=True) as ledger:
        projector = ledger.after_write

        def capture() -> None:
            projector()
            last = list(ledger.feed(after=ledger.max_position() - 1))[-1]
            event = last.event
            # A programme's write ends with a programme event: its report is read (live
            # from the read models, as of a past point from the contracts' streams: the
            # two must agree), and for a draw, the contract that drew.
            reads: list[tuple[str, ...]] = []
            if isinstance(event, ProgrammeEvent):
                reads.append(("report", "--programme", event.programme, "--format", "json"))
            if isinstance(event, Event | ProgrammeDrawn):
                reads += _reads(event.contract)
            outputs: dict[tuple[str, ...], bytes] = {}
            for args in reads:
                result = _invoke(db, *args)
                assert result.exit_code == 0, result.output
                outputs[args] = result.stdout_bytes
            captured.append((last.position, event.recorded_at.isoformat(),
                             codec.owner(event), outputs))

        ledger.after_write = capture  # type: ignore[method-assign]
        build_demo(ledger)
    return db, captured


def test_as_of_position_prints_what_the_live_command_printed(
        history: tuple[Db, list[Capture]]) -> None:
    db, captured = history
    assert len(captured) > 20
    for position, _when, _ref, outputs in captured:
        for args, printed in outputs.items():
            again = _invoke(db, *args, "--as-of", str(position))
            assert again.exit_code == 0, again.output
            assert _printed(args, again.stdout_bytes) == _printed(args, printed), (
                f"{args} --as-of {position}")


def test_as_of_timestamp_prints_what_the_live_command_printed(
        history: tuple[Db, list[Capture]]) -> None:
    db, captured = history
    # A timestamp names the same point as a position only where no later write was
    # recorded at or before it: the demo's contracts are built one after another, each
    # with its own historical dates, so a later contract's history overlaps an earlier's.
    later = [min((m for _p, m, _r, _o in captured[i + 1:]), default=None)
             for i in range(len(captured))]
    comparable = [c for c, after in zip(captured, later, strict=True)
                  if after is None or after > c[1]]
    assert len(comparable) > 20
    for _position, moment, _ref, outputs in comparable:
        for args, printed in outputs.items():
            again = _invoke(db, *args, "--as-of", moment)
            assert _printed(args, again.stdout_bytes) == _printed(args, printed), (
                f"{args} --as-of {moment}")


def test_the_restatement_is_visible_only_after_it_was_recorded(
        history: tuple[Db, list[Capture]]) -> None:
    db, captured = history
    gm = [c for c in captured if c[2] == "GMHP-2017"]
    at = next(i for i, c in enumerate(gm) if c[1].startswith("2019-06-30"))
    key = ("payments", "GMHP-2017", "--format", "json")
    before, after = gm[at - 1][3][key], gm[at][3][key]
    assert b'"earned":"1202400.00"' in before
    assert b'"earned":"1192000.00"' in after
    assert _invoke(db, *key, "--as-of", str(gm[at][0] - 1)).stdout_bytes == before
    assert _invoke(db, *key, "--as-of", "2019-06-30T15:59:59Z").stdout_bytes == before
    assert _invoke(db, *key, "--as-of", str(gm[at][0])).stdout_bytes == after


def test_as_of_never_touches_the_live_tables(history: tuple[Db, list[Capture]]) -> None:
    db, _ = history
    with open_ledger(db.url) as ledger, closing(ledger.connect()) as conn:
        before = list(dump(conn))
        assert _invoke(db, "payments", "GMHP-2017", "--as-of", "3").exit_code == 0
        assert _invoke(db, "replay", "--as-of", "3").exit_code == 0
        assert list(dump(conn)) == before


def test_as_of_before_a_contract_existed_is_refused(
        history: tuple[Db, list[Capture]]) -> None:
    db, _ = history
    result = _invoke(db, "payments", "PB-SIB-2010", "--as-of", "1")
    assert result.exit_code == 1
    assert "not yet agreed as of 1" in result.stderr
    result = _invoke(db, "contract", "show", "GMHP-2017", "--as-of", "999")
    assert result.exit_code == 1
    assert "no such position" in result.stderr
