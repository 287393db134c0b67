"""publish ocds REF --notice uk9|uk10|uk11: Procurement Act notices as OCDS (DESIGN 12)."""

from __future__ import annotations

import re

import click

from .base import Context, parse_date, pass_context, run

_NOTICES = ("uk9", "uk10", "uk11")
# As outcomeledger.publish.ocds.PREFIX: checked here so that a bad prefix is a usage
# mistake, without importing the schema validator for every command line.
_PREFIX = re.compile(r"ocds-[a-z0-9]{6}")


def _check_prefix(_ctx: click.Context, param: click.Parameter, value: str | None
                  ) -> str | None:
    if value is None:
        raise click.BadParameter(
            "no ocid prefix: give the buyer's registered OCDS prefix (ocds-xxxxxx) "
            "with --ocid-prefix or $OUTCOMELEDGER_OCID_PREFIX", param=param)
    if not _PREFIX.fullmatch(value):
        raise click.BadParameter(
            f"expected a registered OCDS prefix: ocds- and six lower-case letters or "
            f"digits (got {value!r})", param=param)
    return value


@click.group()
def publish() -> None:
    """Publish what the ledger holds in the open standards accountability is read in."""


@publish.command("ocds")
@click.argument("reference")
@click.option("--notice", type=click.Choice(_NOTICES), required=True,
              help="uk9 contract performance, uk10 contract change, uk11 termination.")
@click.option("--as-at", "as_at", default=None,
              help="Terms in force on this date, and periods and variations up to it.")
@click.option("--ocid-prefix", "prefix", envvar="OUTCOMELEDGER_OCID_PREFIX",
              callback=_check_prefix,
              help="The buyer's registered OCDS prefix, ocds-xxxxxx "
                   "(default: $OUTCOMELEDGER_OCID_PREFIX).")
@click.option("--light-touch", is_flag=True,
              help="The contract is under the light-touch regime: say so in "
                   "tender.specialRegime (its UK9 and UK10 are voluntary).")
@pass_context
def ocds(c: Context, reference: str, notice: str, as_at: str | None, prefix: str,
         light_touch: bool) -> None:
    """Print one OCDS 1.1 release package (JSON) for a Procurement Act notice of the
    contract REFERENCE, validated against the vendored OCDS schema and extensions."""
    from ..publish.ocds import build, validated

    day = parse_date(as_at, "--as-at") if as_at else None

    def body() -> None:
        with c.ledger() as ledger:
            state = ledger.get(reference)
        package = build(state, notice,  # type: ignore[arg-type]  # click.Choice
                        prefix=prefix, as_at=day, light_touch=light_touch)
        click.echo(validated(package).decode(), nl=False)
    run(body, writes=False)


COMMANDS = [publish]
