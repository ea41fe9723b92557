"""lineage verify: every flipped byte and every missing object is named with its runs."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lineage
from lineage.run import open_session
from lineage.verify import verify
from tests.helpers import invoke


def flip(path: str, offset: int, mask: int = 0x01) -> None:
    """Flip bits of one byte of a (read-only) store object in place."""
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ mask]))


def make_chain(project: Path) -> tuple[str, str, str]:
    """A load run, and a process run that consumed its table and logged a folder."""
    with lineage.start_run("load", table="transactions") as load:
        load.log_table("data", pa.table({"a": list(range(50))}))
    folder = project / "features"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"alpha" * 100)
    (folder / "sub" / "b.bin").write_bytes(bytes(range(256)) * 4)
    with lineage.start_run("process", logic="plain", upstream=["load:transactions"]) as process:
        process.input_table("data")
        folder_hash = process.log_artifact(folder)
    return load.id, process.id, folder_hash


def test_intact_store_verifies_clean_from_the_cli(project: Path) -> None:
    make_chain(project)
    result = invoke("verify")
    assert result.exit_code == 0, result.output
    # table + folder manifest + two member files
    assert result.stdout.startswith("checked 4 objects (")
    assert result.stdout.rstrip().endswith(": all intact")


def test_corrupt_table_names_the_object_and_every_run_using_it(project: Path) -> None:
    load_id, process_id, _ = make_chain(project)
    s = open_session()
    data = s.catalog.outputs(load_id)[0]
    flip(s.store.path(data.hash), 100)
    result = invoke("verify")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"corrupt  {data.hash}  table"
    used_by = sorted(line.split()[2] for line in lines[1:3])
    assert used_by == sorted([load_id[:8], process_id[:8]])
    assert lines[-1].endswith(": 1 corrupt, 0 missing")
    document = json.loads(invoke("verify", "--json").stdout)
    assert document["ok"] is False
    assert [(p["hash"], p["status"]) for p in document["problems"]] == [(data.hash, "corrupt")]
    assert {r["run_id"] for r in document["problems"][0]["runs"]} == {load_id, process_id}


def test_flipped_byte_in_a_folder_member_names_its_path(project: Path) -> None:
    _, process_id, folder_hash = make_chain(project)
    s = open_session()
    member = next(e for e in s.store.read_manifest(folder_hash) if e["path"] == "sub/b.bin")
    flip(s.store.path(member["hash"]), 1023)  # the very last byte
    report = verify(s.catalog, s.store)
    assert [(p.hash, p.status, p.paths, p.folders) for p in report.problems] == [
        (member["hash"], "corrupt", ["sub/b.bin"], [folder_hash])
    ]
    assert [r.id for r in report.problems[0].runs] == [process_id]
    result = invoke("verify")
    assert f"corrupt  {member['hash']}  file (sub/b.bin in a folder)" in result.stdout


def test_missing_object_is_reported_missing(project: Path) -> None:
    load_id, _, _ = make_chain(project)
    s = open_session()
    data = s.catalog.outputs(load_id)[0]
    path = s.store.path(data.hash)
    os.chmod(path, 0o644)
    os.unlink(path)
    result = invoke("verify", "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [(p["hash"], p["status"]) for p in problems] == [(data.hash, "missing")]


def test_verify_of_a_ref_checks_that_run_and_its_upstream_only(project: Path) -> None:
    make_chain(project)
    with lineage.start_run("load", table="customers") as other:
        other.log_table("data", pa.table({"c": [1]}))
    s = open_session()
    flip(s.store.path(s.catalog.outputs(other.id)[0].hash), 10)
    # The process chain does not include load:customers: it verifies clean.
    assert invoke("verify", "process:plain").exit_code == 0
    assert invoke("verify", "load:customers").exit_code == 1
    assert invoke("verify").exit_code == 1


def test_progress_reports_bytes_up_to_the_total(project: Path) -> None:
    make_chain(project)
    s = open_session()
    seen: list[tuple[int, int]] = []
    report = verify(s.catalog, s.store, progress=lambda done, total: seen.append((done, total)))
    assert report.ok
    assert seen[-1] == (report.bytes, report.bytes)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    content=st.binary(min_size=1, max_size=3000),
    position=st.floats(min_value=0, max_value=1, exclude_max=True),
    mask=st.integers(min_value=1, max_value=255),
)
def test_any_flipped_byte_anywhere_is_caught(
    project: Path, content: bytes, position: float, mask: int
) -> None:
    s = open_session()
    source = project / "blob.bin"
    source.write_bytes(content)
    stored = s.store.put_file(source)
    path = s.store.path(stored.hash)
    offset = int(position * len(content))
    flip(path, offset, mask)
    try:
        assert s.store.check(stored.hash) == "corrupt"
    finally:
        flip(path, offset, mask)  # restore: the next example may store the same bytes
    assert s.store.check(stored.hash) == "ok"
