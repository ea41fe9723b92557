"""docs/errors.md matches what lineage really prints, for every documented error."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from lineage import api
from tests.errors_doc import DOC, Case, Unavailable, parse, prepared, run_case
from tests.helpers import invoke, run_cli

CASES = parse(DOC.read_text())


def test_the_doc_lists_enough_cases_each_once_with_its_own_test() -> None:
    assert len(CASES) >= 25
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    for case in CASES:
        assert case.test == f"tests/test_errors_doc.py::test_documented_error[{case.id}]"
        assert case.expected.strip(), case.id
        assert (case.command is None) != (case.python is None), case.id


def test_both_exit_codes_and_both_surfaces_are_documented() -> None:
    assert {case.exit_code for case in CASES if case.command} == {1, 2}
    python_classes = {case.expected.split(":", 1)[0] for case in CASES if case.python}
    assert {"InvalidName", "NotFound", "UsageError", "Ambiguous", "StoreError"} <= python_classes


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_documented_error(case: Case, tmp_path: Path) -> None:
    try:
        with prepared(case, tmp_path) as env:
            output, code = run_case(case, env)
            output = env.unfill(output)
    except Unavailable as why:
        pytest.skip(f"{case.id} needs {why}")
    assert "Traceback" not in output
    assert "internal error" not in output
    assert output == case.expected, f"{case.id}: docs/errors.md says otherwise"
    assert code == case.exit_code
    if case.command:
        # One line: the last line is the error; click's usage lines come before it.
        assert output.splitlines()[-1].startswith("Error: ")


def test_debug_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    done = run_cli("--debug", "show", "ffff", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "lineage.errors.UsageError: no lineage project here" in done.stderr
    quiet = invoke("show", "ffff")
    assert quiet.stderr.startswith("Error: no lineage project here")
    assert "Traceback" not in quiet.stderr


def test_the_real_executable_prints_the_same_line(tmp_path: Path) -> None:
    # The in-process runner and the installed program print the same: one documented case
    # through the real executable.
    case = next(c for c in CASES if c.title == "Step without a key")
    api.init(tmp_path)
    (tmp_path / "lineage.toml").write_text(case.toml or "")
    done = run_cli(*shlex.split(case.command or "")[1:], cwd=tmp_path)
    assert (done.stderr, done.returncode) == (case.expected, case.exit_code)


def test_password_never_reaches_output(tmp_path: Path) -> None:
    url = "postgresql+psycopg://ana:s3cret-pw@127.0.0.1:9/lineage"
    for args in (("--catalog", url, "runs"), ("--catalog", url, "db", "status")):
        result = invoke(*args)
        assert result.exit_code == 1
        assert "s3cret-pw" not in result.output
        assert "ana:***@" in result.stderr
