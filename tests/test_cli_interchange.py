"""`lineage export openlineage` and `lineage import mlflow` as a new user would try them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage.interchange import mlflow as mlf
from tests import mlflow_store
from tests.helpers import invoke, run_cli
from tests.lineage_endpoint import closed_port_url, endpoint
from tests.openlineage_schema import validate

CHAIN = ["--table", "transactions", "--logic", "plain", "--algorithm", "LogisticRegression"]
STEPS = [arg for text in mlflow_store.STEPS for arg in ("--step", text)]


@pytest.mark.slow
def test_the_examples_catalog_exports_valid_events_twice_alike_and_posts_them(
    tmp_path: Path,
) -> None:
    root = tmp_path / "demo"
    run_cli("init", "--example", str(root), check=True)
    run_cli("resolve", *CHAIN, cwd=root, check=True)

    first = run_cli("export", "openlineage", "--out", "a.jsonl", cwd=root, check=True)
    assert first.stdout == "wrote 6 events of 3 runs to a.jsonl\n"
    assert first.stderr == ""
    again = run_cli("export", "openlineage", "--out", "b.jsonl", "--json", cwd=root, check=True)
    assert json.loads(again.stdout) == {"runs": 3, "events": 6, "target": "b.jsonl"}
    lines = (root / "a.jsonl").read_bytes().splitlines()
    assert (root / "a.jsonl").read_bytes() == (root / "b.jsonl").read_bytes()
    events = [json.loads(line) for line in lines]
    for event in events:
        validate(event)
    assert [e["job"]["name"] for e in events if e["eventType"] == "COMPLETE"] == [
        "load.transactions",
        "process.plain",
        "train.LogisticRegression",
    ]
    stdout = run_cli("export", "openlineage", "--out", "-", cwd=root, check=True)
    assert stdout.stdout.encode() == (root / "a.jsonl").read_bytes()
    assert stdout.stderr == "wrote 6 events of 3 runs to standard output\n"

    with endpoint() as received:
        sent = run_cli("export", "openlineage", "--url", received.url, cwd=root, check=True)
        assert sent.stdout == f"sent 6 events of 3 runs to {received.url}\n"
    assert received.bodies == lines

    model = run_cli(
        "export", "openlineage", "train:LogisticRegression", "--out", "-", cwd=root, check=True
    )
    assert [json.loads(line)["job"]["name"] for line in model.stdout.splitlines()] == [
        "train.LogisticRegression"
    ] * 2
    chain = run_cli(
        "export",
        "openlineage",
        "train:LogisticRegression",
        "--upstream",
        "--out",
        "-",
        cwd=root,
        check=True,
    )
    assert chain.stdout.encode() == (root / "a.jsonl").read_bytes()


def test_export_says_where_the_events_go(project: Path) -> None:
    neither = invoke("export", "openlineage")
    assert neither.exit_code == 2
    assert neither.stderr == (
        "Error: say where the events go: --out FILE.jsonl (- for stdout) or --url URL "
        "(see 'lineage export openlineage --help')\n"
    )
    both = invoke("export", "openlineage", "--out", "x.jsonl", "--url", "http://127.0.0.1:9/")
    assert both.exit_code == 2
    flush = invoke("export", "openlineage", "--flush")
    assert flush.exit_code == 2
    assert flush.stderr.startswith("Error: no OpenLineage URL to send the spool to: ")
    down = invoke("export", "openlineage", "--url", closed_port_url())
    assert down.exit_code == 0  # nothing to send: an empty catalog posts nothing
    bad = invoke("export", "openlineage", "--out", "x.jsonl", "--since", "someday")
    assert (bad.exit_code, bad.stderr.splitlines()[0][:32]) == (
        2,
        "Error: cannot read 'someday' as ",
    )


def test_flush_sends_what_the_spool_kept(project: Path) -> None:
    import lineage
    from lineage.interchange import spool

    (project / "lineage.toml").write_text(f'[openlineage]\nurl = "{closed_port_url()}"\n')
    with lineage.start_run("load", table="transactions"):
        pass
    spool.wait(10)
    with endpoint() as received:
        done = invoke("export", "openlineage", "--flush", "--url", received.url, "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"sent": 2, "left": 0, "url": received.url}
    assert [e["eventType"] for e in received.events] == ["START", "COMPLETE"]


# -- import mlflow ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[mlflow_store.SeedStore]:
    root = tmp_path_factory.mktemp("mlflow")
    yield mlflow_store.build(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_import_mlflow_then_runs_show_audit_graph(
    project: Path, seed: mlflow_store.SeedStore
) -> None:
    done = invoke("import", "mlflow", "--tracking-uri", seed.uri, *STEPS)
    assert done.exit_code == 1  # two runs could not be imported: said, the rest imported
    lines = done.stdout.splitlines()
    assert lines[0].split() == [
        "RUN",
        "STEP",
        "VALUE",
        "TIME",
        "STATUS",
        "UPSTREAM",
        "MLFLOW",
        "RUN",
        "ACTION",
    ]
    assert len(lines) == 1 + 8 + 2
    assert lines[-2] == f"imported 8 runs (0 already imported) from {seed.uri}"
    assert lines[-1] == "1 run still running in MLflow: import it when it ends"
    problems = done.stderr.splitlines()
    assert len(problems) == 2
    assert problems[1] == (
        f"Error: run {seed.runs['processing-no-time']} of experiment 'processing': no param "
        "'processed_time' (its params: logic, retrieval_time, table); not imported"
    )

    runs = invoke("runs", "--step", "train", "--json")
    assert sorted(r["value"] for r in json.loads(runs.stdout)) == [
        "LogisticRegression",
        "LogisticRegression",
        "RandomForest",
        "SVC",
    ]
    show = json.loads(invoke("show", "train:LogisticRegression", "--json").stdout)
    assert show["run_id"] == mlf.lineage_id(seed.runs["model-10"])
    assert show["tags"]["lineage.origin"] == "import"
    assert show["upstream"] == [mlf.lineage_id(seed.runs["processing-10"])]
    audit = invoke("audit", "train:LogisticRegression")
    assert audit.exit_code == 0, audit.output
    assert "load:transactions@2019-02-10T08:00:00Z" in audit.stdout
    graph = invoke("graph", "train:LogisticRegression", "--format", "mermaid")
    assert graph.exit_code == 0 and mlf.lineage_id(seed.runs["load-10"])[:8] in graph.stdout

    again = invoke("import", "mlflow", "--tracking-uri", seed.uri, *STEPS, "--json")
    report = json.loads(again.stdout)
    assert (report["imported"], report["existing"]) == (0, 8)
    assert {r["action"] for r in report["runs"]} == {"exists"}


@pytest.mark.slow
def test_import_mlflow_bad_input_is_one_line(project: Path, seed: mlflow_store.SeedStore) -> None:
    unknown = invoke("import", "mlflow", "--tracking-uri", seed.uri, "--step", "training=train:a:t")
    assert unknown.exit_code == 1
    assert unknown.stderr == (
        f"Error: no experiment 'training' in MLflow store {seed.uri}: its experiments are "
        "Default, load, model, processing\n"
    )
    down = closed_port_url("")
    unreachable = invoke("import", "mlflow", "--tracking-uri", down, *STEPS)
    assert unreachable.exit_code == 1
    assert unreachable.stderr.startswith(f"Error: cannot reach MLflow tracking server {down}: ")
    assert len(unreachable.stderr.splitlines()) == 1
    mapping = invoke("import", "mlflow", "--tracking-uri", seed.uri, "--step", "load")
    assert mapping.exit_code == 2
    assert mapping.stderr.startswith("Error: step mapping 'load' is not EXPERIMENT=STEP:")
    assert invoke("runs", "--json").stdout.strip() == "[]"
