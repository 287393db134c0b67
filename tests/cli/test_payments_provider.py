"""`payments REF --provider ID` (DESIGN 10): the chain down to one provider, in every
format, through the command line."""

from __future__ import annotations

import json

from ledgered import Ledgered, ledger, rows

__all__ = ["ledger"]

TERMS = """
[[providers]]
id = "P1"
name = "Provider one"
kind = "vcse"
local = true
[providers.terms]
share = "0.75"
fee = "20"

[[providers]]
id = "P2"
name = "Provider two"
"""


def networked(ledger: Ledgered) -> None:
    variation = ledger.write("v.toml", TERMS)
    result = ledger("contract", "vary", "C-IMP", variation, "--effective", "2020-04-01",
                    "--reason", "network terms agreed")
    assert result.exit_code == 0, result.stderr
    header = "contract,period,provider,outcome,value\n"
    ledger.imported("r.csv", rows("C-IMP,FY2020-Q1,P1,ENTRY,3", "C-IMP,FY2020-Q1,P2,ENTRY,1",
                                  header=header))


def test_the_chain_as_json(ledger: Ledgered) -> None:
    networked(ledger)
    result = ledger("payments", "C-IMP", "--provider", "P1", "--format", "json")
    assert result.exit_code == 0, result.stderr
    chain = json.loads(result.stdout)
    assert chain["provider"] == {"id": "P1", "name": "Provider one", "kind": "vcse",
                                 "local": True, "joined": None, "left": None}
    assert chain["periods"] == [{
        "period": "FY2020-Q1", "units": "3", "buyer_pays": "300.00", "share_part": "225.00",
        "prices_part": None, "fee": "20.00", "owed": "245.00", "margin": "55.00"}]
    assert chain["totals"] == {"buyer_pays": "300.00", "owed": "245.00", "margin": "55.00"}


def test_a_provider_without_terms_shows_what_the_buyer_pays_and_no_more(
        ledger: Ledgered) -> None:
    networked(ledger)
    result = ledger("payments", "C-IMP", "--provider", "P2", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "period,units,buyer_pays,share_part,prices_part,fee,owed,margin",
        "FY2020-Q1,1,100.00,,,,,"]
