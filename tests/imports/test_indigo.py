"""import indigo: real INDIGO projects (tests/data/indigo, see its README) become contracts
and returns that reconcile with the project's own figures; what cannot be read is refused
naming the INDIGO field, and nothing is written."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from ledgered import Ledgered

DATA = Path(__file__).resolve().parents[1] / "data" / "indigo"
SKILL_MILL = DATA / "INDIGO-POJ-0195.json"
WECYCLERS = DATA / "INDIGO-POJ-0301.json"
PROSE = DATA / "prose-amounts.json"


@pytest.fixture
def empty(tmp_path: Path, ledger_url: str) -> Ledgered:
    ledgered = Ledgered(tmp_path, ledger_url)
    assert ledgered("init").exit_code == 0
    return ledgered


def indigo(path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))["project"]["data"]
    return data


def test_the_skill_mill_imports_whole_and_reconciles(empty: Ledgered) -> None:
    # Given the real Skill Mill project (six priced metrics, six numeric final results)
    project = indigo(SKILL_MILL)
    # When it is imported
    result = empty("import", "indigo", str(SKILL_MILL))
    # Then the contract holds INDIGO's rate card, dates, currency and cap
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr
    shown = json.loads(empty("contract", "show", "INDIGO-POJ-0195", "--format",
                             "json").stdout)
    terms = shown.get("terms", shown)
    prices = {p["outcome_metric_id"]["value"]: Decimal(p["price_per_unit"]["amount"]["value"])
              for p in project["outcome_pricings"]}  # type: ignore[attr-defined]
    assert {o["code"]: Decimal(o["price"]) for o in terms["outcomes"]} == prices
    assert (terms["currency"], terms["start"], terms["end"], terms["cadence"]) == (
        "GBP", "2020-08-01", "2024-11-30", "month")
    assert Decimal(terms["max_value"]) == Decimal(3241776)
    # And the results are one return, in the month their period ends, with INDIGO's totals
    achieved = {r["outcome_metric_id"]["value"]: Decimal(r["outcomes_achieved"]["value"])
                for r in project["results"]}  # type: ignore[attr-defined]
    schedule = json.loads(empty("payments", "INDIGO-POJ-0195", "--format", "json").stdout)
    earned = sum(achieved[code] * prices[code] for code in achieved)
    assert Decimal(schedule["totals"]["earned"]) == earned == Decimal("4659370")
    # (the project's maximum potential outcome payment caps what is payable)
    assert Decimal(schedule["totals"]["payable"]) == Decimal(3241776)
    paid = [p for p in schedule["periods"] if Decimal(p["earned"])]
    assert [p["period"] for p in paid] == ["2024-09"]


def test_wecyclers_imports_its_contract_and_skips_results_without_a_count(
        empty: Ledgered) -> None:
    # Given the real Waste-to-Wealth project: caps per metric, results with no count
    # When it is imported
    result = empty("import", "indigo", str(WECYCLERS))
    # Then the contract is agreed with INDIGO's prices and caps, in USD
    assert result.exit_code == 0, result.stderr
    terms = json.loads(empty("contract", "show", "INDIGO-POJ-0301", "--format",
                             "json").stdout)
    terms = terms.get("terms", terms)
    assert [(o["code"], Decimal(o["price"]), Decimal(o["cap_value"]))
            for o in terms["outcomes"]] == [
        ("outcomemetric1", Decimal(46), Decimal(1653195)),
        ("outcomemetric2", Decimal(400), Decimal(323100)),
        ("outcomemetric3", Decimal(40000), Decimal(43080))]
    assert terms["currency"] == "USD"
    # And each result left out is named, with its field
    assert result.stderr.count("skipped: no outcomes_achieved") == 2
    assert "results[0].outcomes_achieved.value" in result.stderr
    schedule = json.loads(empty("payments", "INDIGO-POJ-0301", "--format", "json").stdout)
    assert Decimal(schedule["totals"]["earned"]) == 0


def test_a_project_with_amounts_as_prose_is_refused_naming_each_field(
        empty: Ledgered) -> None:
    # Given a project whose amounts are prose ("$8,000,000", "C$1.3M", "=M33")
    before = empty.events()
    # When it is imported
    result = empty("import", "indigo", str(PROSE))
    # Then it is refused, each field named with its value, and nothing is written
    assert result.exit_code == 1
    assert ('outcome_pricings[2].price_per_unit.amount.value: price as prose (got '
            '"$8,000,000", expected a number)') in result.stderr
    assert ('outcome_pricings[0].maximum_price_if_all_targets_achieved.amount.value: '
            'amount as prose (got "C$1.3M"') in result.stderr
    assert ('overall_project_finance.maximum_potential_outcome_payment_v2.amount.value: '
            'amount as prose (got "=M33"') in result.stderr
    assert "Traceback" not in result.stderr
    assert empty.events() == before


def test_a_dry_run_prints_the_contract_and_returns_and_writes_nothing(
        empty: Ledgered) -> None:
    before = empty.events()
    result = empty("import", "indigo", str(SKILL_MILL), "--dry-run",
                   "--reference", "SKILL-MILL")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["contract"]["reference"] == "SKILL-MILL"
    assert {r["outcome"]: r["value"] for r in shown["returns"]}["outcomemetric4"] == "185"
    assert "2 event(s) would be recorded" in result.stderr
    assert empty.events() == before
