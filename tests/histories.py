"""Random contract histories (hypothesis strategies) and a writer for them: shared by the
projector properties and the verifier's rules properties.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from conftest import ACTOR, T0, fig, terms
from outcomeledger.domain.commands import (
    AdjustReward,
    AgreeContract,
    CertifyPayment,
    CloseContract,
    Command,
    Meta,
    RejectReturn,
    ReportCosts,
    SubmitReturn,
    ValidateReturn,
    VaryContract,
)
from outcomeledger.domain.errors import LedgerError
from outcomeledger.domain.events import Cost
from outcomeledger.domain.risk_share_terms import RiskShare, ShareBand
from outcomeledger.domain.variations import OutcomeChange, Variation
from outcomeledger.storage.store import Ledger

REFS = ("C-A", "C-B")

PERIODS = ("FY2025-Q1", "FY2025-Q2", "FY2025-Q3", "FY2025-Q4", "FY2026-Q1", "FY2026-Q2")

STARTS = (date(2025, 7, 1), date(2025, 10, 1), date(2026, 1, 1))

money = st.decimals(min_value=-5000, max_value=5000, places=2, allow_nan=False,
                    allow_infinity=False).filter(lambda d: d != 0)

counts = st.integers(min_value=0, max_value=40)

#: C-B shares risk on cost (DESIGN 11): target 40,000 over its eight quarters, half of a
#: saving or an overrun to the supplier up to 1.2 of target, 0.8 above, at most 6,000 pain.
RISK = RiskShare(Decimal(40000), (ShareBand(Decimal("0.5"), Decimal("1.2")),
                                  ShareBand(Decimal("0.8"))), Decimal(6000))


def _terms(ref: str, **overrides: object) -> AgreeContract:
    return AgreeContract(terms(reference=ref, risk_share=RISK if ref == "C-B" else None,
                               **overrides))


def _agree(ref: str, cap: int | None, retention: bool) -> Command:
    return _terms(ref, max_value=None if cap is None else Decimal(cap),
                  retention=Decimal("0.05") if retention else None)


def _costs(period: str, staff: int, travel: int, restate: bool) -> Command:
    return ReportCosts(period, (Cost("staff", Decimal(staff)), Cost("travel", Decimal(travel))),
                       restate=restate, reason="corrected" if restate else "")

def _return(period: str, provider: str, a: int, b: int, restate: bool) -> Command:
    return SubmitReturn(period, provider, (fig("O1", a), fig("O2", b)), restate=restate,
                        reason="corrected" if restate else "")

# Few (period, provider) keys, so returns often meet earlier ones: restatements.
returns = st.builds(_return, st.sampled_from(PERIODS[:3]), st.sampled_from(("", "P1")),
                    counts, counts, st.booleans())

# Costs of C-B (refused for C-A, which shares no risk), often restating earlier ones.
costs = st.builds(_costs, st.sampled_from(PERIODS[:4]), st.integers(0, 9000),
                  st.integers(0, 900), st.booleans())

variations = st.builds(lambda start, price: VaryContract(
    Variation(outcomes=(OutcomeChange(code="O1", price=Decimal(price)),)), start,
    "re-priced"), st.sampled_from(STARTS), st.integers(1, 500))

# Weighted by repetition (one_of would merge repeats): returns are most of a history.
commands = st.sampled_from([
    returns, returns, returns, returns, returns, returns, costs, costs,
    st.builds(_agree, st.sampled_from(REFS), st.none() | st.integers(500, 20_000),
              st.booleans()),
    st.builds(lambda p, amount, kind: AdjustReward(p, kind, amount, "adjusted"),
              st.sampled_from(PERIODS), money,
              st.sampled_from(("bonus", "recovery", "service_credit"))),
    variations, variations,
    st.builds(CertifyPayment, st.sampled_from(PERIODS)),
    st.builds(CertifyPayment, st.sampled_from(PERIODS)),
    st.builds(ValidateReturn, st.sampled_from(PERIODS[:3]),
              st.sampled_from(("", "P1"))),
    st.builds(lambda p, prov: RejectReturn(p, prov, "evidence missing"),
              st.sampled_from(PERIODS[:3]), st.sampled_from(("", "P1"))),
]).flatmap(lambda strategy: strategy)

# Every history agrees both contracts first (so most commands are accepted) and may
# end with a closure (which refuses everything after it but payment runs).
# Every history starts by agreeing both contracts, so most later commands are accepted.
histories = st.builds(
    lambda rest, closing_ref: [(ref, _terms(ref)) for ref in REFS]
    + rest + ([] if closing_ref is None else [
        (closing_ref, CloseContract(date(2027, 3, 31), "ended")),
        (closing_ref, CertifyPayment("FY2026-Q4"))]),
    st.lists(st.tuples(st.sampled_from(REFS), commands), min_size=1, max_size=16),
    st.none() | st.sampled_from(REFS))

def _write(ledger: Ledger, history: list[tuple[str, Command]]) -> Iterator[int]:
    """Execute each command (refusals write nothing); yields the step number after each."""
    for step, (ref, command) in enumerate(history):
        with suppress(LedgerError):
            ledger.execute(ref, command, Meta(T0 + timedelta(hours=step), ACTOR))
        yield step
