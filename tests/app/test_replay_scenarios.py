"""Golden replays over replay/: recorded histories must rebuild byte for byte.

Each scenario is built through the same service functions as the demo and the CLI,
with historical timestamps, then recorded as an evidence pack plus the outputs an
auditor checks. The test rebuilds each history and compares the pack byte for byte,
loads the recorded pack into a fresh ledger (identical positions and hashes) and
compares every projection table and the payments JSON byte for byte.

Re-record (after a deliberate change, reviewed in the diff): UPDATE_REPLAY=1 pytest
tests/app/test_replay_scenarios.py
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from backends import Db, new_db
from outcomeledger import projections
from outcomeledger.app import demo, replay
from outcomeledger.app import services as service
from outcomeledger.app.ledger import open_ledger
from outcomeledger.audit.evidence import write_pack
from outcomeledger.cli import cli
from outcomeledger.cli.evidence import stored_rows
from outcomeledger.domain.commands import Meta
from outcomeledger.imports.importer import import_data
from outcomeledger.storage.chain import PROGRAMME_PREFIX
from outcomeledger.storage.store import Ledger

ROOT = Path(__file__).resolve().parents[2] / "replay"
RERECORD = os.environ.get("UPDATE_REPLAY") == "1"
PACK = "events.pack.ndjson"


def _meta(moment: str, actor: str) -> Meta:
    return Meta(datetime.fromisoformat(moment).replace(tzinfo=UTC), actor)


def _import(ledger: Ledger, folder: Path, name: str, moment: str, actor: str,
            **kw: object) -> None:
    path = folder / "inputs" / name
    import_data(ledger, [(f"inputs/{name}", path.read_bytes())], _meta(moment, actor),
                **kw)  # type: ignore[arg-type]


def build_work_programme(ledger: Ledger) -> None:
    """S5: attachment fees, job outcomes and sustainment; a sampled-error recovery; the
    attachment fee phased out by a variation from April 2014."""
    folder, ref = ROOT / "S5-work-programme", "WP-G2-2011"
    dwp = "commissioner:wp-contracts@dwp.gov.uk"
    prime = "provider:mi-returns@prime-provider.co.uk"
    service.agree(ledger, folder / "inputs" / "contract.toml",
                  _meta("2011-05-20T10:00:00", dwp), "Work Programme contract signed (CPA prime)")
    for period, returned, certified in (
            ("FY2011-Q2", "2011-10-14", "2011-10-31"), ("FY2011-Q3", "2012-01-13", "2012-01-31"),
            ("FY2011-Q4", "2012-04-13", "2012-04-30"), ("FY2012-Q1", "2012-07-13", "2012-07-31"),
            ("FY2012-Q2", "2012-10-12", "2012-10-31"), ("FY2012-Q3", "2013-02-15", "2013-02-28")):
        _import(ledger, folder, f"{period}.csv", f"{returned}T09:00:00", prime)
        service.certify(ledger, ref, period, _meta(f"{certified}T15:00:00", dwp))
    service.adjust(ledger, ref, "FY2013-Q2", "recovery", "-120000",
                   "post-payment validation: 4 of 100 sampled job outcomes invalid; 4% "
                   "extrapolated over the 2,500 job outcomes paid at 1,200",
                   _meta("2013-09-20T11:00:00", "validator:ppv@dwp.gov.uk"))
    service.certify(ledger, ref, "FY2013-Q2", _meta("2013-10-31T15:00:00", dwp),
                    "payment run: extrapolated recovery")
    service.vary(ledger, ref, folder / "inputs" / "attachment_fee_phased_out.toml",
                 date(2014, 4, 1), "programme-wide: no attachment fee for attachments from "
                 "April 2014", _meta("2014-03-20T10:00:00", dwp))
    _import(ledger, folder, "FY2014-Q1.csv", "2014-07-11T09:00:00", prime)
    service.certify(ledger, ref, "FY2014-Q1", _meta("2014-07-31T15:00:00", dwp))


def build_essex(ledger: Ledger) -> None:
    """S6: care days saved against a 55% historical comparison (cumulative returns),
    a restatement of a quarter's inputs after payment, and the 7.1m cap binding."""
    folder, ref = ROOT / "S6-essex-mst", "ESSEX-MST-2012"
    ecc = "commissioner:commissioning@essex.gov.uk"
    sf = "provider:performance@socialfinance.org.uk"
    service.agree(ledger, folder / "inputs" / "contract.toml",
                  _meta("2012-11-28T10:00:00", ecc), "outcomes contract signed (first "
                  "local-authority-commissioned SIB)")
    _import(ledger, folder, "FY2015-Q2.csv", "2015-10-20T09:00:00", sf)
    service.certify(ledger, ref, "FY2015-Q2", _meta("2015-11-02T12:00:00", ecc),
                    "payment run: days saved to Q2 2015-16")
    _import(ledger, folder, "FY2015-Q3.csv", "2016-01-20T09:00:00", sf)
    service.certify(ledger, ref, "FY2015-Q3", _meta("2016-02-01T12:00:00", ecc))
    _import(ledger, folder, "FY2015-Q3-restated.csv", "2016-03-15T14:00:00",
            "validator:placements-audit@essex.gov.uk", restate=True,
            reason="placement recorded late: 2 children x 92 care days in Q3 2015-16")
    _import(ledger, folder, "FY2015-Q4.csv", "2016-04-20T09:00:00", sf)
    service.certify(ledger, ref, "FY2015-Q4", _meta("2016-05-03T12:00:00", ecc),
                    "payment run: nets the Q3 restatement")
    _import(ledger, folder, "FY2018-Q1.csv", "2018-07-20T09:00:00", sf)
    service.certify(ledger, ref, "FY2018-Q1", _meta("2018-08-01T12:00:00", ecc))
    _import(ledger, folder, "FY2018-Q2.csv", "2018-10-19T09:00:00", sf)
    service.certify(ledger, ref, "FY2018-Q2", _meta("2018-11-01T12:00:00", ecc),
                    "payment run: 7.1m cap reached")
    service.close(ledger, ref, date(2019, 3, 29), "SIB completed: final reconciliation, "
                  "outcome payments capped at 7.1m", _meta("2019-03-29T16:00:00", ecc))


SCENARIOS: dict[str, tuple[str, Callable[[Ledger], None]]] = {
    "S1-peterborough": ("PB-SIB-2010", demo.build_pb),
    "S2-greater-manchester": ("GMHP-2017", demo.build_gm),
    "S5-work-programme": ("WP-G2-2011", build_work_programme),
    "S6-essex-mst": ("ESSEX-MST-2012", build_essex),
    "S7-council-programme": ("NHF-HW-2022", demo.build_nhf),
    "S8-growing-contract": ("NCL-CL-2023", demo.build_ncl),
}

#: Scenarios with a programme (DESIGN 10): its report is recorded too.
PROGRAMMES = {"S7-council-programme": "NHF-2022"}


#: Further outputs an auditor checks, by scenario: file -> (command, its exit code).
#: A refusal is recorded as the lines it prints (exit 1: nothing was written).
EXTRAS: dict[str, dict[str, tuple[tuple[str, ...], int]]] = {
    "S8-growing-contract": {
        "expected/business-case-BC-1.json": (
            ("payments", "NCL-CL-2023", "--business-case", "BC-1", "--format", "json"), 0),
        "expected/business-case-BC-2.json": (
            ("payments", "NCL-CL-2023", "--business-case", "BC-2", "--format", "json"), 0),
        "expected/extension-EXT-2-refused.txt": (
            ("contract", "extend", "NCL-CL-2023", "--option", "EXT-2", "--on", "2026-01-20",
             "--reason", "second extension requested", "--dry-run"), 1),
    },
}


def _cli(db: Db, *args: str, code: int = 0) -> bytes:
    result = CliRunner().invoke(cli, ["--db", db.url, *args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.stdout_bytes if code == 0 else result.stderr_bytes


def _pack(ledger: Ledger, path: Path) -> bytes:
    rows = list(stored_rows(ledger))
    # Every stream the pack holds: the contracts, and the programmes as evidence names them.
    streams = [*ledger.references(), *(PROGRAMME_PREFIX + p for p in ledger.programme_references())]
    with path.open("wb") as out:
        write_pack(out, rows, streams, None, None)
    return path.read_bytes()


def _outputs(db: Db, reference: str, programme: str | None = None,
             extras: dict[str, tuple[tuple[str, ...], int]] | None = None) -> dict[str, bytes]:
    with open_ledger(db.url) as ledger, closing(ledger.connect()) as conn:
        tables = b"".join(projections.dump(conn))
    outputs = {
        "expected/projections.ndjson": tables,
        "expected/payments.json": _cli(db, "payments", reference, "--format", "json"),
        "expected/contract.json": _cli(db, "contract", "show", reference, "--format", "json"),
    }
    if programme is not None:
        outputs["expected/programme.json"] = _cli(db, "report", "--programme", programme,
                                                  "--format", "json")
    for file, (args, code) in (extras or {}).items():
        outputs[file] = _cli(db, *args, code=code)
    return outputs


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_replays_byte_for_byte(name: str, ledger_db: Db, tmp_path: Path,
                                        request: pytest.FixtureRequest) -> None:
    """On both backends: the recorded outputs are the same bytes on SQLite and PostgreSQL."""
    reference, build = SCENARIOS[name]
    programme = PROGRAMMES.get(name)
    extras = EXTRAS.get(name)
    folder = ROOT / name
    built = ledger_db
    with open_ledger(built.url, create=True) as ledger:
        build(ledger)
        recorded = {PACK: _pack(ledger, tmp_path / "built.pack"),
                    **_outputs(built, reference, programme, extras)}
    if RERECORD:
        for file, data in recorded.items():
            (folder / file).parent.mkdir(parents=True, exist_ok=True)
            (folder / file).write_bytes(data)
    for file, data in recorded.items():
        assert (folder / file).read_bytes() == data, f"{name}/{file} differs from a rebuild"

    # The recorded pack alone rebuilds the ledger: same positions, hashes, tables.
    loaded = new_db(request, built.backend, tmp_path / "loaded")
    with open_ledger(loaded.url, create=True) as ledger:
        lines = (folder / PACK).read_bytes().splitlines(keepends=True)
        replay.load_pack(ledger, lines, PACK)
    assert _cli(loaded, "events") == _cli(built, "events")
    assert _outputs(loaded, reference, programme, extras) == {
        k: v for k, v in recorded.items() if k != PACK}
    _cli(loaded, "replay")
    assert _outputs(loaded, reference, programme, extras) == {
        k: v for k, v in recorded.items() if k != PACK}


def test_every_scenario_folder_is_replayed() -> None:
    folders = {p.name for p in ROOT.iterdir() if p.is_dir()}
    assert folders == set(SCENARIOS)
    for name in SCENARIOS:
        assert (ROOT / name / "README.md").exists(), f"{name} has no README for auditors"
