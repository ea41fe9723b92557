"""Issue 10: what a new user (and an attacker) met first, each through the CLI or the library.

Item 1 (NaN metrics, logging durability) is tested elsewhere; item 4 in tests/test_readme.py;
item 9 and issue 15's bad input in tests/test_bad_input.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

import lineage
from lineage.errors import InvalidRef
from tests.helpers import Result, invoke


def one_error_line(result: Result, code: int, *fragments: str) -> str:
    """Check that a command failed with one ``Error:`` line holding ``fragments``."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def catalog_engine(project: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{project / '.lineage' / 'catalog.db'}")


# -- item 3: hashes read from the catalog are checked before a path is built ------------------

EVIL = "xxh128:../../secret"


@pytest.fixture
def edited(project: Path) -> dict[str, str]:
    """A run whose output row was edited by hand to a hash that climbs out of the store."""
    (project / ".lineage" / "secret").write_bytes(b"not an object\n")
    with lineage.start_run("load", table="transactions") as run:
        run.log_table("data", pa.table({"x": [1, 2]}))
    engine = catalog_engine(project)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO artifacts (hash, size, kind, created_at) "
                "SELECT :h, 14, 'file', started_at FROM runs"
            ),
            {"h": EVIL},
        )
        conn.execute(
            sa.text("INSERT INTO outputs (run_id, name, hash) VALUES (:r, 'model.pkl', :h)"),
            {"r": run.id, "h": EVIL},
        )
    engine.dispose()
    return {"run": run.id}


def test_verify_reports_a_malformed_hash_with_the_run_using_it(edited: dict[str, str]) -> None:
    result = invoke("verify")
    assert result.exit_code == 1, result.output
    assert f"malformed {EVIL}" in result.stdout
    assert edited["run"][:8] in result.stdout
    assert result.stdout.rstrip().endswith("1 malformed")
    report = json.loads(invoke("verify", "--json").stdout)
    assert [(p["hash"], p["status"]) for p in report["problems"]] == [(EVIL, "malformed")]


def test_fetching_a_malformed_hash_builds_no_path(edited: dict[str, str], tmp_path: Path) -> None:
    result = invoke("artifacts", "get", "load:transactions:model.pkl", "-o", str(tmp_path / "m"))
    one_error_line(result, 1, f"malformed hash {EVIL!r}", "lineage verify")
    assert not (tmp_path / "m").exists()


def test_a_malformed_member_of_a_folder_manifest_is_reported(project: Path) -> None:
    from lineage.store import Store

    store = Store(str(project / ".lineage" / "objects"))
    manifest = {"format": "lineage-manifest-1", "entries": [{"path": "a", "hash": EVIL, "size": 1}]}
    stored = store.put_bytes(json.dumps(manifest).encode())
    with lineage.start_run("load", table="t") as run:
        pass
    engine = catalog_engine(project)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO artifacts (hash, size, kind, created_at) "
                "SELECT :h, 1, 'folder', started_at FROM runs"
            ),
            {"h": stored.hash},
        )
        conn.execute(
            sa.text("INSERT INTO outputs (run_id, name, hash) VALUES (:r, 'f', :h)"),
            {"r": run.id, "h": stored.hash},
        )
    engine.dispose()
    report = json.loads(invoke("verify", "--json").stdout)
    assert [(p["hash"], p["status"], p["paths"]) for p in report["problems"]] == [
        (EVIL, "malformed", ["a"])
    ]


# -- item 7: upstream takes one ref or a list -------------------------------------------------


def test_upstream_takes_one_ref_as_a_string(project: Path) -> None:
    with lineage.start_run("load", table="transactions") as load:
        load.log_table("data", pa.table({"x": [1]}))
    with lineage.start_run("process", logic="plain", upstream="load:transactions") as run:
        assert run.input_table("data").num_rows == 1
    assert [r.id for r in run.upstream_runs()] == [load.id]
    with lineage.start_run("process", logic="both", upstream=["load:transactions"]) as listed:
        pass
    assert [r.id for r in listed.upstream_runs()] == [load.id]


# -- item 8: a key value no ref could name is refused when recorded ---------------------------


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("2026@prod", "holds '@'"),
        (" padded", "blank"),
        ("two\nlines", "control character"),
        ("", "is empty"),
    ],
)
def test_a_key_value_no_ref_could_name_is_refused(project: Path, value: str, why: str) -> None:
    with pytest.raises(InvalidRef, match=why):
        lineage.start_run("load", table=value)
    assert lineage.search() == []  # nothing recorded


def test_resolve_refuses_such_a_value_before_launching_anything(project: Path) -> None:
    (project / "lineage.toml").write_text(
        '[steps.load]\nkey = "table"\ncommand = "echo load"\n\n'
        '[steps.train]\nkey = "algorithm"\nafter = ["load"]\ncommand = "echo train"\n'
    )
    result = invoke("resolve", "--table", "transactions", "--algorithm", "lr@v2")
    one_error_line(result, 2, "algorithm value 'lr@v2' holds '@'")
    assert lineage.search() == []


def test_a_value_with_colons_and_slashes_is_still_named(project: Path) -> None:
    with lineage.start_run("load", table="db:sales/2026") as run:
        pass
    shown = json.loads(invoke("show", "load:db:sales/2026", "--json").stdout)
    assert shown["run_id"] == run.id


# -- item 6: start_run outside a project refuses, as the CLI does -----------------------------


def test_start_run_outside_a_project_refuses_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineage.errors import UsageError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as caught:
        lineage.start_run("load", table="transactions")
    cli = invoke("runs")
    assert f"Error: {caught.value}\n" == cli.stderr
    assert list(tmp_path.iterdir()) == []


def test_start_run_outside_a_project_with_a_catalog_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'elsewhere' / 'catalog.db'}"
    with lineage.start_run("load", table="a", catalog=url, store=str(tmp_path / "objects")):
        pass
    monkeypatch.setenv("LINEAGE_CATALOG_URL", url)
    with lineage.start_run("load", table="b", store=str(tmp_path / "objects")):
        pass
    assert sorted(r.value for r in lineage.search(catalog=url)) == ["a", "b"]
    assert not (tmp_path / ".lineage").exists()


# -- item 5: the git state of the repository that holds the step's code -----------------------

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}
STEPS = '[steps.load]\nkey = "table"\ncommand = "python steps/load.py"\ncode = ["steps/load.py"]\n'


def git(cwd: Path, *args: str) -> str:
    import os
    import subprocess

    done = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def make_project(root: Path) -> None:
    from tests.helpers import run_cli

    (root / "steps").mkdir(parents=True)
    (root / "steps" / "load.py").write_text("print('loaded')\n")
    (root / "lineage.toml").write_text(STEPS)
    run_cli("init", cwd=root, check=True)


def launched_git_state(root: Path) -> tuple[str | None, bool | None]:
    """Launch the step in a fresh process (git is asked once per process) and read its run."""
    from tests.helpers import run_cli

    run_cli("run", "load", "--table", "t", cwd=root, check=True)
    shown = json.loads(run_cli("show", "load:t", "--json", cwd=root, check=True).stdout)
    return shown["git_commit"], shown["git_dirty"]


@pytest.mark.slow
def test_a_project_inside_a_repository_it_is_not_part_of_records_no_commit(
    tmp_path: Path,
) -> None:
    # As the README's demo/ inside a lineage checkout: the checkout's commit says nothing
    # about the demo's code.
    outer = tmp_path / "checkout"
    outer.mkdir()
    git(outer, "init", "-q")
    (outer / "README").write_text("outer\n")
    git(outer, "add", "README")
    git(outer, "commit", "-qm", "outer")
    make_project(outer / "demo")
    assert launched_git_state(outer / "demo") == (None, None)


@pytest.mark.slow
def test_a_project_in_its_own_repository_records_its_commit_and_edits(tmp_path: Path) -> None:
    root = tmp_path / "project"
    make_project(root)
    git(root, "init", "-q")
    git(root, "add", "lineage.toml", "steps")
    git(root, "commit", "-qm", "steps")
    head = git(root, "rev-parse", "HEAD")
    assert launched_git_state(root) == (head, False)
    (root / "steps" / "load.py").write_text("print('loaded, edited')\n")
    assert launched_git_state(root) == (head, True)


@pytest.mark.slow
def test_a_repository_that_does_not_hold_the_steps_code_records_no_commit(tmp_path: Path) -> None:
    root = tmp_path / "project"
    make_project(root)
    git(root, "init", "-q")
    (root / "other.txt").write_text("x\n")
    git(root, "add", "other.txt")
    git(root, "commit", "-qm", "not the steps")
    # The repository holds the project but not the step's code: nothing to name the code by.
    assert launched_git_state(root) == (None, None)


def test_an_sdk_script_records_the_repository_holding_the_script(tmp_path: Path) -> None:
    import subprocess
    import sys

    project = tmp_path / "project"
    project.mkdir()
    from lineage import api

    api.init(project)
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "record.py").write_text(
        "import lineage\nwith lineage.start_run('load', table='t') as run:\n    print(run.id)\n"
    )
    git(scripts, "init", "-q")
    git(scripts, "add", "record.py")
    git(scripts, "commit", "-qm", "script")
    done = subprocess.run(
        [sys.executable, str(scripts / "record.py")],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    run_id = done.stdout.strip()
    run = lineage.show(run_id, catalog=f"sqlite:///{project / '.lineage' / 'catalog.db'}").run
    assert (run.git_commit, run.git_dirty) == (git(scripts, "rev-parse", "HEAD"), False)


# -- item 2: artifacts get never overwrites unasked; -o - streams; a missing folder is said ---

MODEL = b"\x80\x04weights\x00" * 500


@pytest.fixture
def model(project: Path, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "model.pkl"
    path.write_bytes(MODEL)
    with lineage.start_run("train", algorithm="lr") as run:
        digest = run.log_artifact(path)
        run.log_table("scores", pa.table({"auc": [0.9]}))
    return {"hash": digest, "run": run.id}


def test_get_refuses_to_overwrite_a_file_without_force(
    model: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "mine.txt"
    target.write_text("my own notes\n")
    result = invoke("artifacts", "get", "train:lr:model.pkl", "-o", str(target))
    one_error_line(result, 2, f"{str(target)!r} exists", "--force")
    assert target.read_text() == "my own notes\n"
    forced = invoke("artifacts", "get", "train:lr:model.pkl", "-o", str(target), "--force")
    assert forced.exit_code == 0, forced.output
    assert target.read_bytes() == MODEL


def test_get_into_a_folder_refuses_a_file_of_that_name_there(
    model: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "model.pkl").write_text("older\n")
    result = invoke("artifacts", "get", "train:lr:model.pkl", "-o", str(folder))
    one_error_line(result, 2, "model.pkl' exists")
    assert (folder / "model.pkl").read_text() == "older\n"


def test_get_to_dash_streams_the_verified_bytes_to_stdout(model: dict[str, str]) -> None:
    from click.testing import CliRunner

    from lineage.cli import cli

    # CliRunner keeps stdout's bytes as they were written.
    done = CliRunner().invoke(cli, ["artifacts", "get", "train:lr:model.pkl", "-o", "-"])
    assert done.exit_code == 0, done.output
    assert done.stdout_bytes == MODEL
    table = CliRunner().invoke(cli, ["artifacts", "get", "train:lr:scores", "-o", "-"])
    assert table.stdout_bytes.startswith(b"PAR1")
    assert not Path("-").exists()


def test_get_into_a_folder_that_does_not_exist_says_so(
    model: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "nowhere" / "model.pkl"
    result = invoke("artifacts", "get", "train:lr:model.pkl", "-o", str(target))
    one_error_line(result, 1, "does not exist", "create it first")
    assert not (tmp_path / "nowhere").exists()


def test_get_by_a_bare_hash_prefix(model: dict[str, str], tmp_path: Path) -> None:
    prefix = model["hash"].partition(":")[2][:10]
    result = invoke("artifacts", "get", prefix, "-o", str(tmp_path / "m.pkl"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.pkl").read_bytes() == MODEL
    assert invoke("audit", prefix).exit_code == 0  # the same prefix audit takes


def test_get_with_a_name_too_long_for_the_filesystem_is_a_usage_error(
    model: dict[str, str], tmp_path: Path
) -> None:
    # Issue 15, item 13: was an internal OSError (300 bytes) or exit 1 (250: the temp name).
    for length in (300, 250):
        target = tmp_path / ("a" * length)
        result = invoke("artifacts", "get", "train:lr:model.pkl", "-o", str(target))
        if length > 255:
            one_error_line(result, 2, "at most 255")
        else:
            assert result.exit_code == 0, result.output
            assert target.read_bytes() == MODEL


# -- item 14: the docs say what is there ------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent
_NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def test_performance_doc_counts_the_benchmarks_it_lists() -> None:
    import re

    text = (REPO / "docs" / "performance.md").read_text()
    word = re.search(r"^(\w+) benchmarks under `benchmarks/`", text, re.M)
    assert word is not None
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    listed = re.findall(r"benchmarks/(bench_\w+\.py)", first_block)
    on_disk = sorted(p.name for p in (REPO / "benchmarks").glob("bench_*.py"))
    assert sorted(listed) == on_disk
    assert _NUMBERS.index(word[1].lower()) == len(listed)


def test_every_file_the_code_cites_exists() -> None:
    import re

    for module in (REPO / "lineage").rglob("*.py"):
        for cited in re.findall(
            r"\b((?:docs/)?[A-Z][\w-]*\.md|docs/[\w-]+\.md)\b", module.read_text()
        ):
            assert (REPO / cited).is_file(), f"{module.relative_to(REPO)} cites {cited}"


def test_every_module_a_docstring_names_exists() -> None:
    import importlib
    import re

    for module in (REPO / "lineage").rglob("*.py"):
        for dotted in re.findall(r"``(lineage(?:\.\w+)+)``", module.read_text()):
            if dotted == "lineage.toml":  # the pipeline file, not a module
                continue
            parts = dotted.split(".")
            found = None
            for cut in range(len(parts), 0, -1):
                try:
                    found = importlib.import_module(".".join(parts[:cut]))
                except ImportError:
                    continue
                for attribute in parts[cut:]:
                    found = getattr(found, attribute, None)
                break
            assert found is not None, f"{module.relative_to(REPO)} names {dotted}"


def test_documented_errors_are_numbered_without_gaps() -> None:
    from tests.errors_doc import DOC, parse

    ids = [int(case.id[1:]) for case in parse(DOC.read_text())]
    assert ids == list(range(1, len(ids) + 1))


# -- item 10: an id prefix under four characters says so -------------------------------------


def test_a_short_id_prefix_says_a_prefix_needs_four(project: Path) -> None:
    with lineage.start_run("load", table="t") as run:
        pass
    # "c7a" reads as a step name, "7ca" as nothing: both are an id prefix too short.
    one_error_line(invoke("show", "c7a"), 1, "an id prefix needs at least 4 characters")
    one_error_line(invoke("show", "7ca"), 2, "an id prefix needs at least 4 characters")
    assert invoke("show", run.id[:4]).exit_code == 0
    # A real step of three letters is still found by its name.
    with lineage.start_run("abc", table="t"):
        pass
    assert json.loads(invoke("show", "abc", "--json").stdout)["step"] == "abc"


# -- item 11: parameters match by value and print with their types ----------------------------

TYPED = """\
[steps.train]
key = "algorithm"
params = { C = { type = "float", default = 1.0 }, label = { type = "string", default = "1" } }
"""


@pytest.fixture
def typed(project: Path) -> dict[str, str]:
    (project / "lineage.toml").write_text(TYPED)
    with lineage.start_run("train", algorithm="lr", params={"C": ".5"}) as half:
        half.log_param("depth", 3)
        half.log_param("fill", "007")
    with lineage.start_run("train", algorithm="lr", params={"C": "2"}) as two:
        pass
    return {"half": half.id, "two": two.id}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("C=.5", "half"),
        ("C=0.50", "half"),
        ("C=5e-1", "half"),
        ("C=2", "two"),
        ("depth=3.0", "half"),
        ("depth=3", "half"),
        ("fill=007", "half"),
    ],
)
def test_a_param_filter_matches_by_value(typed: dict[str, str], given: str, expected: str) -> None:
    result = invoke("runs", "--param", given, "--json")
    assert result.exit_code == 0, result.output
    assert [r["run_id"] for r in json.loads(result.stdout)] == [typed[expected]]


def test_a_param_filter_of_another_value_finds_nothing(typed: dict[str, str]) -> None:
    assert json.loads(invoke("runs", "--param", "C=0.6", "--json").stdout) == []
    assert json.loads(invoke("runs", "--param", "fill=7", "--json").stdout) == []


def test_json_prints_params_with_their_types(typed: dict[str, str]) -> None:
    runs = {r["run_id"]: r for r in json.loads(invoke("runs", "--json").stdout)}
    # C is a declared float, label a declared string that looks like a number; depth was
    # logged as an int, fill as text.
    assert runs[typed["half"]]["params"] == {"C": 0.5, "label": "1", "depth": 3, "fill": "007"}
    assert runs[typed["two"]]["params"] == {"C": 2.0, "label": "1"}
    shown = json.loads(invoke("show", typed["half"], "--json").stdout)
    assert shown["params"] == {"C": 0.5, "label": "1", "depth": 3, "fill": "007"}


# -- item 12: a metric's history is shown --------------------------------------------------


def test_show_metric_prints_every_point(project: Path) -> None:
    with lineage.start_run("train", algorithm="lr") as run:
        for step, loss in enumerate([0.9, 0.5, 0.25]):
            run.log_metric("loss", loss, step=step)
        run.log_metric("auc", 0.8)
    result = invoke("show", "train:lr", "--metric", "loss")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["STEP", "VALUE", "TIME"]
    assert [line.split()[:2] for line in lines[1:]] == [["0", "0.9"], ["1", "0.5"], ["2", "0.25"]]
    document = json.loads(invoke("show", "train:lr", "--metric", "loss", "--json").stdout)
    assert document["run_id"] == run.id and document["metric"] == "loss"
    assert [(p["step"], p["value"]) for p in document["points"]] == [(0, 0.9), (1, 0.5), (2, 0.25)]
    assert all(p["time"].endswith("Z") for p in document["points"])
    # Without a step, the column is empty.
    assert invoke("show", "train:lr", "--metric", "auc").stdout.splitlines()[1].split()[0] == "0.8"


def test_show_metric_that_was_never_logged(project: Path) -> None:
    with lineage.start_run("train", algorithm="lr") as run:
        run.log_metric("auc", 0.8)
    one_error_line(invoke("show", "train:lr", "--metric", "acc"), 1, "no metric 'acc'", "auc")


# -- item 13: the smaller ones ----------------------------------------------------------------


def test_help_lists_every_command_in_full(project: Path) -> None:
    from lineage.cli import cli

    for group, args in ((cli, ["--help"]), (cli.commands["db"], ["db", "--help"])):
        listed = invoke(*args).stdout.split("Commands:", 1)[1]
        assert "..." not in listed, listed
        for name, command in group.commands.items():  # type: ignore[attr-defined]
            first = (command.help or "").split("\n", 1)[0].strip()
            assert " ".join(first.split()) in " ".join(listed.split()), name


def test_every_option_help_starts_with_a_capital(project: Path) -> None:
    from lineage.cli import cli

    # Keys and time names declared in lineage.toml become options too: their help as well.
    (project / "lineage.toml").write_text(
        '[steps.load]\nkey = "table"\ntime = "retrieval_time"\n'
        '[steps.train]\nkey = "algorithm"\nafter = ["load"]\n'
    )

    def commands(group: Any) -> Any:
        for command in group.commands.values():
            yield command
            if hasattr(command, "commands"):
                yield from commands(command)

    import click

    for command in [cli, *commands(cli)]:
        context = click.Context(command)
        for param in command.get_params(context):
            text = getattr(param, "help", None)
            if text:
                assert text[0].isupper(), f"{command.name} {param.opts}: {text!r}"


def test_counts_read_as_english(project: Path, tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text("x")
    with lineage.start_run("load", table="t") as run:
        run.log_artifact(path)
    assert "checked 1 object (1 B): all intact" in invoke("verify").stdout
    swept = invoke("gc").stdout.strip().splitlines()[-1]
    assert swept.startswith("removed 0 objects (0 B); kept 1"), swept


def test_info_and_db_status_name_the_schema_revision_alike(project: Path) -> None:
    import re

    revision = invoke("db", "status", "--json")
    head = json.loads(revision.stdout)["revision"]
    assert re.fullmatch(r"\d{4}", head)
    assert f"schema revision {head}" in invoke("info").stdout


def test_rm_cascade_does_not_say_removing_before_it_may(project: Path) -> None:
    with lineage.start_run("load", table="t") as load:
        load.log_table("data", pa.table({"x": [1]}))
    with lineage.start_run("process", logic="p", upstream="load:t") as process:
        process.input_table("data")
    result = invoke("rm", "load:t", "--cascade")  # no terminal to ask on, no --yes
    assert result.exit_code == 2
    assert "removing" not in result.output
    assert "would remove 2 runs" in result.stdout
    assert {r.id for r in lineage.search()} == {load.id, process.id}  # nothing removed


def test_no_color_is_honoured_on_a_terminal(project: Path) -> None:
    import os
    import pty
    import subprocess

    from tests.helpers import lineage_bin

    with lineage.start_run("load", table="t"):
        pass

    def on_a_terminal(extra: dict[str, str]) -> bytes:
        leader, follower = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        done = subprocess.run(
            [lineage_bin(), "runs"], stdout=follower, stderr=follower, env={**env, **extra}
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        assert done.returncode == 0
        return b"".join(chunks)

    assert b"\x1b[" in on_a_terminal({})  # the header is bold on a terminal
    assert b"\x1b[" not in on_a_terminal({"NO_COLOR": "1"})


def test_a_very_long_key_value_does_not_stretch_every_row(project: Path) -> None:
    long = "x" * 300
    with lineage.start_run("load", table=long):
        pass
    with lineage.start_run("load", table="short"):
        pass
    lines = invoke("runs").stdout.splitlines()
    assert max(len(line) for line in lines) < 160, lines
    short = next(line for line in lines if " short " in line)
    assert len(short) < 120
    # The whole value stays in --json.
    assert long in invoke("runs", "--json").stdout


def test_init_hint_says_cd_and_warns_of_a_missing_bucket(tmp_path: Path, s3_bucket: str) -> None:
    result = invoke("init", "--example", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    assert f"Next: cd {tmp_path / 'demo'} && lineage resolve" in result.stdout
    here = invoke("--store", "s3://no-such-bucket/x", "init", str(tmp_path / "team"))
    assert here.exit_code == 0, here.output
    assert "Warning: " in here.stderr and "'no-such-bucket'" in here.stderr
    assert "create it" in here.stderr
    there = invoke("--store", f"{s3_bucket}/x", "init", str(tmp_path / "ok"))
    assert there.exit_code == 0 and "Warning" not in there.stderr
