"""Business cases (DESIGN 11): additional delivery agreed on a contract, with its own
outcomes and budget.

A business case joins the terms the way a variation adding its outcomes would (from its
``effective`` date, a period boundary), so everything that reads the terms in force
(returns, ratings, the report, forecasts) sees its outcomes as the contract's; what is its
own is the budget that caps its outcomes' payments first (:mod:`..payments.budgets`) and the
``business_case`` every payment line of its outcomes carries. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from ..bounds import finite
from ..errors import Problem
from ..term_checks import check_effective, outcome_problems
from ..terms import BusinessCase, ContractTerms
from ..text_checks import reference_problem
from ..variations import OutcomeChange, Variation
from .records import VariationRecord


def as_variation(case: BusinessCase) -> Variation:
    """The variation a business case is folded as: its outcomes added."""
    return Variation(outcomes=tuple(_added(o) for o in case.outcomes))


def _added(outcome: msgspec.Struct) -> OutcomeChange:
    # Only the fields the outcome gives (an unset change keeps nothing: the code is new).
    given = {name: value for name, value in msgspec.structs.asdict(outcome).items()
             if value is not None and value != ()}
    return msgspec.convert(given, OutcomeChange, from_attributes=False)


def codes_ever(base: ContractTerms, variations: tuple[VariationRecord, ...],
               current: ContractTerms) -> set[str]:
    """Every code a return's ``outcome`` could name on the contract, now or before: the
    outcomes agreed, added by any variation or business case (retired ones included: their
    figures stay in the ledger), and the KPIs and social value measures in force."""
    codes = {o.code for o in base.outcomes}
    codes.update(change.code for v in variations for change in v.variation.outcomes)
    codes.update(k.code for k in current.kpis)
    codes.update(s.code for s in current.social_value)
    return codes


def business_case_problems(case: BusinessCase, terms: ContractTerms, taken: set[str],
                           approved: set[str], source: str) -> list[Problem]:
    """Every problem of ``case`` against the contract's current ``terms``: ``taken``, the
    codes it may not reuse (:func:`codes_ever`); ``approved``, the ids of the business
    cases already approved. Each names the field of the business case file."""
    p: list[Problem] = []
    if (why := reference_problem(case.id)) is not None:
        p.append(Problem(source, None, "id", why))
    elif case.id in approved:
        p.append(Problem(source, None, "id", f"business case {case.id!r} is already approved "
                         f"on {terms.reference} (expected a new id)"))
    for name in ("title", "need"):
        if not getattr(case, name).strip():
            p.append(Problem(source, None, name, "must not be empty (a business case says "
                             "what it is and the need it meets)"))
    finite(p, source, "budget", case.budget)
    if case.budget.is_finite() and case.budget <= 0:
        p.append(Problem(source, None, "budget", f"must be more than 0 (got {case.budget}): "
                         "the most the business case pays"))
    p += _effective_problems(case, terms, source)
    if not case.outcomes:
        p.append(Problem(source, None, "outcomes", "at least one outcome is required"))
    codes = [o.code for o in case.outcomes]
    known = {o.code for o in terms.outcomes} | set(codes)
    for i, o in enumerate(case.outcomes):
        where = f"outcomes[{i}]"
        if o.code in taken:
            p.append(Problem(source, None, f"{where}.code", f"{o.code!r} is already a code "
                             f"of {terms.reference} (a business case's outcomes are new: "
                             "expected a code not used before)"))
        elif codes.count(o.code) > 1:
            p.append(Problem(source, None, f"{where}.code", f"outcome code {o.code!r} "
                             "appears twice"))
        p += outcome_problems(source, where, o, known)
    members = {provider.id for provider in terms.providers}
    for i, provider in enumerate(case.providers):
        if provider not in members:
            p.append(Problem(source, None, f"providers[{i}]", (
                f"no provider {provider!r} in the network (got {provider!r}, expected one "
                f"of {sorted(members)})" if members else
                f"{terms.reference} has no providers (got {provider!r}, expected none)")))
        elif case.providers.count(provider) > 1:
            p.append(Problem(source, None, f"providers[{i}]", f"{provider!r} appears twice"))
    return list(dict.fromkeys(p))


def _effective_problems(case: BusinessCase, terms: ContractTerms,
                        source: str) -> list[Problem]:
    """A business case takes effect as a variation does (a period boundary, not before
    the start: :func:`check_effective`), and within the term, not in its claims window."""
    day = case.effective
    if day > terms.end:
        return [Problem(source, None, "effective", f"outside the contract's term (got {day}, "
                        f"expected {terms.start} to {terms.end})")]
    return check_effective(terms, day, source)


def case_of(cases: Iterable[BusinessCase]) -> dict[str, BusinessCase]:
    """Each business case outcome's code -> its business case."""
    return {o.code: case for case in cases for o in case.outcomes}

