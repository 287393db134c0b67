"""Shared pieces of the command line: context, --format, error handling."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TypeVar

import click

from ..app.ledger import open_ledger
from ..domain.commands import Meta
from ..domain.errors import COMMAND, InvalidInput, LedgerError, Problem
from ..domain.signing import SignatureError, private_key_bytes
from ..domain.text_checks import control_problem
from ..report import render
from ..storage import sqldb
from ..storage.location import locked
from ..storage.store import Ledger

F = TypeVar("F", bound=Callable[..., Any])


#: The narrowest ``--width`` (and $COLUMNS) a table is laid out in.
MIN_WIDTH = 20
#: Table width when stdout is not a terminal and $COLUMNS says nothing usable.
DEFAULT_WIDTH = 100


class Context:
    def __init__(self, db: str | None, actor: str | None, quiet: bool,
                 width: int | None = None, key: Path | None = None) -> None:
        self.db = db
        self.actor = actor or _default_actor()
        self.quiet = quiet
        self.width = width  # --width; None: from the terminal (see text_width)
        self.key = key  # --key: the actor's private key, read by the first write

    def ledger(self, *, create: bool = False) -> Ledger:
        return open_ledger(self.db, create=create)

    def meta(self) -> Meta:
        """Who acts, now, and (``--key``) the key that signs what they record; a key
        that cannot be read or used is refused (exit 1) before anything is decided."""
        if self.key is None:
            return Meta(datetime.now(UTC), self.actor)
        try:
            raw, key_id = private_key_bytes(self.key.read_bytes())
        except OSError as e:
            raise InvalidInput([Problem(str(self.key), None, "--key", (
                f"cannot read (given {self.key}: {e.strerror or e}, expected the actor's "
                "private key file from `returns keygen`)"))]) from None
        except SignatureError as e:
            raise InvalidInput([Problem(str(self.key), None, "--key", (
                f"{e} (expected the actor's Ed25519 private key, PEM, from "
                "`returns keygen`)"))]) from None
        return Meta(datetime.now(UTC), self.actor, key_id, raw)

    def say(self, message: str) -> None:
        if not self.quiet:
            click.echo(message, err=True)


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


def format_option(*choices: str) -> Callable[[F], F]:
    options = choices or ("table", "json", "csv")
    return click.option("--format", "fmt", type=click.Choice(options), default=None,
                        help="Output format (default: table on a terminal, json otherwise).")


def resolve_format(fmt: str | None) -> str:
    if fmt:
        return fmt
    return "table" if sys.stdout.isatty() else "json"


def text_width(*, terminal: bool | None = None) -> int:
    """The width tables are laid out in: ``--width``; else, when stdout is a terminal
    (``terminal``: whether the text goes to one), its width; else $COLUMNS; else 100."""
    ctx = click.get_current_context(silent=True)
    context = ctx.find_object(Context) if ctx is not None else None
    if context is not None and context.width is not None:
        return context.width
    if sys.stdout.isatty() if terminal is None else terminal:
        return max(shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns, MIN_WIDTH)
    columns = os.environ.get("COLUMNS", "")
    if columns.isascii() and columns.isdigit() and int(columns) >= MIN_WIDTH:
        return int(columns)
    return DEFAULT_WIDTH


def to_text(*tables: render.Table) -> str:
    """Tables for people, laid out within :func:`text_width`, a blank line between."""
    width = text_width()
    return "\n\n".join(render.to_text(t, width) for t in tables)


def emit(fmt: str, table: render.Table, data: Any) -> None:
    if fmt == "json":
        click.echo(render.to_json(data))
    elif fmt == "csv":
        click.echo(render.to_csv(table), nl=False)
    else:
        click.echo(to_text(table))


#: The flag that gives a command's field, where its name is not the field's own.
_FLAGS = {"effective": "--effective", "effective_from": "--effective", "closed_on": "--on"}


def as_flag(problem: Problem) -> Problem:
    """A problem the domain found in a command's own value, named by the flag that gave it
    (the domain names fields, never the command line's words)."""
    if problem.source != COMMAND:
        return problem
    flag = _FLAGS.get(problem.field, "--" + problem.field.replace("_", "-"))
    return Problem(flag, problem.line, problem.field, problem.message)


def run(fn: Callable[[], None], *, writes: bool = True) -> None:
    """Run a command body, turning refusals into exit 1 with a clear message.

    The rule for exit codes: 2 is a usage mistake (an option missing, options that do not
    go together, an option value that cannot be read: click's ``UsageError`` and
    ``BadParameter``); 1 is input refused (a file, or a value the ledger's rules refuse)
    or failed verification. With ``--format json`` every refusal is also printed on stdout
    as ``{"errors": [...]}``. Only a command that ``writes`` says "nothing was written".
    """
    try:
        _check_flags()
        fn()
    except InvalidInput as e:
        problems = [as_flag(p) for p in e.problems]
        _json_errors([p.as_dict() for p in problems])
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
        click.echo(f"refused: {len(problems)} problem(s)"
                   + ("; nothing was written" if writes else ""), err=True)
        sys.exit(1)
    except LedgerError as e:
        _refused(str(e))
    except (OSError, sqlite3.Error) as e:
        # The machine refused, not the ledger's rules: a full disk, a read-only file or
        # filesystem, a file that is not what it should be. Every write is one
        # transaction (or a temporary file renamed), so what was there is intact.
        _refused(system_error(e))
    except Exception as e:
        # Another session held a lock past the lock timeout (PostgreSQL's lock_timeout
        # on a read or a projection): one line, like every other refusal.
        if not sqldb.lock_timed_out(e):
            raise
        _refused(_locked_message())


def _refused(message: str) -> NoReturn:
    """A refusal that is not about one input's field: one line, exit 1."""
    _json_errors([{"file": None, "line": None, "field": None, "message": message}])
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _locked_message() -> str:
    from ..storage.location import locate

    context = click.get_current_context().find_object(Context)
    location = locate(context.db if context is not None else None)
    key = "POSTGRES_LOCK_TIMEOUT" if location.kind == "postgresql" else "SQLITE_LOCK_TIMEOUT"
    return str(locked(location.display, int(location.env.get(key) or 30)))


def _check_flags() -> None:
    """Refuse a flag or argument holding a control character (a NUL, a terminal escape;
    a line break except in a reason), before any command runs: such text would be stored
    for ever, repaint a terminal, or break PostgreSQL's text columns."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return
    problems = [Problem(COMMAND, None, name, problem)  # named by its flag in run()
                for name, value in ctx.params.items()
                if isinstance(value, str)
                and (problem := control_problem(value, name)) is not None]
    if problems:
        raise InvalidInput(problems)


def system_error(error: OSError | sqlite3.Error) -> str:
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        text = f"{error.strerror or error}{where}"
    else:
        text = str(error).strip().splitlines()[0] if str(error).strip() else "database error"
    return f"the command could not complete: {text}; the ledger is as it was"


def _json_errors(errors: list[dict[str, object]]) -> None:
    if click.get_current_context().params.get("fmt") == "json":
        click.echo(render.to_json({"errors": errors}))


def check_moment(ctx: click.Context, param: click.Parameter, value: str | None
                 ) -> str | None:
    """Callback of ``--as-of`` options: refuse a value that is neither a position nor a
    timestamp as a usage mistake (exit 2); the command parses it again against the
    ledger."""
    if value is not None:
        parse_moment(value, f"--{(param.name or 'as_of').replace('_', '-')}")
    return value


def parse_moment(value: str, flag: str) -> int | datetime:
    """An ``--as-of``/``--since`` value: a global position or an ISO timestamp; a value
    that is neither is a usage mistake (exit 2)."""
    from ..audit.evidence import parse_as_of

    try:
        return parse_as_of(value.strip())
    except InvalidInput as e:
        raise click.BadParameter(e.problems[0].message, param_hint=flag) from None


class Root(click.Group):
    """The top-level group: with ``--format json``, a usage mistake (exit 2) is also
    printed on stdout as ``{"errors": [...]}``, as every refusal is (see :func:`run`)."""

    def main(self, args: Any = None, *rest: Any, **options: Any) -> Any:
        self.argv = list(args) if args is not None else sys.argv[1:]
        return super().main(self.argv, *rest, **options)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            argv = getattr(self, "argv", [])
            if "--format=json" in argv or ("--format", "json") in pairwise(argv):
                hint = getattr(e, "param_hint", None)
                click.echo(render.to_json({"errors": [{
                    "file": None, "line": None, "field": hint if isinstance(hint, str) else None,
                    "message": e.format_message()}]}))
            raise


class DefaultGroup(click.Group):
    """A group whose first argument, when not a subcommand, goes to a default one."""

    default_command = "show"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def parse_date(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected an ISO date YYYY-MM-DD (got {value!r})",
                                 param_hint=flag) from None


class Stop:
    """While in use, SIGTERM and SIGINT ask a follower (``project --follow``, ``events
    --follow``) to finish its batch and exit 0, instead of dying mid-write."""

    _SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = False
        self._previous: list[Any] = []

    def __enter__(self) -> Stop:
        self._previous = [signal.signal(sig, self._request) for sig in self._SIGNALS]
        return self

    def __exit__(self, *_: object) -> None:
        for sig, handler in zip(self._SIGNALS, self._previous, strict=True):
            signal.signal(sig, handler)

    def _request(self, _signum: int, _frame: FrameType | None) -> None:
        self.requested = True


pass_context = click.make_pass_decorator(Context)
