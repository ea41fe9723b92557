"""Walk lineage to any depth: all upstream of runs, all downstream, all depending on them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lineage.catalog.connection import Connected
from lineage.catalog.sql import INPUTS, OUTPUTS, RUNS, UPSTREAM, chunks


class Closures(Connected):
    """Transitive walks over the recorded edges."""

    def upstream_closure(self, run_ids: Sequence[str]) -> list[str]:
        """Return these runs and every run upstream of them: one recursive query, any depth."""
        if not run_ids:
            return []
        walk = (
            sa.select(RUNS.c.id.label("id"))
            .where(RUNS.c.id.in_(list(run_ids)))
            .cte("walk", recursive=True)
        )
        walk = walk.union(
            sa.select(UPSTREAM.c.upstream_id).join(walk, UPSTREAM.c.run_id == walk.c.id)
        )
        query = sa.select(walk.c.id)
        return self._read(lambda conn: sorted(conn.execute(query).scalars()))

    def downstream_closure(self, run_ids: Sequence[str], hashes: Sequence[str] = ()) -> list[str]:
        """Return these runs, the runs that consumed these hashes, and every run made from them.

        A run is downstream of another when it recorded it as upstream, or when it consumed a
        hash the other produced: a data version is its content, so a run made from an older
        load whose data hashes alike is derived from the newer load's data too.
        """
        if not run_ids and not hashes:
            return []
        # Seeds as a UNION of index seeks: an OR of the two made PostgreSQL scan every run.
        seeds = []
        if run_ids:
            seeds.append(sa.select(RUNS.c.id.label("id")).where(RUNS.c.id.in_(list(run_ids))))
        if hashes:
            seeds.append(
                sa.select(INPUTS.c.run_id.label("id")).where(INPUTS.c.hash.in_(list(hashes)))
            )
        if len(seeds) > 1:
            union = sa.union(*seeds).subquery("seeds")
            seeds = [sa.select(union.c.id)]
        walk = seeds[0].cte("walk", recursive=True)
        # Two kinds of edge, but PostgreSQL allows one reference to the recursive table and
        # SQLite materializes (scans) a UNION ALL of edge tables joined to it. So each walked
        # run fans out into two rows (n = 0: upstream edges, n = 1: its outputs' consumers)
        # and each row takes index seeks on one kind of edge.
        fan = sa.union_all(
            sa.select(sa.literal_column("0").label("n")),
            sa.select(sa.literal_column("1").label("n")),
        ).subquery("fan")
        child = sa.case((fan.c.n == 0, UPSTREAM.c.run_id), else_=INPUTS.c.run_id)
        step = (
            sa.select(child)
            .select_from(walk)
            .join(fan, sa.true())
            .outerjoin(UPSTREAM, sa.and_(fan.c.n == 0, UPSTREAM.c.upstream_id == walk.c.id))
            .outerjoin(OUTPUTS, sa.and_(fan.c.n == 1, OUTPUTS.c.run_id == walk.c.id))
            .outerjoin(INPUTS, sa.and_(fan.c.n == 1, INPUTS.c.hash == OUTPUTS.c.hash))
            .where(child.is_not(None))
        )
        walk = walk.union(step)
        query = sa.select(walk.c.id)
        return self._read(lambda conn: sorted(conn.execute(query).scalars()))

    def adjacent(self, run_ids: Sequence[str], *, down: bool) -> set[str]:
        """Return the runs one edge from these: up the recorded upstream edges, or down them
        and to the consumers of these runs' outputs (the edges ``downstream_closure`` walks).

        One level per call, so a walk can stop at a depth: index seeks per chunk of 500.
        """

        def work(conn: Connection) -> set[str]:
            found: set[str] = set()
            for chunk in chunks(list(dict.fromkeys(run_ids)), 500):
                if not down:
                    query = sa.select(UPSTREAM.c.upstream_id).where(UPSTREAM.c.run_id.in_(chunk))
                    found.update(conn.execute(query).scalars())
                    continue
                recorded = sa.select(UPSTREAM.c.run_id).where(UPSTREAM.c.upstream_id.in_(chunk))
                consumers = (
                    sa.select(INPUTS.c.run_id)
                    .join(OUTPUTS, OUTPUTS.c.hash == INPUTS.c.hash)
                    .where(OUTPUTS.c.run_id.in_(chunk))
                )
                found.update(conn.execute(sa.union(recorded, consumers)).scalars())
            return found

        return self._read(work) if run_ids else set()

    def dependents_closure(self, run_ids: Sequence[str]) -> list[str]:
        """Return the runs and every run whose records depend on them, transitively.

        A run depends on another when it lists it as upstream or consumed one of its outputs
        from it. Unlike ``downstream_closure`` this follows records only, not equal content:
        what ``rm`` must remove with a run, and no more.
        """
        return self._read(lambda conn: closure(conn, list(run_ids), dependents_step))


def dependents_step(conn: Connection, frontier: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(frontier, 500):
        found.update(
            conn.execute(
                sa.select(UPSTREAM.c.run_id).where(UPSTREAM.c.upstream_id.in_(chunk))
            ).scalars()
        )
        found.update(
            conn.execute(
                sa.select(INPUTS.c.run_id).where(INPUTS.c.source_run_id.in_(chunk))
            ).scalars()
        )
    return found


def closure(
    conn: Connection, start: list[str], step: Callable[[Connection, list[str]], set[str]]
) -> list[str]:
    """Return ``start`` and everything ``step`` reaches from it, breadth first."""
    seen = list(dict.fromkeys(start))
    known = set(seen)
    frontier = list(seen)
    while frontier:
        frontier = sorted(step(conn, frontier) - known)
        known.update(frontier)
        seen.extend(frontier)
    return seen
