"""The programme benchmark (issue 17): the synthetic ledger's contracts shared between
10 programmes, then one programme's report, a provider's chain and a payment run with its
programme draw, timed as the CLI runs them.

Setup (untimed): 10 programmes agreed, every contract but the last varied into programme
``c % 10`` from the start of its last quarter, all in one batch. Then, each measured several times
and the median kept:

* ``programme_report_ms``: ``report --programme`` of programme 0 (its contracts' schedules
  and forecasts, the funders' draws), rendered as JSON;
* ``provider_chain_ms``: ``payments REF --provider P3`` of one contract, as JSON;
* ``certify_draw_ms``: a payment run of a contract in a programme after a small
  adjustment (so there is something to certify): the run and its draw decided and
  appended with the read models, as ``payments certify`` does;
* ``certify_plain_ms``: the same on the last contract, in no programme: the baseline
  measured in the same run (``certify_draw_vs_plain`` is the draw's cost as a ratio).
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

import synthetic
from outcomeledger.app import programmes as programme_service
from outcomeledger.app import services as service
from outcomeledger.domain.commands import Command, Meta, VaryContract
from outcomeledger.domain.payments.chain import provider_chain
from outcomeledger.domain.payments.mechanism import compute
from outcomeledger.domain.programme.decide import AgreeProgramme, ProgrammeCommand
from outcomeledger.domain.programme.terms import Funder, ProgrammeTerms
from outcomeledger.domain.variations import Variation
from outcomeledger.report.provider_chain import chain_json
from outcomeledger.storage.store import Ledger

PROGRAMMES = 10
_json = msgspec.json.Encoder(decimal_format="string")


def programme_reference(p: int) -> str:
    return f"BENCH-PROG-{p}"


def setup(ledger: Ledger, contracts: int) -> None:
    if ledger.load_programme(programme_reference(0)).exists:
        return  # a ledger kept from an earlier run (BENCH_KEEP): its programmes are there
    meta = Meta(datetime(2041, 1, 1, tzinfo=UTC), "bench")
    first = ledger.get(synthetic.reference(0))
    terms = first.current_terms
    batch: list[tuple[str, Command | ProgrammeCommand]] = [
        (programme_reference(p), AgreeProgramme(ProgrammeTerms(
            reference=programme_reference(p), title=f"Bench programme {p}", currency="GBP",
            start=terms.start, end=terms.end, budget=Decimal(10) ** 12,
            funders=(Funder("F1", "Funder one", Decimal(6) * 10 ** 11),
                     Funder("F2", "Funder two", Decimal(4) * 10 ** 11)))))
        for p in range(PROGRAMMES)]
    last = max(first.period(c.period) for c in first.certifications)
    batch += [(synthetic.reference(c), VaryContract(
        Variation(programme=programme_reference(c % PROGRAMMES)), last.start,
        "joins its programme")) for c in range(contracts - 1)]
    ledger.execute_batch(batch, meta)


def _ms(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def measure(ledger: Ledger, contracts: int, runs: int = 5) -> dict[str, Any]:
    setup(ledger, contracts)
    ref = synthetic.reference(0)

    def report() -> None:
        _json.encode(programme_service.programme_report_of(ledger, programme_reference(0)))

    def chain() -> None:
        state = ledger.get(ref)
        found = provider_chain(state, compute(state), "P3")
        _json.encode(chain_json(found, found.periods))

    report_ms = [_ms(report) for _ in range(runs)]
    chain_ms = [_ms(chain) for _ in range(runs)]
    drawn, plain = [], []
    for n in range(runs):  # interleaved: the host is noisy
        drawn.append(_certify(ledger, ref, n))
        plain.append(_certify(ledger, synthetic.reference(contracts - 1), n))
    members = len(programme_service.programme_report_of(
        ledger, programme_reference(0)).contracts)
    return {"programme_report_ms": statistics.median(report_ms),
            "provider_chain_ms": statistics.median(chain_ms),
            "certify_draw_ms": statistics.median(drawn),
            "certify_plain_ms": statistics.median(plain),
            "certify_draw_vs_plain": statistics.median(drawn) / statistics.median(plain),
            "programme_contracts": members}


def _certify(ledger: Ledger, ref: str, n: int) -> float:
    """A payment run of ``ref``'s last certified period after a small bonus, timed."""
    state = ledger.get(ref)
    period = max(state.period(c.period) for c in state.certifications).id
    meta = Meta(datetime(2041, 1, 2, tzinfo=UTC), "bench")
    service.adjust(ledger, ref, period, "bonus", str(10 + n), "bench: something to pay", meta)
    return _ms(lambda: service.certify(ledger, ref, period, meta))
