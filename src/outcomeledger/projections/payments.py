"""Read model ``payments``: the payment schedule of every contract, and its derivation.

Rows are :func:`outcomeledger.domain.payments.mechanism.compute` over the contract's state, written
out: per period the DESIGN 5 amounts, per contract the totals, and per payment line
its derivation (the steps of ``payments explain``, with the stream versions of the
events behind each step).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec
from msgspec import Meta

from ..domain.contract.state import ContractState
from ..domain.payments.chain import provider_chains
from ..domain.payments.forecast import with_forecast
from ..domain.payments.schedule import PeriodPayment, Schedule, Step
from .base import (
    Contract,
    ContractView,
    JsonText,
    Money,
    PeriodId,
    Projection,
    Quantity,
    Row,
    Table,
    money,
    money_or_none,
    quantity,
)

Currency = Annotated[str, Meta(description="ISO 4217 currency of every amount in the row.")]


class PaymentRow(Row, frozen=True, kw_only=True):
    """One period of one contract's payment schedule (`payments REF`)."""

    contract: Contract
    period: PeriodId
    currency: Currency
    earned: Annotated[Money, Meta(
        description="Outcome payments at the price or tiers in force, before caps.")]
    above_cap: Annotated[Money, Meta(
        description="Part of `earned` removed by caps (units, participant, value, "
        "contract), reported, never lost.")]
    adjustments: Annotated[Money, Meta(
        description="Reward adjustments of the period plus KPI service credits, plus its "
        "share of risk on cost (the `gain_share` or `pain_share` step of line 0) "
        "(positive: owed to the supplier).")]
    fees: Annotated[Money, Meta(description="Fees of the period (per period, per attachment).")]
    retained: Annotated[Money, Meta(
        description="Retention withheld in the period (negative: released).")]
    payable: Annotated[Money, Meta(
        description="earned - above_cap + adjustments + fees - retained.")]
    cumulative_payable: Annotated[Money, Meta(
        description="Running total of `payable` through this period.")]
    certified: Annotated[Money, Meta(
        description="Amount certified by payment runs for this period.")]
    true_up: Annotated[Money, Meta(
        description="Part of `certified` that corrects periods certified before "
        "(a restatement's cash effect).")]
    terms_in_force: Annotated[str, Meta(description="The terms the period was priced with.")]
    active: Annotated[bool, Meta(
        description="The period has any activity (tables hide inactive periods).")]


class TotalsRow(Row, frozen=True, kw_only=True):
    """Totals over a contract's schedule, and what its cap still allows."""

    contract: Contract
    currency: Currency
    periods: Annotated[int, Meta(description="Periods in the schedule.")]
    earned: Annotated[Money, Meta(description="Sum of `earned`.")]
    above_cap: Annotated[Money, Meta(description="Sum of `above_cap`.")]
    adjustments: Annotated[Money, Meta(description="Sum of `adjustments`.")]
    fees: Annotated[Money, Meta(description="Sum of `fees`.")]
    retained: Annotated[Money, Meta(description="Sum of `retained` (still withheld).")]
    payable: Annotated[Money, Meta(description="Sum of `payable`.")]
    certified: Annotated[Money, Meta(description="Everything certified by payment runs.")]
    max_value: Annotated[Money | None, Meta(
        description="Contract cap (latest terms); null: no cap.")]
    headroom: Annotated[Money | None, Meta(
        description="max_value - (earned - above_cap): what the cap still allows for "
        "outcome payments; null: no cap.")]
    forecast_at_targets: Annotated[Money, Meta(
        description="Total payable over the whole term if every outcome delivers exactly "
        "its target: the contract's own arithmetic over the figures returned plus those "
        "its targets promise (docs: projections/REPORT.md, `ProgrammeContractLine`).")]


class LineRow(Row, frozen=True, kw_only=True):
    """One line of one period's payment with its derivation (`payments explain`).

    Lines 1.. are the outcome lines, in outcome order; line 0 holds the period-level
    steps (pools, fees, service credits, adjustments, risk share, retention), with no
    outcome and no line amounts.
    """

    contract: Contract
    period: PeriodId
    line: Annotated[int, Meta(description="Line number in the period; 0: period-level "
                                          "steps.", ge=0)]
    outcome: Annotated[str, Meta(description="Outcome code (empty on line 0).")]
    name: Annotated[str, Meta(description="Outcome name (empty on line 0).")]
    units: Annotated[Quantity | None, Meta(
        description="Units counted from the latest figures (after participant rules).")]
    paid_units: Annotated[Quantity | None, Meta(
        description="Units priced, after deadweight and threshold (improvement outcomes: "
        "events avoided newly payable).")]
    earned: Annotated[Money | None, Meta(description="Value of `paid_units` at the price "
                                                     "in force.")]
    above_cap: Annotated[Money | None, Meta(description="Removed by caps.")]
    payable: Annotated[Money | None, Meta(description="earned - above_cap.")]
    steps: Annotated[JsonText, Meta(
        description="The derivation, in order: a JSON array of `{step, detail, amount, "
        "events}` where `step` is units, excluded, deadweight, threshold, earned, floor, "
        "cap_units, participant_cap, cap_value, budget, max_value, result, pool, fee, "
        "service_credit, adjustment, gain_share or pain_share (shared risk on cost: the "
        "period's line, named by the cumulative share it brings the contract to, its events "
        "the CostsReported counted), retention or closed (figures of a period begun after "
        "the contract's closure, not paid, or its costs, sharing no risk); `amount` is its "
        "money effect (decimal string) or null; `events` lists the stream versions of the "
        "events behind it (`v3`; see `proj_audit_trail`).")]
    business_case: Annotated[str | None, Meta(
        description="The business case whose outcome the line is (`contract "
        "business-case`; its budget caps it: step `budget`); null: the contract's own "
        "outcome, or line 0.")]


class ProviderRow(Row, frozen=True, kw_only=True):
    """Down the chain (`payments REF --provider ID`): for one provider of the network, one
    period in which it returned figures, was paid for outcomes or was owed a fee."""

    contract: Contract
    period: PeriodId
    provider: Annotated[str, Meta(description="Provider id (`[[providers]]` of the contract).")]
    currency: Currency
    units: Annotated[Quantity, Meta(
        description="Units the provider returned for the period, every outcome (rejected "
        "returns left out).")]
    buyer_pays: Annotated[Money, Meta(
        description="What the buyer pays for the provider's outcomes: each outcome line's "
        "payable after caps, shared pro rata to the positive units the providers returned "
        "(figures without a provider stay with the integrator).")]
    share_part: Annotated[Money | None, Meta(
        description="Owed by the integrator as `terms.share` of `buyer_pays`; null: no "
        "share in its terms.")]
    prices_part: Annotated[Money | None, Meta(
        description="Owed at the provider's own `terms.prices` for its units; null: no "
        "prices in its terms.")]
    fee: Annotated[Money | None, Meta(
        description="Owed as `terms.fee` for a period its membership overlaps (0 outside "
        "it); null: no fee in its terms.")]
    owed: Annotated[Money | None, Meta(
        description="What the integrator owes the provider: the three parts together; "
        "null: the provider has no `[providers.terms]`.")]
    margin: Annotated[Money | None, Meta(
        description="buyer_pays - owed: the integrator's margin on this provider; null "
        "when `owed` is.")]


PERIODS = Table("proj_payments", PaymentRow, ("contract", "period"))
TOTALS = Table("proj_payments_totals", TotalsRow, ("contract",))
LINES = Table("proj_payments_lines", LineRow, ("contract", "period", "line"))
PROVIDERS = Table("proj_payments_providers", ProviderRow, ("contract", "period", "provider"))

_json = msgspec.json.Encoder()


def _active(p: PeriodPayment) -> bool:
    return bool(p.lines or p.earned or p.above_cap or p.adjustments or p.fees or p.retained
                or p.payable or p.certified or p.true_up)


class _StepText(msgspec.Struct, gc=False):
    """One element of ``steps``: encodes exactly as the dict ``{"step", "detail",
    "amount", "events"}`` in that order, without building a dict per step."""

    step: str
    detail: str
    amount: str | None
    events: tuple[str, ...]


def _steps(steps: tuple[Step, ...], cur: str, earned: Decimal | None = None,
           earned_text: str = "") -> str:
    """The steps as JSON text; ``earned`` (already formatted as ``earned_text``) is the
    line's earned amount, which its ``earned`` step carries too."""
    return _json.encode([_StepText(
        s.label, s.detail, None if s.amount is None else earned_text
        if s.amount is earned else money(s.amount, cur), s.refs) for s in steps]).decode()


def rows(view: ContractView) -> tuple[list[Row], list[Row], list[Row], list[Row]]:
    state = view.state
    if not state.exists:
        return [], [], [], []
    schedule, forecast = with_forecast(state)
    ref, cur = state.reference, schedule.currency
    periods: list[Row] = []
    lines: list[Row] = []
    for p in schedule.periods:
        pid = p.period
        periods.append(PaymentRow(
            contract=ref, period=pid, currency=cur, earned=money(p.earned, cur),
            above_cap=money(p.above_cap, cur), adjustments=money(p.adjustments, cur),
            fees=money(p.fees, cur), retained=money(p.retained, cur),
            payable=money(p.payable, cur),
            cumulative_payable=money(p.cumulative_payable, cur),
            certified=money(p.certified, cur), true_up=money(p.true_up, cur),
            terms_in_force=p.terms_in_force, active=_active(p)))
        if p.other:
            lines.append(LineRow(contract=ref, period=pid, line=0, outcome="", name="",
                                 units=None, paid_units=None, earned=None, above_cap=None,
                                 payable=None, steps=_steps(p.other, cur),
                                 business_case=None))
        for n, line in enumerate(p.lines, 1):
            # Most lines pay every unit counted, and nothing above a cap: the same values
            # are formatted once.
            units = quantity(line.units)
            earned = money(line.earned, cur)
            lines.append(LineRow(
                contract=ref, period=pid, line=n, outcome=line.outcome, name=line.name,
                units=units, paid_units=(units if line.paid_units is line.units
                                         else quantity(line.paid_units)),
                earned=earned, above_cap=money(line.above_cap, cur),
                payable=earned if line.payable is line.earned else money(line.payable, cur),
                steps=_steps(line.steps, cur, line.earned, earned),
                business_case=line.business_case or None))
    headroom = schedule.headroom
    totals = TotalsRow(
        contract=ref, currency=cur, periods=len(schedule.periods),
        earned=money(schedule.total("earned"), cur),
        above_cap=money(schedule.total("above_cap"), cur),
        adjustments=money(schedule.total("adjustments"), cur),
        fees=money(schedule.total("fees"), cur),
        retained=money(schedule.total("retained"), cur),
        payable=money(schedule.total("payable"), cur),
        certified=money(schedule.total("certified"), cur),
        max_value=money_or_none(schedule.max_value, cur),
        headroom=money_or_none(headroom, cur), forecast_at_targets=money(forecast, cur))
    return periods, [totals], lines, _provider_rows(state, schedule)


def _provider_rows(state: ContractState, schedule: Schedule) -> list[Row]:
    """The chain of every provider, one row per period in which anything reached it or
    was owed to it (a network of many providers over a long term stays a table of its
    activity, not of every provider times every period)."""
    out: list[Row] = []
    for chain in provider_chains(state, schedule):
        cur, pid = chain.currency, chain.provider.id
        for r in chain.periods:
            if not (r.units or r.buyer_pays or r.owed):
                continue
            out.append(ProviderRow(
                contract=chain.contract, period=r.period, provider=pid, currency=cur,
                units=quantity(r.units), buyer_pays=money(r.buyer_pays, cur),
                share_part=money_or_none(r.share_part, cur),
                prices_part=money_or_none(r.prices_part, cur),
                fee=money_or_none(r.fee, cur), owed=money_or_none(r.owed, cur),
                margin=money_or_none(r.margin, cur)))
    return out


PROJECTION = Projection("payments", (PERIODS, TOTALS, LINES, PROVIDERS), "contract",
                        contract_rows=rows)

