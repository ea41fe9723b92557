"""The web UI's server time: the runs page and a run's lineage graph at 1k and 1M runs.

    .venv/bin/python benchmarks/bench_ui.py                          # 1k and 1M runs
    .venv/bin/python benchmarks/bench_ui.py --sizes 1000,5000 --requests 5   # a smoke run

One SQLite catalog per size, filled straight into the catalog's tables (stdlib sqlite3,
executemany): chains of load -> process -> train, each run with one output artifact, the
process and train runs with the input they consumed and their upstream edge, params and
metrics. Each catalog is served by the real app (``lineage.ui.create_app``) under uvicorn on
127.0.0.1 in a thread; a request's time is the wall time of a GET from this process, so it is
the server's time plus a loopback round trip (the same at every size).

Pages: the newest runs (50, no filter), an older page by its keyset cursor (halfway down the
catalog), the newest runs of one step, the 3 newest of one step and key value, and a train
run's graph at depth 2. The
reference is ``lineage.search`` for the same newest 51 runs, in process: the library's share
of the runs page. The targets: each page at the largest size within 1.5x of the smallest.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

from _bench import header, median, ratio_line

EPOCH = datetime(2024, 1, 1)
BATCH = 90_000  # a multiple of 3: a chain never straddles two transactions
STEPS = (("load", "table"), ("process", "logic"), ("train", "algorithm"))


def run_id(i: int, rng: random.Random) -> str:
    # Time-ordered ids append to the index instead of splitting random pages (bench_search.py).
    return f"{i:010x}{rng.getrandbits(88):022x}"


def generate(db: Path, size: int) -> list[str]:
    """Insert ``size`` runs in chains of three; return the ids of some train runs."""
    rng = random.Random(size)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    trains: list[str] = []
    ids: dict[int, str] = {}
    for first in range(0, size, BATCH):
        runs, params, metrics, arts, outs, ins, ups = [], [], [], [], [], [], []
        for i in range(first, min(first + BATCH, size)):
            step, key = STEPS[i % 3]
            ids[i] = rid = run_id(i, rng)
            stamp = (EPOCH + timedelta(minutes=i)).isoformat(sep=" ", timespec="microseconds")
            value = f"v{(i // 3) % 97}" if step != "train" else f"algo{(i // 3) % 100}"
            runs.append((rid, step, key, value, stamp, "finished", stamp, stamp, stamp))
            digest = f"xxh128:{i:024x}abcd0123"
            arts.append((digest, 1000 + i % 500, "table", "parquet", 10, stamp))
            outs.append((rid, "data" if step == "load" else "out", digest))
            if step != "load":
                up = ids.pop(i - 1)
                ups.append((rid, up))
                ins.append((rid, "data", f"xxh128:{i - 1:024x}abcd0123", up))
            if step == "train":
                params.append((rid, "C", str(i % 7)))
                metrics.append((rid, "auc", rng.random(), None, stamp))
                if len(trains) < 50 and i > size // 2:
                    trains.append(rid)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO runs (id, step, key, value, time, status, started_at, ended_at,"
            " heartbeat_at, host, user, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'b', 'b', 1)",
            runs,
        )
        conn.executemany(
            "INSERT INTO artifacts (hash, size, kind, format, rows, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            arts,
        )
        conn.executemany("INSERT INTO outputs (run_id, name, hash) VALUES (?, ?, ?)", outs)
        conn.executemany(
            "INSERT INTO inputs (run_id, name, hash, source_run_id) VALUES (?, ?, ?, ?)", ins
        )
        conn.executemany("INSERT INTO upstream (run_id, upstream_id) VALUES (?, ?)", ups)
        conn.executemany("INSERT INTO params (run_id, name, value) VALUES (?, ?, ?)", params)
        conn.executemany(
            "INSERT INTO metrics (run_id, name, value, step, time) VALUES (?, ?, ?, ?, ?)", metrics
        )
        conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return trains


def middle_cursor(db: Path, size: int) -> str:
    """Return the paging cursor of the run halfway down the catalog, newest first."""
    from lineage import times
    from lineage.ui.page import cursor

    conn = sqlite3.connect(db)
    stamp, rid = conn.execute(
        "SELECT time, id FROM runs ORDER BY time DESC, id DESC LIMIT 1 OFFSET ?", (size // 2,)
    ).fetchone()
    conn.close()
    return cursor(times.parse_time(stamp), rid)


class Served:
    """The UI over one catalog, under uvicorn in a thread on 127.0.0.1."""

    def __init__(self, url: str) -> None:
        import uvicorn

        from lineage.ui.app import create_app
        from lineage.ui.server import bind

        self.sock = bind("127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(url), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def get(self, path: str) -> float:
        start = time.perf_counter()
        with urllib.request.urlopen(self.base + path, timeout=120) as response:
            response.read()
            assert response.status == 200
        return time.perf_counter() - start

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join()
        self.sock.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,1000000", help="catalog sizes, ascending")
    parser.add_argument("--requests", type=int, default=20, help="requests per page and round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds over every page and size")
    parser.add_argument("--dir", help="where the catalogs go (default: system temp)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    import lineage
    from lineage import api
    from lineage.catalog import Catalog

    header(f"ui: server time of the runs page and a run's graph, sizes {sizes}")
    work = Path(tempfile.mkdtemp(prefix="lineage-bench-ui-", dir=args.dir))
    cwd = os.getcwd()
    served: dict[int, Served] = {}
    try:
        api.init(work / "project")
        os.chdir(work / "project")
        pages: dict[int, dict[str, list[str]]] = {}
        urls: dict[int, str] = {}
        for size in sizes:
            db = work / f"catalog-{size}.db"
            urls[size] = f"sqlite:///{db}"
            Catalog(urls[size], create=True).close()
            start = time.perf_counter()
            trains = generate(db, size)
            print(f"built {size:>9,} runs in {time.perf_counter() - start:.1f} s", flush=True)
            pages[size] = {
                "runs page": ["/runs"],
                "older page (cursor)": [f"/runs?before={middle_cursor(db, size)}"],
                "runs of one step": ["/runs?step=train"],
                # A key value has 3 runs at 1k and thousands at 1M: the 3 newest, so both
                # sizes draw the same number of rows.
                "one key value": [f"/runs?step=train&algorithm=algo{k}&limit=3" for k in range(7)],
                "graph, depth 2": [f"/graph/{t}?depth=2" for t in trains],
            }
            served[size] = Served(urls[size])
        names = list(pages[sizes[0]])

        def library(size: int) -> float:
            start = time.perf_counter()
            lineage.search(limit=51, reap=False, catalog=urls[size])
            return time.perf_counter() - start

        cases = [(size, name) for size in sizes for name in [*names, "lineage.search"]]
        samples: dict[tuple[int, str], list[float]] = {case: [] for case in cases}
        for size, name in cases:  # warm: statement caches, templates, each catalog's pages
            if name == "lineage.search":
                library(size)
            else:
                served[size].get(pages[size][name][0])
        for round_ in range(args.rounds):
            for size, name in cases[round_ % len(cases) :] + cases[: round_ % len(cases)]:
                times = []
                for k in range(args.requests):
                    if name == "lineage.search":
                        times.append(library(size))
                    else:
                        paths = pages[size][name]
                        times.append(served[size].get(paths[k % len(paths)]))
                samples[size, name].append(median(times))

        print(f"median ms per request over {args.rounds} rounds of {args.requests}:")
        columns = [*names, "lineage.search"]
        print(f"{'runs':>9} " + " ".join(f"{n:>20}" for n in columns))
        for size in sizes:
            cells = " ".join(f"{median(samples[size, n]) * 1e3:>20.1f}" for n in columns)
            print(f"{size:>9} {cells}", flush=True)
        small, large = sizes[0], sizes[-1]
        for name in names:
            paired = [
                x / y for x, y in zip(samples[large, name], samples[small, name], strict=True)
            ]
            ratio_line(f"{name} at {large:,} runs / at {small:,} runs", median(paired), "<=", 1.5)
        paired = [
            x / y
            for x, y in zip(
                samples[large, "runs page"], samples[large, "lineage.search"], strict=True
            )
        ]
        ratio_line(f"runs page / lineage.search at {large:,} runs", median(paired))
        return 0
    finally:
        for one in served.values():
            one.stop()
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
