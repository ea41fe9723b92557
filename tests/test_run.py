"""The SDK: start_run, log_*, input_*, through the public surface and the catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

import lineage
from lineage import hashing
from lineage.errors import Ambiguous, InvalidName, NotFound, UsageError
from lineage.run import open_session
from lineage.store import manifest_bytes
from tests.helpers import invoke


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


# -- params, metrics, tags --------------------------------------------------------------------


def test_params_metrics_and_tags_are_recorded(project: Path) -> None:
    with lineage.start_run("train", algorithm="lr") as run:
        run.log_params({"C": 0.5, "penalty": "l2", "balanced": True, "layers": [4, 2]})
        run.log_param("C", 1.0)  # the last value of a parameter wins
        run.log_metrics({"auc": 0.91, "f1": 0.7})
        run.set_tag("owner", "ana")
        run.set_tag("attempt", 2)
    recorded = open_session().catalog.get_run(run.id)
    assert recorded.params == {"C": "1.0", "penalty": "l2", "balanced": "true", "layers": "[4, 2]"}
    assert recorded.metrics == {"auc": 0.91, "f1": 0.7}
    assert recorded.tags == {"owner": "ana", "attempt": "2"}
    assert recorded.status == "finished"
    assert recorded.ended_at is not None and recorded.ended_at >= recorded.started_at


def test_metric_steps_keep_their_history_and_show_the_latest(project: Path) -> None:
    losses = [0.9, 0.5, 0.3, 0.25]
    with lineage.start_run("train", algorithm="mlp") as run:
        for step, loss in enumerate(losses):
            run.log_metric("loss", loss, step=step)
        run.log_metrics({"acc": 0.8}, step=3)
    catalog = open_session().catalog
    history = catalog.metric_history(run.id, "loss")
    assert [(value, step) for value, step, _ in history] == [(v, i) for i, v in enumerate(losses)]
    moments = [moment for _, _, moment in history]
    assert moments == sorted(moments)
    assert all(m.tzinfo is not None for m in moments)
    assert catalog.metric_history(run.id, "acc")[0][:2] == (0.8, 3)
    assert catalog.get_run(run.id).metrics == {"loss": 0.25, "acc": 0.8}


def test_flush_makes_what_was_logged_visible_while_the_run_goes_on(project: Path) -> None:
    with lineage.start_run("train", algorithm="lr") as run:
        run.log_param("C", 1)
        run.log_metric("auc", 0.5)
        run.flush()
        running = open_session().catalog.get_run(run.id)
        assert (running.status, running.params, running.metrics) == (
            "running",
            {"C": "1"},
            {"auc": 0.5},
        )


def test_metric_that_is_not_a_number_is_refused(project: Path) -> None:
    with (
        lineage.start_run("train", algorithm="lr") as run,
        pytest.raises(UsageError, match="metric 'auc' must be a number, not 'high'"),
    ):
        run.log_metric("auc", "high")  # type: ignore[arg-type]
    assert open_session().catalog.get_run(run.id).metrics == {}


# -- folders and inputs -----------------------------------------------------------------------


def make_folder(base: Path) -> dict[str, bytes]:
    files = {
        "weights.bin": bytes(range(256)) * 64,
        "config.json": b'{"layers": 2}',
        "sub/deeper/vocab.txt": "naïve\n".encode(),
        "sub/empty": b"",
    }
    for relative, data in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def test_folder_is_stored_as_a_manifest_and_fetched_back_byte_for_byte(
    project: Path, tmp_path: Path
) -> None:
    files = make_folder(tmp_path / "model")
    with lineage.start_run("train", algorithm="mlp") as run:
        folder_hash = run.log_artifact(tmp_path / "model")
    session = open_session()
    (output,) = session.catalog.outputs(run.id)
    assert (output.name, output.kind, output.hash) == ("model", "folder", folder_hash)
    assert output.size == sum(len(d) for d in files.values())
    manifest = session.store.read_manifest(folder_hash)
    assert [e["path"] for e in manifest] == sorted(files)
    for entry in manifest:
        assert entry["hash"] == hashing.hash_bytes(files[entry["path"]])
        assert entry["size"] == len(files[entry["path"]])
    # The folder's hash is the hash of its canonical manifest: same content, same hash.
    assert folder_hash == hashing.hash_bytes(manifest_bytes(manifest))
    with lineage.start_run("train", algorithm="mlp-again") as again:
        assert again.log_artifact(tmp_path / "model", name="copy") == folder_hash

    target = tmp_path / "fetched"
    result = invoke("artifacts", "get", f"{run.id[:8]}:model", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout.split()[:2] == [str(target), folder_hash]
    fetched = {
        p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*") if p.is_file()
    }
    assert fetched == files


def test_input_artifact_fetches_file_and_folder_and_records_the_hash(
    project: Path, tmp_path: Path
) -> None:
    make_folder(tmp_path / "model")
    (tmp_path / "threshold.txt").write_text("0.42")
    with lineage.start_run("train", algorithm="mlp") as train:
        folder_hash = train.log_artifact(tmp_path / "model")
        file_hash = train.log_artifact(tmp_path / "threshold.txt")
    with lineage.start_run("score", model="mlp", upstream=["train:mlp"]) as score:
        folder = score.input_artifact("model")
        threshold = score.input_artifact("threshold.txt", tmp_path / "in" / "t.txt")
    assert (folder / "sub/deeper/vocab.txt").read_text() == "naïve\n"
    assert threshold == tmp_path / "in" / "t.txt"
    assert threshold.read_text() == "0.42"
    inputs = open_session().catalog.inputs(score.id)
    assert [(i.name, i.hash, i.kind, i.source_run_id) for i in inputs] == [
        ("model", folder_hash, "folder", train.id),
        ("threshold.txt", file_hash, "file", train.id),
    ]


# -- how a run ends ---------------------------------------------------------------------------


def test_keyboard_interrupt_marks_the_run_killed(project: Path) -> None:
    with pytest.raises(KeyboardInterrupt), lineage.start_run("train", algorithm="lr") as run:
        run.log_metric("epoch", 1)
        raise KeyboardInterrupt
    recorded = open_session().catalog.get_run(run.id)
    assert recorded.status == "killed"
    assert recorded.error == "interrupted"
    assert recorded.metrics == {"epoch": 1.0}  # what was logged before Ctrl-C is kept


def test_start_run_without_a_step_outside_a_launcher_says_what_to_call(project: Path) -> None:
    with pytest.raises(UsageError) as caught:
        lineage.start_run()
    assert str(caught.value) == (
        "start_run() without a step only works inside a step launched by `lineage run` or "
        "`lineage resolve`: call start_run('load', table='transactions')"
    )
    assert caught.value.exit_code == 2
    assert lineage.search() == []


def test_start_run_without_a_step_attaches_to_the_launched_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launched = open_session().catalog.start_run("load", "table", "transactions")
    monkeypatch.setenv("LINEAGE_RUN_ID", launched.id)
    with lineage.start_run() as run:
        assert run.id == launched.id
        assert run.identity == ("load", "transactions", launched.time)
        run.log_metric("rows", 10)
    recorded = open_session().catalog.get_run(launched.id)
    # The launcher records how its run ended; the SDK only writes what was logged.
    assert (recorded.status, recorded.metrics) == ("running", {"rows": 10.0})


def test_start_run_needs_exactly_one_key(project: Path) -> None:
    with pytest.raises(UsageError, match=r"needs exactly one key, such as table='transactions'"):
        lineage.start_run("load")
    with pytest.raises(UsageError, match=r"\(got table, day\)"):
        lineage.start_run("load", table="a", day="b")


# -- steps declared in lineage.toml -----------------------------------------------------------

PIPELINE = """\
[steps.load]
key = "table"
time = "retrieval_time"
code = ["steps/load.py"]

[steps.train]
key = "algorithm"
time = "trained_time"
after = ["load"]
params = { C = { type = "float", default = 1.0 }, layers = { type = "int", default = 2 } }
"""


@pytest.fixture
def pipeline(project: Path) -> Path:
    (project / "steps").mkdir()
    (project / "steps/load.py").write_text("print('load')\n")
    (project / "lineage.toml").write_text(PIPELINE)
    return project


def test_declared_step_records_typed_params_with_defaults_and_code_hash(pipeline: Path) -> None:
    with lineage.start_run("train", algorithm="lr", params={"C": "0.5"}) as train:
        pass
    with lineage.start_run("load", table="transactions") as load:
        pass
    catalog = open_session().catalog
    recorded = catalog.get_run(train.id)
    assert recorded.params == {"C": "0.5", "layers": "2"}
    assert recorded.params_hash is not None and recorded.params_hash.startswith("xxh128:")
    loaded = catalog.get_run(load.id)
    assert loaded.code_hash is not None and loaded.code_hash.startswith("xxh128:")
    # The same params give the same hash, whatever order or spelling they came in.
    with lineage.start_run("train", algorithm="lr", params={"layers": 2, "C": 0.5}) as same:
        pass
    assert catalog.get_run(same.id).params_hash == recorded.params_hash


def test_declared_step_with_the_wrong_key_is_refused(pipeline: Path) -> None:
    with pytest.raises(UsageError) as caught:
        lineage.start_run("load", source="transactions")
    assert str(caught.value) == (
        "step 'load' is keyed by 'table', not 'source': call start_run('load', table=...)"
    )
    assert lineage.search() == []


def test_step_not_declared_in_lineage_toml_is_refused(pipeline: Path) -> None:
    with pytest.raises(UsageError) as caught:
        lineage.start_run("evaluate", metric="auc")
    assert str(caught.value) == "unknown step 'evaluate': lineage.toml declares load, train"
    assert lineage.search() == []


def test_declared_param_of_the_wrong_type_or_unknown_is_refused(pipeline: Path) -> None:
    with pytest.raises(UsageError, match=r"parameter C of step 'train' must be a float"):
        lineage.start_run("train", algorithm="lr", params={"C": "high"})
    with pytest.raises(UsageError, match=r"step 'train' has no parameter 'gamma'"):
        lineage.start_run("train", algorithm="lr", params={"gamma": 1})
    assert lineage.search() == []


def test_a_step_named_like_a_hex_prefix_is_found_by_its_name(project: Path) -> None:
    from tests.helpers import invoke

    with lineage.start_run("cafe", order="latte") as run:
        pass
    result = invoke("show", "cafe", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run_id"] == run.id
