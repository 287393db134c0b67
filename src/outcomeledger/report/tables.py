"""The report as tidy tables: one row per observation, one table per section.

CSV, the text format and the HTML tables all render these, so a figure is laid out
once. Cells keep their type (text, number, flag, date) until a renderer formats
them: that is what lets CSV neutralise a text cell starting with ``-`` while leaving
the number -10400.00 a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .model import ContractReport, PortfolioReport

Cell = str | Decimal | int | bool | date | datetime | None


@dataclass(frozen=True, slots=True)
class Section:
    name: str  # file stem for CSV, the ``# name`` line on stdout
    title: str  # caption
    columns: tuple[str, ...]
    rows: Sequence[tuple[Cell, ...]]


def contract_sections(r: ContractReport) -> list[Section]:
    return [_summary(r), *_performance(r), *_improvement(r), *_payments(r), *_records(r),
            *_options(r), *_business_cases(r), *_shares(r), _social_value(r)]


def _summary(r: ContractReport) -> Section:
    """The basis and ledger head, one row."""
    ref = r.reference
    return Section("summary", f"{ref}: report basis and ledger head", (
        "contract", "title", "status", "currency", "through_period", "terms_in_force",
        "as_of", "as_at", "ledger_position", "ledger_hash", "stream_version",
        "stream_hash", "overall_rating"), [(
            ref, r.title, r.status, r.currency, r.basis.through_period,
            r.basis.terms_in_force, r.basis.as_of, r.basis.as_at, r.head.position,
            r.head.hash, r.stream.version, r.stream.hash, r.performance.overall)])


def _performance(r: ContractReport) -> list[Section]:
    """Performance against target, per period and cumulative."""
    ref = r.reference
    perf = r.performance
    return [
        Section("performance", "Performance against target, per outcome and period", (
            "contract", "outcome", "period", "target", "actual", "variance", "pct_of_target",
            "change", "trend", "rating"),
            [(ref, o.code, p.period, p.target, p.actual, p.variance, p.pct_of_target,
              p.change, p.trend, p.rating) for o in perf.outcomes for p in o.periods]),
        Section("performance_cumulative", "Cumulative performance against target", (
            "contract", "outcome", "name", "in_force", "target_basis", "target", "actual",
            "variance", "pct_of_target", "rating"),
            [(ref, o.code, o.name, o.in_force, o.cumulative.target_basis, o.cumulative.target,
              o.cumulative.actual, o.cumulative.variance, o.cumulative.pct_of_target,
              o.cumulative.rating) for o in perf.outcomes]),
    ]


def _improvement(r: ContractReport) -> list[Section]:
    """The improvement test (domain.md b5): one row per outcome paid on a reduction, one
    per pooled test; none for a contract without improvement outcomes."""
    imp = r.improvement
    if imp is None:
        return []
    ref = r.reference
    return [
        Section("improvement", "Improvement outcomes: result against the baseline, the "
                "tests and what they paid", (
                    "contract", "outcome", "in_force", "result_period", "baseline", "per",
                    "exposure", "expected", "observed", "observed_rate", "gap",
                    "reduction_pct", "threshold_pct", "own_test", "pool", "pool_test",
                    "paid_on", "units_paid", "price", "payable", "rating"),
                [(ref, x.code, x.in_force, x.result_period, x.baseline, x.per, x.exposure,
                  x.expected, x.observed, x.observed_rate, x.gap, x.reduction_pct,
                  x.threshold_pct, x.own_test, x.pool, x.pool_test, x.paid_on,
                  x.units_paid, x.price, x.payable, x.rating) for x in imp.outcomes]),
        Section("improvement_pools", "Improvement outcomes: pooled tests", (
            "contract", "pool", "members", "tested_in", "awaiting", "expected", "observed",
            "gap", "reduction_pct", "threshold_pct", "test", "payable_on_pool"),
            [(ref, x.pool, "; ".join(x.members), x.tested_in, "; ".join(x.awaiting),
              x.expected, x.observed, x.gap, x.reduction_pct, x.threshold_pct, x.test,
              x.payable_on_pool) for x in imp.pools]),
    ]


def _payments(r: ContractReport) -> list[Section]:
    """Payments per period, against the caps, and per outcome."""
    ref = r.reference
    pay = r.payments
    return [
        Section("payments", f"Payments per period ({r.currency})", (
            "contract", "period", "earned", "above_cap", "adjustments", "fees",
            "retention_held", "retention_released", "payable", "cumulative_payable",
            "certified", "true_up", "contract_cap"),
            [(ref, p.period, p.earned, p.above_cap, p.adjustments, p.fees, p.retention_held,
              p.retention_released, p.payable, p.cumulative_payable, p.certified, p.true_up,
              p.contract_cap) for p in pay.periods]),
        Section("caps", "Payments against every cap", (
            "contract", "kind", "subject", "measure", "limit", "used", "headroom", "reached",
            "note"), [(ref, c.kind, c.subject, c.measure, c.limit, c.used, c.headroom,
                       c.reached, c.note) for c in pay.caps]),
        Section("outcome_costs", f"Cost per outcome, each outcome on its own ({r.currency}; "
                "cost per unit = payable / units achieved, against the rate card's price)", (
            "contract", "outcome", "name", "units", "earned", "above_cap", "payable",
            "price", "cost_per_unit"), [(ref, o.code, o.name, o.units, o.earned, o.above_cap,
                                         o.payable, o.price, o.cost_per_unit)
                                        for o in pay.outcomes]),
    ]


def _records(r: ContractReport) -> list[Section]:
    """Returns, the restatement and clawback register, the variation log."""
    ref = r.reference
    return [
        Section("returns", f"Returns expected by {r.returns.expected_by}: received, missing, "
                "late", ("contract", "period", "provider", "status", "late", "validated",
                         "restatements", "first_recorded_at", "first_recorded_by"),
                [(ref, x.period, x.provider, x.status, x.late, x.validated, x.restatements,
                  x.first_recorded_at, x.first_recorded_by) for x in r.returns.rows]),
        Section("restatements", "Restatement register", (
            "contract", "event", "period", "provider", "outcome", "participant", "original",
            "restated", "difference", "earned_difference", "payable_through_period_change",
            "cash_effect", "cash_effect_note", "reason", "recorded_by", "recorded_at",
            "evidence"), [(ref, x.event, x.period, x.provider, x.outcome, x.participant,
                           x.original, x.restated, x.difference, x.earned_difference,
                           x.payable_through_period_change, x.cash_effect,
                           x.cash_effect_note, x.reason, x.recorded_by, x.recorded_at,
                           x.evidence) for x in r.register.restatements]),
        Section("adjustments", "Clawbacks, recoveries and other adjustments", (
            "contract", "event", "period", "kind", "amount", "reason", "recorded_by",
            "recorded_at"), [(ref, a.event, a.period, a.kind, a.amount, a.reason,
                              a.recorded_by, a.recorded_at) for a in r.register.adjustments]),
        Section("variations", "Variation log", (
            "contract", "event", "effective_from", "in_force", "changes", "payable_effect",
            "reason", "recorded_by", "recorded_at"),
            [(ref, v.event, v.effective_from, v.in_force, "; ".join(v.changes),
              v.payable_effect, v.reason, v.recorded_by, v.recorded_at)
             for v in r.variations]),
    ]


def _options(r: ContractReport) -> list[Section]:
    """Every extension and break option, eligible or not and why: a contract without
    options has no such section (its report is as it was before options existed)."""
    if not r.options:
        return []
    return [Section("options", "Extension and break options: eligible or not, and why", (
        "contract", "option", "kind", "condition", "months", "decide_by", "break_on",
        "judged_on", "eligible", "why", "exercised_on"),
        [(r.reference, o.option, o.kind, o.condition, o.months, o.decide_by, o.break_on,
          o.judged_on, o.eligible, o.why, o.exercised_on) for o in r.options])]


def _business_cases(r: ContractReport) -> list[Section]:
    """The base contract and each business case side by side, one row per outcome: a
    contract without business cases has no such section."""
    if not r.business_cases:
        return []
    return [Section("business_cases", "Base contract and business cases: budget, earned, "
                    "paid, outcomes against targets and cost per outcome (outcome payments "
                    "only: fees, adjustments and retention are the contract's)", (
        "contract", "part", "title", "effective", "budget", "part_earned", "part_payable",
        "budget_remaining", "outcome", "units", "target", "earned", "payable",
        "cost_per_unit"),
        [(r.reference, b.business_case or "base contract", b.title, b.effective, b.budget,
          b.earned, b.payable, b.remaining, o.code, o.units, o.target, o.earned, o.payable,
          o.cost_per_unit) for b in r.business_cases for o in b.outcomes])]


def _shares(r: ContractReport) -> list[Section]:
    """Who earned, what reached whom, and who pays: the delivery network, its market
    figures and the payer split."""
    ref = r.reference
    return [
        Section("network", "Delivery network: share of earned, of payments, and what "
                "reached each provider", (
                    "contract", "provider", "name", "kind", "local", "joined", "left",
                    "earned", "share", "fees", "adjustments", "payable", "buyer_pays",
                    "owed", "margin", "provider_payments", "payments_basis", "keeps"),
                [(ref, x.id or "integrator", x.name, x.kind, x.local, x.joined, x.left,
                  x.earned, x.share, x.fees, x.adjustments, x.payable, x.buyer_pays, x.owed,
                  x.margin, x.provider_payments, x.payments_basis, x.keeps)
                 for x in r.network.providers]),
        Section("network_outcomes", "Delivery network: outcomes by provider", (
            "contract", "provider", "outcome", "units", "earned", "target",
            "percent_of_target", "rating"),
            [(ref, x.id or "integrator", o.code, o.units, o.earned, o.target,
              o.percent_of_target, o.rating)
             for x in r.network.providers for o in x.outcomes]),
        *_market(r),
        Section("payers", "Payer split against commitments", (
            "contract", "payer", "name", "share", "residue", "commitment", "amount",
            "headroom", "over_commitment"),
            [(ref, x.id, x.name, x.share, x.residue, x.commitment, x.amount, x.headroom,
              x.over_commitment) for x in r.payers]),
        Section("payer_split", "Payer split per period", (
            "contract", "payer", "period", "payable", "amount", "cumulative"),
            [(ref, x.id, p.period, p.payable, p.amount, p.cumulative)
             for x in r.payers for p in x.periods]),
    ]


def _market(r: ContractReport) -> list[Section]:
    """Whether the network is diversifying: shares of provider payments, concentration,
    new entrants per financial year."""
    ref, m = r.reference, r.network.market
    return [
        Section("network_market", "Delivery network: market shaping (shares of provider "
                "payments)", (
                    "contract", "provider_payments", "sme_share", "vcse_share", "local_share",
                    "kind_unrecorded_share", "local_unrecorded_share", "hhi", "founding"),
                [] if m is None else [(
                    ref, m.provider_payments, m.sme_share, m.vcse_share, m.local_share,
                    m.kind_unrecorded_share, m.local_unrecorded_share, m.hhi, m.founding)]),
        Section("network_entrants", "Delivery network: providers joined each financial year",
                ("contract", "year", "joined", "providers"),
                [] if m is None else [(ref, y.year, y.joined, "; ".join(y.providers))
                                      for y in m.entrants]),
    ]


def _social_value(r: ContractReport) -> Section:
    """Social value commitments against delivery."""
    return Section("social_value", "Social value commitments against delivery, by mission", (
        "contract", "mission", "code", "name", "unit", "target", "delivered",
        "pct_of_target", "rating", "proxy_value", "proxy_total"),
        [(r.reference, m.mission, c.code, c.name, c.unit, c.target, c.delivered,
          c.pct_of_target, c.rating, c.proxy_value, c.proxy_total)
         for m in r.social_value for c in m.commitments])


def portfolio_sections(p: PortfolioReport) -> list[Section]:
    return [Section(
        "portfolio", f"Portfolio summary (ledger head {p.head.position}:{p.head.hash})", (
            "contract", "title", "status", "currency", "overall_rating", "earned",
            "above_cap", "payable", "certified", "contract_cap", "headroom",
            "returns_missing", "returns_late", "restatements", "variations"),
        [(c.reference, c.title, c.status, c.currency, c.overall_rating, c.earned,
          c.above_cap, c.payable, c.certified, c.contract_cap, c.headroom, c.returns_missing,
          c.returns_late, c.restatements, c.variations) for c in p.contracts])]
