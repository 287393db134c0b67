"""Where a replay's time goes, per event, one part at a time (one process, no locks).

    .venv/bin/python bench/replay_parts.py          # BENCH_PARTS_CONTRACTS=30 by default

Takes contracts of the synthetic ledger (``bench/synthetic.py``, ~1,000 events each) and
times, per contract, each step a rebuild makes: reading its stream, folding it, the
payment arithmetic, each read model's rows, and inserting those rows into tables of the
same layout (an in-memory database: the cost of building and binding rows, without the
disk). The audit trail's rows are made from the same contract's events. Prints
microseconds per event for each part, rows written per event, and the insert cost per
row, then one JSON line. Its ``floor_*`` keys bound any replay in this interpreter:
every event must at least be read, decoded and folded and get its audit-trail row, and
even that alone, on both cores with nothing else to do, is compared with the raw scan
``make bench`` divides by (measured here on the same events).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import closing
from pathlib import Path

import synthetic
from outcomeledger.domain.payments.mechanism import compute
from outcomeledger.projections import source, sql
from outcomeledger.projections.projector import ensure
from outcomeledger.projections.registry import PROJECTIONS
from run import raw_scan

_STREAM_SQL = ("SELECT rowid, originator_id, originator_version, topic, state FROM "
               "stored_events WHERE originator_id = ? ORDER BY originator_version")


def measure(path: Path, contracts: int) -> dict[str, float]:
    seconds: dict[str, float] = defaultdict(float)
    rows_written = 0
    events = 0
    everything = source.Cutoff(2**62)
    with closing(sqlite3.connect(path)) as conn, closing(
            sqlite3.connect(":memory:", isolation_level=None)) as mem:
        ensure(mem)
        for stream, _first, count in source.streams(conn, 2**62)[:contracts]:
            events += count
            started = time.perf_counter()
            raw = conn.execute(_STREAM_SQL, (stream,)).fetchall()
            seconds["read stream"] += time.perf_counter() - started
            started = time.perf_counter()
            view = source.fold([(r[0], r[2], r[3], r[4]) for r in raw], everything)
            seconds["decode + fold"] += time.perf_counter() - started
            assert view is not None
            started = time.perf_counter()
            compute(view.state)
            seconds["payment arithmetic (inside payments rows)"] += (
                time.perf_counter() - started)
            for p in PROJECTIONS:
                started = time.perf_counter()
                tables = (p.contract_rows(view) if p.contract_rows is not None else
                          [p.event_rows(raw)] if p.event_rows is not None else [])
                seconds[f"{p.name} rows"] += time.perf_counter() - started
                started = time.perf_counter()
                mem.execute("BEGIN")
                for table, rows in zip(p.tables, tables, strict=True):
                    sql.write(mem, table, table.name, rows)
                    rows_written += len(rows)
                mem.execute("COMMIT")
                seconds[f"{p.name} insert"] += time.perf_counter() - started
            for table in (t for p in PROJECTIONS for t in p.tables):
                mem.execute(f"DELETE FROM {table.name}")
    total = sum(v for k, v in seconds.items() if not k.startswith("payment arithmetic"))
    inserts = sum(v for k, v in seconds.items() if k.endswith(" insert"))
    # What any replay must do per event, whatever else it writes: read it, decode and fold
    # it, and write its audit-trail row (hash, header, insert).
    floor = sum(seconds[k] for k in ("read stream", "decode + fold", "audit_trail rows",
                                     "audit_trail insert")) / events
    scan = raw_scan(path)
    out = {f"{k}_us_per_event": v / events * 1e6 for k, v in seconds.items()}
    out.update({"total_us_per_event": total / events * 1e6,
                "rows_per_event": rows_written / events,
                "insert_us_per_row": inserts / rows_written * 1e6,
                "one_core_events_per_s": events / total, "events": events,
                "floor_us_per_event": floor * 1e6,
                "raw_scan_rows_per_s": scan,
                # Both cores busy the whole time, nothing else running: an upper bound.
                "floor_two_cores_events_per_s": 2 / floor,
                "floor_two_cores_vs_scan": 2 / floor / scan})
    return out


def main() -> None:
    contracts = int(os.environ.get("BENCH_PARTS_CONTRACTS", "30"))
    with tempfile.TemporaryDirectory(prefix="bench-parts-") as tmp:
        path = Path(tmp) / "ledger.db"
        synthetic.generate(path, contracts * synthetic.EVENTS_PER_CONTRACT)
        result = measure(path, contracts)
    for key, value in result.items():
        print(f"{key:60s} {value:12.2f}", file=sys.stderr)
    print(json.dumps({k: round(v, 3) for k, v in result.items()}))


if __name__ == "__main__":
    main()
