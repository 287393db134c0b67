"""`contract show --format table` (issue 20): the terms a reader checks against the signed
contract (payers, providers, fees, social value, targets, KPIs, options) and each
variation's changes in words, not raw JSON; the JSON output keeps its shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledgered import RISK, Ledgered

FULL = """\
reference = "C-FULL"
title = "Full contract"
buyer = "Test Council"
supplier = "Test Integrator Ltd"
start = 2020-04-01
end = 2022-03-31
cadence = "quarter"
payers = [
  { id = "DCMS", name = "Life Chances Fund", share = "0.425", commitment = "42500" },
  { id = "LA", name = "Local authority", share = "0.575", commitment = "57500", residue = true },
]
fees = [{ code = "MGMT", name = "Management fee", amount = "3000" }]
kpis = [{ code = "K1", name = "Calls answered", target = "95", rate = "0.01", cap = "0.1" }]

[[providers]]
id = "P1"
name = "Provider one"
kind = "vcse"
local = true
terms = { share = "0.8" }

[[providers]]
id = "P2"
name = "Provider two"
kind = "sme"
terms = { prices = { ENTRY = "90" }, fee = "250" }

[[social_value]]
code = "SV1"
name = "Local jobs"
mission = "Kickstart growth"
target = "60"
proxy_value = "14433"
unit = "people"

[[outcomes]]
code = "ENTRY"
name = "Entered work"
price = "100"
target = { FY2020-Q1 = 10, FY2020-Q2 = 10 }
unit = "people"

[[outcomes]]
code = "SUSTAIN"
name = "Sustained in work"
price = "300"
target = 40

[[extensions]]
id = "E1"
months = 12
decide_by = 2021-12-31
condition = { rating_at_least = "good", periods = 2 }
"""


@pytest.fixture
def full(tmp_path: Path) -> Ledgered:
    ledger = Ledgered(tmp_path)
    assert ledger("init").exit_code == 0
    result = ledger("contract", "agree", ledger.write("c.toml", FULL))
    assert result.exit_code == 0, result.stderr
    result = ledger("contract", "vary", "C-FULL",
                    ledger.write("v.toml", '[[outcomes]]\ncode = "ENTRY"\nprice = "150"\n'),
                    "--effective", "2020-07-01", "--reason", "re-priced")
    assert result.exit_code == 0, result.stderr
    return ledger


def shown(ledger: Ledgered) -> str:
    result = ledger("--width", "200", "contract", "show", "C-FULL", "--format", "table")
    assert result.exit_code == 0, result.stderr
    return result.stdout


def section(text: str, title: str) -> list[str]:
    """The lines of the table headed ``title`` (to the next blank line)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


def test_the_heading_is_three_lines_not_one_with_escapes(full: Ledgered) -> None:
    text = shown(full)
    assert "\\n" not in text
    assert text.splitlines()[0] == "C-FULL: Full contract"
    assert text.splitlines()[1].startswith("buyer Test Council; supplier Test Integrator Ltd")


def test_payers_providers_and_fees_are_shown(full: Ledgered) -> None:
    text = shown(full)
    payers = section(text, "Payers (GBP)")
    assert any("DCMS" in line and "42.5%" in line and "42,500.00" in line for line in payers)
    assert any("LA" in line and "57.5%" in line and line.rstrip().endswith("yes")
               for line in payers)
    providers = section(text, "Providers")
    assert any("P1" in line and "vcse" in line and "80% of what its figures earn" in line
               for line in providers)
    assert any("P2" in line and "prices ENTRY 90.00; fee 250.00 a period" in line
               for line in providers)
    assert "joined" not in providers[1]  # no provider has dates: no empty column
    fees = section(text, "Fees (GBP)")
    assert any("MGMT" in line and "3,000.00" in line and "per period" in line
               for line in fees)


def test_social_value_targets_kpis_and_options_are_shown(full: Ledgered) -> None:
    text = shown(full)
    assert any("SV1" in line and "60 people" in line and "14,433.00" in line
               for line in section(text, "Social value"))
    targets = section(text, "Targets")
    assert any("ENTRY" in line and "10 a period, FY2020-Q1 to FY2020-Q2 (2 period(s))" in line
               and "people" in line for line in targets)
    assert any("SUSTAIN" in line and "40 over the contract" in line for line in targets)
    assert any("K1" in line and "Calls answered" in line and "95" in line
               for line in section(text, "KPIs"))
    assert any("E1" in line and "12 months, decide by 2021-12-31" in line
               for line in section(text, "Options"))


def test_a_variation_reads_as_its_changes_in_words(full: Ledgered) -> None:
    variations = section(shown(full), "Variations")
    assert any("re-priced" in line and "ENTRY.price: 100 → 150" in line
               for line in variations)
    assert not any('{"outcomes"' in line for line in variations)


def test_the_json_keeps_its_shape(full: Ledgered) -> None:
    data = json.loads(full("contract", "show", "C-FULL", "--format", "json").stdout)
    assert sorted(data) == ["closed_on", "head_hash", "reference", "status", "terms",
                            "variations", "version"]
    assert data["variations"][0]["changes"] == {"outcomes": [{"code": "ENTRY",
                                                              "price": "150"}]}
    assert data["terms"]["payers"][0]["share"] == "0.425"


def test_the_risk_share_and_each_provider_s_targets_are_shown(tmp_path: Path) -> None:
    ledger = Ledgered(tmp_path, str(tmp_path / "ledger.db"))
    assert ledger("init").exit_code == 0
    text = RISK.replace('title = "', 'providers = [{ id = "P1", name = "One", terms = { '
                        'targets = { O1 = "40" } } }]\ntitle = "', 1)
    assert ledger("contract", "agree", ledger.write("c.toml", text)).exit_code == 0
    shown = ledger("--width", "300", "contract", "show", "C-RISK", "--format", "table")
    assert shown.exit_code == 0, shown.stderr
    assert "Risk shared on cost (GBP): target " in shown.stdout
    assert "targets O1 40" in shown.stdout
    lines = shown.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Risk shared on cost"))
    assert [line.split()[0] for line in lines[at + 3:at + 6]] == ["0", "0.9", "above"]
