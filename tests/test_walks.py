"""Audit and impact (lineage/walks.py) through the library, on catalogs built with the SDK."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

import lineage
from lineage import times
from lineage.errors import Ambiguous, InvalidRef, NotFound
from lineage.run import ActiveRun, open_session
from tests.histories import DAY1, DAY2, check_dot, data_hash, derive, ids, load

# -- audit -----------------------------------------------------------------------------------


def test_audit_of_each_model_names_its_own_load_run_time_and_data_hash(two_versions) -> None:
    r = two_versions
    for model, source in (("t1", "l1"), ("t2", "l2")):
        result = lineage.audit(r[model].id)
        assert [v.run.id for v in result.data_versions] == [r[source].id]
        version = result.data_versions[0]
        assert version.run.time == r[source].time
        assert [(a.name, a.hash) for a in version.outputs] == [("data", data_hash(r[source]))]
        chain = [model, "p" + model[1], source]
        assert [run.id for run in result.runs()] == [r[name].id for name in chain]


def test_audit_by_ref_with_a_date_picks_that_days_model(two_versions) -> None:
    result = lineage.audit("train:LogisticRegression@2026-11-20")
    assert result.run is not None and result.run.id == two_versions["t1"].id
    assert result.data_versions[0].run.id == two_versions["l1"].id
    newest = lineage.audit("train:LogisticRegression")
    assert newest.data_versions[0].run.id == two_versions["l2"].id


def test_audit_json_has_runs_with_inputs_outputs_artifacts_and_data_versions(two_versions):
    r = two_versions
    document = lineage.audit(r["t1"].id).to_dict()
    assert set(document) >= {"run", "runs", "artifacts", "data_versions"}
    assert document["run"]["run_id"] == r["t1"].id
    assert [run["run_id"] for run in document["runs"]] == [r["t1"].id, r["p1"].id, r["l1"].id]
    process = document["runs"][1]
    assert process["step"] == "process" and process["value"] == "plain"
    assert process["params"] == {"inputs": "1"}
    assert [i["name"] for i in process["inputs"]] == ["data"]
    assert process["inputs"][0]["hash"] == data_hash(r["l1"])
    assert process["upstream"] == [r["l1"].id]
    (version,) = document["data_versions"]
    assert version["run_id"] == r["l1"].id
    assert version["time"] == times.format_precise(r["l1"].time)
    assert version["outputs"][0]["name"] == "data"
    assert version["outputs"][0]["hash"] == data_hash(r["l1"])
    by_hash = {a["hash"]: a for a in document["artifacts"]}
    data = by_hash[data_hash(r["l1"])]
    assert data["rows"] == 3 and data["kind"] == "table"
    assert data["schema"] == [{"name": "amount", "type": "int64"}]
    assert data["produced_by"] == [r["l1"].id] and data["consumed_by"] == [r["p1"].id]
    assert len(by_hash) == 3  # data, features, model: each once


def test_audit_of_an_artifact_hash_or_bare_hex_prefix_reaches_the_same_data(two_versions):
    r = two_versions
    (model,) = open_session().catalog.outputs(r["t1"].id)
    for ref in (model.hash, model.hash[:20], model.hash.partition(":")[2][:12]):
        result = lineage.audit(ref)
        assert result.run is None
        assert result.target.hash == model.hash
        assert [v.run.id for v in result.data_versions] == [r["l1"].id]
        assert result.to_dict()["artifact"]["hash"] == model.hash


def test_multi_input_step_has_both_loads_as_data_versions(project: Path) -> None:
    transactions = load("transactions", DAY1, [1, 2])
    customers = load("customers", DAY2, [7])
    join = derive(
        "process",
        "join",
        "2026-11-21T11:00:00Z",
        [transactions, customers],
        ["transactions/data", "customers/data"],
    )
    model = derive("train", "lr", "2026-11-21T12:00:00Z", [join], ["features"], "model")
    result = lineage.audit(model.id)
    versions = {v.run.value: v for v in result.data_versions}
    assert set(versions) == {"transactions", "customers"}
    assert versions["customers"].run.time == customers.time
    assert versions["customers"].outputs[0].hash == data_hash(customers)
    inputs = {a.name: a.hash for a in result.lineage.inputs[join.id]}
    assert inputs == {
        "transactions/data": data_hash(transactions),
        "customers/data": data_hash(customers),
    }
    assert ids(lineage.impact(customers.id).runs()) == {join.id, model.id}


def test_diamond_lists_each_run_once_up_and_down(project: Path) -> None:
    source = load("transactions", DAY1, [1, 2, 3])
    plain = derive("process", "plain", "2026-11-20T11:00:00Z", [source], ["data"])
    scaled = derive("process", "scaled", "2026-11-20T11:30:00Z", [source], ["data"])
    model = derive(
        "train",
        "ensemble",
        "2026-11-20T12:00:00Z",
        [plain, scaled],
        ["plain/features", "scaled/features"],
        "model",
    )
    up = lineage.audit(model.id)
    assert [r.id for r in up.runs()] == [model.id, scaled.id, plain.id, source.id]
    assert [v.run.id for v in up.data_versions] == [source.id]
    down = lineage.impact(source.id)
    assert [r.id for r in down.runs()] == [plain.id, scaled.id, model.id]
    assert [r.id for r in down.leaves()] == [model.id]
    tree = lineage.graph(model.id).render("text").splitlines()[1:]
    shown = [line for line in tree if f"train:ensemble@{times.format_time(model.time)}" in line]
    assert len(shown) == 2 and shown[1].endswith("(above)")  # met twice, expanded once


# -- impact ----------------------------------------------------------------------------------


def test_impact_of_a_load_run_or_its_data_hash_lists_exactly_the_derived_runs(two_versions):
    r = two_versions
    assert ids(lineage.impact(r["l1"].id).runs()) == {r["p1"].id, r["t1"].id}
    assert ids(lineage.impact(data_hash(r["l2"])).runs()) == {r["p2"].id, r["t2"].id}
    assert ids(lineage.impact(r["p1"].id).runs()) == {r["t1"].id}
    assert lineage.impact(r["t2"].id).runs() == []


def test_impact_json_lists_runs_and_the_artifacts_they_made(two_versions) -> None:
    r = two_versions
    document = lineage.impact(data_hash(r["l1"])).to_dict()
    assert document["from"]["type"] == "artifact"
    assert document["from"]["hash"] == data_hash(r["l1"])
    assert [run["run_id"] for run in document["runs"]] == [r["p1"].id, r["t1"].id]
    produced = {a["hash"] for a in document["artifacts"]}
    expected = {a.hash for run in ("p1", "t1") for a in open_session().catalog.outputs(r[run].id)}
    assert produced == expected
    from_run = lineage.impact(r["l1"].id).to_dict()["from"]
    assert from_run["type"] == "run" and from_run["run_id"] == r["l1"].id


def test_reuse_of_a_hash_two_loads_produced_alike(project: Path) -> None:
    first = load("transactions", DAY1, [5, 6])
    second = load("transactions", DAY2, [5, 6])  # the same data fetched again
    assert data_hash(first) == data_hash(second)
    process = derive("process", "plain", "2026-11-20T11:00:00Z", [first], ["data"])
    model = derive("train", "lr", "2026-11-20T12:00:00Z", [process], ["features"], "model")
    # Provenance is what was recorded: the model came through the first load.
    assert [v.run.id for v in lineage.audit(model.id).data_versions] == [first.id]
    # The data version is its content: both loads produced it, both feed the process run.
    by_hash = lineage.audit(data_hash(second))
    assert {v.run.id for v in by_hash.data_versions} == {first.id, second.id}
    from_second = lineage.impact(second.id)
    assert ids(from_second.runs()) == {process.id, model.id}
    # ...and says so: the process run is linked by the data it consumed, not a recorded edge.
    assert from_second.made_from(process.id) == [
        {"via": "hash", "hash": data_hash(second), "run_id": second.id}
    ]
    assert from_second.made_from(model.id) == [{"via": "upstream", "run_id": process.id}]
    assert ids(lineage.impact(data_hash(first)).runs()) == {process.id, model.id}


def test_impact_follows_content_deeper_than_the_load(project: Path) -> None:
    """A model reused for a newer chain (its features hashed alike) is derived from it too."""
    old = load("transactions", DAY1, [1, 2])
    old_process = derive("process", "plain", "2026-11-20T11:00:00Z", [old], ["data"])
    model = derive("train", "lr", "2026-11-20T12:00:00Z", [old_process], ["features"], "model")
    new = load("transactions", DAY2, [2, 1])  # new data, same total: same features
    new_process = derive("process", "plain", "2026-11-21T11:00:00Z", [new], ["data"])
    assert open_session().catalog.outputs(new_process.id)[0].hash == (
        open_session().catalog.outputs(old_process.id)[0].hash
    )
    assert ids(lineage.impact(new.id).runs()) == {new_process.id, model.id}


# -- refs --------------------------------------------------------------------------------------


def test_bad_refs_raise_errors_naming_what_to_do(two_versions) -> None:
    with pytest.raises(NotFound, match="no run matches 'train:SVM'"):
        lineage.audit("train:SVM")
    with pytest.raises(NotFound, match="no artifact has a hash starting 'xxh128:0000ffff'"):
        lineage.impact("xxh128:0000ffff")
    with pytest.raises(InvalidRef):
        lineage.graph("not a ref!")
    with pytest.raises(NotFound):
        lineage.audit("ffffffffffff")


def test_hex_prefix_of_both_a_run_and_an_artifact_is_ambiguous(project: Path) -> None:
    source = load("transactions", DAY1, [1])
    prefix = data_hash(source).partition(":")[2][:6]
    catalog = open_session().catalog
    catalog.start_run("load", "table", "other", run_id=prefix + "0" * 26, status="finished")
    with pytest.raises(Ambiguous, match="give more of the run id"):
        lineage.audit(prefix)
    assert lineage.audit(prefix + "0").run is not None  # longer: only the run matches


# -- verify ------------------------------------------------------------------------------------


def _corrupt(project: Path, hash_: str, how: str) -> None:
    store = open_session().store
    path = Path(store.path(hash_))
    os.chmod(path, 0o644)  # objects are stored read-only
    if how == "remove":
        path.unlink()
    else:
        path.write_bytes(b"not the bytes it was")


def test_verify_rehashes_every_object_and_names_the_corrupt_and_missing(
    two_versions, tmp_path: Path
) -> None:
    r = two_versions
    calls: list[tuple[int, int]] = []
    clean = lineage.audit(r["t1"].id, verify=True, progress=lambda d, t: calls.append((d, t)))
    assert clean.verified is not None and len(clean.verified) == 3
    assert clean.broken == [] and clean.to_dict()["verified"] is True
    assert calls[-1] == (3, 3)
    (features,) = open_session().catalog.outputs(r["p1"].id)
    _corrupt(Path("."), data_hash(r["l1"]), "overwrite")
    _corrupt(Path("."), features.hash, "remove")
    result = lineage.audit(r["t1"].id, verify=True)
    statuses = {v.hash: v.status for v in result.verified.values()}
    assert statuses[data_hash(r["l1"])] == "corrupt"
    assert statuses[features.hash] == "missing"
    assert sorted(v.status for v in result.broken) == ["corrupt", "missing"]
    # The other data version's objects were not on the way and are not reported.
    assert data_hash(r["l2"]) not in statuses
    assert lineage.audit(r["t2"].id, verify=True).broken == []


def test_verify_checks_every_file_of_a_folder(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"w" * 100)
    (folder / "config.json").write_text("{}")
    with lineage.start_run("train", algorithm="lr", time=DAY1) as run:
        run.log_artifact(folder)
    assert lineage.audit(run.id, verify=True).broken == []
    weights = open_session().store.read_manifest(open_session().catalog.outputs(run.id)[0].hash)
    _corrupt(project, next(e["hash"] for e in weights if e["path"] == "weights.bin"), "x")
    (broken,) = lineage.audit(run.id, verify=True).broken
    assert broken.status == "corrupt" and "weights.bin" in broken.detail


# -- bounded queries -----------------------------------------------------------------------------


def chain(length: int, value: str) -> list[ActiveRun]:
    """Record a load and ``length - 1`` process runs, each made from the one before."""
    runs = [load(value, DAY1, [len(value), 2])]  # data of its own: no content shared
    for i in range(1, length):
        name = "data" if i == 1 else "features"
        runs.append(derive("process", f"{value}-{i}", DAY2, [runs[-1]], [name]))
    return runs


@contextmanager
def counted() -> Iterator[list[str]]:
    engine = open_session().catalog.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_walks_issue_the_same_number_of_queries_at_depth_3_and_50(project: Path) -> None:
    short = chain(3, "short")
    deep = chain(50, "deep")
    for call in (
        lambda runs: lineage.audit(runs[-1].id),
        lambda runs: lineage.impact(runs[0].id),
        lambda runs: lineage.graph(runs[len(runs) // 2].id),
    ):
        with counted() as few:
            small = call(short)
        with counted() as many:
            large = call(deep)
        assert len(many) == len(few) <= 30
        assert small is not None and large is not None
    assert len(lineage.audit(deep[-1].id).runs()) == 50
    assert len(lineage.impact(deep[0].id).runs()) == 49


# -- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture
def postgres(postgres_url: str, project: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database on the session's server; its URL is the project's catalog for the test."""
    lineage.Catalog(postgres_url, create=True).close()
    monkeypatch.setenv("LINEAGE_CATALOG_URL", postgres_url)
    return postgres_url


def test_walks_on_postgresql(postgres: str) -> None:
    assert open_session().catalog.url == postgres
    first = load("transactions", DAY1, [5, 6])
    second = load("transactions", DAY2, [5, 6])
    customers = load("customers", DAY1, [9])
    plain = derive("process", "plain", "2026-11-20T11:00:00Z", [first], ["data"])
    joined = derive(
        "process",
        "join",
        "2026-11-20T11:30:00Z",
        [first, customers],
        ["transactions/data", "customers/data"],
    )
    model = derive(
        "train",
        "ensemble",
        "2026-11-20T12:00:00Z",
        [plain, joined],
        ["plain/features", "join/features"],
        "model",
    )
    audited = lineage.audit(model.id)
    assert {v.run.id for v in audited.data_versions} == {first.id, customers.id}
    assert len(audited.runs()) == 5
    assert ids(lineage.impact(second.id).runs()) == {plain.id, joined.id, model.id}
    assert ids(lineage.impact(customers.id).runs()) == {joined.id, model.id}
    assert ids(lineage.impact(data_hash(second)).runs()) == {plain.id, joined.id, model.id}
    check_dot(lineage.graph(plain.id).render("dot"))
    steps = lineage.graph()
    assert {n.label: n.detail for n in steps.nodes.values()} == {
        "load": "3 runs",
        "process": "2 runs",
        "train": "1 run",
    }


def test_recursive_walks_seek_indexes_instead_of_scanning_tables(project: Path) -> None:
    """The query plans of the walks: every edge and run table is searched, never scanned."""
    runs = chain(4, "plan")
    engine = open_session().catalog.engine
    recursive: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, *args) -> None:
        if "RECURSIVE" in statement:
            recursive.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", grab)
    try:
        lineage.audit(runs[-1].id)
        lineage.impact(runs[0].id)
        lineage.impact(data_hash(runs[0]))
    finally:
        sa.event.remove(engine, "before_cursor_execute", grab)
    assert len(recursive) == 3
    with engine.connect() as conn:
        for statement, parameters in recursive:
            plan = [
                row[-1]
                for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            ]
            tables = [step for step in plan if step.startswith(("SCAN", "SEARCH"))]
            assert not [
                s for s in tables if re.match(r"SCAN (runs|upstream|inputs|outputs)\b", s)
            ], plan
            assert any(s.startswith("SEARCH") for s in tables), plan


def test_an_edge_to_a_run_that_no_longer_exists_is_left_out(project: Path) -> None:
    import sqlite3

    source = load("transactions", DAY1, [1])
    process = derive("process", "plain", "2026-11-20T11:00:00Z", [source], ["data"])
    # As if the upstream run had been deleted by hand, leaving its edge behind.
    db = sqlite3.connect(project / ".lineage" / "catalog.db")
    db.execute("PRAGMA foreign_keys=OFF")
    db.execute("INSERT INTO upstream VALUES (?, ?)", (process.id, "f" * 32))
    db.commit()
    db.close()
    result = lineage.audit(process.id)
    assert [v.run.id for v in result.data_versions] == [source.id]
    assert result.to_dict()["runs"][0]["upstream"] == [source.id]
    assert "f" * 32 not in lineage.graph(process.id).render("text")
