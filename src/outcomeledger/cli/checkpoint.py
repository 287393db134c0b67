"""audit checkpoint, and the ``--checkpoints LOG --key PUB`` that ``audit verify`` and
``audit replay`` check against: signed ledger heads kept outside the database.

Apart from audit.py because it is the one part of the group that handles keys and a log
file of its own; ``audit checkpoint`` is added to the ``audit`` group with the others
(``cli._register``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import click

from ..app.replay import stored_batches
from ..audit import checkpoint_log, checkpoints
from ..domain.errors import InvalidInput, LedgerError, Problem
from ..storage.chain import ChainVerifier
from .base import Context, F, pass_context, run


def checkpoint_options(log_help: str) -> Callable[[F], F]:
    """``--checkpoints LOG --key PUB``, given together."""
    def decorate(fn: F) -> F:
        fn = click.option("--key", "key", default=None,
                          type=click.Path(dir_okay=False, path_type=Path),
                          help="The public key the checkpoints are signed with (the base64 "
                          "line `returns keygen` printed).")(fn)
        return click.option("--checkpoints", "log", default=None,
                            type=click.Path(dir_okay=False, path_type=Path),
                            help=log_help)(fn)
    return decorate


def checkpoint_log_of(log: Path | None, key: Path | None
                      ) -> Callable[[], list[checkpoints.Entry]] | None:
    """The checkpoint log to check against, read (and every signature checked) when the
    command body runs, so a bad file is a refusal like any other bad input."""
    if (log is None) != (key is None):
        raise click.UsageError("--checkpoints and --key go together: the log and the public "
                               "key its checkpoints are signed with")
    if log is None or key is None:
        return None
    return lambda: checkpoint_log.load(log, key)


def checkpoint_problems(c: Context, entries: list[checkpoints.Entry],
                        verified: ChainVerifier) -> list[str]:
    """What differs between the ledger ``verified`` read and each checkpoint. With every
    chain intact, each stream's latest event up to a checkpoint vouches for the rest: one
    indexed read per checkpoint (0.3 s at 300,000 events, a walk 7 s). Otherwise, or for a
    long log, one more pass over the events (the chain walk may have run in worker
    processes that keep no intermediate heads)."""
    pins = [e.checkpoint.position for e in entries]
    with c.ledger() as ledger:
        if not verified.mismatches and ledger.has_projections and len(set(pins)) <= 16:
            with closing(ledger.connect()) as conn:
                snapshots = checkpoints.snapshots_of_heads(conn, pins)
            if snapshots is not None:
                return checkpoints.problems(entries, verified, snapshots)
    with c.ledger() as ledger:
        walked, snapshots = checkpoints.walk(stored_batches(ledger), pins)
    return checkpoints.problems(entries, walked, snapshots)


@click.command("checkpoint")
@click.option("--key", "key", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The commissioner's private key (PEM, from `returns keygen --out`).")
@click.option("--log", "log", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Append the checkpoint to this log (default: print it). The ledger "
              "must still extend every checkpoint already in it.")
@click.option("--no-streams", "no_streams", is_flag=True,
              help="Leave out each contract's stream head (a shorter line; a mismatch is "
              "then not traced to a contract, nor a one-contract pack checked against it).")
@pass_context
def audit_checkpoint(c: Context, key: Path, log: Path | None, no_streams: bool) -> None:
    """Sign the ledger head (position, hash, events, time) and append it to a log kept
    outside the database: what `audit verify --checkpoints` checks the ledger against."""
    def body() -> None:
        private = checkpoint_log.read_private_key(key)
        entries = checkpoint_log.read_log(log, missing_ok=True) if log else []
        if entries:
            checkpoint_log.check_signatures(entries, private.public_key(), str(key))
        with c.ledger() as ledger:
            verifier, snapshots = checkpoints.walk(
                stored_batches(ledger), [e.checkpoint.position for e in entries])
        if verifier.count == 0:
            raise LedgerError("the ledger holds no events: nothing to checkpoint")
        if verifier.mismatches:
            raise LedgerError(f"the ledger's hash chains do not verify ({verifier.mismatches[0]}"
                              f"{' …' if len(verifier.mismatches) > 1 else ''}): not signing "
                              "a head over them; run `audit verify`")
        differ = checkpoints.problems(entries, verifier, snapshots)
        if differ:
            raise LedgerError("the ledger no longer extends the log, not appending: "
                              + "; ".join(differ))
        made = checkpoints.make(verifier, private, streams=not no_streams)
        if log:
            try:
                checkpoint_log.append(log, made)
            except OSError as e:
                raise InvalidInput([Problem(str(log), None, "--log",
                                            f"cannot append ({e.strerror or e})")]) from None
            c.say(f"checkpoint of {made.position}:{made.head} ({made.events} events) "
                  f"appended to {log}")
        else:
            click.echo(checkpoints.line_of(made).decode(), nl=False)
    run(body)


COMMANDS = [audit_checkpoint]
