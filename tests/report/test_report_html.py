"""The HTML report: self-contained, accessible, and it renders in a real browser."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from outcomeledger.app.demo import build_enf, build_gm, build_pb
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli

CHROMIUM = Path("/usr/bin/chromium")
REFS = ("GMHP-2017", "PB-SIB-2010", "MHEP-ENF-2018")


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("html")
    db = folder / "ledger.db"
    with open_ledger(str(db), create=True) as ledger:
        build_gm(ledger)
        build_pb(ledger)
        build_enf(ledger)
    out = {}
    for ref in (*REFS, "--all"):
        path = folder / f"{ref.strip('-')}.html"
        args = ["report", "--all"] if ref == "--all" else ["report", ref]
        result = CliRunner().invoke(cli, ["--db", str(db), *args, "--output", str(path)])
        assert result.exit_code == 0, result.output
        out[ref] = path
    return out


@pytest.mark.parametrize("ref", [*REFS, "--all"])
def test_the_page_needs_nothing_from_outside(pages: dict[str, Path], ref: str) -> None:
    html = pages[ref].read_text(encoding="utf-8")
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#|data:)""", html)  # only anchors
    assert "@import" not in html
    assert "url(" not in html
    urls = set(re.findall(r"https?://[^\s\"'<)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched


@pytest.mark.parametrize("ref", [*REFS, "--all"])
def test_every_table_has_a_caption_and_every_chart_a_text_alternative(
        pages: dict[str, Path], ref: str) -> None:
    html = pages[ref].read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in html
    assert html.count("<h1>") == 1
    assert "<h2" in html
    assert html.count("<table>") == html.count("<caption>") > 0
    for svg in re.findall(r"<svg[^>]*>.*?</svg>", html, flags=re.S):
        ident = re.search(r'aria-labelledby="([^ "]+)-title', svg)
        assert ident is not None
        assert 'role="img"' in svg
        assert f'<title id="{ident[1]}-title">' in svg
        assert f'<desc id="{ident[1]}-desc">' in svg
    assert "@media print" in html


def test_the_gm_page_shows_the_cap_binding(pages: dict[str, Path]) -> None:
    html = pages["GMHP-2017"].read_text(encoding="utf-8")
    assert "Cumulative payable reaches 2,629,000.00 GBP against a contract cap of " \
           "2,629,000.00 GBP" in html
    assert "absorbed by cap" in html
    assert "audit verify --head 38:" in html


def _chromium(page: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr",
         "--v=0", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "HOME": str(tmp)})


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium "
                    "(apt-get install chromium); CI installs it")
@pytest.mark.parametrize("ref", ["GMHP-2017", "MHEP-ENF-2018"])
def test_headless_chromium_renders_the_report_without_console_errors(
        pages: dict[str, Path], ref: str, tmp_path: Path) -> None:
    shot = tmp_path / f"{ref}.png"
    run = _chromium(pages[ref], tmp_path, f"--screenshot={shot}", "--window-size=1280,2000")
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines()
               if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000
    dom = _chromium(pages[ref], tmp_path, "--dump-dom")
    assert dom.returncode == 0
    assert "<h1>" in dom.stdout
    assert "Payments against caps" in dom.stdout
    assert dom.stdout.count("<svg") == 2
