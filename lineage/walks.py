"""Upstream and downstream walks: audit (up to the data versions) and impact (down from them).

``audit`` walks up from a run (a model) or an artifact to the load runs whose outputs are its
data versions; ``impact`` walks down from a run or a data version to everything derived from
it. Each walk is one recursive query in the catalog whatever the depth, then a fixed number of
batched reads for the runs, their inputs and outputs: never a query per node.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from lineage import refs, times
from lineage.catalog import ArtifactInfo, Catalog, RunInfo
from lineage.errors import Ambiguous, NotFound
from lineage.launch import LOG_NAME
from lineage.store import Store

Progress = Callable[[int, int], None]  # (objects checked, objects to check)


# -- what a ref names --------------------------------------------------------------------------


def find_target(catalog: Catalog, text: str) -> RunInfo | ArtifactInfo:
    """Return the run or the artifact a ref names: a run ref, ``xxh128:...``, or a hex prefix.

    A bare hex prefix may be a run id or an artifact hash; it must name exactly one of them.
    """
    if refs.is_hash(text):
        return _one_artifact(catalog, text)
    ref = refs.parse_ref(text)
    if not isinstance(ref, refs.IdRef):
        return catalog.resolve(text)
    runs = catalog.find_by_prefix(ref.prefix, limit=2)
    artifacts = catalog.find_artifacts(ref.prefix)
    if runs and artifacts:
        raise Ambiguous(
            f"{text!r} matches run {runs[0].short_id} and artifact {artifacts[0].hash}: "
            "give more of the run id, or the hash as xxh128:..."
        )
    if artifacts:
        return _one_artifact(catalog, text)
    return catalog.resolve(text)


def _one_artifact(catalog: Catalog, text: str) -> ArtifactInfo:
    matches = catalog.find_artifacts(text)
    if not matches:
        raise NotFound(
            f"no artifact has a hash starting {text!r}: copy one from `lineage show REF`"
        )
    if len(matches) > 1:
        raise Ambiguous(f"{text!r} matches more than one artifact: give more of the hash")
    return matches[0]


# -- the runs around a starting point ----------------------------------------------------------


@dataclass
class Lineage:
    """Runs with their inputs, outputs and the recorded edges between them."""

    runs: dict[str, RunInfo]
    inputs: dict[str, list[ArtifactInfo]]
    outputs: dict[str, list[ArtifactInfo]]
    edges: list[tuple[str, str]]  # (run_id, upstream_id), both among runs

    def __post_init__(self) -> None:
        # Adjacency both ways, so walking a closure of N runs costs O(N + edges), not O(N^2).
        self._up: dict[str, list[str]] = {}
        self._down: dict[str, list[str]] = {}
        for run, up in self.edges:
            self._up.setdefault(run, []).append(up)
            self._down.setdefault(up, []).append(run)

    def upstream_of(self, run_id: str) -> list[str]:
        return self._up.get(run_id, [])

    def downstream_of(self, run_id: str) -> list[str]:
        return self._down.get(run_id, [])

    def order(self) -> list[str]:
        """Return the run ids upstream first (Kahn's algorithm; ties by time, then id)."""
        waiting = {run_id: len(set(self.upstream_of(run_id))) for run_id in self.runs}
        ready = [self._sort_key(r) for r, n in waiting.items() if n == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            current = heapq.heappop(ready)[-1]
            order.append(current)
            for child in set(self.downstream_of(current)):
                waiting[child] -= 1
                if waiting[child] == 0:
                    heapq.heappush(ready, self._sort_key(child))
        # A cycle cannot be recorded through the SDK; if one was written by hand, keep its runs.
        order.extend(sorted(set(self.runs) - set(order), key=self._sort_key))
        return order

    def _sort_key(self, run_id: str) -> tuple[Any, str]:
        return (self.runs[run_id].time, run_id)  # the id last: heap entries end with it

    def artifacts(self) -> list[dict[str, Any]]:
        """Return every artifact on the way once, with the runs that produced or consumed it."""
        found: dict[str, dict[str, Any]] = {}
        for run_id in self.order():
            for role, listed in (("produced_by", self.outputs), ("consumed_by", self.inputs)):
                for artifact in listed.get(run_id, []):
                    entry = found.setdefault(
                        artifact.hash,
                        {
                            **_artifact_fields(artifact),
                            "names": [],
                            "produced_by": [],
                            "consumed_by": [],
                        },
                    )
                    if artifact.name not in entry["names"]:
                        entry["names"].append(artifact.name)
                    entry[role].append(run_id)
        return list(found.values())

    def run_dict(self, run_id: str) -> dict[str, Any]:
        """Return a run as JSON with its inputs, outputs and upstream runs on the way."""
        data = self.runs[run_id].to_dict()
        data["params_hash"] = self.runs[run_id].params_hash
        data["inputs"] = [a.to_dict() for a in self.inputs.get(run_id, [])]
        data["outputs"] = [a.to_dict() for a in self.outputs.get(run_id, [])]
        data["upstream"] = sorted(self.upstream_of(run_id))
        return data


def load_lineage(catalog: Catalog, run_ids: Iterable[str]) -> Lineage:
    """Read runs (with params and metrics), their inputs, outputs and edges: batched reads."""
    runs = {run.id: run for run in catalog.get_runs(sorted(set(run_ids)))}
    # Ids of runs that exist: an edge left behind by a deleted run must not name a ghost.
    ids = sorted(runs)
    return Lineage(
        runs=runs,
        inputs=catalog.inputs_of(ids),
        outputs=catalog.outputs_of(ids),
        edges=catalog.upstream_edges(ids),
    )


def _artifact_fields(artifact: ArtifactInfo) -> dict[str, Any]:
    data = artifact.to_dict()
    data.pop("name", None)
    data.pop("source_run_id", None)
    if artifact.kind != "table":
        data["rows"] = artifact.rows
    return data


def _target_dict(target: RunInfo | ArtifactInfo) -> dict[str, Any]:
    if isinstance(target, RunInfo):
        return {"type": "run", **target.to_dict()}
    return {"type": "artifact", **_artifact_fields(target)}


# -- audit: upstream to the data versions ------------------------------------------------------


@dataclass
class DataVersion:
    """A root (load) run on the way and the hashes of its outputs: the data it retrieved."""

    run: RunInfo
    outputs: list[ArtifactInfo]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run.id,
            "step": self.run.step,
            "key": self.run.key,
            "value": self.run.value,
            "time": times.format_precise(self.run.time),
            "outputs": [
                {"name": a.name, "hash": a.hash, "size": a.size, "rows": a.rows}
                for a in self.outputs
            ],
        }


@dataclass
class Verification:
    """Whether a stored object still hashes to its name: ``ok``, ``corrupt`` or ``missing``."""

    hash: str
    status: Literal["ok", "corrupt", "missing"]
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class Audit:
    """Everything upstream of a run or an artifact, down to the data versions."""

    target: RunInfo | ArtifactInfo
    lineage: Lineage
    data_versions: list[DataVersion]
    verified: dict[str, Verification] | None = None

    @property
    def run(self) -> RunInfo | None:
        return self.target if isinstance(self.target, RunInfo) else None

    def runs(self) -> list[RunInfo]:
        """Return the runs on the way, the audited one first, the data versions last."""
        return [self.lineage.runs[i] for i in reversed(self.lineage.order())]

    @property
    def broken(self) -> list[Verification]:
        return [v for v in (self.verified or {}).values() if not v.ok]

    def to_dict(self) -> dict[str, Any]:
        artifacts = self.lineage.artifacts()
        if self.verified is not None:
            for artifact in artifacts:
                check = self.verified[artifact["hash"]]
                artifact["verified"] = check.status
                if check.detail:
                    artifact["verified_detail"] = check.detail
        data: dict[str, Any] = {
            "run": self.lineage.run_dict(self.run.id) if self.run else None,
            "runs": [self.lineage.run_dict(r.id) for r in self.runs()],
            "artifacts": artifacts,
            "data_versions": [v.to_dict() for v in self.data_versions],
        }
        if isinstance(self.target, ArtifactInfo):
            data["artifact"] = _target_dict(self.target)
            if self.verified is not None:
                data["artifact"]["verified"] = self.verified[self.target.hash].status
        if self.verified is not None:
            data["verified"] = not self.broken
        return data


def audit(
    catalog: Catalog,
    ref: str,
    *,
    verify_in: Store | None = None,
    progress: Progress | None = None,
) -> Audit:
    """Walk upstream from a run or an artifact to its data versions.

    With ``verify_in``, re-hash every object on the way in that store; ``progress`` is called
    with the number of objects checked so far and the number to check.
    """
    target = find_target(catalog, ref)
    # An artifact is audited through every run that produced it (two loads can fetch alike).
    seeds = [target.id] if isinstance(target, RunInfo) else catalog.producers([target.hash])
    lineage = load_lineage(catalog, catalog.upstream_closure(seeds))
    roots = [i for i in lineage.order() if not lineage.upstream_of(i)]
    # The launcher's log records how a load ran, not what it fetched: it is no data version.
    versions = [
        DataVersion(lineage.runs[i], [a for a in lineage.outputs.get(i, []) if a.name != LOG_NAME])
        for i in roots
    ]
    result = Audit(target, lineage, versions)
    if verify_in is not None:
        kinds = {a["hash"]: a["kind"] for a in lineage.artifacts()}
        if isinstance(target, ArtifactInfo):
            kinds.setdefault(target.hash, target.kind)
        result.verified = verify_objects(verify_in, kinds, progress)
    return result


def verify_objects(
    store: Store,
    kinds: dict[str, str],
    progress: Progress | None = None,
) -> dict[str, Verification]:
    """Re-hash stored objects ``{hash: kind}``; a folder is intact when its manifest and
    every file in it are."""
    result: dict[str, Verification] = {}
    for done, hash_ in enumerate(kinds, start=1):
        result[hash_] = _verify_one(store, hash_, kinds[hash_])
        if progress:
            progress(done, len(kinds))
    return result


def _verify_one(store: Store, hash_: str, kind: str) -> Verification:
    if not store.exists(hash_):
        return Verification(hash_, "missing", f"not in {store.url}")
    if not store.verify(hash_):
        return Verification(hash_, "corrupt", "its bytes hash to something else")
    if kind != "folder":
        return Verification(hash_, "ok")
    entries = store.read_manifest(hash_)
    bad = [e["path"] for e in entries if not store.verify(e["hash"])]
    if bad:
        return Verification(
            hash_, "corrupt", f"{len(bad)} of {len(entries)} files are corrupt or missing: {bad[0]}"
        )
    return Verification(hash_, "ok", f"{len(entries)} files")


# -- impact: downstream from a run or a data version -------------------------------------------


@dataclass
class Impact:
    """Every run and artifact derived from a run or a data version."""

    target: RunInfo | ArtifactInfo
    lineage: Lineage  # the derived runs, plus the starting run when it is a run
    _producers: dict[str, list[str]] | None = field(default=None, repr=False)

    def runs(self) -> list[RunInfo]:
        """Return the derived runs, upstream first; the starting run is not one of them."""
        start = self.target.id if isinstance(self.target, RunInfo) else None
        return [self.lineage.runs[i] for i in self.lineage.order() if i != start]

    def artifacts(self) -> list[dict[str, Any]]:
        """Return the artifacts the derived runs produced."""
        produced = {r.id for r in self.runs()}
        return [a for a in self.lineage.artifacts() if set(a["produced_by"]) & produced]

    def made_from(self, run_id: str) -> list[dict[str, str]]:
        """Return how a derived run links back: its recorded upstream runs on the way, and
        the runs on the way (or the starting hash) whose output it consumed."""
        links = [
            {"via": "upstream", "run_id": up} for up in sorted(self.lineage.upstream_of(run_id))
        ]
        linked = {link["run_id"] for link in links}
        if self._producers is None:
            self._producers = {}
            for producer, outputs in self.lineage.outputs.items():
                for artifact in outputs:
                    self._producers.setdefault(artifact.hash, []).append(producer)
        producers = self._producers
        for artifact in self.lineage.inputs.get(run_id, []):
            if isinstance(self.target, ArtifactInfo) and artifact.hash == self.target.hash:
                links.append({"via": "hash", "hash": artifact.hash})
            for producer in sorted(producers.get(artifact.hash, [])):
                if producer not in linked and producer != run_id:
                    links.append({"via": "hash", "hash": artifact.hash, "run_id": producer})
                    linked.add(producer)
        return links

    def leaves(self) -> list[RunInfo]:
        """Return the derived runs nothing else was made from (the models, usually)."""
        feeding = {up for _, up in self.lineage.edges}
        return [r for r in self.runs() if r.id not in feeding]

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": _target_dict(self.target),
            "runs": [
                {**self.lineage.run_dict(r.id), "made_from": self.made_from(r.id)}
                for r in self.runs()
            ],
            "artifacts": self.artifacts(),
        }


def impact(catalog: Catalog, ref: str) -> Impact:
    """Walk downstream from a run or a data version (a hash)."""
    target = find_target(catalog, ref)
    if isinstance(target, RunInfo):
        ids = catalog.downstream_closure([target.id])
    else:
        ids = catalog.downstream_closure([], [target.hash])
    return Impact(target, load_lineage(catalog, ids))
