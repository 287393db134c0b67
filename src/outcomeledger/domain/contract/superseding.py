"""The rule returns and costs share (DESIGN 4.3, 11): figures given again, against what the
stream has recorded for the same keys. A figure not recorded yet is new (a late or
supplementary line); the same value again is unchanged (re-importing a file is a no-op);
a different value supersedes the recorded one only when restated, with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Generic, TypeVar

from ..errors import InvalidInput, Problem
from .command_checks import require_reason

T = TypeVar("T")


@dataclass
class Compared(Generic[T]):
    """Lines given, sorted against the recorded ones: new, changed (with the recorded
    lines they replace, position by position) and how many are unchanged."""

    new: list[T] = field(default_factory=list)
    changed: list[T] = field(default_factory=list)
    originals: list[T] = field(default_factory=list)
    unchanged: int = 0


def compared(given: Iterable[T], recorded: Callable[[T], T | None],
             value: Callable[[T], Decimal], *, restate: bool, reason: str,
             refusal: Callable[[T, T], Problem]) -> Compared[T]:
    """``given`` against ``recorded`` (the line recorded under the same key, or None). A
    changed value is refused, each with ``refusal(given, recorded)``, unless ``restate``;
    a restatement needs a ``reason``."""
    out: Compared[T] = Compared()
    for line in given:
        existing = recorded(line)
        if existing is None:
            out.new.append(line)
        elif value(existing) == value(line):
            out.unchanged += 1
        else:
            out.changed.append(line)
            out.originals.append(existing)
    if out.changed and not restate:
        raise InvalidInput([refusal(line, original) for line, original
                            in zip(out.changed, out.originals, strict=True)])
    if out.changed:
        require_reason(reason, "a restatement")
    return out
