"""The vendored OCDS schema: compiled as OCDS compiles extensions, committed as compiled,
and strict enough to refuse a broken notice."""

from __future__ import annotations

import copy
from typing import Any

from outcomeledger.publish import schema


def test_the_committed_compiled_schema_is_a_fresh_compilation() -> None:
    """After updating a vendored file: ``python -m outcomeledger.publish.schema``."""
    committed = (schema.SCHEMAS / schema.COMPILED).read_text(encoding="utf-8")
    assert committed == schema.schema_text(schema.compile_release_schema())


def test_merge_patch_follows_rfc_7386() -> None:
    # RFC 7386 section 3's example, and its appendix cases for null and arrays.
    target = {"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
              "tags": ["example", "sample"], "content": "This will be unchanged"}
    patch = {"title": "Hello!", "phoneNumber": "+01-123-456-7890",
             "author": {"familyName": None}, "tags": ["example"]}
    assert schema.merge_patch(target, patch) == {
        "title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"],
        "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"}
    assert schema.merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert schema.merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert schema.merge_patch(["a", "b"], ["c", "d"]) == ["c", "d"]


def test_the_compiled_schema_has_the_fields_the_notices_use() -> None:
    definitions: dict[str, Any] = schema.compile_release_schema()["definitions"]
    assert "agreedMetrics" in definitions["Contract"]["properties"]  # metrics
    assert "metrics" in definitions["Implementation"]["properties"]
    assert "performanceFailures" in definitions["Implementation"]["properties"]
    assert "measureClassification" in definitions["Observation"]["properties"]  # UK
    assert "noticeType" in definitions["Document"]["properties"]
    assert "noAgreedMetricsRationale" in definitions["Contract"]["properties"]


def _package() -> dict[str, Any]:
    return {"uri": "urn:x", "version": "1.1", "publishedDate": "2025-01-01T00:00:00Z",
            "publisher": {"name": "Test Council"},
            "releases": [{"ocid": "ocds-abc123-C1", "id": "C1-uk9-1",
                          "date": "2025-01-01T00:00:00Z", "tag": ["implementation"],
                          "initiationType": "tender"}]}


def test_a_minimal_package_validates() -> None:
    assert schema.problems(_package()) == []


def test_a_release_without_its_ocid_fails_validation() -> None:
    broken = copy.deepcopy(_package())
    del broken["releases"][0]["ocid"]
    assert schema.problems(broken) == ["releases/0: 'ocid' is a required property"]


def test_an_extension_field_is_checked_too() -> None:
    """The UK extension's measureClassification is a Classification, not free text."""
    broken = copy.deepcopy(_package())
    broken["releases"][0]["contracts"] = [{
        "id": "C1", "awardID": "C1", "implementation": {"metrics": [{
            "id": "M", "observations": [{"id": "o", "measureClassification": "met"}]}]}}]
    [problem] = schema.problems(broken)
    assert problem.startswith(
        "releases/0/contracts/0/implementation/metrics/0/observations/0/"
        "measureClassification: 'met' is not of type 'object'")
