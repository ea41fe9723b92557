"""Remove store objects that no remaining run refers to, and only those.

Live objects are the hashes of every output and input edge, plus the member files of every
live folder (read from its manifest). An object younger than the grace period is spared even
when nothing refers to it yet: it may be one a writer has just stored and is about to record
(a local store refreshes the age of an object each time content is stored into it again, so
one that is being referenced anew is young too). Each batch is deleted inside a catalog write
transaction that re-reads the references, so a reference recorded meanwhile saves its object.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lineage.catalog import Catalog
from lineage.errors import StoreError
from lineage.store import Store, StoredObject

# Long enough for any write to be recorded after its object appears (milliseconds, or the
# rename of a finished upload), short enough that `rm` then `gc` soon frees the space.
GRACE_SECONDS = 600.0
Progress = Callable[[int, int], None]


@dataclass
class GcReport:
    """What gc removed (or, with ``dry_run``, would remove)."""

    objects: list[StoredObject] = field(default_factory=list)
    temporary: list[tuple[str, int]] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    kept: int = 0
    young: int = 0  # of the kept: unreferenced, but younger than the grace period
    dry_run: bool = False

    @property
    def bytes(self) -> int:
        return sum(o.size for o in self.objects) + sum(size for _, size in self.temporary)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "bytes": self.bytes,
            "objects": [{"hash": o.hash, "size": o.size} for o in self.objects],
            "temporary": [{"path": p, "size": s} for p, s in self.temporary],
            "records": self.records,
            "kept": self.kept,
            "young": self.young,
        }


def live_hashes(catalog: Catalog, store: Store) -> set[str]:
    """Return every hash a remaining run refers to, with the members of live folders."""
    live = catalog.referenced_hashes()
    folders = [a.hash for a in catalog.artifact_rows() if a.kind == "folder" and a.hash in live]
    for folder in folders:
        if not store.exists(folder):
            # Its members cannot be listed, so none of them may be judged garbage.
            raise StoreError(
                f"folder manifest {folder} is missing, so gc cannot tell its files from "
                "garbage: nothing was removed; run `lineage verify` and `lineage rm` the runs "
                "it names"
            )
        try:
            entries = store.read_manifest(folder)
            live.update(entry["hash"] for entry in entries)
        except (ValueError, KeyError, TypeError):
            raise StoreError(
                f"folder manifest {folder} is corrupt, so gc cannot tell its files from "
                "garbage: nothing was removed; run `lineage verify`"
            ) from None
    return live


def gc(
    catalog: Catalog,
    store: Store,
    *,
    dry_run: bool = False,
    grace: float = GRACE_SECONDS,
    progress: Progress | None = None,
) -> GcReport:
    """Remove the objects and artifact records no remaining run refers to; return them."""
    if grace < 0:
        raise ValueError("grace must be zero or more seconds")
    report = GcReport(dry_run=dry_run)
    started = _time.time()
    cutoff = started - grace
    # List before reading references: an object stored after this listing is not a candidate,
    # and one referenced before the references are read is live.
    objects = list(store.iter_objects())
    live = live_hashes(catalog, store)
    candidates = []
    for obj in objects:
        if obj.hash in live:
            report.kept += 1
        elif obj.mtime > cutoff:
            report.kept += 1
            report.young += 1
        else:
            candidates.append(obj)
    if dry_run:
        report.objects = candidates
        report.temporary = store.clear_temporary(older_than=grace, dry_run=True)
        return report
    for start in range(0, len(candidates), 200):
        batch = candidates[start : start + 200]
        report.objects.extend(_remove_batch(catalog, store, batch, cutoff))
        if progress:
            progress(start + len(batch), len(candidates))
    report.records = catalog.delete_unreferenced_artifacts(datetime.fromtimestamp(cutoff, UTC))
    report.temporary = store.clear_temporary(older_than=grace)
    return report


def _remove_batch(
    catalog: Catalog, store: Store, batch: list[StoredObject], cutoff: float
) -> list[StoredObject]:
    def work(conn: Any) -> list[StoredObject]:
        # Inside the write transaction: a writer recording an edge waits for us (SQLite) and
        # any edge it committed before is seen here.
        live = catalog.referenced_hashes_in(conn, [o.hash for o in batch])
        removed = []
        for obj in batch:
            if obj.hash in live or store.object_mtime(obj.hash) > cutoff:
                continue
            store.remove(obj.hash)
            removed.append(obj)
        return removed

    return catalog.write(work)
