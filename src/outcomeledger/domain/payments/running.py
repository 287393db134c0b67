"""The totals the payment arithmetic carries from period to period (DESIGN 5).

Separate from the steps that update them and the loop that carries them because
:class:`~outcomeledger.domain.payments.cumulative.Cumulative` keeps a copy after every
period as well, to carry on from any of them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from ..money import ZERO


@dataclass
class Running:
    """Cumulative totals carried from period to period (the fold's accumulator)."""

    achieved: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    paid_units: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    value: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    participant: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    results: dict[str, tuple[Decimal, Decimal, str]] = field(default_factory=dict)
    pools_triggered: set[str] = field(default_factory=set)
    contract: Decimal = ZERO
    retained: Decimal = ZERO
    payable: Decimal = ZERO
    #: What each business case's outcomes have earned after their own caps, cumulative
    #: (its budget caps this: :mod:`.budgets`).
    budget: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    # Shared risk on cost (DESIGN 11, :mod:`.risk_share`): the costs reported through the
    # period, the cumulative share paid through it, and the events of those costs.
    outturn: Decimal = ZERO
    shared: Decimal = ZERO
    cost_events: tuple[int, ...] = ()

    def copy(self) -> Running:
        """An independent copy (to carry on from the same period more than once)."""
        achieved: dict[str, dict[str, str]] = defaultdict(dict)
        achieved.update((who, dict(codes)) for who, codes in self.achieved.items())
        return Running(achieved, defaultdict(Decimal, self.paid_units),
                       defaultdict(Decimal, self.value), defaultdict(Decimal, self.participant),
                       dict(self.results), set(self.pools_triggered), self.contract,
                       self.retained, self.payable, defaultdict(Decimal, self.budget),
                       self.outturn, self.shared, self.cost_events)
