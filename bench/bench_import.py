"""Returns import benchmark (DESIGN 9: >= 150,000 rows/s, peak memory < 300 MB).

Generates, deterministically, a returns CSV of BENCH_ROWS rows (default 1,000,000:
1,000 contracts x 20 outcomes x 50 quarterly periods, period by period as a portfolio
return would arrive), agrees the contracts in a fresh SQLite ledger, then imports the
file through the code path of `outcomeledger returns import` and prints one JSON object:
rows/s, seconds, peak RSS (ru_maxrss) and the events written.

    .venv/bin/python bench/bench_import.py          # BENCH_ROWS=100000 to scale down

The target is for the import itself (CSV -> validated, durable events, DESIGN 9), so the
ledger's projections are not caught up on write here (`project_on_write = False`); the
CLI catches them up after an import, which this does not measure.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from outcomeledger.commands import AgreeContract, Command, Meta
from outcomeledger.imports.importer import import_returns
from outcomeledger.store import Ledger
from outcomeledger.terms import ContractTerms, Outcome

CONTRACTS, OUTCOMES, PERIODS = 1_000, 20, 50
FIRST_FY = 2020  # FY2020-Q1 .. FY2032-Q2


def reference(c: int) -> str:
    return f"BENCH-{c:04d}"


def write_returns(path: Path, rows: int) -> int:
    """The CSV, period by period; each period holds every contract's 20 outcomes."""
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("contract,period,outcome,value\n")
        for p in range(PERIODS):
            period = f"FY{FIRST_FY + p // 4}-Q{p % 4 + 1}"
            lines = []
            for c in range(CONTRACTS):
                for o in range(OUTCOMES):
                    if written == rows:
                        break
                    lines.append(f"{reference(c)},{period},O{o:02d},{(c * 7 + o * 3 + p) % 40}\n")
                    written += 1
            out.writelines(lines)
            if written == rows:
                break
    return written


def agree_contracts(ledger: Ledger, meta: Meta) -> None:
    outcomes = tuple(Outcome(code=f"O{o:02d}", name=f"Outcome {o}", price=Decimal(100 + o),
                             unit="people") for o in range(OUTCOMES))
    batch: list[tuple[str, Command]] = [
        (reference(c), AgreeContract(ContractTerms(
            reference=reference(c), title=f"Bench contract {c}", buyer="Bench Council",
            supplier="Bench Supplier Ltd", start=date(FIRST_FY, 4, 1),
            end=date(FIRST_FY + 12, 9, 30), cadence="quarter", outcomes=outcomes)))
        for c in range(CONTRACTS)]
    ledger.execute_batch(batch, meta)


def main() -> None:
    rows = int(os.environ.get("BENCH_ROWS", "1000000"))
    meta = Meta(datetime(FIRST_FY + 12, 11, 1, tzinfo=UTC), "bench")
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        csv_path = Path(tmp) / "returns.csv"
        started = time.perf_counter()
        rows = write_returns(csv_path, rows)
        generate_s = time.perf_counter() - started
        csv_bytes = csv_path.stat().st_size
        with Ledger.open(str(Path(tmp) / "bench.db"), create=True) as ledger:
            ledger.project_on_write = False
            agree_contracts(ledger, meta)
            before = ledger.max_position()
            started, cpu = time.perf_counter(), time.process_time()
            [receipt] = import_returns(ledger, [str(csv_path)], meta)
            import_s = time.perf_counter() - started
            import_cpu_s = time.process_time() - cpu
            events = ledger.max_position() - before
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert receipt.added == rows, receipt
    print(json.dumps({
        "rows": rows,
        "import_rows_per_s": round(rows / import_s),
        "import_s": round(import_s, 2),
        # CPU seconds of this process: on a shared machine, wall time also counts the
        # time other processes held the cores.
        "import_cpu_s": round(import_cpu_s, 2),
        "peak_rss_mb": round(peak_mb, 1),
        "events": events,
        "csv_mb": round(csv_bytes / 1e6, 1),
        "generate_s": round(generate_s, 2),
        "python": sys.version.split()[0],
    }))


if __name__ == "__main__":
    main()
