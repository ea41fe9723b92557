"""Logging throughput: runs/s through the SDK against raw sqlite3 inserting the same rows.

    .venv/bin/python benchmarks/bench_logging.py              # 1,000 runs per side, 3 rounds
    .venv/bin/python benchmarks/bench_logging.py --runs 50 --rounds 1    # a smoke run

One run is ``start_run("train", algorithm=...)``, 4 params, 3 metrics, and the end of the
``with`` block, in a project made by ``lineage init`` (SQLite catalog, the default). The SDK
writes a run in two transactions: its start (so it shows as ``running`` while it works) and its
end (params, metrics and status together).

The reference is the stdlib ``sqlite3`` module writing the same rows (the run, 4 params,
3 metrics) into the same tables, in one transaction per run, in WAL mode: once with the
``synchronous`` setting sqlite3 leaves by default (FULL: an fsync per commit), and once with
``synchronous=NORMAL``, which is what lineage sets on its own connections (the fair floor).
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import socket
import sqlite3
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from _bench import header, median, ratio_line, timed

PARAMS = {"C": 1.0, "penalty": "l2", "solver": "lbfgs", "max_iter": 100}
METRICS = {"auc": 0.91, "loss": 0.23, "accuracy": 0.87}


def sdk_runs(count: int, offset: int) -> None:
    """Record ``count`` runs through the SDK in the current project."""
    import lineage

    for i in range(offset, offset + count):
        with lineage.start_run("train", algorithm=f"algo{i % 10}") as run:
            run.log_params(PARAMS)
            for name, value in METRICS.items():
                run.log_metric(name, value)


def _stamp() -> str:
    # The text SQLAlchemy's SQLite DateTime stores: the rows are the same as lineage's.
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def raw_runs(conn: sqlite3.Connection, count: int, offset: int) -> None:
    """Insert the same rows as ``sdk_runs`` with plain sqlite3, one transaction per run."""
    who = (socket.gethostname(), getpass.getuser(), os.getpid())
    for i in range(offset, offset + count):
        run_id = uuid.uuid4().hex
        now = _stamp()
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO runs (id, step, key, value, time, status, started_at, ended_at,"
            " heartbeat_at, host, user, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, "train", "algorithm", f"algo{i % 10}", now, "finished", now, now, now, *who),
        )
        conn.executemany(
            "INSERT INTO params (run_id, name, value) VALUES (?, ?, ?)",
            [(run_id, name, str(value)) for name, value in PARAMS.items()],
        )
        conn.executemany(
            "INSERT INTO metrics (run_id, name, value, step, time) VALUES (?, ?, ?, ?, ?)",
            [(run_id, name, value, None, now) for name, value in METRICS.items()],
        )
        conn.execute("COMMIT")


def raw_connection(path: Path, synchronous: str | None) -> sqlite3.Connection:
    from lineage.catalog import Catalog

    Catalog(f"sqlite:///{path}", create=True).close()  # the same tables and indexes
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    if synchronous:
        conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs per side and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per side (default 3)")
    parser.add_argument("--dir", help="where the catalogs go (default: system temp)")
    args = parser.parse_args()

    from lineage import api

    header(f"logging: {args.runs} runs per side, {args.rounds} rounds, 4 params + 3 metrics each")
    work = Path(tempfile.mkdtemp(prefix="lineage-bench-logging-", dir=args.dir))
    cwd = os.getcwd()
    try:
        api.init(work / "project")
        os.chdir(work / "project")
        sdk_runs(1, -1)  # open the session (engine, pool) before timing, as a long job would
        raw = {
            "raw sqlite3, WAL, synchronous=FULL (default)": raw_connection(work / "full.db", None),
            "raw sqlite3, WAL, synchronous=NORMAL": raw_connection(work / "normal.db", "NORMAL"),
        }
        sides = ["lineage SDK", *raw]
        samples: dict[str, list[float]] = {name: [] for name in sides}
        for round_ in range(args.rounds):
            offset = round_ * args.runs
            for name in sides[round_ % 3 :] + sides[: round_ % 3]:
                if name == "lineage SDK":
                    seconds = timed(lambda o=offset: sdk_runs(args.runs, o))
                else:
                    conn = raw[name]
                    seconds = timed(lambda c=conn, o=offset: raw_runs(c, args.runs, o))
                samples[name].append(args.runs / seconds)
        for conn in raw.values():
            conn.close()

        print(f"{'side':<46} {'best runs/s':>12} {'median':>8}")
        for name, rates in samples.items():
            print(f"{name:<46} {max(rates):>12.0f} {median(rates):>8.0f}")
        sdk = samples["lineage SDK"]
        for name in raw:
            rates = samples[name]
            ratio_line(
                f"SDK runs/s / {name}",
                max(sdk) / max(rates),
                ">=",
                0.5,
                f"median {median(sdk) / median(rates):.2f}x",
            )
        normal = samples[sides[2]]
        sdk_us, raw_us = 1e6 / max(sdk), 1e6 / max(normal)
        print(f"time per run (best): SDK {sdk_us:.0f} us, raw sqlite3 NORMAL {raw_us:.0f} us")
        return 0
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
