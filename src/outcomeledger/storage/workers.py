"""Worker processes: fresh interpreters running this package's own code.

Not forks and not multiprocessing children: a fork would carry the caller's open
database connections (SQLite forbids using one across a fork), and multiprocessing would
re-run the caller's main script in each child. A worker sees the caller's import path,
so it runs the same code the caller does (an editable install, a test checkout).
"""

from __future__ import annotations

import os
import subprocess
import sys


def environment() -> dict[str, str]:
    """The caller's environment, with its import path for the worker."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def wanted(setting: str, work: int, threshold: int) -> int:
    """Worker processes for ``work`` (events, bytes): two from ``threshold`` on a machine
    of two cores or more, else none; the environment variable ``setting`` overrides."""
    configured = os.environ.get(setting)
    if configured is not None:
        return int(configured)
    if work < threshold or (os.cpu_count() or 1) < 2:
        return 0
    return 2


def available() -> bool:
    """Whether this interpreter can start another of itself (embedded ones cannot)."""
    return bool(sys.executable)


def start(code: str, job: bytes, *, stdout: int = subprocess.PIPE,
          stderr: int | None = None) -> subprocess.Popen[bytes]:
    """Run ``code`` (``python -c``) in a new interpreter, its job on standard input."""
    proc = subprocess.Popen(  # noqa: S603 (our own interpreter and code, no shell)
        [sys.executable, "-c", code], env=environment(),
        stdin=subprocess.PIPE, stdout=stdout, stderr=stderr)
    assert proc.stdin is not None
    proc.stdin.write(job)
    proc.stdin.close()
    return proc
