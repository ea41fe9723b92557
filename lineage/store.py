"""Content-addressed objects over fsspec: put, open, exists, verify.

An object lives at ``<root>/xxh128/<hex[:2]>/<hex[2:]>``. Local stores copy and hash in one
pass into a temporary name, then rename into place; object stores hash first, then upload to
the final key (which appears only when the upload completes). An object that exists is never
written again, so logging the same content twice stores it once.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time as _time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

from lineage import hashing
from lineage.errors import FileError, InvalidName, LineageError, NotFound, StoreError
from lineage.urls import mask_url, shown_url

if TYPE_CHECKING:
    from fsspec.callbacks import Callback

Progress = Callable[[int], None]
MANIFEST_FORMAT = "lineage-manifest-1"
TMP_DIR = "tmp"
# Multipart uploads to object stores: None keeps s3fs's choice (50 MiB parts, more for huge
# files; one PUT below two parts), which measured fastest; ``part_size`` in [store] (at least
# 5 MiB, S3's minimum) trades speed for memory: up to 10 parts are in flight at once.
PART_SIZE: int | None = None
# Options of ours in [store], taken out before the rest goes to the fsspec filesystem.
OWN_OPTIONS = ("part_size",)


@dataclass(frozen=True)
class Stored:
    """What putting content into the store produced."""

    hash: str
    size: int
    kind: str  # file, folder, table


def check_name(name: str) -> str:
    """Refuse an artifact name that is empty, absolute, or leaves its folder."""
    path = PurePosixPath(name.replace("\\", "/"))
    if not name or path.is_absolute() or name.startswith("~") or ".." in path.parts:
        raise InvalidName(
            f"artifact name {name!r} leaves its folder: use a relative name such as 'model.pkl'"
        )
    if "/" in name or name in (".",):
        raise InvalidName(
            f"artifact name {name!r} may not contain '/': the slash qualifies an input by its "
            "upstream run ('transactions/data')"
        )
    return name


class Store:
    """A content-addressed object store at an fsspec URL (a local path, memory://, s3://)."""

    def __init__(self, url: str, *, part_size: int | None = PART_SIZE, **options: Any) -> None:
        """Open the store at ``url``; ``options`` go to the fsspec filesystem.

        For ``s3://bucket/prefix`` they are s3fs's (``endpoint_url``, ``key``, ``secret``,
        ``client_kwargs``, ``config_kwargs`` ...); without them s3fs reads the usual AWS
        variables (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE`` ...).
        """
        import fsspec

        self.url = url
        self.masked_url = shown_url(url)
        self.part_size = int(part_size) if part_size else None
        protocol = fsspec.core.split_protocol(url)[0]
        if protocol in ("s3", "s3a"):
            # Objects are immutable and other processes add them all the time: a cached
            # listing could only hide new objects, never save a wrong answer.
            options.setdefault("use_listings_cache", False)
        try:
            self.fs, root = fsspec.core.url_to_fs(url, **options)
        except (ImportError, ValueError, TypeError) as error:
            raise StoreError(f"cannot open store {self.masked_url!r}: {_line(error)}") from None
        self.root = root.rstrip("/")
        protocol = self.fs.protocol
        self.protocol = protocol if isinstance(protocol, str) else protocol[0]
        self.local = self.protocol in ("file", "local")
        self.memory = self.protocol == "memory"

    def __repr__(self) -> str:
        return f"Store({self.masked_url!r})"

    def _failure(self, verb: str, error: BaseException) -> StoreError:
        """Turn a filesystem error into one line that names the store and what to do."""
        # A local OS error says it best in its own words, without errno and path noise.
        text = error.strerror if isinstance(error, OSError) and error.strerror else _line(error)
        if "bucket" in text.lower() and (
            isinstance(error, FileNotFoundError) or "does not exist" in text.lower()
        ):
            bucket = mask_url(self.root.split("/", 1)[0])
            return StoreError(
                f"bucket {bucket!r} of store {self.masked_url!r} does not exist: create it or "
                "fix the store URL (LINEAGE_STORE_URL or [store] url in lineage.toml)"
            )
        return StoreError(f"cannot {verb} store {self.masked_url!r}: {text}")

    # -- paths ---------------------------------------------------------------------------

    def path(self, hash_: str) -> str:
        """Return where the object of ``hash_`` lives in the store; refuse a malformed hash."""
        if not hashing.is_well_formed(hash_):
            raise StoreError(
                f"malformed hash {hash_!r} (not {hashing.ALGORITHM}: and "
                f"{hashing.HEX_LENGTH} hex digits): a catalog row or folder manifest was edited; "
                "run `lineage verify`"
            )
        algorithm, hexdigest = hashing.split_hash(hash_)
        return f"{self.root}/{algorithm}/{hexdigest[:2]}/{hexdigest[2:]}"

    def exists(self, hash_: str) -> bool:
        """Return whether the object of ``hash_`` is in the store."""
        return self._exists(self.path(hash_))

    def _exists(self, path: str) -> bool:
        if self.local:
            return os.path.exists(path)
        try:
            return self.fs.exists(path)
        except Exception as error:  # network and permission errors of any fsspec backend
            raise self._failure("reach", error) from None

    # -- writing -------------------------------------------------------------------------

    def put_file(self, source: str | os.PathLike[str], progress: Progress | None = None) -> Stored:
        """Store a local file; hash it while copying when the store is local.

        On an object store the file is hashed first, then uploaded (in parts when large) to
        its final key, which appears only once the upload completes; when the object is there
        already nothing is sent. ``progress`` receives the bytes copied or uploaded.
        """
        source = os.fspath(source)
        if not os.path.isfile(source):
            raise NotFound(f"no file to log at {source!r}: check the path")
        if self.local:
            return self._put_local(source, progress)
        hash_, size = hashing.hash_file(source)
        target = self.path(hash_)
        if not self._exists(target):
            self._upload(source, target, progress)
        elif progress:
            progress(size)
        return Stored(hash_, size, "file")

    def _put_local(self, source: str, progress: Progress | None) -> Stored:
        tmp = self._temporary()
        hasher = hashing.new_hasher()
        size = 0
        try:
            try:
                src = open(source, "rb", buffering=0)  # noqa: SIM115 (two handles, two errors)
            except OSError as error:
                raise FileError(f"cannot read {source!r}: {error.strerror}") from None
            with src, self._write_errors(), open(tmp, "wb", buffering=0) as dst:
                for chunk in hashing.iter_chunks(src):
                    hasher.update(chunk)
                    _write_all(dst, chunk)
                    size += len(chunk)
                    if progress:
                        progress(len(chunk))
                # The bytes must be on disk before the rename makes them an object: after a
                # crash, a visible object always holds the bytes its name promises.
                os.fsync(dst.fileno())
            hash_ = hashing.format_hash(hasher.hexdigest())
            self._place_local(tmp, self.path(hash_))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return Stored(hash_, size, "file")

    def _temporary(self) -> str:
        tmp_dir = os.path.join(self.root, TMP_DIR)
        with self._write_errors():
            os.makedirs(tmp_dir, exist_ok=True)
        return os.path.join(tmp_dir, uuid.uuid4().hex)

    @contextmanager
    def _write_errors(self) -> Iterator[None]:
        """Turn a failed local write (permissions, a full disk) into one StoreError line."""
        try:
            yield
        except OSError as error:
            hint = " (free some space)" if error.errno == errno.ENOSPC else ""
            raise StoreError(
                f"cannot write to store {self.masked_url!r}: {error.strerror}{hint}"
            ) from None

    def _place_local(self, tmp: str, target: str) -> None:
        with self._write_errors():
            if os.path.exists(target):
                # Refresh its age: gc spares objects younger than its grace period, so content
                # that is being referenced again cannot be collected under the writer's feet.
                _touch(target)
                return
            os.makedirs(os.path.dirname(target), exist_ok=True)
            # Objects are read-only: a stray write through a fetched path cannot corrupt it.
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)

    def _upload(self, source: str, target: str, progress: Progress | None = None) -> None:
        # Object stores expose a key only once its (multipart) upload completes, and s3fs
        # aborts a multipart upload that fails, so the final key is written directly; the
        # memory filesystem has no partial state to fear either.
        options: dict[str, Any] = {"callback": _relay(progress)}
        if self.protocol in ("s3", "s3a") and self.part_size:
            options["chunksize"] = self.part_size
        try:
            self.fs.put_file(source, target, **options)
        except Exception as error:
            raise self._failure("upload to", error) from None

    def put_bytes(self, data: bytes) -> Stored:
        """Store a bytes object (small content such as a folder manifest)."""
        hash_ = hashing.hash_bytes(data)
        target = self.path(hash_)
        if self._exists(target):
            if self.local:
                _touch(target)
            return Stored(hash_, len(data), "file")
        if self.local:
            tmp = self._temporary()
            try:
                with self._write_errors(), open(tmp, "wb") as f:
                    f.write(data)
                    os.fsync(f.fileno())
                self._place_local(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        else:
            try:
                self.fs.pipe_file(target, data)
            except Exception as error:
                raise self._failure("write to", error) from None
        return Stored(hash_, len(data), "file")

    def put_folder(
        self, source: str | os.PathLike[str], progress: Progress | None = None
    ) -> tuple[Stored, list[dict[str, Any]]]:
        """Store every file under a folder, then its canonical manifest; return the manifest's."""
        base = Path(source)
        if not base.is_dir():
            raise NotFound(f"no folder to log at {os.fspath(source)!r}: check the path")
        entries: list[dict[str, Any]] = []
        total = 0
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            stored = self.put_file(path, progress)
            entries.append(
                {
                    "path": path.relative_to(base).as_posix(),
                    "hash": stored.hash,
                    "size": stored.size,
                }
            )
            total += stored.size
        entries.sort(key=lambda e: e["path"])
        manifest = manifest_bytes(entries)
        stored = self.put_bytes(manifest)
        return Stored(stored.hash, total, "folder"), entries

    # -- reading -------------------------------------------------------------------------

    @contextmanager
    def _reading(self, hash_: str) -> Iterator[None]:
        """Turn a failed read of an object into NotFound (missing) or one StoreError line."""
        try:
            yield
        except FileNotFoundError:
            raise NotFound(
                f"object {hash_} is missing from the store {self.masked_url!r}: "
                "run `lineage verify`"
            ) from None
        except LineageError:
            raise
        except Exception as error:
            raise self._failure("read from", error) from None

    def open(self, hash_: str) -> BinaryIO:
        """Open the object of ``hash_`` for reading."""
        with self._reading(hash_):
            return self.fs.open(self.path(hash_), "rb")

    def read_bytes(self, hash_: str) -> bytes:
        """Return the whole content of a (small) object."""
        with self.open(hash_) as f:
            return f.read()

    def read_manifest(self, hash_: str) -> list[dict[str, Any]]:
        """Return the entries of a folder's manifest object."""
        document = json.loads(self.read_bytes(hash_))
        return document["entries"]

    def get_file(
        self, hash_: str, target: str | os.PathLike[str], progress: Progress | None = None
    ) -> str:
        """Copy an object to a local file, verifying its hash on the way; return the path."""
        target = os.fspath(target)
        if os.path.lexists(target) and not os.path.isfile(target):
            # Replacing a folder, a device or a symlink would destroy something that is not ours.
            raise FileError(f"cannot write {target!r}: it exists and is not a file")
        parent = os.path.dirname(os.path.abspath(target))
        while parent and not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if parent and not os.path.isdir(parent):
            raise FileError(f"cannot write {target!r}: {parent!r} is a file, not a folder")
        # Beside the target, under a name short enough for any target name the disk holds.
        tmp = os.path.join(
            os.path.dirname(target), f".{os.path.basename(target)[:64]}.{uuid.uuid4().hex[:8]}.part"
        )
        try:
            with _local_writes(target):
                os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
            with _local_writes(target):
                if self.local:
                    got = self._copy_hashing(hash_, tmp, progress)
                else:
                    # s3fs's own download streams faster than reads through a file object;
                    # the hash pass after it reads the fresh file from the page cache.
                    self._download(hash_, tmp, progress)
                    got, _ = hashing.hash_file(tmp)
            if got != hash_:
                raise StoreError(
                    f"object {hash_} is corrupt in {self.masked_url!r} (its bytes hash to "
                    f"{got}): run `lineage verify`"
                )
            with _local_writes(target):
                os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target

    def _copy_hashing(self, hash_: str, tmp: str, progress: Progress | None) -> str:
        hasher = hashing.new_hasher()
        with self.open(hash_) as src, open(tmp, "wb") as dst:
            for chunk in hashing.iter_chunks(src):
                hasher.update(chunk)
                dst.write(chunk)
                if progress:
                    progress(len(chunk))
        return hashing.format_hash(hasher.hexdigest())

    def _download(self, hash_: str, tmp: str, progress: Progress | None) -> None:
        with self._reading(hash_):
            self.fs.get_file(self.path(hash_), tmp, callback=_relay(progress))

    def get_folder(
        self, hash_: str, target: str | os.PathLike[str], progress: Progress | None = None
    ) -> str:
        """Rebuild a folder from its manifest under ``target``; return the path."""
        base = Path(target)
        for entry in self.read_manifest(hash_):
            check_relative(entry["path"])
            self.get_file(entry["hash"], base / entry["path"], progress)
        base.mkdir(parents=True, exist_ok=True)
        return os.fspath(base)

    def local_path(self, hash_: str) -> str | None:
        """Return the object's path on this disk, when the store is local and holds it."""
        if self.local:
            path = self.path(hash_)
            if os.path.exists(path):
                return path
        return None

    # -- checking ------------------------------------------------------------------------

    def verify(self, hash_: str) -> bool:
        """Re-hash an object; return whether its bytes still hash to its name."""
        return self.check(hash_) == "ok"

    def check(self, hash_: str, progress: Progress | None = None) -> str:
        """Re-hash an object: ``ok``, ``missing``, ``corrupt`` (bytes hash to another name), or
        ``malformed`` (the hash itself is not one lineage writes: no path is built from it)."""
        if not hashing.is_well_formed(hash_):
            return "malformed"
        try:
            with self.open(hash_) as f:
                got, _ = hashing.hash_stream(f, progress)
        except NotFound:
            return "missing"
        except OSError as error:
            raise StoreError(f"cannot read object {hash_} in {self.url!r}: {error}") from None
        return "ok" if got == hash_ else "corrupt"

    def iter_objects(self) -> Iterator[StoredObject]:
        """Yield every object in the store with its size and age (for gc)."""
        base = f"{self.root}/{hashing.ALGORITHM}"
        if self.local:
            if not os.path.isdir(base):
                return
            for prefix in sorted(os.scandir(base), key=lambda e: e.name):
                if not prefix.is_dir():
                    continue
                for entry in sorted(os.scandir(prefix.path), key=lambda e: e.name):
                    hash_ = hashing.format_hash(prefix.name + entry.name)
                    if not hashing.is_well_formed(hash_):
                        continue  # not an object lineage wrote: never ours to collect
                    stat = entry.stat()
                    yield StoredObject(hash_, stat.st_size, stat.st_mtime)
            return
        try:
            found = self.fs.find(base, detail=True) if self.fs.exists(base) else {}
        except Exception as error:
            raise StoreError(f"cannot list store {self.url!r}: {error}") from None
        for path, info in sorted(found.items()):
            relative = path[len(base) :].strip("/") if path.startswith(base) else path
            prefix, _, rest = relative.partition("/")
            hash_ = hashing.format_hash(prefix + rest)
            if len(prefix) != 2 or not rest or "/" in rest or not hashing.is_well_formed(hash_):
                continue
            yield StoredObject(hash_, info["size"], _mtime(info))

    def object_mtime(self, hash_: str) -> float:
        """Return when an object was last stored (Unix seconds); now when it cannot be told."""
        path = self.path(hash_)
        if self.local:
            try:
                return os.stat(path).st_mtime
            except FileNotFoundError:
                return _time.time()
        try:
            return _mtime(self.fs.info(path))
        except Exception:  # missing or unreachable: never collect what we cannot date
            return _time.time()

    def remove(self, hash_: str) -> None:
        """Delete an object (gc only)."""
        path = self.path(hash_)
        if self.local:
            with self._write_errors():
                if os.path.exists(path):
                    os.chmod(path, 0o644)
                    os.unlink(path)
        elif self._exists(path):
            self.fs.rm_file(path)

    def clear_temporary(
        self, older_than: float = 0.0, *, dry_run: bool = False
    ) -> list[tuple[str, int]]:
        """Remove leftovers of interrupted local writes older than ``older_than`` seconds.

        A younger file may be a write in progress in another process: it is left alone.
        Return the removed paths with their sizes.
        """
        removed: list[tuple[str, int]] = []
        tmp_dir = os.path.join(self.root, TMP_DIR)
        if not self.local or not os.path.isdir(tmp_dir):
            return removed
        deadline = _time.time() - older_than
        for entry in os.scandir(tmp_dir):
            try:
                stat = entry.stat()
                if stat.st_mtime <= deadline:
                    if not dry_run:
                        os.unlink(entry.path)
                    removed.append((entry.path, stat.st_size))
            except FileNotFoundError:  # finished (renamed) meanwhile
                continue
        return removed


@dataclass(frozen=True)
class StoredObject:
    """An object found in the store: its hash, size and last modification (Unix seconds)."""

    hash: str
    size: int
    mtime: float


def _write_all(dst: BinaryIO, chunk: memoryview) -> None:
    # An unbuffered write may write only part of a chunk (a disk filling up does that before
    # it fails): keep writing the rest, so a full disk raises instead of storing a short file
    # under the hash of the whole.
    view = chunk
    while view:
        written = dst.write(view)
        if not written:
            raise OSError(errno.EIO, "write made no progress")
        view = view[written:]


def _touch(path: str) -> None:
    # A read-only store still serves reads; gc there is its owner's business.
    with contextlib.suppress(OSError):
        os.utime(path)


def _mtime(info: dict[str, Any]) -> float:
    for key in ("mtime", "LastModified", "last_modified", "created"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    # An age we cannot know is taken as "just now": never collect what we cannot date.
    return _time.time()


@contextmanager
def _local_writes(target: str) -> Iterator[None]:
    try:
        yield
    except OSError as error:
        hint = " (free some space)" if error.errno == errno.ENOSPC else ""
        raise FileError(f"cannot write {target!r}: {error.strerror}{hint}") from None


def _line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return mask_url(lines[0]) if lines else type(error).__name__


def _relay(progress: Progress | None) -> Callback:
    """Wrap a ``progress(nbytes)`` callable as the callback object fsspec transfers take."""
    from fsspec.callbacks import Callback, NoOpCallback

    if progress is None:
        return NoOpCallback()
    report = progress  # not None, as the nested class sees it too

    class Relay(Callback):
        def relative_update(self, inc: int = 1) -> None:
            report(inc)

    return Relay()


def check_relative(path: str) -> str:
    """Refuse a manifest path that is absolute or leaves its folder."""
    parts = PurePosixPath(path).parts
    if not path or PurePosixPath(path).is_absolute() or ".." in parts:
        raise StoreError(f"manifest entry {path!r} leaves its folder: the manifest is corrupt")
    return path


def manifest_bytes(entries: list[dict[str, Any]]) -> bytes:
    """Serialize a folder manifest canonically: sorted, compact, stable across runs."""
    document = {"format": MANIFEST_FORMAT, "entries": sorted(entries, key=lambda e: e["path"])}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
