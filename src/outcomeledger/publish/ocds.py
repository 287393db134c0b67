"""One OCDS 1.1 release package per Procurement Act notice (UK9, UK10, UK11).

Everything in a notice comes from the recorded facts, never the clock: the release
``date`` is the latest recording time of the facts it carries, and the release ``id`` is
``<REF>-<notice>-<digest>``, the digest a SHA-256 of the release without its id. So the
same ledger gives the same bytes, and a notice whose facts changed gets a new id (OCDS
requires release ids unique within an ocid). Every package is validated against the
vendored, compiled schema before it is returned.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal

import msgspec

from ..domain.contract.state import ContractState
from ..domain.errors import LedgerError
from . import schema
from .notices import Notice, contract_change, termination
from .performance import contract_performance

NoticeKind = Literal["uk9", "uk10", "uk11"]
NOTICES: tuple[NoticeKind, ...] = ("uk9", "uk10", "uk11")

#: A registered OCDS prefix: ``ocds-`` and six lower-case letters or digits.
PREFIX = re.compile(r"ocds-[a-z0-9]{6}")
#: The extensions the notices use, pinned to the vendored commits (schemas/README.md).
EXTENSIONS = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_metrics_extension/"
    "fad91df868907e339e5b3b4af5c334e02b80fa4f/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_performance_failures_extension/ba848ad627309a76e19a5ed9281ade5dbe080915/"
    "extension.json",
    "https://raw.githubusercontent.com/cabinetoffice/ocds_uk_extension/"
    "aa0e43b84dfad0cb9b839a8135e0bc4b285d32fc/extension.json",
)
#: The UK extension's ``tender.specialRegime`` carries no codelist; this is our code for
#: the light-touch regime (Procurement Act 2023 s.9), under which KPIs (s.52) and change
#: notices are not required: a notice that carries it is published voluntarily.
LIGHT_TOUCH = "lightTouch"

_BUILDERS: dict[NoticeKind, Callable[[ContractState, date | None], Notice]] = {
    "uk9": contract_performance, "uk10": contract_change, "uk11": termination}
_encode = msgspec.json.Encoder(decimal_format="number").encode


class OcdsInvalid(LedgerError):
    """A notice failed the compiled schema: a bug here, never published."""


def timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parties(state: ContractState) -> list[dict[str, Any]]:
    """The buyer and the supplier. Their ids are local to the ocid (the ledger holds
    names, not PPON or Companies House numbers)."""
    terms = state.current_terms
    return [{"id": "buyer", "name": terms.buyer, "roles": ["buyer"]},
            {"id": "supplier", "name": terms.supplier, "roles": ["supplier"]}]


def _release(state: ContractState, notice: Notice, ocid: str,
             light_touch: bool) -> dict[str, Any]:
    terms = state.current_terms
    ref = state.reference
    release: dict[str, Any] = {
        "ocid": ocid, "id": "", "date": timestamp(notice.date), "tag": list(notice.tag),
        "initiationType": "tender", "language": "en", "parties": _parties(state),
        "buyer": {"id": "buyer", "name": terms.buyer}}
    if light_touch:
        release["tender"] = {"id": ref, "specialRegime": [LIGHT_TOUCH]}
    release["awards"] = [{"id": ref, "title": terms.title, "status": "active",
                          "suppliers": [{"id": "supplier", "name": terms.supplier}]}]
    release["contracts"] = [{"id": ref, "awardID": ref, "title": terms.title,
                             **notice.contract}]
    return release


def _digest(release: dict[str, Any]) -> str:
    return hashlib.sha256(_encode(release)).hexdigest()[:16]


def build(state: ContractState, kind: NoticeKind, *, prefix: str,
          as_at: date | None = None, light_touch: bool = False) -> dict[str, Any]:
    """The release package of notice ``kind`` for ``state``; refused (:class:`LedgerError`)
    when the contract has nothing to publish as that notice."""
    if not PREFIX.fullmatch(prefix):
        raise LedgerError(f"expected a registered OCDS prefix, ocds-xxxxxx (got {prefix!r})")
    notice = _BUILDERS[kind](state, as_at)
    release = _release(state, notice, f"{prefix}-{state.reference}", light_touch)
    release["id"] = f"{state.reference}-{kind}-{_digest(release)}"
    return {
        "uri": f"urn:outcomeledger:{release['ocid']}:{release['id']}",
        "version": "1.1", "extensions": list(EXTENSIONS),
        "publishedDate": release["date"],
        "publisher": {"name": state.current_terms.buyer},
        "releases": [release]}


def encode(package: dict[str, Any]) -> bytes:
    """The package as printed: two-space JSON, money and counts as exact numbers."""
    return msgspec.json.format(_encode(package), indent=2) + b"\n"


def validated(package: dict[str, Any]) -> bytes:
    """The printed bytes, after checking what they decode to against the schema."""
    text = encode(package)
    found = schema.problems(msgspec.json.decode(text))
    if found:
        raise OcdsInvalid("the notice does not validate against the OCDS schema: "
                          + "; ".join(found))
    return text
