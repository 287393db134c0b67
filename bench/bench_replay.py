"""Full replay of every projection against a raw scan of the same stored events.

Usage: BENCH_EVENTS=1000000 .venv/bin/python bench/bench_replay.py [--keep DB]

Builds a synthetic ledger (1,000 contracts x 20 outcomes; each contract a network of
10 providers returning two outcomes each quarter, validations, a payment run every
quarter, restatements, adjustments and price variations), written straight through
the event recorder in big batches with real hash chains. Then, in a fresh child
process (so its peak RSS is the replay's alone): a raw SQLite scan of the stored events,
and a full replay of every projection into fresh tables swapped in (the `replay`
command). Prints one JSON object as its last line.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import msgspec
from eventsourcing.persistence import StoredEvent

from outcomeledger import codec
from outcomeledger.events import (
    GENESIS,
    AnyEvent,
    ContractAgreed,
    ContractVaried,
    Figure,
    PaymentCertified,
    ReturnRestated,
    ReturnSubmitted,
    ReturnValidated,
    RewardAdjusted,
)
from outcomeledger.periods import Period, period_containing
from outcomeledger.projections import rebuild
from outcomeledger.store import Ledger, stream_id
from outcomeledger.terms import ContractTerms, Outcome, OutcomeChange, Provider, Variation

OUTCOMES = 20
PROVIDERS = 10
MAX_CONTRACTS = 1000
START = date(2010, 4, 1)
# Events per contract per quarter: 10 returns + 10 validations + 1 payment run.
PER_QUARTER = 2 * PROVIDERS + 1


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
    """Appends hash-chained events per stream and flushes big batches to the recorder."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.heads: dict[str, tuple[int, str]] = {}
        self.pending: list[StoredEvent] = []
        self.count = 0

    def add(self, event: AnyEvent) -> None:
        version, prev = self.heads.get(event.contract, (0, GENESIS))
        event = msgspec.structs.replace(event, prev_hash=prev)
        state = codec.encode(event)
        self.heads[event.contract] = (version + 1, codec.event_hash(state))
        self.pending.append(StoredEvent(stream_id(event.contract), version + 1,
                                        codec.topic(event), state))
        self.count += 1
        if len(self.pending) >= 50_000:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.ledger.recorder.insert_events(self.pending)
            self.pending = []


def generate(path: Path, events: int) -> int:
    contracts = max(1, min(MAX_CONTRACTS, events // 1000))
    quarters = max(1, events // contracts // PER_QUARTER)
    refs = [f"BENCH-{i:04d}" for i in range(contracts)]
    t0 = datetime(2010, 3, 1, 9, tzinfo=UTC)
    with Ledger.open(str(path), create=True) as ledger:
        ledger.project_on_write = False
        w = Writer(ledger)
        for ref in refs:
            w.add(ContractAgreed(contract=ref, recorded_at=t0, recorded_by="bench",
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
        w.add(ReturnRestated(
            contract=ref, recorded_at=at, recorded_by="validator", reason="audit",
            period=period.previous().id,
            provider="P0", figures=(Figure(outcome="O00", value=Decimal(1)),),
            originals=(Figure(outcome="O00", value=Decimal(2)),)))
    if q % 6 == 5:
        w.add(RewardAdjusted(contract=ref, recorded_at=at, recorded_by="validator",
                             reason="extrapolated recovery", period=pid, kind="recovery",
                             amount=Decimal("-1234.50")))
    if q % 12 == 11:
        effective = period.next().start
        w.add(ContractVaried(contract=ref, recorded_at=at, recorded_by="commissioner",
                             reason="re-priced", effective_from=effective,
                             variation=Variation(outcomes=(OutcomeChange(
                                 code="O03", price=Decimal(200 + q)),))))
    w.add(PaymentCertified(contract=ref, recorded_at=at, recorded_by="commissioner",
                           reason="payment run", period=pid, amount=Decimal(1000),
                           cumulative_payable=Decimal(1000 * (q + 1)), true_up=Decimal(0)))


def measure(path: Path) -> dict[str, float]:
    """Raw scan, then full replay, in this (fresh) process."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        t = time.perf_counter()
        rows = 0
        for _row in conn.execute("SELECT rowid, topic, state FROM stored_events"):
            rows += 1
        scan = time.perf_counter() - t
        t = time.perf_counter()
        result = rebuild(conn)
        replay = time.perf_counter() - t
    return {"events": result.events, "raw_scan_rows": rows, "raw_scan_s": scan,
            "replay_s": replay,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps(measure(Path(sys.argv[2]))))
        return
    wanted = int(os.environ.get("BENCH_EVENTS", "1000000"))
    keep = Path(sys.argv[2]) if len(sys.argv) == 3 and sys.argv[1] == "--keep" else None
    with tempfile.TemporaryDirectory() as tmp:
        path = keep or Path(tmp) / "bench.db"
        t = time.perf_counter()
        written = generate(path, wanted)
        generated = time.perf_counter() - t
        child = subprocess.run([sys.executable, __file__, "--measure", str(path)],
                               check=True, capture_output=True, text=True)
        m = json.loads(child.stdout.strip().splitlines()[-1])
        size = path.stat().st_size
    replay_rate = m["events"] / m["replay_s"]
    scan_rate = m["raw_scan_rows"] / m["raw_scan_s"]
    print(json.dumps({
        "events": written,
        "db_mb": round(size / 2**20, 1),
        "generate_s": round(generated, 2),
        "replay_s": round(m["replay_s"], 3),
        "replay_events_per_s": round(replay_rate),
        "raw_scan_rows_per_s": round(scan_rate),
        "replay_vs_scan": round(replay_rate / scan_rate, 3),
        "peak_rss_mb": round(m["peak_rss_mb"], 1),
    }))


if __name__ == "__main__":
    main()
