"""report REF | report --all: the accountability report people read (DESIGN 7)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click
import msgspec

from ..app.programmes import programme_report_of
from ..app.report_source import Source
from ..report import build_portfolio, build_report
from ..report.csv import csv_files, to_csv
from ..report.html import contract_html, portfolio_html
from ..report.model import ContractReport, PortfolioReport
from ..report.people import for_people
from ..report.programme import ProgrammeReport, programme_sections
from ..report.programme_html import programme_html
from ..report.provenance import Provenance
from ..report.tables import Section, contract_sections, portfolio_sections
from ..report.text import to_table_text
from ..storage.location import Location
from .base import (
    Context,
    check_moment,
    parse_date,
    pass_context,
    resolve_format,
    run,
    text_width,
)
from .output import make_directory, write_output, write_outputs

_FORMATS = ("table", "json", "csv", "html", "xlsx")
_SUFFIX_FORMAT = {".html": "html", ".htm": "html", ".json": "json", ".csv": "csv",
                  ".txt": "table", ".xlsx": "xlsx"}
_json = msgspec.json.Encoder(decimal_format="string")


def _format(fmt: str | None, output: Path | None) -> str:
    """--format, else the output file's suffix (a directory means CSV files), else the
    terminal default."""
    if fmt:
        return fmt
    if output is not None:
        if output.is_dir() or str(output).endswith(("/", os.sep)):
            return "csv"
        if output.suffix.lower() in _SUFFIX_FORMAT:
            return _SUFFIX_FORMAT[output.suffix.lower()]
    return resolve_format(None)


Report = ContractReport | PortfolioReport | ProgrammeReport


def _sections(report: Report) -> list[Section]:
    if isinstance(report, ContractReport):
        return contract_sections(report)
    if isinstance(report, ProgrammeReport):
        return programme_sections(report)
    return portfolio_sections(report)


def render_report(report: Report, out: str, width: int | None = None,
                  generated_at: datetime | None = None) -> str:
    """The report in format ``out`` (table, json, csv or html); tables within ``width``
    characters (None: no limit); text and HTML end with a provenance line when
    ``generated_at`` is given."""
    if out == "json":
        return _json.encode(report).decode() + "\n"
    made = None if generated_at is None else Provenance(
        generated_at, report.head.position, report.head.hash)
    if out == "html":
        if isinstance(report, ProgrammeReport):
            return programme_html(report, made)
        return (contract_html(report, made) if isinstance(report, ContractReport)
                else portfolio_html(report, made))
    sections = _sections(report)
    if out == "csv":
        return to_csv(sections)
    currency = report.currency if isinstance(report, ContractReport | ProgrammeReport) else None
    text = to_table_text(for_people(sections, currency), width) + "\n"
    return text if made is None else f"{text}\n{made.lines()}\n"


@click.command("report")
@click.argument("reference", required=False)
@click.option("--all", "everything", is_flag=True,
              help="A portfolio summary of every contract instead of one report.")
@click.option("--programme", "programme", default=None, metavar="REF",
              help="The report of a programme (DESIGN 10): its budget, contracts and "
                   "funders, instead of a contract's.")
@click.option("--as-at", "as_at", default=None,
              help="Terms in force on this date, and periods up to it.")
@click.option("--as-of", "as_of", callback=check_moment, default=None,
              help="What the ledger held at this global position or ISO timestamp.")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default=None,
              help="Output format (default: from --output's suffix, else table on a "
                   "terminal and json otherwise); xlsx: a workbook, one sheet per "
                   "section, to --output FILE only.")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="Write here instead of stdout; with csv, a directory gets one file "
                   "per section.")
@pass_context
def report(c: Context, reference: str | None, everything: bool, programme: str | None,
           as_at: str | None, as_of: str | None, fmt: str | None,
           output: Path | None) -> None:
    """Performance against target, payments against caps, returns, restatements,
    variations, network, payer split and social value, with the ledger head."""
    if sum((bool(reference), everything, programme is not None)) != 1:
        raise click.UsageError("give a contract REFERENCE, --all or --programme REF "
                               "(one of them)")
    if programme is not None and as_at:
        raise click.UsageError("--as-at is for a contract's report; a programme's is as "
                               "its ledger stands (use --as-of)")
    if fmt == "xlsx" and output is None:
        raise click.UsageError("--format xlsx writes a workbook, not text: give --output "
                               "FILE.xlsx (never a terminal or a pipe)")
    day = parse_date(as_at, "--as-at") if as_at else None

    def body() -> None:
        with c.ledger() as ledger:
            location = ledger.location
            result: Report
            if programme is not None:
                result = programme_report_of(ledger, programme,
                                             as_of.strip() if as_of else None)
                _emit(c, result, _format(fmt, output), output, location)
                return
            source = Source.open(ledger, as_of.strip() if as_of else None)
            head = source.head()
            if reference:
                result = build_report(source.state(reference), head, as_of=source.as_of,
                                      as_at=day)
            else:
                result = build_portfolio(
                    [build_report(s, head, as_of=source.as_of, as_at=day)
                     for s in source.states()], head, as_of=source.as_of, as_at=day)
        _emit(c, result, _format(fmt, output), output, location)
    run(body, writes=False)


def _emit(c: Context, result: Report, out: str, output: Path | None,
          location: Location) -> None:
    if out == "csv" and output is not None and (
            output.is_dir() or str(output).endswith(("/", os.sep))):
        files = csv_files(_sections(result), output)
        make_directory(output)
        write_outputs(files, location)
        c.say(f"wrote {len(files)} CSV files to {output}")
        return
    if out == "xlsx" and output is not None:
        from ..report.xlsx import to_xlsx  # only a workbook needs xlsxwriter

        currency = None if isinstance(result, PortfolioReport) else result.currency
        write_output(output, to_xlsx(_sections(result), currency), location)
        c.say(f"wrote the xlsx report to {output}")
        return
    text = render_report(result, out, text_width(terminal=None if output is None else False),
                         datetime.now(UTC))
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text, location)
        c.say(f"wrote the {out} report to {output}")


COMMANDS = [report]
