"""Helpers the tests share: the CLI in-process and as the real executable, and copies of
projects recorded once. Fixtures live in conftest.py; everything else a test imports is here."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Variables that would point a test at the developer's catalog, store, run or project.
LINEAGE_ENV = ("LINEAGE_CATALOG_URL", "LINEAGE_STORE_URL", "LINEAGE_RUN_ID", "LINEAGE_PROJECT_ROOT")


@dataclass
class Result:
    """What one CLI invocation printed and returned."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@contextlib.contextmanager
def inside(cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Iterator[None]:
    """Run the block from ``cwd`` with ``env`` added to the environment; restore both after."""
    before_cwd = os.getcwd()
    before_env = {name: os.environ.get(name) for name in env or {}}
    try:
        if cwd is not None:
            os.chdir(cwd)
        os.environ.update(env or {})
        yield
    finally:
        os.chdir(before_cwd)
        for name, value in before_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def invoke(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Result:
    """Run the CLI in-process through ``main`` (so error translation is exercised too).

    ``cwd`` and ``env`` stand for the folder and environment a user would run it in. A step the
    command launches is still a real subprocess; only ``lineage`` itself saves its start-up.
    """
    from click.testing import CliRunner

    from lineage.cli import main

    runner = CliRunner()
    code = 0
    with inside(cwd, env), runner.isolation() as streams:
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


def close_sessions() -> None:
    """Close the catalogs this process opened for the SDK and forget them."""
    from lineage import session

    for opened in session._sessions.values():
        opened.catalog.close()
    session._sessions.clear()


@contextlib.contextmanager
def recording_in(root: Path) -> Iterator[None]:
    """Record into the project at ``root`` from a fixture wider than one test.

    Function fixtures (conftest's clean environment) have not run yet when a module or session
    fixture builds its project, so this one keeps the developer's settings out by itself.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in LINEAGE_ENV:
            patch.delenv(name, raising=False)
        patch.chdir(root)
        try:
            yield
        finally:
            close_sessions()


def copy_project(source: Path, target: Path) -> Path:
    """Copy a recorded project (catalog, store, files) to ``target``; return ``target``.

    Catalog and store live under the project's ``.lineage/`` with paths relative to its root,
    so the copy is a project of its own: a test may change it freely.
    """
    shutil.copytree(source, target, symlinks=True)
    return target
