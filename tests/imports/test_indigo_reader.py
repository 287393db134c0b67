"""The INDIGO reader's rules, field by field: what is refused, what is skipped (with its
field named), what is read (docs/formats.md, "INDIGO import")."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from outcomeledger.domain.errors import InvalidInput
from outcomeledger.imports.indigo import IndigoProject, read_indigo
from outcomeledger.imports.indigo_fields import as_date


def project(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": {"value": "A project"},
        "dates": {"start_date_of_service_provision": {"value": "2020-04"},
                  "anticipated_end_date_of_service_provision": {"value": "2021-03"}},
        "outcome_payment_commitments": [{"organisation_id": {"value": "ORG-1"}}],
        "service_provisions": [{"organisation_id": {"value": "ORG-2"}}],
        "outcome_metrics": [{"id": "m1", "definition": {"value": "Metric one"}},
                            {"id": "m2", "definition": {"value": "Metric two"}}],
        "outcome_pricings": [{"outcome_metric_id": {"value": "m1"},
                              "currency": {"value": "GBP"},
                              "price_per_unit": {"amount": {"value": 100}}}],
        "results": [{"outcome_metric_id": {"value": "m1"},
                     "period": {"start_date": {"value": "2020-04"},
                                "end_date": {"value": "2020-09"}},
                     "outcomes_achieved": {"value": "3"}}]}
    data.update(changes)
    return data


def read(tmp_path: Path, data: dict[str, Any], reference: str | None = None
         ) -> IndigoProject:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"project": {"id": "INDIGO-T", "data": data}}, indent=1),
                    encoding="utf-8")
    return read_indigo(path, reference)


def refused(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidInput) as e:
        read(tmp_path, data)
    return [f"{p.field}: {p.message}" for p in e.value.problems]


def test_a_project_gives_its_rate_card_dates_and_a_return_in_the_month_it_ends(
        tmp_path: Path) -> None:
    read_project = read(tmp_path, project())
    assert read_project.document["outcomes"] == [
        {"code": "m1", "name": "Metric one", "price": Decimal(100)}]
    assert (read_project.document["start"], read_project.document["end"]) == (
        "2020-04-01", "2021-03-31")
    assert read_project.returns == [{"contract": "INDIGO-T", "period": "2020-09",
                                     "outcome": "m1", "value": "3"}]
    # the metric with no pricing is skipped, named
    assert [str(s).split(": ", 1)[1] for s in read_project.skipped] == [
        "outcome_metrics[1].id: skipped: 'm2' has no outcome_pricings entry (expected a "
        "price to agree it)"]


def test_two_prices_for_one_metric_are_refused_as_unreadable_tiers(tmp_path: Path) -> None:
    pricing = project()["outcome_pricings"][0]
    problems = refused(tmp_path, project(outcome_pricings=[pricing, pricing]))
    assert problems == ["outcome_pricings[1].outcome_metric_id.value: a second price for "
                        "'m1' (expected one price per metric: tiers or several prices "
                        "cannot be read without their bands)"]


def test_several_results_for_one_metric_are_all_skipped(tmp_path: Path) -> None:
    result = project()["results"][0]
    read_project = read(tmp_path, project(results=[result, result]))
    assert read_project.returns == []
    assert sum("one of 2 results for 'm1'" in str(s) for s in read_project.skipped) == 2


def test_a_result_as_prose_is_skipped_with_its_value(tmp_path: Path) -> None:
    result = dict(project()["results"][0], outcomes_achieved={"value": "about 40"})
    read_project = read(tmp_path, project(results=[result]))
    assert read_project.returns == []
    assert any('results[0].outcomes_achieved.value: skipped: count as prose (got '
               '"about 40", expected a number)' in str(s) for s in read_project.skipped)


def test_a_cap_without_its_currency_is_refused(tmp_path: Path) -> None:
    finance = {"maximum_potential_outcome_payment_v2": {"amount": {"value": 5000}}}
    assert refused(tmp_path, project(overall_project_finance=finance)) == [
        "overall_project_finance.maximum_potential_outcome_payment_v2.currency.value: "
        "missing (expected the currency of the maximum potential outcome payment: amounts "
        "are never assumed to be in a currency)"]


def test_a_year_alone_is_not_a_start_date(tmp_path: Path) -> None:
    dates = {"start_date_of_service_provision": {"value": "2020"},
             "anticipated_end_date_of_service_provision": {"value": "2021-03"}}
    assert refused(tmp_path, project(dates=dates)) == [
        'dates.start_date_of_service_provision.value: not a date (got "2020", expected '
        "YYYY-MM or YYYY-MM-DD: a real month, and a day in it)"]


def test_a_bare_data_object_needs_a_reference(tmp_path: Path) -> None:
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(project()), encoding="utf-8")
    with pytest.raises(InvalidInput, match="no project id"):
        read_indigo(path)
    assert read_indigo(path, "C-1").document["reference"] == "C-1"


@pytest.mark.parametrize(("text", "end", "expected"), [
    ("2018-12", False, date(2018, 12, 1)), ("2018-12", True, date(2018, 12, 31)),
    ("2020-02", True, date(2020, 2, 29)), ("2020-02-10", True, date(2020, 2, 10)),
    ("2018-13", False, None), ("2018-02-30", False, None), ("2018", False, None),
    ("=M33", False, None)])
def test_indigo_dates(text: str, end: bool, expected: date | None) -> None:
    assert as_date(text, end=end) == expected
