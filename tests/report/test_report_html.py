"""The HTML report: self-contained, accessible, and it renders in a real browser."""

from __future__ import annotations

import json
import os
import re
import subprocess
from html import unescape
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from outcomeledger.app.demo import build_demo, build_enf, build_gm, build_pb
from outcomeledger.app.ledger import open_ledger
from outcomeledger.app.report_source import Source
from outcomeledger.cli import cli
from outcomeledger.report import build_report
from outcomeledger.report.html import contract_html

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
         "--disable-sync", "--hide-scrollbars", f"--user-data-dir={tmp / 'profile'}",
         "--enable-logging=stderr", "--v=0", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "HOME": str(tmp)})


#: Measures the page as laid out and leaves the result on <body data-probe="...">: the
#: page's width against the viewport, and every SVG text whose box leaves its <svg>
#: (an inline SVG clips what is outside it). Added to a copy of the page only: the
#: report itself carries no script.
PROBE = """<script>(() => {
  const vw = window.innerWidth, doc = document.documentElement;
  const out = {viewport: vw, scrollWidth: doc.scrollWidth, height: doc.scrollHeight,
               clipped: [], wide: [], svgs: document.querySelectorAll("svg").length};
  for (const svg of document.querySelectorAll("svg")) {
    const box = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll("text")) {
      const r = t.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5
          || r.bottom > box.bottom + 0.5) out.clipped.push(t.textContent);
    }
  }
  if (doc.scrollWidth > vw) {  // name what sticks out, for the failure message
    for (const el of document.body.querySelectorAll("*")) {
      if (el.getBoundingClientRect().right > vw + 0.5 && !el.closest(".scroll"))
        out.wide.push(el.tagName + "." + el.className + "#" + el.id);
    }
  }
  parent.postMessage(JSON.stringify(out), "*");
})();</script>"""


def _host(page: Path, width: int, height: int) -> str:
    """A page holding ``page`` in a frame ``width`` px wide: headless Chromium's window is
    never narrower than 500 px, a frame is as narrow as asked. What the probe measures in
    the frame is posted here, to <body data-probe>."""
    return ("<!DOCTYPE html><html><head><style>body { margin: 0; background: #777; } "
            f"iframe {{ border: 0; display: block; width: {width}px; height: {height}px; "
            f'background: #fff; }}</style></head><body><iframe src="{page.name}"></iframe>'
            '<script>addEventListener("message", (e) => '
            'document.body.setAttribute("data-probe", e.data));</script></body></html>')

WIDTHS = (1400, 390)
DEMO = ("GMHP-2017", "PB-SIB-2010", "MHEP-ENF-2018", "NHF-HW-2022", "NHF-SCH-2022",
        "NCL-CL-2023", "--all", "--programme")


@pytest.fixture(scope="module")
def demo_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every report of the demo ledger as an HTML page: its contracts, the portfolio and
    its programme."""
    folder = tmp_path_factory.mktemp("demo-html")
    db = folder / "demo.db"
    with open_ledger(str(db), create=True) as ledger:
        build_demo(ledger)
        (programme,) = ledger.programme_references()
    out = {}
    for ref in DEMO:
        args = {"--all": ["--all"], "--programme": ["--programme", programme]}.get(ref, [ref])
        path = folder / f"{ref.strip('-')}.html"
        result = CliRunner().invoke(cli, ["--db", str(db), "report", *args, "--format",
                                          "html", "--output", str(path)])
        assert result.exit_code == 0, result.output
        out[ref] = path
    return out


def _console(run: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in run.stderr.splitlines()
            if "CONSOLE" in line or "Uncaught" in line]


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium "
                    "(apt-get install chromium); CI installs it")
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("ref", DEMO)
def test_every_demo_report_fits_the_screen_in_chromium_with_nothing_clipped(
        demo_pages: dict[str, Path], ref: str, width: int, tmp_path: Path) -> None:
    """At a desktop's 1400 px and a phone's 390 px: no sideways scrolling of the page (a
    wide table scrolls in its own box), no chart text cut off at its SVG's edge, no
    console error; the screenshot of the whole page is left in the test's folder."""
    html = demo_pages[ref].read_text(encoding="utf-8")
    (tmp_path / "probed.html").write_text(html.replace("</body>", PROBE + "</body>"),
                                          encoding="utf-8")
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    host = tmp_path / "host.html"
    host.write_text(_host(tmp_path / "probed.html", width, 900), encoding="utf-8")
    window = f"--window-size={max(width, 500)},900"
    dom = _chromium(host, tmp_path, window, "--virtual-time-budget=5000", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _console(dom) == []
    found = re.search(r'data-probe="([^"]*)"', dom.stdout)
    assert found is not None, dom.stdout[-2000:]
    probe = json.loads(unescape(found[1]))
    assert probe["viewport"] == width
    assert probe["scrollWidth"] <= width, probe["wide"][:10]
    assert probe["clipped"] == []
    assert probe["svgs"] == html.count("<svg")
    shot = tmp_path / f"{ref.strip('-')}-{width}.png"
    height = min(probe["height"], 16000)
    host.write_text(_host(tmp_path / "page.html", width, height), encoding="utf-8")
    run = _chromium(host, tmp_path, f"--screenshot={shot}", "--virtual-time-budget=5000",
                    f"--window-size={max(width, 500)},{height}")
    assert run.returncode == 0, run.stderr[-2000:]
    assert _console(run) == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium "
                    "(apt-get install chromium); CI installs it")
@pytest.mark.parametrize("ref", ["GMHP-2017", "MHEP-ENF-2018"])
def test_headless_chromium_renders_the_contract_page_with_both_charts(
        pages: dict[str, Path], ref: str, tmp_path: Path) -> None:
    dom = _chromium(pages[ref], tmp_path, "--dump-dom")
    assert dom.returncode == 0
    assert _console(dom) == []
    assert "<h1>" in dom.stdout
    assert "Payments against caps" in dom.stdout
    assert dom.stdout.count("<svg") == 4  # each chart for a screen and for a phone


def test_text_from_the_ledger_reaches_the_page_escaped(tmp_path: Path) -> None:
    """The templates autoescape: a title, a party's name or a rating written by a user
    is text on the page, never markup."""
    with open_ledger(str(tmp_path / "ledger.db"), create=True) as ledger:
        build_gm(ledger)
        report = build_report(ledger.get("GMHP-2017"), Source(ledger).head())
    hostile = '<script>alert("x")</script> & <b>'
    html = contract_html(msgspec.structs.replace(report, title=hostile, buyer=hostile))
    assert "<script" not in html
    assert "<b>" not in html
    assert ("<h1>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;</h1>"
            in html)
    assert html.count("&lt;script&gt;") == 2
