"""The report's options section: every extension and break option, eligible or not, and why.

Judged on ``--as-at`` when given, else on the day the contract's latest event was
recorded, never the clock: the same ledger prints the same report (as the returns
section judges "missing").
"""

from __future__ import annotations

from datetime import date
from itertools import chain

from ..domain.contract.options import option_statuses
from ..domain.contract.state import ContractState
from ..domain.terms import Break, Extension
from .model import OptionEntry
from .view import View


def last_recorded(state: ContractState) -> date:
    """The day the contract's latest event was recorded."""
    records = chain(
        (state.agreed_by,) if state.agreed_by else (), (state.closed,) if state.closed else (),
        (v.recorded for v in state.variations), (a.recorded for a in state.adjustments),
        (c.recorded for c in state.certifications), (r.recorded for r in state.exercised),
        (c.recorded for c in state.costs.values()),
        (rec for s in state.returns.values()
         for rec in (*s.submitted, *s.restated, s.validated, s.rejected) if rec is not None))
    return max(r.recorded_at for r in records).date()


def options(view: View) -> tuple[OptionEntry, ...]:
    state = view.state
    terms = state.current_terms
    if not (terms.extensions or terms.breaks):
        return ()
    on = view.as_at or last_recorded(state)
    out = []
    for s in option_statuses(state, on):
        o = s.option
        out.append(OptionEntry(
            option=o.id, kind=s.kind,
            condition=f"{o.condition.rating_at_least} or better over "
                      f"{o.condition.periods} period(s)",
            months=o.months if isinstance(o, Extension) else None,
            decide_by=o.decide_by if isinstance(o, Extension) else None,
            break_on=o.on if isinstance(o, Break) else None,
            judged_on=on, eligible=s.eligible, why=s.why, exercised_on=s.exercised_on))
    return tuple(out)
