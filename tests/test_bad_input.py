"""Bad input that used to be misread or reported as an internal error gets its one clear line.

Issue 15, items 13 and 16: dates read the way a person means them (or refused when they could
mean two things), times and limits past what the catalog can hold, hostile lineage.toml files,
and files the process may not read or write.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import lineage
from lineage import times
from lineage.errors import InvalidTime, UsageError
from tests.helpers import Result, invoke


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def one_error_line(result: Result, code: int, *fragments: str) -> str:
    """Check that a command failed with one ``Error:`` line holding ``fragments``."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert "internal error" not in result.output, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def dated(project: Path) -> dict[str, str]:
    """Two loads, on 2026-11-20 and 2026-11-21."""
    ids = {}
    for day in (20, 21):
        with lineage.start_run("load", table="transactions", time=utc(2026, 11, day, 9)) as run:
            ids[f"nov{day}"] = run.id
    return ids


# -- dates: issue 15, item 16 -----------------------------------------------------------------


def test_eight_digits_are_a_date_yyyymmdd() -> None:
    assert times.parse_window("20261120") == times.parse_window("2026-11-20")


def test_on_yyyymmdd_finds_that_days_runs(dated: dict[str, str]) -> None:
    result = invoke("runs", "--on", "20261120", "--json")
    assert result.exit_code == 0, result.output
    assert [run["run_id"] for run in __import__("json").loads(result.stdout)] == [dated["nov20"]]


def test_eight_digits_that_are_no_date_say_how_they_were_read() -> None:
    with pytest.raises(InvalidTime, match=r"'20261340'.*YYYYMMDD"):
        times.parse_window("20261340")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("2026-W47-5", "week date"),
        ("2026W475", "week date"),
        ("2026-W47", "week date"),
        ("2026-324", "ordinal date"),
        ("2026", "year"),
    ],
)
def test_ambiguous_dates_are_refused_naming_what_they_look_like(
    dated: dict[str, str], text: str, kind: str
) -> None:
    line = one_error_line(invoke("runs", "--on", text), 2, repr(text), kind, "2026-11-20")
    assert "no runs match" not in line


@pytest.mark.parametrize("text", ["20261120T101502", "2026-11-20T101502", "2026-11-20T10:15:02,5"])
def test_iso_forms_other_than_the_documented_ones_are_refused(text: str) -> None:
    with pytest.raises(InvalidTime, match="YYYYMMDDHHMMSS"):
        times.parse_window(text)


# -- years past what a datetime holds: issue 15, item 13 -------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "--on", "9999-12-31"],
        ["runs", "--since", "9999-12-31"],
        ["runs", "--until", "9999-12-31T23:59:59"],
        ["runs", "--on", "99991231235959"],
        ["runs", "--since", "9999-12-31T23:30:00-05:00"],
        ["runs", "--until", "0001-01-01T00:30:00+05:00"],
        ["show", "load:transactions@9999-12-31"],
        ["show", "load:transactions@9999-12-31T23:59:59Z"],
    ],
)
def test_times_at_the_end_of_the_calendar_are_usage_errors(
    dated: dict[str, str], args: list[str]
) -> None:
    one_error_line(invoke(*args), 2, "out of range")


def test_the_last_whole_day_that_fits_is_still_accepted(dated: dict[str, str]) -> None:
    result = invoke("runs", "--on", "9999-12-30")
    assert result.exit_code == 0, result.output
    assert "no runs match" in result.stderr


def test_a_limit_past_what_the_database_holds_is_a_usage_error(dated: dict[str, str]) -> None:
    one_error_line(invoke("runs", "--limit", str(2**63)), 2, "limit")
    one_error_line(invoke("runs", "--limit", "-1"), 2, "limit")
    assert invoke("runs", "--limit", str(2**31 - 1)).exit_code == 0


# -- lineage.toml: issue 10 item 9, issue 15 items 13 and 16 ----------------------------------

TRAIN = """\
[steps.load]
key = "table"
command = "python -c pass"

[steps.train]
key = "algorithm"
after = ["load"]
command = "python -c pass"
"""


def write_pipeline(root: Path, text: str) -> Path:
    path = root / "lineage.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("tail", "line", "fragments"),
    [
        # An inline table, as the README shows parameters.
        (
            'params = { C = { type = "float", defualt = 1.0 } }\n',
            9,
            ["parameter 'C' has an unknown field 'defualt'", "did you mean 'default'"],
        ),
        # A section of its own.
        (
            '\n[steps.train.params.C]\ntype = "float"\ndefualt = 1.0\n',
            12,
            ["parameter 'C' has an unknown field 'defualt'", "did you mean 'default'"],
        ),
        (
            'comand = "python train.py"\n',
            9,
            ["step 'train' has an unknown field 'comand'", "did you mean 'command'"],
        ),
        # Nothing close: the valid names are listed.
        (
            'colour = "red"\n',
            9,
            ["step 'train' has an unknown field 'colour'", "fields: after, code, command"],
        ),
    ],
)
def test_unknown_field_names_file_line_and_the_closest_valid_name(
    project: Path, tail: str, line: int, fragments: list[str]
) -> None:
    write_pipeline(project, TRAIN + tail)
    result = invoke("resolve", "--table", "t", "--algorithm", "a", "--dry-run")
    one_error_line(result, 2, f"Error: lineage.toml:{line}: ", *fragments)


def test_unknown_top_level_table_is_named_too(project: Path) -> None:
    write_pipeline(project, TRAIN.replace("[steps.train]", "[step.train]"))
    result = invoke("resolve", "--table", "t", "--dry-run")
    one_error_line(result, 2, "lineage.toml:5: ", "unknown table 'step'", "did you mean 'steps'")


def test_a_file_that_is_not_utf8_is_one_line(project: Path) -> None:
    (project / "lineage.toml").write_bytes(b'[steps.load]\nkey = "caf\xe9"\n')
    result = invoke("resolve", "--table", "t", "--dry-run")
    one_error_line(result, 2, "lineage.toml", "not UTF-8", "line 2", "save it as UTF-8")


def test_a_deeply_nested_file_is_one_line(project: Path) -> None:
    write_pipeline(project, "x = " + "[" * 5000 + "]" * 5000 + "\n")
    result = invoke("resolve", "--table", "t", "--dry-run")
    one_error_line(result, 2, "lineage.toml", "nested too deeply")


def test_keys_differing_only_by_dash_and_underscore_are_refused(project: Path) -> None:
    write_pipeline(
        project,
        '[steps.load]\nkey = "target-env"\n\n[steps.train]\nkey = "target_env"\nafter = ["load"]\n',
    )
    result = invoke("resolve", "--target-env", "prod", "--dry-run")
    one_error_line(
        result, 2, "lineage.toml:5: ", "'target_env'", "'target-env'", "--target-env", "rename"
    )


def test_a_time_name_and_a_key_differing_by_dash_are_refused(project: Path) -> None:
    write_pipeline(
        project,
        '[steps.load]\nkey = "table"\ntime = "fetch-time"\n\n'
        '[steps.train]\nkey = "fetch_time"\nafter = ["load"]\n',
    )
    result = invoke("resolve", "--table", "t", "--dry-run")
    one_error_line(result, 2, "'fetch_time'", "'fetch-time'", "--fetch-time")


def test_recording_a_key_that_differs_only_by_dash_is_refused(project: Path) -> None:
    with lineage.start_run("deploy", **{"target-env": "prod"}):
        pass
    with pytest.raises(UsageError, match=r"'target_env'.*'target-env'.*one option"):
        lineage.start_run("check", target_env="prod")
    # The same spelling again is fine.
    with lineage.start_run("audit-env", **{"target-env": "dev"}):
        pass


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ('["/etc/passwd"]', "'/etc/passwd' is absolute"),
        ('["../outside.py"]', "'../outside.py' leaves the project"),
    ],
)
def test_code_outside_the_project_is_refused(project: Path, code: str, fragment: str) -> None:
    (project.parent / "outside.py").write_text("x = 1\n")
    write_pipeline(project, TRAIN.replace('command = "python -c pass"\n', f"code = {code}\n", 1))
    result = invoke("resolve", "--table", "t", "--dry-run")
    one_error_line(result, 2, "lineage.toml:3: ", fragment, "relative to the project")


@pytest.mark.parametrize("value", ['"big"', "1024", "-5", "true"])
def test_part_size_that_is_not_a_size_is_refused(project: Path, value: str) -> None:
    write_pipeline(project, f"[store]\npart_size = {value}\n")
    result = invoke("runs")
    one_error_line(result, 2, "lineage.toml", "part_size", "5242880")


@pytest.fixture
def recorded(project: Path) -> dict[str, str]:
    """A load and a train made from it, recorded under the declared steps."""
    write_pipeline(project, TRAIN)
    with lineage.start_run("load", table="transactions") as load:
        pass
    with lineage.start_run("train", algorithm="lr", upstream="load:transactions") as train:
        pass
    return {"load": load.id, "train": train.id}


@pytest.mark.parametrize(
    "broken",
    [
        TRAIN + 'comand = "x"\n',  # an unknown field
        TRAIN + "[steps.oops\n",  # a syntax error
        TRAIN.replace('key = "table"', 'key = "caf\xe9"'),  # latin-1 bytes below
    ],
    ids=["unknown-field", "syntax", "not-utf8"],
)
def test_a_broken_lineage_toml_does_not_stop_read_only_commands(
    project: Path, recorded: dict[str, str], broken: str
) -> None:
    (project / "lineage.toml").write_bytes(broken.encode("latin-1"))
    for args in (
        ["show", "train:lr"],
        ["runs"],
        ["runs", "--table", "transactions"],
        ["audit", "train:lr"],
        ["graph"],
        ["graph", "train:lr"],
    ):
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "Error" not in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
    listed = invoke("runs", "--json")
    assert {run["run_id"] for run in __import__("json").loads(listed.stdout)} == set(
        recorded.values()
    )
    # What needs the steps names the problem, in one line.
    one_error_line(invoke("resolve", "--table", "transactions"), 2, "lineage.toml")
    # runs says once why the steps are left out, on stderr, and stdout stays one document.
    warned = invoke("runs", "--json")
    assert warned.stderr.count("Warning: ") == 1, warned.stderr
    assert "lineage.toml" in warned.stderr and "left out" in warned.stderr


def test_a_broken_file_that_names_the_catalog_still_stops_commands(
    project: Path, recorded: dict[str, str]
) -> None:
    write_pipeline(project, '[catalog]\nurl = "sqlite:///elsewhere.db\n' + TRAIN)
    one_error_line(invoke("runs"), 2, "lineage.toml", "fix the TOML syntax")


# -- files the process may not read or write: issue 15, item 13 ------------------------------


@pytest.fixture
def shared_project(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project owned by ``nobody`` in a folder ``nobody`` can reach (tmp_path is root's 0700).

    Root reads and writes whatever the permission bits say, so the command under test runs as
    ``nobody`` (see ``invoke_as_nobody``); the folder is removed afterwards.
    """
    outer = Path(tempfile.mkdtemp(prefix="lineage-bad-input-", dir="/tmp"))
    try:
        os.chmod(outer, 0o755)
        root = outer / "project"
        from lineage import api

        api.init(root)
        monkeypatch.chdir(root)
        yield root
    finally:
        shutil.rmtree(outer, ignore_errors=True)


def give_to_nobody(root: Path) -> None:
    """Hand the project to ``nobody`` when running as root (nothing to do otherwise)."""
    if os.geteuid() != 0:
        return
    import pwd

    nobody = pwd.getpwnam("nobody")
    for folder, dirs, files in os.walk(root):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            os.chown(name, nobody.pw_uid, nobody.pw_gid)


def invoke_as_nobody(root: Path, *args: str) -> Result:
    """Run the CLI in ``root`` as ``nobody`` when root (in a forked child), else as we are."""
    if os.geteuid() != 0:
        return invoke(*args)
    import pwd

    import lineage.cli
    from lineage import session as session_module

    account = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, run, send stderr through the pipe
        code = 1
        try:
            os.close(read_end)
            session_module._sessions.clear()  # the parent's connections are not ours to use
            os.chdir(root)
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
            os.dup2(write_end, 2)
            sys.stderr = os.fdopen(2, "w", buffering=1)
            try:
                lineage.cli.main(list(args))
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        stderr = pipe.read()
    _, status = os.waitpid(pid, 0)
    return Result(os.waitstatus_to_exitcode(status), "", stderr)


def test_an_unreadable_code_file_is_one_line(shared_project: Path) -> None:
    (shared_project / "steps").mkdir()
    code = shared_project / "steps" / "load.py"
    code.write_text("print('load')\n")
    write_pipeline(
        shared_project,
        '[steps.load]\nkey = "table"\ncommand = "python steps/load.py"\ncode = ["steps/"]\n',
    )
    give_to_nobody(shared_project)
    os.chown(code, 0, 0) if os.geteuid() == 0 else None
    code.chmod(0o000)
    result = invoke_as_nobody(shared_project, "resolve", "--table", "t", "--dry-run")
    one_error_line(
        result, 1, "cannot read 'steps/load.py', a code file of step 'load'", "Permission denied"
    )


def test_a_read_only_log_folder_is_one_line_and_the_run_is_not_left_running(
    shared_project: Path,
) -> None:
    write_pipeline(shared_project, '[steps.load]\nkey = "table"\ncommand = "echo hello"\n')
    logs = shared_project / ".lineage" / "logs"
    logs.mkdir()
    give_to_nobody(shared_project)
    if os.geteuid() == 0:
        os.chown(logs, 0, 0)
    logs.chmod(0o555)
    result = invoke_as_nobody(shared_project, "run", "load", "--table", "t")
    one_error_line(result, 1, "cannot write the log of load:t in", "Permission denied")
    (run,) = lineage.search(step="load")
    assert run.status == "failed" and "log" in (run.error or "")
