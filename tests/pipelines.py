"""Small real pipelines for resolver tests: step scripts that run in subprocesses in a second.

The steps read their data from files the test controls, so a test decides when data changes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from lineage import api

# The chain most resolver tests resolve: every step of TOML, as `lineage resolve` options.
CHAIN = ("--table", "transactions", "--logic", "plain", "--algorithm", "lr")

LOAD = """
import sys, pathlib
import pyarrow as pa
import lineage

table = sys.argv[1]
source = pathlib.Path("data") / f"{table}.txt"
if not source.exists():
    sys.exit(f"load: no source data for {table}")
rows = source.read_text().split()
with lineage.start_run() as run:
    run.log_table("data", pa.table({"x": [int(r) for r in rows]}))
print(f"loaded {len(rows)} rows of {table}")
"""

PROCESS = """
import sys, time, pathlib
import pyarrow as pa
import pyarrow.compute as pc
import lineage

logic = sys.argv[1]
factor = int(pathlib.Path("factor.txt").read_text()) if pathlib.Path("factor.txt").exists() else 1
if pathlib.Path("fail-process").exists():
    print("process: told to fail")
    sys.exit(3)
pause = pathlib.Path("pause-process")
if pause.exists():
    time.sleep(float(pause.read_text()))
with lineage.start_run() as run:
    parts = [run.input_table(f"{up.value}/data") for up in run.upstream_runs()]
    values = sorted(v for part in parts for v in part["x"].to_pylist())
    if logic == "double":
        values = [2 * v for v in values]
    run.log_table("features", pa.table({"x": [v * factor for v in values]}))
"""

TRAIN = """
import sys
import lineage

algorithm, c = sys.argv[1], float(sys.argv[2])
with lineage.start_run() as run:
    features = run.input_table("features")
    total = sum(features["x"].to_pylist())
    run.log_metric("score", total * c)
    with open("model.txt", "w") as f:
        f.write(f"{algorithm} {total * c}")
    run.log_artifact("model.txt")
"""

CUSTOMERS = """
import pathlib
import pyarrow as pa
import lineage

with lineage.start_run() as run:
    rows = pathlib.Path("data/customers.txt").read_text().split()
    run.log_table("data", pa.table({"x": [int(r) for r in rows]}))
"""

TOML = """
[steps.load]
key = "table"
time = "retrieval_time"
command = "python steps/load.py {table}"
code = ["steps/load.py"]

[steps.process]
key = "logic"
time = "processing_time"
after = ["load"]
command = "python steps/process.py {logic}"
code = ["steps/process.py"]

[steps.train]
key = "algorithm"
time = "trained_time"
after = ["process"]
command = "python steps/train.py {algorithm} {C}"
code = ["steps/train.py"]
params = { C = { type = "float", default = 1.0 } }
"""


def make_pipeline(
    root: Path,
    toml: str = TOML,
    extra_steps: dict[str, str] | None = None,
    *,
    catalog: str | None = None,
    store: str | None = None,
) -> Path:
    """Write a small pipeline with its step scripts and data into ``root``; init the project."""
    (root / "steps").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    scripts = {"load": LOAD, "process": PROCESS, "train": TRAIN, **(extra_steps or {})}
    for name, body in scripts.items():
        (root / "steps" / f"{name}.py").write_text(textwrap.dedent(body).lstrip())
    (root / "lineage.toml").write_text(textwrap.dedent(toml).lstrip())
    (root / "data" / "transactions.txt").write_text("1 2 3\n")
    (root / "data" / "customers.txt").write_text("10 20\n")
    api.init(root, catalog=catalog, store=store)
    return root
