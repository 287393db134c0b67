"""`proj_payments_providers`: the chain down to each provider as a read model, and a ledger
projected by a version without that table brought up to it.

Given a contract whose network has terms and returns -> when the projections catch up ->
then one row per provider and period with activity, as `payments --provider` computes it.
"""

from __future__ import annotations

from contextlib import closing
from typing import Any

from ledgered import Ledgered, ledger, rows
from outcomeledger.app.ledger import open_ledger
from outcomeledger.projections import dump

__all__ = ["ledger"]

TERMS = """
[[providers]]
id = "P1"
name = "Provider one"
[providers.terms]
share = "0.75"
fee = "20"
"""

SELECT = ("SELECT period, provider, units, buyer_pays, share_part, prices_part, fee, owed, "
          "margin FROM proj_payments_providers ORDER BY period, provider")


def networked(ledger: Ledgered) -> None:
    result = ledger("contract", "vary", "C-IMP", ledger.write("v.toml", TERMS),
                    "--effective", "2020-04-01", "--reason", "network terms agreed")
    assert result.exit_code == 0, result.stderr
    ledger.imported("r.csv", rows("C-IMP,FY2020-Q1,P1,ENTRY,3", "C-IMP,FY2020-Q1,P2,ENTRY,1",
                                  "C-IMP,FY2020-Q2,P2,ENTRY,2",
                                  header="contract,period,provider,outcome,value\n"))


def provider_rows(ledger: Ledgered) -> list[tuple[Any, ...]]:
    with open_ledger(ledger.db) as opened, closing(opened.connect()) as conn:
        return [tuple(r) for r in conn.execute(SELECT).fetchall()]


def test_a_row_per_provider_and_period_with_activity(ledger: Ledgered) -> None:
    networked(ledger)
    assert provider_rows(ledger) == [
        # P1 is owed its fee in Q2 too: it was a member, though it returned nothing.
        ("FY2020-Q1", "P1", "3", "300.00", "225.00", None, "20.00", "245.00", "55.00"),
        ("FY2020-Q1", "P2", "1", "100.00", None, None, None, None, None),
        ("FY2020-Q2", "P1", "0", "0.00", "0.00", None, "20.00", "20.00", "-20.00"),
        ("FY2020-Q2", "P2", "2", "200.00", None, None, None, None, None)]


def test_a_ledger_projected_without_the_table_is_rebuilt_with_it(ledger: Ledgered) -> None:
    networked(ledger)
    with open_ledger(ledger.db) as opened, closing(opened.connect()) as conn:
        before = b"".join(dump(conn))
        # As an older version left it: the payments projection without this table.
        conn.execute("DROP TABLE proj_payments_providers")
    result = ledger("project")
    assert result.exit_code == 0, result.stderr
    with open_ledger(ledger.db) as opened, closing(opened.connect()) as conn:
        assert b"".join(dump(conn)) == before
