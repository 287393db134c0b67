"""contract agree | vary | business-case | close | extend | break | show | list"""

from __future__ import annotations

from pathlib import Path

import click

from ..app import replay
from ..app import services as service
from ..domain.events import BusinessCaseApproved, ContractBroken, ContractExtended
from ..domain.payments.what_if import what_if
from ..report import render
from ..report.business_cases import what_if_json, what_if_table
from ..report.contract_tables import contract_tables
from .base import (
    Context,
    check_moment,
    emit,
    format_option,
    parse_date,
    pass_context,
    resolve_format,
    run,
    to_text,
)
from .dryrun import dry_run_option, would_record

# -- contract ------------------------------------------------------------------------

@click.group()
def contract() -> None:
    """Agree, vary, close and inspect contracts."""


@contract.command("agree")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--reason", default="contract agreed", show_default=True)
@dry_run_option()
@pass_context
def contract_agree(c: Context, file: Path, reason: str, dry_run: bool) -> None:
    """Record a contract agreed from a TOML or JSON definition."""
    def body() -> None:
        with c.ledger() as ledger:
            written = service.agreed(ledger, file, c.meta(), reason, dry_run=dry_run)
            if dry_run:
                would_record(written, quiet=c.quiet)
                return
            c.say(f"agreed {written.decision.events[0].contract}")
    run(body)


@contract.command("vary")
@click.argument("reference")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--effective", required=True, help="First day the variation applies "
              "(a period boundary).")
@click.option("--reason", required=True)
@dry_run_option()
@pass_context
def contract_vary(c: Context, reference: str, file: Path, effective: str, reason: str,
                  dry_run: bool) -> None:
    """Record a variation: only the fields that change, effective from a period."""
    def body() -> None:
        with c.ledger() as ledger:
            written = service.vary(ledger, reference, file,
                                   parse_date(effective, "--effective"), reason, c.meta(),
                                   dry_run=dry_run)
            if dry_run:
                would_record(written, quiet=c.quiet)
                return
            c.say(f"varied {reference} from {effective}")
    run(body)


@contract.command("business-case")
@click.argument("reference")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--reason", required=True)
@click.option("--what-if", "what_if_", is_flag=True, help="Write nothing: print the "
              "schedule the contract would have with the business case, at its targets "
              "and at actuals so far, beside the schedule without it.")
@dry_run_option()
@format_option()
@pass_context
def contract_business_case(c: Context, reference: str, file: Path, reason: str,
                           what_if_: bool, dry_run: bool, fmt: str | None) -> None:
    """Approve a business case (TOML or JSON): new outcomes paid within its budget, from
    its effective period."""
    def body() -> None:
        with c.ledger() as ledger:
            written = service.approve_business_case(ledger, reference, file, reason,
                                                    c.meta(), dry_run=dry_run or what_if_)
            event = written.decision.events[0]
            assert isinstance(event, BusinessCaseApproved)
            if what_if_:
                result = what_if(ledger.get(reference), event)
                out = resolve_format(fmt)
                emit(out, what_if_table(result, machine=out != "table"),
                     what_if_json(result))
                return
            if dry_run:
                would_record(written, quiet=c.quiet)
                return
            c.say(f"approved business case {event.business_case.id} on {reference} from "
                  f"{event.business_case.effective}")
    run(body)


@contract.command("close")
@click.argument("reference")
@click.option("--reason", required=True)
@click.option("--on", "on", default=None, help="Closing date (default: today).")
@dry_run_option()
@pass_context
def contract_close(c: Context, reference: str, reason: str, on: str | None,
                   dry_run: bool) -> None:
    """Close a contract: nothing more can be recorded; retention is released."""
    def body() -> None:
        closed_on = parse_date(on, "--on") if on else c.meta().recorded_at.date()
        with c.ledger() as ledger:
            written = service.close(ledger, reference, closed_on, reason, c.meta(),
                                    dry_run=dry_run)
            if dry_run:
                would_record(written, quiet=c.quiet)
                return
            c.say(f"closed {reference} on {closed_on}")
    run(body)


def _option_command(name: str, extend: bool) -> None:
    """``contract extend`` and ``contract break``: one shape, one body."""
    what = "an extension" if extend else "a break"

    @contract.command(name, help=(
        f"Exercise {what} option of the contract's terms, if its condition holds on the "
        "ledger's own ratings over the periods completed by --on; otherwise refused, "
        "naming every outcome that fails with its figures."))
    @click.argument("reference")
    @click.option("--option", "option", required=True, help="The option's id in the terms.")
    @click.option("--reason", required=True)
    @click.option("--on", "on", default=None,
                  help="The day the condition is judged on (default: today).")
    @dry_run_option()
    @pass_context
    def command(c: Context, reference: str, option: str, reason: str, on: str | None,
                dry_run: bool) -> None:
        def body() -> None:
            day = parse_date(on, "--on") if on else c.meta().recorded_at.date()
            with c.ledger() as ledger:
                written = service.exercise(ledger, reference, option, day, reason, c.meta(),
                                           extend=extend, dry_run=dry_run)
                if dry_run:
                    would_record(written, quiet=c.quiet)
                    return
                event = written.decision.events[0]
                if isinstance(event, ContractExtended):
                    c.say(f"extended {reference} by option {option}: ends {event.end}")
                elif isinstance(event, ContractBroken):
                    c.say(f"broke {reference} by option {option}: closed on "
                          f"{event.closed_on}")
        run(body)
    del command


_option_command("extend", extend=True)
_option_command("break", extend=False)


@contract.command("show")
@click.argument("reference")
@click.option("--as-at", "as_at", default=None, help="Show the terms in force on this date.")
@click.option("--as-of", "as_of", callback=check_moment, default=None,
              help="As the ledger showed it then: events up "
              "to this global POSITION or recorded at or before this TIMESTAMP.")
@format_option()
@pass_context
def contract_show(c: Context, reference: str, as_at: str | None, as_of: str | None,
                  fmt: str | None) -> None:
    """Show a contract's terms (as at a date) and its variation history."""
    def body() -> None:
        with c.ledger() as ledger:
            state = (replay.contract_as_of(ledger, reference, as_of) if as_of
                     else ledger.get(reference))
            terms = state.terms_on(parse_date(as_at, "--as-at")) if as_at else state.current_terms
            out = resolve_format(fmt)
            if out == "table":
                click.echo(to_text(render.contract_table(state, terms),
                                   *contract_tables(state, terms)))
            else:
                emit(out, render.contract_table(state, terms),
                     render.contract_json(state, terms))
    run(body, writes=False)


@contract.command("list")
@format_option()
@pass_context
def contract_list(c: Context, fmt: str | None) -> None:
    """List every contract in the ledger."""
    def body() -> None:
        with c.ledger() as ledger:
            rows, data = [], []
            for ref in ledger.references():
                state = ledger.get(ref)
                terms = state.current_terms
                item = {"reference": ref, "title": terms.title, "buyer": terms.buyer,
                        "supplier": terms.supplier, "start": terms.start.isoformat(),
                        "end": terms.end.isoformat(), "cadence": terms.cadence,
                        "status": "closed" if state.closed else "open",
                        "events": state.version}
                data.append(item)
                rows.append([str(v) for v in item.values()])
            table = render.Table("Contracts", tuple(data[0]) if data else (
                "reference", "title", "buyer", "supplier", "start", "end", "cadence", "status",
                "events"), rows)
            emit(resolve_format(fmt), table, data)
    run(body, writes=False)




@contract.command("init")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the template to this new file (default: stdout).")
def contract_init(output: Path | None) -> None:
    """Print a commented contract definition to copy and edit (every key is in
    docs/formats.md); it agrees as it stands."""
    from ..imports.contract_template import TEMPLATE

    if output is None:
        click.echo(TEMPLATE, nl=False)
        return
    try:
        with output.open("x", encoding="utf-8") as handle:
            handle.write(TEMPLATE)
    except FileExistsError:
        raise click.BadParameter(f"{output} already exists (expected a new file)",
                                 param_hint="--output") from None
    except OSError as e:
        raise click.ClickException(f"cannot write {output}: {e.strerror or e}") from None
    click.echo(f"wrote {output}; edit it, then `outcomeledger contract agree {output}`",
               err=True)


COMMANDS = [contract]
