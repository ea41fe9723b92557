"""``lineage audit``, ``impact`` and ``graph`` (lineage/cli/walks.py): exact output, JSON, exit
codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

import lineage
from lineage.cli import human_size
from lineage.run import ActiveRun, open_session
from tests.helpers import invoke, run_cli

DAY1 = "2026-11-20T10:00:00Z"
DAY2 = "2026-11-21T10:00:00Z"


def record_chain(day: str, amounts: list[int]) -> dict[str, ActiveRun]:
    """Record load -> process -> train for one data version, at hours 10, 11, 12 of ``day``."""
    at = day[:11]
    with lineage.start_run("load", table="transactions", time=f"{at}10:00:00Z") as load:
        load.log_table("data", pa.table({"amount": amounts}))
    with lineage.start_run(
        "process", logic="plain", time=f"{at}11:00:00Z", upstream=[load.id]
    ) as process:
        data = process.input_table("data")
        process.log_param("fill", "mean")
        process.log_table(
            "features", data.append_column("double", pa.array([2 * a for a in amounts]))
        )
    with lineage.start_run(
        "train", algorithm="LogisticRegression", time=f"{at}12:00:00Z", upstream=[process.id]
    ) as train:
        train.input_table("features")
        train.log_metric("auc", 0.9)
        model = Path(f"model-{at[:10]}.bin")
        model.write_bytes(b"weights" + bytes(amounts))
        train.log_artifact(model, name="model.bin")
    return {"load": load, "process": process, "train": train}


def output_hash(run: ActiveRun, name: str) -> str:
    return {a.name: a.hash for a in open_session().catalog.outputs(run.id)}[name]


@pytest.fixture
def versions(project: Path) -> tuple[dict[str, ActiveRun], dict[str, ActiveRun]]:
    return record_chain(DAY1, [1, 2, 3]), record_chain(DAY2, [1, 2, 3, 4])


def one_error_line(result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


# -- audit -------------------------------------------------------------------------------------


def test_audit_answers_which_data_version_produced_the_model(versions) -> None:
    old, new = versions
    data = output_hash(old["load"], "data")
    size = human_size(open_session().catalog.get_artifact(data).size)
    result = invoke("audit", "train:LogisticRegression@2026-11-20")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"audit of train:LogisticRegression@2026-11-20T12:00:00Z "
        f"(run {old['train'].info.short_id}, finished)"
    )
    assert lines[2] == "data versions (1):"
    assert lines[3] == (
        f"  load:transactions@2026-11-20T10:00:00Z  data  {data}  3 rows  {size}  "
        f"run {old['load'].info.short_id}"
    )
    assert lines[4].strip() == "columns: amount int64"
    assert "runs on the way (3, from the audited run up to the data):" in lines
    assert "    params  fill=mean" in lines
    assert f"    in      data  {data}" in result.stdout
    assert "from load:transactions@2026-11-20T10:00:00Z" in result.stdout
    newest = invoke("audit", "train:LogisticRegression")
    assert output_hash(new["load"], "data") in newest.stdout.splitlines()[3]


def test_audit_json_shape(versions) -> None:
    old, _ = versions
    result = invoke("audit", old["train"].id[:8], "--json")
    assert result.exit_code == 0 and result.stderr == ""
    document = json.loads(result.stdout)
    assert set(document) == {"run", "runs", "artifacts", "data_versions"}
    assert document["run"]["run_id"] == old["train"].id
    assert [r["step"] for r in document["runs"]] == ["train", "process", "load"]
    assert {"inputs", "outputs", "params", "code_hash", "time"} <= set(document["runs"][0])
    (version,) = document["data_versions"]
    assert {k: version[k] for k in ("run_id", "step", "value", "time")} == {
        "run_id": old["load"].id,
        "step": "load",
        "value": "transactions",
        "time": "2026-11-20T10:00:00.000000Z",
    }
    assert version["outputs"][0]["name"] == "data"
    assert version["outputs"][0]["hash"] == output_hash(old["load"], "data")


def test_audit_verify_reports_intact_objects_then_a_corrupt_one(versions) -> None:
    old, _ = versions
    result = invoke("audit", old["train"].id, "--verify")
    assert result.exit_code == 0, result.output
    assert "verified: all 3 objects on the way are intact" in result.stdout
    data = output_hash(old["load"], "data")
    path = Path(open_session().store.path(data))
    os.chmod(path, 0o644)  # stored objects are read-only
    path.write_bytes(b"flipped")
    broken = invoke("audit", old["train"].id, "--verify")
    one_error_line(broken, 1, "1 of 3 objects on the way are corrupt or missing", data)
    assert f"{data}  3 rows" in broken.stdout and "CORRUPT" in broken.stdout
    as_json = invoke("audit", old["train"].id, "--verify", "--json")
    assert as_json.exit_code == 1
    document = json.loads(as_json.stdout)
    assert document["verified"] is False
    statuses = {a["hash"]: a["verified"] for a in document["artifacts"]}
    assert statuses[data] == "corrupt" and list(statuses.values()).count("ok") == 2


def test_audit_of_a_model_hash(versions) -> None:
    old, _ = versions
    model = output_hash(old["train"], "model.bin")
    result = invoke("audit", model)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"audit of artifact {model}"
    assert output_hash(old["load"], "data") in result.stdout.splitlines()[3]


# -- impact ------------------------------------------------------------------------------------


def test_impact_of_a_load_lists_what_must_be_retrained(versions) -> None:
    old, new = versions
    result = invoke("impact", "load:transactions@2026-11-20")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"impact of load:transactions@2026-11-20T10:00:00Z (run {old['load'].info.short_id}): "
        "2 runs and 2 artifacts derived"
    )
    assert lines[3] == (
        f"  train:LogisticRegression@2026-11-20T12:00:00Z  {old['train'].info.short_id}  finished"
    )
    assert old["process"].info.short_id in result.stdout
    assert new["process"].info.short_id not in result.stdout
    assert output_hash(old["train"], "model.bin") in result.stdout


def test_impact_json_from_a_data_hash_prefix(versions) -> None:
    _, new = versions
    data = output_hash(new["load"], "data")
    result = invoke("impact", data.partition(":")[2][:10], "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["from"]["type"] == "artifact" and document["from"]["hash"] == data
    assert [r["run_id"] for r in document["runs"]] == [new["process"].id, new["train"].id]
    assert {a["hash"] for a in document["artifacts"]} == {
        output_hash(new["process"], "features"),
        output_hash(new["train"], "model.bin"),
    }


def test_impact_of_a_model_is_empty(versions) -> None:
    result = invoke("impact", "train:LogisticRegression")
    assert result.exit_code == 0
    assert result.stdout.strip().endswith("0 runs and 0 artifacts derived")


# -- graph -------------------------------------------------------------------------------------


def test_graph_text_of_a_run_and_of_the_steps(versions) -> None:
    old, _ = versions
    result = invoke("graph", "process:plain@2026-11-20")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "lineage of process:plain@2026-11-20T11:00:00Z"
    load = old["load"].info.short_id
    assert lines[1] == f"load:transactions@2026-11-20T10:00:00Z  {load} finished"
    assert lines[2].startswith("└─ data → xxh128:")
    assert lines[3].startswith("   └─ data → process:plain@2026-11-20T11:00:00Z")
    assert lines[3].endswith("<-")
    assert "model.bin → xxh128:" in lines[-1]
    steps = invoke("graph")
    assert steps.stdout.splitlines() == [
        "steps",
        "load  2 runs",
        "└─ process  2 runs",
        "   └─ train  2 runs",
    ]


def test_graph_json_and_mermaid(versions) -> None:
    document = json.loads(invoke("graph", "train:LogisticRegression", "--json").stdout)
    assert sum(n["kind"] == "run" for n in document["nodes"]) == 3
    assert [n["label"] for n in document["nodes"] if n["focus"]] == [
        "train:LogisticRegression@2026-11-21T12:00:00Z"
    ]
    mermaid = invoke("graph", "train:LogisticRegression", "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart LR\n")
    assert mermaid.count(" -->") == len(document["edges"]) == 5


def test_graph_dot_from_the_real_executable_lays_out(versions, project: Path) -> None:
    done = run_cli("graph", "load:transactions", "--format", "dot", cwd=project, check=True)
    assert done.stdout.startswith("digraph lineage {")
    assert done.stdout.rstrip().endswith("}")
    assert done.stdout.count(" -> ") == 5
    if shutil.which("dot"):  # graphviz, when installed, is the real parser
        svg = subprocess.run(["dot", "-Tsvg"], input=done.stdout, capture_output=True, text=True)
        assert svg.returncode == 0, svg.stderr
        assert svg.stdout.count('class="node"') == 6


def test_graph_of_an_empty_catalog(project: Path) -> None:
    result = invoke("graph")
    assert result.exit_code == 0
    assert result.stdout.strip() == "steps: none recorded yet"


# -- errors ------------------------------------------------------------------------------------


def test_bad_refs_give_one_line_and_the_right_exit_code(versions, tmp_path: Path) -> None:
    one_error_line(invoke("audit", "train:SVM"), 1, "no run matches 'train:SVM'")
    one_error_line(invoke("impact", "xxh128:0000ffff"), 1, "no artifact has a hash starting")
    one_error_line(invoke("graph", "not a ref!"), 2, "cannot read 'not a ref!' as a ref")
    one_error_line(invoke("audit", "train:LogisticRegression@2026-13-45"), 2, "2026-13-45")
    fmt = invoke("graph", "--format", "png")
    assert fmt.exit_code == 2 and "'png' is not one of" in fmt.stderr
    missing = invoke("audit")
    assert missing.exit_code == 2 and "Missing argument 'REF'" in missing.stderr


def test_outside_a_project_says_how_to_start(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    done = run_cli("audit", "train:LogisticRegression", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("Error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "lineage init" in done.stderr


def test_help_lists_the_commands() -> None:
    result = invoke("--help")
    for command in ("audit", "impact", "graph"):
        assert f"  {command} " in result.stdout
    assert "--verify" in invoke("audit", "--help").stdout


# -- with the launcher ---------------------------------------------------------------------------


def test_audit_and_impact_of_a_launched_pipeline_as_a_user_runs_them(
    resolved_pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, first = resolved_pipeline  # the chain below, resolved once: three launched runs
    monkeypatch.chdir(root)

    def cli(*args: str) -> str:
        """Run a command in-process (its steps still run as real subprocesses)."""
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        return result.stdout

    chain = ("resolve", "--table", "transactions", "--logic", "plain", "--algorithm", "lr")
    assert [link["action"] for link in first] == ["launched", "launched", "launched"]
    cli("run", "load", "--table", "transactions")  # the same data
    reused = json.loads(cli(*chain, "--json"))["chain"]
    assert [link["action"] for link in reused] == ["reused", "reused", "reused"]

    audit = json.loads(cli("audit", "train:lr", "--json"))
    (version,) = audit["data_versions"]
    loads = json.loads(cli("runs", "--step", "load", "--json"))
    assert version["run_id"] == loads[1]["run_id"]  # the load the model was really made from
    assert [o["name"] for o in version["outputs"]] == ["data"]  # the launcher's log is no data
    # The newest load fetched the same data: the process and train runs derive from it too
    # (new data, a different hash, is the library tests' business: no launches needed there).
    derived = json.loads(cli("impact", "load:transactions", "--json"))["runs"]
    assert [r["step"] for r in derived] == ["process", "train"]
    assert derived[0]["made_from"][0]["via"] == "hash"

    text = cli("audit", "train:lr")
    assert f"run {loads[1]['run_id'][:8]}" in text.splitlines()[3]
    assert "  log  " not in text.split("runs on the way")[0]
