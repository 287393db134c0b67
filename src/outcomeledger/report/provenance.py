"""Where a printed report came from: when it was generated, from which ledger head, by
which version of outcomeledger (text and HTML; JSON carries the head in ``head``).

The time is handed in by the caller (the command line reads the clock): building and
rendering a report never does, so the same events give the same report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import __version__
from ..domain.timestamps import rfc3339


@dataclass(frozen=True, slots=True)
class Provenance:
    generated_at: datetime
    position: int
    hash: str
    version: str = __version__

    def line(self) -> str:
        return (f"Generated {rfc3339(self.generated_at.replace(microsecond=0))} from ledger "
                f"head {self.position}:{self.hash} by outcomeledger {self.version}")

    def lines(self) -> str:
        """:meth:`line` in two, for a terminal: the head alone is 84 characters."""
        return (f"Generated {rfc3339(self.generated_at.replace(microsecond=0))} by "
                f"outcomeledger {self.version}\nfrom ledger head {self.position}:{self.hash}")
