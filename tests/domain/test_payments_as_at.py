"""``payments --as-at DATE``: the payments as the contract stood on a business date.

The periods begun by then (whole: a payment is computed per period), totals through
them, and the contract cap in force that day, variations effective later excluded.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import outcomeledger
from outcomeledger.app.demo import build_demo
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli

GM = "GMHP-2017"


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = str(tmp_path / "ledger.db")
    with open_ledger(url, create=True) as ledger:
        build_demo(ledger)
    return url


def payments(db: str, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--db", db, "payments", GM, "--format", "json", *args])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_as_at_keeps_the_periods_begun_by_then_with_their_totals(db: str) -> None:
    live = payments(db)
    then = payments(db, "--as-at", "2019-03-31")
    assert [p["period"] for p in then["periods"]][-1] == "FY2018-Q4"
    begun = [p for p in live["periods"] if p["period"] <= "FY2018-Q4"]
    assert then["periods"] == begun  # same amounts: only later periods are dropped
    assert len(then["periods"]) < len(live["periods"])
    for field in ("earned", "payable", "certified"):
        assert Decimal(then["totals"][field]) == sum(Decimal(p[field]) for p in begun)
    assert then["totals"]["payable"] != live["totals"]["payable"]


def test_as_at_applies_the_cap_in_force_that_day(tmp_path: Path) -> None:
    db = str(tmp_path / "open.db")
    data = Path(outcomeledger.__file__).parent / "demo_data"

    def run(*args: str) -> None:
        result = CliRunner().invoke(cli, ["--db", db, *args])
        assert result.exit_code == 0, result.output

    run("init")
    run("contract", "agree", str(data / "gm.toml"))
    for quarter in ("FY2017-Q4", "FY2018-Q4", "FY2019-Q4"):
        run("returns", "import", str(data / f"gm_{quarter}.csv"))
    raise_cap = tmp_path / "cap.toml"
    raise_cap.write_text('max_value = "3000000"\n', encoding="utf-8")
    run("contract", "vary", GM, str(raise_cap), "--effective", "2020-01-01",
        "--reason", "uplift agreed")
    before, after = payments(db, "--as-at", "2019-12-31"), payments(db, "--as-at", "2020-01-01")
    for then, cap in ((before, 2629000), (after, 3000000)):
        paid = Decimal(then["totals"]["earned"]) - Decimal(then["totals"]["above_cap"])
        assert Decimal(then["totals"]["headroom"]) == Decimal(cap) - paid
    assert after["periods"][-1]["period"] == "FY2019-Q4"
    assert after["periods"][:-1] == before["periods"]


def test_as_at_before_the_start_is_refused(db: str) -> None:
    result = CliRunner().invoke(cli, ["--db", db, "payments", GM, "--as-at", "2016-01-01"])
    assert result.exit_code == 1
    assert "nothing was in force on 2016-01-01" in result.output


def test_as_at_takes_a_date_only(db: str) -> None:
    result = CliRunner().invoke(cli, ["--db", db, "payments", GM, "--as-at", "31/03/2019"])
    assert result.exit_code != 0
    assert "--as-at" in result.output
