"""Import an MLflow store that MLflow itself made (the seed's three experiments, two days).

The store is built once for the module (MLflow is slow to start); every test imports it into
a fresh project and asks the questions a user would: runs, show, audit, graph.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import lineage
from lineage import api, hashing
from lineage.errors import InterchangeError, NotFound, UsageError
from lineage.interchange import mlflow as mlf
from lineage.session import open_session
from tests import mlflow_store
from tests.lineage_endpoint import closed_port_url, endpoint
from tests.pipelines import make_pipeline

pytestmark = pytest.mark.slow
STEPS = [mlf.StepMap.parse(text) for text in mlflow_store.STEPS]


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[mlflow_store.SeedStore]:
    root = tmp_path_factory.mktemp("mlflow")
    yield mlflow_store.build(root)
    shutil.rmtree(root, ignore_errors=True)


def do_import(seed: mlflow_store.SeedStore, **options: object) -> mlf.ImportReport:
    return mlf.import_mlflow(open_session(), seed.uri, STEPS, **options)  # type: ignore[arg-type]


def lid(seed: mlflow_store.SeedStore, name: str) -> str:
    return mlf.lineage_id(seed.runs[name])


def test_the_seed_imports_and_runs_show_audit_graph_answer(
    project: Path, seed: mlflow_store.SeedStore
) -> None:
    report = do_import(seed)
    assert report.count("imported") == 8
    assert report.still_running == [seed.runs["load-running"]]
    assert [str(p) for p in report.problems] == [
        f"run {seed.runs['load-bad-time']} of experiment 'load': param retrieval_time: cannot "
        "read 'last tuesday' as a time: use an ISO date or datetime (2026-11-20, "
        "2026-11-20T10:15:02Z), YYYYMMDD, YYYYMMDDHHMMSS, Unix seconds, today or yesterday; "
        "not imported",
        f"run {seed.runs['processing-no-time']} of experiment 'processing': no param "
        "'processed_time' (its params: logic, retrieval_time, table); not imported",
    ]

    trains = lineage.search(step="train")
    assert sorted((r.value, r.status) for r in trains) == [
        ("LogisticRegression", "finished"),
        ("LogisticRegression", "finished"),
        ("RandomForest", "failed"),
        ("SVC", "finished"),
    ]
    loads = lineage.search(step="load", keys={"table": "transactions"})
    assert len(loads) == 2

    details = lineage.show("train:LogisticRegression")
    run = details.run
    assert run.id == lid(seed, "model-10")
    assert run.label == "train:LogisticRegression@2019-02-10T10:00:00Z"
    assert run.params == {
        "C": "10",
        "algorithm": "LogisticRegression",
        "logic": "plain",
        "processed_time": str(int(mlflow_store.DAY2.replace(hour=9).timestamp())),
        "trained_time": str(int(mlflow_store.DAY2.replace(hour=10).timestamp())),
    }
    assert run.metrics == {"test score": 0.84}
    history = open_session().catalog.metric_history(run.id, "test score")
    assert [(v, s) for v, s, _ in history] == [(0.70, 0), (0.78, 1), (0.84, 2)]
    assert (run.user, run.git_commit) == ("seed", "0a1b2c3d" * 5)
    assert run.started_at == mlflow_store.DAY2.replace(hour=10)
    assert run.ended_at == mlflow_store.DAY2.replace(hour=10, minute=5)
    assert run.tags["lineage.origin"] == "import"
    assert run.tags["lineage.mlflow.run_id"] == seed.runs["model-10"]
    assert run.tags["lineage.mlflow.experiment"] == "model"
    assert run.tags["mlflow.runName"] == "model-10"
    # Without --artifacts: recorded by path, never as outputs (no data version).
    assert run.tags["lineage.mlflow.artifact.model"].endswith(
        f"/{seed.runs['model-10']}/artifacts/model"
    )
    assert details.outputs == []
    assert [r.id for r in details.upstream] == [lid(seed, "processing-10")]

    process = lineage.show(lid(seed, "processing-10"))
    # Linked by params to the newest load of that day, not by the dataset's source alone.
    assert [r.id for r in process.upstream] == [lid(seed, "load-10")]
    digest = process.run.tags["lineage.mlflow.dataset.transactions"]
    assert len(digest) == 8 and int(digest, 16) >= 0
    assert "train.csv" in process.run.tags["lineage.mlflow.dataset.transactions.source"]

    audit = lineage.audit("train:LogisticRegression")
    assert [(v.run.id, v.run.label) for v in audit.data_versions] == [
        (lid(seed, "load-10"), "load:transactions@2019-02-10T08:00:00Z")
    ]
    assert audit.data_versions[0].outputs == []
    older = lineage.audit("train:LogisticRegression@2019-02-09")
    assert [v.run.id for v in older.data_versions] == [lid(seed, "load-09")]

    graph = lineage.graph("train:LogisticRegression")
    text = graph.render("text")
    for name in ("load-10", "processing-10", "model-10"):
        assert lid(seed, name)[:8] in text, text

    nested = lineage.show("train:SVC")
    assert [r.id for r in nested.upstream] == [lid(seed, "processing-10")]
    failed = lineage.show("train:RandomForest")
    assert failed.run.status == "failed"
    assert [r.id for r in failed.upstream] == [lid(seed, "processing-10")]


def test_importing_twice_creates_nothing_new(project: Path, seed: mlflow_store.SeedStore) -> None:
    do_import(seed)
    catalog = open_session().catalog
    before = {r.id: r.to_dict() for r in lineage.search(limit=0)}
    edges = catalog.upstream_edges(list(before))
    again = do_import(seed)
    assert again.count("imported") == 0
    assert again.count("exists") == 8
    after = {r.id: r.to_dict() for r in lineage.search(limit=0)}
    assert after == before
    assert catalog.upstream_edges(list(after)) == edges
    assert len(catalog.metric_history(lid(seed, "model-10"), "test score")) == 3


def test_artifacts_are_downloaded_hashed_and_become_data_versions(
    project: Path, seed: mlflow_store.SeedStore
) -> None:
    do_import(seed)  # first by path only; the second import fetches them
    calls: list[tuple[int, int]] = []
    report = do_import(seed, artifacts=True, jobs=3, progress=lambda d, t: calls.append((d, t)))
    assert report.stored == 8  # 2 loads x 2 files, 2 processors, 2 model folders
    assert calls[-1] == (8, 8) and len(calls) == 8
    assert [p.message for p in report.problems if "artifact" in p.message] == []

    load = lineage.show(lid(seed, "load-10"))
    outputs = {a.name: a for a in load.outputs}
    assert sorted(outputs) == ["test.csv", "train.csv"]
    content = seed.files["load-10/train.csv"]
    assert outputs["train.csv"].hash == hashing.hash_bytes(content)
    assert outputs["train.csv"].size == len(content)
    model = {a.name: a for a in lineage.show(lid(seed, "model-10")).outputs}
    assert model["model"].kind == "folder"
    _, path = api.get_artifact(f"{lid(seed, 'model-10')}:model", project / "got")
    assert (path / "model.pkl").read_bytes() == seed.files["model-10/model/model.pkl"]

    audit = lineage.audit("train:LogisticRegression")
    (version,) = audit.data_versions
    assert {a.name: a.hash for a in version.outputs}["train.csv"] == outputs["train.csv"].hash
    assert do_import(seed, artifacts=True).stored == 0
    assert not (project / ".lineage" / "downloads").exists() or not any(
        (project / ".lineage" / "downloads").iterdir()
    )


def test_a_dry_run_records_nothing(project: Path, seed: mlflow_store.SeedStore) -> None:
    report = do_import(seed, dry_run=True)
    assert report.count("import") == 8
    assert {tuple(r.upstream) for r in report.runs if r.run.step == "train"} == {
        (lid(seed, "processing-09"),),
        (lid(seed, "processing-10"),),
    }
    assert open_session().catalog.run_count() == 0


def test_after_restricts_links_to_the_named_steps(
    project: Path, seed: mlflow_store.SeedStore
) -> None:
    after = mlf.parse_after(["process=load", "train=process"], STEPS)
    report = do_import(seed, after=after)
    inferred = {r.run.id: r.upstream for r in report.runs}
    assert inferred[lid(seed, "model-10")] == [lid(seed, "processing-10")]
    with pytest.raises(UsageError, match=r"names step 'score', which no step mapping makes"):
        mlf.parse_after(["train=score"], STEPS)
    with pytest.raises(UsageError, match=r"is not STEP=UPSTREAM"):
        mlf.parse_after(["train"], STEPS)


def test_the_resolver_does_not_reuse_imported_runs(
    project: Path, seed: mlflow_store.SeedStore
) -> None:
    make_pipeline(project)
    do_import(seed)
    chain = lineage.resolve(
        {"table": "transactions", "logic": "plain", "algorithm": "LogisticRegression"},
        dry_run=True,
    )
    # Imported runs have no params hash and no code version, which process and train need to
    # be reused. The root anchor (load) is kept from imported runs by the catalog's run origin
    # (issue 9), which replaces the lineage.origin tag at merge; then this asserts all three.
    assert [link.action for link in chain.links][1:] == ["launch", "launch"]
    assert open_session().catalog.get_run(lid(seed, "load-10")).tags["lineage.origin"] == "import"


def test_bad_input_is_one_line(project: Path, seed: mlflow_store.SeedStore) -> None:
    session = open_session()
    with pytest.raises(NotFound) as caught:
        mlf.import_mlflow(session, seed.uri, [mlf.StepMap.parse("training=train:a:t")])
    assert str(caught.value) == (
        f"no experiment 'training' in MLflow store {seed.uri}: its experiments are "
        "Default, load, model, processing"
    )
    missing = f"sqlite:///{project / 'nowhere.db'}"
    with pytest.raises(InterchangeError, match=r"^no MLflow store at sqlite:///.*nowhere.db: "):
        mlf.import_mlflow(session, missing, STEPS)
    assert not (project / "nowhere.db").exists()
    down = closed_port_url("")
    with pytest.raises(InterchangeError, match=r"^cannot reach MLflow tracking server http://"):
        mlf.import_mlflow(session, down, STEPS)
    with (
        endpoint("") as other,  # an HTTP server that is not MLflow
        pytest.raises(InterchangeError, match=r"answered HTTP 501 .*is it an MLflow"),
    ):
        mlf.import_mlflow(session, other.url, STEPS)
    with pytest.raises(UsageError, match=r"'load=load:table' is not EXPERIMENT=STEP:KEYPARAM"):
        mlf.StepMap.parse("load=load:table")
    with pytest.raises(UsageError, match=r"each experiment and each step may be mapped once"):
        mlf.import_mlflow(session, seed.uri, [STEPS[0], STEPS[0]])
    assert session.catalog.run_count() == 0
