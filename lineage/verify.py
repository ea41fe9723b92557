"""Re-hash stored objects and report each corrupt or missing one with the runs that refer to it.

``verify()`` checks every object the catalog refers to, or those of one run and its upstream
runs. A folder is its manifest plus each member file: the manifest is checked first, then every
member it lists, so a flipped byte in any file of a folder is caught and named by its path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lineage.catalog import Catalog, RunInfo
from lineage.store import Store

# Called with (bytes done, bytes in total) as objects are re-hashed.
Progress = Callable[[int, int], None]


@dataclass
class Target:
    """One object to check, and why it is wanted."""

    hash: str
    size: int
    kind: str
    run_ids: set[str] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)  # manifests listing it as a member
    paths: set[str] = field(default_factory=set)  # its paths inside those folders


@dataclass
class Problem:
    """A corrupt, missing or malformed object and the runs whose records refer to it."""

    hash: str
    status: str  # corrupt, missing, malformed (a hash no path may be built from)
    kind: str
    size: int
    runs: list[RunInfo]
    folders: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "status": self.status,
            "kind": self.kind,
            "size": self.size,
            "folders": self.folders,
            "paths": self.paths,
            "runs": [{"run_id": r.id, "ref": r.ref, "status": r.status} for r in self.runs],
        }


@dataclass
class VerifyReport:
    """What ``verify`` checked and what it found."""

    checked: int
    bytes: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "bytes": self.bytes,
            "problems": [p.to_dict() for p in self.problems],
        }


def verify(
    catalog: Catalog,
    store: Store,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Re-hash the objects of every recorded artifact (or of a run and its upstream runs)."""
    targets = _targets(catalog, run_id)
    problems: dict[str, str] = {}
    # Manifests first: a folder's members are known only once its manifest is read intact.
    for target in [t for t in targets.values() if t.kind == "folder"]:
        status = store.check(target.hash)
        if status != "ok":
            problems[target.hash] = status
            continue
        try:
            entries = store.read_manifest(target.hash)
            for entry in entries:
                entry["hash"] = str(entry["hash"])
        except (ValueError, KeyError, TypeError):
            problems[target.hash] = "corrupt"
            continue
        for entry in entries:
            member = targets.setdefault(
                entry["hash"], Target(entry["hash"], int(entry.get("size", 0)), "file")
            )
            member.run_ids.update(target.run_ids)
            member.folders.add(target.hash)
            member.paths.add(str(entry.get("path", "")))
    files = [t for t in targets.values() if t.kind != "folder"]
    total = sum(t.size for t in files)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    for target in files:
        status = store.check(target.hash, advance)
        if status != "ok":
            problems[target.hash] = status
    return VerifyReport(
        checked=len(targets),
        bytes=total,
        problems=_problems(catalog, targets, problems),
    )


def _targets(catalog: Catalog, run_id: str | None) -> dict[str, Target]:
    targets: dict[str, Target] = {}
    if run_id is None:
        for artifact in catalog.artifact_rows():
            targets[artifact.hash] = Target(artifact.hash, artifact.size, artifact.kind)
    else:
        for artifact in catalog.edges_of_runs(catalog.upstream_closure([run_id])):
            targets.setdefault(artifact.hash, Target(artifact.hash, artifact.size, artifact.kind))
    for hash_, run_ids in catalog.artifact_referrers(list(targets)).items():
        if hash_ in targets:
            targets[hash_].run_ids.update(run_ids)
    return targets


def _problems(catalog: Catalog, targets: dict[str, Target], found: dict[str, str]) -> list[Problem]:
    run_ids = sorted({r for h in found for r in targets[h].run_ids})
    runs = {r.id: r for r in catalog.get_runs(run_ids, details=False)}
    problems = []
    for hash_, status in sorted(found.items()):
        target = targets[hash_]
        referring = sorted(
            (runs[r] for r in target.run_ids if r in runs), key=lambda r: (r.time, r.id)
        )
        problems.append(
            Problem(
                hash=hash_,
                status=status,
                kind=target.kind,
                size=target.size,
                runs=referring,
                folders=sorted(target.folders),
                paths=sorted(target.paths),
            )
        )
    return problems
