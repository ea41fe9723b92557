"""Team mode end to end: the example chain recorded with the catalog in PostgreSQL and the
artifacts in S3, then read back through the real ``lineage`` executable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, run_cli


@pytest.mark.slow
def test_example_chain_on_postgresql_and_s3(
    postgres_url: str, s3_bucket: str, tmp_path: Path
) -> None:
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
    train = json.loads(
        run_cli("show", "train:mean-threshold", "--json", cwd=project, env=env, check=True).stdout
    )
    process = json.loads(
        run_cli("show", "process:plain", "--json", cwd=project, env=env, check=True).stdout
    )
    # Coherent along the chain: train consumed exactly the features process produced.
    features = {a["name"]: a["hash"] for a in process["outputs"]}["features"]
    assert [(a["name"], a["hash"]) for a in train["inputs"]] == [("features", features)]
    assert train["upstream"] == [process["run_id"]]

    target = tmp_path / "model.json"
    run_cli(
        "artifacts", "get", "train:mean-threshold:model.json", "-o", str(target),
        cwd=project, env=env, check=True,
    )  # fmt: skip
    assert "threshold" in json.loads(target.read_text())
    # The objects are in the bucket, under the content-addressed layout, and nowhere local.
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    load = json.loads(
        run_cli("show", "load:transactions", "--json", cwd=project, env=env, check=True).stdout
    )
    hashes = {a["hash"] for run in (load, process, train) for a in run["outputs"]}
    assert len(hashes) == 3  # the load's data, the features, the model
    expected = {f"{store_url[5:]}/xxh128/{h[7:9]}/{h[9:]}" for h in hashes}
    assert set(fs.find(store_url)) == expected
    assert not (project / ".lineage" / "objects").exists() or not any(
        (project / ".lineage" / "objects").rglob("*")
    )
    info = json.loads(run_cli("info", "--json", cwd=project, env=env).stdout)
    assert info["catalog"]["runs"] == 3 and info["store"]["reachable"] is True
