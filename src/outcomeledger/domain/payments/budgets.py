"""Business case budgets (DESIGN 11): the cap a business case puts on its own outcomes.

A business case's outcomes are paid like the contract's, and then, before the contract's
``max_value``, their lines are clipped so that what the business case has paid over the
contract's life never exceeds its ``budget``: cumulative, in period order and in outcome
order within a period, exactly as the contract cap clips every line
(:func:`.steps.apply_contract_cap`). What the budget removes is ``above_cap``, never lost,
and the line says so. Every line of a business case's outcomes names it.
"""

from __future__ import annotations

from ..money import fmt
from ..terms import BusinessCase
from .pricing import capped_delta
from .running import Running
from .schedule import OutcomeLine, Step


def apply_budgets(lines: list[OutcomeLine], cases: dict[str, BusinessCase],
                  run: Running) -> list[OutcomeLine]:
    """``lines`` with each business case outcome's line named and clipped to what its
    business case's budget still allows (``cases``: outcome code -> business case)."""
    out = []
    for line in lines:
        case = cases.get(line.outcome)
        if case is None:
            out.append(line)
            continue
        old = run.budget[case.id]
        run.budget[case.id] = old + line.payable
        allowed = capped_delta(old, old + line.payable, case.budget)
        steps = line.steps
        if allowed != line.payable:
            steps = (*steps, Step("budget", f"business case {case.id} budget "
                                  f"{fmt(case.budget)} reached (cumulative "
                                  f"{fmt(min(old, case.budget))} before this line)",
                                  allowed - line.payable))
        out.append(OutcomeLine(line.outcome, line.name, line.units, line.paid_units,
                               line.earned, line.above_cap + line.payable - allowed, allowed,
                               steps, case.id))
    return out
