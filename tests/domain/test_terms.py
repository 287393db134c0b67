"""Contract definitions and variations: read exactly, refuse what is wrong, vary by code."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import outcome, terms, tiers
from outcomeledger.domain.errors import InvalidInput
from outcomeledger.domain.term_checks import check_effective, check_terms
from outcomeledger.domain.terms import Payer
from outcomeledger.domain.variations import OutcomeChange, Variation, apply_variation
from outcomeledger.imports.documents import load_terms, load_variation

D = Decimal

TOML = """\
reference = "C-TOML"
title = "A contract"
buyer = "Council"
supplier = "Supplier"
start = 2025-04-01
end = 2027-03-31
cadence = "quarter"
max_value = 250000
retention = 0.1
{extra}
[[outcomes]]
code = "O1"
name = "Outcome one"
price = 0.1
"""

JSON_DOC = {
    "reference": "C-JSON", "title": "A contract", "buyer": "Council", "supplier": "Supplier",
    "start": "2025-04-01", "end": "2027-03-31", "cadence": "month",
    "outcomes": [{"code": "O1", "name": "Outcome one", "price": "600.00"},
                 {"code": "O2", "name": "Outcome two", "price": 0.1,
                  "tiers": None}],
}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(error: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [str(p) for p in error.value.problems]


def test_a_toml_contract_reads_money_exactly(tmp_path: Path) -> None:
    loaded = load_terms(write(tmp_path, "c.toml", TOML.format(extra="")))
    assert loaded.outcomes[0].price == D("0.1")
    assert str(loaded.outcomes[0].price) == "0.1"
    assert loaded.retention == D("0.1")
    assert loaded.max_value == D("250000")
    assert (loaded.start, loaded.end, loaded.cadence) == (date(2025, 4, 1), date(2027, 3, 31),
                                                          "quarter")
    assert loaded.currency == "GBP"
    assert check_terms(loaded, "c.toml") == []


def test_a_json_contract_reads_numbers_and_strings_exactly(tmp_path: Path) -> None:
    loaded = load_terms(write(tmp_path, "c.json", json.dumps(JSON_DOC)))
    assert loaded.reference == "C-JSON"
    assert loaded.outcomes[0].price == D("600.00")
    assert str(loaded.outcomes[1].price) == "0.1"
    assert loaded.start == date(2025, 4, 1)


def test_a_misspelt_key_is_refused_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path, "c.toml", TOML.format(extra='max_vaule = "100"'))
    with pytest.raises(InvalidInput) as error:
        load_terms(path)
    [problem] = error.value.problems
    assert problem.source == str(path)
    assert "max_vaule" in problem.message


def test_a_misspelt_key_inside_an_outcome_names_the_outcome(tmp_path: Path) -> None:
    path = write(tmp_path, "c.toml", TOML.format(extra="") + 'prise = "5"\n')
    with pytest.raises(InvalidInput) as error:
        load_terms(path)
    [problem] = error.value.problems
    # The unknown key itself is the field (issue 14, item 13), on the line it is written.
    assert problem.field == "outcomes[0].prise"
    assert problem.line == len((TOML.format(extra="") + 'prise = "5"\n').splitlines())
    assert "prise" in problem.message


def test_an_unknown_key_in_json_is_refused_too(tmp_path: Path) -> None:
    doc = {**JSON_DOC, "max_vaule": "100"}
    with pytest.raises(InvalidInput) as error:
        load_terms(write(tmp_path, "c.json", json.dumps(doc)))
    assert "max_vaule" in error.value.problems[0].message


def test_invalid_toml_reports_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "c.toml", 'reference = "X"\ntitle = \n')
    with pytest.raises(InvalidInput) as error:
        load_terms(path)
    [problem] = error.value.problems
    assert (problem.line, problem.field) == (2, "document")
    assert "invalid TOML" in problem.message


def test_a_missing_file_is_reported_as_such(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        load_terms(tmp_path / "nope.toml")


def test_a_wrong_type_names_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, "c.toml", TOML.format(extra="").replace('cadence = "quarter"',
                                                                    'cadence = "weekly"'))
    with pytest.raises(InvalidInput) as error:
        load_terms(path)
    assert error.value.problems[0].field == "cadence"


def fields_of(t: object) -> list[str]:
    return [p.field for p in check_terms(t, "c.toml")]  # type: ignore[arg-type]


def test_well_formed_terms_have_no_problems() -> None:
    assert check_terms(terms(), "c.toml") == []


def test_price_and_tiers_together_are_refused() -> None:
    both = outcome("O1", price=D("100"), tiers=tiers((10, 100), (None, 50)))
    problems = check_terms(terms(outcomes=(both,)), "c.toml")
    assert [(p.field, p.message) for p in problems] == [
        ("outcomes[0].price", "exactly one pricing rule is required: price or tiers")]


def test_an_outcome_without_a_pricing_rule_is_refused() -> None:
    assert fields_of(terms(outcomes=(outcome("O1", price=None),))) == ["outcomes[0].price"]


def test_tiers_must_increase() -> None:
    bad = outcome("O1", tiers=tiers((100, 10), (50, 20), (None, 30)))
    problems = check_terms(terms(outcomes=(bad,)), "c.toml")
    assert [p.field for p in problems] == ["outcomes[0].tiers[1].upto"]
    assert "bands must increase (got 50 after 100)" in problems[0].message


def test_only_the_last_tier_is_open_ended() -> None:
    bad = outcome("O1", tiers=tiers((None, 10), (50, 20)))
    assert fields_of(terms(outcomes=(bad,))) == ["outcomes[0].tiers[0].upto",
                                                 "outcomes[0].tiers[1].upto"]


def test_payer_shares_must_sum_to_one() -> None:
    payers = (Payer("MOJ", "Ministry", D("0.5")), Payer("BLF", "Fund", D("0.4")))
    problems = check_terms(terms(payers=payers), "c.toml")
    assert [(p.field, p.message) for p in problems] == [
        ("payers", "shares must sum to 1 (got 0.9)")]


def test_payer_shares_summing_to_one_exactly_are_fine() -> None:
    payers = (Payer("A", "a", D("0.3333")), Payer("B", "b", D("0.6667"), residue=True))
    assert check_terms(terms(payers=payers), "c.toml") == []


def test_requires_must_name_another_outcome() -> None:
    ladder = (outcome("O1"), outcome("O2", requires=("O9",)))
    problems = check_terms(terms(outcomes=ladder), "c.toml")
    assert [p.field for p in problems] == ["outcomes[1].requires"]
    assert "'O9'" in problems[0].message


def test_an_outcome_cannot_require_itself() -> None:
    assert fields_of(terms(outcomes=(outcome("O1", requires=("O1",)),))) == [
        "outcomes[0].requires"]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"end": date(2025, 3, 31)}, "end"),
    ({"claims_until": date(2026, 1, 1)}, "claims_until"),
    ({"currency": "gbp"}, "currency"),
    ({"retention": D("1.5")}, "retention"),
    ({"max_value": D("-1")}, "max_value"),
    ({"outcomes": ()}, "outcomes"),
    ({"outcomes": (outcome("O1"), outcome("O1"))}, "outcomes"),
    ({"outcomes": (outcome("O1", deadweight=D("1.2")),)}, "outcomes[0].deadweight"),
])
def test_other_semantic_problems_name_their_field(overrides: dict[str, object],
                                                  field: str) -> None:
    assert fields_of(terms(**overrides)) == [field]


def test_a_variation_replaces_an_outcome_price_by_code() -> None:
    varied = apply_variation(terms(), Variation(outcomes=(OutcomeChange("O2", price=D("700")),)))
    o2 = varied.outcome("O2")
    assert o2 is not None
    assert (o2.price, o2.name) == (D("700"), "Outcome O2")
    assert varied.outcome("O1") == terms().outcome("O1")


def test_a_variation_with_an_unknown_code_adds_an_outcome() -> None:
    change = OutcomeChange("O3", name="Outcome three", price=D("50"))
    varied = apply_variation(terms(), Variation(outcomes=(change,)))
    assert [o.code for o in varied.outcomes] == ["O1", "O2", "O3"]
    added = varied.outcome("O3")
    assert added is not None
    assert (added.name, added.price, added.kind) == ("Outcome three", D("50"), "count")
    assert check_terms(varied, "v.toml") == []


def test_a_variation_retires_an_outcome_and_changes_the_end() -> None:
    variation = Variation(retire=("O1",), end=date(2028, 3, 31), max_value=D("9000"))
    varied = apply_variation(terms(), variation)
    assert [o.code for o in varied.outcomes] == ["O2"]
    assert (varied.end, varied.max_value) == (date(2028, 3, 31), D("9000"))
    assert varied.start == date(2025, 4, 1)


def test_a_variation_file_is_read_as_a_partial_document(tmp_path: Path) -> None:
    path = write(tmp_path, "v.toml", 'retire = ["O1"]\n[[outcomes]]\ncode = "O2"\nprice = 7.5\n')
    variation = load_variation(path)
    varied = apply_variation(terms(), variation)
    assert [(o.code, o.price) for o in varied.outcomes] == [("O2", D("7.5"))]


def test_a_toml_variation_switches_a_price_to_tiers_and_back(tmp_path: Path) -> None:
    to_tiers = load_variation(write(tmp_path, "t.toml", '[[outcomes]]\ncode = "O2"\n'
                                    '[[outcomes.tiers]]\nupto = 10\nprice = 300\n'
                                    '[[outcomes.tiers]]\nprice = 200\n'))
    tiered = apply_variation(terms(), to_tiers)
    o2 = tiered.outcome("O2")
    assert o2 is not None
    assert (o2.price, o2.tiers) == (None, tiers((10, 300), (None, 200)))
    assert check_terms(tiered, "t.toml") == []
    back = apply_variation(tiered, load_variation(write(tmp_path, "p.toml",
                                                        '[[outcomes]]\ncode = "O2"\n'
                                                        'price = 275\n')))
    o2 = back.outcome("O2")
    assert o2 is not None
    assert (o2.price, o2.tiers) == (D("275"), None)
    assert check_terms(back, "p.toml") == []


def test_a_variation_giving_both_pricing_rules_is_still_refused() -> None:
    both = OutcomeChange("O2", price=D("1"), tiers=tiers((None, 5)))
    varied = apply_variation(terms(), Variation(outcomes=(both,)))
    assert "exactly one pricing rule" in " ".join(p.message for p in check_terms(varied, "v"))


def test_a_variation_file_with_a_misspelt_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="retyre"):
        load_variation(write(tmp_path, "v.toml", 'retyre = ["O1"]\n'))


def test_a_variation_takes_effect_on_a_period_boundary() -> None:
    assert check_effective(terms(), date(2025, 7, 1), "--effective") == []
    assert check_effective(terms(), date(2025, 4, 1), "--effective") == []


def test_a_variation_off_a_period_boundary_is_refused() -> None:
    [problem] = check_effective(terms(), date(2025, 8, 15), "--effective")
    assert problem.field == "effective"
    assert "not on a period boundary (got 2025-08-15" in problem.message


def test_a_variation_before_the_contract_starts_is_refused() -> None:
    [problem] = check_effective(terms(), date(2025, 1, 1), "--effective")
    assert "before the contract starts (got 2025-01-01" in problem.message


def test_a_contract_starting_mid_period_may_be_varied_from_its_start() -> None:
    mid = terms(start=date(2017, 12, 1))
    assert check_effective(mid, date(2017, 12, 1), "--effective") == []
    assert check_effective(mid, date(2018, 1, 1), "--effective") == []


def test_a_variation_after_the_claims_window_is_refused() -> None:
    [problem] = check_effective(terms(), date(2027, 4, 1), "--effective")
    assert "after the claims window closes" in problem.message
