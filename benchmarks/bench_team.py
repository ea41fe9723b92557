"""Team mode speed: search on PostgreSQL at 100,000 and 1,000,000 runs, SDK logging on
PostgreSQL, and S3 upload/download through the Store against s3fs alone.

    .venv/bin/python benchmarks/bench_team.py            # starts its own PostgreSQL and moto
    .venv/bin/python benchmarks/bench_team.py --small    # 10,000 / 100,000 runs, quicker

Uses LINEAGE_TEST_POSTGRES_URL / LINEAGE_TEST_S3_ENDPOINT when set, as the tests do.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import servers

VALUES = 1000  # distinct key values per step
STEPS = (("load", "table"), ("process", "logic"), ("train", "algorithm"))


def copy_runs(url: str, count: int, start: datetime) -> None:
    """Append ``count`` finished runs with COPY (the catalog's own writes are measured apart)."""
    import psycopg

    raw = url.replace("postgresql+psycopg://", "postgresql://")
    rng = random.Random(count)
    buffer = io.StringIO()
    for i in range(count):
        step, key = STEPS[i % 3]
        moment = (start + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S.%f")
        buffer.write(
            f"{uuid.uuid4().hex}\t{step}\t{key}\tv{rng.randrange(VALUES)}\t{moment}\tfinished\t"
            f"{moment}\t{moment}\t{moment}\n"
        )
    buffer.seek(0)
    columns = "id, step, key, value, time, status, started_at, ended_at, heartbeat_at"
    with psycopg.connect(raw) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY runs ({columns}) FROM STDIN") as copy:
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
        cur.execute("ANALYZE runs")


def time_queries(catalog: object, repeat: int = 300) -> dict[str, float]:
    """Median milliseconds of the newest run of one key value, and of a one-value search."""
    from lineage.catalog import Filters

    rng = random.Random(1)
    newest, search = [], []
    for _ in range(repeat):
        step, key = STEPS[rng.randrange(3)]
        value = f"v{rng.randrange(VALUES)}"
        t = time.perf_counter()
        catalog.newest(step, value)  # type: ignore[attr-defined]
        newest.append(time.perf_counter() - t)
        t = time.perf_counter()
        catalog.search(Filters(step=step, keys={key: value}, limit=20))  # type: ignore[attr-defined]
        search.append(time.perf_counter() - t)
    return {"newest": statistics.median(newest) * 1e3, "search": statistics.median(search) * 1e3}


def explain_newest(catalog: object) -> str:
    """The first line of PostgreSQL's plan for the newest run of one key value."""
    import sqlalchemy as sa

    from lineage.catalog import RUNS

    query = (
        sa.select(RUNS)
        .where(RUNS.c.step == "load", RUNS.c.value == "v1", RUNS.c.status == "finished")
        .order_by(RUNS.c.time.desc(), RUNS.c.id.desc())
        .limit(1)
    )
    with catalog.engine.connect() as conn:  # type: ignore[attr-defined]
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        rows = conn.exec_driver_sql(f"EXPLAIN {compiled}").fetchall()
    return " / ".join(row[0].strip() for row in rows[:2])


def bench_search(admin_url: str, sizes: tuple[int, int]) -> None:
    from lineage.catalog import Catalog

    url = servers.create_database(admin_url)
    try:
        with Catalog(url, create=True) as catalog:
            start = datetime(2026, 1, 1, tzinfo=UTC)
            done = 0
            results = {}
            for size in sizes:
                t = time.perf_counter()
                copy_runs(url, size - done, start + timedelta(seconds=done))
                loaded = time.perf_counter() - t
                done = size
                catalog.newest("load", "v1")  # warm the pool
                results[size] = time_queries(catalog)
                print(
                    f"postgresql {size:>9,} runs (loaded in {loaded:5.1f}s): newest "
                    f"{results[size]['newest']:.2f} ms, search 20 {results[size]['search']:.2f} ms"
                )
                plan = explain_newest(catalog)
                print(f"  plan of newest: {plan}")
            small, big = sizes
            for what in ("newest", "search"):
                ratio = results[big][what] / results[small][what]
                print(f"  {what}: {big:,} / {small:,} runs = {ratio:.2f}x (flat is 1.0)")
    finally:
        servers.drop_database(admin_url, url)


def bench_logging(catalog_url: str, label: str, runs: int = 500) -> float:
    """Runs per second through the SDK, each with two params and two metrics."""
    import lineage
    from lineage import run as run_module

    with tempfile.TemporaryDirectory() as root:
        os.environ["LINEAGE_PROJECT_ROOT"] = root
        os.environ["LINEAGE_CATALOG_URL"] = catalog_url
        (Path(root) / ".lineage").mkdir()
        run_module._sessions.clear()
        with lineage.start_run("load", table="warmup"):
            pass
        t = time.perf_counter()
        for i in range(runs):
            with lineage.start_run("load", table="t") as run:
                run.log_param("i", i)
                run.log_param("source", "db")
                run.log_metric("rows", i)
                run.log_metric("score", i / runs)
        rate = runs / (time.perf_counter() - t)
        for session in run_module._sessions.values():
            session.catalog.close()
        run_module._sessions.clear()
    print(f"SDK logging on {label}: {rate:,.0f} runs/s ({runs} runs, 2 params + 2 metrics each)")
    return rate


def best(fn: object, repeat: int, before: object = None) -> float:
    times = []
    for _ in range(repeat):
        if before:
            before()  # type: ignore[operator]
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def bench_s3(endpoint: str, megabytes: int, repeat: int = 9) -> None:
    import s3fs

    from lineage.store import Store

    for name, value in servers.S3_ENV.items():
        os.environ[name] = value
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    fs = s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True)
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    fs.mkdir(bucket)
    store = Store(f"s3://{bucket}/store")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "data.bin"
        source.write_bytes(os.urandom(megabytes * 2**20))
        stored = store.put_file(source)

        def store_put() -> None:
            store.put_file(source)

        def s3fs_put() -> None:
            fs.put_file(str(source), f"{bucket}/plain/data.bin")

        def store_get() -> None:
            store.get_file(stored.hash, Path(tmp) / "store-copy.bin")

        def s3fs_get() -> None:
            fs.get_file(f"{bucket}/plain/data.bin", str(Path(tmp) / "s3fs-copy.bin"))

        def forget() -> None:  # so that the Store uploads again rather than skip
            store.remove(stored.hash)

        rates: dict[str, list[float]] = {}
        # Interleaved pairs: the machine is shared, so each Store transfer is compared with the
        # s3fs transfer next to it, and the median of those ratios is reported.
        contenders = (
            (("store put", store_put, forget), ("s3fs put_file", s3fs_put, None)),
            (("store get", store_get, None), ("s3fs get_file", s3fs_get, None)),
        )
        for rep in range(repeat):
            for pair in contenders:
                # Alternate which goes first: the server may still be freeing the last upload.
                for label, fn, before in pair if rep % 2 == 0 else pair[::-1]:
                    rates.setdefault(label, []).append(megabytes / best(fn, 1, before))
        for label, values in rates.items():
            print(
                f"S3 {label:<14} {megabytes} MiB: best {max(values):6.1f} MiB/s, "
                f"median {statistics.median(values):6.1f} MiB/s"
            )
        comparisons = (
            ("upload", "store put", "s3fs put_file"),
            ("download (hash verified)", "store get", "s3fs get_file"),
        )
        for what, ours, theirs in comparisons:
            pairs = [a / b for a, b in zip(rates[ours], rates[theirs], strict=True)]
            print(
                f"  {what}: Store / s3fs = {statistics.median(pairs):.2f}x median of "
                f"{len(pairs)} pairs (best vs best {max(rates[ours]) / max(rates[theirs]):.2f}x)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10,000 and 100,000 runs")
    parser.add_argument("--megabytes", type=int, default=64, help="size of the S3 test file")
    parser.add_argument(
        "--only", choices=["search", "logging", "s3"], help="run one part of the benchmark"
    )
    args = parser.parse_args()
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

    pg = None
    admin_url = os.environ.get("LINEAGE_TEST_POSTGRES_URL")
    if not admin_url:
        pg = servers.start_postgres()
        admin_url = pg.url
    moto = None
    endpoint = os.environ.get("LINEAGE_TEST_S3_ENDPOINT")
    if not endpoint:
        # Its own process, not a thread: a server sharing our GIL would slow whichever side
        # computes more (the Store hashes), and skew the comparison.
        port = servers.free_port()
        moto = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("moto_server")),
                "-H",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        endpoint = f"http://127.0.0.1:{port}"
        servers.wait_for_s3(endpoint)
    try:
        sizes = (10_000, 100_000) if args.small else (100_000, 1_000_000)
        if args.only in (None, "search"):
            bench_search(admin_url, sizes)
        if args.only in (None, "logging"):
            url = servers.create_database(admin_url)
            try:
                bench_logging(url, "PostgreSQL")
            finally:
                servers.drop_database(admin_url, url)
            with tempfile.TemporaryDirectory() as tmp:
                bench_logging(f"sqlite:///{tmp}/catalog.db", "SQLite (for comparison)")
        if args.only in (None, "s3"):
            bench_s3(endpoint, args.megabytes)
    finally:
        if moto:
            moto.terminate()
            moto.wait()
        if pg:
            pg.stop()


if __name__ == "__main__":
    main()
