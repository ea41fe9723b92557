"""The examples are programs the README tells people to run: run them as a new user would,
on the embedded defaults and on a team's PostgreSQL catalog and S3 store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, invoke, run_cli


def test_record_chain_lists_load_process_train_and_links_them_by_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "fresh"
    run_cli("init", str(root), check=True)
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "record_chain.py")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    printed = [line.split()[1].split("@")[0] for line in done.stdout.splitlines()]
    assert printed == ["load:transactions", "process:plain", "train:mean-threshold"]

    table = run_cli("runs", "--table", "transactions", "--on", "today", cwd=root, check=True)
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["RUN", "STEP", "KEY"]
    assert [line.split()[1] for line in lines[1:]] == ["train", "process", "load"]

    # The rest in-process, through the same main(): each subprocess costs a Python start.
    monkeypatch.chdir(root)
    found = json.loads(invoke("runs", "--table", "transactions", "--on", "today", "--json").stdout)
    assert [(r["step"], r["value"]) for r in found] == [
        ("train", "mean-threshold"),
        ("process", "plain"),
        ("load", "transactions"),
    ]
    assert all(r["status"] == "finished" for r in found)
    train_id, process_id, load_id = (r["run_id"] for r in found)

    train = json.loads(invoke("show", train_id, "--json").stdout)
    process = json.loads(invoke("show", "process:plain", "--json").stdout)
    (consumed,) = train["inputs"]
    produced = {o["name"]: o["hash"] for o in process["outputs"]}
    assert consumed["name"] == "features"
    assert consumed["hash"] == produced["features"]
    assert train["upstream"] == [process_id]
    assert process["upstream"] == [load_id]
    assert [o["name"] for o in train["outputs"]] == ["model.json"]
    assert consumed["hash"] in invoke("show", "train:mean-threshold").stdout


def ok(*args: str, cwd: Path, env: dict[str, str]) -> str:
    """Run a command in-process in ``cwd`` with ``env``; it must succeed. Return its output."""
    done = invoke(*args, cwd=cwd, env=env)
    assert done.exit_code == 0, (args, done.output)
    return done.stdout


@pytest.mark.slow
def test_record_chain_on_postgresql_and_s3(
    postgres_url: str, s3_bucket: str, tmp_path: Path
) -> None:
    """Team mode end to end: the chain recorded with the catalog in PostgreSQL and the
    artifacts in S3, then read back (by the real executable first)."""
    store_url = f"{s3_bucket}/team"
    env = {"LINEAGE_CATALOG_URL": postgres_url, "LINEAGE_STORE_URL": store_url}
    project = tmp_path / "demo"
    init = run_cli("init", str(project), env=env, check=True)
    assert f"store    {store_url}" in init.stdout
    example = subprocess.run(
        [sys.executable, str(REPO / "examples" / "record_chain.py")],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert example.returncode == 0, example.stderr

    runs = json.loads(run_cli("runs", "--json", cwd=project, env=env, check=True).stdout)
    assert [(r["step"], r["value"], r["status"]) for r in runs] == [
        ("train", "mean-threshold", "finished"),
        ("process", "plain", "finished"),
        ("load", "transactions", "finished"),
    ]
    # The rest in-process, as in the test above.
    train = json.loads(ok("show", "train:mean-threshold", "--json", cwd=project, env=env))
    process = json.loads(ok("show", "process:plain", "--json", cwd=project, env=env))
    # Coherent along the chain: train consumed exactly the features process produced.
    features = {a["name"]: a["hash"] for a in process["outputs"]}["features"]
    assert [(a["name"], a["hash"]) for a in train["inputs"]] == [("features", features)]
    assert train["upstream"] == [process["run_id"]]

    target = tmp_path / "model.json"
    ok("artifacts", "get", "train:mean-threshold:model.json", "-o", str(target),
       cwd=project, env=env)  # fmt: skip
    assert "threshold" in json.loads(target.read_text())
    # The objects are in the bucket, under the content-addressed layout, and nowhere local.
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    load = json.loads(ok("show", "load:transactions", "--json", cwd=project, env=env))
    hashes = {a["hash"] for run in (load, process, train) for a in run["outputs"]}
    assert len(hashes) == 3  # the load's data, the features, the model
    expected = {f"{store_url[5:]}/xxh128/{h[7:9]}/{h[9:]}" for h in hashes}
    assert set(fs.find(store_url)) == expected
    assert not (project / ".lineage" / "objects").exists() or not any(
        (project / ".lineage" / "objects").rglob("*")
    )
    info = json.loads(ok("info", "--json", cwd=project, env=env))
    assert info["catalog"]["runs"] == 3 and info["store"]["reachable"] is True
