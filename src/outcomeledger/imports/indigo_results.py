"""An INDIGO project's numeric ``results[]`` as returns rows (DESIGN 4.3).

INDIGO reports a result as the number achieved over its ``period`` (often the project's
whole life), not per month. A result is recorded as one return for the month its period
ends in: that is when the total was reported, and spreading it over the months would be a
guess. A metric with several results is skipped whole: INDIGO does not say whether later
results are cumulative, so adding them could count the same outcomes twice.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, TypedDict

from .indigo_fields import Reader, as_number, shown


class ResultRow(TypedDict):
    contract: str
    period: str
    outcome: str
    value: str


def result_rows(reader: Reader, data: dict[str, Any], reference: str,
                document: dict[str, Any]) -> list[ResultRow]:
    """The returns rows of the results that can be read; the others skipped or, for an
    invalid period, refused."""
    results = data.get("results")
    results = results if isinstance(results, list) else []
    priced = {o["code"] for o in document["outcomes"]}
    codes = [reader.text(data, ("results", i, "outcome_metric_id")) for i in range(len(results))]
    counts = Counter(codes)
    rows: list[ResultRow] = []
    for index, code in enumerate(codes):
        at = ("results", index)
        start = reader.date(data, (*at, "period", "start_date"), end=False)
        end = reader.date(data, (*at, "period", "end_date"), end=True)
        if code is None or code not in priced:
            reader.skip((*at, "outcome_metric_id", "value"), (
                f"not a priced outcome (got {code!r}, expected one of "
                f"{', '.join(sorted(priced))})"))
            continue
        if counts[code] > 1:
            reader.skip((*at, "outcome_metric_id", "value"), (
                f"one of {counts[code]} results for {code!r} (INDIGO does not say whether "
                "they are cumulative; none is recorded)"))
            continue
        value, where = reader.leaf(data, (*at, "outcomes_achieved"))
        if value is None:
            reader.skip(where, "no outcomes_achieved (expected the number achieved)")
            continue
        number = as_number(value)
        if number is None:
            reader.skip(where, f"count as prose (got {shown(value)}, expected a number)")
            continue
        if end is None:
            if reader.leaf(data, (*at, "period", "end_date"))[0] is None:
                reader.skip((*at, "period", "end_date", "value"), "no period end (expected "
                            "YYYY-MM: the month the result is recorded in)")
            continue
        if start is not None and start > end:
            reader.refuse((*at, "period", "start_date", "value"), (
                f"after the period's end (got {start}, expected on or before {end})"))
            continue
        rows.append(ResultRow(contract=reference, period=f"{end:%Y-%m}", outcome=code,
                              value=str(number)))
    return rows


__all__ = ["ResultRow", "result_rows"]
