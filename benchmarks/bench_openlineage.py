"""OpenLineage export: events/s at 1,000,000 runs, and memory that does not grow with the catalog.

    .venv/bin/python benchmarks/bench_openlineage.py                  # 100k and 1M runs
    .venv/bin/python benchmarks/bench_openlineage.py --sizes 300,900  # a smoke run

One SQLite catalog per size, built with stdlib sqlite3 (executemany, ids in start order):
load -> process -> train chains, a minute apart, each run with two params, a metric and the
resolve tag; every load outputs a table, process consumes it and outputs one, train consumes
that and outputs a model file. Then, in the same process, for each size:

* ``lineage``: ``openlineage.export`` of every run (a START and an end event each) into a
  sink that counts bytes (writing 2M events to disk would measure the disk);
* the reference: the floor any export pays, a hand-written streaming read of the same runs in
  start order with stdlib sqlite3 and ``json.dumps`` of a small dict per event.

Printed: events/s of both and their ratio (lineage's time / the reference's), and the peak
resident memory each export added at the smallest and the largest size (flat means constant).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from _bench import header, peak_rss_mib, ratio_line, reset_peak_rss, rss_mib

BATCH = 100_000
EPOCH = datetime(2024, 1, 1)
SCHEMA = '[{"name":"amount","type":"double"},{"name":"id","type":"int64"}]'


def stamp(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="microseconds")


def fake_hash(n: int) -> str:
    return f"xxh128:{n:024x}0123abcd"


def generate(db: Path, size: int) -> None:
    """Insert ``size`` runs in load -> process -> train chains, with their edges and details."""
    rng = random.Random(size)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    created = stamp(EPOCH)
    for first in range(0, size, BATCH):
        runs, params, metrics, tags = [], [], [], []
        previous = ""
        artifacts, outputs, inputs, upstream = [], [], [], []
        for i in range(first, min(first + BATCH, size)):
            run_id = f"{i:010x}{rng.getrandbits(88):022x}"
            kind = i % 3
            step, key, value = (
                ("load", "table", "transactions"),
                ("process", "logic", "plain"),
                ("train", "algorithm", "LogisticRegression"),
            )[kind]
            start = EPOCH + timedelta(minutes=i)
            end = start + timedelta(seconds=30)
            runs.append(
                (
                    run_id,
                    step,
                    key,
                    value,
                    stamp(start),
                    "finished",
                    stamp(start),
                    stamp(end),
                    stamp(end),
                    "xxh128:" + "c" * 32,
                    f"python steps/{step}.py {value}",
                )
            )
            params.append((run_id, "C", str(i % 7)))
            params.append((run_id, "seed", str(i)))
            metrics.append((run_id, "auc", rng.random(), None, stamp(end)))
            tags.append((run_id, "lineage.resolve", f"{i // 3:032x}"))
            table = kind < 2
            artifacts.append(
                (
                    fake_hash(i),
                    4096 + i % 1000,
                    "table" if table else "file",
                    "parquet" if table else None,
                    100 if table else None,
                    SCHEMA if table else None,
                    created,
                )
            )
            outputs.append((run_id, ("data", "features", "model.pkl")[kind], fake_hash(i)))
            if kind:
                inputs.append((run_id, ("data", "features")[kind - 1], fake_hash(i - 1), previous))
                upstream.append((run_id, previous))
            previous = run_id
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO runs (id, step, key, value, time, status, started_at, ended_at,"
            " heartbeat_at, code_hash, command, host, user, pid)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'bench', 'bench', 1)",
            runs,
        )
        for table, rows in (
            ("params (run_id, name, value) VALUES (?, ?, ?)", params),
            ("metrics (run_id, name, value, step, time) VALUES (?, ?, ?, ?, ?)", metrics),
            ("tags (run_id, name, value) VALUES (?, ?, ?)", tags),
            (
                "artifacts (hash, size, kind, format, rows, schema, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                artifacts,
            ),
            ("outputs (run_id, name, hash) VALUES (?, ?, ?)", outputs),
            ("inputs (run_id, name, hash, source_run_id) VALUES (?, ?, ?, ?)", inputs),
            ("upstream (run_id, upstream_id) VALUES (?, ?)", upstream),
        ):
            conn.executemany(f"INSERT INTO {table}", rows)
        conn.execute("COMMIT")
    conn.close()


class Sink:
    """A binary stream that only counts what is written to it."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        return len(data)


def reference(db: Path, sink: Sink) -> int:
    """Stream the runs in start order with sqlite3 and dump a small dict per event."""
    conn = sqlite3.connect(db)
    events = 0
    query = (
        "SELECT id, step, value, time, status, started_at, ended_at FROM runs "
        "ORDER BY started_at, id"
    )
    for run_id, step, value, moment, status, started, ended in conn.execute(query):
        for kind, at in (("START", started), ("COMPLETE", ended)):
            event = {
                "eventTime": at,
                "eventType": kind,
                "run": {"runId": run_id, "facets": {"nominalTime": moment}},
                "job": {"namespace": "bench", "name": f"{step}.{value}"},
                "status": status,
            }
            sink.write(json.dumps(event, separators=(",", ":")).encode() + b"\n")
            events += 1
    conn.close()
    return events


def measure(db: Path) -> dict[str, float]:
    """Export every run of ``db`` in this (fresh) process; return time, counts, memory."""
    from lineage.catalog import Catalog
    from lineage.interchange import export as ol_export
    from lineage.interchange import openlineage as ol

    catalog = Catalog(f"sqlite:///{db}")
    settings = ol.Settings("bench")
    sink = Sink()
    before = rss_mib()
    reset_peak_rss()
    started = time.perf_counter()
    result = ol_export.export(catalog, settings, out=sink)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    added = peak_rss_mib() - before
    catalog.close()
    return {"seconds": seconds, "events": result.events, "bytes": sink.bytes, "peak": added}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="catalog sizes, ascending")
    parser.add_argument("--dir", help="where the catalogs go (default: system temp)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child: export this catalog
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure))))
        return 0
    sizes = sorted(int(s) for s in args.sizes.split(","))

    from lineage.catalog import Catalog

    header(f"OpenLineage export of every run, sizes {sizes}")
    work = Path(tempfile.mkdtemp(prefix="lineage-bench-openlineage-", dir=args.dir))
    try:
        results = {}
        for size in sizes:
            db = work / f"catalog-{size}.db"
            Catalog(f"sqlite:///{db}", create=True).close()
            started = time.perf_counter()
            generate(db, size)
            print(f"built {size:>9,} runs in {time.perf_counter() - started:.1f} s", flush=True)
            # Each export in a fresh process, so its peak memory is its own, not what building
            # the catalog left in this one.
            child = subprocess.run(
                [sys.executable, __file__, "--measure", str(db)],
                capture_output=True,
                text=True,
                check=True,
            )
            ours = json.loads(child.stdout)
            plain = Sink()
            started = time.perf_counter()
            events = reference(db, plain)
            theirs = time.perf_counter() - started
            assert ours["events"] == events == 2 * size, (ours, events)
            results[size] = (ours["seconds"], theirs, ours["peak"])
            print(
                f"{size:>9,} runs: lineage {events / ours['seconds']:>9,.0f} events/s "
                f"({ours['seconds']:.1f} s, {ours['bytes'] / events:.0f} B/event, "
                f"peak +{ours['peak']:.0f} MiB)  reference {events / theirs:>9,.0f} events/s "
                f"({theirs:.1f} s)",
                flush=True,
            )
            db.unlink()
        small, large = sizes[0], sizes[-1]
        ours_s, theirs_s, _ = results[large]
        ratio_line(
            f"export time / hand-written streaming read + json.dumps at {large:,} runs",
            ours_s / theirs_s,
            extra=f"{2 * large / ours_s:,.0f} events/s",
        )
        small_peak, large_peak = results[small][2], results[large][2]
        ratio_line(
            f"peak memory added by the export at {large:,} runs / at {small:,} runs",
            max(large_peak, 1.0) / max(small_peak, 1.0),
            "<=",
            1.5,
            f"+{small_peak:.1f} MiB / +{large_peak:.1f} MiB",
        )
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
