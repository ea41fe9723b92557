"""Shared fixtures: a fresh project per test, a CLI runner that goes through ``main``."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lineage import api, run

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    """What one CLI invocation printed and returned."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(*args: str) -> Result:
    """Run the CLI in-process through ``main`` (so error translation is exercised too)."""
    from click.testing import CliRunner

    from lineage.cli import main

    runner = CliRunner()
    code = 0
    with runner.isolation() as streams:
        try:
            main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        stdout = streams[0].getvalue().decode()
        stderr = streams[1].getvalue().decode()
    return Result(code, stdout, stderr)


def lineage_bin() -> str:
    """Return the installed ``lineage`` executable next to this Python."""
    return str(Path(sys.executable).with_name("lineage"))


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the real ``lineage`` executable in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run(
        [lineage_bin(), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"lineage {shlex.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep every test away from the developer's settings and from earlier tests' sessions."""
    for name in (
        "LINEAGE_CATALOG_URL",
        "LINEAGE_STORE_URL",
        "LINEAGE_RUN_ID",
        "LINEAGE_PROJECT_ROOT",
    ):
        monkeypatch.delenv(name, raising=False)
    run._sessions.clear()
    yield
    for session in run._sessions.values():
        session.catalog.close()
    run._sessions.clear()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh initialized project (SQLite catalog, local store) as the current folder."""
    root = tmp_path / "project"
    api.init(root)
    monkeypatch.chdir(root)
    return root
