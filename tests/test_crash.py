"""Crash safety: a process killed mid-write leaves no lying object and its run ends killed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import lineage
from lineage import liveness, times
from lineage.errors import StoreError
from lineage.run import open_session
from tests.helpers import invoke

BIG = 200 * 1024 * 1024

CHILD = """
import sys, time
import lineage
from lineage import hashing

# Slow the copy down (5 ms a MiB) so the parent's kill lands in the middle of the write.
real = hashing.iter_chunks
def slow(source, buffer=None):
    for chunk in real(source, buffer):
        time.sleep(0.005)
        yield chunk
hashing.iter_chunks = slow

with lineage.start_run("load", table="big") as run:
    run.log_param("size", "200MB")
    run.flush()
    print(run.id, flush=True)
    run.log_artifact(sys.argv[1])
print("finished", flush=True)
"""


def big_file(path: Path) -> Path:
    """Write ~200 MB fast: one random MiB, made distinct per MiB by a counter."""
    block = bytearray(os.urandom(1 << 20))
    with open(path, "wb") as f:
        for i in range(BIG >> 20):
            block[:8] = i.to_bytes(8, "little")
            f.write(block)
    return path


def test_kill_9_in_the_middle_of_log_artifact(project: Path, tmp_path: Path) -> None:
    source = big_file(tmp_path / "big.bin")
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), str(source)],
        cwd=project,
        stdout=subprocess.PIPE,
        text=True,
    )
    tmp_dir = project / ".lineage" / "objects" / "tmp"
    try:
        run_id = child.stdout.readline().strip()  # type: ignore[union-attr]
        assert len(run_id) == 32
        deadline = time.monotonic() + 60
        written = 0
        while time.monotonic() < deadline and written < 20 * 1024 * 1024:
            parts = list(tmp_dir.glob("*")) if tmp_dir.is_dir() else []
            written = max((p.stat().st_size for p in parts), default=0)
            time.sleep(0.002)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert 20 * 1024 * 1024 <= written < BIG  # killed mid-write, not before, not after
    s = open_session()
    # Every object visible in the store hashes to its name; the half write is not one of them.
    objects = list(s.store.iter_objects())
    assert all(s.store.check(o.hash) == "ok" for o in objects)
    assert all(o.size < BIG for o in objects)
    leftovers = list(tmp_dir.iterdir())
    assert len(leftovers) == 1 and leftovers[0].stat().st_size < BIG
    # No half-recorded run: it never finished and recorded no output ...
    raw = s.catalog.get_run(run_id)
    assert raw.status == "running"
    assert raw.params == {"size": "200MB"}
    assert s.catalog.outputs(run_id) == []
    # ... and the first look at it finds its process gone.
    shown = json.loads(invoke("runs", "--json").stdout)
    assert [(r["run_id"], r["status"]) for r in shown] == [(run_id, "killed")]
    assert f"process {child.pid} on {socket.gethostname()} ended" in shown[0]["error"]
    assert invoke("verify").exit_code == 0
    # gc removes the stale temporary once it is older than the grace period.
    old = time.time() - 7200
    os.utime(leftovers[0], (old, old))
    report = json.loads(invoke("gc", "--json").stdout)
    assert [t["path"] for t in report["temporary"]] == [str(leftovers[0])]
    assert not leftovers[0].exists()
    source.unlink()


def test_killed_process_without_artifact_is_shown_killed_by_show(project: Path) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import lineage, time\n"
            "with lineage.start_run('train', algorithm='lr') as run:\n"
            "    print(run.id, flush=True)\n"
            "    time.sleep(60)\n",
        ],
        cwd=project,
        stdout=subprocess.PIPE,
        text=True,
    )
    run_id = child.stdout.readline().strip()  # type: ignore[union-attr]
    # Alive: shown running.
    assert json.loads(invoke("show", run_id, "--json").stdout)["status"] == "running"
    child.kill()
    child.wait()
    shown = json.loads(invoke("show", run_id, "--json").stdout)
    assert shown["status"] == "killed"
    assert shown["ended_at"] is not None


def test_run_on_another_host_is_killed_after_its_heartbeat_stops(project: Path) -> None:
    s = open_session()
    run = s.catalog.start_run("load", "table", "t", host="elsewhere.example", pid=os.getpid())
    start = times.now()
    assert liveness.reap(s.catalog, now=start + timedelta(minutes=4)) == []
    assert s.catalog.get_run(run.id).status == "running"
    reaped = liveness.reap(s.catalog, now=start + timedelta(minutes=6))
    assert [r.id for r in reaped] == [run.id]
    recorded = s.catalog.get_run(run.id)
    assert recorded.status == "killed"
    assert (
        recorded.error
        == f"no heartbeat from elsewhere.example since {times.format_time(run.started_at)}"
    )


def test_heartbeat_keeps_a_quiet_run_alive(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(liveness, "HEARTBEAT_SECONDS", 0.05)
    s = open_session()
    with lineage.start_run("load", table="quiet") as run:
        first = s.catalog.get_run(run.id).heartbeat_at
        time.sleep(0.4)
        later = s.catalog.get_run(run.id).heartbeat_at
        assert first is not None and later is not None and later > first
    assert s.catalog.get_run(run.id).status == "finished"


def test_pid_alive_sees_through_zombies_and_recycled_pids() -> None:
    assert liveness.pid_alive(os.getpid(), times.now())
    # A process younger than the run cannot be the run's: the pid was recycled.
    assert not liveness.pid_alive(os.getpid(), datetime(2020, 1, 1, tzinfo=UTC))
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and liveness.pid_alive(zombie.pid):
        time.sleep(0.01)
    assert not liveness.pid_alive(zombie.pid)  # exited, not yet waited for
    zombie.wait()
    assert not liveness.pid_alive(zombie.pid)


def test_full_disk_while_storing_leaves_no_object_and_fails_the_run(
    project: Path, tmp_path: Path
) -> None:
    full = tmp_path / "full"
    full.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"a small filesystem to fill needs root: {mounted.stderr.decode().strip()}")
    try:
        source = tmp_path / "big.bin"
        source.write_bytes(os.urandom(256 * 1024))
        store = str(full / "objects")
        with (
            pytest.raises(StoreError, match="No space left on device"),
            lineage.start_run("load", table="big", store=store) as run,
        ):
            run.log_artifact(source)
        s = open_session(store=store)
        assert list(s.store.iter_objects()) == []
        assert list((full / "objects" / "tmp").iterdir()) == []
        recorded = s.catalog.get_run(run.id)
        assert recorded.status == "failed"
        assert "No space left on device" in (recorded.error or "")
        assert s.catalog.outputs(run.id) == []
    finally:
        subprocess.run(["umount", str(full)], check=True)
