"""Where a run comes from: the git state of the project's code and the user who started it.

Both are asked once per process: ``git`` is a subprocess, and the answers do not change while
one command runs.
"""

from __future__ import annotations

import getpass
import subprocess
from functools import cache
from pathlib import Path


@cache
def _git_state(root: str) -> tuple[str | None, bool | None]:
    """Return the commit and dirty flag of the git work tree at ``root`` (once per process)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
        if commit.returncode != 0:
            return None, None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return commit.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def git_state(root: Path) -> tuple[str | None, bool | None]:
    """Return the git commit and dirty flag of the project, or ``(None, None)`` outside git."""
    return _git_state(str(root))


@cache
def user() -> str | None:
    """Return the name of the user running this process, or None when it has none."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
