"""Every shell and Python block of README.md works as written, in order, on a fresh copy.

The blocks run as a reader runs them: one bash session started at the repository root, each
bash block verbatim, each Python block fed to the ``python`` the first block put on PATH, so
a ``cd`` or an ``export`` in one block holds for the next.

Two things differ from a reader's machine, each said here and nowhere hidden:

* The install commands of the first block (``pip install uv``, ``uv venv``, ``uv pip install``)
  are left out, and the copy's ``.venv`` is a link to the virtualenv running this test, which
  ``scripts/test`` installed with the same ``uv pip install -c constraints.txt`` command.
  Running them would either point this suite's own editable install at a temporary copy (and
  break it for every test after) or build a second 1 GB virtualenv on each run.
* A block after ``<!-- README test: run against the test servers -->`` (team mode) runs with its
  placeholder PostgreSQL URL replaced by a database on the suite's PostgreSQL server, and with
  the AWS variables pointing at the suite's moto S3 server, where its bucket is created first.

A block after ``<!-- not run: REASON -->`` is not run; only ``./scripts/test`` is (it runs this
suite).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import servers

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
_BLOCK = re.compile(
    r"(?:<!--\s*(?P<marker>.*?)\s*-->\n)?```(?P<lang>\w+)\n(?P<body>.*?)^```$", re.M | re.S
)
RUNNABLE = ("bash", "python")
SERVERS = "README test: run against the test servers"
INSTALL = ("pip install ", "uv venv ", "uv pip install ")
PLACEHOLDER_CATALOG = "postgresql+psycopg://lineage:PASSWORD@db.example.com:5432/lineage"
BUCKET = "ml-artifacts"


@dataclass
class Block:
    lang: str
    body: str
    marker: str | None

    @property
    def skipped(self) -> bool:
        return bool(self.marker and self.marker.startswith("not run:"))


def readme_blocks(text: str | None = None) -> list[Block]:
    """Return the fenced blocks of the README in order, each with the comment just before it."""
    text = README.read_text() if text is None else text
    return [Block(m["lang"], m["body"], m["marker"]) for m in _BLOCK.finditer(text)]


def without_install(line: str) -> str:
    """Drop the install commands from an ``a && b && c`` line (see the module docstring)."""
    kept = [part for part in line.split(" && ") if not part.strip().startswith(INSTALL)]
    return " && ".join(kept)


def script(blocks: list[Block], catalog_url: str) -> str:
    """Return the bash script that runs the README's blocks in order."""
    lines = ["set -euo pipefail", "set -x"]
    for block in blocks:
        if block.lang not in RUNNABLE or block.skipped:
            continue
        if block.lang == "python":
            lines += [
                "python - <<'README_PYTHON_BLOCK'",
                block.body.rstrip("\n"),
                "README_PYTHON_BLOCK",
            ]
            continue
        body = "\n".join(without_install(line) for line in block.body.splitlines())
        if block.marker == SERVERS:
            assert PLACEHOLDER_CATALOG in body, "the team block's placeholder URL changed"
            body = body.replace(PLACEHOLDER_CATALOG, catalog_url)
        lines.append(body)
    return "\n".join(lines) + "\n"


def test_every_block_is_run_or_says_why_not() -> None:
    blocks = readme_blocks()
    runnable = [b for b in blocks if b.lang in RUNNABLE]
    assert len(runnable) >= 6
    skipped = [b for b in runnable if b.skipped]
    # Keep "not run" to the minimum: only the test command, which runs this very suite.
    assert [b.body.strip() for b in skipped] == ["./scripts/test"]
    assert all(len(b.marker or "") > len("not run: ") for b in skipped)
    # The first block installs, activates the virtualenv, and goes into the demo project.
    first = runnable[0].body
    assert "source .venv/bin/activate" in first and "cd demo" in first
    assert without_install(first).startswith("source .venv/bin/activate && lineage init")
    # Every other block names commands as a reader types them, with the virtualenv active.
    for block in runnable[1:]:
        assert ".venv/bin/" not in block.body and "../" not in block.body
    team = [b for b in runnable if b.marker == SERVERS]
    assert len(team) == 1 and PLACEHOLDER_CATALOG in team[0].body


def test_marker_parsing_reads_the_comment_just_before_a_block() -> None:
    text = "<!-- not run: needs your database -->\n```bash\nx\n```\n\n```python\ny\n```\n"
    first, second = readme_blocks(text)
    assert (first.marker, first.skipped, second.marker) == (
        "not run: needs your database",
        True,
        None,
    )


def fresh_copy(target: Path) -> None:
    """Copy what a clone holds (tracked files, and new ones not ignored) to ``target``."""
    if (REPO / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout.decode()
        for name in filter(None, listed.split("\0")):
            source = REPO / name
            if source.is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)
    else:
        shutil.copytree(
            REPO,
            target,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".venv", "__pycache__", ".*_cache", "demo", ".lineage"),
        )


@pytest.mark.slow
def test_the_readme_runs_as_written_on_a_fresh_copy(
    tmp_path: Path, postgres_url: str, s3_endpoint: str
) -> None:
    import s3fs

    copy = tmp_path / "lineage"
    copy.mkdir()
    fresh_copy(copy)
    (copy / ".venv").symlink_to(Path(sys.prefix))
    # The moto server is shared by every test (and xdist worker): add the README's bucket, reset
    # nothing.
    s3 = s3fs.S3FileSystem(
        endpoint_url=s3_endpoint,
        key=servers.S3_ENV["AWS_ACCESS_KEY_ID"],
        secret=servers.S3_ENV["AWS_SECRET_ACCESS_KEY"],
        skip_instance_cache=True,
    )
    with contextlib.suppress(FileExistsError):
        s3.mkdir(BUCKET)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LINEAGE_", "VIRTUAL_ENV", "PYTHON")) and k != "PATH"
    }
    env.update(servers.S3_ENV)
    env.update(
        AWS_ENDPOINT_URL=s3_endpoint,
        AWS_EC2_METADATA_DISABLED="true",
        # A reader's PATH: the system's, without this suite's virtualenv in front.
        PATH=os.pathsep.join(
            p for p in os.environ.get("PATH", "").split(os.pathsep) if not p.startswith(sys.prefix)
        ),
        HOME=str(tmp_path / "home"),
    )
    (tmp_path / "home").mkdir()
    (copy / "readme.sh").write_text(script(readme_blocks(), postgres_url))
    try:
        done = subprocess.run(
            ["bash", "readme.sh"], cwd=copy, env=env, capture_output=True, text=True, timeout=900
        )
    finally:
        s3.rm(BUCKET, recursive=True)
    assert done.returncode == 0, (
        f"a README block failed:\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    )
    # What the blocks said they do, checked after them.
    assert "launched" in done.stdout and "reused" in done.stdout
    assert (copy / "demo" / "model.pkl").is_file()
    # lineage info, last: the team catalog and store, both answering (or it exits 1).
    info = done.stdout[done.stdout.rindex("project ") :]
    assert (
        "catalog    postgresql+psycopg://" in info
        and "store      s3://ml-artifacts/lineage" in info
    )
