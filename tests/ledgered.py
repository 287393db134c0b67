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

def rows(*lines: str, header: str = HEADER) -> str:
    return header + "".join(line + "\n" for line in lines)
