"""End-to-end benchmarks of DESIGN 9, with the baselines they are judged against.

    BENCH_EVENTS=1000000 .venv/bin/python bench/run.py      # what `make bench` runs

Builds the synthetic ledger of ``bench/synthetic.py`` (``BENCH_EVENTS`` events, default
1,000,000), then measures each phase in a fresh child process (so its peak RSS is its
own, and nothing is cached in Python from an earlier phase):

* ``scan``, the floor: ``SELECT rowid, originator_id, originator_version, topic, state
  FROM stored_events ORDER BY rowid``, every row iterated in Python, nothing done with
  it. Measured right before ``verify`` and before ``replay``; the faster of the two is
  ``raw_scan_rows_per_s``, which both ratios divide by (the harder comparison).
* ``replay``: the ``replay`` command (``replay.rebuild``): every projection rebuilt from
  position 0 into fresh tables and swapped in. From 100,000 events it runs two worker
  processes beside the main one; its peak RSS is the sum over the processes (each
  worker counted at the largest one's peak). The replay in one process is in the detail.
* ``verify``: the hash chains of ``audit verify`` (``replay.verify_ledger``: every
  event's SHA-256, chain link, stream and version; the canonical decode of each stream
  head); two processes from 200,000 events. The one-process rate is in the detail. The
  projection comparison ``audit verify`` also makes is a replay in memory, not timed.
* ``verify_rules``: the rules alone (``audit verify``'s re-decision of every stored
  event, ``rules.py``), contracts shared out to two worker processes from 100,000 events.
* ``follow``: ``events --follow`` catching up from position 0 (``feed.follow``: every
  event read in pages, decoded and written as its NDJSON line, to /dev/null);
  ``follow_events_per_s`` in the detail (issue 19: at least 50,000 events/s).
* ``verify_all``: after the replay, the whole ``audit verify``: chains, rules, and every
  projection compared with a replay of the events; ``verify_all_s`` is its wall time.
* ``stock``: eventsourcing's own way to rebuild state, for comparison: per aggregate,
  the application's event store reads the stream (``app.events.get``: recorder, mapper)
  and each event is applied in turn, one new state per event (``evolve``).
* ``query``: after start-up (imports done, ledger open), one contract's payments
  (``payments REF --format json``: load, fold, ``mechanism.compute``, JSON) and report
  (``report REF --format json``: the same, the ledger head and every report section),
  each the median over 7 contracts; ``query_ms`` is the slower of the two. Beside them,
  ``without_ms`` (issue 18: < 200 ms): ``payments REF --without POSITION --format
  json`` (the contract's own stream read and folded without its middle event,
  ``mechanism.compute``, JSON), the median over the same contracts; and ``what_if_ms``
  (issue 18: < 200 ms): ``contract business-case REF FILE --what-if --format json`` (the
  stream loaded and folded, a business case of one new outcome with a target decided,
  then the schedule without and with it at actuals and at targets, JSON).
* ``one_return``: one 20-row return imported into the ledger as ``returns import`` does
  it (decided, appended, projections caught up before it returns), median of 3.
* ``extend``: ``contract extend`` on one more contract of the synthetic shape with an
  extension option and a target for every outcome every quarter (issue 18: < 100 ms):
  ``extend_ms``, the median of 5 decisions after start-up (a dry run: the option judged,
  nothing written), and ``extend_write_ms``, one real write.
* ``import``: a returns CSV of ``min(BENCH_EVENTS, 1,000,000)`` rows (20 rows a return)
  imported into a fresh ledger of 1,000 contracts: CSV -> validated, durable events. From
  4 MB (~150,000 rows) the file is read and decided by two worker processes while this
  one appends; the peak RSS is then the sum over the three, as for ``replay``.
  The CLI then catches the projections up, which this does not time.

Every line but the last is detail; the last is one JSON object with exactly the DESIGN 9
keys. ``BENCH_KEEP=DIR`` keeps (and reuses) the ledgers in DIR. See bench/README.md.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

import programmes
import synthetic
from outcomeledger.app import feed, replay, services
from outcomeledger.app.ledger import open_ledger
from outcomeledger.app.report_source import Source
from outcomeledger.domain.commands import ApproveBusinessCase, Meta
from outcomeledger.domain.contract import counterfactual
from outcomeledger.domain.contract.decide import decide
from outcomeledger.domain.contract.state import ContractState, evolve
from outcomeledger.domain.errors import InvalidInput
from outcomeledger.domain.events import BusinessCaseApproved
from outcomeledger.domain.payments.mechanism import compute
from outcomeledger.domain.payments.what_if import what_if
from outcomeledger.domain.terms import BusinessCase, Condition, Extension, Outcome
from outcomeledger.imports import parallel as import_parallel
from outcomeledger.imports.importer import import_returns
from outcomeledger.projections import compare, parallel, source
from outcomeledger.report import build_report, render
from outcomeledger.report.business_cases import what_if_json as what_if_report
from outcomeledger.storage.application import stream_id
from outcomeledger.storage.verification import verify

SCAN_SQL = ("SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY rowid")
MAX_IMPORT_ROWS = 1_000_000
QUERY_CONTRACTS = 7
_report_json = msgspec.json.Encoder(decimal_format="string")  # as `report --format json`
KEYS = ("import_rows_per_s", "replay_events_per_s", "replay_cpu_us_per_event",
        "raw_scan_rows_per_s", "replay_vs_scan", "verify_events_per_s", "verify_vs_scan",
        "verify_rules_events_per_s", "verify_all_s", "query_ms", "peak_rss_mb", "events")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def raw_scan(path: Path) -> float:
    """Rows per second of the floor: every stored event read, in Python, doing nothing."""
    with closing(sqlite3.connect(path)) as conn:
        started = time.perf_counter()
        rows = 0
        for _row in conn.execute(SCAN_SQL):
            rows += 1
        return rows / (time.perf_counter() - started)


# -- phases (each runs in its own child process) ----------------------------------------

def processes_rss_mb(workers: int) -> float:
    """Peak RSS of this process and its ``workers`` worker processes, summed: an upper
    bound on their footprint together (each worker counted at the largest one's peak)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return peak_rss_mb() + workers * children


def phase_verify(path: Path) -> dict[str, Any]:
    scan = raw_scan(path)
    with open_ledger(str(path)) as ledger:
        # One process first, for the record: then `audit verify` as it runs.
        started = time.perf_counter()
        single = verify(replay.stored_batches(ledger))
        single_s = time.perf_counter() - started
        workers = 2 if ledger.max_position() >= replay.PARALLEL_VERIFY_FROM else 1
        started = time.perf_counter()
        verifier = replay.verify_ledger(ledger)
        seconds = time.perf_counter() - started
    assert not verifier.mismatches, verifier.mismatches[:3]
    assert verifier.head() == single.head()
    return {"verify_events_per_s": verifier.count / seconds, "verify_s": seconds,
            "verify_workers": workers, "verify_1process_events_per_s": single.count / single_s,
            "verify_scan_rows_per_s": scan,
            "verify_rss_mb": processes_rss_mb(workers if workers > 1 else 0)}


def phase_verify_rules(path: Path) -> dict[str, Any]:
    """The rules alone (``rules.py``): every stored event decided again against the events
    before it, contracts shared out to worker processes as ``audit verify`` does."""
    with open_ledger(str(path)) as ledger, closing(ledger.connect()) as conn:
        upto = source.head(conn)
        workers = parallel.workers_for(upto)
        started = time.perf_counter()
        found = compare.verify(conn, None, upto, rules=True)
        seconds = time.perf_counter() - started
    assert found.violation_count == 0, found.violations[:3]
    return {"verify_rules_events_per_s": found.checked / seconds, "verify_rules_s": seconds,
            "verify_rules_workers": workers,
            "verify_rules_rss_mb": processes_rss_mb(workers)}


def phase_verify_all(path: Path) -> dict[str, Any]:
    """The whole ``audit verify``: the hash chains, the rules and every projection
    compared with a replay of the events (needs the replay's tables)."""
    with open_ledger(str(path)) as ledger:
        started = time.perf_counter()
        chains = replay.verify_ledger(ledger)
        checked = replay.check(ledger)
        seconds = time.perf_counter() - started
        workers = max(parallel.workers_for(ledger.max_position()),
                      2 if ledger.max_position() >= replay.PARALLEL_VERIFY_FROM else 0)
    problems = [*chains.mismatches, *checked.violations, *checked.findings]
    assert not problems, problems[:3]
    assert checked.checked == chains.count
    return {"verify_all_s": seconds, "verify_all_events_per_s": chains.count / seconds,
            "verify_all_rss_mb": processes_rss_mb(workers)}


def phase_replay(path: Path) -> dict[str, Any]:
    scan = raw_scan(path)
    with open_ledger(str(path)) as ledger:
        workers = parallel.workers_for(ledger.max_position())
        started, cpu = time.perf_counter(), time.process_time()
        done = replay.rebuild(ledger)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    children_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"replay_events_per_s": done.events / seconds, "replay_s": seconds,
            "replay_events": done.events,
            "replay_workers": workers,
            "replay_cpu_s": cpu + children_cpu.ru_utime + children_cpu.ru_stime,
            "replay_scan_rows_per_s": scan, "replay_rss_mb": processes_rss_mb(workers)}


def phase_replay1(path: Path) -> dict[str, Any]:
    """The replay in one process, for the record (growth table)."""
    os.environ["OUTCOMELEDGER_REPLAY_WORKERS"] = "0"
    with open_ledger(str(path)) as ledger:
        started = time.perf_counter()
        done = replay.rebuild(ledger)
        seconds = time.perf_counter() - started
    return {"replay_1process_events_per_s": done.events / seconds,
            "replay_1process_rss_mb": peak_rss_mb()}


def phase_stock(path: Path) -> dict[str, Any]:
    """eventsourcing's own way to rebuild state: per aggregate, the application's event
    store gets the stream (``app.events.get``: recorder, then mapper) and each event is
    applied in turn, one new state per event (``evolve``, as an aggregate's ``mutate``).
    The hashes the ledger keeps are left out: only the fold is the question."""
    with open_ledger(str(path)) as ledger:
        refs = ledger.references()
        started = time.perf_counter()
        events = 0
        for ref in refs:
            state = ContractState(ref)
            for envelope in ledger.app.events.get(stream_id(ref)):
                state = evolve(state, envelope.event, "")
            events += state.version
        seconds = time.perf_counter() - started
        # And the ledger's own loader (whole-stream fold), for comparison.
        started = time.perf_counter()
        loaded = sum(ledger.load(ref).version for ref in refs)
        load_s = time.perf_counter() - started
    return {"stock_events_per_s": events / seconds, "stock_s": seconds,
            "load_events_per_s": loaded / load_s, "stock_rss_mb": peak_rss_mb()}


def _timed_ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def phase_query(path: Path) -> dict[str, Any]:
    contracts, _quarters = synthetic.shape(int(os.environ["BENCH_LEDGER_EVENTS"]))
    step = max(1, contracts // QUERY_CONTRACTS)
    refs = [synthetic.reference(c) for c in range(0, contracts, step)][:QUERY_CONTRACTS]
    with open_ledger(str(path)) as ledger:
        def payments_json(ref: str) -> None:
            schedule = compute(ledger.get(ref))
            render.to_json(render.payments_json(schedule, schedule.periods))

        def report_json(ref: str) -> None:
            source = Source.open(ledger, None)
            _report_json.encode(build_report(source.state(ref), source.head()))

        # The first query of a process also pays one-off costs (msgspec compiling the
        # report types' encoders, SQLite warming its cache): start-up, recorded apart.
        def without_json(ref: str) -> None:
            events = ledger.events(ref)
            schedule = compute(counterfactual.without(ref, events, {len(events) // 2}))
            render.to_json(render.payments_json(schedule, schedule.periods))

        def what_if_json(ref: str) -> None:
            state = ledger.get(ref)
            case = BusinessCase("BC-BENCH", "Bench growth", "measured", state.first_period
                                .next().start, Decimal(50_000), (Outcome(
                                    "BENCH-NEW", "New outcome", price=Decimal(100),
                                    target=Decimal(400)),))
            decided = decide(state, ApproveBusinessCase(case, "bench"), Meta(
                datetime.now(UTC), "commissioner:bench")).events[0]
            assert isinstance(decided, BusinessCaseApproved)
            result = what_if(state, decided)
            render.to_json(what_if_report(result))

        first = _timed_ms(lambda: payments_json(refs[-1])) + _timed_ms(
            lambda: report_json(refs[-1]))
        payments = [_timed_ms(lambda ref=ref: payments_json(ref)) for ref in refs]
        reports = [_timed_ms(lambda ref=ref: report_json(ref)) for ref in refs]
        withouts = [_timed_ms(lambda ref=ref: without_json(ref)) for ref in refs]
        what_ifs = [_timed_ms(lambda ref=ref: what_if_json(ref)) for ref in refs]
    return {"what_if_ms": statistics.median(what_ifs), "what_if_ms_max": max(what_ifs),
            "payments_ms": statistics.median(payments), "report_ms": statistics.median(reports),
            "payments_ms_max": max(payments), "report_ms_max": max(reports),
            "without_ms": statistics.median(withouts), "without_ms_max": max(withouts),
            "first_query_ms": first, "query_contracts": len(refs)}


def phase_one_return(path: Path) -> dict[str, Any]:
    """One 20-row return (the supplier's own, for a quarter already reported by its
    providers) into contract BENCH-0000, projections caught up as the CLI does."""
    _contracts, quarters = synthetic.shape(int(os.environ["BENCH_LEDGER_EVENTS"]))
    times = []
    with tempfile.TemporaryDirectory(prefix="bench-one-") as tmp, open_ledger(
            str(path)) as ledger:
        state = ledger.get(synthetic.reference(0))
        period = state.first_period
        periods = []
        for _ in range(quarters):
            periods.append(period.id)
            period = period.next()
        # The latest quarters without a return of the supplier's own yet (a kept ledger
        # is measured again on earlier ones).
        fresh = [pid for pid in periods if (pid, "") not in state.returns][-3:]
        for n, pid in enumerate(fresh):
            csv = Path(tmp) / f"one-{n}.csv"
            csv.write_text("contract,period,outcome,value\n" + "".join(
                f"{synthetic.reference(0)},{pid},O{o:02d},{o % 7}\n"
                for o in range(synthetic.OUTCOMES)), encoding="utf-8")
            meta = Meta(datetime(2040, 1, 1, tzinfo=UTC), "bench")
            started = time.perf_counter()
            [receipt] = import_returns(ledger, [str(csv)], meta)
            times.append((time.perf_counter() - started) * 1000)
            assert receipt.added == synthetic.OUTCOMES, receipt
    return {"one_return_ms": statistics.median(times)}


def phase_extend(path: Path) -> dict[str, Any]:
    """``contract extend`` (issue 18) on one contract of the synthetic shape (~1,000
    events, 20 outcomes) with an extension option, appended to the ledger: the option's
    condition judged over its last 4 quarters and decided as the CLI does it (ledger open,
    stream loaded and folded, decided), median of 5 dry runs after one warm-up; then one
    real write (appended, projections caught up). Every outcome has a target in every
    quarter it returned anything, equal to what it returned (so the condition holds and
    the option is exercised: the whole path, event and write included)."""
    _contracts, quarters = synthetic.shape(int(os.environ["BENCH_LEDGER_EVENTS"]))
    history, _payable = synthetic.contract_stream(0, quarters).state(synthetic.reference(0))
    returned: dict[str, dict[str, Decimal]] = {}
    for (pid, _provider, code, _participant), record in history.figures.items():
        by_period = returned.setdefault(code, {})
        by_period[pid] = by_period.get(pid, Decimal(0)) + record.value
    base = synthetic.terms("BENCH-FLEX", quarters)
    flex = msgspec.structs.replace(
        base, outcomes=tuple(msgspec.structs.replace(o, target={
            pid: v for pid, v in returned.get(o.code, {}).items() if v > 0} or None)
            for o in base.outcomes),
        # E2, the same option, is left for timing the command line by hand (README).
        extensions=tuple(Extension(x, 12, base.end, Condition("requires improvement", 4))
                         for x in ("E1", "E2")))
    meta = Meta(datetime(2040, 1, 1, tzinfo=UTC), "bench")
    with open_ledger(str(path)) as ledger:
        if "BENCH-FLEX" not in ledger.references():
            synthetic.add_contract(ledger, flex, quarters)

        def extend(*, dry_run: bool) -> str:
            try:
                services.exercise(ledger, "BENCH-FLEX", "E1", base.end, "bench", meta,
                                  extend=True, dry_run=dry_run)
            except InvalidInput:
                return "refused"
            return "extended"

        # The read models caught up with the contract appended, so the write timed below
        # is the extension's alone (a dry run writes nothing and catches nothing up).
        ledger.project()
        extend(dry_run=True)
        times, decision = [], ""
        for _ in range(5):
            started = time.perf_counter()
            decision = extend(dry_run=True)
            times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        written = extend(dry_run=False)
        write_ms = (time.perf_counter() - started) * 1000
    return {"extend_ms": statistics.median(times), "extend_decision": decision,
            "extend_write_ms": write_ms, "extend_written": written}


def phase_import(folder: Path, rows: int) -> dict[str, Any]:
    csv = folder / "returns.csv"
    rows = synthetic.write_returns(csv, rows)
    return timed_import(str(folder / "import.db"), csv, rows)


def timed_import(location: str, csv: Path, rows: int) -> dict[str, Any]:
    """The ``rows`` rows of ``csv`` imported into a fresh ledger at ``location`` (a
    SQLite file or a PostgreSQL URL) of the synthetic contracts, timed."""
    meta = Meta(datetime(2030, 1, 1, tzinfo=UTC), "bench")
    with open_ledger(location, create=True) as ledger:
        ledger.project_on_write = False
        synthetic.agree_contracts(ledger, meta)
        before = ledger.max_position()
        # Worker processes read and decide a large file on a SQLite ledger (counted in
        # the peak memory, each at the largest one's peak).
        workers = (import_parallel.workers_for(csv.stat().st_size)
                   if ledger.location.kind == "sqlite" else 0)
        started, cpu = time.perf_counter(), time.process_time()
        [receipt] = import_returns(ledger, [str(csv)], meta)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        events = ledger.max_position() - before
    assert receipt.added == rows, receipt
    return {"import_rows_per_s": rows / seconds, "import_s": seconds, "import_cpu_s": cpu,
            "import_rows": rows, "import_events": events, "import_workers": workers,
            "import_rss_mb": processes_rss_mb(workers)}


def phase_programme(path: Path) -> dict[str, Any]:
    """Programmes over the ledger's contracts (bench/programmes.py). Writes (the
    programmes, a variation per contract, a few payment runs): measured last."""
    contracts, _quarters = synthetic.shape(int(os.environ["BENCH_LEDGER_EVENTS"]))
    with open_ledger(str(path)) as ledger:
        return programmes.measure(ledger, contracts)


def phase_follow(path: Path) -> dict[str, Any]:
    """``events --follow`` catching up from position 0: every event read, decoded and
    written as its NDJSON line (to /dev/null), a page at a time, as the command does;
    start-up excluded (a follower catches up once, then keeps up)."""
    with open_ledger(str(path)) as ledger, Path(os.devnull).open("wb") as out:
        head = ledger.max_position()

        def deliver(page: list[feed.FeedLine]) -> None:
            out.write(feed.ndjson(page))
            out.flush()

        started, cpu = time.perf_counter(), time.process_time()
        last = feed.follow(ledger, 0, deliver, lambda: False, limit=head)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert last == head, (last, head)
    return {"follow_events_per_s": head / seconds, "follow_s": seconds, "follow_cpu_s": cpu,
            "follow_rss_mb": peak_rss_mb()}


PHASES: dict[str, Callable[..., dict[str, Any]]] = {
    "verify": phase_verify, "replay": phase_replay, "replay1": phase_replay1,
    "verify_rules": phase_verify_rules, "verify_all": phase_verify_all,
    "stock": phase_stock,
    "query": phase_query, "one_return": phase_one_return, "follow": phase_follow,
    "programme": phase_programme,
    "extend": phase_extend,
}


def child(phase: str, *args: object, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one phase in a fresh interpreter; its last stdout line is its JSON result."""
    done = subprocess.run([sys.executable, __file__, "--phase", phase, *map(str, args)],
                          check=True, stdout=subprocess.PIPE, text=True,
                          env={**os.environ, **(env or {})})
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # A phase that wrote (generate, replay, import) leaves up to a gigabyte of dirty pages
    # that the kernel writes back over the next seconds: flushed here, untimed, so that
    # write-back does not land in the next phase's measurement.
    os.sync()
    return result


def measure_ledger(path: Path, events: int, *, stock: bool = True) -> dict[str, Any]:
    """Every phase on the ledger at ``path``: verification first, then the replay (the
    queries and the one-return import need its projections). Verification goes first
    because on this shared host the phase right after the replay's half-minute of both
    cores at full load runs on throttled cores (its own raw scan ~25% slower than the
    replay's), which would set one phase's rate against another phase's baseline."""
    env = {"BENCH_LEDGER_EVENTS": str(events)}
    out: dict[str, Any] = {}
    out.update(child("verify", path, env=env))
    out.update(child("verify_rules", path, env=env))
    out.update(child("follow", path, env=env))
    out.update(child("replay", path, env=env))
    # The whole `audit verify` compares the tables the replay has just built.
    out.update(child("verify_all", path, env=env))
    if stock:
        out.update(child("stock", path, env=env))
    out.update(child("query", path, env=env))
    out.update(child("one_return", path, env=env))
    out.update(child("programme", path, env=env))
    out.update(child("extend", path, env=env))
    return out


def build_ledger(folder: Path, events: int) -> tuple[Path, int, float]:
    path = folder / f"ledger-{events}.db"
    if path.exists():  # kept from an earlier run (BENCH_KEEP): the generator is a function
        with closing(sqlite3.connect(path)) as conn:
            written = conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
        return path, written, 0.0
    # In a child: the generator's memory must not count in the phases' peak RSS (Linux
    # carries ru_maxrss from a parent through fork and exec).
    result = child("generate", path, events)
    return path, result["events"], result["generate_s"]


def phase_generate(path: Path, events: int) -> dict[str, Any]:
    started = time.perf_counter()
    written = synthetic.generate(path, events)
    return {"events": written, "generate_s": time.perf_counter() - started}


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "--phase":
        name, args = sys.argv[2], sys.argv[3:]
        if name in ("import", "generate"):
            result = (phase_import if name == "import" else phase_generate)(
                Path(args[0]), int(args[1]))
        else:
            result = PHASES[name](Path(args[0]))
        print(json.dumps(result))
        return
    wanted = int(os.environ.get("BENCH_EVENTS", "1000000"))
    keep = os.environ.get("BENCH_KEEP")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path, events, generate_s = build_ledger(folder, wanted)
        size_mb = path.stat().st_size / 2**20
        print(f"ledger: {events} events ({size_mb:.0f} MB) generated in {generate_s:.1f} s",
              file=sys.stderr)
        m = measure_ledger(path, events)
        with tempfile.TemporaryDirectory(prefix="bench-import-", dir=folder) as imports:
            m.update(child("import", imports, min(wanted, MAX_IMPORT_ROWS)))
        m["db_mb_after_replay"] = path.stat().st_size / 2**20
    # The rules' rate against the raw scan of the same run (the host is shared and noisy:
    # the ratio moves less than the rate between runs).
    m["verify_rules_vs_scan"] = m["verify_rules_events_per_s"] / max(
        m["verify_scan_rows_per_s"], m["replay_scan_rows_per_s"])
    result = summary(m, events)
    detail = {k: round(v, 3) if isinstance(v, float) else v for k, v in sorted(m.items())}
    print(json.dumps({"detail": detail, "python": sys.version.split()[0],
                      "sqlite": sqlite3.sqlite_version, "generate_s": round(generate_s, 1)}))
    print(json.dumps(result))


def summary(m: dict[str, Any], events: int) -> dict[str, Any]:
    """The DESIGN 9 line."""
    scan = max(m["verify_scan_rows_per_s"], m["replay_scan_rows_per_s"])
    return {
        "import_rows_per_s": round(m["import_rows_per_s"]),
        "replay_events_per_s": round(m["replay_events_per_s"]),
        # CPU time of every process of the replay per event: the host's noise (other
        # work on the shared cores, CPU steal) moves it far less than the wall-time rate.
        "replay_cpu_us_per_event": round(
            m["replay_cpu_s"] * 1e6 / m["replay_events"], 2),
        "raw_scan_rows_per_s": round(scan),
        "replay_vs_scan": round(m["replay_events_per_s"] / scan, 3),
        "verify_events_per_s": round(m["verify_events_per_s"]),
        "verify_vs_scan": round(m["verify_events_per_s"] / scan, 3),
        "verify_rules_events_per_s": round(m["verify_rules_events_per_s"]),
        "verify_all_s": round(m["verify_all_s"], 1),
        "query_ms": round(max(m["payments_ms"], m["report_ms"]), 1),
        "peak_rss_mb": round(max(m["replay_rss_mb"], m["import_rss_mb"]), 1),
        "events": events,
    }


if __name__ == "__main__":
    main()
