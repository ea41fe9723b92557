"""The layers of lineage hold (.importlinter, docs/architecture.md) and the check bites.

``lint-imports`` runs as a real subprocess over the real package; the second test breaks a
copy of the package with an upward import and a circle, and checks each contract names it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import lineage

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the package under ``root`` with ``root``'s contract."""
    env = {**os.environ, "PYTHONPATH": str(root)}  # this copy of lineage, not the installed one
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo", str(root / ".importlinter")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_keeps_its_layers_and_has_no_import_circles() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 2 kept, 0 broken." in done.stdout


def test_an_upward_import_or_a_circle_breaks_the_contract(tmp_path: Path) -> None:
    # One copy with an upward import, one with a circle: each broken contract then names its
    # own fault (with both in one copy, the circle report picked among the many cycles the
    # upward import makes, and which edges it listed depended on unrelated imports).
    def copy(name: str) -> Path:
        shutil.copytree(
            ROOT / "lineage",
            tmp_path / name / "lineage",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        shutil.copy(ROOT / ".importlinter", tmp_path / name)
        return tmp_path / name

    upward = copy("upward")
    errors = upward / "lineage" / "errors.py"
    errors.write_text(
        errors.read_text() + "\nimport lineage.cli  # a basic reaching up to the face\n"
    )
    done = lint_imports(upward)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "basics BROKEN" in done.stdout  # the layers contract's name ends so
    assert "lineage.errors -> lineage.cli" in done.stdout

    circle = copy("circle")
    launch = circle / "lineage" / "launch.py"
    launch.write_text(launch.read_text() + "\nimport lineage.resolver  # a circle in one layer\n")
    done = lint_imports(circle)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Contracts: 1 kept, 1 broken." in done.stdout
    assert "No import circles between the modules of a package BROKEN" in done.stdout
    # Either edge of the circle may be named as the one to remove.
    assert (
        "- .launch -> .resolver (1 import)" in done.stdout
        or "- .resolver -> .launch (1 import)" in done.stdout
    ), done.stdout


def test_a_module_placed_in_no_layer_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(
        ROOT / "lineage", tmp_path / "lineage", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / ".importlinter", tmp_path)
    (tmp_path / "lineage" / "stray.py").write_text('"""A module nobody placed."""\n')

    done = lint_imports(tmp_path)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "lineage.stray" in done.stdout


def test_every_public_name_is_the_api_function_not_a_module_of_the_same_name() -> None:
    # A submodule named like a public function would replace it on the package once imported
    # (lineage.graph was both until the module became drawing.py).
    import importlib
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(lineage.__path__)}
    assert not modules & set(lineage.__all__)
    for name in lineage.__all__:
        value = getattr(lineage, name)
        assert callable(value), name
    for module in modules - {"__main__"}:
        importlib.import_module(f"lineage.{module}")
    assert lineage.graph is importlib.import_module("lineage.api").graph


def test_python_dash_m_lineage_runs_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lineage", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: lineage [OPTIONS] COMMAND [ARGS]...")
    assert "resolve" in done.stdout
