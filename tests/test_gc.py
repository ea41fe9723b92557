"""lineage rm and lineage gc: delete runs, then exactly the objects nobody refers to."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pyarrow as pa
import pytest

import lineage
from lineage.gc import gc
from lineage.run import open_session
from tests.helpers import invoke


def store_files(project: Path) -> dict[str, int]:
    """Every file under the store (objects and temporaries) with its size."""
    base = project / ".lineage" / "objects"
    return {str(p.relative_to(base)): p.stat().st_size for p in base.rglob("*") if p.is_file()}


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_rm_then_gc_frees_exactly_the_bytes_of_what_was_removed(project: Path) -> None:
    shared = write(project / "in" / "shared.bin", b"s" * 5000)
    with lineage.start_run("load", table="a") as a:
        a.log_artifact(shared)
        a.log_artifact(write(project / "in" / "only_a.bin", b"a" * 7000))
        a.log_artifact(write(project / "in" / "folder_a" / "x.txt", b"x" * 300).parent)
    with lineage.start_run("load", table="b") as b:
        b.log_artifact(shared)
        b.log_artifact(write(project / "in" / "only_b.bin", b"b" * 1100))
    s = open_session()
    before = store_files(project)
    removed_hashes = {o.hash for o in s.catalog.outputs(a.id)} - {
        o.hash for o in s.catalog.outputs(b.id)
    }
    folder = next(o for o in s.catalog.outputs(a.id) if o.kind == "folder")
    member = s.store.read_manifest(folder.hash)[0]["hash"]
    expected = {s.store.path(h) for h in removed_hashes | {member}}
    expected_bytes = sum(os.path.getsize(p) for p in expected)
    assert expected_bytes == 7000 + 300 + len(s.store.read_bytes(folder.hash))

    result = invoke("rm", "load:a")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("removed 1 run;")
    assert [r.id for r in lineage.search()] == [b.id]

    dry = json.loads(invoke("gc", "--dry-run", "--grace", "0", "--json").stdout)
    assert dry["dry_run"] is True
    assert dry["bytes"] == expected_bytes
    assert store_files(project) == before  # a dry run removes nothing

    result = invoke("gc", "--grace", "0")
    assert result.exit_code == 0, result.output
    # only_a.bin, folder_a's one file, and folder_a's manifest; shared.bin stays.
    assert result.stdout.splitlines()[-1].startswith(f"removed 3 objects ({expected_bytes} bytes,")
    after = store_files(project)
    assert sum(before.values()) - sum(after.values()) == expected_bytes
    assert not any(os.path.exists(p) for p in expected)
    # What b refers to survives, shared content included, and still verifies.
    assert invoke("verify").exit_code == 0
    assert invoke("gc", "--grace", "0", "--json").stdout.count('"hash"') == 0


def test_shared_object_survives_until_its_last_run_is_removed(project: Path) -> None:
    table = pa.table({"v": [1, 2, 3]})
    for name in ("a", "b"):
        with lineage.start_run("load", table=name) as run:
            run.log_table("data", table)
    s = open_session()
    (data,) = s.catalog.outputs(run.id)
    assert invoke("rm", "load:a").exit_code == 0
    assert gc(s.catalog, s.store, grace=0).objects == []
    assert s.store.exists(data.hash)
    assert invoke("rm", "load:b").exit_code == 0
    report = gc(s.catalog, s.store, grace=0)
    assert [o.hash for o in report.objects] == [data.hash]
    assert report.records == [data.hash]  # the artifact record goes with its last reference
    assert not s.store.exists(data.hash)


def test_rm_refuses_when_others_depend_and_cascade_removes_them(project: Path) -> None:
    with lineage.start_run("load", table="t") as load:
        load.log_table("data", pa.table({"v": [1]}))
    with lineage.start_run("process", logic="p", upstream=["load:t"]) as process:
        process.input_table("data")
    with lineage.start_run("train", algorithm="lr", upstream=["process:p"]) as train:
        train.log_metric("auc", 0.9)
    result = invoke("rm", "load:t")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: cannot remove {load.info.label}: {process.info.short_id} "
        f"({process.info.label}), {train.info.short_id} ({train.info.label}) depend on it;"
    )
    assert len(lineage.search()) == 3  # nothing removed
    # Not a terminal and no --yes: refuse rather than guess.
    refused = invoke("rm", "load:t", "--cascade")
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr
    assert len(lineage.search()) == 3
    result = invoke("rm", "load:t", "--cascade", "--yes")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "removing 3 runs:"
    assert {line.split()[0] for line in lines[1:4]} == {
        r.info.short_id for r in (load, process, train)
    }
    assert lineage.search() == []
    s = open_session()
    assert s.catalog.metric_history(train.id, "auc") == []
    assert s.catalog.upstream_ids(train.id) == []


def test_rm_json_and_unknown_ref(project: Path) -> None:
    with lineage.start_run("load", table="t") as load:
        pass
    result = invoke("rm", load.id[:8], "--json")
    assert json.loads(result.stdout) == {
        "removed": [{"run_id": load.id, "ref": load.info.ref, "status": "finished"}]
    }
    missing = invoke("rm", load.id[:8])
    assert missing.exit_code == 1
    assert missing.stderr.startswith(f"Error: no run matches '{load.id[:8]}'")


def test_gc_spares_young_objects_and_recent_temporaries(project: Path) -> None:
    s = open_session()
    orphan = s.store.put_bytes(b"stored, but its run has not recorded it yet")
    leftover = Path(s.store.root) / "tmp" / "interrupted"
    leftover.write_bytes(b"half a write")
    report = gc(s.catalog, s.store)  # default grace: ten minutes
    assert report.objects == [] and report.temporary == []
    assert report.young == 1
    said = invoke("gc", "--dry-run").stdout.splitlines()[-1]
    assert said == (
        "would remove 0 objects (0 B); kept 1 (1 unreferenced but younger than 10m: "
        "--grace 0 takes them too)"
    )
    assert s.store.exists(orphan.hash) and leftover.exists()
    # Two hours later both are garbage.
    old = time.time() - 7200
    os.utime(s.store.path(orphan.hash), (old, old))
    os.utime(leftover, (old, old))
    report = gc(s.catalog, s.store)
    assert [o.hash for o in report.objects] == [orphan.hash]
    assert report.temporary == [(str(leftover), len(b"half a write"))]
    assert not leftover.exists()


def test_storing_old_content_again_protects_it_from_gc(project: Path) -> None:
    s = open_session()
    source = write(project / "model.pkl", b"weights" * 100)
    stored = s.store.put_file(source)
    old = time.time() - 7200
    os.utime(s.store.path(stored.hash), (old, old))
    # A writer stores the same content again (and is about to record it): it is young again.
    assert s.store.put_file(source).hash == stored.hash
    assert gc(s.catalog, s.store).objects == []
    assert s.store.exists(stored.hash)


def test_gc_keeps_an_object_referenced_after_it_was_listed(project: Path) -> None:
    s = open_session()
    source = write(project / "late.bin", b"late" * 50)
    stored = s.store.put_file(source)
    old = time.time() - 7200
    os.utime(s.store.path(stored.hash), (old, old))
    with lineage.start_run("load", table="t") as run:
        pass
    real = s.catalog.referenced_hashes

    def listed_then_referenced() -> set[str]:
        # gc has listed the objects; a writer records its edge before gc reads references.
        s.catalog.add_output(run.id, "late.bin", {"hash": stored.hash, "size": 200, "kind": "file"})
        return real()

    s.catalog.referenced_hashes = listed_then_referenced  # type: ignore[method-assign]
    try:
        report = gc(s.catalog, s.store, grace=0)
    finally:
        del s.catalog.referenced_hashes
    assert report.objects == []
    assert s.store.exists(stored.hash)


def test_gc_refuses_when_a_live_folder_manifest_is_missing(project: Path) -> None:
    write(project / "f" / "a.txt", b"a")
    with lineage.start_run("load", table="t") as run:
        folder_hash = run.log_artifact(project / "f")
    s = open_session()
    path = s.store.path(folder_hash)
    os.chmod(path, 0o644)
    os.unlink(path)
    before = store_files(project)
    result = invoke("gc", "--grace", "0")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: folder manifest {folder_hash} is missing")
    assert store_files(project) == before


@pytest.mark.parametrize("grace", ["soon", "-1", "1y"])
def test_gc_bad_grace_is_a_usage_error(project: Path, grace: str) -> None:
    result = invoke("gc", "--grace", grace)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: cannot read {grace!r} as a duration: use a number with s, m, h, d or w, "
        "such as 30s, 10m or 1h\n"
    )


def test_rm_refuses_a_run_that_is_still_running(project: Path) -> None:
    with lineage.start_run("load", table="t") as run:
        result = invoke("rm", run.id[:8])
        assert result.exit_code == 1
        assert result.stderr.startswith(
            f"Error: cannot remove {run.info.label}: it is still running"
        )
    assert invoke("rm", run.id[:8]).exit_code == 0


WRITER = """
import sys
import lineage
from lineage import api as integrity

previous = None
for i in range(int(sys.argv[2])):
    if previous is not None:
        integrity.rm(previous)  # the shared content is unreferenced now ...
    with lineage.start_run("load", table=f"t{i}") as run:
        run.log_artifact(sys.argv[1])  # ... and referenced again: gc must not lose it
    previous = run.id
"""


def test_gc_running_beside_a_writer_never_loses_a_referenced_object(
    project: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys

    shared = write(tmp_path / "shared.bin", os.urandom(64 * 1024))
    script = write(tmp_path / "writer.py", WRITER.encode())
    writer = subprocess.Popen([sys.executable, str(script), str(shared), "15"], cwd=project)
    s = open_session()
    rounds = 0
    try:
        while writer.poll() is None:
            gc(s.catalog, s.store, grace=1.0)
            rounds += 1
    finally:
        writer.wait(timeout=120)
    assert writer.returncode == 0
    assert rounds > 1
    for hash_ in s.catalog.referenced_hashes():
        assert s.store.check(hash_) == "ok"
    assert invoke("verify").exit_code == 0


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_gc_and_verify_work_on_file_and_memory_stores(kind: str, tmp_path: Path) -> None:
    import fsspec

    from lineage.catalog import Catalog
    from lineage.store import Store
    from lineage.verify import verify

    if kind == "memory":
        fsspec.filesystem("memory").store.clear()
        store = Store(f"memory://gc-{kind}")
    else:
        store = Store(str(tmp_path / "objects"))
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}", create=True)
    kept = store.put_bytes(b"referenced")
    dropped = store.put_bytes(b"garbage")
    run = catalog.start_run("load", "table", "t", status="finished")
    catalog.add_output(run.id, "data", {"hash": kept.hash, "size": kept.size, "kind": "file"})
    assert {o.hash for o in store.iter_objects()} == {kept.hash, dropped.hash}
    assert gc(catalog, store).objects == []  # both are young
    report = gc(catalog, store, grace=0)
    assert [o.hash for o in report.objects] == [dropped.hash]
    assert [o.hash for o in store.iter_objects()] == [kept.hash]
    assert verify(catalog, store).ok
    store.remove(kept.hash)
    assert [p.status for p in verify(catalog, store).problems] == ["missing"]
    catalog.close()
