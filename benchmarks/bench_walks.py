"""Time audit, impact and graph on a large catalog: the walks must stay flat in its size.

    python benchmarks/bench_walks.py --runs 100000   # a fresh SQLite catalog in a temp folder
    python benchmarks/bench_walks.py --runs 100000 --catalog postgresql+psycopg://...

The catalog holds load -> process -> train chains (one in five loads fetches the same data as
the one before, so content edges exist too) and one chain 200 runs deep. Rows are written
with bulk SQL, not the SDK, so building 1,000,000 runs takes a minute, not an hour.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

import lineage
from lineage import api
from lineage.catalog import ARTIFACTS, INPUTS, OUTPUTS, RUNS, UPSTREAM, Catalog

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def fake_hash(n: int) -> str:
    return f"xxh128:{n:024x}0123abcd"  # unlike any run id, so no ref names both


def build(catalog: Catalog, runs: int, depth: int) -> dict[str, str]:
    """Write ``runs`` runs in chains of three plus one chain ``depth`` deep; return some ids."""
    run_rows, up_rows, in_rows, out_rows, art_rows = [], [], [], [], []
    now = BASE

    def run(step: str, key: str, value: str, n: int) -> str:
        run_id = f"{n:032x}"
        moment = BASE + timedelta(seconds=n)
        run_rows.append(
            {
                "id": run_id,
                "step": step,
                "key": key,
                "value": value,
                "time": moment,
                "status": "finished",
                "started_at": moment,
                "ended_at": moment,
            }
        )
        return run_id

    def artifact(h: str) -> None:
        art_rows.append({"hash": h, "size": 100, "kind": "table", "rows": 10, "created_at": now})

    chains = (runs - depth) // 3
    data = 0
    for i in range(chains):
        n = 3 * i
        if i % 5 or i == 0:  # one load in five fetches the same data as the one before
            data = n
            artifact(fake_hash(n))
        load = run("load", "table", f"t{i % 10}", n)
        out_rows.append({"run_id": load, "name": "data", "hash": fake_hash(data)})
        process = run("process", "logic", "plain", n + 1)
        up_rows.append({"run_id": process, "upstream_id": load})
        in_rows.append(
            {"run_id": process, "name": "data", "hash": fake_hash(data), "source_run_id": load}
        )
        artifact(fake_hash(n + 1))
        out_rows.append({"run_id": process, "name": "features", "hash": fake_hash(n + 1)})
        train = run("train", "algorithm", "lr", n + 2)
        up_rows.append({"run_id": train, "upstream_id": process})
        in_rows.append(
            {
                "run_id": train,
                "name": "features",
                "hash": fake_hash(n + 1),
                "source_run_id": process,
            }
        )
        artifact(fake_hash(n + 2))
        out_rows.append({"run_id": train, "name": "model", "hash": fake_hash(n + 2)})
    start = 3 * chains
    previous = None
    for j in range(depth):
        n = start + j
        step = "load" if j == 0 else "process"
        current = run(step, "logic", f"deep-{j}", n)
        artifact(fake_hash(n))
        out_rows.append({"run_id": current, "name": "out", "hash": fake_hash(n)})
        if previous is not None:
            up_rows.append({"run_id": current, "upstream_id": previous})
            in_rows.append(
                {
                    "run_id": current,
                    "name": "out",
                    "hash": fake_hash(n - 1),
                    "source_run_id": previous,
                }
            )
        previous = current
    with catalog.engine.begin() as conn:
        for table, rows in (
            (RUNS, run_rows),
            (ARTIFACTS, art_rows),
            (OUTPUTS, out_rows),
            (INPUTS, in_rows),
            (UPSTREAM, up_rows),
        ):
            for k in range(0, len(rows), 20000):
                conn.execute(table.insert(), rows[k : k + 20000])
    if catalog.engine.dialect.name == "postgresql":
        # Autovacuum analyzes a table within a minute of a bulk load; without statistics the
        # planner scans the edge tables on every step of a recursive query. Do it now.
        with catalog.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    return ids_of(runs, depth)


def ids_of(runs: int, depth: int) -> dict[str, str]:
    """Return the ids ``build`` gives the runs the benchmark starts from."""
    chains = (runs - depth) // 3
    start = 3 * chains
    middle = 3 * (chains // 2)
    return {
        "model": f"{middle + 2:032x}",
        "load": f"{middle:032x}",
        "deep_tip": f"{start + depth - 1:032x}",
        "deep_root": f"{start:032x}",
    }


def profile(engine: sa.Engine) -> None:
    """Print every statement slower than a millisecond, with its time."""
    started: dict[int, float] = {}

    @sa.event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, *args) -> None:
        started[id(cursor)] = time.perf_counter()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, *args) -> None:
        took = (time.perf_counter() - started.pop(id(cursor), time.perf_counter())) * 1000
        if took > 1:
            print(f"    {took:7.1f} ms  {' '.join(statement.split())[:150]}")


def timed(call, repeat: int = 7) -> float:
    """Return the median wall time of ``call`` in milliseconds (after one warm-up)."""
    call()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--depth", type=int, default=200)
    parser.add_argument("--catalog", help="catalog URL (default: SQLite in a temp folder)")
    parser.add_argument("--keep", type=Path, help="build the project here once, reuse it later")
    parser.add_argument("--profile", action="store_true", help="print statements over 1 ms")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = (args.keep or Path(tmp)).resolve()
        reuse = args.keep is not None and (root / ".lineage").exists()
        if not reuse:
            api.init(root, catalog=args.catalog)
        os.chdir(root)
        session = api.session(args.catalog)
        began = time.perf_counter()
        if reuse:
            ids = ids_of(args.runs, args.depth)
        else:
            ids = build(session.catalog, args.runs, args.depth)
        built = f"written in {time.perf_counter() - began:.1f}s" if not reuse else "reused"
        count = session.catalog.run_count()
        print(f"catalog {session.catalog.masked_url}: {count:,} runs {built}")
        if args.profile:
            profile(session.catalog.engine)
        cases = {
            "audit model (3 runs)": lambda: lineage.audit(ids["model"], catalog=args.catalog),
            "impact load (2 runs)": lambda: lineage.impact(ids["load"], catalog=args.catalog),
            "graph model": lambda: lineage.graph(ids["model"], catalog=args.catalog),
            f"audit deep tip ({args.depth} runs)": lambda: lineage.audit(
                ids["deep_tip"], catalog=args.catalog
            ),
            f"impact deep root ({args.depth - 1} runs)": lambda: lineage.impact(
                ids["deep_root"], catalog=args.catalog
            ),
            "step graph (whole catalog)": lambda: lineage.graph(catalog=args.catalog),
        }
        for name, call in cases.items():
            print(f"  {name:<32} {timed(call, 1 if args.profile else 7):8.1f} ms")
        if args.catalog is not None and args.keep is None:
            with session.catalog.engine.begin() as conn:
                for table in (UPSTREAM, INPUTS, OUTPUTS, ARTIFACTS, RUNS):
                    conn.execute(sa.delete(table))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
