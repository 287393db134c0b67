"""Closure stops the money (issue 18), as a new user found it: the `contract init`
template with a 2,500 management fee, three quarters of returns, closed early."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from outcomeledger.cli import cli

RETURNS = """contract,period,provider,outcome,value
MY-REF,FY2025-Q1,P1,START,30
MY-REF,FY2025-Q2,P1,START,28
MY-REF,FY2025-Q2,P1,JOB,10
MY-REF,FY2025-Q3,P1,START,20
MY-REF,FY2025-Q3,P1,JOB,10
MY-REF,FY2025-Q3,P1,SUSTAIN,1
"""


def test_closing_early_stops_the_fee_and_releases_retention_in_the_closing_quarter(
        tmp_path: Path) -> None:
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["--db", str(tmp_path / "l.db"), "--actor", "t", *args])
        assert result.exit_code == 0, result.stderr
        return result.stdout

    def payments() -> dict[str, object]:
        data: dict[str, object] = json.loads(run("payments", "MY-REF", "--format", "json"))
        return data

    contract = tmp_path / "c.toml"
    contract.write_text(run("contract", "init").replace('amount = "1500"', 'amount = "2500"'),
                        encoding="utf-8")
    (tmp_path / "r.csv").write_text(RETURNS, encoding="utf-8")
    run("init")
    run("contract", "agree", str(contract))  # ends 2027-03-31; fee 2,500; retention 5%
    run("returns", "import", str(tmp_path / "r.csv"))
    assert payments()["totals"] == {
        "earned": "49400.00", "above_cap": "0.00", "adjustments": "0.00", "fees": "7500.00",
        "retained": "2845.00", "payable": "54055.00", "certified": "0.00",
        "headroom": "200600.00"}
    run("contract", "close", "MY-REF", "--on", "2025-12-31", "--reason", "ended early")
    closed = payments()
    # Before issue 18: fees for five more quarters (12,500) and retention released in
    # FY2026-Q4, payable 69,400. Now: the quarters closed, retention released at closure.
    periods = closed["periods"]
    assert isinstance(periods, list)
    assert [p["period"] for p in periods] == ["FY2025-Q1", "FY2025-Q2", "FY2025-Q3"]
    assert (periods[-1]["fees"], periods[-1]["retained"], periods[-1]["payable"]) == (
        "2500.00", "-1720.00", "24220.00")  # 1,125 not withheld, 575 + 1,145 released
    assert closed["totals"] == {
        "earned": "49400.00", "above_cap": "0.00", "adjustments": "0.00", "fees": "7500.00",
        "retained": "0.00", "payable": "56900.00", "certified": "0.00",
        "headroom": "200600.00"}  # 54,055 + the 2,845 retention released
