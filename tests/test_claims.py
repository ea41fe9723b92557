"""Claims: two resolvers started at once launch each missing step once; a dead holder's
claim is taken over, a live one's is not."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lineage import claims
from lineage.catalog import Catalog
from lineage.pipeline import load_pipeline
from tests.helpers import invoke, lineage_bin
from tests.pipelines import make_pipeline

CHAIN = ["--table", "transactions", "--logic", "plain", "--algorithm", "lr", "--json"]


@pytest.mark.slow
@pytest.mark.usefixtures("one_crowd_at_a_time")
def test_two_resolves_at_once_launch_each_step_once(tmp_path: Path, catalog_url: str) -> None:
    # Two real lineage processes: two resolvers racing is the point.
    root = make_pipeline(tmp_path / "p", catalog=catalog_url)
    # Slow process down so the two resolvers overlap on it for certain.
    (root / "pause-process").write_text("1.5")
    env = {**os.environ, "LINEAGE_CATALOG_URL": catalog_url}
    procs = [
        subprocess.Popen(
            [lineage_bin(), "resolve", *CHAIN],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    chains = [json.loads(out)["chain"] for out, _ in outputs]
    assert [link["run_id"] for link in chains[0]] == [link["run_id"] for link in chains[1]]
    with Catalog(catalog_url) as catalog:
        assert catalog.run_count() == 3  # one load, one process, one train: nothing twice
    every_action = [link["action"] for chain in chains for link in chain]
    assert every_action.count("launched") == 3
    assert every_action.count("reused") == 3


def test_a_dead_holders_claim_is_taken_over(tmp_path: Path, catalog_url: str) -> None:
    root = make_pipeline(tmp_path / "p", catalog=catalog_url)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Catalog(catalog_url) as catalog:
        pipeline = load_pipeline(root)
        assert pipeline is not None
        key = claims.claim_key("load", "transactions", None, pipeline.code_hash("load"), [])
        assert catalog.claim(key, "load:transactions", socket.gethostname(), dead.pid)
        assert not claims.holder_alive(catalog.get_claim(key))
    done = invoke(
        "resolve", "--table", "transactions", "--json",
        cwd=root, env={"LINEAGE_CATALOG_URL": catalog_url},
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert [link["action"] for link in json.loads(done.stdout)["chain"]] == ["launched"]
    with Catalog(catalog_url) as catalog:
        assert catalog.get_claim(key) is None  # released after the launch


def test_a_live_claim_is_not_taken(catalog_url: str) -> None:
    with Catalog(catalog_url, create=True) as catalog:
        holder = claims.Holder(catalog)
        other = claims.Holder(catalog)
        other.pid = os.getppid()  # alive, and not us
        key = claims.claim_key("train", "lr", None, None, ["xxh128:" + "0" * 32])
        assert other.try_claim(key, "train:lr")
        assert not holder.try_claim(key, "train:lr")
        assert catalog.release_claim(key, other.host, other.pid)
        assert holder.try_claim(key, "train:lr")
