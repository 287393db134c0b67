"""Forged evidence packs (issue 15, item 5): a pack whose events were edited and every hash
redone is refused, by its own header where that header no longer matches its events, and
by ``audit replay --head P:H`` / ``--checkpoints LOG --key PUB`` where it does.

The ledger is built on SQLite and PostgreSQL (the export reads each backend's store);
forging and replaying need no ledger at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from backends import Db
from outcomeledger.app.demo import build_enf, build_gm, build_pb
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.domain import codec
from outcomeledger.domain.signing import new_private_key_pem
from outcomeledger.storage.head import ledger_head

GENUINE = b'"amount":"1202400.00"'
FORGED = b'"amount":"1302400.00"'


@dataclass(frozen=True)
class Published:
    """What the commissioner published, and the packs exported from the ledger."""

    early: str  # the head once GM and PB were recorded (position 18)
    late: str  # the head once ENF followed (position 38)
    log: Path  # checkpoints at both
    public: Path
    gm: Path  # GMHP-2017 alone, at 38
    gm_early: Path  # GMHP-2017 alone, --as-of 18
    whole: Path  # every contract, at 38


@pytest.fixture(scope="module")
def published(module_ledger_db: Db, tmp_path_factory: pytest.TempPathFactory) -> Published:
    folder = tmp_path_factory.mktemp("packs")
    pem, public = new_private_key_pem()
    (folder / "key.pem").write_bytes(pem)
    (folder / "key.pub").write_text(public + "\n")
    db = module_ledger_db

    def cli_ok(*args: str) -> str:
        result = CliRunner().invoke(cli, ["--db", db.url, *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    log = folder / "checkpoints.log"
    with open_ledger(db.url, create=True) as ledger:
        build_gm(ledger)
        build_pb(ledger)
    early = cli_ok("audit", "head").strip()
    cli_ok("audit", "checkpoint", "--key", str(folder / "key.pem"), "--log", str(log))
    with open_ledger(db.url) as ledger:
        build_enf(ledger)
    late = cli_ok("audit", "head").strip()
    cli_ok("audit", "checkpoint", "--key", str(folder / "key.pem"), "--log", str(log))
    packs = Published(early, late, log, folder / "key.pub", folder / "gm.pack",
                      folder / "gm-early.pack", folder / "whole.pack")
    cli_ok("audit", "export", "GMHP-2017", "--output", str(packs.gm))
    cli_ok("audit", "export", "GMHP-2017", "--as-of", "18", "--output", str(packs.gm_early))
    cli_ok("audit", "export", "--output", str(packs.whole))
    return packs


def replay(pack: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(pack.parent / "absent.db"), "audit", "replay",
                                    str(pack), "--format", "json", *args])


def refused(result: Result) -> str:
    """Exit 1 with a clean message (no traceback); the combined output."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "pack verified" not in result.output
    return result.output


def accepted(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stderr


# -- forging -----------------------------------------------------------------------------

Pack = tuple[dict[str, Any], list[dict[str, Any]]]


def load(path: Path) -> Pack:
    header, *events = (json.loads(line) for line in path.read_text().splitlines())
    return header, events


def save(pack: Pack, path: Path) -> Path:
    header, events = pack
    path.write_text("".join(json.dumps(item, sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False) + "\n"
                            for item in (header, *events)))
    return path


def stream_heads(events: list[dict[str, Any]]) -> dict[str, tuple[str, int, str, int]]:
    last: dict[str, tuple[str, int, str, int]] = {}
    for e in events:
        last[e["contract"]] = (e["contract"], e["version"], e["hash"], e["position"])
    return last


def forge(pack: Pack, old: bytes = GENUINE, new: bytes = FORGED) -> Pack:
    """Edit the first event holding ``old``, redo every later ``prev_hash`` of its stream,
    every event hash and the pack head: a pack consistent with itself."""
    header, events = json.loads(json.dumps(pack))
    target = next(e for e in events if old.decode() in e["state"])
    previous = target["hash"]
    target["state"] = target["state"].replace(old.decode(), new.decode())
    target["hash"] = current = codec.event_hash(target["state"].encode())
    for e in events:
        if e["contract"] == target["contract"] and e["version"] > target["version"]:
            assert f'"prev_hash":"{previous}"' in e["state"]
            e["state"] = e["state"].replace(f'"prev_hash":"{previous}"',
                                            f'"prev_hash":"{current}"')
            previous, e["hash"] = e["hash"], codec.event_hash(e["state"].encode())
            current = e["hash"]
    heads = stream_heads(events).values()
    header["pack_head"] = str(ledger_head(heads, max(h[3] for h in heads)))
    return header, events


def restate(pack: Pack) -> Pack:
    """The header's stream heads for the pack's own streams made to match its events,
    and ``ledger_head`` recomputed from them: nothing inside the pack disagrees any more."""
    header, events = json.loads(json.dumps(pack))
    mine = stream_heads(events)
    header["stream_heads"] = [list(mine.get(h[0], h)) for h in header["stream_heads"]]
    heads = [tuple(h) for h in header["stream_heads"]]
    header["ledger_head"] = str(ledger_head(heads, max(h[3] for h in heads)))
    return header, events


def as_format_1(pack: Pack) -> Pack:
    header, events = json.loads(json.dumps(pack))
    header["format_version"] = 1
    del header["stream_heads"]
    return header, events


# -- the forgery and its variants ------------------------------------------------

def test_the_reported_forgery_is_refused_by_its_own_header(published: Published,
                                                           tmp_path: Path) -> None:
    """1,202,400 -> 1,302,400, every hash and pack_head redone, ledger_head the genuine
    published head: the pack's stream no longer ends where the header's stream heads say."""
    genuine = load(published.gm)
    assert genuine[0]["ledger_head"] == published.late
    out = refused(replay(save(forge(genuine), tmp_path / "forged.pack")))
    assert "forged.pack:1: stream_heads: the pack's GMHP-2017 ends at v12" in out


def test_a_forgery_with_its_stream_head_redone_fails_the_ledger_head(
        published: Published, tmp_path: Path) -> None:
    header, events = restate(forge(load(published.gm)))
    header["ledger_head"] = published.late  # the genuine one, as the report's forger did
    out = refused(replay(save((header, events), tmp_path / "forged.pack")))
    assert "forged.pack:1: ledger_head: the header's stream heads hash to 38:" in out
    assert f"the header says {published.late}" in out


def test_a_self_consistent_forgery_is_refused_against_the_published_head(
        published: Published, tmp_path: Path) -> None:
    forged = save(restate(forge(load(published.gm))), tmp_path / "forged.pack")
    said = accepted(replay(forged))
    assert "checked against itself only" in said, "nothing inside the pack can tell"
    out = refused(replay(forged, "--head", published.late))
    assert "forged.pack: pack: the pack's ledger head 38:" in out
    assert f"differs from the published head {published.late}" in out
    out = refused(replay(forged, "--checkpoints", str(published.log), "--key",
                         str(published.public)))
    assert f"checkpoint {published.log}:1" in out
    assert "the pack's history of GMHP-2017 up to position 18 differs" in out


def test_a_forged_format_1_pack_cannot_be_passed_off_against_a_head(
        published: Published, tmp_path: Path) -> None:
    """The old format carries no stream heads: its ledger_head is a bare claim."""
    forged = save(as_format_1(forge(load(published.gm))), tmp_path / "forged.pack")
    out = refused(replay(forged, "--head", published.late))
    assert "--head: " in out
    assert "cannot check the pack against it" in out
    out = refused(replay(forged, "--checkpoints", str(published.log), "--key",
                         str(published.public)))
    assert "the pack's history of GMHP-2017 up to position 18 differs" in out


def test_a_forged_whole_ledger_pack_is_refused_against_an_earlier_head(
        published: Published, tmp_path: Path) -> None:
    genuine = load(published.whole)
    accepted(replay(published.whole, "--head", published.early))
    forged = save(restate(forge(genuine)), tmp_path / "forged.pack")
    accepted(replay(forged))
    out = refused(replay(forged, "--head", published.early))
    assert "the pack's events up to position 18 hash to 18:" in out
    assert f"not the published {published.early}" in out


# -- genuine packs are anchored ----------------------------------------------------------

def test_genuine_packs_match_the_published_heads_and_checkpoints(
        published: Published) -> None:
    for pack, head in ((published.gm, published.late), (published.whole, published.late),
                       (published.whole, published.early),
                       (published.gm_early, published.early)):
        said = accepted(replay(pack, "--head", head))
        assert f"matches the published head {head}" in said
    # GMHP-2017 did not change after 18: the checkpoint at 38 vouches for the early pack too.
    for pack, count in ((published.gm, 2), (published.whole, 2), (published.gm_early, 2)):
        said = accepted(replay(pack, "--checkpoints", str(published.log), "--key",
                               str(published.public)))
        assert f"matches {count} checkpoint(s)" in said


def test_heads_a_pack_cannot_be_compared_with_are_refused_saying_why(
        published: Published) -> None:
    out = refused(replay(published.gm_early, "--head", published.late))
    assert "is later than the pack (ledger position 18): export a newer pack" in out
    out = refused(replay(published.gm, "--head", published.early))
    assert "export the pack with --as-of 18" in out
    out = refused(replay(published.gm, "--head", "18:abc"))
    assert "--head: " in out
    assert "expected POSITION:SHA256" in out
    refused(replay(published.gm, "--head", published.late[:-1] + "0"))


# -- headers that do not match their events ----------------------------------------------

def _edit_header(published: Published, tmp_path: Path, fmt: int = 2,
                 **fields: Any) -> Result:
    header, events = load(published.gm)
    if fmt == 1:
        header, events = as_format_1((header, events))
    header.update(fields)
    header = {k: v for k, v in header.items() if v is not _DROP}
    return replay(save((header, events), tmp_path / "edited.pack"))


_DROP = object()


@pytest.mark.parametrize(("fmt", "fields", "said"), [
    (2, {"contracts": ["PB-SIB-2010"]}, "contracts: the header lists ['PB-SIB-2010'], the "
     "events belong to ['GMHP-2017']"),
    (2, {"contracts": ["GMHP-2017", "PB-SIB-2010"]}, "contracts: the header lists"),
    (1, {"contracts": ["PB-SIB-2010"]}, "but the pack holds events of ['GMHP-2017']"),
    (2, {"contracts": ["GMHP-2017", "GMHP-2017"]}, "contracts: a contract is listed twice"),
    (2, {"generator": "<script>"}, "generator: got '<script>', expected 'outcomeledger "
     "VERSION'"),
    (2, {"as_of": "5"}, "position: 6 is after the header's as_of 5"),
    (2, {"as_of": "2018-01-01"}, "is after the header's as_of 2018-01-01"),
    (2, {"as_of": "yesterday"}, "as_of: expected a position or an ISO timestamp"),
    (2, {"ledger_head": "nonsense"}, "ledger_head: expected POSITION:SHA256"),
    (2, {"ledger_head": None}, "ledger_head: the header's stream heads hash to 38:"),
    (2, {"stream_heads": _DROP}, "stream_heads: missing (format 2 packs list"),
    (1, {"stream_heads": []}, "stream_heads: format 1 packs have none"),
    (1, {"ledger_head": "5:" + "a" * 64}, "ledger_head: at position 5, before the pack's "
     "last event at 12"),
])
def test_a_header_that_does_not_match_its_events_is_refused(
        published: Published, tmp_path: Path, fmt: int, fields: dict[str, Any],
        said: str) -> None:
    out = refused(_edit_header(published, tmp_path, fmt, **fields))
    assert said in out


def test_a_listed_stream_head_dropped_or_doubled_is_refused(published: Published,
                                                            tmp_path: Path) -> None:
    header, events = load(published.gm)
    others = [h for h in header["stream_heads"] if h[0] != "GMHP-2017"]
    out = refused(replay(save(({**header, "stream_heads": others}, events),
                              tmp_path / "a.pack")))
    assert "the header's stream heads say nothing of it" in out
    doubled = header["stream_heads"] + others[:1]
    out = refused(replay(save(({**header, "stream_heads": doubled}, events),
                              tmp_path / "b.pack")))
    assert "stream_heads: 'PB-SIB-2010' is listed twice" in out
