"""Run a step's command, capture its log, record its status.

The launcher creates the run (``running``) before the command starts, so the step's own
``lineage.start_run()`` attaches to it through ``LINEAGE_RUN_ID``. The command runs from the
project root with the catalog and store URLs in its environment; its output is streamed to a
callback (the CLI sends it to stderr) and kept as the run's ``log`` artifact. Exit 0 means
``finished``; anything else ``failed``; Ctrl-C ``killed``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lineage import pipeline as pipeline_mod
from lineage.catalog import LOG_NAME, RESOLVE_TAG, RunInfo, Status
from lineage.errors import FileError, StepFailed
from lineage.interchange import spool
from lineage.project import CATALOG_ENV, PROJECT_ENV, RUN_ID_ENV, STORE_ENV
from lineage.provenance import git_state
from lineage.provenance import user as _user
from lineage.session import Session

TAIL_LINES = 15

Output = Callable[[str, str], None]  # (run label, line)


@dataclass
class Launch:
    """What one launched step produced."""

    run: RunInfo
    exit_code: int
    tail: list[str]

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def step_environment(session: Session, run_id: str) -> dict[str, str]:
    """Return the environment a step runs in: ours plus where its run and project are."""
    env = dict(os.environ)
    env[RUN_ID_ENV] = run_id
    env[CATALOG_ENV] = session.project.catalog_url
    env[STORE_ENV] = session.project.store_url
    env[PROJECT_ENV] = str(session.project.root)
    # Output line by line, so the log streams as the step runs.
    env.setdefault("PYTHONUNBUFFERED", "1")
    # `python` in a step's command means the interpreter lineage runs in (its virtualenv),
    # even when that environment was never activated.
    bin_dir = os.path.dirname(sys.executable)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    return env


def create_run(
    session: Session,
    pipeline: pipeline_mod.Pipeline,
    step: str,
    value: str,
    params: dict[str, Any],
    upstream: Sequence[str],
    code_hash: str | None,
    *,
    resolve_id: str | None = None,
) -> RunInfo:
    """Record a ``running`` run of ``step`` for the launcher, with its command and code version.

    ``resolve_id`` names the resolve that launches it (the tag ``lineage.resolve``), so an
    OpenLineage export can say which resolve a run belongs to.
    """
    spec = pipeline.step(step)
    command = spec.render_command(value, params)
    # The repository of the step's code files (or of the project folder when it names none).
    code = pipeline.code_files(step)
    commit, dirty = git_state([session.project.root / f for f in code] or [session.project.root])
    run = session.catalog.start_run(
        step,
        spec.key,
        value,
        params=params,
        params_hash=pipeline_mod.params_hash(params),
        code_hash=code_hash,
        git_commit=commit,
        git_dirty=dirty,
        command=command,
        host=socket.gethostname(),
        user=_user(),
        pid=os.getpid(),
        upstream=list(upstream),
        tags={RESOLVE_TAG: resolve_id} if resolve_id else None,
    )
    spool.emit(session, run.id, ended=False)
    return run


def execute(session: Session, run: RunInfo, on_output: Output | None = None) -> Launch:
    """Run the command of a recorded ``running`` run to its end and record how it ended."""
    catalog = session.catalog
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    log_dir = session.project.state_dir / "logs"
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        fd, log_path = tempfile.mkstemp(prefix=f"{run.step}-", suffix=".log", dir=log_dir)
    except OSError as error:
        # The step never started: its run ends failed, saying why, rather than running forever.
        why = f"cannot write its log in {str(log_dir)!r}: {error.strerror or error}"
        catalog.end_run(run.id, "failed", error=why)
        raise FileError(
            f"cannot write the log of {run.step}:{run.value} in {str(log_dir)!r}: "
            f"{error.strerror or error}: make that folder writable"
        ) from None
    exit_code: int | None = None
    process: subprocess.Popen[bytes] | None = None
    try:
        with os.fdopen(fd, "wb") as log:
            try:
                process = subprocess.Popen(
                    run.command or "",
                    shell=True,
                    cwd=session.project.root,
                    env=step_environment(session, run.id),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    # Its own process group, so Ctrl-C handling and kill reach the whole step.
                    start_new_session=True,
                )
            except OSError as error:
                _record_end(session, run, log_path, "failed", 127, f"cannot start: {error}")
                raise StepFailed(f"step {run.label} could not start: {error}") from None
            catalog.set_pid(run.id, process.pid)
            assert process.stdout is not None
            for raw in iter(process.stdout.readline, b""):
                log.write(raw)
                line = raw.decode("utf-8", "replace").rstrip("\n")
                tail.append(line)
                if on_output:
                    on_output(run.label, line)
            exit_code = process.wait()
            # The step is gone but its run is not ended yet: the launcher holds it now, so a
            # reaper looking for dead pids does not call it killed in between.
            catalog.set_pid(run.id, os.getpid())
    except KeyboardInterrupt:
        if process is not None:
            _stop(process)
        _record_end(session, run, log_path, "killed", None, "interrupted (Ctrl-C)")
        raise
    status: Status = "finished" if exit_code == 0 else "failed"
    failure = None if exit_code == 0 else f"command exited with {exit_code}"
    _record_end(session, run, log_path, status, exit_code, failure)
    return Launch(catalog.get_run(run.id), exit_code, list(tail))


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def _record_end(
    session: Session,
    run: RunInfo,
    log_path: str,
    status: Status,
    exit_code: int | None,
    error: str | None,
) -> None:
    try:
        stored = session.store.put_file(log_path)
        session.catalog.add_output(
            run.id,
            LOG_NAME,
            {"hash": stored.hash, "size": stored.size, "kind": "file", "format": "text"},
        )
    finally:
        os.unlink(log_path)
    current = session.catalog.get_run(run.id, details=False)
    # A step that recorded its own failure (an exception in its `with` block) keeps it.
    if current.status == "failed" and status == "finished":
        status = "failed"
    session.catalog.end_run(run.id, status, exit_code=exit_code, error=error)
    spool.emit(session, run.id, ended=True)


def failure_message(launch: Launch) -> str:
    """Say which step failed and show the tail of its log."""
    tail = "\n".join(f"  | {line}" for line in launch.tail) or "  | (no output)"
    return (
        f"step {launch.run.label} failed (exit {launch.exit_code}, run "
        f"{launch.run.short_id}); last lines of its log:\n{tail}"
    )
