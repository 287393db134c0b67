"""Programme services (DESIGN 10): files and flags in, programme commands decided against
the ledger, as :mod:`.services` does for contracts."""

from __future__ import annotations

from contextlib import closing
from datetime import date
from decimal import Decimal
from pathlib import Path

from ..domain import codec
from ..domain.commands import Meta
from ..domain.errors import InvalidInput, LedgerError, Problem, Refused
from ..domain.programme.decide import AgreeProgramme, VaryProgramme
from ..domain.programme.state import ProgrammeState, fold_programme
from ..domain.text_checks import confusable_with
from ..imports.document_problems import locate
from ..imports.documents import load_programme, load_programme_variation
from ..projections.programme_members import programme_members
from ..projections.source import programme_rows_of
from ..report.build import ledger_head
from ..report.programme import Member, ProgrammeReport, member_of, programme_report
from ..storage.store import Ledger, Written
from .report_source import Source


def agree_programme(ledger: Ledger, path: Path, meta: Meta, reason: str = "programme agreed",
                    *, dry_run: bool = False) -> Written:
    terms = load_programme(path)
    if (other := confusable_with(terms.reference, ledger.programme_references())) is not None:
        raise InvalidInput([Problem(str(path), None, "reference", (
            f"too like the existing programme {other!r} (got {terms.reference!r}; "
            "choose a distinct reference)"))])
    try:
        return ledger.execute_batch([(terms.reference, AgreeProgramme(terms, reason))], meta,
                                    dry_run=dry_run)[0]
    except InvalidInput as e:  # the programme's own checks: each on its line of the file
        raise InvalidInput(locate(path, e.problems,
                                  sources=("programme", str(path)))) from None


def vary_programme(ledger: Ledger, reference: str, path: Path, effective: date, reason: str,
                   meta: Meta, *, dry_run: bool = False) -> Written:
    programme(ledger, reference)
    variation = load_programme_variation(path)
    command = VaryProgramme(variation, effective, reason, str(path))
    try:
        return ledger.execute_batch([(reference, command)], meta, dry_run=dry_run)[0]
    except InvalidInput as e:
        raise InvalidInput(locate(path, e.problems, sources=(str(path),),
                                  nested=False)) from None


def programme(ledger: Ledger, reference: str) -> ProgrammeState:
    """The programme's state, or a refusal naming the programmes there are."""
    state = ledger.load_programme(reference)
    if not state.exists:
        known = ledger.programme_references()
        raise Refused(f"no programme {reference!r} in this ledger" + (
            f" (programmes: {', '.join(known)})" if known else
            " (agree one with `outcomeledger programme agree FILE`)"))
    return state


def programme_report_of(ledger: Ledger, reference: str,
                        as_of: str | None = None) -> ProgrammeReport:
    """The programme report, live or as the ledger stood at ``as_of`` (the programme's
    stream and every contract's cut at the same point, as ``report --as-of`` cuts them)."""
    source = Source.open(ledger, as_of)
    if source.cutoff is None:
        state = programme(ledger, reference)
    else:
        with closing(ledger.connect()) as conn:
            events = programme_rows_of(conn, codec.programme_stream_id(reference).hex,
                                       source.cutoff)
        state = fold_programme(reference, events)
        if not state.exists:
            programme(ledger, reference)  # unknown: refused, naming the programmes there are
            raise LedgerError(f"programme {reference} was not yet agreed as of {as_of}")
    return programme_report(state, _members(ledger, source, state),
                            ledger_head(source.head()), as_of)


def _members(ledger: Ledger, source: Source, state: ProgrammeState) -> list[Member]:
    """The contracts in the programme now, and those that drew on it and left, in the order
    they were agreed. Live, from the read models (one row per contract: nothing folded,
    whatever the ledger's size); as of a past point, every contract as it stood then."""
    drawn = {d.contract for d in state.draws}
    rows = None
    if source.cutoff is None and ledger.has_projections:
        with closing(ledger.connect()) as conn:
            rows = programme_members(conn, state.reference, drawn)
    if rows is None:  # as of a past point, or no current read models: every contract
        return [member_of(c) for c in source.states()
                if c.current_terms.programme == state.reference or c.reference in drawn]
    return [Member(ref, title, programme, Decimal(earned), Decimal(payable), Decimal(forecast))
            for ref, title, programme, earned, payable, forecast in rows]
