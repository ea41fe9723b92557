"""Tell a run whose process died from one still going, and mark the dead ones ``killed``.

A run on this host is alive while its process is (the pid exists, is not a zombie, and
started before the run did: a recycled pid belongs to someone else). A run on another host is
alive while it keeps its heartbeat: the SDK touches ``heartbeat_at`` every
``HEARTBEAT_SECONDS`` and on every flush; silence for ``STALE_AFTER`` means it is gone.
Reaping happens where runs are read for people (``lineage runs``, ``show``) and before ``rm``.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from lineage import times
from lineage.catalog import Catalog, RunInfo

HEARTBEAT_SECONDS = 30.0
STALE_AFTER = timedelta(minutes=5)
# Process start times from /proc are in clock ticks: allow for that coarseness.
_START_SLACK = timedelta(seconds=2)


def reap(
    catalog: Catalog,
    *,
    now: datetime | None = None,
    host: str | None = None,
    stale_after: timedelta = STALE_AFTER,
) -> list[RunInfo]:
    """Mark every ``running`` run whose process is gone as ``killed``; return those runs."""
    moment = now or times.now()
    here = host or socket.gethostname()
    dead: dict[str, tuple[RunInfo, str]] = {}
    for run in catalog.running_runs():
        reason = why_dead(run, here, moment, stale_after)
        if reason:
            dead[run.id] = (run, reason)
    for run, reason in dead.values():
        # One update per run: each carries its own reason; the guard on status inside
        # mark_killed leaves a run that ended meanwhile as it ended.
        if catalog.mark_killed([run.id], reason):
            run.status = "killed"
            run.error = reason
    return [run for run, _ in dead.values() if run.status == "killed"]


def why_dead(run: RunInfo, host: str, now: datetime, stale_after: timedelta) -> str | None:
    """Return why a ``running`` run's process is gone, or None while it may be alive."""
    if run.host == host and run.pid:
        if not pid_alive(run.pid, run.started_at):
            return f"process {run.pid} on {host} ended without recording the end of the run"
        return None
    beat = run.heartbeat_at or run.started_at
    if now - beat > stale_after:
        return f"no heartbeat from {run.host or 'its host'} since {times.format_time(beat)}"
    return None


def pid_alive(pid: int, started_at: datetime | None = None) -> bool:
    """Return whether process ``pid`` runs (not a zombie) and is not a recycled pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    except OSError:
        return False
    stat = _proc_stat(pid)
    if stat is None:
        return True  # no /proc (macOS): the signal test is all we have
    state, start = stat
    if state in ("Z", "X"):
        return False
    # A process younger than the run holds a recycled pid: the run's own process is gone.
    recycled = started_at is not None and start is not None and start > started_at + _START_SLACK
    return not recycled


def _proc_stat(pid: int) -> tuple[str, datetime | None] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    state = fields[0]
    try:
        ticks = int(fields[19])
        start = _boot_time() + timedelta(seconds=ticks / os.sysconf("SC_CLK_TCK"))
    except (IndexError, ValueError, OSError):
        start = None
    return state, start


def _boot_time() -> datetime:
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("btime "):
                return datetime.fromtimestamp(int(line.split()[1]), times.now().tzinfo)
    raise OSError("no btime in /proc/stat")
