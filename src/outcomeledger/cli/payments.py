"""adjust, and payments | payments explain | payments certify"""

from __future__ import annotations

from collections.abc import Sequence

import click

from ..app import replay
from ..app import services as service
from ..domain.contract import counterfactual
from ..domain.errors import InvalidInput, LedgerError, Problem, UnknownContract
from ..domain.events import ADJUSTMENT_KINDS, AnyEvent
from ..domain.payments import schedule as payment_schedule
from ..domain.payments.cases import business_case as case_of_contract
from ..domain.payments.cases import case_periods
from ..domain.payments.chain import provider_chain
from ..domain.payments.history import period_history
from ..domain.payments.mechanism import compute
from ..domain.payments.schedule import PeriodPayment
from ..domain.periods import PeriodError, parse_period
from ..imports.adjustments import import_adjustments
from ..imports.rows import FORMATS
from ..report import render
from ..report.business_cases import case_periods_json, case_periods_table
from ..report.provider_chain import chain_json, chain_table
from ..storage.store import Ledger
from .base import (
    Context,
    DefaultGroup,
    check_moment,
    emit,
    format_option,
    parse_date,
    pass_context,
    resolve_format,
    run,
)
from .dryrun import dry_run_option, would_record

# -- adjustments and payments ----------------------------------------------------------

@click.command()
@click.argument("reference", required=False)
@click.option("--period")
@click.option("--kind", type=click.Choice(ADJUSTMENT_KINDS))
@click.option("--amount", help="Positive: owed to the supplier; negative: reduces what is "
              "owed.")
@click.option("--reason")
@click.option("--file", "path", default=None, help="Every adjustment from a CSV, NDJSON or "
              "JSON file with columns contract, period, kind, amount, reason (- is stdin).")
@click.option("--input-format", type=click.Choice(FORMATS), default=None,
              help="Format of --file (default: from its extension; CSV otherwise).")
@dry_run_option("Decide with every rule and show what would be recorded (with --file: "
                "the receipt); write nothing.")
@format_option("table", "json")
@pass_context
def adjust(c: Context, reference: str | None, period: str | None, kind: str | None,
           amount: str | None, reason: str | None, path: str | None,
           input_format: str | None, dry_run: bool, fmt: str | None) -> None:
    """Record a reward adjustment (bonus, penalty, clawback, service credit...), or every
    adjustment of a file in one transaction (--file)."""
    flags = {"REF": reference, "--period": period, "--kind": kind, "--amount": amount,
             "--reason": reason}
    if path is not None:
        given = [name for name, value in flags.items() if value is not None]
        if given:
            raise click.UsageError(f"--file takes every field from the file; drop "
                                   f"{', '.join(given)}")
    else:
        missing = [name for name, value in flags.items() if value is None]
        if missing:
            raise click.UsageError(f"missing {', '.join(missing)} (or give --file FILE)")

    def body() -> None:
        with c.ledger() as ledger:
            if path is None:
                ref, per, knd, amt, why = (str(v) for v in flags.values())  # all given
                written = service.adjust(ledger, ref, per, knd, amt, why, c.meta(),
                                         dry_run=dry_run)
                if dry_run:
                    would_record(written, quiet=c.quiet)
                    return
                c.say(f"adjusted {ref} {per}: {knd} {amt}")
                return
            receipt = import_adjustments(ledger, path, c.meta(), input_format=input_format,
                                         dry_run=dry_run)
        data = receipt.as_dict()
        title = "Adjustments receipt" + (" (dry run: nothing written)" if dry_run else "")
        columns = ("file", "sha256", "rows", "adjustments", "events")
        table = render.Table(title, columns, [[str(data[k]) for k in columns]],
                             frozenset(columns[2:]))
        emit(resolve_format(fmt), table, data)
    run(body)


@click.group(cls=DefaultGroup)
def payments() -> None:
    """Payments per period (`payments REF`), explained and certified."""


def _period_id(ledger: Ledger, reference: str, period: str) -> str:
    state = ledger.get(reference)
    try:
        return parse_period(period, state.base_terms.cadence).id
    except PeriodError as e:
        raise InvalidInput([Problem("--period", None, "period",
                                            f"{e} (got {period!r})")]) from None


@payments.command("show")
@click.argument("reference")
@click.option("--period", default=None)
@click.option("--as-of", "as_of", callback=check_moment, default=None,
              help="As the ledger showed it then: events up "
              "to this global POSITION or recorded at or before this TIMESTAMP.")
@click.option("--as-at", "as_at", default=None, help="As the contract stood on this DATE: "
              "the periods begun by then, totals through them, the cap in force then.")
@click.option("--provider", default=None, help="The chain for one provider of the network: "
              "what the buyer pays for its outcomes, what the integrator owes it, the "
              "integrator's margin.")
@click.option("--business-case", "business_case", default=None, metavar="ID",
              help="Only one business case's outcome payments, per period, against its "
              "budget.")
@click.option("--without", "without", default=None, metavar="POSITION[,POSITION...]",
              help="As if these events of the contract had never been recorded: their "
              "positions in its stream (v9 in contract show and payments explain; 9 or "
              "v9). Writes nothing.")
@format_option()
@pass_context
def payments_show(c: Context, reference: str, period: str | None, as_of: str | None,
                  as_at: str | None, provider: str | None, business_case: str | None,
                  without: str | None, fmt: str | None) -> None:
    """Earned, above cap, adjustments, fees, retained, payable and certified per period
    (with --provider: the chain down to one provider; with --business-case: one business
    case's outcomes; with --without: as if some events had never been recorded)."""
    day = parse_date(as_at, "--as-at") if as_at else None
    if provider is not None and business_case is not None:
        raise click.UsageError("--provider and --business-case are two views: give one")

    def body() -> None:
        left_out = None if without is None else _positions(without)
        with c.ledger() as ledger:
            if left_out is None:
                state = (replay.contract_as_of(ledger, reference, as_of) if as_of
                         else ledger.get(reference))
            else:
                state = counterfactual.without(reference, _events(ledger, reference, as_of),
                                               left_out)
            schedule = compute(state)
            if day is not None:
                if day < state.base_terms.start:
                    raise LedgerError(f"{reference} starts on {state.base_terms.start}: "
                                      f"nothing was in force on {day}")
                schedule = payment_schedule.as_at(schedule, state, day)
            periods = list(schedule.periods)
            if period:
                pid = _period_id(ledger, reference, period)
                periods = [p for p in periods if p.period == pid]
        out = resolve_format(fmt)
        if business_case is not None:
            shown = {p.period for p in periods}
            budget = case_of_contract(state, business_case).budget
            case_rows = [r for r in case_periods(state, schedule, business_case)
                         if r.period in shown]
            emit(out, case_periods_table(reference, schedule.currency, business_case,
                                         budget, case_rows, machine=out != "table"),
                 case_periods_json(reference, schedule.currency, business_case, budget,
                                   case_rows))
            return
        if provider is not None:
            chain = provider_chain(state, schedule, provider)
            shown = {p.period for p in periods}
            rows = [r for r in chain.periods if r.period in shown]
            emit(out, chain_table(chain, rows, machine=out != "table"),
                 chain_json(chain, rows))
            return
        data = render.payments_json(schedule, periods)
        programme = render.with_programme(data, state)
        emit(out, render.payments_table(schedule, periods, machine=out != "table"), data)
        if programme and out == "table":
            click.echo(f"\n{programme}")
        for note in _terms_not_applied(periods):
            click.echo(f"note: {note}", err=True)
        if left_out is not None:
            c.say(f"as if {', '.join(f'v{v}' for v in sorted(left_out))} had never been "
                  "recorded (nothing was written)")
    run(body, writes=False)


def _positions(text: str) -> set[int]:
    """``--without 5,v9``: stream positions (versions), each a whole number, optionally
    written as ``payments explain`` and ``contract show`` print them (``v9``)."""
    positions: set[int] = set()
    for item in text.split(","):
        digits = item.strip().removeprefix("v")
        if not digits.isascii() or not digits.isdigit():
            raise InvalidInput([Problem("--without", None, "without", (
                f"not a position (got {item.strip()!r}, expected whole numbers separated "
                "by commas: the events' positions in the contract's stream, as 9 or v9)"))])
        positions.add(int(digits))
    return positions


def _events(ledger: Ledger, reference: str, as_of: str | None) -> Sequence[AnyEvent]:
    """The contract's events (up to ``as_of``): its own stream, never the ledger."""
    if as_of:
        return replay.view_as_of(ledger, reference, as_of).events
    events = ledger.events(reference)
    if not events:
        raise UnknownContract(reference)
    return events


def _terms_not_applied(periods: list[PeriodPayment]) -> list[str]:
    """A term the figures cannot carry (a participant cap on aggregate figures), in one
    line: on stderr, so the published JSON keeps its shape; `payments explain` has it on
    each line it concerns."""
    codes: dict[str, None] = {}
    ids: list[str] = []
    for p in periods:
        for line in p.lines:
            if any(s.label == "participant_cap" and s.amount is None for s in line.steps):
                codes[line.outcome] = None
                if not ids or ids[-1] != p.period:
                    ids.append(p.period)
    if not codes:
        return []
    return [f"participant_cap not applied to aggregate figures (no participant ids) of "
            f"{', '.join(codes)} in {_span(ids)}: see payments explain"]


def _span(ids: list[str]) -> str:
    return ", ".join(ids) if len(ids) < 4 else f"{len(ids)} periods, {ids[0]} to {ids[-1]}"


@payments.command("explain")
@click.argument("reference")
@click.option("--period", required=True)
@format_option()
@pass_context
def payments_explain(c: Context, reference: str, period: str, fmt: str | None) -> None:
    """Every line of one period's payment, tied to the events that produced it."""
    def body() -> None:
        with c.ledger() as ledger:
            state = ledger.get(reference)
            schedule = compute(state)
            pid = _period_id(ledger, reference, period)
        p = schedule.period(pid)
        if p is None:
            raise LedgerError(f"{reference} has no payment activity in {pid}")
        history = period_history(state, pid)
        emit(resolve_format(fmt), render.explain_table(schedule, p, history),
             render.explain_json(schedule, p, history))
    run(body, writes=False)


@payments.command("certify")
@click.argument("reference")
@click.option("--period", required=True)
@click.option("--reason", default="payment run", show_default=True)
@dry_run_option("Decide the payment run and print it; certify nothing.")
@format_option("table", "json")
@pass_context
def payments_certify(c: Context, reference: str, period: str, reason: str, dry_run: bool,
                     fmt: str | None) -> None:
    """Certify the payment due through a period (cumulative payable - certified before)."""
    def body() -> None:
        with c.ledger() as ledger:
            event = service.certify(ledger, reference, period, c.meta(), reason,
                                    dry_run=dry_run)
            currency = ledger.get(reference).base_terms.currency
        data = {"contract": reference, "period": event.period, "currency": currency,
                "amount": render.fmt_money(event.amount, currency),
                "true_up": render.fmt_money(event.true_up, currency),
                "cumulative_payable": render.fmt_money(event.cumulative_payable, currency)}
        if event.programme:  # DESIGN 10: drawn on a programme, never past its budget
            data["programme"] = event.programme
            if event.above_budget:
                data["above_budget"] = render.fmt_money(event.above_budget, currency)
        title = (f"Would certify {reference} {event.period} (dry run: nothing written)"
                 if dry_run else f"Certified {reference} {event.period}")
        table = render.Table(title, tuple(data), [[str(v) for v in data.values()]])
        emit(resolve_format(fmt), table, data)
        if dry_run:
            c.say("dry run: nothing was certified")
    run(body)




COMMANDS = [adjust, payments]
