"""Writing ``--output`` files: whole or not at all, and never over the ledger itself.

A report or evidence pack written straight to its path leaves a truncated (often 0-byte)
file behind when the disk fills or the process dies, and a reader cannot tell it from a
real one. So every output goes to a temporary file in the target's own directory (the
rename must not cross filesystems), is flushed to disk, and is renamed over the target
only once complete. A target that is the ledger's database file, or one of SQLite's
companion files, is refused before anything is opened: ``report --output ledger.db``
used to replace the ledger with a JSON report.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from ..domain.errors import LedgerError
from ..storage.location import Location, locate

#: The files SQLite keeps beside a database: writing over any of them corrupts the ledger.
_COMPANIONS = ("", "-wal", "-shm", "-journal")


class OutputError(LedgerError):
    """An output file could not be written; nothing was left at its path."""


def ledger_location(db: str | None) -> Location | None:
    """The ledger ``--db`` names, for a command that does not open it: its files are
    still never written over. None when ``--db`` names nothing usable."""
    try:
        return locate(db)
    except LedgerError:
        return None


def ledger_files(location: Location | None) -> list[Path]:
    if location is None or location.kind != "sqlite" or location.path is None:
        return []
    return [Path(f"{location.path}{suffix}") for suffix in _COMPANIONS]


def refuse_ledger_target(target: Path, location: Location | None) -> None:
    """Refuse ``target`` when it is (by name, link or hard link) a file of the ledger."""
    for ledger_file in ledger_files(location):
        if _same(target, ledger_file):
            raise OutputError(f"refusing to write {target}: it is the ledger's database "
                              f"file {ledger_file} (choose another --output)")


def _same(a: Path, b: Path) -> bool:
    try:
        if a.samefile(b):
            return True
    except OSError:  # either does not exist (yet): compare where they would be
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def check_output(target: Path, location: Location | None) -> None:
    """What ``atomic_output`` refuses before writing, for a command to refuse it before
    doing anything else (``demo`` builds a ledger first)."""
    refuse_ledger_target(target, location)
    if not target.parent.is_dir():
        raise OutputError(f"cannot write {target}: no directory {target.parent} (create it "
                          "first)")
    if target.is_dir():
        raise OutputError(f"cannot write {target}: it is a directory (expected a file name)")


@contextmanager
def atomic_output(target: Path, location: Location | None, mode: int | None = None
                  ) -> Iterator[IO[bytes]]:
    """A binary file that becomes ``target`` only when the ``with`` block completes.

    On any error the temporary file is removed and ``target`` is as it was; an
    ``OSError`` (a missing directory, a full disk, a read-only filesystem) becomes one
    clear ``OutputError``. ``mode``: the new file's permissions (default: the target's,
    else what ``open`` would give).
    """
    check_output(target, location)
    directory = target.parent
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.",
                                         suffix=".part")
    except OSError as e:
        raise OutputError(f"cannot write {target}: {_reason(e)}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            # mkstemp makes the file private (0600); an output is an ordinary file.
            os.fchmod(handle.fileno(), _mode(target) if mode is None else mode)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(target)
    except OSError as e:
        _remove(temporary)
        raise OutputError(f"cannot write {target}: {_reason(e)}; nothing was "
                          "written") from None
    except BaseException:
        _remove(temporary)
        raise


def write_output(target: Path, data: bytes | str, location: Location | None,
                 mode: int | None = None) -> None:
    with atomic_output(target, location, mode) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


def write_outputs(files: dict[Path, bytes | str], location: Location | None) -> None:
    """Several files (a folder of CSV sections, published schemas): every target is
    checked before the first is written, and each is written whole."""
    for target in files:
        refuse_ledger_target(target, location)
    for target, data in files.items():
        write_output(target, data, location)


def make_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the directory {directory}: {_reason(e)}") from None


def _mode(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _remove(path: str) -> None:
    with suppress(OSError):
        Path(path).unlink()
