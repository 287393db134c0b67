"""participant erase | show: a pseudonymised participant's link to a person."""

from __future__ import annotations

import click

from ..app import participants
from ..domain.events import ParticipantErased
from ..report import render
from .base import Context, emit, format_option, pass_context, resolve_format, run


@click.group()
def participant() -> None:
    """Participant data of contracts with participant_ids = "pseudonymised"."""


@participant.command("erase")
@click.argument("reference")
@click.argument("participant_id", metavar="ID")
@click.option("--reason", required=True, help="Why: e.g. the UK GDPR Art. 17 request's "
              "reference (kept for good; never the person's id or name).")
@pass_context
def participant_erase(c: Context, reference: str, participant_id: str, reason: str) -> None:
    """Destroy the key linking participant ID of contract REFERENCE to its pseudonym, and
    record ParticipantErased (the pseudonym only). The figures and payments stay as they
    were; a later return naming ID is refused."""
    def body() -> None:
        with c.ledger() as ledger:
            written = participants.erase(ledger, reference, participant_id, reason, c.meta())
            [event] = written.decision.events
            assert isinstance(event, ParticipantErased)
            c.say(f"erased participant {event.pseudonym} of {reference}: "
                  "its key is destroyed; its figures and payments are unchanged")
    run(body)


@participant.command("show")
@click.argument("reference")
@click.argument("participant_id", metavar="ID")
@format_option()
@pass_context
def participant_show(c: Context, reference: str, participant_id: str,
                     fmt: str | None) -> None:
    """The pseudonym participant ID has in contract REFERENCE's events, while its key
    exists (after `participant erase`: when it was erased, and no pseudonym)."""
    def body() -> None:
        with c.ledger() as ledger:
            found = participants.find(ledger, reference, participant_id)
        data = {"contract": found.contract, "pseudonym": found.pseudonym,
                "erased_at": found.erased_at}
        table = render.Table("Participant", tuple(data),
                             [[v or "" for v in data.values()]])
        emit(resolve_format(fmt), table, data)
    run(body, writes=False)


COMMANDS = [participant]
