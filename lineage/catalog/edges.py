"""Read the edges between runs and artifacts: what each run produced, consumed, was made from."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lineage.catalog.connection import Connected
from lineage.catalog.records import ArtifactInfo, Edges, artifact_from_row
from lineage.catalog.sql import (
    ARTIFACTS,
    INPUTS,
    OUTPUTS,
    RUNS,
    SOURCE,
    UPSTREAM,
    chunks,
    prefix_range,
)
from lineage.hashing import ALGORITHM


class EdgeQueries(Connected):
    """Reading outputs, inputs and upstream edges, and the artifacts they point at."""

    def edges(self, run_ids: Sequence[str]) -> dict[str, Edges]:
        """Return what each run consumed and was made from, with the sources' identities."""
        result = {run_id: Edges() for run_id in run_ids}
        if not run_ids:
            return result

        def work(conn: Connection) -> None:
            for chunk in chunks(list(result), 500):
                # One round trip for both edge kinds: inputs carry a hash, upstream edges none.
                consumed = (
                    sa.select(
                        INPUTS.c.run_id,
                        INPUTS.c.hash,
                        INPUTS.c.source_run_id.label("other"),
                        SOURCE.c.step,
                        SOURCE.c.value,
                    )
                    .select_from(INPUTS.outerjoin(SOURCE, SOURCE.c.id == INPUTS.c.source_run_id))
                    .where(INPUTS.c.run_id.in_(chunk))
                )
                made_from = (
                    sa.select(
                        UPSTREAM.c.run_id,
                        sa.null().label("hash"),
                        UPSTREAM.c.upstream_id,
                        SOURCE.c.step,
                        SOURCE.c.value,
                    )
                    .select_from(UPSTREAM.join(SOURCE, SOURCE.c.id == UPSTREAM.c.upstream_id))
                    .where(UPSTREAM.c.run_id.in_(chunk))
                )
                for run_id, hash_, other, step, value in conn.execute(
                    sa.union_all(consumed, made_from)
                ):
                    if hash_ is None:  # an upstream edge: joined, so its source is known
                        result[run_id].upstream[other] = (step, value)
                    else:
                        identity = (step, value) if step is not None else None
                        result[run_id].inputs.append((hash_, other, identity))

        self._read(work)
        return result

    def output_hashes(self, run_ids: Sequence[str]) -> dict[str, set[str]]:
        """Return the hashes each of these runs produced."""
        result: dict[str, set[str]] = {run_id: set() for run_id in run_ids}

        def work(conn: Connection) -> None:
            for chunk in chunks(list(result), 500):
                for run_id, hash_ in conn.execute(
                    sa.select(OUTPUTS.c.run_id, OUTPUTS.c.hash).where(OUTPUTS.c.run_id.in_(chunk))
                ):
                    result[run_id].add(hash_)

        if run_ids:
            self._read(work)
        return result

    def outputs(self, run_id: str) -> list[ArtifactInfo]:
        """Return the artifacts a run produced, by name."""
        query = (
            sa.select(OUTPUTS.c.name, OUTPUTS.c.run_id, ARTIFACTS)
            .join(ARTIFACTS, ARTIFACTS.c.hash == OUTPUTS.c.hash)
            .where(OUTPUTS.c.run_id == run_id)
            .order_by(OUTPUTS.c.name)
        )
        return self._read(
            lambda conn: [artifact_from_row(row) for row in conn.execute(query).mappings()]
        )

    def outputs_of(self, run_ids: Sequence[str]) -> dict[str, list[ArtifactInfo]]:
        """Return the outputs of many runs at once: ``{run_id: [artifact, ...]}``."""
        result: dict[str, list[ArtifactInfo]] = {run_id: [] for run_id in run_ids}
        if not run_ids:
            return result
        query = (
            sa.select(OUTPUTS.c.name, OUTPUTS.c.run_id, ARTIFACTS)
            .join(ARTIFACTS, ARTIFACTS.c.hash == OUTPUTS.c.hash)
            .where(OUTPUTS.c.run_id.in_(list(run_ids)))
            .order_by(OUTPUTS.c.run_id, OUTPUTS.c.name)
        )
        for row in self._read(lambda conn: list(conn.execute(query).mappings())):
            result[row["run_id"]].append(artifact_from_row(row))
        return result

    def inputs(self, run_id: str) -> list[ArtifactInfo]:
        """Return the artifacts a run consumed, by name, with the hash it consumed."""
        query = (
            sa.select(INPUTS.c.name, INPUTS.c.run_id, INPUTS.c.source_run_id, ARTIFACTS)
            .join(ARTIFACTS, ARTIFACTS.c.hash == INPUTS.c.hash)
            .where(INPUTS.c.run_id == run_id)
            .order_by(INPUTS.c.name)
        )
        return self._read(
            lambda conn: [artifact_from_row(row) for row in conn.execute(query).mappings()]
        )

    def upstream_ids(self, run_id: str) -> list[str]:
        """Return the ids of the runs ``run_id`` was made from."""
        query = sa.select(UPSTREAM.c.upstream_id).where(UPSTREAM.c.run_id == run_id)
        return self._read(lambda conn: sorted(conn.execute(query).scalars()))

    def downstream_ids(self, run_id: str) -> list[str]:
        """Return the ids of the runs made from ``run_id``."""
        query = sa.select(UPSTREAM.c.run_id).where(UPSTREAM.c.upstream_id == run_id)
        return self._read(lambda conn: sorted(conn.execute(query).scalars()))

    def runs_with_hash(self, hash_: str) -> dict[str, list[str]]:
        """Return the runs that produced and consumed ``hash_``: an index seek on each edge."""

        def work(conn: Connection) -> dict[str, list[str]]:
            produced = conn.execute(
                sa.select(OUTPUTS.c.run_id).where(OUTPUTS.c.hash == hash_)
            ).scalars()
            consumed = conn.execute(
                sa.select(INPUTS.c.run_id).where(INPUTS.c.hash == hash_)
            ).scalars()
            return {"produced": sorted(set(produced)), "consumed": sorted(set(consumed))}

        return self._read(work)

    def get_artifact(self, hash_: str) -> ArtifactInfo | None:
        """Return the artifact with exactly this hash, or None."""
        query = sa.select(ARTIFACTS).where(ARTIFACTS.c.hash == hash_)
        row = self._read(lambda conn: conn.execute(query).mappings().first())
        return artifact_from_row({**row, "name": ""}) if row else None

    def find_artifacts(self, prefix: str) -> list[ArtifactInfo]:
        """Return the artifacts whose hash starts with ``prefix`` (with or without algorithm)."""

        full = prefix if ":" in prefix else f"{ALGORITHM}:{prefix}"
        query = sa.select(ARTIFACTS).where(*prefix_range(ARTIFACTS.c.hash, full)).limit(10)
        rows = self._read(lambda conn: list(conn.execute(query).mappings()))
        return [artifact_from_row({**row, "name": ""}) for row in rows]

    def upstream_edges(self, run_ids: Sequence[str]) -> list[tuple[str, str]]:
        """Return the recorded edges ``(run_id, upstream_id)`` between these runs."""
        wanted = set(run_ids)
        edges: list[tuple[str, str]] = []
        for chunk in chunks(sorted(wanted), 500):
            query = sa.select(UPSTREAM.c.run_id, UPSTREAM.c.upstream_id).where(
                UPSTREAM.c.run_id.in_(chunk)
            )
            rows = self._read(partial(_rows, query))
            edges.extend((run, up) for run, up in rows if up in wanted)
        return sorted(edges)

    def inputs_of(self, run_ids: Sequence[str]) -> dict[str, list[ArtifactInfo]]:
        """Return the inputs of many runs at once: ``{run_id: [artifact, ...]}``."""
        result: dict[str, list[ArtifactInfo]] = {run_id: [] for run_id in run_ids}
        for chunk in chunks(list(result), 500):
            query = (
                sa.select(INPUTS.c.name, INPUTS.c.run_id, INPUTS.c.source_run_id, ARTIFACTS)
                .join(ARTIFACTS, ARTIFACTS.c.hash == INPUTS.c.hash)
                .where(INPUTS.c.run_id.in_(chunk))
                .order_by(INPUTS.c.run_id, INPUTS.c.name)
            )
            for row in self._read(partial(_mappings, query)):
                result[row["run_id"]].append(artifact_from_row(row))
        return result

    def producers(self, hashes: Sequence[str]) -> list[str]:
        """Return the ids of the runs that produced any of these hashes."""
        if not hashes:
            return []
        query = sa.select(OUTPUTS.c.run_id).where(OUTPUTS.c.hash.in_(list(hashes))).distinct()
        return self._read(lambda conn: sorted(conn.execute(query).scalars()))

    def step_edges(self) -> dict[tuple[str, str], int]:
        """Return ``{(upstream step, step): number of recorded run edges}`` over the catalog."""
        down = RUNS.alias("down")
        up = RUNS.alias("up")
        query = (
            sa.select(up.c.step, down.c.step, sa.func.count())
            .select_from(UPSTREAM)
            .join(down, down.c.id == UPSTREAM.c.run_id)
            .join(up, up.c.id == UPSTREAM.c.upstream_id)
            .group_by(up.c.step, down.c.step)
        )
        rows = self._read(lambda conn: list(conn.execute(query)))
        return {(a, b): n for a, b, n in rows}

    def artifact_rows(self) -> list[ArtifactInfo]:
        """Return every artifact the catalog records (name empty), with its creation time."""
        query = sa.select(ARTIFACTS).order_by(ARTIFACTS.c.hash)
        rows = self._read(lambda conn: list(conn.execute(query).mappings()))
        return [artifact_from_row({**row, "name": ""}) for row in rows]

    def artifact_referrers(self, hashes: Iterable[str] | None = None) -> dict[str, set[str]]:
        """Return ``{hash: run ids}`` of the runs that produced or consumed each artifact."""
        wanted = None if hashes is None else list(dict.fromkeys(hashes))

        def work(conn: Connection) -> dict[str, set[str]]:
            result: dict[str, set[str]] = {}
            for table in (OUTPUTS, INPUTS):
                query = sa.select(table.c.hash, table.c.run_id)
                batches = [None] if wanted is None else list(chunks(wanted, 500))
                for chunk in batches:
                    q = query if chunk is None else query.where(table.c.hash.in_(chunk))
                    for hash_, run_id in conn.execute(q):
                        result.setdefault(hash_, set()).add(run_id)
            return result

        return self._read(work)

    def edges_of_runs(self, run_ids: Sequence[str]) -> list[ArtifactInfo]:
        """Return every output and input of the given runs (``run_id`` set on each)."""
        found: list[ArtifactInfo] = []
        for run_id in dict.fromkeys(run_ids):
            found.extend(self.outputs(run_id))
            found.extend(self.inputs(run_id))
        return found

    def referenced_hashes(self) -> set[str]:
        """Return every hash an edge (output or input) of a remaining run refers to."""

        def work(conn: Connection) -> set[str]:
            found = set(conn.execute(sa.select(OUTPUTS.c.hash).distinct()).scalars())
            found.update(conn.execute(sa.select(INPUTS.c.hash).distinct()).scalars())
            return found

        return self._read(work)

    def referenced_hashes_in(self, conn: Connection, hashes: Sequence[str]) -> set[str]:
        """Return which of ``hashes`` an edge refers to, inside the caller's transaction."""
        found: set[str] = set()
        for chunk in chunks(list(hashes), 500):
            for table in (OUTPUTS, INPUTS):
                found.update(
                    conn.execute(sa.select(table.c.hash).where(table.c.hash.in_(chunk))).scalars()
                )
        return found


def _rows(query: Any, conn: Connection) -> list[Any]:
    return list(conn.execute(query))


def _mappings(query: Any, conn: Connection) -> list[Any]:
    return list(conn.execute(query).mappings())
