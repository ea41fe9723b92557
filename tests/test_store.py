"""The content-addressed store over a local folder, fsspec's memory filesystem and real S3."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import xxhash

import lineage
from lineage import api
from lineage.errors import NotFound, StoreError
from lineage.store import Store, manifest_bytes
from tests import servers


@pytest.fixture(params=["file", "memory", "s3"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store on each backend."""
    if request.param == "file":
        yield str(tmp_path / "objects")
    elif request.param == "memory":
        from fsspec.implementations.memory import MemoryFileSystem

        # fsspec's memory filesystem is one global dict: start and end every test empty.
        MemoryFileSystem.store.clear()
        yield "memory://lineage-test/objects"
        MemoryFileSystem.store.clear()
    else:
        yield request.getfixturevalue("s3_bucket") + "/team/objects"


@pytest.fixture
def store(store_url: str) -> Store:
    return Store(store_url)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def reference_hash(path: Path) -> str:
    """The hash of the reference tool xxh128sum (the xxhash library where it is missing)."""
    if shutil.which("xxh128sum"):
        out = subprocess.run(["xxh128sum", str(path)], capture_output=True, text=True, check=True)
        return "xxh128:" + out.stdout.split()[0]
    return "xxh128:" + xxhash.xxh3_128_hexdigest(path.read_bytes())


def objects(store: Store) -> list[str]:
    """Every object path under the store's root, as the filesystem lists it."""
    found = (store.fs._strip_protocol(p) for p in store.fs.find(store.root))
    return sorted(p for p in found if not p.startswith(f"{store.root}/tmp/"))


def overwrite(store: Store, hash_: str, data: bytes) -> None:
    """Change an object's bytes behind the store's back, as disk rot or a stray write would."""
    path = store.path(hash_)
    if store.local:
        os.chmod(path, 0o644)
    store.fs.pipe_file(path, data)


def test_put_and_get_round_trip_with_the_reference_hash(store: Store, tmp_path: Path) -> None:
    data = os.urandom(3 * 2**20 + 17)  # spans several read chunks, not a multiple of one
    source = write(tmp_path / "in" / "data.bin", data)
    seen: list[int] = []
    stored = store.put_file(source, seen.append)
    assert stored.hash == reference_hash(source)
    assert (stored.size, stored.kind) == (len(data), "file")
    assert sum(seen) == len(data)
    assert store.exists(stored.hash)
    assert objects(store) == [store.path(stored.hash)]
    assert store.path(stored.hash).endswith(f"/xxh128/{stored.hash[7:9]}/{stored.hash[9:]}")
    target = tmp_path / "out" / "copy.bin"
    assert store.get_file(stored.hash, target) == str(target)
    assert target.read_bytes() == data
    assert store.read_bytes(stored.hash) == data
    assert store.verify(stored.hash)
    assert [p.name for p in target.parent.iterdir()] == ["copy.bin"]  # no partial file left


def test_same_content_is_stored_once_and_not_uploaded_again(store: Store, tmp_path: Path) -> None:
    data = b"the same bytes\n" * 1000
    first = store.put_file(write(tmp_path / "a.bin", data))
    # Mark the stored object: if the second put wrote it again, the mark would be gone.
    overwrite(store, first.hash, b"marker")
    second = store.put_file(write(tmp_path / "elsewhere" / "b.bin", data))
    assert second == first
    assert objects(store) == [store.path(first.hash)]
    assert store.read_bytes(first.hash) == b"marker"
    assert store.put_bytes(b"marker").hash != first.hash  # content, not name, addresses


def test_folder_round_trip_with_canonical_manifest(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "model"
    write(source / "weights.bin", b"\x00\x01" * 500)
    write(source / "sub" / "config.json", b'{"C": 1.0}')
    write(source / "a.txt", b"a")
    write(source / "sub" / "copy.txt", b"a")  # same content twice: one object
    stored, entries = store.put_folder(source)
    assert stored.kind == "folder" and stored.size == 1000 + 10 + 1 + 1
    assert [e["path"] for e in entries] == [
        "a.txt",
        "sub/config.json",
        "sub/copy.txt",
        "weights.bin",
    ]
    manifest = store.read_bytes(stored.hash)
    assert manifest == manifest_bytes(entries)
    assert json.loads(manifest)["format"] == "lineage-manifest-1"
    assert b" " not in manifest  # compact, so the same folder always gives the same bytes
    assert lineage.Store  # the public name
    assert len(objects(store)) == 4  # three distinct files + the manifest
    assert store.put_folder(source)[0].hash == stored.hash

    target = tmp_path / "fetched"
    store.get_folder(stored.hash, target)
    fetched = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert fetched == [e["path"] for e in entries]
    for entry in entries:
        assert (target / entry["path"]).read_bytes() == (source / entry["path"]).read_bytes()

    write(source / "a.txt", b"b")
    assert store.put_folder(source)[0].hash != stored.hash


def test_corrupt_object_is_refused_on_get(store: Store, tmp_path: Path) -> None:
    stored = store.put_file(write(tmp_path / "data.bin", b"good bytes" * 100))
    overwrite(store, stored.hash, b"bad bytes" * 100)
    target = tmp_path / "out.bin"
    with pytest.raises(StoreError, match=rf"object {stored.hash} is corrupt .*lineage verify"):
        store.get_file(stored.hash, target)
    assert not target.exists() and list(tmp_path.glob("out.bin*")) == []
    assert not store.verify(stored.hash)


def test_missing_object_is_not_found(store: Store, tmp_path: Path) -> None:
    missing = "xxh128:" + "ab" * 16
    assert not store.exists(missing)
    with pytest.raises(NotFound, match="is missing from the store"):
        store.get_file(missing, tmp_path / "x")
    assert not store.verify(missing)


# -- S3 only --------------------------------------------------------------------------------


def test_large_file_uploads_in_parts_with_progress(s3_bucket: str, tmp_path: Path) -> None:
    store = Store(s3_bucket + "/big", part_size=5 * 2**20)
    data = os.urandom(12 * 2**20)
    seen: list[int] = []
    stored = store.put_file(write(tmp_path / "big.bin", data), seen.append)
    # S3 gives a multipart object the ETag "<md5 of part md5s>-<number of parts>".
    etag = store.fs.info(store.path(stored.hash))["ETag"].strip('"')
    assert etag.endswith("-3")
    assert sorted(seen) == [2 * 2**20, 5 * 2**20, 5 * 2**20]  # parts go up concurrently
    assert store.get_file(stored.hash, tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data


def test_interrupted_upload_leaves_no_object(s3_bucket: str, tmp_path: Path) -> None:
    """A multipart upload that fails half way is aborted: the final key never appears."""
    store = Store(s3_bucket + "/big", part_size=5 * 2**20)
    source = write(tmp_path / "big.bin", os.urandom(11 * 2**20))

    def fail_on_first_part(n: int) -> None:
        raise ConnectionError("network went away")

    with pytest.raises(StoreError, match=r"cannot upload to store .*network went away"):
        store.put_file(source, fail_on_first_part)
    assert objects(store) == []
    bucket = s3_bucket.removeprefix("s3://")
    assert store.fs.call_s3("list_multipart_uploads", Bucket=bucket).get("Uploads") is None
    stored = store.put_file(source)  # and a retry stores it whole
    assert store.verify(stored.hash)


def test_missing_bucket_is_one_clear_line(s3_bucket: str, tmp_path: Path) -> None:
    store = Store("s3://no-such-bucket/objects")
    with pytest.raises(StoreError) as caught:
        store.put_file(write(tmp_path / "x.bin", b"x"))
    message = str(caught.value)
    assert message == (
        "bucket 'no-such-bucket' of store 's3://no-such-bucket/objects' does not exist: create "
        "it or fix the store URL (LINEAGE_STORE_URL or [store] url in lineage.toml)"
    )


def test_unreachable_endpoint_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in servers.S3_ENV.items():
        monkeypatch.setenv(name, value)
    dead = f"http://127.0.0.1:{servers.free_port()}"
    # No retries: the point is the message, not botocore's patience (about 6 s by default).
    store = Store(
        "s3://bucket/objects",
        endpoint_url=dead,
        config_kwargs={"retries": {"max_attempts": 1}},
    )
    with pytest.raises(StoreError) as caught:
        store.put_file(write(tmp_path / "x.bin", b"x"))
    message = str(caught.value)
    assert message.startswith("cannot reach store 's3://bucket/objects': Could not connect")
    assert dead in message and "\n" not in message


def test_store_options_from_lineage_toml(
    s3_bucket: str, s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[store] options reach s3fs: the endpoint and keys come from lineage.toml alone."""
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    root = tmp_path / "project"
    api.init(root)
    (root / "lineage.toml").write_text(
        f'[store]\nurl = "{s3_bucket}/from-toml"\nendpoint_url = "{s3_endpoint}"\n'
        'key = "testing"\nsecret = "testing"\npart_size = 5242880\n'
    )
    monkeypatch.chdir(root)
    model = write(tmp_path / "model.pkl", b"weights")
    with lineage.start_run("train", algorithm="lr") as run:
        digest = run.log_artifact(model)
        assert run.store.url == f"{s3_bucket}/from-toml" and run.store.part_size == 5 * 2**20
    target = tmp_path / "fetched.pkl"
    api.get_artifact(f"{run.id}:model.pkl", target)
    assert target.read_bytes() == b"weights"
    assert run.store.fs.exists(run.store.path(digest))
    bucket = s3_bucket.removeprefix("s3://")
    assert f"{bucket}/from-toml/xxh128/{digest[7:9]}/{digest[9:]}" in objects(run.store)
