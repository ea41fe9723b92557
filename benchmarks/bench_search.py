"""Search: the newest run of one (step, key value) among 1,000 ... 1,000,000 runs.

    .venv/bin/python benchmarks/bench_search.py                        # 1k, 10k, 100k, 1M runs
    .venv/bin/python benchmarks/bench_search.py --sizes 1000,5000 --queries 20   # a smoke run

One catalog per size (SQLite, the catalog's own tables); all sizes are measured in the same
rounds, so a load spike hits every size alike. Each side asks for the newest run of ``train``
with ``algorithm=algoK`` (K cycling over the values):

* ``Catalog.newest("train", "algoK")``: the library's index seek (newest *finished* run);
* ``lineage.search(step="train", keys={"algorithm": "algoK"}, limit=1)``: what
  ``lineage runs --step train --algorithm algoK --limit 1`` calls, params and metrics included;
* the reference: a hand-written SQLAlchemy Core query on the same index,
  ``select(runs).where(step, value, status).order_by(time desc).limit(1)``, on a plain engine,
  one connection checkout per query as a script would do;
* the reference for ``lineage.search``, which returns each run with its params, metrics and
  tags: the same hand-written query followed by those three reads, on one connection.

Runs are generated straight into the tables the catalog created (stdlib sqlite3, executemany
in transactions of 100,000 rows, ids in time order): 3 steps x 100 key values, times a minute
apart, 5% failed, two params and two metrics per run. Nothing is cached between invocations.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from _bench import header, median, ratio_line

STEPS = (("load", "table"), ("process", "logic"), ("train", "algorithm"))
VALUES_PER_STEP = 100
BATCH = 100_000
EPOCH = datetime(2024, 1, 1)


def generate(db: Path, start: int, stop: int) -> None:
    """Insert runs number ``start`` to ``stop - 1`` (with their params and metrics)."""
    rng = random.Random(start)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")  # 256 MiB: index pages stay in memory
    for first in range(start, stop, BATCH):
        runs, params, metrics = [], [], []
        for i in range(first, min(first + BATCH, stop)):
            # Time-ordered ids (run number, then random bits) append to the id index instead of
            # splitting random pages: 1M runs build several times faster; no query here uses ids.
            run_id = f"{i:010x}{rng.getrandbits(88):022x}"
            step, key = STEPS[i % 3]
            stamp = (EPOCH + timedelta(minutes=i)).isoformat(sep=" ", timespec="microseconds")
            status = "failed" if rng.random() < 0.05 else "finished"
            value = f"algo{(i // 3) % VALUES_PER_STEP}" if step == "train" else f"v{i % 97}"
            runs.append((run_id, step, key, value, stamp, status, stamp, stamp, stamp))
            params.append((run_id, "C", str(i % 7)))
            params.append((run_id, "seed", str(i)))
            metrics.append((run_id, "auc", rng.random(), None, stamp))
            metrics.append((run_id, "loss", rng.random(), None, stamp))
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO runs (id, step, key, value, time, status, started_at, ended_at,"
            " heartbeat_at, host, user, pid)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'bench', 'bench', 1)",
            runs,
        )
        conn.executemany("INSERT INTO params (run_id, name, value) VALUES (?, ?, ?)", params)
        conn.executemany(
            "INSERT INTO metrics (run_id, name, value, step, time) VALUES (?, ?, ?, ?, ?)", metrics
        )
        conn.execute("COMMIT")
    conn.close()


def per_query(work: Callable[[int], None], queries: int) -> float:
    """Return the mean seconds per call over one batch of ``queries`` calls."""
    start = time.perf_counter()
    for k in range(queries):
        work(k)
    return (time.perf_counter() - start) / queries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000,10000,100000,1000000", help="catalog sizes, ascending"
    )
    parser.add_argument("--queries", type=int, default=100, help="queries per batch")
    parser.add_argument("--rounds", type=int, default=9, help="batches per side and size")
    parser.add_argument("--dir", help="where the catalog goes (default: system temp)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    import sqlalchemy as sa

    import lineage
    from lineage import api
    from lineage.catalog import METRICS, PARAMS, RUNS, TAGS, Catalog
    from lineage.session import open_session

    header(f"search: newest run of one (step, key value), sizes {sizes}")
    work = Path(tempfile.mkdtemp(prefix="lineage-bench-search-", dir=args.dir))
    cwd = os.getcwd()
    try:
        api.init(work / "project")
        os.chdir(work / "project")
        # One catalog per size, all measured in the same rounds: a load spike on this shared
        # machine then hits every size alike instead of skewing the comparison across sizes.
        urls, builds = {}, {}
        for size in sizes:
            db = work / f"catalog-{size}.db"
            urls[size] = f"sqlite:///{db}"
            Catalog(urls[size], create=True).close()
            start = time.perf_counter()
            generate(db, 0, size)
            builds[size] = time.perf_counter() - start
            print(f"built {size:>9,} runs in {builds[size]:.1f} s", flush=True)

        hand = (
            sa.select(RUNS)
            .where(
                RUNS.c.step == sa.bindparam("step"),
                RUNS.c.value == sa.bindparam("value"),
                RUNS.c.status == "finished",
            )
            .order_by(RUNS.c.time.desc())
            .limit(1)
        )
        # What lineage.search returns, by hand: the run, then its params, metrics and tags.
        details = [
            sa.select(table.c.name, table.c.value).where(table.c.run_id == sa.bindparam("run"))
            for table in (PARAMS, METRICS, TAGS)
        ]

        def value(k: int) -> str:
            return f"algo{(k * 37) % VALUES_PER_STEP}"

        def sides_for(url: str) -> dict[str, Callable[[int], None]]:
            plain = sa.create_engine(url)
            catalog = open_session(url).catalog

            def by_hand(k: int) -> None:
                with plain.connect() as conn:
                    row = conn.execute(hand, {"step": "train", "value": value(k)}).first()
                assert row is not None

            def by_hand_details(k: int) -> None:
                with plain.connect() as conn:
                    row = conn.execute(hand, {"step": "train", "value": value(k)}).first()
                    params = [conn.execute(q, {"run": row.id}).all() for q in details]
                assert params[0]

            def by_newest(k: int) -> None:
                assert catalog.newest("train", value(k)) is not None

            def by_search(k: int) -> None:
                keys = {"algorithm": value(k)}
                found = lineage.search(step="train", keys=keys, limit=1, catalog=url)
                assert len(found) == 1 and found[0].params

            return {
                "hand-written Core": by_hand,
                "hand-written + details": by_hand_details,
                "Catalog.newest": by_newest,
                "lineage.search": by_search,
            }

        sides = {size: sides_for(urls[size]) for size in sizes}
        names = list(sides[sizes[0]])
        cases = [(size, name) for size in sizes for name in names]
        for size, name in cases:
            sides[size][name](0)  # warm: statement caches, the pages of each catalog
        samples: dict[tuple[int, str], list[float]] = {case: [] for case in cases}
        for round_ in range(args.rounds):
            # Every case once per round, sizes and sides in rotating order. Ratios are taken
            # within a round (cases measured a moment apart), then the median over rounds.
            for size in sizes[round_ % len(sizes) :] + sizes[: round_ % len(sizes)]:
                for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                    samples[size, name].append(per_query(sides[size][name], args.queries))

        def paired(a: tuple[int, str], b: tuple[int, str]) -> float:
            return median([x / y for x, y in zip(samples[a], samples[b], strict=True)])

        print(f"median us per query over {args.rounds} rounds of {args.queries} queries:")
        print(f"{'runs':>9} " + " ".join(f"{n:>23}" for n in names))
        for size in sizes:
            cells = " ".join(f"{median(samples[size, n]) * 1e6:>23.0f}" for n in names)
            print(f"{size:>9} {cells}", flush=True)

        small, large = sizes[0], sizes[-1]
        for name in ("Catalog.newest", "lineage.search"):
            ratio_line(
                f"{name} at {large:,} runs / at {small:,} runs",
                paired((large, name), (small, name)),
                "<=",
                1.5,
            )
        for name, reference in (
            ("Catalog.newest", "hand-written Core"),
            ("lineage.search", "hand-written Core"),
            ("lineage.search", "hand-written + details"),
        ):
            by_size = {n: paired((n, name), (n, reference)) for n in sizes}
            ratio_line(
                f"{name} / {reference} (worst size)",
                max(by_size.values()),
                "<=",
                3.0,
                "by size: " + ", ".join(f"{n:,} {r:.2f}x" for n, r in by_size.items()),
            )
        print(
            f"reference: hand-written query at {large:,} / at {small:,}: "
            f"{paired((large, 'hand-written Core'), (small, 'hand-written Core')):.2f}x"
        )
        return 0
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
