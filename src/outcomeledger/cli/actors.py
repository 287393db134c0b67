"""actors register | show: the ledger-wide actor registry (issue 21)."""

from __future__ import annotations

from pathlib import Path

import click

from ..app import actors as service
from ..domain.signing import SignatureError, key_id
from ..domain.timestamps import rfc3339
from ..report import render
from .base import Context, emit, format_option, pass_context, resolve_format, run
from .dryrun import dry_run_option


@click.group()
def actors() -> None:
    """The actor registry: who may agree and vary programmes, and with which key."""


@actors.command("register")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--reason", required=True, help="Why the registry changes (recorded).")
@dry_run_option()
@pass_context
def actors_register(c: Context, file: Path, reason: str, dry_run: bool) -> None:
    """Make the actors of FILE (TOML or JSON: [[actors]] name, role, public_key) the whole
    registry: to register, rotate a key or remove an actor, give the registry as it is to
    be. The first registration is trusted on first use; every later one must be signed
    (--key) by an administrator the registry holds."""
    def body() -> None:
        with c.ledger() as ledger:
            written = service.register(ledger, file, reason, c.meta(), dry_run=dry_run)
            [event] = written.decision.registry_events
            c.say(f"{'would register' if dry_run else 'registered'} {len(event.actors)} "
                  "actor(s) in the actor registry")
    run(body)


@actors.command("show")
@format_option()
@pass_context
def actors_show(c: Context, fmt: str | None) -> None:
    """The registry as it stands: each actor, its role and key, and who last changed it."""
    def body() -> None:
        with c.ledger() as ledger:
            state = service.registry(ledger)
        rows = [{"name": a.name, "role": a.role, "key_id": _key_id(a.public_key),
                 "public_key": a.public_key} for a in state.actors]
        last = state.last
        data = {"version": state.version, "keyed": state.keyed,
                "changed_at": rfc3339(last.recorded_at) if last else None,
                "changed_by": last.recorded_by if last else None, "actors": rows}
        columns = ("name", "role", "key_id", "public_key")
        title = ("Actor registry (empty: programme writes are not authenticated)"
                 if last is None else
                 f"Actor registry v{state.version}, changed {data['changed_at']} by "
                 f"{last.recorded_by}")
        table = render.Table(title, columns, [[r[k] for k in columns] for r in rows])
        emit(resolve_format(fmt), table, data)
    run(body, writes=False)


def _key_id(public_key: str) -> str:
    try:
        return key_id(public_key)
    except SignatureError:
        return ""


COMMANDS = [actors]
