"""The rules a programme's terms, and a contract joining one, must meet (DESIGN 10)."""

from __future__ import annotations

from decimal import Decimal

from ..bounds import finite
from ..errors import Problem
from ..periods import day_problem
from ..terms import ContractTerms
from ..text_checks import reference_problem
from .state import ProgrammeState
from .terms import ProgrammeTerms


def check_programme(terms: ProgrammeTerms, source: str) -> list[Problem]:
    """Every semantic problem of a (possibly varied) programme definition.

    Funders' commitments must add up to the budget exactly: a programme whose funders
    cover only part of it would leave draws that no one has agreed to pay, and the report
    could not say who owes the rest. (A partly committed programme records the shortfall
    as a funder of its own, say the commissioner, until it is found.)"""
    p: list[Problem] = []
    if (why := reference_problem(terms.reference)) is not None:
        p.append(Problem(source, None, "reference", why))
    if not terms.title.strip():
        p.append(Problem(source, None, "title", "must not be empty"))
    if len(terms.currency) != 3 or not terms.currency.isupper():
        p.append(Problem(source, None, "currency",
                         f"expected an ISO 4217 code like GBP (got {terms.currency!r})"))
    for name, day in (("start", terms.start), ("end", terms.end)):
        if (why := day_problem(day)) is not None:
            p.append(Problem(source, None, name, why))
    if terms.end < terms.start:
        p.append(Problem(source, None, "end", f"before the start (got {terms.end}, starts "
                                              f"{terms.start})"))
    finite(p, source, "budget", terms.budget, low=Decimal(0))
    if terms.budget.is_finite() and terms.budget == 0:
        p.append(Problem(source, None, "budget", "must be more than 0 (got 0)"))
    seen: set[str] = set()
    for i, funder in enumerate(terms.funders):
        if not funder.id.strip():
            p.append(Problem(source, None, f"funders[{i}].id", "must not be empty"))
        if funder.id in seen:
            p.append(Problem(source, None, f"funders[{i}].id",
                             f"given twice (got {funder.id!r}, expected each funder once)"))
        seen.add(funder.id)
        finite(p, source, f"funders[{i}].commitment", funder.commitment, low=Decimal(0))
    if terms.funders and all(f.commitment.is_finite() for f in terms.funders):
        total = sum((f.commitment for f in terms.funders), Decimal(0))
        if terms.budget.is_finite() and total != terms.budget:
            p.append(Problem(source, None, "funders", (
                f"commitments must sum to the budget (got {total}, expected "
                f"{terms.budget}; record an uncommitted part as a funder of its own)")))
    return p


def joining_problems(contract: ContractTerms, programme: ProgrammeState | None,
                     source: str) -> list[Problem]:
    """Why ``contract`` cannot be in the programme it names (None: not agreed)."""
    if contract.programme is None:
        return []
    if programme is None or not programme.exists:
        return [Problem(source, None, "programme", (
            f"no programme {contract.programme!r} (agree it first with "
            "`outcomeledger programme agree FILE`)"))]
    terms = programme.terms
    if terms.currency != contract.currency:
        return [Problem(source, None, "programme", (
            f"programme {terms.reference!r} is in {terms.currency}, the contract in "
            f"{contract.currency} (expected one currency: a budget is not converted)"))]
    return []
