"""The checks on the figures of one return (DESIGN 4.3): outcomes, values, dates, the
delivery network, repeats and the participant rules, each problem at the line of its row.
Pure functions of the contract state, like the decider that uses them; the data-quality
warnings that never block are in :mod:`outcomeledger.domain.contract.return_warnings`.

:func:`figure_problems` stays one function: its loop runs once for every row of every
return (a large import's millions), and cutting its body into calls per row would slow it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..errors import Problem
from ..events import Figure
from ..money import MAX_AMOUNT, ZERO
from ..periods import Period
from ..terms import ContractTerms, Outcome, Provider
from .state import ContractState


@dataclass(frozen=True, slots=True)
class TermsIndex:
    """What the return checks look up in a contract's terms."""

    outcomes: dict[str, Outcome]
    measured: frozenset[str]  # social value and KPI codes: returned, never priced
    providers: frozenset[str]
    members: dict[str, Provider]  # providers with a joined or left date (DESIGN 10)
    counted: frozenset[str]  # outcomes of kind "count": whole units
    rungs: dict[str, tuple[str, ...]]  # ladder outcome -> the outcomes it requires
    targeted: frozenset[str]  # outcomes with a target (plausibility warnings)


# Terms are immutable and shared by every state of a stream, so their index is built
# once per terms object, not once per return (a pure memo, bounded).
_INDEXES: dict[int, tuple[ContractTerms, TermsIndex]] = {}


def terms_index(terms: ContractTerms) -> TermsIndex:
    hit = _INDEXES.get(id(terms))
    if hit is not None and hit[0] is terms:
        return hit[1]
    if len(_INDEXES) >= 64:
        _INDEXES.clear()
    outcomes = {o.code: o for o in terms.outcomes}
    index = TermsIndex(
        outcomes=outcomes,
        measured=frozenset(s.code for s in terms.social_value) | {k.code for k in terms.kpis},
        providers=frozenset(p.id for p in terms.providers),
        members={p.id: p for p in terms.providers if p.joined or p.left},
        counted=frozenset(code for code, o in outcomes.items() if o.kind == "count"),
        rungs={o.code: o.requires for o in terms.outcomes if o.requires},
        targeted=frozenset(o.code for o in terms.outcomes if o.target is not None))
    _INDEXES[id(terms)] = (terms, index)
    return index


#: Whole numbers that pass every value check (Decimal equality: 7 == 7.0): the bulk of
#: the values in returns, checked once here instead of once per row.
_SMALL_COUNTS = frozenset(Decimal(n) for n in range(1000))


def _business_case_providers(state: ContractState, provider: str,
                             figures: tuple[Figure, ...], source: str) -> list[Problem]:
    """A business case that names its providers is delivered by them alone: its
    outcomes' figures from any other provider are refused (DESIGN 11)."""
    problems = []
    for record in state.business_cases:
        case = record.business_case
        if not case.providers or provider in case.providers:
            continue
        codes = {o.code for o in case.outcomes}
        problems += [Problem(source, f.line, "provider", (
            f"{f.outcome} is an outcome of business case {case.id}, delivered by "
            f"{', '.join(case.providers)} (got {provider or 'no provider'!r}, expected one "
            "of them)")) for f in figures if f.outcome in codes]
    return problems


#: What a pseudonym looks like (``storage.participant_keys.pseudonym_of``).
_PSEUDONYM = re.compile(r"P-[0-9a-f]{20}", re.ASCII)


def _pseudonym_problem(participant: str, state: ContractState) -> str | None:
    """Why a figure of a pseudonymised contract may not name ``participant``: an id that
    was never made a pseudonym (the import pseudonymises; nothing else may record a
    participant of such a contract), or a pseudonym erased from it."""
    if _PSEUDONYM.fullmatch(participant) is None:
        return ("not a pseudonym, on a contract with participant_ids = \"pseudonymised\" "
                "(expected the import to replace the id; an id is never recorded there)")
    if participant in state.erased:
        return (f"erased from contract {state.reference} (got {participant}, expected a "
                "participant not erased)")
    return None


def figure_problems(state: ContractState, terms: ContractTerms, period: Period,
                     provider: str, figures: tuple[Figure, ...], source: str,
                     warnings: list[Problem] | None = None) -> list[Problem]:
    """Every problem with the figures of one return, each at the line of its row; a
    ladder rung whose participant lacks a prerequisite goes to ``warnings`` (a problem
    only when no list is given)."""
    problems: list[Problem] = []
    # One participant short of a rung must not hold back every other figure of the
    # return: the figure is a fact and is recorded; payments leave it out (the
    # mechanism's ladder rule, shown in `payments explain`) until the prerequisite is
    # recorded for the same or an earlier period.
    unmet = problems if warnings is None else warnings
    index = terms_index(terms)
    outcomes, measured, counted = index.outcomes, index.measured, index.counted
    member = _provider_problems(state, terms, index, provider, period, figures, source,
                                problems)
    if state.business_cases:
        problems += _business_case_providers(state, provider, figures, source)
    # The participant rules need the stream's history: built at the first participant's
    # row, so aggregate returns (the bulk of a large import) never scan it.
    first_seen: dict[tuple[str, str], tuple[str, str]] | None = None
    present: set[tuple[str, str]] = set()
    claims: dict[tuple[str, str], list[tuple[str, str]]] = {}  # each claim of a rung
    plain: set[Decimal] = set()
    pseudonymised = state.base_terms.participant_ids == "pseudonymised"
    for f in figures:
        value = f.value
        # Most rows are plain: an aggregate count of a known outcome, a whole number
        # already known to pass every value check. Nothing more is to be checked.
        if (f.outcome in counted and not f.participant and f.achieved_on is None
                and value.is_finite() and (value in _SMALL_COUNTS or value in plain)):
            continue
        outcome = outcomes.get(f.outcome)
        if outcome is None and f.outcome not in measured:
            retired = f.outcome in {o.code for o in state.base_terms.outcomes}
            hint = " (retired by a variation for this period)" if retired else ""
            problems.append(Problem(source, f.line, "outcome",
                                    f"unknown outcome for {period.id}{hint} (got "
                                    f"{f.outcome!r}, expected one of "
                                    f"{sorted(outcomes) + sorted(measured)})"))
            continue
        if not value.is_finite():
            problems.append(Problem(source, f.line, "value",
                                    f"not a finite number (got {value}, expected a decimal)"))
            continue
        whole = value == value.to_integral_value()
        if not ZERO <= value <= MAX_AMOUNT:
            if value < 0:
                problems.append(Problem(source, f.line, "value",
                                        f"negative (got {value}, expected 0 or more)"))
            else:
                problems.append(Problem(source, f.line, "value",
                                        f"absurdly large (got {value}, expected at most "
                                        f"{MAX_AMOUNT:.0E})"))
        elif whole:
            plain.add(value)
        if outcome is not None and outcome.kind == "count" and not whole:
            problems.append(Problem(source, f.line, "value",
                                    f"fractional count (got {value}, expected a whole "
                                    f"number of {outcome.unit or 'outcomes'})"))
        if f.achieved_on is not None and (why := _achieved_problem(
                f.achieved_on, period, terms, provider, member)) is not None:
            problems.append(Problem(source, f.line, "achieved_on", why))
        if f.participant and pseudonymised and (why := _pseudonym_problem(
                f.participant, state)) is not None:
            problems.append(Problem(source, f.line, "participant", why))
            continue
        if outcome is None or not f.participant or value <= 0:
            continue
        if first_seen is None:
            first_seen = participant_index(state, {g.participant for g in figures},
                                           index.rungs, claims)
            present = {(g.participant, g.outcome) for g in figures
                       if g.participant and g.value > 0}
        seen = first_seen.get((f.participant, f.outcome))
        if seen is not None and outcome.requires:
            seen = _first_paid(state, first_seen, f.participant, outcome.requires,
                               claims.get((f.participant, f.outcome), []))
        if (outcome.once_per_participant is not False and seen is not None
                and seen != (period.id, provider)):
            problems.append(Problem(source, f.line, "participant",
                                    f"{f.outcome} is claimable once per participant and "
                                    f"{f.participant} already has it in {seen[0]}"))
        for req in outcome.requires:
            earlier = first_seen.get((f.participant, req))
            ok = (f.participant, req) in present or (
                earlier is not None and state.period(earlier[0]) <= period)
            if not ok:
                unmet.append(Problem(source, f.line, "participant",
                                     f"{f.outcome} requires {req} first and "
                                     f"{f.participant} has not achieved it" + (
                                         "" if warnings is None else
                                         f" (expected {req} in {period.id} or earlier; "
                                         "recorded, not paid: see payments explain)")))
    return problems


def _provider_problems(state: ContractState, terms: ContractTerms, index: TermsIndex,
                       provider: str, period: Period, figures: tuple[Figure, ...],
                       source: str, problems: list[Problem]) -> Provider | None:
    """The return's provider checked against the network (once per return, not per row):
    its problems added to ``problems``; the provider's membership, if it has dates."""
    line = figures[0].line if figures else None
    providers = index.providers
    if provider and provider not in providers:
        problems.append(Problem(source, line, "provider",
                                f"not in the contract's delivery network (got {provider!r}, "
                                f"expected one of {sorted(providers) or 'no providers'})"))
    # Membership dates are the provider's latest (they are dates, not terms of a period).
    latest = index if terms is state.current_terms else terms_index(state.current_terms)
    member = latest.members.get(provider) if provider else None
    if member is not None and (why := outside_membership(member, period)) is not None:
        problems.append(Problem(source, line, "provider", why))
    return member


def _achieved_problem(day: date, period: Period, terms: ContractTerms, provider: str,
                      member: Provider | None) -> str | None:
    """What is wrong with a figure's ``achieved_on``, if anything (only rows that give
    one come here)."""
    if not period.contains(day):
        return f"outside its period (got {day}, expected {period.start}..{period.end})"
    if day > terms.last_claim_date:
        return (f"after the claims window closed (got {day}, claims close "
                f"{terms.last_claim_date})")
    if member is not None and not member.member_on(day):
        return (f"outside {provider}'s membership of the network (got {day}, expected "
                f"{_dates(member)})")
    return None


def outside_membership(member: Provider, period: Period) -> str | None:
    """Why ``member`` may not return for ``period``, or None: the period must overlap its
    membership (a provider joining or leaving mid-period returns for that period)."""
    if member.member_during(period.start, period.end):
        return None
    if member.joined is not None and period.end < member.joined:
        return (f"{member.id} joined the network on {member.joined}, after {period.id} "
                f"(got {period.id}, {period.start}..{period.end}; expected a period "
                f"overlapping {_dates(member)})")
    return (f"{member.id} left the network on {member.left}, before {period.id} "
            f"(got {period.id}, {period.start}..{period.end}; expected a period "
            f"overlapping {_dates(member)})")


def _dates(member: Provider) -> str:
    """A provider's membership, as its dates: ``joined 2025-07-01, left 2026-03-31``."""
    return ", ".join(f"{name} {day}" for name, day in (("joined", member.joined),
                                                       ("left", member.left)) if day)


def returns_outside_membership(state: ContractState, terms: ContractTerms,
                               source: str) -> list[Problem]:
    """The recorded returns (not rejected) that the membership dates of ``terms`` would
    leave outside a provider's membership: a variation moving ``joined`` or ``left``
    past a return already recorded is refused, naming it."""
    members = terms_index(terms).members
    problems = []
    for (period_id, provider), status in state.returns.items():
        member = members.get(provider)
        if member is None or status.rejected is not None:
            continue
        period = state.period(period_id)
        if outside_membership(member, period) is not None:
            problems.append(Problem(source, None, f"providers[{provider}]",
                                    f"{provider} has a return recorded for {period_id} "
                                    f"({period.start}..{period.end}), outside its membership "
                                    f"(got {_dates(member)}, expected dates that period "
                                    "overlaps)"))
    return problems


def twice(first: Figure, again: Figure) -> str:
    who = f" for {again.participant}" if again.participant else ""
    return (f"{again.outcome}{who} appears twice with different values (got {again.value}, "
            f"expected {first.value} as on line {first.line} or one row only)")


def participant_index(state: ContractState, participants: set[str],
                      rungs: Collection[str] = (),
                      claims: dict[tuple[str, str], list[tuple[str, str]]] | None = None
                      ) -> dict[tuple[str, str], tuple[str, str]]:
    """(participant, outcome) -> (period, provider) of the earliest positive figure,
    for the ``participants`` of one return. Rejected returns are left out: payments
    never count them, so they must not use up a once-only outcome either. Every such
    figure of a ``rungs`` outcome also goes to ``claims`` (see :func:`_first_paid`)."""
    index: dict[tuple[str, str], tuple[str, str]] = {}
    rejected = {key for key, status in state.returns.items() if status.rejected is not None}
    for (period_id, provider, outcome, participant), rec in state.figures.items():
        if (participant in participants and rec.value > 0
                and (period_id, provider) not in rejected):
            key = (participant, outcome)
            current = index.get(key)
            if current is None or state.period(period_id) < state.period(current[0]):
                index[key] = (period_id, provider)
            if claims is not None and outcome in rungs:
                claims.setdefault(key, []).append((period_id, provider))
    return index


def _first_paid(state: ContractState, first_seen: dict[tuple[str, str], tuple[str, str]],
                participant: str, requires: tuple[str, ...],
                claims: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The earliest claim of a ladder rung whose prerequisites were met by its period.
    A claim recorded without them was never paid (the ladder rule), so it has not used
    up a once-only outcome: the participant may claim it again once they are met."""
    best: tuple[str, str] | None = None
    for claim in claims:
        period = state.period(claim[0])
        if all((met := first_seen.get((participant, req))) is not None
               and state.period(met[0]) <= period for req in requires) and (
                best is None or period < state.period(best[0])):
            best = claim
    return best


def distinct(figures: tuple[Figure, ...]) -> tuple[tuple[Figure, ...], list[Problem]]:
    """The figures with exact repeats dropped, and a problem for each repeat that gives
    the figure a different value (DESIGN 4.3)."""
    if len({f.outcome for f in figures}) == len(figures):
        return figures, []  # every row a different outcome: nothing can repeat
    first: dict[tuple[str, str], Figure] = {}
    problems: list[Problem] = []
    for f in figures:
        kept = first.setdefault((f.outcome, f.participant), f)
        if kept is not f and kept.value != f.value:
            problems.append(Problem("", f.line, "value", twice(kept, f)))
    if len(first) == len(figures):
        return figures, problems
    return tuple(first.values()), problems
