"""Streaming xxh3-128 agrees with xxhash's one-shot digest and with the `xxh128sum` tool."""

from __future__ import annotations

import io
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import xxhash

from lineage import hashing

# Around the 1 MiB read buffer: empty, tiny, one byte short, exact, one byte over, several chunks.
SIZES = [0, 1, hashing.CHUNK - 1, hashing.CHUNK, hashing.CHUNK + 1, 3 * hashing.CHUNK + 12345]
RECORDED = re.compile(r"^xxh128:[0-9a-f]{32}$")


def xxh128sum(path: Path) -> str:
    """Return the hex digest the reference tool (Debian package xxhash) prints for ``path``."""
    tool = shutil.which("xxh128sum")
    assert tool, "xxh128sum is missing: install the Debian package xxhash (scripts/test does)"
    done = subprocess.run([tool, str(path)], capture_output=True, text=True, check=True)
    return done.stdout.split()[0]


class ReadOnly(io.RawIOBase):
    """A stream with read() but no readinto(), as some fsspec files are."""

    def __init__(self, data: bytes) -> None:
        self._source = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        # Short reads, as a network stream gives them: the hash must not depend on chunking.
        return self._source.read(min(size, 4096) if size and size > 0 else size)

    readinto = None  # type: ignore[assignment]


@pytest.fixture(scope="module")
def payload() -> bytes:
    # Deterministic random bytes; 3 MiB is enough to cross the buffer three times.
    return random.Random(2).randbytes(max(SIZES))


@pytest.mark.parametrize("size", SIZES)
def test_every_entry_point_agrees_with_xxhash_and_xxh128sum(
    size: int, payload: bytes, tmp_path: Path
) -> None:
    data = payload[:size]
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    expected = "xxh128:" + xxhash.xxh3_128_hexdigest(data)

    assert "xxh128:" + xxh128sum(path) == expected
    assert hashing.hash_file(str(path)) == (expected, size)
    with open(path, "rb") as f:
        assert hashing.hash_stream(f) == (expected, size)
    assert hashing.hash_stream(io.BytesIO(data)) == (expected, size)
    assert hashing.hash_stream(ReadOnly(data)) == (expected, size)  # type: ignore[arg-type]
    assert hashing.hash_bytes(data) == expected


def test_empty_file_hashes_to_the_digest_of_no_bytes(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.touch()
    hash_, size = hashing.hash_file(str(path))
    assert size == 0
    assert hash_ == "xxh128:" + xxh128sum(path) == "xxh128:99aa06d3014798d86001c324468d497f"


def test_progress_reports_every_byte_of_a_file_larger_than_the_buffer(
    payload: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(payload)
    seen: list[int] = []
    hash_, size = hashing.hash_file(str(path), progress=seen.append)
    assert size == len(payload) == sum(seen)
    assert len(seen) == 4  # three full 1 MiB reads and the tail: the buffer is reused, not grown
    assert max(seen) == hashing.CHUNK
    assert hash_ == "xxh128:" + xxh128sum(path)


def test_recorded_form_carries_its_algorithm() -> None:
    hash_ = hashing.hash_bytes(b"lineage")
    assert RECORDED.match(hash_)
    assert hashing.split_hash(hash_) == ("xxh128", hash_.removeprefix("xxh128:"))
    assert hashing.format_hash("ab" * 16) == "xxh128:" + "ab" * 16
    assert hashing.ALGORITHM == "xxh128"


def test_different_content_gives_different_hashes() -> None:
    assert hashing.hash_bytes(b"a") != hashing.hash_bytes(b"b")
    assert hashing.hash_bytes(b"") != hashing.hash_bytes(b"\0")
