"""UK9, UK10 and UK11 notices: from the recorded scenarios and from built contracts, each
validated against the vendored schema, byte-stable, and refused when there is nothing to
publish."""

from __future__ import annotations

import copy
import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conftest import REF, agreed, apply, close, fig, submit, vary
from outcomeledger.app import replay
from outcomeledger.app.ledger import open_ledger
from outcomeledger.domain.commands import ApproveBusinessCase
from outcomeledger.domain.contract.state import ContractState
from outcomeledger.domain.errors import LedgerError
from outcomeledger.domain.terms import BusinessCase, Kpi, Outcome, SocialValue
from outcomeledger.domain.variations import Variation
from outcomeledger.publish import schema
from outcomeledger.publish.ocds import LIGHT_TOUCH, NoticeKind, build, encode, validated

REPLAY = Path(__file__).resolve().parents[2] / "replay"
PREFIX = "ocds-abc123"
SCENARIOS = {"S1-peterborough": "PB-SIB-2010", "S2-greater-manchester": "GMHP-2017",
             "S5-work-programme": "WP-G2-2011", "S6-essex-mst": "ESSEX-MST-2012",
             "S7-council-programme": "NHF-HW-2022", "S8-growing-contract": "NCL-CL-2023"}
# What each scenario has to publish; None: refused, with these words.
EXPECTED: dict[tuple[str, NoticeKind], str | None] = {
    ("S1-peterborough", "uk9"): "no KPIs", ("S1-peterborough", "uk10"): None,
    ("S1-peterborough", "uk11"): "not closed",
    ("S2-greater-manchester", "uk9"): None, ("S2-greater-manchester", "uk10"): None,
    ("S2-greater-manchester", "uk11"): None,
    ("S5-work-programme", "uk9"): None, ("S5-work-programme", "uk10"): None,
    ("S5-work-programme", "uk11"): "not closed",
    ("S6-essex-mst", "uk9"): "no KPIs", ("S6-essex-mst", "uk10"): "no variation",
    ("S6-essex-mst", "uk11"): None,
    ("S7-council-programme", "uk9"): None, ("S7-council-programme", "uk10"): None,
    ("S7-council-programme", "uk11"): "not closed",
    ("S8-growing-contract", "uk9"): None, ("S8-growing-contract", "uk10"): None,
    ("S8-growing-contract", "uk11"): "not closed",
}


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ContractState]:
    """Each recorded scenario loaded from its evidence pack into a fresh ledger."""
    out = {}
    for name, reference in SCENARIOS.items():
        db = tmp_path_factory.mktemp(name) / "ledger.db"
        with open_ledger(str(db), create=True) as ledger:
            pack = (REPLAY / name / "events.pack.ndjson").read_bytes()
            replay.load_pack(ledger, pack.splitlines(keepends=True), name)
            out[name] = ledger.get(reference)
    return out


def release(package: dict[str, Any]) -> dict[str, Any]:
    [only] = package["releases"]
    out: dict[str, Any] = only
    return out


@pytest.mark.parametrize(("name", "kind"), list(EXPECTED))
def test_every_scenario_notice_validates_or_is_refused_for_a_reason(
        scenarios: dict[str, ContractState], name: str, kind: NoticeKind) -> None:
    refusal = EXPECTED[(name, kind)]
    if refusal is not None:
        with pytest.raises(LedgerError, match=f"nothing to publish as {kind.upper()}: "
                                              f".*{refusal}"):
            build(scenarios[name], kind, prefix=PREFIX)
        return
    package = build(scenarios[name], kind, prefix=PREFIX)
    assert schema.problems(json.loads(encode(package))) == []
    assert release(package)["ocid"] == f"{PREFIX}-{SCENARIOS[name]}"


def test_a_notice_missing_its_ocid_fails_validation(
        scenarios: dict[str, ContractState]) -> None:
    package = build(scenarios["S2-greater-manchester"], "uk9", prefix=PREFIX)
    broken = copy.deepcopy(package)
    del release(broken)["ocid"]
    with pytest.raises(LedgerError, match="releases/0: 'ocid' is a required property"):
        validated(broken)
    assert validated(package) == encode(package)


def test_the_uk9_notice_of_greater_manchester_is_the_golden_bytes(
        scenarios: dict[str, ContractState]) -> None:
    """Re-record after a deliberate change: UPDATE_GOLDEN=1 (and review the diff)."""
    golden = Path(__file__).parent / "golden" / "GMHP-2017-uk9.json"
    text = validated(build(scenarios["S2-greater-manchester"], "uk9", prefix=PREFIX))
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_bytes(text)
    assert text == golden.read_bytes()


def test_the_same_facts_give_the_same_ids_and_new_facts_a_new_id(
        scenarios: dict[str, ContractState]) -> None:
    state = scenarios["S2-greater-manchester"]
    first = release(build(state, "uk9", prefix=PREFIX))
    assert release(build(state, "uk9", prefix=PREFIX)) == first
    earlier = release(build(state, "uk9", prefix=PREFIX, as_at=date(2019, 6, 30)))
    assert earlier["id"] != first["id"]
    assert earlier["id"].startswith("GMHP-2017-uk9-")
    assert earlier["date"] < first["date"]  # the latest fact read, not the clock


def test_uk9_rates_the_lifetime_target_with_the_reg_39_classification(
        scenarios: dict[str, ContractState]) -> None:
    contract = release(build(scenarios["S2-greater-manchester"], "uk9",
                             prefix=PREFIX))["contracts"][0]
    [agreed_metric] = contract["agreedMetrics"]
    assert agreed_metric["observations"][0]["measure"] == 300
    [metric] = contract["implementation"]["metrics"]
    to_date = metric["observations"][-1]
    assert (to_date["id"], to_date["measure"], to_date["dimensions"]) == (
        "ACC0-to-date", Decimal(328), {"target": "300"})
    assert to_date["measureClassification"]["id"] == "met"
    assert contract["implementation"]["documents"][0]["noticeType"] == "UK9"


def _kpi_contract() -> ContractState:
    state = agreed(providers=(), kpis=(Kpi("KPI1", "Contacts in 5 days (%)", Decimal(90)),),
                   social_value=(SocialValue("SV1", "Local hires", "growth", Decimal(10)),))
    return apply(state, submit("FY2025-Q1", fig("KPI1", 85), fig("SV1", 4)),
                 submit("FY2025-Q2", fig("KPI1", 60)))


def test_uk9_rates_each_kpi_period_against_its_service_level() -> None:
    contract = release(validated_package(_kpi_contract(), "uk9"))["contracts"][0]
    metrics = {m["id"]: m for m in contract["implementation"]["metrics"]}
    rated = [(o["id"], o["measureClassification"]["id"],
              o["measureClassification"]["description"])
             for o in metrics["KPI1"]["observations"]]
    # 85/90 = 94%: approaching; 60/90 = 67%: inadequate (default thresholds).
    assert rated == [("KPI1-FY2025-Q1", "slightlyBelow", "Approaching target"),
                     ("KPI1-FY2025-Q2", "significantlyBelow", "Inadequate")]
    [sv] = metrics["SV1"]["observations"]
    assert (sv["measure"], sv["measureClassification"]["id"]) == (4, "significantlyBelow")


def validated_package(state: ContractState, kind: NoticeKind, **options: Any
                      ) -> dict[str, Any]:
    package = build(state, kind, prefix=PREFIX, **options)
    validated(package)
    decoded: dict[str, Any] = json.loads(encode(package))
    return decoded


def test_a_light_touch_contract_publishes_voluntarily_and_says_so() -> None:
    package = validated_package(_kpi_contract(), "uk9", light_touch=True)
    assert release(package)["tender"]["specialRegime"] == [LIGHT_TOUCH]
    assert "tender" not in release(validated_package(_kpi_contract(), "uk9"))


def test_uk10_gives_each_variation_before_and_after() -> None:
    state = apply(agreed(providers=(), max_value=Decimal(100000)), vary(
        Variation(max_value=Decimal(120000), end=date(2027, 9, 30)), date(2026, 1, 1),
        "more referrals than planned"))
    contract = release(validated_package(state, "uk10"))["contracts"][0]
    [amendment] = contract["amendments"]
    assert amendment["id"] == f"{REF}-v2"
    assert amendment["rationale"] == "more referrals than planned"
    assert amendment["date"] == "2025-04-01T09:00:00Z"
    assert amendment["description"].splitlines() == [
        "Effective from 2026-01-01.", "Value: 100000 GBP → 120000 GBP.",
        "Term: 2025-04-01 to 2027-03-31 → 2025-04-01 to 2027-09-30."]
    assert amendment["value"] == {"amount": 120000, "currency": "GBP"}
    assert amendment["period"]["endDate"] == "2027-09-30T23:59:59Z"
    with pytest.raises(LedgerError, match="no variation effective by 2025-12-31"):
        build(state, "uk10", prefix=PREFIX, as_at=date(2025, 12, 31))


def test_uk10_gives_a_business_case_with_its_need_and_budget() -> None:
    case = BusinessCase("BC-7", "Evening job clubs", "Parents cannot attend by day",
                        date(2025, 7, 1), Decimal(30000),
                        (Outcome("CLUB", "Job club completed", price=Decimal(100)),))
    state = apply(agreed(providers=(), max_value=Decimal(100000)),
                  ApproveBusinessCase(case, "approved by cabinet"))
    [amendment] = release(validated_package(state, "uk10"))["contracts"][0]["amendments"]
    assert amendment["rationale"] == "approved by cabinet"
    assert amendment["description"].splitlines() == [
        "Business case BC-7 approved: Evening job clubs. Need: Parents cannot attend by "
        "day. Budget: 30000 GBP (its outcomes are paid within it, and within the "
        "contract's value).",
        "Effective from 2025-07-01.", "Value: 100000 GBP → 100000 GBP.",
        "Term: 2025-04-01 to 2027-03-31 → 2025-04-01 to 2027-03-31.",
        "Changed: outcome CLUB: added (Job club completed)"]


def test_uk11_gives_the_closing_date_and_reason() -> None:
    state = apply(agreed(providers=()), close(date(2026, 6, 30), "provider went into "
                                                                 "administration"))
    contract = release(validated_package(state, "uk11"))["contracts"][0]
    assert contract["status"] == "terminated"
    assert contract["period"]["endDate"] == "2026-06-30T23:59:59Z"
    [document] = contract["implementation"]["documents"]
    assert (document["documentType"], document["noticeType"]) == (
        "contractTerminationNotice", "UK11")
    assert document["description"] == ("Closed on 2026-06-30: provider went into "
                                       "administration")
    with pytest.raises(LedgerError, match="closes on 2026-06-30, after 2026-01-01"):
        build(state, "uk11", prefix=PREFIX, as_at=date(2026, 1, 1))


def test_an_unregistered_prefix_is_refused_by_the_builder_too(
        scenarios: dict[str, ContractState]) -> None:
    with pytest.raises(LedgerError, match="registered OCDS prefix"):
        build(scenarios["S2-greater-manchester"], "uk11", prefix="ocds-h6vhtk-x")
