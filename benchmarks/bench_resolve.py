"""No-op resolve on big catalogs: the library vs hand-written indexed SQL, and from the CLI.

    .venv/bin/python benchmarks/bench_resolve.py --runs 100000 1000000
    .venv/bin/python benchmarks/bench_resolve.py --runs 1000 --repeat 3      # a quick smoke run
    .venv/bin/python benchmarks/bench_resolve.py --catalog postgresql+psycopg://...  # team mode

A catalog of N runs holds N/3 load -> process -> train chains over 100 tables; the chain asked
for (table=transactions) has N/300 older versions, so "newest" is a real choice. A no-op
resolve reuses all three runs. The reference is the same question answered by hand: five
indexed queries (newest load; its outputs; newest process that consumed them; its outputs;
newest train that consumed those). Targets: within 3x the reference, and flat in N.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from lineage import api, resolver
from lineage import run as run_module
from lineage.catalog import ARTIFACTS, INPUTS, OUTPUTS, RUNS, UPSTREAM, Catalog
from lineage.pipeline import load_pipeline

TOML = """
[steps.load]
key = "table"
time = "retrieval_time"
command = "true"
code = ["steps/load.py"]

[steps.process]
key = "logic"
time = "processing_time"
after = ["load"]
command = "true"
code = ["steps/process.py"]

[steps.train]
key = "algorithm"
time = "trained_time"
after = ["process"]
command = "true"
code = ["steps/train.py"]
"""
KEYS = {"table": "transactions", "logic": "plain", "algorithm": "lr"}
TABLES = ["transactions"] + [f"table{i:03d}" for i in range(99)]
BATCH = 20_000


def make_project(root: Path, catalog_url: str | None) -> None:
    (root / "steps").mkdir(parents=True)
    for name in ("load", "process", "train"):
        (root / "steps" / f"{name}.py").write_text(f"# {name} step\n")
    (root / "lineage.toml").write_text(textwrap.dedent(TOML).lstrip())
    api.init(root, catalog=catalog_url)


def fill(catalog: Catalog, runs: int, codes: dict[str, str | None]) -> None:
    """Insert ``runs`` runs as chains with their artifacts and edges, in big transactions."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    chains = runs // 3
    with catalog.engine.begin() as conn:
        rows: dict[str, list[dict]] = {
            "runs": [],
            "artifacts": [],
            "outputs": [],
            "inputs": [],
            "upstream": [],
        }

        def flush() -> None:
            for table in (RUNS, ARTIFACTS, OUTPUTS, INPUTS, UPSTREAM):
                if rows[table.name]:
                    conn.execute(table.insert(), rows[table.name])
                    rows[table.name].clear()

        for i in range(chains):
            table = TABLES[i % len(TABLES)]
            moment = start + timedelta(seconds=i * 3)
            ids = [f"{i:08x}{n:024x}" for n in range(3)]
            hashes = [f"xxh128:{i:016x}{n:016x}" for n in range(3)]
            for n, (step, key, value) in enumerate(
                [
                    ("load", "table", table),
                    ("process", "logic", "plain"),
                    ("train", "algorithm", "lr"),
                ]
            ):
                when = moment + timedelta(seconds=n)
                rows["runs"].append(
                    {
                        "id": ids[n],
                        "step": step,
                        "key": key,
                        "value": value,
                        "time": when,
                        "status": "finished",
                        "params_hash": None,
                        "code_hash": codes[step],
                        "started_at": when,
                        "ended_at": when,
                        "heartbeat_at": when,
                    }
                )
                rows["artifacts"].append(
                    {"hash": hashes[n], "size": 100, "kind": "table", "created_at": when}
                )
                rows["outputs"].append({"run_id": ids[n], "name": "out", "hash": hashes[n]})
                if n:
                    rows["inputs"].append(
                        {
                            "run_id": ids[n],
                            "name": "in",
                            "hash": hashes[n - 1],
                            "source_run_id": ids[n - 1],
                        }
                    )
                    rows["upstream"].append({"run_id": ids[n], "upstream_id": ids[n - 1]})
            if len(rows["runs"]) >= BATCH:
                flush()
        flush()
    # Statistics, as a live catalog has them (PostgreSQL's autovacuum, SQLite's ANALYZE).
    with catalog.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def hand_written(catalog: Catalog, codes: dict[str, str | None]) -> list[str]:
    """Answer the no-op resolve with five indexed queries, as one would by hand."""
    with catalog.engine.connect() as conn:
        load = conn.execute(
            sa.select(RUNS.c.id)
            .where(
                RUNS.c.step == "load", RUNS.c.value == "transactions", RUNS.c.status == "finished"
            )
            .order_by(RUNS.c.time.desc())
            .limit(1)
        ).scalar_one()
        chain = [load]
        for step, value in (("process", "plain"), ("train", "lr")):
            hashes = list(
                conn.execute(
                    sa.select(OUTPUTS.c.hash).where(OUTPUTS.c.run_id == chain[-1])
                ).scalars()
            )
            found = conn.execute(
                sa.select(RUNS.c.id)
                .join(INPUTS, INPUTS.c.run_id == RUNS.c.id)
                .where(
                    INPUTS.c.hash.in_(hashes),
                    RUNS.c.step == step,
                    RUNS.c.value == value,
                    RUNS.c.status == "finished",
                    RUNS.c.code_hash == codes[step],
                )
                .order_by(RUNS.c.time.desc())
                .limit(1)
            ).scalar_one()
            chain.append(found)
        return chain


def best_ms(work, repeat: int) -> tuple[float, object]:
    times_ = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times_.append((time.perf_counter() - started) * 1000)
    return min(times_), result


def cli_ms(root: Path, env: dict[str, str], repeat: int) -> tuple[float, float]:
    lineage = str(Path(sys.executable).with_name("lineage"))
    args = [lineage, "resolve", *[f"--{k}={v}" for k, v in KEYS.items()]]

    def timed(cmd: list[str]) -> float:
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(cmd, cwd=root, env=env, check=True, capture_output=True)
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)

    return timed(args), timed([sys.executable, "-c", "pass"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--catalog", help="a catalog URL (default: a SQLite file per size)")
    args = parser.parse_args()
    headers = ["runs", "library ms", "by hand ms", "ratio", "CLI ms", "python ms", "CLI-python"]
    print("  ".join(f"{h:>10}" for h in headers))
    firsts: list[float] = []
    for size in args.runs:
        root = Path(tempfile.mkdtemp(prefix="lineage-bench-"))
        try:
            url = args.catalog
            if url:
                with Catalog(url, create=True) as scratch:
                    from sqlmodel import SQLModel

                    SQLModel.metadata.drop_all(scratch.engine)
                    with scratch.engine.begin() as conn:  # so init creates the schema anew
                        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            make_project(root, url)
            run_module._sessions.clear()
            session = run_module.open_session(url, start=root, required=True, create=False)
            pipeline = load_pipeline(root)
            assert pipeline is not None
            codes = {name: pipeline.code_hash(name) for name in pipeline.order}
            started = time.perf_counter()
            fill(session.catalog, size, codes)
            built = time.perf_counter() - started
            library, chain = best_ms(lambda s=session: resolver.resolve(s, KEYS), args.repeat)
            assert [link.action for link in chain.links] == ["reused"] * 3, chain
            by_hand, expected = best_ms(
                lambda s=session, c=codes: hand_written(s.catalog, c), args.repeat
            )
            assert chain.run_ids() == expected, (chain.run_ids(), expected)
            env = {**os.environ}
            if url:
                env["LINEAGE_CATALOG_URL"] = url
            cli, python = cli_ms(root, env, max(3, args.repeat // 4))
            firsts.append(library)
            cells = [f"{size:,}", f"{library:.2f}", f"{by_hand:.2f}", f"{library / by_hand:.1f}x"]
            cells += [f"{cli:.0f}", f"{python:.0f}", f"{cli - python:.0f}"]
            print("  ".join(f"{c:>10}" for c in cells) + f"   (built in {built:.0f} s)")
            session.catalog.close()
        finally:
            run_module._sessions.clear()
            shutil.rmtree(root, ignore_errors=True)
    if len(firsts) > 1:
        print(
            f"flatness: largest / smallest catalog = {firsts[-1] / firsts[0]:.2f}x (target <= 1.5x)"
        )


if __name__ == "__main__":
    main()
