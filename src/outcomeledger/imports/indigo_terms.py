"""An INDIGO project's contract definition: parties, dates, currency, the rate card, caps.

Each outcome is an ``outcome_metrics[]`` entry priced by exactly one ``outcome_pricings[]``
entry. A money term that is present but cannot be read is refused (the contract would pay
differently from what the project agreed); a term that is absent is left out, with a line
where the data says something was meant (a metric with no price).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from .indigo_fields import Reader

_CURRENCY = re.compile(r"[A-Z]{3}")
_PRICE = ("price_per_unit", "amount")
_CAP = ("maximum_price_if_all_targets_achieved", "amount")
_MAX = ("overall_project_finance", "maximum_potential_outcome_payment_v2")


def contract_document(reader: Reader, data: dict[str, Any], reference: str
                      ) -> dict[str, Any] | None:
    """The contract definition (DESIGN 4.1) the project gives; None when refused."""
    title = reader.text(data, ("name",))
    if not title:
        reader.refuse(("name", "value"), "missing (expected the project's name: the "
                      "contract's title)")
    outcomes, currency = _outcomes(reader, data)
    document: dict[str, Any] = {
        "reference": reference, "title": title or "",
        "buyer": _parties(reader, data, "outcome_payment_commitments", "an outcome payer"),
        "supplier": _parties(reader, data, "service_provisions", "a service provider"),
        **_dates(reader, data), "cadence": "month", "currency": currency or "",
        "outcomes": outcomes}
    if (limit := _max_value(reader, data, currency)) is not None:
        document["max_value"] = limit
    return None if reader.problems else document


def _parties(reader: Reader, data: dict[str, Any], key: str, role: str) -> str:
    """Every organisation id of ``key``, in order (INDIGO names organisations by id)."""
    entries = data.get(key)
    ids = []
    for index, _ in enumerate(entries if isinstance(entries, list) else []):
        ident = reader.text(data, (key, index, "organisation_id"))
        if ident and ident not in ids:
            ids.append(ident)
    if not ids:
        reader.refuse((key,), f"no organisation_id (expected {role}: the contract names "
                      "its parties)")
    return ", ".join(ids)


def _dates(reader: Reader, data: dict[str, Any]) -> dict[str, str]:
    """Service provision start to its actual end, else its anticipated end."""
    start = reader.date(data, ("dates", "start_date_of_service_provision"), end=False)
    end_key = "actual_end_date_of_service_provision"
    end = reader.date(data, ("dates", end_key), end=True)
    if end is None and reader.leaf(data, ("dates", end_key))[0] is None:
        end_key = "anticipated_end_date_of_service_provision"
        end = reader.date(data, ("dates", end_key), end=True)
    for key, day in (("start_date_of_service_provision", start), (end_key, end)):
        if day is None and reader.leaf(data, ("dates", key))[0] is None:
            reader.refuse(("dates", key, "value"), "missing (expected YYYY-MM or "
                          "YYYY-MM-DD: the contract's dates)")
    return {"start": start.isoformat() if start else "",
            "end": end.isoformat() if end else ""}


def _outcomes(reader: Reader, data: dict[str, Any]) -> tuple[list[dict[str, Any]],
                                                              str | None]:
    names = _metric_names(reader, data)
    outcomes: list[dict[str, Any]] = []
    currencies: dict[str, tuple[str | int, ...]] = {}
    pricings = data.get("outcome_pricings")
    for index, _ in enumerate(pricings if isinstance(pricings, list) else []):
        at = ("outcome_pricings", index)
        code = reader.text(data, (*at, "outcome_metric_id"))
        price = reader.amount(data, (*at, *_PRICE), "price")
        if not code:
            reader.refuse((*at, "outcome_metric_id", "value"), "missing (expected the id "
                          "of the outcome metric this prices)")
            continue
        if any(o["code"] == code for o in outcomes):
            reader.refuse((*at, "outcome_metric_id", "value"), (
                f"a second price for {code!r} (expected one price per metric: tiers or "
                "several prices cannot be read without their bands)"))
            continue
        if price is None:
            if reader.leaf(data, (*at, *_PRICE))[0] is None:
                reader.skip((*at, *_PRICE, "value"), f"no price (outcome {code!r} is not "
                            "agreed)")
            continue
        outcome: dict[str, Any] = {"code": code, "name": names.pop(code, None) or code,
                                   "price": price}
        if (cap := reader.amount(data, (*at, *_CAP), "amount")) is not None:
            outcome["cap_value"] = cap
        outcomes.append(outcome)
        currencies[_currency(reader, data, at)] = (*at, "currency", "value")
    for code in names:
        reader.skip(("outcome_metrics", _metric_index(data, code), "id"),
                    f"{code!r} has no outcome_pricings entry (expected a price to agree it)")
    if not outcomes and not reader.problems:
        reader.refuse(("outcome_pricings",), "no numeric price_per_unit (expected at "
                      "least one priced outcome metric)")
    currencies.pop("", None)
    if len(currencies) > 1:
        reader.refuse(list(currencies.values())[1], (
            f"a second currency (got {', '.join(currencies)}, expected one currency for "
            "the whole rate card)"))
    return outcomes, next(iter(currencies), None)


def _currency(reader: Reader, data: dict[str, Any], at: tuple[str | int, ...]) -> str:
    code = reader.text(data, (*at, "currency"))
    if code is None:
        reader.refuse((*at, "currency", "value"), "missing (expected an ISO 4217 code "
                      "such as GBP: amounts are never assumed to be in a currency)")
        return ""
    if not _CURRENCY.fullmatch(code):
        reader.refuse((*at, "currency", "value"), f"not a currency code (got {code!r}, "
                      "expected three capital letters, ISO 4217, such as GBP)")
        return ""
    return code


def _metric_names(reader: Reader, data: dict[str, Any]) -> dict[str, str]:
    names: dict[str, str] = {}
    metrics = data.get("outcome_metrics")
    for index, metric in enumerate(metrics if isinstance(metrics, list) else []):
        code = metric.get("id") if isinstance(metric, dict) else None
        if isinstance(code, str) and code:
            names[code] = reader.text(data, ("outcome_metrics", index, "definition")) or ""
    return names


def _metric_index(data: dict[str, Any], code: str) -> int:
    return next(i for i, m in enumerate(data["outcome_metrics"])
                if isinstance(m, dict) and m.get("id") == code)


def _max_value(reader: Reader, data: dict[str, Any], currency: str | None
               ) -> Decimal | None:
    """The project's maximum potential outcome payment, as the contract's cap: only in
    the rate card's currency (converting would be a guess)."""
    amount = reader.amount(data, (*_MAX, "amount"))
    if amount is None:
        return None
    given = reader.text(data, (*_MAX, "currency"))
    if given is None:
        reader.refuse((*_MAX, "currency", "value"), "missing (expected the currency of "
                      "the maximum potential outcome payment: amounts are never assumed "
                      "to be in a currency)")
        return None
    if given != currency and currency:
        reader.refuse((*_MAX, "currency", "value"), (
            f"not the rate card's currency (got {given!r}, expected {currency!r}: a cap "
            "in another currency cannot be converted without a guess)"))
        return None
    return amount


__all__ = ["contract_document"]
