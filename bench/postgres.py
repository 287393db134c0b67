"""The import and replay benchmarks on PostgreSQL, with the generators of synthetic.py.

    .venv/bin/python bench/postgres.py --db postgresql://postgres@127.0.0.1:5432/postgres
    BENCH_EVENTS=200000 .venv/bin/python bench/postgres.py     # --db from $BENCH_PG

``--db`` (or ``BENCH_PG``) is an admin URL: the benchmark creates two fresh databases on
that server (``bench_pg_<pid>_ledger``, ``bench_pg_<pid>_import``) and drops them at the
end (``BENCH_KEEP=1`` keeps them). On them, as ``run.py`` does on SQLite:

* ``import``: a returns CSV of ``min(BENCH_EVENTS, 1,000,000)`` rows (20 rows a return)
  imported into a fresh ledger of 1,000 contracts through the code of `returns import`:
  parsed, validated, decided and appended in one durable transaction;
* ``raw_scan``: every stored event read in global order, in Python, nothing done with it
  (``projections.source.scan``: what the replay itself reads with);
* ``replay``: the `replay` command on the synthetic ledger of ``BENCH_EVENTS`` events
  (default 1,000,000): every read model rebuilt into fresh tables and swapped in;
* ``verify``: the hash chains of `audit verify`.

Each phase runs in a fresh child process (its peak RSS is its own). The last line is
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg

import synthetic
from outcomeledger.app import replay
from outcomeledger.app.ledger import open_ledger
from outcomeledger.projections import source
from run import timed_import

MAX_IMPORT_ROWS = 1_000_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_generate(url: str, events: int) -> dict[str, Any]:
    started = time.perf_counter()
    written = synthetic.generate(url, events)
    return {"events": written, "generate_s": time.perf_counter() - started}


def phase_replay(url: str) -> dict[str, Any]:
    with open_ledger(url) as ledger:
        with closing(ledger.connect()) as conn:
            started = time.perf_counter()
            rows = sum(len(batch) for batch in source.scan(conn, 0, source.head(conn)))
            scan_s = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        done = replay.rebuild(ledger)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    # The replay workers' CPU too (this process has no other children by then); the
    # server's own is not counted.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"raw_scan_rows_per_s": rows / scan_s, "replay_events_per_s": done.events / seconds,
            "replay_s": seconds, "replay_cpu_s": cpu + children.ru_utime + children.ru_stime,
            "replay_rss_mb": peak_rss_mb()}


def phase_verify(url: str) -> dict[str, Any]:
    with open_ledger(url) as ledger:
        started = time.perf_counter()
        verifier = replay.verify_ledger(ledger)
        seconds = time.perf_counter() - started
    assert not verifier.mismatches, verifier.mismatches[:3]
    return {"verify_events_per_s": verifier.count / seconds, "verify_s": seconds}


def phase_import(url: str, rows: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-pg-") as tmp:
        csv = Path(tmp) / "returns.csv"
        return timed_import(url, csv, synthetic.write_returns(csv, rows))


PHASES = {"generate": phase_generate, "replay": phase_replay, "verify": phase_verify,
          "import": phase_import}


def child(phase: str, *args: object) -> dict[str, Any]:
    """Run one phase in a fresh interpreter; its last stdout line is its JSON result."""
    done = subprocess.run([sys.executable, __file__, "--phase", phase, *map(str, args)],
                          check=True, stdout=subprocess.PIPE, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "--phase":
        name, args = sys.argv[2], sys.argv[3:]
        extra = [int(a) for a in args[1:]]
        print(json.dumps(PHASES[name](args[0], *extra)))  # type: ignore[operator]
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("BENCH_PG"),
                        help="admin URL of the PostgreSQL server (default: $BENCH_PG)")
    url = parser.parse_args().db
    if not url or not url.startswith(("postgresql://", "postgres://")):
        parser.error(f"expected --db postgresql://user@host:port/dbname (got {url!r})")
    wanted = int(os.environ.get("BENCH_EVENTS", "1000000"))
    base = url.rsplit("/", 1)[0]
    names = {kind: f"bench_pg_{os.getpid()}_{kind}" for kind in ("ledger", "import")}
    with closing(psycopg.connect(url, autocommit=True)) as admin:
        for name in names.values():
            admin.execute(f"CREATE DATABASE {name}")
        try:
            ledger, imports = (f"{base}/{names[k]}" for k in ("ledger", "import"))
            m = child("generate", ledger, wanted)
            print(f"ledger: {m['events']} events generated in {m['generate_s']:.1f} s",
                  file=sys.stderr)
            m.update(child("replay", ledger))
            m.update(child("verify", ledger))
            m.update(child("import", imports, min(wanted, MAX_IMPORT_ROWS)))
            server = admin.execute("SHOW server_version").fetchone()
            size = admin.execute("SELECT pg_database_size(%s)", (names["ledger"],)).fetchone()
        finally:
            if not os.environ.get("BENCH_KEEP"):
                for name in names.values():
                    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(json.dumps({"detail": {k: round(v, 3) if isinstance(v, float) else v
                                 for k, v in sorted(m.items())},
                      "postgresql": server[0] if server else None,
                      "db_mb": round(size[0] / 2**20) if size else None,
                      "psycopg": f"{psycopg.__version__} ({psycopg.pq.__impl__})"}))
    print(json.dumps({
        "backend": "postgresql",
        "import_rows_per_s": round(m["import_rows_per_s"]),
        "replay_events_per_s": round(m["replay_events_per_s"]),
        "raw_scan_rows_per_s": round(m["raw_scan_rows_per_s"]),
        "replay_vs_scan": round(m["replay_events_per_s"] / m["raw_scan_rows_per_s"], 3),
        "verify_events_per_s": round(m["verify_events_per_s"]),
        "peak_rss_mb": round(max(m["replay_rss_mb"], m["import_rss_mb"]), 1),
        "events": m["events"],
    }))


if __name__ == "__main__":
    main()
