"""A ledger driven through the command line, with contract C-IMP agreed: shared by the
import, CLI and bad-input tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli

CONTRACT = """\
reference = "C-IMP"
title = "Import test contract"
buyer = "Test Council"
supplier = "Test Supplier Ltd"
start = 2020-04-01
end = 2021-03-31
claims_until = 2021-05-15
cadence = "quarter"
providers = [{ id = "P1", name = "Provider one" }, { id = "P2", name = "Provider two" }]

[[outcomes]]
code = "ENTRY"
name = "Entered work"
price = "100"
unit = "people"

[[outcomes]]
code = "SUSTAIN"
name = "Sustained in work"
price = "300"
requires = ["ENTRY"]
unit = "people"

[[outcomes]]
code = "WB"
name = "Wellbeing check"
price = "10"
once_per_participant = false
"""

HEADER = "contract,period,outcome,value\n"

#: A contract with extension and break options (DESIGN 11): O1's target is 10 a quarter
#: through FY2025, O2's is 5 in FY2024-Q1 only. E1 (good over the last 2 periods) holds
#: on the figures of ``FLEX_RETURNS`` from 2025-04-01; E3 (over 4) fails on O2's 3 of 5 in
#: FY2024-Q1; E2's decide_by is 2025-06-30; B1 closes the contract on 2026-03-31.
FLEX = """\
reference = "C-FLEX"
title = "Flexible contract"
buyer = "Test Council"
supplier = "Test Supplier Ltd"
start = 2024-04-01
end = 2027-03-31
claims_until = 2027-05-15
cadence = "quarter"

[[outcomes]]
code = "O1"
name = "Into work"
price = "100"
[outcomes.target]
FY2024-Q1 = 10
FY2024-Q2 = 10
FY2024-Q3 = 10
FY2024-Q4 = 10
FY2025-Q1 = 10
FY2025-Q2 = 10
FY2025-Q3 = 10
FY2025-Q4 = 10

[[outcomes]]
code = "O2"
name = "Housed"
price = "50"
target = { FY2024-Q1 = 5 }

[[extensions]]
id = "E1"
months = 12
decide_by = 2026-03-31
condition = { rating_at_least = "good", periods = 2 }

[[extensions]]
id = "E2"
months = 6
decide_by = 2025-06-30
condition = { rating_at_least = "requires improvement", periods = 1 }

[[extensions]]
id = "E3"
months = 6
decide_by = 2026-12-31
condition = { rating_at_least = "approaching target", periods = 4 }

[[breaks]]
id = "B1"
on = 2026-03-31
condition = { rating_at_least = "requires improvement", periods = 2 }
"""
FLEX_RETURNS = HEADER + "".join(
    f"C-FLEX,{q},O1,{v}\n" for q, v in (("FY2024-Q1", 10), ("FY2024-Q2", 9),
                                        ("FY2024-Q3", 10), ("FY2024-Q4", 11))
) + "C-FLEX,FY2024-Q1,O2,3\n"

#: A contract sharing risk on cost (DESIGN 11): target 800,000 over eight quarters
#: (100,000 a quarter), bands 0.25 below 0.9 of target, 0.5 to 1.1, 0.8 above; the
#: supplier bears at most 30,000 of an overrun (the `[risk_share]` from line 14).
RISK = """\
reference = "C-RISK"
title = "Risk-shared contract"
buyer = "Test Council"
supplier = "Test Supplier Ltd"
start = 2024-04-01
end = 2026-03-31
cadence = "quarter"

[[outcomes]]
code = "O1"
name = "Into work"
price = "100"

[risk_share]
target_cost = "800000"
pain_cap = "30000"
bands = [
  { upto = "0.9", supplier_share = "0.25" },
  { upto = "1.1", supplier_share = "0.5" },
  { supplier_share = "0.8" },
]
"""
COST_HEADER = "contract,period,category,amount,evidence\n"


class Ledgered:
    """A ledger with contract C-IMP agreed, driven through the command line; files go to
    ``tmp_path``, the ledger to ``url`` (default: a SQLite file there)."""

    def __init__(self, tmp_path: Path, url: str | None = None) -> None:
        self.tmp = tmp_path
        self.db = url or str(tmp_path / "ledger.db")
        self.runner = CliRunner()

    def __call__(self, *args: str, stdin: bytes | None = None) -> Result:
        return self.runner.invoke(cli, ["--db", self.db, "--actor", "tester", *args],
                                  input=stdin)

    def write(self, name: str, content: str | bytes) -> str:
        path = self.tmp / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return str(path)

    def events(self) -> int:
        with open_ledger(self.db) as ledger:
            return ledger.max_position()

    def imported(self, name: str, content: str | bytes, *args: str) -> Result:
        """Import one file, which must be accepted."""
        result = self("returns", "import", self.write(name, content), *args)
        assert result.exit_code == 0, result.stderr
        return result

    def receipts(self, *args: str) -> list[dict[str, object]]:
        result = self("returns", "import", *args, "--format", "json")
        assert result.exit_code == 0, result.stderr
        receipts: list[dict[str, object]] = json.loads(result.stdout)
        return receipts

@pytest.fixture
def ledger(tmp_path: Path, ledger_url: str) -> Ledgered:
    """On both backends: every refusal must leave a PostgreSQL ledger as it was, too."""
    ledgered = Ledgered(tmp_path, ledger_url)
    assert ledgered("init").exit_code == 0
    result = ledgered("contract", "agree", ledgered.write("c.toml", CONTRACT))
    assert result.exit_code == 0, result.stderr
    return ledgered

def with_contract(tmp_path: Path, definition: str) -> Ledgered:
    """A new SQLite ledger in ``tmp_path`` with ``definition`` agreed."""
    ledgered = Ledgered(tmp_path)
    assert ledgered("init").exit_code == 0
    result = ledgered("contract", "agree", ledgered.write("contract.toml", definition))
    assert result.exit_code == 0, result.stderr
    return ledgered


def rows(*lines: str, header: str = HEADER) -> str:
    return header + "".join(line + "\n" for line in lines)
