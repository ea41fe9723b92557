"""`lineage init`, `runs`, `show` and `artifacts get`, and every bad input they meet.

Output is checked as printed, then the state through the library.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import lineage
from lineage import api, times
from lineage.errors import InvalidName, NotFound
from lineage.run import open_session
from tests.helpers import Result, invoke, recording_in, run_cli


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Recorded out of time order on purpose: listings must sort by run time, not by insertion.
T_LOAD_OLD = utc(2026, 11, 18, 9, 2, 11)
T_LOAD = utc(2026, 11, 20, 8, 0, 0)
T_CUSTOMERS = utc(2026, 11, 20, 9, 0, 0)
T_PROCESS = utc(2026, 11, 20, 10, 15, 2, 123456)
T_TRAIN_FAILED = utc(2026, 11, 21, 12, 30, 0)  # newer than train:lr, which finished
T_TRAIN_LR = utc(2026, 11, 21, 12, 0, 0)
T_TRAIN_RF = utc(2026, 11, 21, 13, 0, 0)
MODEL = b"\x80\x04weights of a logistic regression\x00" * 1000


def record_history(tmp_path: Path) -> dict[str, str]:
    """Record a small history in the current project and return the run ids by name."""
    ids: dict[str, str] = {}
    with lineage.start_run("load", table="transactions", time=T_LOAD) as run:
        run.log_table("data", pa.table({"amount": [1.0, 2.0, 3.0], "fraud": [0, 0, 1]}))
        run.log_metric("rows", 3)
        ids["load"] = run.id
    with lineage.start_run("load", table="transactions", time=T_LOAD_OLD) as run:
        run.log_table("data", pa.table({"amount": [1.0], "fraud": [0]}))
        ids["load_old"] = run.id
    with lineage.start_run("load", table="customers", time=T_CUSTOMERS) as run:
        run.log_table("data", pa.table({"name": ["a", "b"]}))
        ids["customers"] = run.id
    with lineage.start_run(
        "process", logic="plain", time=T_PROCESS, upstream=["load:transactions"]
    ) as run:
        data = run.input_table("data")
        run.log_param("fill", "mean")
        run.log_table("features", data)
        ids["process"] = run.id
    model = tmp_path / "model.pkl"
    model.write_bytes(MODEL)
    with lineage.start_run(
        "train", algorithm="lr", time=T_TRAIN_LR, upstream=["process:plain"]
    ) as run:
        run.input_table("features")
        run.log_params({"C": 1.0, "penalty": "l2"})
        run.log_metric("auc", 0.95)
        run.log_artifact(model)
        ids["train_lr"] = run.id
    with lineage.start_run(
        "train", algorithm="rf", time=T_TRAIN_RF, upstream=["process:plain"]
    ) as run:
        run.input_table("features")
        run.log_param("C", 2)
        run.log_metric("auc", 0.85)
        ids["train_rf"] = run.id
    with (
        pytest.raises(RuntimeError),
        lineage.start_run(
            "train", algorithm="lr", time=T_TRAIN_FAILED, upstream=["process:plain"]
        ) as run,
    ):
        ids["train_failed"] = run.id
        run.log_metric("auc", 0.7)
        raise RuntimeError("out of memory")
    return ids


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Record the history once per module; each test gets a copy of it (see ``runs``)."""
    root = tmp_path_factory.mktemp("history") / "project"
    api.init(root)
    with recording_in(root):
        ids = record_history(root.parent)
    return root, ids


@pytest.fixture
def runs(project: Path, recorded: tuple[Path, dict[str, str]]) -> dict[str, str]:
    """A fresh copy of the recorded history in this test's project: tests may change it."""
    source, ids = recorded
    # Drop the empty catalog first: a leftover -wal file must never meet the copied database.
    shutil.rmtree(project / ".lineage")
    shutil.copytree(source / ".lineage", project / ".lineage")
    return dict(ids)


def ok(*args: str) -> Result:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


def listed(*args: str) -> list[dict[str, Any]]:
    return json.loads(ok("runs", "--json", *args).stdout)


def listed_ids(*args: str) -> list[str]:
    return [r["run_id"] for r in listed(*args)]


def state(root: Path) -> dict[str, Any]:
    """Everything recorded: runs with params, metrics, edges; and the store's objects."""
    every = api.search(limit=None)
    return {
        "runs": [api.show(r.id).to_dict() for r in every],
        "objects": sorted(
            str(p.relative_to(root)) for p in (root / ".lineage/objects").rglob("*") if p.is_file()
        ),
    }


def fails(code: int, message: str, *args: str) -> Result:
    """Run a command that must fail with one line ``Error: <message>`` and no traceback."""
    result = invoke(*args)
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    assert result.stderr == f"Error: {message}\n"
    assert "Traceback" not in result.output
    return result


def xxh128sum(path: Path) -> str:
    tool = shutil.which("xxh128sum")
    assert tool, "xxh128sum is missing: install the Debian package xxhash (scripts/test does)"
    done = subprocess.run([tool, str(path)], capture_output=True, text=True, check=True)
    return "xxh128:" + done.stdout.split()[0]


def object_path(root: Path, hash_: str) -> Path:
    hexdigest = hash_.removeprefix("xxh128:")
    return root / ".lineage/objects/xxh128" / hexdigest[:2] / hexdigest[2:]


# -- init -------------------------------------------------------------------------------------


def test_init_creates_catalog_and_store_and_keeps_what_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = (tmp_path / "fresh").resolve()
    result = ok("init", str(root))
    assert result.stdout.splitlines() == [
        f"project  {root}",
        f"catalog  sqlite:///{root}/.lineage/catalog.db",
        f"store    {root}/.lineage/objects",
    ]
    assert (root / ".lineage/catalog.db").is_file()
    assert (root / ".lineage/objects").is_dir()
    monkeypatch.chdir(root)
    with lineage.start_run("load", table="t") as run:
        run.log_metric("rows", 1)
    before = state(root)
    again = json.loads(ok("init", "--json").stdout)
    assert again["root"] == str(root)
    assert again["catalog"] == f"sqlite:///{root}/.lineage/catalog.db"
    assert state(root) == before  # a second init loses nothing
    assert listed_ids() == [run.id]


# -- runs -------------------------------------------------------------------------------------


def test_runs_lists_newest_first_by_run_time_not_insertion(runs: dict[str, str]) -> None:
    assert listed_ids() == [
        runs["train_rf"],
        runs["train_failed"],
        runs["train_lr"],
        runs["process"],
        runs["customers"],
        runs["load"],
        runs["load_old"],
    ]
    table = ok("runs").stdout.splitlines()
    assert table[0].split() == ["RUN", "STEP", "KEY", "VALUE", "TIME", "STATUS", "METRICS"]
    assert table[1].split()[:6] == [
        runs["train_rf"][:8],
        "train",
        "algorithm",
        "rf",
        "2026-11-21T13:00:00Z",
        "finished",
    ]
    assert "auc=0.85" in table[1]
    assert [line.split()[0] for line in table[1:]] == [i[:8] for i in listed_ids()]


def test_runs_json_has_the_documented_fields(runs: dict[str, str]) -> None:
    found = listed("--step", "train", "--limit", "1")
    assert len(found) == 1
    run = found[0]
    assert {k: run[k] for k in ("run_id", "step", "key", "value", "time", "status")} == {
        "run_id": runs["train_rf"],
        "step": "train",
        "key": "algorithm",
        "value": "rf",
        "time": "2026-11-21T13:00:00.000000Z",
        "status": "finished",
    }
    assert run["params"] == {"C": 2}  # numbers as numbers (tests/test_papercuts.py)
    assert run["metrics"] == {"auc": 0.85}


def test_runs_csv(runs: dict[str, str]) -> None:
    rows = list(csv.reader(io.StringIO(ok("runs", "--csv", "--step", "process").stdout)))
    assert rows == [
        ["run_id", "step", "key", "value", "time", "status", "params", "metrics"],
        [
            runs["process"],
            "process",
            "logic",
            "plain",
            "2026-11-20T10:15:02.123456Z",
            "finished",
            '{"fill": "mean"}',
            "{}",
        ],
    ]


def test_runs_by_step(runs: dict[str, str]) -> None:
    assert listed_ids("--step", "load") == [runs["customers"], runs["load"], runs["load_old"]]


def test_key_filter_lists_the_runs_of_that_value_and_those_made_from_them(
    runs: dict[str, str],
) -> None:
    assert listed_ids("--table", "transactions") == [
        runs["train_rf"],
        runs["train_failed"],
        runs["train_lr"],
        runs["process"],
        runs["load"],
        runs["load_old"],
    ]
    assert listed_ids("--table", "customers") == [runs["customers"]]
    assert listed_ids("--table", "customers,transactions", "--step", "load") == [
        runs["customers"],
        runs["load"],
        runs["load_old"],
    ]
    # --step keeps one step; two keys narrow to the chain that has both.
    assert listed_ids("--step", "train", "--table", "transactions") == [
        runs["train_rf"],
        runs["train_failed"],
        runs["train_lr"],
    ]
    assert listed_ids("--table", "transactions", "--logic", "plain", "--algorithm", "lr") == [
        runs["train_failed"],
        runs["train_lr"],
    ]
    assert listed_ids("--algorithm=rf") == [runs["train_rf"]]


def test_key_filter_of_a_value_never_recorded_lists_nothing(runs: dict[str, str]) -> None:
    result = ok("runs", "--table", "nope")
    assert result.stdout == ""
    assert result.stderr == "no runs match\n"
    assert listed("--table", "nope") == []


def test_runs_on_a_day_and_since_until(runs: dict[str, str]) -> None:
    assert listed_ids("--on", "2026-11-20") == [runs["process"], runs["customers"], runs["load"]]
    assert listed_ids("--on", "2026-11-20T10:15:02Z") == [runs["process"]]
    assert listed_ids("--since", "2026-11-21") == [
        runs["train_rf"],
        runs["train_failed"],
        runs["train_lr"],
    ]
    # --until takes a date as including that day.
    assert listed_ids("--until", "2026-11-18") == [runs["load_old"]]
    assert listed_ids("--since", "20261120090000", "--until", "2026-11-21T12:29:59Z") == [
        runs["train_lr"],
        runs["process"],
        runs["customers"],
    ]
    unix = str(int(T_TRAIN_LR.timestamp()))
    assert listed_ids("--since", unix, "--step", "train") == [
        runs["train_rf"],
        runs["train_failed"],
        runs["train_lr"],
    ]


def test_runs_on_today_and_yesterday(project: Path) -> None:
    with lineage.start_run("load", table="t") as today:
        pass
    with lineage.start_run("load", table="t", time=times.parse_time("yesterday")) as yesterday:
        pass
    assert listed_ids("--on", "today") == [today.id]
    assert listed_ids("--on", "yesterday") == [yesterday.id]


def test_runs_by_status_param_metric_and_limit(runs: dict[str, str]) -> None:
    assert listed_ids("--status", "failed") == [runs["train_failed"]]
    assert listed_ids("--param", "C=1.0") == [runs["train_lr"]]
    assert listed_ids("--param", "C=1.0", "--param", "penalty=l2") == [runs["train_lr"]]
    assert listed_ids("--param", "C=1.0", "--param", "penalty=l1") == []
    assert listed_ids("--metric", "auc>0.9") == [runs["train_lr"]]
    assert listed_ids("--metric", "auc >= 0.85", "--metric", "auc<0.9") == [runs["train_rf"]]
    assert listed_ids("--metric", "auc!=0.95", "--step", "train") == [
        runs["train_rf"],
        runs["train_failed"],
    ]
    assert listed_ids("--limit", "2") == [runs["train_rf"], runs["train_failed"]]
    assert len(listed_ids("--limit", "0")) == 7


def test_key_declared_in_lineage_toml_is_an_option_before_any_run(project: Path) -> None:
    (project / "lineage.toml").write_text(
        '[steps.load]\nkey = "table"\n\n[steps.deploy]\nkey = "target_env"\nafter = ["load"]\n'
    )
    assert "--target-env VALUE" in ok("runs", "--help").stdout
    assert listed("--target-env", "prod") == []
    with lineage.start_run("load", table="t") as load:
        pass
    with lineage.start_run("deploy", target_env="prod", upstream=["load:t"]) as deploy:
        pass
    assert listed_ids("--target-env", "prod") == [deploy.id]
    assert listed_ids("--table", "t") == [deploy.id, load.id]


def test_key_with_a_hyphen_is_an_option_too(project: Path) -> None:
    (project / "lineage.toml").write_text('[steps.deploy]\nkey = "target-env"\n')
    assert "--target-env VALUE" in ok("runs", "--help").stdout
    with lineage.start_run("deploy", **{"target-env": "prod"}) as deploy:
        pass
    assert listed_ids("--target-env", "prod") == [deploy.id]
    (project / "lineage.toml").unlink()  # recorded only: the extra --target-env finds it too
    assert listed_ids("--target-env", "prod") == [deploy.id]


# -- show -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("{load_old:.8}", "load_old"),
        ("{train_lr:.32}", "train_lr"),
        ("load:transactions", "load"),
        ("load:transactions@2026-11-18", "load_old"),
        ("load:transactions@2026-11-20", "load"),
        ("load:transactions@2026-11-18T09:02:11Z", "load_old"),
        ("load:transactions@20261118090211", "load_old"),
        ("process:plain@2026-11-20T10:15:02.123456Z", "process"),
        ("process:plain@2026-11-20T10:15:02Z", "process"),
        ("train:lr", "train_lr"),  # the newest finished, not the newer failed one
        ("train:lr@2026-11-21", "train_lr"),  # the newest finished that day
        ("train", "train_rf"),
        ("train:lr@2026-11-21T12:30:00Z", "train_failed"),
    ],
)
def test_show_every_ref_form(runs: dict[str, str], ref: str, expected: str) -> None:
    text = ref.format(**runs)
    shown = json.loads(ok("show", text, "--json").stdout)
    assert shown["run_id"] == runs[expected]
    human = ok("show", text).stdout
    assert human.splitlines()[0] == f"run        {runs[expected]}"


def test_show_id_prefix_of_four(runs: dict[str, str]) -> None:
    prefix = runs["customers"][:4]
    if any(i != runs["customers"] and i.startswith(prefix) for i in runs.values()):
        prefix = runs["customers"][:12]
    assert json.loads(ok("show", prefix, "--json").stdout)["run_id"] == runs["customers"]


def test_show_json_has_inputs_outputs_and_neighbours(runs: dict[str, str], project: Path) -> None:
    process = json.loads(ok("show", "process:plain", "--json").stdout)
    load = json.loads(ok("show", "load:transactions", "--json").stdout)
    (data,) = load["outputs"]
    assert {k: data[k] for k in ("name", "size", "rows", "kind")} == {
        "name": "data",
        "size": object_path(project, data["hash"]).stat().st_size,
        "rows": 3,
        "kind": "table",
    }
    (consumed,) = process["inputs"]
    assert consumed["name"] == "data"
    assert consumed["hash"] == data["hash"]
    assert consumed["rows"] == 3
    assert [o["name"] for o in process["outputs"]] == ["features"]
    assert process["upstream"] == [runs["load"]]
    assert sorted(process["downstream"]) == sorted(
        [runs["train_lr"], runs["train_rf"], runs["train_failed"]]
    )
    assert process["params"] == {"fill": "mean"}
    assert process["time"] == "2026-11-20T10:15:02.123456Z"
    assert load["downstream"] == [runs["process"]]
    assert load["metrics"] == {"rows": 3.0}


def test_show_prints_hashes_equal_to_xxh128sum_of_stored_and_fetched_bytes(
    runs: dict[str, str], project: Path, tmp_path: Path
) -> None:
    human = ok("show", "train:lr").stdout
    line = next(x for x in human.splitlines() if x.strip().startswith("model.pkl"))
    name, kind, hash_, *_ = line.split()
    assert (name, kind) == ("model.pkl", "file")
    assert hash_ == xxh128sum(object_path(project, hash_))
    fetched = tmp_path / "out" / "model.pkl"
    fetched.parent.mkdir()
    got = ok("artifacts", "get", "train:lr:model.pkl", "-o", str(fetched))
    assert got.stdout.split()[:2] == [str(fetched), hash_]
    assert fetched.read_bytes() == MODEL
    assert xxh128sum(fetched) == hash_
    shown = json.loads(ok("show", "train:lr", "--json").stdout)
    assert [(o["name"], o["hash"], o["size"]) for o in shown["outputs"]] == [
        ("model.pkl", hash_, len(MODEL))
    ]
    # Every hash show prints for a table matches the bytes in the store too.
    for artifact in json.loads(ok("show", "process:plain", "--json").stdout)["outputs"]:
        assert xxh128sum(object_path(project, artifact["hash"])) == artifact["hash"]


def test_artifacts_get_by_hash_and_hash_prefix(runs: dict[str, str], tmp_path: Path) -> None:
    shown = json.loads(ok("show", "train:lr", "--json").stdout)
    hash_ = shown["outputs"][0]["hash"]
    for i, spec in enumerate([hash_, hash_[: len("xxh128:") + 8]]):
        target = tmp_path / f"by-hash-{i}.bin"
        fetched = json.loads(ok("artifacts", "get", spec, "-o", str(target), "--json").stdout)
        assert fetched["hash"] == hash_
        assert fetched["path"] == str(target)
        assert target.read_bytes() == MODEL


def test_artifacts_get_into_an_existing_folder_keeps_the_name(
    runs: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "into"
    folder.mkdir()
    got = ok("artifacts", "get", "train:lr:model.pkl", "-o", str(folder))
    assert got.stdout.split()[0] == str(folder / "model.pkl")
    assert (folder / "model.pkl").read_bytes() == MODEL


def test_artifacts_get_to_an_unwritable_path(runs: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / "model.pkl"
    fails(
        1,
        f"cannot write {str(target)!r}: {str(blocker)!r} is a file, not a folder",
        "artifacts",
        "get",
        "train:lr:model.pkl",
        "-o",
        str(target),
    )
    assert blocker.read_text() == "not a folder"


def test_artifacts_get_of_a_table_is_its_parquet(runs: dict[str, str], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    target = tmp_path / "features.parquet"
    ok("artifacts", "get", f"{runs['process'][:8]}:features", "-o", str(target))
    assert pq.read_table(target).column("amount").to_pylist() == [1.0, 2.0, 3.0]


def test_real_executable_lists_what_the_library_recorded(
    runs: dict[str, str], project: Path
) -> None:
    done = run_cli("runs", "--json", "--step", "train", cwd=project, check=True)
    assert [r["run_id"] for r in json.loads(done.stdout)] == listed_ids("--step", "train")
    assert done.stderr == ""
    bad = run_cli("show", "train:nope", cwd=project)
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error: no run matches 'train:nope'")
    assert "Traceback" not in bad.stderr


# -- bad input: one line, the right exit code, nothing recorded changed -----------------------


def test_unknown_step(runs: dict[str, str], project: Path) -> None:
    before = state(project)
    fails(2, "unknown step 'nope': known steps are load, process, train", "runs", "--step", "nope")
    assert state(project) == before


def test_unknown_key(runs: dict[str, str], project: Path) -> None:
    before = state(project)
    message = "unknown key 'colour': known keys are algorithm, logic, table"
    fails(2, message, "runs", "--colour", "x")
    assert state(project) == before


@pytest.mark.parametrize("option", ["--on", "--since", "--until"])
def test_malformed_time(runs: dict[str, str], project: Path, option: str) -> None:
    before = state(project)
    fails(
        2,
        "cannot read '2026-13-01' as a time: use an ISO date or datetime (2026-11-20, "
        "2026-11-20T10:15:02Z), YYYYMMDD, YYYYMMDDHHMMSS, Unix seconds, today or yesterday",
        "runs",
        option,
        "2026-13-01",
    )
    assert state(project) == before


def test_malformed_time_in_a_ref(runs: dict[str, str], project: Path) -> None:
    result = invoke("show", "load:transactions@soon")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: cannot read 'soon' as a time: use an ISO date")
    assert result.stderr.count("\n") == 1


def test_ambiguous_ref(project: Path) -> None:
    catalog = open_session().catalog
    for run_id in ("abcd1111" + "0" * 24, "abcd2222" + "0" * 24):
        catalog.start_run("load", "table", "t", run_id=run_id, status="finished")
    before = state(project)
    fails(
        2,
        "'abcd' matches more than one run (abcd1111, abcd2222): give more of the id",
        "show",
        "abcd",
    )
    assert json.loads(ok("show", "abcd2", "--json").stdout)["run_id"] == "abcd2222" + "0" * 24
    assert state(project) == before


def test_unmatched_ref_names_the_newest_run_of_that_step_and_value(
    runs: dict[str, str], project: Path
) -> None:
    before = state(project)
    fails(
        1,
        "no run matches 'load:transactions@2026-11-01' "
        "(newest load:transactions is 2026-11-20T08:00:00Z)",
        "show",
        "load:transactions@2026-11-01",
    )
    fails(
        1,
        "no run matches 'deploy:prod': there is no step 'deploy' (steps: load, process, train)",
        "show",
        "deploy:prod",
    )
    fails(
        1,
        "no run matches 'train:svm': no train run has the value 'svm'",
        "show",
        "train:svm",
    )
    fails(
        1,
        "no run matches 'ffff0000': give an id prefix from `lineage runs` or a ref such as "
        "process:plain",
        "show",
        "ffff0000",
    )
    assert state(project) == before


def test_malformed_ref(runs: dict[str, str]) -> None:
    fails(
        2,
        "cannot read 'process:' as a ref: use an id prefix (3f2a9c), step:value (process:plain) "
        "or step:value@time (process:plain@2026-11-20)",
        "show",
        "process:",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--metric", "auc"],
            "metric filter 'auc' is not a comparison: use NAME OP NUMBER with OP one of "
            "> >= < <= = == !=, such as 'auc>0.9'",
        ),
        (
            ["--metric", "auc>high"],
            "metric filter 'auc>high' is not a comparison: use NAME OP NUMBER with OP one of "
            "> >= < <= = == !=, such as 'auc>0.9'",
        ),
        (["--param", "noequals"], "param filter 'noequals' is not NAME=VALUE, such as 'fill=mean'"),
        (["--param", "=x"], "param filter '=x' is not NAME=VALUE, such as 'fill=mean'"),
        (["--limit", "-1"], "limit must be 0 (no limit) or up to 2147483647 runs, not -1"),
    ],
)
def test_invalid_filter(runs: dict[str, str], project: Path, args: list[str], message: str) -> None:
    before = state(project)
    fails(2, message, "runs", *args)
    assert state(project) == before


def test_unknown_status_is_a_usage_error(runs: dict[str, str]) -> None:
    result = invoke("runs", "--status", "done")
    assert result.exit_code == 2
    assert "'done' is not one of 'running', 'finished', 'failed', 'killed'" in result.stderr


def test_key_option_without_value(runs: dict[str, str]) -> None:
    result = invoke("runs", "--table")
    assert result.exit_code == 2
    assert "Error: option --table needs a value: --table VALUE" in result.stderr


def test_artifact_name_that_leaves_its_folder(runs: dict[str, str], project: Path) -> None:
    before = state(project)
    with lineage.start_run("train", algorithm="svm") as run:
        for bad in ("../x", "/etc/passwd", "a/../../b", "~/x"):
            with pytest.raises(InvalidName) as caught:
                run.log_artifact(project / "lineage.toml", name=bad)
            assert str(caught.value) == (
                f"artifact name {bad!r} leaves its folder: use a relative name such as 'model.pkl'"
            )
            assert caught.value.exit_code == 2
    after = state(project)
    assert after["objects"] == before["objects"]
    assert [r for r in after["runs"] if r["run_id"] != run.id] == before["runs"]
    assert api.show(run.id).outputs == []


def test_artifact_get_of_an_unknown_name_or_hash(runs: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "x"
    fails(
        1,
        "run load:transactions@2026-11-20T08:00:00Z has no output 'model' (its outputs: data)",
        "artifacts",
        "get",
        "load:transactions:model",
        "-o",
        str(target),
    )
    fails(
        1,
        "no artifact has a hash starting with 'xxh128:0000': copy one from `lineage show REF`",
        "artifacts",
        "get",
        "xxh128:0000",
        "-o",
        str(target),
    )
    fails(
        2,
        "'model.pkl' names no artifact: use REF:NAME, such as train:LogisticRegression:model.pkl",
        "artifacts",
        "get",
        "model.pkl",
        "-o",
        str(target),
    )
    assert not target.exists()


def test_missing_file_to_log(runs: dict[str, str], project: Path, tmp_path: Path) -> None:
    before = state(project)
    missing = tmp_path / "missing.bin"
    with pytest.raises(NotFound) as caught, lineage.start_run("train", algorithm="svm") as run:
        run.log_artifact(missing)
    assert str(caught.value) == f"no file or folder to log at {str(missing)!r}: check the path"
    assert caught.value.exit_code == 1
    after = state(project)
    assert after["objects"] == before["objects"]
    assert [r for r in after["runs"] if r["run_id"] != run.id] == before["runs"]
    failed = api.show(run.id)
    assert failed.run.status == "failed"
    assert failed.outputs == []


def test_unreadable_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "broken"
    (root / ".lineage").mkdir(parents=True)
    garbage = bytes(range(256)) * 20
    (root / ".lineage/catalog.db").write_bytes(garbage)
    monkeypatch.chdir(root)
    for args in (["runs"], ["show", "abcd"], ["runs", "--step", "load"]):
        result = invoke(*args)
        assert result.exit_code == 1, result.output
        assert result.stderr == (
            f"Error: cannot read catalog sqlite:///{root}/.lineage/catalog.db: file is not a "
            "database: check the file, or point --catalog / LINEAGE_CATALOG_URL at a lineage "
            "catalog\n"
        )
        assert "Traceback" not in result.output
    assert (root / ".lineage/catalog.db").read_bytes() == garbage


def test_no_project_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["runs"], ["show", "train:lr"], ["artifacts", "get", "a:b", "-o", "x"]):
        fails(
            2,
            "no lineage project here (no lineage.toml or .lineage/ in this folder or its "
            "parents): run `lineage init` first",
            *args,
        )
    assert list(tmp_path.iterdir()) == []


def test_lineage_toml_syntax_error_names_file_and_line(runs: dict[str, str], project: Path) -> None:
    (project / "lineage.toml").write_text('[steps.load]\nkey = "table\n')
    # What needs the steps stops; what only reads the catalog goes on (tests/test_bad_input.py).
    result = invoke("resolve", "--table", "transactions")
    assert result.exit_code == 2
    # tomllib words the problem itself; the file, the line and what to do are ours.
    assert result.stderr.startswith(f"Error: {project}/lineage.toml: ")
    assert "(at line 2, column 13)" in result.stderr
    assert result.stderr.endswith(": fix the TOML syntax\n")
    assert result.stderr.count("\n") == 1
    assert "--help" in invoke("runs", "--help").stdout  # help still works to read the options
