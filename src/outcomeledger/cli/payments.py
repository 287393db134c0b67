"""adjust, and payments | payments explain | payments certify"""

from __future__ import annotations

import click

from .. import render, replay, service
from ..errors import InvalidInput, LedgerError, Problem
from ..events import ADJUSTMENT_KINDS
from ..mechanism import compute
from ..periods import PeriodError, parse_period
from ..store import Ledger
from .base import (
    Context,
    DefaultGroup,
    emit,
    format_option,
    pass_context,
    resolve_format,
    run,
)

# -- adjustments and payments ----------------------------------------------------------

@click.command()
@click.argument("reference")
@click.option("--period", required=True)
@click.option("--kind", required=True, type=click.Choice(ADJUSTMENT_KINDS))
@click.option("--amount", required=True, help="Positive: owed to the supplier; negative: "
              "reduces what is owed.")
@click.option("--reason", required=True)
@pass_context
def adjust(c: Context, reference: str, period: str, kind: str, amount: str,
           reason: str) -> None:
    """Record a reward adjustment (bonus, penalty, clawback, service credit...)."""
    def body() -> None:
        with c.ledger() as ledger:
            service.adjust(ledger, reference, period, kind, amount, reason, c.meta())
            c.say(f"adjusted {reference} {period}: {kind} {amount}")
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
@click.option("--as-of", "as_of", default=None, help="As the ledger showed it then: events up "
              "to this global POSITION or recorded at or before this TIMESTAMP.")
@format_option()
@pass_context
def payments_show(c: Context, reference: str, period: str | None, as_of: str | None,
                  fmt: str | None) -> None:
    """Earned, above cap, adjustments, fees, retained, payable and certified per period."""
    def body() -> None:
        with c.ledger() as ledger:
            schedule = (compute(replay.contract_as_of(ledger, reference, as_of)) if as_of
                        else service.payments(ledger, reference))
            periods = list(schedule.periods)
            if period:
                pid = _period_id(ledger, reference, period)
                periods = [p for p in periods if p.period == pid]
        out = resolve_format(fmt)
        emit(out, render.payments_table(schedule, periods, machine=out != "table"),
             render.payments_json(schedule, periods))
    run(body)


@payments.command("explain")
@click.argument("reference")
@click.option("--period", required=True)
@format_option()
@pass_context
def payments_explain(c: Context, reference: str, period: str, fmt: str | None) -> None:
    """Every line of one period's payment, tied to the events that produced it."""
    def body() -> None:
        with c.ledger() as ledger:
            schedule = service.payments(ledger, reference)
            pid = _period_id(ledger, reference, period)
        p = schedule.period(pid)
        if p is None:
            raise LedgerError(f"{reference} has no payment activity in {pid}")
        emit(resolve_format(fmt), render.explain_table(schedule, p),
             render.explain_json(schedule, p))
    run(body)


@payments.command("certify")
@click.argument("reference")
@click.option("--period", required=True)
@click.option("--reason", default="payment run", show_default=True)
@format_option("table", "json")
@pass_context
def payments_certify(c: Context, reference: str, period: str, reason: str,
                     fmt: str | None) -> None:
    """Certify the payment due through a period (cumulative payable - certified before)."""
    def body() -> None:
        with c.ledger() as ledger:
            event = service.certify(ledger, reference, period, c.meta(), reason)
            currency = ledger.get(reference).base_terms.currency
        data = {"contract": reference, "period": event.period, "currency": currency,
                "amount": render.fmt_money(event.amount, currency),
                "true_up": render.fmt_money(event.true_up, currency),
                "cumulative_payable": render.fmt_money(event.cumulative_payable, currency)}
        table = render.Table(f"Certified {reference} {event.period}", tuple(data),
                             [[str(v) for v in data.values()]])
        emit(fmt or "table", table, data)
    run(body)




COMMANDS = [adjust, payments]
