"""Many processes logging into one catalog at once lose nothing and never see "locked"."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lineage import api
from lineage.catalog import Catalog, Filters

PROCESSES = 8
RUNS_EACH = 250

# One writer: wait for the common start moment, then record RUNS_EACH runs through the SDK,
# each with two params and two metrics; every tenth logs the same small file (one artifact
# row for everybody, so the artifact insert races between processes too).
WRITER = """
import sys, time
import lineage

worker, count, start_at, shared = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
time.sleep(max(0.0, start_at - time.time()))
for i in range(count):
    with lineage.start_run("load", table=f"w{worker}") as run:
        run.log_param("worker", worker)
        run.log_param("i", i)
        run.log_metric("rows", i)
        run.log_metric("score", i / count)
        if i % 10 == 0:
            run.log_artifact(shared, name="shared.txt")
"""


def run_writers(root: Path, catalog_url: str) -> list[subprocess.CompletedProcess[str]]:
    shared = root / "shared.txt"
    shared.write_text("the same bytes for every writer\n")
    env = {**os.environ, "LINEAGE_PROJECT_ROOT": str(root), "LINEAGE_CATALOG_URL": catalog_url}
    start_at = time.time() + 2.0  # after every interpreter has imported lineage
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(k), str(RUNS_EACH), str(start_at), str(shared)],
            env=env,
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(PROCESSES)
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


@pytest.mark.slow
@pytest.mark.usefixtures("one_crowd_at_a_time")
def test_eight_processes_record_every_run(catalog_url: str, tmp_path: Path) -> None:
    root = tmp_path / "project"
    api.init(root, catalog=catalog_url)
    started = time.monotonic()
    done = run_writers(root, catalog_url)
    elapsed = time.monotonic() - started
    for result in done:
        assert result.returncode == 0, result.stderr
        assert "locked" not in result.stderr.lower() and "error" not in result.stderr.lower()
    with Catalog(catalog_url) as catalog:
        assert catalog.run_count() == PROCESSES * RUNS_EACH
        for k in range(PROCESSES):
            runs = catalog.search(Filters(keys={"table": f"w{k}"}, limit=None))
            assert len(runs) == RUNS_EACH
            assert {r.status for r in runs} == {"finished"}
            assert sorted(int(r.params["i"]) for r in runs) == list(range(RUNS_EACH))
            assert all(r.params["worker"] == str(k) for r in runs)
            for r in runs:
                i = int(r.params["i"])
                assert r.metrics == {"rows": float(i), "score": i / RUNS_EACH}
        shared = {
            a.hash for r in catalog.search(Filters(limit=None)) for a in catalog.outputs(r.id)
        }
        assert len(shared) == 1
        produced = catalog.runs_with_hash(shared.pop())["produced"]
        assert len(produced) == PROCESSES * RUNS_EACH // 10
    # Not a benchmark, but a writer stuck in retries would show here first.
    assert elapsed < 120
