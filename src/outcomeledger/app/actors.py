"""Actor registry services (issue 21): a registration file in, decided against the
ledger's registry, as :mod:`.programmes` does for programmes."""

from __future__ import annotations

from pathlib import Path

from ..domain.commands import Meta
from ..domain.errors import InvalidInput
from ..domain.registry.events import ActorsDocument
from ..domain.registry.rules import RegisterActors, RegistryState
from ..imports.document_problems import locate
from ..imports.documents import load_document
from ..storage.store import Ledger, Written


def register(ledger: Ledger, path: Path, reason: str, meta: Meta, *,
             dry_run: bool = False) -> Written:
    """Make the actors of ``path`` the whole registry (register, rotate, remove)."""
    document = load_document(path, ActorsDocument)
    command = RegisterActors(document.actors, reason, str(path))
    try:
        return ledger.execute_batch([("", command)], meta, dry_run=dry_run)[0]
    except InvalidInput as e:  # the registry's own checks: each on its line of the file
        raise InvalidInput(locate(path, e.problems, sources=(str(path),))) from None


def registry(ledger: Ledger) -> RegistryState:
    return ledger.load_registry()
