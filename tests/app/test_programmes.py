"""Programmes (DESIGN 10): one budget above several contracts, drawn on atomically by
each payment run, never overdrawn (not even by runs racing in separate processes), paid
by its funders; and the rules that prove it in `audit verify`."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from backends import Db
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.domain.programme.events import ProgrammeDrawn

CLI = [sys.executable, "-c", "from outcomeledger.cli import main; main()"]

PROGRAMME = """\
reference = "FCF"
title = "Fair Chance Fund"
currency = "GBP"
start = 2020-04-01
end = 2024-03-31
budget = "15000"
funders = [
  { id = "DCLG", name = "Department for Communities and Local Government", commitment = "10000" },
  { id = "CO", name = "Cabinet Office", commitment = "5000" },
]
"""


def contract(reference: str, programme: str = "FCF", currency: str = "GBP") -> str:
    return f"""\
reference = "{reference}"
title = "Youth homelessness {reference}"
buyer = "DCLG"
supplier = "Provider {reference}"
start = 2020-04-01
end = 2023-03-31
cadence = "quarter"
currency = "{currency}"
programme = "{programme}"

[[outcomes]]
code = "ACC"
name = "Entered accommodation"
price = "1000"
"""


class Programme:
    def __init__(self, tmp: Path, url: str) -> None:
        self.tmp, self.url = tmp, url

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", self.url, "--actor", "tester", *args])

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return result

    def file(self, name: str, text: str) -> str:
        (self.tmp / name).write_text(text, encoding="utf-8")
        return str(self.tmp / name)

    def returns(self, name: str, *lines: str) -> None:
        self.ok("returns", "import", self.file(name, "contract,period,outcome,value\n"
                                               + "\n".join(lines) + "\n"))

    def certify(self, reference: str, period: str) -> dict[str, str]:
        out: dict[str, str] = json.loads(self.ok("payments", "certify", reference, "--period",
                                                 period, "--format", "json").stdout)
        return out

    def show(self) -> dict[str, object]:
        out: dict[str, object] = json.loads(self.ok("programme", "show", "FCF", "--format",
                                                    "json").stdout)
        return out

    def events(self) -> int:
        with open_ledger(self.url) as ledger:
            return ledger.max_position()


def agreed(tmp: Path, url: str, *contracts: str) -> Programme:
    p = Programme(tmp, url)
    p.ok("init")
    p.ok("programme", "agree", p.file("fcf.toml", PROGRAMME))
    for reference in contracts:
        p.ok("contract", "agree", p.file(f"{reference}.toml", contract(reference)))
    return p


@pytest.fixture
def fcf(tmp_path: Path) -> Programme:
    return agreed(tmp_path, str(tmp_path / "ledger.db"), "YH-A", "YH-B")


def test_each_run_draws_on_the_programme_and_funders_pay_by_commitment(
        fcf: Programme) -> None:
    fcf.returns("q1.csv", "YH-A,FY2020-Q1,ACC,6", "YH-B,FY2020-Q1,ACC,3")
    assert fcf.certify("YH-A", "FY2020-Q1")["amount"] == "6000.00"
    assert fcf.certify("YH-B", "FY2020-Q1")["amount"] == "3000.00"
    shown = fcf.show()
    assert (shown["budget"], shown["certified"], shown["headroom"], shown["above_budget"]) == (
        "15000.00", "9000.00", "6000.00", "0.00")
    assert shown["funders"] == [
        {"id": "DCLG", "name": "Department for Communities and Local Government",
         "commitment": "10000.00", "drawn": "6000.00", "remaining": "4000.00"},
        {"id": "CO", "name": "Cabinet Office", "commitment": "5000.00", "drawn": "3000.00",
         "remaining": "2000.00"}]
    with open_ledger(fcf.url) as ledger:
        draws = [s.event for s in ledger.feed() if isinstance(s.event, ProgrammeDrawn)]
    assert [(d.contract, d.amount, d.drawn_total) for d in draws] == [
        ("YH-A", Decimal("6000.00"), Decimal("6000.00")),
        ("YH-B", Decimal("3000.00"), Decimal("9000.00"))]


def test_a_run_past_the_budget_certifies_the_headroom_and_reports_the_rest(
        fcf: Programme) -> None:
    fcf.returns("q1.csv", "YH-A,FY2020-Q1,ACC,9", "YH-B,FY2020-Q1,ACC,9")
    fcf.certify("YH-A", "FY2020-Q1")
    run = fcf.certify("YH-B", "FY2020-Q1")
    assert (run["amount"], run["above_budget"]) == ("6000.00", "3000.00")
    shown = fcf.show()
    assert (shown["certified"], shown["headroom"], shown["above_budget"]) == (
        "15000.00", "0.00", "3000.00")
    # Nothing changed and the budget is spent: a second run is refused, nothing written.
    before = fcf.events()
    again = fcf("payments", "certify", "YH-B", "--period", "FY2020-Q1")
    assert again.exit_code == 1
    assert "no budget left for the 3000.00 above it" in again.output
    assert fcf.events() == before
    # The budget raised: the next run pays what was above it (never lost).
    fcf.ok("programme", "vary", "FCF", fcf.file("up.toml", 'budget = "20000"\nfunders = [\n'
           '  { id = "DCLG", name = "DCLG", commitment = "14000" },\n'
           '  { id = "CO", name = "Cabinet Office", commitment = "6000" },\n]\n'),
           "--effective", "2021-04-01", "--reason", "top-up agreed")
    paid = fcf.certify("YH-B", "FY2020-Q1")
    assert (paid["amount"], paid.get("above_budget")) == ("3000.00", None)
    assert paid["true_up"] == "0.00"  # carried, not a correction of certified periods
    assert fcf.show()["certified"] == "18000.00"
    verified = fcf("audit", "verify", "--format", "json")
    assert verified.exit_code == 0, verified.output
    # The read models downstream systems query: one row per draw, one per funder's part,
    # money summing exactly in minor units.
    with sqlite3.connect(fcf.url) as conn:
        draws = conn.execute("SELECT contract, amount, above_budget, drawn_total, budget, "
                             "headroom FROM proj_programme_draws ORDER BY position").fetchall()
        by_funder = conn.execute("SELECT funder, SUM(amount_minor) FROM "
                                 "proj_programme_funder_draws GROUP BY funder ORDER BY funder"
                                 ).fetchall()
    assert draws == [("YH-A", "9000.00", "0.00", "9000.00", "15000.00", "6000.00"),
                     ("YH-B", "6000.00", "3000.00", "15000.00", "15000.00", "0.00"),
                     ("YH-B", "3000.00", "0.00", "18000.00", "20000.00", "2000.00")]
    # 15,000 drawn at 2:1 (10,000 / 5,000), then 3,000 at 14:6 of 18,000 in all.
    assert by_funder == [("CO", 540000), ("DCLG", 1260000)]


def test_payments_and_the_report_say_what_is_above_the_budget(fcf: Programme) -> None:
    fcf.returns("q1.csv", "YH-A,FY2020-Q1,ACC,9", "YH-B,FY2020-Q1,ACC,9")
    fcf.certify("YH-A", "FY2020-Q1")
    fcf.certify("YH-B", "FY2020-Q1")
    shown = json.loads(fcf.ok("payments", "YH-B", "--format", "json").stdout)
    assert (shown["programme"], shown["totals"]["above_budget"],
            shown["totals"]["certified"]) == ("FCF", "3000.00", "6000.00")
    table = fcf.ok("payments", "YH-B", "--format", "table").stdout
    assert "Paid from programme FCF: 3,000.00 owed at the last payment run (FY2020-Q1) is " \
           "above the programme's budget" in table
    page = fcf.ok("report", "--programme", "FCF", "--format", "html").stdout
    assert page.startswith("<!DOCTYPE html>")
    assert "<h1>FCF: Fair Chance Fund</h1>" in page
    # Money in the programme's currency, as on the contract pages (issue 20), and where the
    # page came from.
    assert "<dd>£3,000.00</dd>" in page  # owed above the budget
    assert "<dd>£15,000.00 (100.0% of the budget)</dd>" in page
    assert '<td class="num">£6,000.00</td>' in page  # YH-B's certified, in the table
    assert re.search(r"Generated \S+ from ledger head \d+:[0-9a-f]{64} by outcomeledger", page)
    csv_text = fcf.ok("report", "--programme", "FCF", "--format", "csv").stdout
    assert "YH-B,Youth homelessness YH-B,true,9000.00,9000.00,6000.00,3000.00,FY2020-Q1," \
           in csv_text


def test_the_report_folds_the_streams_when_the_read_models_are_behind(fcf: Programme) -> None:
    """Live, the report reads its contracts' figures from the read models; behind the
    ledger (a bulk load with projections off), it folds the streams: the same report."""
    fcf.returns("q1.csv", "YH-A,FY2020-Q1,ACC,9", "YH-B,FY2020-Q1,ACC,9")
    fcf.certify("YH-A", "FY2020-Q1")
    live = fcf.ok("report", "--programme", "FCF", "--format", "json").stdout
    with sqlite3.connect(fcf.url) as conn:  # rows not yet brought up to date
        conn.execute("UPDATE proj_payments_totals SET payable = '1.00'")
        conn.execute("UPDATE tracking SET notification_id = 1 "
                     "WHERE application_name = 'proj_payments'")
    assert fcf.ok("report", "--programme", "FCF", "--format", "json").stdout == live


def test_the_feed_gives_a_programmes_events_alone(fcf: Programme) -> None:
    fcf.returns("q1.csv", "YH-A,FY2020-Q1,ACC,2")
    fcf.certify("YH-A", "FY2020-Q1")
    feed = [json.loads(line) for line in
            fcf.ok("events", "--programme", "FCF").stdout.splitlines()]
    assert [(e["position"], e["contract"], e["type"]) for e in feed] == [
        (1, "FCF", "ProgrammeAgreed"), (6, "FCF", "ProgrammeDrawn")]
    assert feed[1]["prev_hash"] == feed[0]["hash"]  # the programme's own chain
    assert feed[1]["data"]["contract"] == "YH-A"
    # The contract's feed has its run, not the programme's draw.
    runs = [json.loads(line)["type"] for line in
            fcf.ok("events", "--contract", "YH-A").stdout.splitlines()]
    assert runs == ["ContractAgreed", "ReturnSubmitted", "PaymentCertified"]


def test_a_contract_outside_any_programme_pays_as_before(tmp_path: Path) -> None:
    p = agreed(tmp_path, str(tmp_path / "l.db"))
    p.ok("contract", "agree", p.file("c.toml", contract("SOLO").replace(
        'programme = "FCF"\n', "")))
    p.returns("r.csv", "SOLO,FY2020-Q1,ACC,20")
    run = p.certify("SOLO", "FY2020-Q1")
    assert (run["amount"], run.get("above_budget")) == ("20000.00", None)
    with open_ledger(p.url) as ledger:
        assert b"programme" not in list(ledger.feed())[-1].state


@pytest.mark.parametrize(("text", "where", "message"), [
    (contract("X", programme="NOPE"), "programme", "no programme 'NOPE'"),
    (contract("X", currency="EUR"), "programme", "is in GBP, the contract in EUR"),
])
def test_a_contract_joining_a_programme_is_checked(fcf: Programme, text: str, where: str,
                                                   message: str) -> None:
    before = fcf.events()
    result = fcf("contract", "agree", fcf.file("x.toml", text))
    assert result.exit_code == 1
    assert f"x.toml:9: {where}: " in result.output
    assert message in result.output
    assert fcf.events() == before


@pytest.mark.parametrize(("change", "line", "message"), [
    ('budget = "16000"', "budget", "funders: commitments must sum to the budget"),
    ('budget = "0"', "budget", "budget: must be more than 0"),
    ('currency = "gbp"', "currency", "currency: expected an ISO 4217 code"),
])
def test_bad_programmes_are_refused_with_their_lines(tmp_path: Path, change: str, line: str,
                                                     message: str) -> None:
    p = Programme(tmp_path, str(tmp_path / "l.db"))
    p.ok("init")
    key = change.split(" = ", maxsplit=1)[0]
    text = "\n".join(change if ln.startswith(key + " =") else ln
                     for ln in PROGRAMME.splitlines()) + "\n"
    result = p("programme", "agree", p.file("bad.toml", text))
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert p.events() == 0


def test_a_budget_cannot_be_cut_below_what_is_certified(fcf: Programme) -> None:
    fcf.returns("q1.csv", "YH-A,FY2020-Q1,ACC,9")
    fcf.certify("YH-A", "FY2020-Q1")
    before = fcf.events()
    result = fcf("programme", "vary", "FCF", fcf.file("cut.toml", 'budget = "5000"\nfunders = '
                 '[{ id = "DCLG", name = "DCLG", commitment = "5000" }]\n'),
                 "--effective", "2021-04-01", "--reason", "cut")
    assert result.exit_code == 1
    assert "budget: below what the programme has already certified (got 5000, certified " \
           "9000.00)" in result.output
    assert fcf.events() == before


def test_verify_finds_a_forged_draw(fcf: Programme, tmp_path: Path) -> None:
    fcf.returns("q1.csv", "YH-A,FY2020-Q1,ACC,9", "YH-B,FY2020-Q1,ACC,9")
    fcf.certify("YH-A", "FY2020-Q1")
    fcf.certify("YH-B", "FY2020-Q1")
    # The second run and its draw rewritten as if the budget had paid it all (the chain
    # recomputed: only the rules can tell).
    with open_ledger(fcf.url) as ledger:
        stored = list(ledger.feed())
    run, drawn = stored[-2], stored[-1]
    forged_run = run.state.replace(b'"above_budget":"3000.00",', b"").replace(
        b'"amount":"6000.00"', b'"amount":"9000.00"')
    forged_draw = drawn.state.replace(b'"above_budget":"3000.00"', b'"above_budget":"0"'
                                      ).replace(b'"amount":"6000.00"', b'"amount":"9000.00"')
    with sqlite3.connect(fcf.url) as conn:
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                     (forged_run, run.position))
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                     (forged_draw, drawn.position))
    result = fcf("audit", "verify", "--format", "json")
    assert result.exit_code == 1
    assert "programme:FCF" in result.output
    assert "draws 9000.00 of the 9000.00 owed, but the programme's headroom was 6000.00" \
        in result.output


def test_programme_list_and_show_as_a_table(fcf: Programme) -> None:
    listed = json.loads(fcf.ok("programme", "list", "--format", "json").stdout)
    assert [(p["reference"], p["budget"], p["headroom"]) for p in listed] == [
        ("FCF", "15000", "15000")]
    table = fcf.ok("programme", "show", "FCF", "--format", "table").stdout
    assert "Programme FCF: Fair Chance Fund" in table
    assert "YH-B" in table
    unknown = fcf("programme", "show", "NOPE")
    assert unknown.exit_code == 1
    assert "no programme 'NOPE' in this ledger" in unknown.output


@pytest.mark.slow
def test_racing_runs_on_two_contracts_never_overdraw_the_budget(
        ledger_db: Db, tmp_path: Path) -> None:
    """Two processes certify different contracts of one programme at the same moment,
    each owing more than half the budget: one draws first, the other re-reads the
    programme (an optimistic-concurrency conflict on its stream) and gets the rest."""
    contracts = [f"R{i}" for i in range(4)]
    p = agreed(tmp_path, ledger_db.url, *contracts)
    p.returns("q1.csv", *(f"{c},FY2020-Q1,ACC,6" for c in contracts))
    commands = [shlex.join([*CLI, "--db", ledger_db.url, "--quiet", "payments", "certify", c,
                            "--period", "FY2020-Q1"]) for c in contracts]
    workers = [subprocess.Popen(["sh", "-c", c], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True) for c in commands]
    errors = [w.communicate(timeout=300)[1] for w in workers]
    assert all(w.returncode == 0 for w in workers), errors
    shown = p.show()
    # 24,000 owed in all against a 15,000 budget: exactly the budget certified.
    assert (shown["certified"], shown["headroom"], shown["above_budget"]) == (
        "15000.00", "0.00", "9000.00")
    assert p("audit", "verify").exit_code == 0
