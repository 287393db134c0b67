"""Read model ``contract_state``: each contract, the terms in force per period, variations.

Terms in force for a period are the agreed terms plus every variation effective on or
before the period's first day, in order of effective date then recording order (the
README's payment rules). Each distinct set of terms is stored once, as canonical JSON,
under a ``terms_key`` naming the events that shaped it (``v1+v4+v9``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from typing import Annotated

from msgspec import Meta

from ..domain.contract.records import VariationRecord
from ..domain.contract.state import ContractState
from ..domain.payments.mechanism import terms_label
from ..domain.periods import Period
from ..domain.terms import Break, ContractTerms, Extension
from ..domain.variations import apply_variation
from .base import (
    Contract,
    ContractView,
    Day,
    JsonText,
    Money,
    PeriodId,
    Projection,
    Quantity,
    Row,
    Sha256,
    Table,
    Timestamp,
    canonical_json,
    day,
    money,
    money_or_none,
    quantity_or_none,
    timestamp,
)

TermsKey = Annotated[str, Meta(
    description="The events that shaped these terms: the agreement's stream version, then "
    "each variation applied, in the order applied (e.g. `v1+v4`).",
    pattern=r"^v[0-9]+(\+v[0-9]+)*$")]


class ContractRow(Row, frozen=True, kw_only=True):
    """One contract as its events stand: identity, status and the latest terms."""

    contract: Contract
    title: Annotated[str, Meta(description="Title (latest terms).")]
    buyer: Annotated[str, Meta(description="Buyer (commissioner).")]
    supplier: Annotated[str, Meta(description="Supplier (provider or integrator).")]
    currency: Annotated[str, Meta(description="ISO 4217 currency of every amount.")]
    cadence: Annotated[str, Meta(description="`month` or `quarter` (UK financial year).")]
    term_start: Annotated[Day, Meta(description="Start of the term.")]
    term_end: Annotated[Day, Meta(description="End of the term, as varied.")]
    claims_until: Annotated[Day, Meta(
        description="Last date an outcome may be achieved and still claimed, as varied.")]
    max_value: Annotated[Money | None, Meta(
        description="Contract cap on all outcome payments (latest terms); null: no cap.")]
    programme: Annotated[str | None, Meta(
        description="The programme whose budget pays its payment runs (latest terms); "
        "null: none.")]
    status: Annotated[str, Meta(description="`open` or `closed`.")]
    closed_on: Annotated[Day | None, Meta(description="Closing date, once closed.")]
    agreed_at: Annotated[Timestamp, Meta(description="When the agreement was recorded.")]
    agreed_by: Annotated[str, Meta(description="Who recorded the agreement.")]
    variations: Annotated[int, Meta(description="Number of variations recorded.")]
    version: Annotated[int, Meta(description="Events in the contract's stream.")]
    position: Annotated[int, Meta(
        description="Global position of the contract's latest event.")]
    head_hash: Annotated[Sha256, Meta(
        description="Hash of the contract's latest event (its hash-chain head).")]
    terms_key: TermsKey


class PeriodTermsRow(Row, frozen=True, kw_only=True):
    """The terms in force for one period of one contract."""

    contract: Contract
    period: PeriodId
    period_start: Annotated[Day, Meta(description="First day of the period.")]
    period_end: Annotated[Day, Meta(description="Last day of the period.")]
    in_term: Annotated[bool, Meta(
        description="The period overlaps the term (start to end) of the terms in force.")]
    terms_key: TermsKey
    terms_in_force: Annotated[str, Meta(
        description="The terms in words, as `payments explain` shows them.")]
    max_value: Annotated[Money | None, Meta(description="Contract cap in force; null: none.")]
    retention: Annotated[Quantity | None, Meta(
        description="Share withheld until final reconciliation (decimal); null: none.")]
    outcomes: Annotated[str, Meta(description="Codes of the outcomes in force, "
                                              "space-separated, in contract order.")]


class TermsRow(Row, frozen=True, kw_only=True):
    """One distinct set of terms a contract has had in force, in full."""

    contract: Contract
    terms_key: TermsKey
    effective_from: Annotated[Day, Meta(
        description="First day these terms apply (the start, or the latest variation's "
        "effective date).")]
    terms_hash: Annotated[Sha256, Meta(description="SHA-256 of `terms` (UTF-8).")]
    terms: Annotated[JsonText, Meta(
        description="The full terms as canonical JSON (the contract definition format, "
        "docs/formats.md).")]


class VariationRow(Row, frozen=True, kw_only=True):
    """One recorded variation: what changed, from when, who and why."""

    contract: Contract
    version: Annotated[int, Meta(description="Stream version of the `ContractVaried` event, "
                                 "or of a `ContractExtended` event (an extension option "
                                 "exercised changes `end`, and `claims_until` when the terms "
                                 "give one, from the day after the old end).")]
    position: Annotated[int, Meta(description="Global position of the event.")]
    effective_from: Annotated[Day, Meta(description="First day the variation applies.")]
    recorded_at: Annotated[Timestamp, Meta(description="When the ledger learned of it.")]
    recorded_by: Annotated[str, Meta(description="Who recorded it.")]
    reason: Annotated[str, Meta(description="Why (required for variations).")]
    changes: Annotated[JsonText, Meta(
        description="The variation document (only the fields that change), canonical JSON.")]


class OptionRow(Row, frozen=True, kw_only=True):
    """One extension or break option of the latest terms (DESIGN 11), and its use."""

    contract: Contract
    option: Annotated[str, Meta(description="The option's id in the terms.")]
    kind: Annotated[str, Meta(description="`extension` or `break`.")]
    months: Annotated[int | None, Meta(
        description="Months an extension adds to the term; null for a break.")]
    decide_by: Annotated[Day | None, Meta(
        description="Last day an extension may be exercised; null for a break.")]
    break_on: Annotated[Day | None, Meta(
        description="The day a break closes the contract; null for an extension.")]
    rating_at_least: Annotated[str, Meta(
        description="The condition: every outcome with a target for a judged period rated "
        "this or better (`good`, `approaching target`, `requires improvement`).")]
    periods: Annotated[int, Meta(
        description="The condition: how many completed periods are judged.")]
    exercised: Annotated[bool, Meta(description="The option has been exercised.")]
    decided_on: Annotated[Day | None, Meta(
        description="The day its condition was judged on (`--on`); null: not exercised.")]
    version: Annotated[int | None, Meta(
        description="Stream version of the `ContractExtended` or `ContractBroken` event; "
        "null: not exercised.")]
    position: Annotated[int | None, Meta(
        description="Global position of that event; null: not exercised.")]
    recorded_at: Annotated[Timestamp | None, Meta(
        description="When it was exercised; null: not exercised.")]
    recorded_by: Annotated[str | None, Meta(
        description="Who exercised it; null: not exercised.")]
    reason: Annotated[str | None, Meta(
        description="Why (required); null: not exercised.")]


class BusinessCaseRow(Row, frozen=True, kw_only=True):
    """One business case approved on a contract (DESIGN 11). Its outcomes' payment lines
    name it (`proj_payments_lines.business_case`)."""

    contract: Contract
    business_case: Annotated[str, Meta(description="The business case's id.")]
    title: Annotated[str, Meta(description="What the additional delivery is.")]
    need: Annotated[str, Meta(description="The need it meets, as agreed.")]
    effective_from: Annotated[Day, Meta(description="First day its outcomes apply.")]
    budget: Annotated[Money, Meta(description="The most it pays over the contract's life "
                                              "(caps its outcomes first).")]
    outcomes: Annotated[str, Meta(description="Its outcome codes, space-separated.")]
    providers: Annotated[str, Meta(description="The providers who deliver it, "
                                               "space-separated; empty: any.")]
    version: Annotated[int, Meta(description="Stream version of the "
                                             "`BusinessCaseApproved` event.")]
    position: Annotated[int, Meta(description="Global position of the event.")]
    recorded_at: Annotated[Timestamp, Meta(description="When it was approved.")]
    recorded_by: Annotated[str, Meta(description="Who approved it.")]
    reason: Annotated[str, Meta(description="Why (required).")]


CONTRACTS = Table("proj_contract_state", ContractRow, ("contract",))
PERIODS = Table("proj_contract_state_periods", PeriodTermsRow, ("contract", "period"))
TERMS = Table("proj_contract_state_terms", TermsRow, ("contract", "terms_key"))
VARIATIONS = Table("proj_contract_state_variations", VariationRow, ("contract", "version"))
OPTIONS = Table("proj_contract_state_options", OptionRow, ("contract", "option"))
BUSINESS_CASES = Table("proj_contract_state_business_cases", BusinessCaseRow,
                       ("contract", "business_case"))


def _applied(state: ContractState, first_day: date) -> list[VariationRecord]:
    return [v for v in state.ordered_variations if v.effective_from <= first_day]


def _key(state: ContractState, applied: Sequence[VariationRecord]) -> str:
    agreed = state.agreed_by.ref if state.agreed_by else "v1"
    return "+".join([agreed, *(v.recorded.ref for v in applied)])


def rows(view: ContractView) -> tuple[list[Row], ...]:
    state = view.state
    if not state.exists:
        return [], [], [], [], [], []
    # Each distinct set of terms, by key: (the terms, the first day they apply).
    terms_by_key: dict[str, tuple[ContractTerms, str]] = {}
    periods = _period_rows(view, terms_by_key)
    contract = _contract_row(view, _terms_for(state, state.ordered_variations, terms_by_key))
    return ([contract], periods, _terms_rows(state, terms_by_key), _variation_rows(view),
            _option_rows(view), _business_case_rows(view))


def _terms_for(state: ContractState, applied: Sequence[VariationRecord],
               terms_by_key: dict[str, tuple[ContractTerms, str]]) -> str:
    """The key of the terms ``applied`` shape, computed into ``terms_by_key`` once."""
    key = _key(state, applied)
    if key not in terms_by_key:
        base = state.base_terms
        terms = base
        for v in applied:
            terms = apply_variation(terms, v.variation)
        start = applied[-1].effective_from if applied else base.start
        terms_by_key[key] = (terms, day(start))
    return key


def _period_rows(view: ContractView,
                 terms_by_key: dict[str, tuple[ContractTerms, str]]) -> list[Row]:
    state = view.state
    cur = state.base_terms.currency
    periods: list[Row] = []
    for p, pid in view.periods:
        applied = _applied(state, p.start)
        key = _terms_for(state, applied, terms_by_key)
        terms = terms_by_key[key][0]
        periods.append(PeriodTermsRow(
            contract=state.reference, period=pid, period_start=day(p.start),
            period_end=day(p.end), in_term=_in_term(p, terms), terms_key=key,
            terms_in_force=terms_label(state, p),
            max_value=money_or_none(terms.max_value, cur),
            retention=quantity_or_none(terms.retention),
            outcomes=" ".join(o.code for o in terms.outcomes)))
    return periods


def _contract_row(view: ContractView, current_key: str) -> ContractRow:
    state = view.state
    current = state.current_terms
    cur = state.base_terms.currency
    assert state.agreed_by is not None
    return ContractRow(
        contract=state.reference, title=current.title, buyer=current.buyer,
        supplier=current.supplier, currency=cur, cadence=state.base_terms.cadence,
        term_start=day(current.start), term_end=day(current.end),
        claims_until=day(current.last_claim_date),
        max_value=money_or_none(current.max_value, cur),
        programme=current.programme or None,
        status="closed" if state.closed else "open",
        closed_on=None if state.closed_on is None else day(state.closed_on),
        agreed_at=timestamp(state.agreed_by.recorded_at), agreed_by=state.agreed_by.recorded_by,
        variations=len(state.variations), version=state.version,
        position=view.positions[-1], head_hash=state.head_hash, terms_key=current_key)


def _terms_rows(state: ContractState,
                terms_by_key: dict[str, tuple[ContractTerms, str]]) -> list[Row]:
    terms_rows: list[Row] = []
    for key in sorted(terms_by_key, key=lambda k: [int(x[1:]) for x in k.split("+")]):
        terms, effective = terms_by_key[key]
        text = canonical_json(terms)
        terms_rows.append(TermsRow(
            contract=state.reference, terms_key=key, effective_from=effective,
            terms_hash=hashlib.sha256(text.encode()).hexdigest(), terms=text))
    return terms_rows


def _variation_rows(view: ContractView) -> list[Row]:
    state = view.state
    return [VariationRow(contract=state.reference, version=v.recorded.version,
                         position=view.position_of(v.recorded.version),
                         effective_from=day(v.effective_from),
                         recorded_at=timestamp(v.recorded.recorded_at),
                         recorded_by=v.recorded.recorded_by, reason=v.recorded.reason,
                         changes=canonical_json(v.variation))
            for v in state.variations]


def _option_rows(view: ContractView) -> list[Row]:
    state = view.state
    terms = state.current_terms
    used = {r.option: r for r in state.exercised}
    out: list[Row] = []
    options: list[Extension | Break] = [*terms.extensions, *terms.breaks]
    for option in options:
        record = used.get(option.id)
        rec = None if record is None else record.recorded
        out.append(OptionRow(
            contract=state.reference, option=option.id,
            kind="extension" if isinstance(option, Extension) else "break",
            months=option.months if isinstance(option, Extension) else None,
            decide_by=day(option.decide_by) if isinstance(option, Extension) else None,
            break_on=day(option.on) if isinstance(option, Break) else None,
            rating_at_least=option.condition.rating_at_least,
            periods=option.condition.periods, exercised=record is not None,
            decided_on=None if record is None else day(record.decided_on),
            version=None if rec is None else rec.version,
            position=None if rec is None else view.position_of(rec.version),
            recorded_at=None if rec is None else timestamp(rec.recorded_at),
            recorded_by=None if rec is None else rec.recorded_by,
            reason=None if rec is None else rec.reason))
    return out


def _business_case_rows(view: ContractView) -> list[Row]:
    state = view.state
    cur = state.base_terms.currency
    return [BusinessCaseRow(
        contract=state.reference, business_case=r.business_case.id,
        title=r.business_case.title, need=r.business_case.need,
        effective_from=day(r.business_case.effective),
        budget=money(r.business_case.budget, cur),
        outcomes=" ".join(o.code for o in r.business_case.outcomes),
        providers=" ".join(r.business_case.providers), version=r.recorded.version,
        position=view.position_of(r.recorded.version),
        recorded_at=timestamp(r.recorded.recorded_at), recorded_by=r.recorded.recorded_by,
        reason=r.recorded.reason) for r in state.business_cases]


def _in_term(p: Period, terms: ContractTerms) -> bool:
    return p.end >= terms.start and p.start <= terms.end


PROJECTION = Projection("contract_state", (CONTRACTS, PERIODS, TERMS, VARIATIONS, OPTIONS,
                                          BUSINESS_CASES), "contract", contract_rows=rows)

