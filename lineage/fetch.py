"""Fetch an artifact out of the store: to a path, never over one unasked, or to a stream.

Every byte is re-hashed on the way (``Store.get_file``); a stream gets the bytes only once
they hashed right, so a pipe never carries a corrupt object.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from lineage import refs
from lineage.catalog import ArtifactInfo, Catalog
from lineage.errors import Ambiguous, FileError, LineageError, NotFound, OutputExists, UsageError
from lineage.store import Store

Progress = Callable[[int], None]
_HEX_PREFIX = re.compile(r"^[0-9a-fA-F]{4,32}$")
# Bytes in one name on every filesystem lineage runs on (ext4, xfs, apfs, tmpfs), and in a path.
NAME_MAX = 255
PATH_MAX = 4095


def find_artifact(catalog: Catalog, spec: str) -> ArtifactInfo:
    """Return the artifact ``REF:NAME`` names, or a hash (``xxh128:9a4f...``, or a hex prefix)."""
    if refs.is_hash(spec) or _HEX_PREFIX.match(spec):
        # A bare hex prefix names an artifact here, as it does for audit and impact: a run
        # alone (no :NAME) is no artifact.
        prefix = spec if refs.is_hash(spec) else f"xxh128:{spec.lower()}"
        matches = catalog.find_artifacts(prefix)
        if len(matches) > 1:
            raise Ambiguous(f"{spec!r} matches more than one artifact: give more of the hash")
        if not matches:
            # Without this, the hash fell through to REF:NAME and blamed a step named 'xxh128'.
            raise NotFound(
                f"no artifact has a hash starting with {spec!r}: copy one from `lineage show REF`"
            )
        return matches[0]
    ref, name = refs.split_artifact_ref(spec)
    run = catalog.resolve(ref)
    outputs = {a.name: a for a in catalog.outputs(run.id)}
    if name not in outputs:
        offered = ", ".join(sorted(outputs)) or "nothing"
        raise NotFound(f"run {run.label} has no output {name!r} (its outputs: {offered})")
    return outputs[name]


def fetch(
    store: Store,
    artifact: ArtifactInfo,
    target: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Write an artifact to ``target`` (into it, when a file goes to a folder); return the path.

    Refuses a path the disk cannot hold, a folder that does not exist (none is made on the
    way: a typo would leave a tree nobody asked for), and anything already there unless
    ``force``.
    """
    _check_path_length(target)
    if artifact.kind != "folder" and target.is_dir():
        # `-o somewhere/` puts the file in that folder under its name, as cp does.
        target = target / (artifact.name or artifact.hash.partition(":")[2])
        _check_path_length(target)
    parent = target.absolute().parent
    if not parent.is_dir():
        blocker = next((p for p in [parent, *parent.parents] if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise FileError(
                f"cannot write {str(target)!r}: {str(blocker)!r} is a file, not a folder"
            )
        raise FileError(
            f"cannot write {str(target)!r}: the folder {str(parent)!r} does not exist: create it "
            "first, or choose another path"
        )
    if os.path.lexists(target) and not force:
        raise OutputExists(
            f"{str(target)!r} exists: choose another path, or overwrite it (force=True)",
            str(target),
        )
    try:
        if artifact.kind == "folder":
            store.get_folder(artifact.hash, target, progress)
        else:
            store.get_file(artifact.hash, target, progress)
    except OSError as error:
        raise LineageError(
            f"cannot write {str(target)!r}: {error.strerror or error}: choose another path"
        ) from None
    return target


def stream(
    store: Store,
    artifact: ArtifactInfo,
    output: BinaryIO,
    scratch: Path | None = None,
    progress: Progress | None = None,
) -> None:
    """Write an artifact's bytes to ``output`` once they hashed right (a temp copy first).

    The copy goes under ``scratch`` (the project's ``.lineage/``) when it exists.
    """
    if artifact.kind == "folder":
        raise UsageError(
            f"artifact {artifact.name or artifact.hash} is a folder: fetch it to a path"
        )
    folder = scratch if scratch is not None and scratch.is_dir() else None
    with tempfile.TemporaryDirectory(prefix="lineage-get-", dir=folder) as temporary:
        copy = store.get_file(artifact.hash, Path(temporary) / "object", progress)
        with open(copy, "rb") as source:
            shutil.copyfileobj(source, output)
        output.flush()


def _check_path_length(target: Path) -> None:
    """Refuse a path the filesystem cannot hold, before anything is fetched."""
    whole = len(os.fsencode(str(target.absolute())))
    if whole > PATH_MAX:
        raise UsageError(f"the output path is {whole} bytes long: a path holds at most {PATH_MAX}")
    for part in target.parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise UsageError(
                f"the name {part[:40]!r}... in the output path is {len(os.fsencode(part))} "
                f"bytes long: a file name holds at most {NAME_MAX}"
            )
