"""How cost grows with the ledger: the same measurements at several sizes, as a table.

    .venv/bin/python bench/growth.py                     # 1k, 100k, 300k, 1M events
    BENCH_GROWTH=100000,300000 .venv/bin/python bench/growth.py

Each contract's history is the same length at every size (about 1,000 events: the 1k
ledger is one contract; see bench/synthetic.py), so only the number of contracts grows.
What should hold: replay time linear in the events (its cost per event flat), peak
memory flat, and one contract's query and one return's import costing the same however
many other contracts the ledger holds. Each row is measured as ``bench/run.py`` measures
(fresh child processes); the replay also once in a single process, for the record.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import synthetic
from run import build_ledger, child

SIZES = (1_000, 100_000, 300_000, 1_000_000)
COLUMNS = (
    ("events", "events", "{:>9,}"),
    ("contracts", "contracts", "{:>9,}"),
    ("replay s", "replay_s", "{:>8.1f}"),
    ("replay ev/s", "replay_events_per_s", "{:>11,.0f}"),
    ("us/event", "replay_us_per_event", "{:>8.1f}"),
    ("1-proc ev/s", "replay_1process_events_per_s", "{:>11,.0f}"),
    ("verify ev/s", "verify_events_per_s", "{:>11,.0f}"),
    ("replay MB", "replay_rss_mb", "{:>9.0f}"),
    ("1-proc MB", "replay_1process_rss_mb", "{:>9.0f}"),
    ("payments ms", "payments_ms", "{:>11.1f}"),
    ("report ms", "report_ms", "{:>9.1f}"),
    ("1 return ms", "one_return_ms", "{:>11.1f}"),
)


def measure(folder: Path, size: int) -> dict[str, Any]:
    path, events, _generate_s = build_ledger(folder, size)
    env = {"BENCH_LEDGER_EVENTS": str(size)}
    row: dict[str, Any] = {"events": events}
    row.update(child("replay1", path, env=env))  # first: its tables are then replaced
    for phase in ("replay", "verify", "query", "one_return"):
        row.update(child(phase, path, env=env))
    row["contracts"] = synthetic.shape(size)[0]
    row["replay_us_per_event"] = 1e6 / row["replay_events_per_s"]
    return row


def table(rows: list[dict[str, Any]]) -> str:
    widths = [max(len(title), len(fmt.format(0))) for title, _key, fmt in COLUMNS]
    head = " | ".join(title.rjust(w) for (title, _k, _f), w in zip(COLUMNS, widths, strict=True))
    lines = [f"| {head} |", "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for row in rows:
        cells = [fmt.format(row[key]).rjust(w)
                 for (_t, key, fmt), w in zip(COLUMNS, widths, strict=True)]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_GROWTH", "").split(",") if s] or SIZES
    keep = os.environ.get("BENCH_KEEP")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-growth-") as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            rows.append(measure(folder, size))
            print(json.dumps(rows[-1]), file=sys.stderr)
    print(table(rows))


if __name__ == "__main__":
    main()
