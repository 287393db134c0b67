"""programme agree | vary | show | list (DESIGN 10)"""

from __future__ import annotations

from pathlib import Path

import click

from ..app import programmes as service
from ..report import render
from .base import (
    Context,
    emit,
    format_option,
    parse_date,
    pass_context,
    resolve_format,
    run,
    text_width,
)
from .dryrun import dry_run_option


@click.group()
def programme() -> None:
    """Agree, vary and inspect programmes: one budget above several contracts."""


@programme.command("agree")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--reason", default="programme agreed", show_default=True)
@dry_run_option()
@pass_context
def programme_agree(c: Context, file: Path, reason: str, dry_run: bool) -> None:
    """Record a programme agreed from a TOML or JSON definition."""
    def body() -> None:
        with c.ledger() as ledger:
            written = service.agree_programme(ledger, file, c.meta(), reason, dry_run=dry_run)
            event = written.decision.programme_events[0]
            c.say(f"{'would agree' if dry_run else 'agreed'} programme {event.programme}")
    run(body)


@programme.command("vary")
@click.argument("reference")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--effective", required=True, help="First day the variation applies.")
@click.option("--reason", required=True)
@dry_run_option()
@pass_context
def programme_vary(c: Context, reference: str, file: Path, effective: str, reason: str,
                   dry_run: bool) -> None:
    """Record a programme variation: its budget, end or funders."""
    def body() -> None:
        with c.ledger() as ledger:
            service.vary_programme(ledger, reference, file, parse_date(effective, "--effective"),
                                   reason, c.meta(), dry_run=dry_run)
            c.say(f"{'would vary' if dry_run else 'varied'} programme {reference} "
                  f"from {effective}")
    run(body)


@programme.command("show")
@click.argument("reference")
@format_option()
@pass_context
def programme_show(c: Context, reference: str, fmt: str | None) -> None:
    """Show a programme: budget, certified, headroom, its contracts and funders (the
    programme report: `report --programme REF` also writes it as HTML, or as of a past
    position)."""
    from .report import render_report

    def body() -> None:
        with c.ledger() as ledger:
            report = service.programme_report_of(ledger, reference)
        click.echo(render_report(report, resolve_format(fmt), text_width()), nl=False)
    run(body, writes=False)


@programme.command("list")
@format_option()
@pass_context
def programme_list(c: Context, fmt: str | None) -> None:
    """List every programme in the ledger."""
    def body() -> None:
        with c.ledger() as ledger:
            data = []
            for ref in ledger.programme_references():
                state = ledger.load_programme(ref)
                terms = state.terms
                data.append({"reference": ref, "title": terms.title,
                             "currency": terms.currency, "start": terms.start.isoformat(),
                             "end": terms.end.isoformat(), "budget": str(terms.budget),
                             "certified": str(state.drawn_total),
                             "headroom": str(state.headroom)})
        columns = ("reference", "title", "currency", "start", "end", "budget", "certified",
                   "headroom")
        table = render.Table("Programmes", columns,
                             [[str(item[k]) for k in columns] for item in data])
        emit(resolve_format(fmt), table, data)
    run(body, writes=False)


COMMANDS = [programme]
