"""The README's set-up step on a throw-away copy of the repository installs the lock, exactly.

A dependency that floats (msgspec 0.23 did: published schemas drifted and a reader gave a
traceback) must fail here, in CI, rather than in a newcomer's first ``make test``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
_PINNED = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")

pytestmark = pytest.mark.slow


def locked() -> dict[str, str]:
    """Name -> version of every package the lock installs on this platform."""
    pins: dict[str, str] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if m := _PINNED.match(line):
            name, version, marker = m.groups()
            if marker is None or Marker(marker).evaluate():
                pins[canonicalize_name(name)] = version
    return pins


def working_tree_copy(target: Path) -> None:
    """The files git would commit, as they are now (tracked, and new files not ignored)."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def test_the_lock_pins_every_dependency_of_the_project() -> None:
    pins = locked()
    for name in ("msgspec", "click", "eventsourcing", "cryptography", "psycopg", "pytest",
                 "hypothesis", "mypy", "ruff", "setuptools", "wheel",
                 # The serve extra: CI runs the Datasette test, never skips it (issue 19).
                 "datasette",
                 # The HTML report's charts and templates (issue 20).
                 "altair", "vl-convert-python", "jinja2"):
        assert canonicalize_name(name) in pins, f"{name} is not in {LOCK}"
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", v) for v in pins.values())


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None
                    or not (ROOT / ".git").exists(), reason="needs git, make and a checkout")
def test_the_readme_set_up_installs_exactly_the_locked_versions(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    working_tree_copy(clone)
    python = getattr(sys, "_base_executable", sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    make = ["make", "-C", str(clone), f"PYTHON={python}", ".venv/.installed"]
    first = subprocess.run(make, capture_output=True, text=True, env=env, timeout=900,
                           check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    # Twice in a row: the second run finds the environment up to date and changes nothing.
    second = subprocess.run(make, capture_output=True, text=True, env=env, timeout=300,
                            check=False)
    assert second.returncode == 0
    assert "pip install" not in second.stdout

    frozen = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-m", "pip", "freeze",
                             "--all", "--exclude-editable"],
                            check=True, capture_output=True, text=True).stdout
    installed = {canonicalize_name(name): version for name, version in
                 (line.split("==", 1) for line in frozen.splitlines() if "==" in line)}
    pins = locked()
    if canonicalize_name("pip") not in pins:
        # The installer comes with Python's venv, unless a dependency pins it (datasette,
        # of the serve extra, does: then the lock's pip is installed like any other pin).
        installed.pop(canonicalize_name("pip"), None)
    assert installed == pins
