"""The SDK: start_run, log_*, input_*, through the public surface and the catalog."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import lineage
from lineage.errors import Ambiguous, InvalidName, NotFound
from lineage.run import open_session


def test_standalone_run_is_recorded_finished_with_params_and_metrics(project: Path) -> None:
    with lineage.start_run("load", table="transactions") as run:
        run.log_param("source", "db")
        run.log_metric("rows", 3)
        run.log_table("data", pa.table({"a": [1, 2, 3]}))
    assert lineage.current_run() is None
    found = lineage.search(keys={"table": "transactions"})
    assert [r.id for r in found] == [run.id]
    assert found[0].status == "finished"
    assert found[0].params == {"source": "db"}
    assert found[0].metrics == {"rows": 3.0}
    assert run.identity == ("load", "transactions", found[0].time)


def test_exception_marks_run_failed_and_reraises(project: Path) -> None:
    with pytest.raises(ZeroDivisionError), lineage.start_run("train", algorithm="lr") as run:
        run.log_metric("auc", 0.5)
        1 / 0  # noqa: B018
    recorded = open_session().catalog.get_run(run.id)
    assert recorded.status == "failed"
    assert "ZeroDivisionError" in (recorded.error or "")
    assert recorded.metrics == {"auc": 0.5}


def test_same_table_twice_is_stored_once(project: Path) -> None:
    table = pa.table({"x": list(range(100)), "y": [str(i) for i in range(100)]})
    with lineage.start_run("load", table="a") as first:
        h1 = first.log_table("data", table)
    with lineage.start_run("load", table="b") as second:
        h2 = second.log_table("data", table)
    assert h1 == h2
    objects = [p for p in (project / ".lineage/objects/xxh128").rglob("*") if p.is_file()]
    assert len(objects) == 1


def test_input_table_records_edge_and_needs_qualified_name_when_ambiguous(project: Path) -> None:
    for name in ("transactions", "customers"):
        with lineage.start_run("load", table=name) as load:
            load.log_table("data", pa.table({"t": [name]}))
    upstream = ["load:transactions", "load:customers"]
    with lineage.start_run("process", logic="join", upstream=upstream) as run:
        with pytest.raises(Ambiguous, match="'transactions/data'"):
            run.input_table("data")
        table = run.input_table("customers/data")
    assert table.column("t").to_pylist() == ["customers"]
    inputs = open_session().catalog.inputs(run.id)
    assert [(i.name, i.kind) for i in inputs] == [("customers/data", "table")]


def test_input_without_upstream_says_how_to_name_one(project: Path) -> None:
    with (
        lineage.start_run("process", logic="plain") as run,
        pytest.raises(NotFound, match="upstream="),
    ):
        run.input_table("data")


def test_artifact_name_that_leaves_its_folder_is_refused(project: Path, tmp_path: Path) -> None:
    source = tmp_path / "model.pkl"
    source.write_bytes(b"weights")
    with lineage.start_run("train", algorithm="lr") as run:
        for bad in ("../x", "/etc/passwd", "a/../../b"):
            with pytest.raises(InvalidName):
                run.log_artifact(source, name=bad)
        with pytest.raises(NotFound, match="no file or folder"):
            run.log_artifact(tmp_path / "missing.bin")
    assert open_session().catalog.outputs(run.id) == []
