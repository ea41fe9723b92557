"""The examples are programs the README tells people to run: run them as a new user would."""

from __future__ import annotations

import json
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
