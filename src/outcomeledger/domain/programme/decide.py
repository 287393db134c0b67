"""The programme decider: agreeing and varying a programme, and the draw a payment run of
one of its contracts makes on it. Pure, as the contract decider is."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

import msgspec

from ..commands import Meta
from ..errors import COMMAND, InvalidInput, Problem, Refused
from ..events import PaymentCertified
from ..money import quantize
from ..periods import day_problem
from ..registry.rules import RegistryState, authenticate
from ..terms import ContractTerms
from ..timestamps import rfc3339
from .checks import check_programme
from .events import FunderDraw, ProgrammeAgreed, ProgrammeDrawn, ProgrammeVaried
from .state import ProgrammeState
from .terms import ProgrammeTerms, ProgrammeVariation, apply_programme_variation


class AgreeProgramme(msgspec.Struct, frozen=True):
    terms: ProgrammeTerms
    reason: str = "programme agreed"


class VaryProgramme(msgspec.Struct, frozen=True):
    variation: ProgrammeVariation
    effective_from: date
    reason: str
    source: str = "variation"


ProgrammeCommand = AgreeProgramme | VaryProgramme


def decide_programme(state: ProgrammeState, command: ProgrammeCommand, meta: Meta,
                     registry: RegistryState) -> ProgrammeAgreed | ProgrammeVaried:
    """The event ``command`` records; on a keyed actor registry only for a registered
    commissioner signing with their key (the event then names the key to sign it with)."""
    action = ("agree programmes" if isinstance(command, AgreeProgramme) else
              "vary programmes")
    signed = authenticate(registry, meta, "commissioner", action)
    event = _decide_programme(state, command, meta)
    return msgspec.structs.replace(event, key_id=meta.key_id) if signed else event


def _decide_programme(state: ProgrammeState, command: ProgrammeCommand,
                      meta: Meta) -> ProgrammeAgreed | ProgrammeVaried:
    if isinstance(command, AgreeProgramme):
        if state.exists:
            assert state.agreed is not None
            raise Refused(f"programme {state.reference!r} already exists (agreed "
                          f"{rfc3339(state.agreed.recorded_at)}); change it with "
                          "`programme vary`")
        if problems := check_programme(command.terms, "programme"):
            raise InvalidInput(problems)
        return ProgrammeAgreed(programme=command.terms.reference, recorded_at=meta.recorded_at,
                               recorded_by=meta.recorded_by, reason=command.reason,
                               terms=command.terms)
    if not state.exists:
        raise Refused(f"programme {state.reference!r} has not been agreed")
    return _vary(state, command, meta)


def _vary(state: ProgrammeState, cmd: VaryProgramme, meta: Meta) -> ProgrammeVaried:
    if not cmd.reason.strip():
        raise InvalidInput([Problem(COMMAND, None, "reason",
                                    "a programme variation needs a reason (got none)")])
    terms = state.terms
    problems: list[Problem] = []
    if (why := day_problem(cmd.effective_from)) is not None:
        problems.append(Problem(COMMAND, None, "effective", why))
    elif not terms.start <= cmd.effective_from <= terms.end:
        problems.append(Problem(COMMAND, None, "effective", (
            f"outside the programme (got {cmd.effective_from}, expected {terms.start} to "
            f"{terms.end})")))
    if cmd.variation == ProgrammeVariation():
        problems.append(Problem(cmd.source, None, "document", "an empty variation (expected "
                                "at least one of title, end, budget, funders)"))
    varied = apply_programme_variation(terms, cmd.variation)
    problems += check_programme(varied, cmd.source)
    if varied.budget.is_finite() and varied.budget < state.drawn_total:
        problems.append(Problem(cmd.source, None, "budget", (
            f"below what the programme has already certified (got {varied.budget}, "
            f"certified {state.drawn_total})")))
    if problems:
        raise InvalidInput(list(dict.fromkeys(problems)))
    return ProgrammeVaried(programme=state.reference, recorded_at=meta.recorded_at,
                           recorded_by=meta.recorded_by, reason=cmd.reason,
                           effective_from=cmd.effective_from, variation=cmd.variation)


def draw(state: ProgrammeState, contract: ContractTerms,
         certified: PaymentCertified) -> ProgrammeDrawn:
    """The programme's side of ``certified`` (already capped at the headroom: see
    ``CertifyPayment.headroom``): the certified total after it and each funder's part.
    A signed run's draw is signed with the same key (the store signs it as it chains it)."""
    split, parts = funder_split(state, contract, certified.amount)
    return ProgrammeDrawn(
        programme=state.reference, recorded_at=certified.recorded_at,
        recorded_by=certified.recorded_by, reason=certified.reason,
        key_id=certified.key_id,
        contract=certified.contract, period=certified.period, amount=certified.amount,
        above_budget=quantize(certified.above_budget or Decimal(0), state.terms.currency),
        drawn_total=state.drawn_total + certified.amount,
        budget=quantize(state.terms.budget, state.terms.currency), funders=parts, split=split)


Split = Literal["commitments", "payers"]


def funder_split(state: ProgrammeState, contract: ContractTerms,
                 amount: Decimal) -> tuple[Split, tuple[FunderDraw, ...]]:
    """``amount`` split between the funders, and how.

    By the contract's own payers' shares when every payer is one of the programme's
    funders (the contract says who pays); else by the funders' commitments,
    cumulatively: each funder's part brings its total over every such draw to its share
    of their sum, rounded once, so rounding never drifts (a programme drawn to its budget
    has drawn each funder's commitment exactly). Rounding is the ledger's one rule; the
    residue goes to the residue payer, or the largest commitment (the first of equals),
    so the parts always sum to ``amount``."""
    terms = state.terms
    if not terms.funders:
        return "commitments", ()
    funder_ids = {f.id for f in terms.funders}
    if contract.payers and all(p.id in funder_ids for p in contract.payers):
        residue = next((p.id for p in contract.payers if p.residue),
                       max(contract.payers, key=lambda p: p.share).id)
        parts = {p.id: quantize(amount * p.share, terms.currency)
                 for p in contract.payers if p.id != residue}
        parts[residue] = amount - sum(parts.values(), Decimal(0))
        return "payers", tuple(FunderDraw(p.id, parts[p.id]) for p in contract.payers)
    residue = max(terms.funders, key=lambda f: f.commitment).id
    committed = sum((f.commitment for f in terms.funders), Decimal(0))
    before, drawn = state.by_commitments()
    after = before + amount
    parts = {f.id: (quantize(after * f.commitment / committed, terms.currency)
                    - drawn.get(f.id, Decimal(0))) if committed else Decimal(0)
             for f in terms.funders if f.id != residue}
    parts[residue] = amount - sum(parts.values(), Decimal(0))
    return "commitments", tuple(FunderDraw(f.id, parts[f.id]) for f in terms.funders)

