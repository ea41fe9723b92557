"""Run the cases of docs/errors.md and compare what the product prints with what the doc says.

The doc is the source of truth for the prose; the outputs in it were produced by this module
(``python -m tests.errors_doc --write`` rewrites them from what the code prints now), and
tests/test_errors_doc.py fails when they drift apart.

A case is a ``### E12 · title`` section with ``Setup: `name`. Exit: N.``, optionally a
```` ```toml ```` block (the project's lineage.toml), then either a ```` ```console ```` block
(``$ lineage ...`` and what it prints on stderr) or a ```` ```python ```` block and a
```` ```text ```` block (the error it raises: ``Class: message``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "errors.md"
_SECTION = re.compile(r"^### (E\d+) · (.+)$", re.M)
_FIELDS = re.compile(r"Setup: `([\w-]+)`\. Exit: (\d+)\. Test: `([^`]+)`\.")
_FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.M | re.S)


@dataclass
class Case:
    """One documented error."""

    id: str
    title: str
    setup: str
    exit_code: int
    test: str
    toml: str | None = None
    command: str | None = None  # the console line after "$ "
    python: str | None = None
    expected: str = ""  # stderr (console) or "Class: message" (python)
    span: tuple[int, int] = (0, 0)  # where the expected text sits in the doc


@dataclass
class Env:
    """A prepared setting for a case: folders to name in messages, and cleanups."""

    base: Path
    root: Path
    subs: dict[str, Path | str] = field(default_factory=dict)
    user: str | None = None  # run the real executable as this user (permission cases)
    user_cwd: Path | None = None  # where it runs as that user (default: /tmp)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def placeholders(self) -> dict[str, str]:
        names: dict[str, Path | str] = {"root": self.root, "base": self.base, **self.subs}
        return {k: str(v) for k, v in names.items()}

    def fill(self, text: str) -> str:
        for name, value in self.placeholders().items():
            text = text.replace("{" + name + "}", value)
        return text

    def unfill(self, text: str) -> str:
        for name, value in sorted(self.placeholders().items(), key=lambda kv: -len(kv[1])):
            text = text.replace(value, "{" + name + "}")
        return text


def parse(text: str) -> list[Case]:
    """Return the cases of docs/errors.md in order."""
    cases = []
    heads = list(_SECTION.finditer(text))
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body_start = head.end()
        body = text[body_start:end]
        fields = _FIELDS.search(body)
        if fields is None:
            raise ValueError(f"{head[1]}: no 'Setup: `x`. Exit: N. Test: `...`.' line")
        case = Case(head[1], head[2].strip(), fields[1], int(fields[2]), fields[3])
        for fence in _FENCE.finditer(body):
            lang, content = fence[1], fence[2]
            span = (body_start + fence.start(2), body_start + fence.end(2))
            if lang == "toml":
                case.toml = content
            elif lang == "python":
                case.python = content
            elif lang == "console":
                first, _, rest = content.partition("\n")
                case.command = first.removeprefix("$ ")
                case.expected = rest
                case.span = (span[0] + len(first) + 1, span[1])
            elif lang == "text":
                case.expected = content
                case.span = span
        cases.append(case)
    return cases


# -- setups -----------------------------------------------------------------------------------


def _project(base: Path) -> Env:
    from lineage import api

    root = base / "project"
    api.init(root)
    return Env(base, root)


def _chain(base: Path) -> Env:
    import pyarrow as pa

    import lineage

    env = _project(base)
    with _cwd(env.root):
        with lineage.start_run("load", table="transactions", time="2026-11-20T09:00:00Z") as r:
            r.log_table("data", pa.table({"amount": [1.0, 2.5]}))
        with lineage.start_run(
            "process", logic="plain", time="2026-11-20T10:15:02Z", upstream=["load:transactions"]
        ) as p:
            p.input_table("data")
    # Run ids are random: messages name them through placeholders.
    env.subs.update(load_id=r.info.short_id, process_id=p.info.short_id)
    return env


def _twins(base: Path) -> Env:
    from lineage.catalog import Catalog

    env = _project(base)
    with Catalog(f"sqlite:///{env.root / '.lineage' / 'catalog.db'}") as catalog:
        for tail in ("1", "2"):
            catalog.start_run("load", "table", tail, run_id="abcd" + tail * 28, status="finished")
    return env


def _future(base: Path) -> Env:
    import sqlalchemy as sa

    env = _project(base)
    engine = sa.create_engine(f"sqlite:///{env.root / '.lineage' / 'catalog.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()
    return env


def _no_manifest(base: Path) -> Env:
    import lineage
    from lineage.store import Store

    env = _project(base)
    (env.root / "features").mkdir()
    (env.root / "features" / "a.txt").write_text("a")
    with _cwd(env.root), lineage.start_run("process", logic="plain") as run:
        folder = run.log_artifact(env.root / "features")
    path = Store(str(env.root / ".lineage" / "objects")).path(folder)
    os.chmod(path, 0o644)
    os.unlink(path)
    return env


def _readonly(base: Path) -> Env:
    # Root ignores permission bits, so as root the command runs as `nobody` in a folder it
    # may read but not write; the folder must sit where nobody can reach it (/tmp, 0755).
    outer = Path(tempfile.mkdtemp(prefix="lineage-ro-", dir="/tmp"))
    os.chmod(outer, 0o755)
    readonly = outer / "readonly"
    readonly.mkdir()
    os.chmod(readonly, 0o555)
    env = Env(base, base, {"ro": readonly})
    env.cleanups.append(lambda: shutil.rmtree(outer, ignore_errors=True))
    if os.geteuid() == 0:
        env.user = "nobody"
    return env


def _full_disk(base: Path) -> Env:
    import lineage

    env = _project(base)
    (env.root / "big.bin").write_bytes(os.urandom(256 * 1024))
    with _cwd(env.root), lineage.start_run("load", table="big", time="2026-11-20") as run:
        run.log_artifact(env.root / "big.bin")
    full = base / "full"
    full.mkdir()
    # A real full disk: a 64 KiB tmpfs. Mounting needs root (as the CI runs).
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full)], capture_output=True
    )
    if done.returncode != 0:
        raise Unavailable(f"cannot mount a small tmpfs to fill: {done.stderr.decode().strip()}")
    env.subs["full"] = full
    env.cleanups.append(lambda: subprocess.run(["umount", str(full)], check=False))
    return env


def _malformed(base: Path) -> Env:
    import sqlalchemy as sa

    env = _chain(base)
    # A hand-edited row: a hash that would climb out of the store if a path were built from it.
    engine = sa.create_engine(f"sqlite:///{env.root / '.lineage' / 'catalog.db'}")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO artifacts (hash, size, kind, created_at) "
                "SELECT 'xxh128:../../secret', 14, 'file', started_at FROM runs LIMIT 1"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO outputs (run_id, name, hash) "
                "SELECT id, 'model.pkl', 'xxh128:../../secret' FROM runs WHERE step = 'load'"
            )
        )
    engine.dispose()
    return env


def _not_utf8(base: Path) -> Env:
    env = _project(base)
    (env.root / "lineage.toml").write_bytes(b'[steps.load]\nkey = "table"\ncommand = "caf\xe9"\n')
    return env


def _deep_toml(base: Path) -> Env:
    env = _project(base)
    (env.root / "lineage.toml").write_text("x = " + "[" * 2000 + "]" * 2000 + "\n")
    return env


def _shared(base: Path) -> Env:
    """A project in a folder ``nobody`` may reach, owned by ``nobody`` when we are root."""
    from lineage import api

    outer = Path(tempfile.mkdtemp(prefix="lineage-shared-", dir="/tmp"))
    os.chmod(outer, 0o755)
    root = outer / "project"
    api.init(root)
    env = Env(base, root, user_cwd=root)
    env.cleanups.append(lambda: shutil.rmtree(outer, ignore_errors=True))
    if os.geteuid() == 0:
        import pwd

        nobody = pwd.getpwnam("nobody")
        for folder, dirs, files in os.walk(root):
            for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                os.chown(name, nobody.pw_uid, nobody.pw_gid)
        env.user = "nobody"
    return env


def _unreadable_code(base: Path) -> Env:
    env = _shared(base)
    (env.root / "steps").mkdir()
    code = env.root / "steps" / "load.py"
    code.write_text("print('load')\n")  # root's (when root), and nobody may not read it
    code.chmod(0o000)
    return env


def _readonly_logs(base: Path) -> Env:
    env = _shared(base)
    logs = env.root / ".lineage" / "logs"
    if logs.exists():
        os.chown(logs, os.getuid(), os.getgid())
    else:
        logs.mkdir()
    logs.chmod(0o555)
    return env


class Unavailable(Exception):
    """A setup this machine cannot make (mounting a filesystem needs root)."""


def _none(base: Path) -> Env:
    empty = base / "empty"
    empty.mkdir()
    return Env(base, empty)


SETUPS: dict[str, Callable[[Path], Env]] = {
    "none": _none,
    "project": _project,
    "pipeline": _project,
    "chain": _chain,
    "twins": _twins,
    "future": _future,
    "no-manifest": _no_manifest,
    "readonly": _readonly,
    "full-disk": _full_disk,
    "malformed": _malformed,
    "not-utf8": _not_utf8,
    "deep-toml": _deep_toml,
    "unreadable-code": _unreadable_code,
    "readonly-logs": _readonly_logs,
}


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def prepared(case: Case, base: Path) -> Iterator[Env]:
    """Make the case's setting under ``base``; undo mounts and outside folders afterwards."""
    from lineage import run

    run._sessions.clear()
    env = SETUPS[case.setup](base)
    try:
        if case.toml is not None:
            (env.root / "lineage.toml").write_text(env.fill(case.toml))
        run._sessions.clear()
        yield env
    finally:
        for session in run._sessions.values():
            session.catalog.close()
        run._sessions.clear()
        for cleanup in reversed(env.cleanups):
            cleanup()


def run_case(case: Case, env: Env) -> tuple[str, int]:
    """Return what the case prints (stderr, or ``Class: message``) and its exit code."""
    if case.python is not None:
        return _run_python(case, env)
    assert case.command is not None
    argv = shlex.split(env.fill(case.command))
    assert argv[0] == "lineage", case.command
    if env.user:
        return _run_as(env.user, argv[1:], env.user_cwd or Path("/tmp"))
    from tests.helpers import invoke

    with _cwd(env.root):
        result = invoke(*argv[1:])
    return result.stderr, result.exit_code


def _run_as(user: str, args: list[str], cwd: Path = Path("/tmp")) -> tuple[str, int]:
    """Run the CLI in a forked child that has dropped to ``user`` (the parent is root).

    A fork rather than a new program: the interpreter may live where ``user`` cannot read it,
    and everything the command needs is imported before the fork.
    """
    import pwd

    import lineage.api
    import lineage.cli
    from lineage import session

    account = pwd.getpwnam(user)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, run, report through the pipe
        code = 1
        try:
            os.close(read_end)
            session._sessions.clear()  # the parent's open catalogs are not the child's to use
            os.chdir(cwd)
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
            os.dup2(write_end, 2)
            sys.stderr = os.fdopen(2, "w", buffering=1)
            try:
                lineage.cli.main(args)
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        output = pipe.read()
    _, status = os.waitpid(pid, 0)
    return output, os.waitstatus_to_exitcode(status)


def _run_python(case: Case, env: Env) -> tuple[str, int]:
    import lineage
    from lineage.errors import LineageError

    with _cwd(env.root):
        try:
            exec(env.fill(case.python or ""), {"lineage": lineage})
        except LineageError as error:
            return f"{type(error).__name__}: {error}\n", error.exit_code
    return "(no error)\n", 0


def write() -> None:
    """Rewrite the expected outputs of docs/errors.md from what the code prints now."""
    text = DOC.read_text()
    for case in reversed(parse(text)):
        base = Path(tempfile.mkdtemp(prefix=f"errors-{case.id}-"))
        try:
            with prepared(case, base) as env:
                output, code = run_case(case, env)
                output = env.unfill(output)
        except Unavailable as why:
            print(f"{case.id}: kept as written ({why})")
            continue
        finally:
            shutil.rmtree(base, ignore_errors=True)
        text = text[: case.span[0]] + output + text[case.span[1] :]
        if code != case.exit_code:
            print(f"{case.id}: exit {code}, doc says {case.exit_code}: fix the doc by hand")
    DOC.write_text(text)


if __name__ == "__main__":
    for name in ("LINEAGE_CATALOG_URL", "LINEAGE_STORE_URL", "LINEAGE_RUN_ID"):
        os.environ.pop(name, None)
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        for case in parse(DOC.read_text()):
            print(case.id, case.setup, case.command or "(python)")
