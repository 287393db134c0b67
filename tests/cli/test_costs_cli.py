"""costs import through the command line (DESIGN 11, shared risk on cost): the returns
import's atomicity, idempotence, restatement and receipt rules, and the gain_share /
pain_share lines in payments, payments explain and the payments read model."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from ledgered import COST_HEADER, RISK, Ledgered, with_contract
from outcomeledger.imports import costs as costs_file
from outcomeledger.imports import key_meanings
from outcomeledger.imports.contract_template import TEMPLATE


@pytest.fixture
def risk(tmp_path: Path) -> Ledgered:
    return with_contract(tmp_path, RISK)


def attempt(ledger: Ledgered, name: str, *rows: str, args: tuple[str, ...] = ()
            ) -> tuple[int, str, str]:
    """Import a costs file of ``rows``: the exit code, stdout and stderr."""
    path = ledger.write(name, COST_HEADER + "".join(r + "\n" for r in rows))
    result = ledger("costs", "import", path, *args, "--format", "json")
    return result.exit_code, result.stdout, result.stderr


def costs(ledger: Ledgered, name: str, *rows: str, args: tuple[str, ...] = ()
          ) -> list[dict[str, object]]:
    """Import a costs file of ``rows``, which must be accepted: its receipts."""
    code, out, err = attempt(ledger, name, *rows, args=args)
    assert code == 0, err
    receipts: list[dict[str, object]] = json.loads(out)
    return receipts


def payments(ledger: Ledgered) -> dict[str, dict[str, str]]:
    result = ledger("payments", "C-RISK", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return {p["period"]: p for p in json.loads(result.stdout)["periods"]}


Q1 = ("C-RISK,FY2024-Q1,staff,70000,inv-1", "C-RISK,FY2024-Q1,premises,10000,")


def test_costs_give_a_gain_share_shown_by_payments_and_explained(risk: Ledgered) -> None:
    receipts = costs(risk, "q1.csv", *Q1, args=("--received-on", "2024-07-10"))
    assert {k: receipts[0][k] for k in ("rows", "added", "returns", "events", "late")} == {
        "rows": 2, "added": 2, "returns": 1, "events": 1, "late": 0}
    assert payments(risk)["FY2024-Q1"]["adjustments"] == "7500.00"
    explained = risk("payments", "explain", "C-RISK", "--period", "FY2024-Q1", "--format",
                     "json")
    [step] = json.loads(explained.stdout)["other"]
    assert (step["step"], step["amount"], step["events"]) == ("gain_share", "7500.00", ["v2"])
    with closing(sqlite3.connect(risk.db)) as conn:
        [(steps,)] = conn.execute("SELECT steps FROM proj_payments_lines WHERE contract = "
                                  "'C-RISK' AND period = 'FY2024-Q1' AND line = 0").fetchall()
    assert [(s["step"], s["amount"]) for s in json.loads(steps)] == [("gain_share", "7500.00")]
    log = risk("audit", "log", "C-RISK", "--type", "CostsReported", "--format", "json")
    assert "costs FY2024-Q1: staff 70000; premises 10000" in log.stdout


def test_costs_received_after_the_returns_were_due_are_late(risk: Ledgered) -> None:
    receipts = costs(risk, "q1.csv", *Q1, args=("--received-on", "2024-08-05"))
    assert (receipts[0]["late"], receipts[0]["late_returns"]) == (
        1, ["C-RISK FY2024-Q1: 6 day(s) late"])  # due 2024-07-30


def test_reimporting_the_same_costs_is_a_no_op(risk: Ledgered) -> None:
    costs(risk, "q1.csv", *Q1)
    before = risk.events()
    receipts = costs(risk, "again.csv", *Q1)
    assert (receipts[0]["unchanged"], receipts[0]["events"]) == (2, 0)
    assert risk.events() == before


def test_a_changed_amount_needs_restate_and_reason_then_flows_into_payments(
        risk: Ledgered) -> None:
    costs(risk, "q1.csv", *Q1)
    before = risk.events()
    code, _, said = attempt(risk, "r.csv", "C-RISK,FY2024-Q1,staff,95000,")
    assert code == 1
    assert ("r.csv:2: amount: FY2024-Q1 staff was recorded as 70000; a different amount "
            "needs --restate --reason (got 95000)") in said
    assert attempt(risk, "r.csv", "C-RISK,FY2024-Q1,staff,95000,", args=("--restate",))[0] == 2
    assert risk.events() == before
    receipts = costs(risk, "r.csv", "C-RISK,FY2024-Q1,staff,95000,",
                     args=("--restate", "--reason", "invoice found"))
    assert (receipts[0]["restated"], receipts[0]["events"]) == (1, 1)
    # 105,000 against 100,000: 5,000 over at 0.5.
    assert payments(risk)["FY2024-Q1"]["adjustments"] == "-2500.00"


def test_an_import_with_any_bad_file_writes_nothing(risk: Ledgered) -> None:
    good = risk.write("good.csv", COST_HEADER + "\n".join(Q1) + "\n")
    bad = risk.write("bad.ndjson", '{"contract":"C-RISK","period":"FY2024-Q2",'
                                   '"category":"staff","amount":"-1"}\n')
    before = risk.events()
    result = risk("costs", "import", good, bad)
    assert result.exit_code == 1
    assert "bad.ndjson:1: amount: not money spent (got -1" in result.stderr
    assert "nothing was written" in result.stderr
    assert risk.events() == before
    dry = risk("costs", "import", good, "--dry-run", "--format", "json")
    assert dry.exit_code == 0
    assert json.loads(dry.stdout)[0]["added"] == 2
    assert risk.events() == before


def test_costs_and_returns_files_are_told_apart(risk: Ledgered) -> None:
    result = risk("costs", "import", risk.write(
        "r.csv", "contract,period,outcome,value\nC-RISK,FY2024-Q1,O1,1\n"))
    assert result.exit_code == 1
    assert "category" in result.stderr
    assert "Traceback" not in result.output


def test_every_column_of_a_costs_row_has_a_meaning() -> None:
    assert tuple(key_meanings.COST_ROW) == (*costs_file.REQUIRED, *costs_file.OPTIONAL)


def test_the_templates_risk_share_agrees_when_uncommented(tmp_path: Path) -> None:
    head, example = TEMPLATE.split("# [risk_share]\n")
    text = head + "[risk_share]\n" + "".join(line.removeprefix("# ") + "\n"
                                             for line in example.splitlines())
    ledger = with_contract(tmp_path, text)
    shown = ledger("contract", "show", ledger_reference(text), "--format", "json")
    assert '"target_cost":"2000000"' in shown.stdout.replace(" ", "")


def ledger_reference(text: str) -> str:
    return text.split('reference = "')[1].split('"', maxsplit=1)[0]
