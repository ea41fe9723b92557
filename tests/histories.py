"""Small histories recorded through the SDK, for the tests of the walks and of the graphs."""

from __future__ import annotations

import re
import shutil
import subprocess

import pyarrow as pa

import lineage
from lineage.run import ActiveRun, open_session

DAY1 = "2026-11-20T10:00:00Z"
DAY2 = "2026-11-21T10:00:00Z"


def load(table: str, time: str, values: list[int], **kwargs: object) -> ActiveRun:
    """Record a load run of ``table`` at ``time`` whose ``data`` table holds ``values``."""
    with lineage.start_run("load", table=table, time=time, **kwargs) as run:
        run.log_table("data", pa.table({"amount": values}))
    return run


def derive(
    step: str,
    value: str,
    time: str,
    upstream: list[ActiveRun],
    inputs: list[str],
    output: str = "features",
    **kwargs: object,
) -> ActiveRun:
    """Record a run of ``step`` made from ``upstream`` runs, consuming ``inputs`` tables."""
    key = {"process": "logic", "train": "algorithm"}[step]
    refs = [r.id for r in upstream]
    with lineage.start_run(step, time=time, upstream=refs, **{key: value}, **kwargs) as run:
        total = sum(sum(run.input_table(name).column(0).to_pylist()) for name in inputs)
        run.log_param("inputs", len(inputs))
        run.log_table(output, pa.table({"total": [total], "logic": [value]}))
    return run


def ids(runs: list) -> set[str]:
    """Return the ids of ``runs``."""
    return {r.id for r in runs}


def data_hash(run: ActiveRun) -> str:
    """Return the hash of the ``data`` table ``run`` logged."""
    (data,) = [a for a in open_session().catalog.outputs(run.id) if a.name == "data"]
    return data.hash


def two_versions() -> dict[str, ActiveRun]:
    """Record two data versions of transactions, each with its process and model."""
    l1 = load("transactions", DAY1, [1, 2, 3])
    p1 = derive("process", "plain", "2026-11-20T11:00:00Z", [l1], ["data"])
    t1 = derive("train", "LogisticRegression", "2026-11-20T12:00:00Z", [p1], ["features"], "model")
    l2 = load("transactions", DAY2, [1, 2, 3, 4])
    p2 = derive("process", "plain", "2026-11-21T11:00:00Z", [l2], ["data"])
    t2 = derive("train", "LogisticRegression", "2026-11-21T12:00:00Z", [p2], ["features"], "model")
    return {"l1": l1, "p1": p1, "t1": t1, "l2": l2, "p2": p2, "t2": t2}


# -- reading drawn graphs ----------------------------------------------------------------------


MERMAID_NODE = re.compile(r'^    ([A-Za-z0-9_]+)(\["|\[\("|\(")(.*)("\]|"\)\]|"\))$')
MERMAID_EDGE = re.compile(r'^    ([A-Za-z0-9_]+) (-->|-\.->)(\|"[^"|]*"\|)? ([A-Za-z0-9_]+)$')
DOT_ID = r'"(?:[^"\\]|\\.)*"'
DOT_NODE = re.compile(rf"^    ({DOT_ID}) \[(.*)\];$")
DOT_EDGE = re.compile(rf"^    ({DOT_ID}) -> ({DOT_ID})( \[.*\])?;$")


def check_mermaid(text: str) -> tuple[set[str], int]:
    """Parse our mermaid subset: every line a node or an edge between declared nodes."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes: set[str] = set()
    edges = 0
    for line in lines[1:]:
        if match := MERMAID_NODE.match(line):
            assert '"' not in match[3]  # quotes in labels are escaped as #quot;
            nodes.add(match[1])
        elif match := MERMAID_EDGE.match(line):
            assert match[1] in nodes and match[4] in nodes
            edges += 1
        else:
            assert line.startswith(("    classDef ", "    class ")), line
    return nodes, edges


def check_dot(text: str) -> tuple[set[str], int]:
    """Parse our dot subset; also lay it out with graphviz when it is installed."""
    lines = text.splitlines()
    assert lines[0].startswith("digraph lineage {") and lines[-1] == "}"
    nodes: set[str] = set()
    edges = 0
    for line in lines[1:-1]:
        if match := DOT_EDGE.match(line):
            assert match[1] in nodes and match[2] in nodes
            edges += 1
        elif match := DOT_NODE.match(line):
            nodes.add(match[1])
        else:
            assert re.match(r"^    (rankdir=LR|node \[.*\]|edge \[.*\]);$", line), line
    if shutil.which("dot"):
        done = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "<svg" in done.stdout
    return nodes, edges
