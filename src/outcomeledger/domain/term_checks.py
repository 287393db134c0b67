"""Whether a contract definition or variation makes sense (DESIGN 4.1, 4.2).

Every check appends a :class:`~outcomeledger.domain.errors.Problem` naming the field, the
value given and what was expected, so a file's problems are reported together.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from msgspec import UNSET

from .bounds import finite
from .errors import Problem
from .network_checks import check_network
from .periods import (
    MAX_CLAIMS_YEARS_AFTER_END,
    MAX_DUE_DAYS,
    MAX_TERM_YEARS,
    day_problem,
    is_boundary,
    years_after,
)
from .risk_share_terms import check_risk_share
from .terms import Break, Condition, ContractTerms, Extension, Outcome, Ratings, Tier
from .variations import Variation


def check_variation(terms: ContractTerms, variation: Variation, source: str) -> list[Problem]:
    """Problems that only make sense against the terms being varied."""
    problems: list[Problem] = []
    codes = {o.code for o in terms.outcomes}
    for code in variation.retire:
        if code not in codes:
            problems.append(Problem(source, None, "retire",
                                    f"no outcome {code!r} to retire (got {code!r}, "
                                    f"expected one of {sorted(codes)})"))
    for change in variation.outcomes:
        if change.code not in codes and (change.name is UNSET or (
                change.price in (UNSET, None) and change.tiers in (UNSET, None)
                and change.kind in (UNSET, "count"))):
            problems.append(Problem(source, None, f"outcomes[{change.code}]",
                                    "a new outcome needs a name and a pricing rule "
                                    "(price or tiers)"))
    providers = {p.id for p in terms.providers}
    for given in variation.providers:
        if given.id not in providers and given.name is UNSET:
            problems.append(Problem(source, None, f"providers[{given.id}]",
                                    f"no provider {given.id!r} in the network (got "
                                    f"{given.id!r}, expected one of {sorted(providers)}, "
                                    "or a name for a provider added)"))
    return problems


def check_terms(terms: ContractTerms, source: str) -> list[Problem]:
    """Every semantic problem with a (possibly varied) contract definition."""
    p: list[Problem] = []
    zero, one = Decimal(0), Decimal(1)
    if not terms.reference.strip():
        p.append(Problem(source, None, "reference", "must not be empty"))
    _check_dates(p, source, terms)
    if len(terms.currency) != 3 or not terms.currency.isupper():
        p.append(Problem(source, None, "currency",
                         f"expected an ISO 4217 code like GBP (got {terms.currency!r})"))
    finite(p, source, "max_value", terms.max_value, low=zero)
    finite(p, source, "retention", terms.retention, low=zero, high=one)
    finite(p, source, "participant_cap", terms.participant_cap, low=zero)
    known = _check_outcomes(p, source, terms)
    _check_money(p, source, terms, known)
    if terms.ratings is not None:
        _check_ratings(p, source, terms.ratings)
    check_network(p, source, terms, known)
    _check_options(p, source, terms)
    if terms.risk_share is not None:
        check_risk_share(p, source, terms.risk_share)
    return p


#: Bounds on an option's numbers: a term never grows past MAX_TERM_YEARS anyway, and a
#: condition over more periods than a long term holds could never be met.
_MAX_MONTHS = MAX_TERM_YEARS * 12
_MAX_CONDITION_PERIODS = MAX_TERM_YEARS * 12


def _check_options(p: list[Problem], source: str, terms: ContractTerms) -> None:
    """The extension and break options (DESIGN 11): each id once across both, within the
    term, with a condition that can be judged."""
    options: tuple[tuple[str, Extension | Break], ...] = (
        *((f"extensions[{i}]", e) for i, e in enumerate(terms.extensions)),
        *((f"breaks[{i}]", b) for i, b in enumerate(terms.breaks)))
    seen: set[str] = set()
    for where, option in options:
        if not option.id.strip():
            p.append(Problem(source, None, f"{where}.id", "must not be empty"))
        elif option.id in seen:
            p.append(Problem(source, None, f"{where}.id", f"option id {option.id!r} appears "
                             "twice (extension and break ids are distinct)"))
        seen.add(option.id)
        _check_condition(p, source, f"{where}.condition", option.condition)
        if isinstance(option, Extension):
            if not 1 <= option.months <= _MAX_MONTHS:
                p.append(Problem(source, None, f"{where}.months", f"months added to the "
                                 f"term (got {option.months}, expected 1 to {_MAX_MONTHS})"))
            _within_term(p, source, f"{where}.decide_by", option.decide_by, terms,
                         terms.end)
        else:
            _within_term(p, source, f"{where}.on", option.on, terms,
                         terms.end - timedelta(days=1))


def _within_term(p: list[Problem], source: str, field: str, day: date, terms: ContractTerms,
                 last: date) -> None:
    if not terms.start <= day <= last:
        p.append(Problem(source, None, field, f"outside the term (got {day}, expected "
                                              f"{terms.start} to {last})"))


def _check_condition(p: list[Problem], source: str, where: str, c: Condition) -> None:
    if not 1 <= c.periods <= _MAX_CONDITION_PERIODS:
        p.append(Problem(source, None, f"{where}.periods", f"completed periods judged (got "
                         f"{c.periods}, expected 1 to {_MAX_CONDITION_PERIODS})"))


def _check_outcomes(p: list[Problem], source: str, terms: ContractTerms) -> set[str]:
    """The outcomes, each once and each sound, and the social value measures besides them.
    Returns the outcome codes."""
    zero = Decimal(0)
    if not terms.outcomes:
        p.append(Problem(source, None, "outcomes", "at least one outcome is required"))
    codes = [o.code for o in terms.outcomes]
    for code in {c for c in codes if codes.count(c) > 1}:
        p.append(Problem(source, None, "outcomes", f"outcome code {code!r} appears twice"))
    known = set(codes)
    for i, o in enumerate(terms.outcomes):
        _check_outcome(p, source, f"outcomes[{i}]", o, known)
    sv_codes = {s.code for s in terms.social_value}
    if clash := known & sv_codes:
        p.append(Problem(source, None, "social_value",
                         f"codes also used by outcomes: {sorted(clash)}"))
    for i, sv in enumerate(terms.social_value):
        finite(p, source, f"social_value[{i}].target", sv.target, low=zero)
        finite(p, source, f"social_value[{i}].proxy_value", sv.proxy_value, low=zero)
    return known


def _check_money(p: list[Problem], source: str, terms: ContractTerms, known: set[str]) -> None:
    """Who pays what share, the fees (an attachment fee counts one of the ``known``
    outcomes) and the KPI service credits."""
    zero, one = Decimal(0), Decimal(1)
    if terms.payers:
        total = sum((pay.share for pay in terms.payers), zero)
        if total != one:
            p.append(Problem(source, None, "payers", f"shares must sum to 1 (got {total})"))
        if sum(1 for pay in terms.payers if pay.residue) > 1:
            p.append(Problem(source, None, "payers", "at most one payer takes the residue"))
        for i, pay in enumerate(terms.payers):
            finite(p, source, f"payers[{i}].share", pay.share, low=zero, high=one)
            finite(p, source, f"payers[{i}].commitment", pay.commitment, low=zero)
    for i, fee in enumerate(terms.fees):
        finite(p, source, f"fees[{i}].amount", fee.amount)
        if fee.basis == "attachment" and (fee.outcome is None or fee.outcome not in known):
            p.append(Problem(source, None, f"fees[{i}].outcome",
                             "an attachment fee names the outcome that counts attachments "
                             f"(got {fee.outcome!r}, expected one of {sorted(known)})"))
    for i, kpi in enumerate(terms.kpis):
        finite(p, source, f"kpis[{i}].rate", kpi.rate, low=zero)
        finite(p, source, f"kpis[{i}].cap", kpi.cap, low=zero, high=one)


def _check_dates(p: list[Problem], source: str, terms: ContractTerms) -> None:
    """The term, claims window and due days, bounded: every period, schedule and due
    date the read models compute from them must exist in the calendar (DESIGN 3)."""
    dates = {"start": terms.start, "end": terms.end, "claims_until": terms.claims_until}
    outside = False
    for name, day in dates.items():
        if day is not None and (why := day_problem(day)) is not None:
            p.append(Problem(source, None, name, why))
            outside = True
    if terms.end < terms.start:
        p.append(Problem(source, None, "end", f"ends before it starts (got {terms.end}, "
                                              f"expected on or after {terms.start})"))
    elif not outside and terms.end > (longest := years_after(terms.start, MAX_TERM_YEARS)):
        p.append(Problem(source, None, "end",
                         f"a term of more than {MAX_TERM_YEARS} years (got {terms.end}, "
                         f"expected on or before {longest})"))
    if terms.claims_until is not None:
        if terms.claims_until < terms.end:
            p.append(Problem(source, None, "claims_until",
                             f"claims window closes before the term ends (got "
                             f"{terms.claims_until}, expected on or after {terms.end})"))
        elif not outside and terms.claims_until > (latest := years_after(
                terms.end, MAX_CLAIMS_YEARS_AFTER_END)):
            p.append(Problem(source, None, "claims_until",
                             f"claims window open more than {MAX_CLAIMS_YEARS_AFTER_END} years "
                             f"after the term ends (got {terms.claims_until}, expected on or "
                             f"before {latest})"))
    if not 0 <= terms.returns_due_days <= MAX_DUE_DAYS:
        p.append(Problem(source, None, "returns_due_days",
                         f"days after a period ends that its return is due (got "
                         f"{terms.returns_due_days}, expected 0 to {MAX_DUE_DAYS})"))


def _check_ratings(p: list[Problem], source: str, r: Ratings) -> None:
    for name in ("good", "approaching", "requires_improvement"):
        finite(p, source, f"ratings.{name}", getattr(r, name), low=Decimal(0))
    values = (r.good, r.approaching, r.requires_improvement)
    # Decimal ordering raises on NaN; finite above has already reported those.
    if all(v.is_finite() for v in values) and not values[0] >= values[1] >= values[2]:
        p.append(Problem(source, None, "ratings",
                         "thresholds must not increase from good to approaching to "
                         f"requires_improvement (got {r.good}, {r.approaching}, "
                         f"{r.requires_improvement})"))


def _check_outcome(p: list[Problem], source: str, where: str, o: Outcome,
                   known: set[str]) -> None:
    zero, one = Decimal(0), Decimal(1)
    if not o.code.strip():
        p.append(Problem(source, None, f"{where}.code", "must not be empty"))
    finite(p, source, f"{where}.price", o.price, low=zero)
    finite(p, source, f"{where}.threshold", o.threshold, low=zero)
    finite(p, source, f"{where}.cap_units", o.cap_units, low=zero)
    finite(p, source, f"{where}.cap_value", o.cap_value, low=zero)
    finite(p, source, f"{where}.deadweight", o.deadweight, low=zero, high=one)
    for code in o.requires:
        if code not in known or code == o.code:
            p.append(Problem(source, None, f"{where}.requires",
                             f"prerequisite {code!r} is not another outcome of this contract"))
    if o.kind == "measure":
        if o.price is not None or o.tiers is not None:
            p.append(Problem(source, None, f"{where}.price",
                             "a measure is reported, not paid: remove price/tiers"))
        return
    if (o.price is None) == (o.tiers is None):
        p.append(Problem(source, None, f"{where}.price",
                         "exactly one pricing rule is required: price or tiers"))
    if o.tiers is not None:
        _check_tiers(p, source, f"{where}.tiers", o.tiers)
    if o.kind == "improvement":
        if o.baseline is None or o.baseline <= zero:
            p.append(Problem(source, None, f"{where}.baseline",
                             "an improvement outcome needs a positive baseline rate"))
        if (o.cohort_size is None) == (o.exposure is None):
            p.append(Problem(source, None, f"{where}.cohort_size",
                             "an improvement outcome needs exactly one of cohort_size or "
                             "exposure (the code of a measure giving each period's exposure)"))
        if o.exposure is not None and o.exposure not in known:
            p.append(Problem(source, None, f"{where}.exposure",
                             f"exposure {o.exposure!r} is not an outcome of this contract"))
        finite(p, source, f"{where}.threshold", o.threshold, low=zero, high=one)
        finite(p, source, f"{where}.pool_threshold", o.pool_threshold, low=zero, high=one)
        finite(p, source, f"{where}.per", o.per, low=Decimal("1e-9"))
        if (o.pool is None) != (o.pool_threshold is None):
            p.append(Problem(source, None, f"{where}.pool",
                             "pool and pool_threshold go together"))


def outcome_problems(source: str, where: str, o: Outcome, known: set[str]) -> list[Problem]:
    """The problems of one outcome (``where``: its place in the document), ``known``
    being the codes it may name as prerequisite or exposure: a business case's outcomes
    are checked where they are written, apart from the contract's."""
    p: list[Problem] = []
    _check_outcome(p, source, where, o, known)
    return p


def _check_tiers(p: list[Problem], source: str, where: str, tiers: tuple[Tier, ...]) -> None:
    if not tiers:
        p.append(Problem(source, None, where, "at least one band is required"))
        return
    previous = Decimal(0)
    for i, tier in enumerate(tiers):
        finite(p, source, f"{where}[{i}].price", tier.price, low=Decimal(0))
        last = i == len(tiers) - 1
        if tier.upto is None and not last:
            p.append(Problem(source, None, f"{where}[{i}].upto",
                             "only the last band may be open-ended"))
        if tier.upto is not None:
            if last:
                p.append(Problem(source, None, f"{where}[{i}].upto",
                                 "the last band is open-ended: remove upto"))
            if tier.upto <= previous:
                p.append(Problem(source, None, f"{where}[{i}].upto",
                                 f"bands must increase (got {tier.upto} after {previous})"))
            previous = tier.upto


def check_effective(terms: ContractTerms, effective: date, source: str) -> list[Problem]:
    """A variation takes effect on a period boundary, never before the contract starts."""
    if effective < terms.start:
        return [Problem(source, None, "effective",
                        f"before the contract starts (got {effective}, expected on or after "
                        f"{terms.start})")]
    if effective != terms.start and not is_boundary(effective, terms.cadence):
        return [Problem(source, None, "effective",
                        f"not on a period boundary (got {effective}, expected the first day "
                        f"of a {terms.cadence})")]
    if effective > terms.last_claim_date:
        return [Problem(source, None, "effective",
                        f"after the claims window closes (got {effective}, expected on or "
                        f"before {terms.last_claim_date})")]
    return []
