"""Where a run comes from: the git state of the repository holding its code, and its user.

A run records the commit (and whether the work tree was dirty) of the repository that holds
the *step's code*: its ``code`` files in lineage.toml, else the script that called
``start_run``, else the project folder. A project kept inside another repository without being
part of it (the example under ``demo/`` in a lineage checkout) records no commit at all, rather
than a commit that says nothing about its code.

Git is asked once per process and set of files: it is a subprocess, and the answer does not
change while one command runs.
"""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path


def git_state(paths: Sequence[Path]) -> tuple[str | None, bool | None]:
    """Return the commit and dirty flag of the git repository holding ``paths``.

    ``(None, None)`` when the first path is in no repository, or when the repository tracks
    none of them. When it tracks only some, the commit does not describe the code: dirty.
    """
    if not paths:
        return None, None
    # Real paths: git prints its top folder with symlinks resolved.
    return _git_state(tuple(sorted({os.path.realpath(p) for p in paths})))


@cache
def _git_state(paths: tuple[str, ...]) -> tuple[str | None, bool | None]:
    first = paths[0]
    folder = first if os.path.isdir(first) else os.path.dirname(first)
    try:
        head = _git(folder, "rev-parse", "--show-toplevel", "HEAD")
        if head is None:
            return None, None
        top, _, commit = head.strip().partition("\n")
        top = os.path.realpath(top)
        inside = [p for p in paths if _is_within(p, top)]
        tracked = _git(top, "ls-files", "-z", "--", *inside)
        if not tracked:
            return None, None
        tracked_files = {os.path.join(top, f) for f in tracked.split("\0") if f}
        untracked = [p for p in paths if os.path.isfile(p) and p not in tracked_files]
        status = _git(top, "status", "--porcelain", "--untracked-files=no")
        dirty = bool(untracked) or status is None or bool(status.strip())
        return commit.strip(), dirty
    except (OSError, subprocess.SubprocessError):
        return None, None


def _git(cwd: str, *args: str) -> str | None:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
    )
    return done.stdout if done.returncode == 0 else None


def _is_within(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def calling_script() -> Path | None:
    """Return the script this process runs (``python train.py``), or None in a notebook."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not os.path.isfile(path):
        return None
    return Path(path)


def code_paths(root: Path, code_files: Sequence[str]) -> list[Path]:
    """Return the paths whose repository a run records: its code files, else its script or
    the project folder (``root``)."""
    if code_files:
        return [root / f for f in code_files]
    script = calling_script()
    return [script] if script is not None else [root]


@cache
def user() -> str | None:
    """Return the name of the user running this process, or None when it has none."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
