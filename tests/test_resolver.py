"""The resolver and launcher end to end: ``lineage resolve`` and ``lineage run`` launching real
step subprocesses.

The commands run in-process through the CLI's ``main`` (a new ``lineage`` process for each would
only add its start-up); the real executable runs where a process of its own is the point:
Ctrl-C, here, and two resolves at once in test_claims.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from lineage.catalog import Catalog
from tests.helpers import Result, invoke, lineage_bin
from tests.pipelines import CHAIN, CUSTOMERS, make_pipeline


def resolve(root: Path, *args: str) -> tuple[int, list[dict], str]:
    done = invoke("resolve", *args, "--json", cwd=root)
    chain = json.loads(done.stdout)["chain"] if done.stdout.strip() else []
    return done.exit_code, chain, done.stderr


def lineage(root: Path, *args: str, check: bool = False) -> Result:
    """Run one ``lineage`` command in ``root``; with ``check``, it must succeed."""
    done = invoke(*args, cwd=root)
    if check:
        assert done.exit_code == 0, (args, done.output)
    return done


def actions(chain: list[dict]) -> list[str]:
    return [link["action"] for link in chain]


def catalog(root: Path) -> Catalog:
    return Catalog(f"sqlite:///{root / '.lineage' / 'catalog.db'}")


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    return make_pipeline(tmp_path / "p")


def test_first_resolve_launches_every_step_then_reuses_them(pipeline: Path) -> None:
    code, chain, _ = resolve(pipeline, *CHAIN)
    assert code == 0
    assert actions(chain) == ["launched", "launched", "launched"]
    assert [link["step"] for link in chain] == ["load", "process", "train"]
    assert set(chain[0]) >= {"step", "key", "value", "time", "run_id", "action"}
    code, again, _ = resolve(pipeline, *CHAIN)
    assert code == 0
    assert actions(again) == ["reused", "reused", "reused"]
    assert [link["run_id"] for link in again] == [link["run_id"] for link in chain]
    # Each launched run holds its command's log and the identity the resolver gave it.
    with catalog(pipeline) as c:
        train = c.get_run(chain[2]["run_id"])
        assert (train.step, train.key, train.value, train.status) == (
            "train",
            "algorithm",
            "lr",
            "finished",
        )
        assert train.exit_code == 0
        assert train.params == {"C": "1.0"}
        assert train.command == "python steps/train.py lr 1.0"
        assert {o.name for o in c.outputs(train.id)} == {"log", "model.txt"}
        assert c.upstream_ids(train.id) == [chain[1]["run_id"]]


def test_same_data_reuses_downstream_and_new_data_reruns_it(resolved_pipeline) -> None:
    pipeline, first = resolved_pipeline
    lineage(pipeline, "run", "load", "--table", "transactions", check=True)
    code, same, _ = resolve(pipeline, *CHAIN)
    assert code == 0
    assert actions(same) == ["reused", "reused", "reused"]
    assert same[0]["run_id"] != first[0]["run_id"]  # the newer retrieval anchors the chain
    assert [s["run_id"] for s in same[1:]] == [f["run_id"] for f in first[1:]]
    (pipeline / "data" / "transactions.txt").write_text("1 2 3 4\n")
    lineage(pipeline, "run", "load", "--table", "transactions", check=True)
    code, new, _ = resolve(pipeline, *CHAIN)
    assert actions(new) == ["reused", "launched", "launched"]
    assert new[1]["run_id"] not in {f["run_id"] for f in first}


def test_code_edit_reruns_the_step_and_only_what_its_output_changed(resolved_pipeline) -> None:
    pipeline, first = resolved_pipeline
    script = pipeline / "steps" / "process.py"
    script.write_text(script.read_text() + "\n# a comment: same output\n")
    _, same_output, _ = resolve(pipeline, *CHAIN)
    assert actions(same_output) == ["reused", "launched", "reused"]
    assert same_output[2]["run_id"] == first[2]["run_id"]
    (pipeline / "factor.txt").write_text("5")
    script.write_text(script.read_text() + "# now reads factor.txt\n")
    _, changed, _ = resolve(pipeline, *CHAIN)
    assert actions(changed) == ["reused", "launched", "launched"]
    # Old code's runs come back with --allow-stale-code.
    code, stale, _ = resolve(pipeline, *CHAIN, "--allow-stale-code", "--no-launch")
    assert code == 0
    assert stale[1]["run_id"] == changed[1]["run_id"]  # still the newest coherent one


def test_params_are_part_of_the_identity_the_resolver_matches(resolved_pipeline) -> None:
    pipeline, _ = resolved_pipeline
    _, other, _ = resolve(pipeline, *CHAIN, "-P", "C=0.5")
    assert actions(other) == ["reused", "reused", "launched"]
    _, again, _ = resolve(pipeline, *CHAIN, "-P", "train.C=0.5")
    assert actions(again) == ["reused", "reused", "reused"]
    assert again[2]["run_id"] == other[2]["run_id"]
    done = lineage(pipeline, "resolve", *CHAIN, "-P", "C=abc")
    assert done.exit_code == 2
    assert "Error: parameter C of step 'train' must be a float, not 'abc'" in done.stderr


def test_failing_step_exits_1_records_failed_run_and_changes_nothing_else(pipeline: Path) -> None:
    resolve(pipeline, "--table", "transactions")
    (pipeline / "fail-process").write_text("")
    with catalog(pipeline) as c:
        before = c.run_count()
    done = lineage(pipeline, "resolve", *CHAIN)
    assert done.exit_code == 1
    assert "Error: step process:plain@" in done.stderr
    assert "failed (exit 3" in done.stderr
    assert "process: told to fail" in done.stderr  # the tail of its log
    assert "Traceback" not in done.stderr
    with catalog(pipeline) as c:
        assert c.run_count() == before + 1  # the failed process run, and no train run
        failed = c.newest("process", "plain", status=None)
        assert failed is not None
        assert (failed.status, failed.exit_code) == ("failed", 3)
        assert c.newest("train", "lr", status=None) is None
    code, chain, _ = resolve(pipeline, *CHAIN)
    assert code == 1
    assert actions(chain) == ["reused", "failed", "missing"]


def test_dry_run_plans_and_launches_nothing(pipeline: Path, resolved_pipeline) -> None:
    code, plan, _ = resolve(pipeline, *CHAIN, "--dry-run")
    assert code == 0
    assert actions(plan) == ["launch", "launch", "launch"]
    with catalog(pipeline) as c:
        assert c.run_count() == 0
    # Where load and process have runs and train:rf has none.
    resolved, _ = resolved_pipeline
    other = [*CHAIN[:-1], "rf"]
    _, plan, _ = resolve(resolved, *other, "--dry-run")
    assert actions(plan) == ["reuse", "reuse", "launch"]
    with catalog(resolved) as c:
        assert c.run_count() == 3


def test_no_launch_goes_back_to_an_older_anchor_or_fails(resolved_pipeline) -> None:
    pipeline, first = resolved_pipeline
    (pipeline / "data" / "transactions.txt").write_text("7 8 9\n")
    lineage(pipeline, "run", "load", "--table", "transactions", check=True)
    code, older, _ = resolve(pipeline, *CHAIN, "--no-launch")
    assert code == 0
    assert [link["run_id"] for link in older] == [link["run_id"] for link in first]
    done = lineage(
        pipeline, "resolve", "--table", "transactions", "--logic", "double", "--no-launch"
    )
    assert done.exit_code == 1
    assert "Error: no whole chain exists (process:double missing)" in done.stderr


def test_rerun_and_time_pin(resolved_pipeline) -> None:
    pipeline, first = resolved_pipeline
    _, rerun, _ = resolve(pipeline, *CHAIN, "--rerun", "load")
    assert actions(rerun) == ["launched", "reused", "reused"]  # same data: nothing downstream
    pinned_time = first[0]["time"]
    _, pinned, _ = resolve(pipeline, *CHAIN, "--retrieval-time", pinned_time)
    assert pinned[0]["run_id"] == first[0]["run_id"]
    done = lineage(pipeline, "resolve", *CHAIN, "--retrieval-time", "2001-01-01")
    assert done.exit_code == 1
    assert "no finished load:transactions run in the pinned time" in done.stderr


def test_multi_input_values_and_parallel_branches(tmp_path: Path) -> None:
    root = make_pipeline(tmp_path / "multi")
    code, chain, _ = resolve(
        root, "--table", "transactions,customers", "--logic", "plain", "-j", "2"
    )
    assert code == 0
    assert [(link["step"], link["value"]) for link in chain] == [
        ("load", "transactions"),
        ("load", "customers"),
        ("process", "plain"),
    ]
    with catalog(root) as c:
        inputs = c.inputs(chain[2]["run_id"])
        assert sorted(i.name for i in inputs) == ["customers/data", "transactions/data"]
    _, again, _ = resolve(root, "--table", "transactions,customers", "--logic", "plain")
    assert actions(again) == ["reused", "reused", "reused"]
    # The process run made from both tables is not coherent with transactions alone.
    _, single, _ = resolve(root, "--table", "transactions", "--logic", "plain")
    assert actions(single) == ["reused", "launched"]


def test_step_after_two_different_steps(tmp_path: Path) -> None:
    toml = """
    [steps.load]
    key = "table"
    command = "python steps/load.py {table}"

    [steps.customers]
    key = "segment"
    command = "python steps/customers.py"

    [steps.process]
    key = "logic"
    after = ["load", "customers"]
    command = "python steps/process.py {logic}"
    """
    root = make_pipeline(tmp_path / "two", toml, {"customers": CUSTOMERS})
    code, chain, err = resolve(
        root, "--table", "transactions", "--segment", "all", "--logic", "plain"
    )
    assert code == 0, err
    assert actions(chain) == ["launched", "launched", "launched"]
    with catalog(root) as c:
        assert len(c.upstream_ids(chain[2]["run_id"])) == 2
    _, again, _ = resolve(root, "--table", "transactions", "--segment", "all", "--logic", "plain")
    assert actions(again) == ["reused", "reused", "reused"]


@pytest.mark.slow
def test_ctrl_c_marks_the_running_step_killed(pipeline: Path) -> None:
    resolve(pipeline, "--table", "transactions")
    (pipeline / "pause-process").write_text("30")
    process = subprocess.Popen(
        [lineage_bin(), "resolve", "--table", "transactions", "--logic", "plain"],
        cwd=pipeline,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    with catalog(pipeline) as c:
        while time.monotonic() < deadline:
            running = c.newest("process", "plain", status="running")
            if running is not None and running.pid != process.pid:
                break
            time.sleep(0.2)
        else:
            process.kill()
            pytest.fail("the process step never started")
        time.sleep(0.5)
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
        killed = c.get_run(running.id)
    assert process.returncode == 130
    assert killed.status == "killed"
    assert process.stderr is not None and b"Traceback" not in process.stderr.read()


def test_bad_resolve_requests_are_usage_errors(pipeline: Path) -> None:
    cases = {
        (
            "--logic",
            "plain",
        ): "step 'load' is in the chain but its key has no value: give --table VALUE",
        (
            "--table",
            "transactions",
            "--rerun",
            "train",
        ): "--rerun train: step 'train' is not in this chain",
        ("--table", "transactions", "--retrieval-time", "soon"): "cannot read 'soon' as a time",
        ("--table", "transactions", "-j", "0"): "--jobs must be 1 or more",
        (): "say which chain to resolve: give at least one key",
    }
    for args, message in cases.items():
        done = lineage(pipeline, "resolve", *args)
        assert done.exit_code == 2, (args, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert done.stderr.count("\n") == 1
    done = lineage(pipeline, "resolve", "--colour", "red")
    assert done.exit_code == 2
    assert done.stderr == (
        "Error: unknown key 'colour': lineage.toml declares --table, --logic, --algorithm\n"
    )
    done = lineage(pipeline, "resolve", "--table")
    assert done.exit_code == 2
    assert done.stderr.startswith("Error: Option '--table' requires an argument.")
    assert done.stderr.count("\n") == 1
    with catalog(pipeline) as c:
        assert c.run_count() == 0


def test_keys_and_time_names_show_in_help(pipeline: Path) -> None:
    text = lineage(pipeline, "resolve", "--help", check=True).stdout
    for option in ("--table", "--logic", "--algorithm", "--retrieval-time", "--trained-time"):
        assert option in text
    assert "--table" in lineage(pipeline, "runs", "--help", check=True).stdout


def test_run_step_needs_its_upstream_chain(pipeline: Path) -> None:
    done = lineage(pipeline, "run", "process", "--table", "transactions", "--logic", "plain")
    assert done.exit_code == 1
    assert "cannot run process: no coherent upstream run for load:transactions" in done.stderr
    lineage(pipeline, "run", "load", "--table", "transactions", check=True)
    done = lineage(
        pipeline, "run", "process", "--table", "transactions", "--logic", "plain", "--json",
        check=True,
    )  # fmt: skip
    launched = json.loads(done.stdout)
    assert (launched["step"], launched["value"], launched["status"]) == (
        "process",
        "plain",
        "finished",
    )
    done = lineage(pipeline, "run", "nosuch", "--table", "x")
    assert done.exit_code == 2
    assert "unknown step 'nosuch': lineage.toml declares load, process, train" in done.stderr
