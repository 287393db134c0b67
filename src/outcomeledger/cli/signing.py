"""returns keygen | returns sign: Ed25519 keys, and detached signatures of returns files."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import click

from ..domain.errors import InvalidInput, Problem
from ..domain.signing import SignatureError, load_private_key, new_private_key_pem
from ..imports.rows import FORMATS
from ..imports.signing import sign_file
from .base import Context, pass_context, run
from .output import check_output, ledger_location, write_output


@click.command("keygen")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the new private key (PEM). Keep it secret.")
@pass_context
def keygen(c: Context, out: Path) -> None:
    """Make a signing key (a provider's, for its returns; an actor's, for --key; a
    checkpoint key); prints the public key to register in the contract."""
    def body() -> None:
        if out.exists():
            raise InvalidInput([Problem(str(out), None, "--out",
                                        "already exists (refusing to overwrite a key)")])
        pem, public = new_private_key_pem()
        # Private from its first byte, and whole or not at all (no 0-byte key on a full
        # disk); never over the ledger.
        write_output(out, pem, ledger_location(c.db), mode=0o600)
        click.echo(public)
        c.say(f"private key written to {out}; register the public key above as the "
              "public_key of a provider or an actor in the contract, or of an actor in "
              "the actor registry (`actors register`)")
    run(body)


@click.command("sign")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "key", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The provider's private key (PEM, from `returns keygen`).")
@click.option("--sequence", type=click.IntRange(min=0, max=2**63 - 1), default=None,
              metavar="N", help="The provider's sequence number: more than that of every "
              "file it signed before (default: the time, in seconds since 1970).")
@click.option("--input-format", type=click.Choice(FORMATS), default=None,
              help="The file's format (default: from its extension, else csv).")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Signature file (default: FILE.sig, where import looks for it).")
@pass_context
def sign(c: Context, file: Path, key: Path, sequence: int | None, input_format: str | None,
         out: Path | None) -> None:
    """Sign FILE for contracts taking signed returns: its SHA-256 with, for each contract
    it returns for, the contract, its periods and a sequence number (scheme 2), so the
    file cannot be imported again once a later one has been."""
    def body() -> None:
        target = out or Path(str(file) + ".sig")
        # Whole or not at all, and never over the ledger (cli/output.py): refused first.
        check_output(target, ledger_location(c.db))
        try:
            data = file.read_bytes()
            pem = key.read_bytes()
        except OSError as e:
            raise InvalidInput([Problem(e.filename or str(file), None, "file",
                                        f"cannot read ({e.strerror})")]) from None
        try:
            private = load_private_key(pem)
        except SignatureError as e:
            raise InvalidInput([Problem(str(key), None, "--key", str(e))]) from None
        number = int(time.time()) if sequence is None else sequence
        text = sign_file(data, str(file), private, number, input_format)
        write_output(target, text, ledger_location(c.db))
        c.say(f"signed {file} (sha256 {hashlib.sha256(data).hexdigest()}, sequence "
              f"{number}) -> {target}")
    run(body)


COMMANDS = [keygen, sign]
