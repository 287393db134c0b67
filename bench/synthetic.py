"""The synthetic ledger every benchmark measures (DESIGN 9), generated deterministically.

1,000 contracts x 20 outcomes on quarterly cadence (fewer contracts below 1,000,000
events, so each contract's history is always about 1,000 events long and only the
number of contracts grows with the ledger). Each contract is a network of 10 providers,
each returning two outcomes a quarter; every return is validated and every quarter has
a payment run. Mixed in: a restatement every 8th quarter, an adjustment every 6th and a
price variation every 12th. Events are written straight through the event recorder in
big batches, with real hash chains, so the store holds exactly what the ledger itself
would have written (no projections: the replay builds them).

Same ``events`` argument, same bytes: the stored events are a pure function of it.

Also here: the returns CSV of the import benchmark (period by period, every contract's
20 outcomes, as a portfolio return arrives) and the contracts it is imported into.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import msgspec
from eventsourcing.persistence import StoredEvent

from outcomeledger.app.ledger import open_ledger
from outcomeledger.domain import codec
from outcomeledger.domain.commands import AgreeContract, CertifyPayment, Command, Meta
from outcomeledger.domain.contract.decide import decide
from outcomeledger.domain.contract.state import ContractState, evolve_owned
from outcomeledger.domain.events import (
    GENESIS,
    AnyEvent,
    ContractAgreed,
    ContractVaried,
    Figure,
    ReturnRestated,
    ReturnSubmitted,
    ReturnValidated,
    RewardAdjusted,
)
from outcomeledger.domain.payments.cumulative import Cumulative
from outcomeledger.domain.periods import Period, period_containing
from outcomeledger.domain.terms import ContractTerms, Outcome, Provider
from outcomeledger.domain.variations import OutcomeChange, Variation
from outcomeledger.storage.application import stream_id
from outcomeledger.storage.store import Ledger

OUTCOMES = 20
PROVIDERS = 10
MAX_CONTRACTS = 1000
EVENTS_PER_CONTRACT = 1000
START = date(2010, 4, 1)
# Events per contract per quarter: 10 returns + 10 validations + 1 payment run.
PER_QUARTER = 2 * PROVIDERS + 1
#: When the events of a ledger are recorded: every quarter, 20 days after it ends.
T0 = datetime(2010, 3, 1, 9, tzinfo=UTC)


def reference(c: int) -> str:
    return f"BENCH-{c:04d}"


def shape(events: int) -> tuple[int, int]:
    """(contracts, quarters) of a ledger of about ``events`` events."""
    contracts = max(1, min(MAX_CONTRACTS, events // EVENTS_PER_CONTRACT))
    quarters = max(1, events // contracts // PER_QUARTER)
    return contracts, quarters


def terms(ref: str, quarters: int) -> ContractTerms:
    end = START
    for _ in range(quarters):
        end = period_containing(end, "quarter").next().start
    outcomes = tuple(
        Outcome(code=f"O{i:02d}", name=f"Outcome {i}", price=Decimal(100 + 25 * i),
                cap_units=Decimal(40_000) if i % 5 == 0 else None,
                target={"FY2010-Q1": Decimal(10)} if i == 1 else None)
        for i in range(OUTCOMES))
    return ContractTerms(
        reference=ref, title=f"Synthetic outcomes contract {ref}", buyer="Bench Council",
        supplier="Bench Integrator Ltd", start=START, end=end - timedelta(days=1),
        cadence="quarter", outcomes=outcomes, max_value=Decimal(5_000_000),
        retention=Decimal("0.05"),
        providers=tuple(Provider(f"P{j}", f"Provider {j}") for j in range(PROVIDERS)))


class Writer:
    """Appends hash-chained events per stream and flushes big batches to the recorder
    (or, with no ledger, keeps them: the micro-benchmarks' events).

    Every event is one the decider would have recorded (``audit verify`` decides each
    again): so each contract's state is kept, to certify the payable the payment
    arithmetic gives and to restate the figures actually recorded."""

    def __init__(self, ledger: Ledger | None) -> None:
        self.ledger = ledger
        self.heads: dict[str, tuple[int, str]] = {}
        self.states: dict[str, tuple[ContractState, Cumulative]] = {}
        self.pending: list[StoredEvent] = []
        self.events: list[AnyEvent] = []
        self.count = 0

    def state(self, ref: str) -> tuple[ContractState, Cumulative]:
        return self.states[ref]

    def add(self, event: AnyEvent) -> None:
        version, prev = self.heads.get(event.contract, (0, GENESIS))
        event = msgspec.structs.replace(event, prev_hash=prev)
        state = codec.encode(event)
        self.heads[event.contract] = (version + 1, codec.event_hash(state))
        folded, payable = self.states.get(event.contract) or (
            ContractState(event.contract), Cumulative())
        folded = evolve_owned(folded, event, "")
        payable.follow(folded, event)
        self.states[event.contract] = (folded, payable)
        self.pending.append(StoredEvent(stream_id(event.contract), version + 1,
                                        codec.topic(event), state))
        self.count += 1
        if self.ledger is None:
            self.events.append(event)
        elif len(self.pending) >= 50_000:
            self.flush()

    def flush(self) -> None:
        if self.pending and self.ledger is not None:
            self.ledger.recorder.insert_events(self.pending)
            self.pending = []


def contract_stream(c: int = 0, quarters: int = 47) -> Writer:
    """One contract's history exactly as :func:`generate` writes it (about 1,000 events
    with the default 47 quarters), kept in memory: events and their stored form."""
    w = Writer(None)
    ref = reference(c)
    w.add(ContractAgreed(contract=ref, recorded_at=T0, recorded_by="bench", reason="agreed",
                         terms=terms(ref, quarters)))
    period = period_containing(START, "quarter")
    for q in range(quarters):
        at = datetime.combine(period.end, datetime.min.time(), UTC) + timedelta(days=20)
        _quarter(w, ref, c, q, period, at)
        period = period.next()
    return w


def add_contract(ledger: Ledger, contract_terms: ContractTerms, quarters: int,
                 c: int = 0) -> int:
    """One more contract, agreed on ``contract_terms``, with the synthetic history of
    contract ``c`` over ``quarters`` quarters, appended to ``ledger``; the events
    written."""
    w = Writer(ledger)
    ref = contract_terms.reference
    w.add(ContractAgreed(contract=ref, recorded_at=T0, recorded_by="bench", reason="agreed",
                         terms=contract_terms))
    period = period_containing(START, "quarter")
    for q in range(quarters):
        at = datetime.combine(period.end, datetime.min.time(), UTC) + timedelta(days=20)
        _quarter(w, ref, c, q, period, at)
        period = period.next()
    w.flush()
    return w.count


def generate(path: Path | str, events: int) -> int:
    """Write the synthetic ledger of about ``events`` events to a new SQLite file at
    ``path`` (or to the empty ledger at a ``postgresql://`` URL); returns the events
    written."""
    contracts, quarters = shape(events)
    refs = [reference(i) for i in range(contracts)]
    with open_ledger(str(path), create=True) as ledger:
        ledger.project_on_write = False
        w = Writer(ledger)
        for ref in refs:
            w.add(ContractAgreed(contract=ref, recorded_at=T0, recorded_by="bench",
                                 reason="agreed", terms=terms(ref, quarters)))
        period = period_containing(START, "quarter")
        for q in range(quarters):
            at = datetime.combine(period.end, datetime.min.time(), UTC) + timedelta(days=20)
            for c, ref in enumerate(refs):
                _quarter(w, ref, c, q, period, at)
            period = period.next()
            if w.count >= events:
                break
        w.flush()
        return w.count


def _quarter(w: Writer, ref: str, c: int, q: int, period: Period, at: datetime) -> None:
    pid = period.id
    for j in range(PROVIDERS):
        figures = tuple(Figure(outcome=f"O{2 * j + k:02d}", value=Decimal((c + q + j + k) % 9))
                        for k in range(2))
        w.add(ReturnSubmitted(contract=ref, recorded_at=at, recorded_by=f"provider:P{j}",
                              reason="return submitted", period=pid, provider=f"P{j}",
                              figures=figures))
        w.add(ReturnValidated(contract=ref, recorded_at=at, recorded_by="validator",
                              reason="validated", period=pid, provider=f"P{j}"))
    if q % 8 == 7:  # a restatement of the previous quarter's first provider
        previous = period.previous().id
        original = w.state(ref)[0].figures[(previous, "P0", "O00", "")].figure
        w.add(ReturnRestated(
            contract=ref, recorded_at=at, recorded_by="validator", reason="audit",
            period=previous, provider="P0",
            figures=(Figure(outcome="O00", value=(original.value + 1) % 9),),
            originals=(original,)))
    if q % 6 == 5:
        w.add(RewardAdjusted(contract=ref, recorded_at=at, recorded_by="validator",
                             reason="extrapolated recovery", period=pid, kind="recovery",
                             amount=Decimal("-1234.50")))
    state = w.state(ref)[0]
    if q % 12 == 11 and period.next().start <= state.current_terms.end:
        effective = period.next().start
        w.add(ContractVaried(contract=ref, recorded_at=at, recorded_by="commissioner",
                             reason="re-priced", effective_from=effective,
                             variation=Variation(outcomes=(OutcomeChange(
                                 code="O03", price=Decimal(200 + q)),))))
    # The payment run the decider records (the payable is carried on from the last run).
    state, payable = w.state(ref)
    w.add(decide(state, CertifyPayment(pid, "payment run"), Meta(at, "commissioner"),
                 payable=payable).events[0])


# -- the import benchmark's input --------------------------------------------------------

#: Quarters of returns the import CSV can hold (1,000 contracts x 20 outcomes x 50).
IMPORT_QUARTERS = 50


def write_returns(path: Path, rows: int, contracts: int = MAX_CONTRACTS) -> int:
    """A returns CSV of ``rows`` rows, period by period; each period holds every
    contract's 20 outcomes as the supplier's own return (no provider column)."""
    written = 0
    period = period_containing(START, "quarter")
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("contract,period,outcome,value\n")
        for p in range(IMPORT_QUARTERS):
            lines = []
            for c in range(contracts):
                for o in range(OUTCOMES):
                    if written == rows:
                        break
                    value = (c * 7 + o * 3 + p) % 40
                    lines.append(f"{reference(c)},{period.id},O{o:02d},{value}\n")
                    written += 1
            out.writelines(lines)
            period = period.next()
            if written == rows:
                break
    return written


def agree_contracts(ledger: Ledger, meta: Meta, contracts: int = MAX_CONTRACTS) -> None:
    """The contracts the import CSV's returns are for, agreed through the decider."""
    batch: list[tuple[str, Command]] = [
        (reference(c), AgreeContract(terms(reference(c), IMPORT_QUARTERS)))
        for c in range(contracts)]
    ledger.execute_batch(batch, meta)
