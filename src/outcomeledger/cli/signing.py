"""returns keygen | returns sign: detached Ed25519 signatures for returns files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

from ..domain.errors import InvalidInput, Problem
from ..domain.signing import SignatureError, load_private_key, new_private_key_pem, sign_digest
from .base import Context, pass_context, run
from .output import ledger_location, write_output


@click.command("keygen")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the new private key (PEM). Keep it secret.")
@pass_context
def keygen(c: Context, out: Path) -> None:
    """Make a provider signing key; prints the public key to register in the contract."""
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
              "provider's public_key in the contract")
    run(body)


@click.command("sign")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "key", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The provider's private key (PEM, from `returns keygen`).")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Signature file (default: FILE.sig, where import looks for it).")
@pass_context
def sign(c: Context, file: Path, key: Path, out: Path | None) -> None:
    """Write a detached signature of FILE's SHA-256, for contracts taking signed returns."""
    def body() -> None:
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
        digest = hashlib.sha256(data).hexdigest()
        target = out or Path(str(file) + ".sig")
        # Whole or not at all, and never over the ledger (cli/output.py).
        write_output(target, sign_digest(private, digest) + "\n", ledger_location(c.db))
        c.say(f"signed {file} (sha256 {digest}) -> {target}")
    run(body)


COMMANDS = [keygen, sign]
