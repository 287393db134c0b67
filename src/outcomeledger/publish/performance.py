"""UK9, the contract performance notice (Procurement Act 2023 s.71, reg. 39), from the
ratings the accountability report already computes.

The key performance indicators are every measure the contract gives a target: outcomes
with a target (per period or lifetime), KPIs (service levels, a target every period)
and social-value commitments. Each is a ``Metric`` whose id is its code: the targets in
``contracts[0].agreedMetrics``, the results in ``contracts[0].implementation.metrics``,
one observation per period (rated where the period has a target) and one to date (rated
against the lifetime target, or the sum of the period targets so far). The reg. 39
rating is the UK extension's ``measureClassification``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ..domain.contract.state import ContractState
from ..domain.ratings import Rating, rate
from ..domain.terms import Kpi
from ..report.model import OutcomePerformance, SocialValueLine
from ..report.performance import performance, social_value
from ..report.view import View, units
from .notices import Notice, nothing, period, status, term_fields

#: reg. 39(5) descriptors -> the UK extension's measureClassification ids (met,
#: slightlyBelow, below, significantlyBelow, other): one to one, in the same order.
CLASSIFICATION: dict[Rating, tuple[str, str]] = {
    "good": ("met", "Good"),
    "approaching target": ("slightlyBelow", "Approaching target"),
    "requires improvement": ("below", "Requires improvement"),
    "inadequate": ("significantlyBelow", "Inadequate"),
    "other": ("other", "Other"),
}
#: The UK extension names the ids but no scheme; this names where the descriptors are.
SCHEME = "UK-PR2024-reg39"
STATEMENT = ("This notice is the assessment of the supplier's performance against the "
             "key performance indicators (Procurement Act 2023 s.71, Procurement "
             "Regulations 2024 reg. 39).")


def classification(rating: Rating) -> dict[str, str]:
    code, words = CLASSIFICATION[rating]
    return {"scheme": SCHEME, "id": code, "description": words}


def _observation(oid: str, span: dict[str, str], measure: Decimal, unit: str | None,
                 target: Decimal | None, rating: Rating | None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": oid, "period": span, "measure": measure}
    if unit:
        out["unit"] = {"name": unit}
    if target is not None:
        out["dimensions"] = {"target": str(target)}
    if rating is not None:
        out["measureClassification"] = classification(rating)
    return out


class _Metrics:
    """The agreed and actual metrics of one notice, added measure by measure."""

    def __init__(self, view: View) -> None:
        self.view = view
        self.agreed: list[dict[str, Any]] = []
        self.actual: list[dict[str, Any]] = []
        terms = view.terms
        self.term = period(terms.start, terms.end)
        last = view.periods[-1].period if view.periods else None
        self.to_date = None if last is None else period(
            terms.start, view.period(last).end)

    def span(self, period_id: str) -> dict[str, str]:
        p = self.view.period(period_id)
        return period(p.start, p.end)

    def add(self, code: str, name: str, agreed: list[dict[str, Any]],
            actual: list[dict[str, Any]]) -> None:
        self.agreed.append({"id": code, "title": name, "observations": agreed})
        if actual:
            self.actual.append({"id": code, "title": name, "observations": actual})

    def outcome(self, o: OutcomePerformance) -> None:
        agreed, actual = [], []
        for row in o.periods:
            if row.target is not None:
                agreed.append({"id": f"{o.code}-{row.period}-target",
                               "period": self.span(row.period), "measure": row.target})
            actual.append(_observation(f"{o.code}-{row.period}", self.span(row.period),
                                       row.actual, o.unit, row.target,
                                       None if row.target is None else row.rating))
        if o.lifetime_target is not None and o.cumulative.target_basis == "lifetime":
            agreed.append({"id": f"{o.code}-target", "period": self.term,
                           "measure": o.lifetime_target})
        c = o.cumulative
        if self.to_date is not None and c.target is not None:
            actual.append(_observation(f"{o.code}-to-date", self.to_date, c.actual, o.unit,
                                       c.target, c.rating))
        if agreed:
            self.add(o.code, o.name, agreed, actual)

    def kpi(self, k: Kpi) -> None:
        actual = []
        for p in self.view.periods:
            value = self.view.actuals.get((p.period, k.code))
            if value is not None:
                actual.append(_observation(
                    f"{k.code}-{p.period}", self.span(p.period), units(value), None,
                    k.target, rate(value, k.target, self.view.ratings)))
        self.add(k.code, k.name, [{"id": f"{k.code}-target", "period": self.term,
                                   "measure": k.target, "notes": "In every period."}],
                 actual)

    def social_value(self, s: SocialValueLine) -> None:
        actual = [] if self.to_date is None else [_observation(
            f"{s.code}-to-date", self.to_date, s.delivered, s.unit, s.target, s.rating)]
        self.add(s.code, s.name, [{"id": f"{s.code}-target", "period": self.term,
                                   "measure": s.target}], actual)


def _date(view: View) -> Any:
    """The latest recording time of the facts the notice reads."""
    state = view.state
    assert state.agreed_by is not None
    moments = [state.agreed_by.recorded_at]
    moments += [v.recorded.recorded_at for v in state.variations
                if view.as_at is None or v.effective_from <= view.as_at]
    moments += [record.recorded.recorded_at for record in view.figures.values()]
    return max(moments)


def contract_performance(state: ContractState, as_at: date | None) -> Notice:
    """UK9: every KPI's targets and its rated results for the periods up to ``as_at``."""
    view = View(state, as_at)
    metrics = _Metrics(view)
    for o in performance(view).outcomes:
        metrics.outcome(o)
    for k in view.terms.kpis:
        metrics.kpi(k)
    for mission in social_value(view):
        for line in mission.commitments:
            metrics.social_value(line)
    if not metrics.agreed:
        raise nothing(state, "UK9", "no KPIs (no outcome, KPI or social-value "
                      "commitment has a target)")
    if not metrics.actual:
        raise nothing(state, "UK9", "no result to assess" + (
            f" by {as_at.isoformat()}" if as_at else ""))
    contract = {
        "status": status(state, as_at), **term_fields(view.terms),
        "agreedMetrics": metrics.agreed,
        "implementation": {
            "metrics": metrics.actual,
            "documents": [{"id": f"{state.reference}-UK9",
                           "documentType": "implementationNotice", "noticeType": "UK9",
                           "title": "Contract performance notice",
                           "description": STATEMENT}]}}
    return Notice(_date(view), ("implementation",), contract)
