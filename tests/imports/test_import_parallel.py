"""A large returns import read and decided by worker processes (imports/parallel.py)
writes exactly what the one-process import writes: the same events at the same
positions, and the same receipts. Anything to report (a problem, a repeated row) sends
the import down the one-process path, which reports it as always. Files are cut into
ranges at row boundaries only (imports/ranges.py)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import D, outcome, terms
from outcomeledger.app.ledger import open_ledger
from outcomeledger.domain.commands import AgreeContract, Command, Meta
from outcomeledger.domain.errors import InvalidInput, Problem
from outcomeledger.imports import parallel
from outcomeledger.imports.importer import import_returns
from outcomeledger.imports.ranges import cut, open_range
from outcomeledger.imports.returns import OPTIONAL, REQUIRED
from outcomeledger.imports.rows import read_range, read_table
from outcomeledger.storage.location import StoreError

CONTRACTS = [f"C-{n:02d}" for n in range(12)]
PERIODS = ["FY2025-Q1", "FY2025-Q2", "FY2025-Q3", "FY2025-Q4", "FY2026-Q1", "FY2026-Q2"]
# Late for the early periods: their returns were due weeks before.
META = Meta(datetime(2025, 12, 1, tzinfo=UTC), "provider:test")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger of twelve contracts: counts, a ladder (O2 requires O1), a once-only
    participant outcome, two providers."""
    path = tmp_path_factory.mktemp("parallel") / "base.db"
    outcomes = (outcome("O1"), outcome("O2", price=D(250), requires=("O1",)),
                outcome("O3", once_per_participant=True), outcome("O4"))
    batch: list[tuple[str, Command]] = [
        (ref, AgreeContract(terms(reference=ref, outcomes=outcomes))) for ref in CONTRACTS]
    with open_ledger(str(path), create=True) as ledger:
        ledger.project_on_write = False
        ledger.execute_batch(batch, Meta(datetime(2025, 4, 1, tzinfo=UTC), "commissioner:t"))
    return path


def _csv_file(path: Path, *, bump: int = 0) -> Path:
    """Aggregate returns with quoted evidence (commas, quotes, newlines) and dates; a
    ladder rung above the rung it requires in one contract (a warning)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\r\n")
        out.writerow(["contract", "period", "provider", "outcome", "value", "achieved_on",
                      "evidence"])
        for p, period in enumerate(PERIODS[:4]):
            for c, ref in enumerate(CONTRACTS):
                for provider in ("P1", "P2"):
                    o1 = (c + p) % 7 + (bump if c % 3 == 0 else 0)
                    o2 = o1 + 3 if ref == "C-05" else o1 // 2
                    out.writerow([ref, period, provider, "O1", o1, "", ""])
                    out.writerow([ref, period, provider, "O2", o2, "",
                                  f'case notes, "{ref}"\nline two' if c % 4 == 0 else ""])
                    out.writerow([ref, period, provider, "O4", c,
                                  f"{2025 + (p + 1) // 4}-{(p * 3 + 3) % 12 + 1:02d}-15"
                                  if p < 3 else "", ""])
    return path


def _ndjson_file(path: Path) -> Path:
    """Participant-level returns, later periods: O1 once for each, then O2 (which
    requires O1) for those who achieved it."""
    with path.open("w", encoding="utf-8") as f:
        for c, ref in enumerate(CONTRACTS):
            for person in range(5):
                who = f"P-{ref}-{person}"
                achieved = (c + person) % 2
                f.write(json.dumps({"contract": ref, "period": PERIODS[4], "outcome": "O1",
                                    "participant": who, "value": achieved}) + "\n")
                f.write(json.dumps({"contract": ref, "period": PERIODS[4], "outcome": "O3",
                                    "participant": who, "value": 1}) + "\n")
                if achieved:
                    f.write(json.dumps({"contract": ref, "period": PERIODS[5],
                                        "outcome": "O2", "participant": who,
                                        "value": 1}) + "\n")
    return path


def _run(tmp: Path, base: Path, files: list[Path], workers: int, monkeypatch: pytest.MonkeyPatch,
         *, ledger: Path | None = None, **options: Any) -> tuple[list[dict[str, Any]], bool]:
    """The receipts of an import with ``workers`` (0: one process), and whether the
    workers made it."""
    if ledger is None:
        ledger = tmp / f"ledger-{workers}.db"
        shutil.copy(base, ledger)
    monkeypatch.setenv("OUTCOMELEDGER_IMPORT_WORKERS", str(workers))
    made = []
    run = parallel.run

    def spied(*args: Any, **kw: Any) -> Any:
        result = run(*args, **kw)
        made.append(result is not None)
        return result

    monkeypatch.setattr(parallel, "run", spied)
    with open_ledger(str(ledger)) as opened:
        opened.project_on_write = False
        receipts = import_returns(opened, [str(f) for f in files], META, **options)
    return [r.as_dict() for r in receipts], made == [True]


def _events(path: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT rowid, originator_id, originator_version, topic, state "
                            "FROM stored_events ORDER BY rowid").fetchall()


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_write_what_one_process_writes(
        base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    files = [_csv_file(tmp_path / "a.csv"), _ndjson_file(tmp_path / "b.ndjson")]
    one, _ = _run(tmp_path, base, files, 0, monkeypatch)
    many, by_workers = _run(tmp_path, base, files, workers, monkeypatch)
    assert by_workers
    assert many == one
    assert one[0]["late"] > 0
    assert one[0]["warnings"]
    assert _events(tmp_path / f"ledger-{workers}.db") == _events(tmp_path / "ledger-0.db")
    # Restated, and imported again unchanged: still the same, event for event.
    restated = _csv_file(tmp_path / "a2.csv", bump=2)
    for count in (0, workers):
        again, by_workers = _run(tmp_path, base, [restated, files[1]], count, monkeypatch,
                                 ledger=tmp_path / f"ledger-{count}.db", restate=True,
                                 reason="corrected counts")
        assert by_workers == (count > 0)
        assert again[0]["restated"] > 0
        assert again[1]["unchanged"] == again[1]["rows"]
    assert _events(tmp_path / f"ledger-{workers}.db") == _events(tmp_path / "ledger-0.db")


def test_workers_report_every_byte_they_read(
        base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [_csv_file(tmp_path / "a.csv"), _ndjson_file(tmp_path / "b.ndjson")]
    read: list[int] = []
    _, by_workers = _run(tmp_path, base, files, 2, monkeypatch, on_read=read.append)
    assert by_workers
    assert sum(read) == sum(f.stat().st_size for f in files)


def test_a_dry_run_by_workers_writes_nothing_and_says_the_same(
        base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [_csv_file(tmp_path / "a.csv")]
    one, _ = _run(tmp_path, base, files, 0, monkeypatch, dry_run=True)
    many, by_workers = _run(tmp_path, base, files, 2, monkeypatch, dry_run=True)
    assert by_workers
    assert many == one
    assert one[0]["added"] > 0
    assert one[0]["events"] == 0
    assert _events(tmp_path / "ledger-2.db") == _events(base)


def _refused(tmp: Path, base: Path, files: list[Path], workers: int,
             monkeypatch: pytest.MonkeyPatch) -> tuple[list[Problem], bool]:
    try:
        _, by_workers = _run(tmp, base, files, workers, monkeypatch)
    except InvalidInput as e:
        assert _events(tmp / f"ledger-{workers}.db") == _events(base)
        return e.problems, False
    raise AssertionError(f"not refused ({by_workers})")


def test_a_refusal_is_reported_as_one_process_reports_it(
        base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = _csv_file(tmp_path / "a.csv")
    bad = tmp_path / "bad.csv"
    lines = good.read_bytes().decode().split("\r\n")
    lines[40] = lines[40].replace(",O1,", ",O9,")  # unknown outcome
    lines[-3] = "C-99,FY2025-Q4,P1,O1,1,,"  # unknown contract, late in the file
    bad.write_text("\r\n".join(lines), encoding="utf-8")
    one, _ = _refused(tmp_path, base, [bad], 0, monkeypatch)
    many, _ = _refused(tmp_path, base, [bad], 2, monkeypatch)
    assert many == one
    assert {p.field for p in one} == {"outcome", "contract"}


def test_a_repeated_row_across_ranges_is_worded_by_the_whole_file(
        base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _csv_file(tmp_path / "a.csv")
    lines = path.read_bytes().decode().split("\r\n")
    again = lines[1]  # the first data row, repeated at the end: another worker's range
    path.write_text("\r\n".join([*lines[:-1], again, ""]), encoding="utf-8")
    one, _ = _run(tmp_path, base, [path], 0, monkeypatch)
    many, by_workers = _run(tmp_path, base, [path], 2, monkeypatch)
    assert not by_workers  # read again whole, in one process
    assert many == one
    assert any("repeats line 2" in w["message"] for w in one[0]["warnings"])


def test_a_file_changed_while_read_is_imported_again_whole(
        base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers' events are appended while they decide; a file found changed once
    they are done rolls all of that back, and one process imports the file as it is."""
    files = [_csv_file(tmp_path / "a.csv")]
    one, _ = _run(tmp_path, base, files, 0, monkeypatch)
    monkeypatch.setattr(parallel, "_unchanged", lambda *_: False)
    many, by_workers = _run(tmp_path, base, files, 2, monkeypatch)
    assert not by_workers
    assert many == one  # all added by the one process: nothing of the workers' was kept
    assert _events(tmp_path / "ledger-2.db") == _events(tmp_path / "ledger-0.db")


def test_a_worker_that_fails_fails_the_import_and_writes_nothing(
        base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = tmp_path / "gone.db"
    shutil.copy(base, ledger)
    files = [str(_csv_file(tmp_path / "a.csv"))]
    monkeypatch.setenv("OUTCOMELEDGER_IMPORT_WORKERS", "2")
    with open_ledger(str(ledger)) as opened:
        opened.project_on_write = False
        before = opened.max_position()
        hidden = ledger.rename(tmp_path / "hidden.db")  # the workers find no ledger there
        try:
            with pytest.raises(StoreError, match=r"an import worker failed .*no ledger at"):
                import_returns(opened, files, META)
        finally:
            hidden.rename(ledger)
        assert opened.max_position() == before


# -- cutting files ----------------------------------------------------------------------

cells = st.text(alphabet=st.sampled_from(['a', 'é', ',', '"', '\n', ' ', '1']), max_size=6)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.lists(cells, min_size=4, max_size=4), max_size=25),
       crlf=st.booleans(), bom=st.booleans(), quote_all=st.booleans(),
       pieces=st.integers(1, 5))
def test_ranges_hold_exactly_the_rows_of_the_whole_file(
        tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]], crlf: bool,
        bom: bool, quote_all: bool, pieces: int) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n" if crlf else "\n",
                        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(REQUIRED)
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("cut") / "r.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.getvalue().encode())
    whole_problems: list[Problem] = []
    with path.open("rb") as f:
        table = read_table(f, "r.csv", "csv", REQUIRED, OPTIONAL, whole_problems)
        whole = list(table.rows)
    pieces_cut = cut(str(path), "csv", pieces)
    assert pieces_cut is not None  # LF and CRLF line ends only: always cut
    assert len(pieces_cut.ranges) == pieces
    assert pieces_cut.ranges[-1].end == path.stat().st_size
    read: list[tuple[int, list[str]]] = []
    problems: list[Problem] = []
    for piece in pieces_cut.ranges:
        with open_range(str(path), piece) as stream:
            part = (read_table(stream, "r.csv", "csv", REQUIRED, OPTIONAL, problems)
                    if piece.start == 0 else
                    read_range(stream, "r.csv", "csv", table.columns, REQUIRED,
                               piece.lines_before, problems))
            read += list(part.rows)
    assert read == whole
    assert problems == whole_problems


def test_a_file_with_bare_carriage_returns_is_not_cut(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"contract,period,outcome,value\rC,FY2025-Q1,O1,1\r")
    assert cut(str(path), "csv", 2) is None
    assert cut(str(path), "json", 2) is None


def test_a_range_is_numbered_as_in_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson"
    path.write_text("".join(json.dumps({"contract": "C", "period": "FY2025-Q1",
                                        "outcome": "O1", "value": n}) + "\n"
                            for n in range(10)), encoding="utf-8")
    pieces = cut(str(path), "ndjson", 3)
    assert pieces is not None
    lines = []
    for piece in pieces.ranges:
        with open_range(str(path), piece) as stream:
            table = (read_table(stream, "r", "ndjson", REQUIRED, OPTIONAL, [])
                     if piece.start == 0 else
                     read_range(stream, "r", "ndjson", (*REQUIRED, *OPTIONAL), REQUIRED,
                                piece.lines_before, []))
            lines += [line for line, _ in table.rows]
    assert lines == list(range(1, 11))
