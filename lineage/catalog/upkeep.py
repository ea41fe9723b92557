"""Keep the catalog in shape: its schema revision, removing runs, reaping, unreferenced records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lineage import schema, times
from lineage.catalog.closures import closure, dependents_step
from lineage.catalog.connection import Connected
from lineage.catalog.records import RunInfo, run_from_row
from lineage.catalog.sql import (
    ARTIFACTS,
    INPUTS,
    META,
    METRICS,
    OUTPUTS,
    PARAMS,
    RUNS,
    TAGS,
    UPSTREAM,
    chunks,
)
from lineage.errors import CatalogError, HasDependents

# Any constant of our own: the advisory lock that serializes schema creation on PostgreSQL.
_CREATE_LOCK = 0x6C696E65


class Upkeep(Connected):
    """The schema check on open, deletion, reaping and the catalog's own counts."""

    # -- schema ---------------------------------------------------------------------------

    def create(self) -> None:
        """Create the catalog if it is new; otherwise bring its schema to this version's."""
        self._write(lambda conn: self._settle(conn, create=True))

    def _check_schema(self) -> None:
        # The common case costs one read: the catalog is at the head revision.
        if self._read(schema.revision_of) != schema.HEAD:
            self._write(lambda conn: self._settle(conn, create=False))

    def _settle(self, conn: Connection, *, create: bool) -> None:
        if conn.dialect.name == "postgresql":
            # Processes that start at once would each see no tables and race to create them
            # (a duplicate pg_type row); a transaction lock makes them take turns.
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_CREATE_LOCK)))
        revision = schema.revision_of(conn)
        if revision is None:
            if not create:
                raise CatalogError(
                    f"no catalog tables in {self.masked_url}: run `lineage init` to create them"
                )
            schema.create(conn)
            return
        if revision == schema.HEAD:
            return
        schema.check_known(revision)
        if not self.auto_upgrade:
            # A shared catalog changes for everyone at once: a person decides when.
            raise CatalogError(
                f"the catalog {self.masked_url} has schema revision {revision}, this version "
                f"of lineage needs {schema.HEAD}: back it up, then run `lineage db upgrade`"
            )
        schema.migrate(conn)

    # -- deletion and reaping -------------------------------------------------------------

    def delete_runs(self, run_ids: Sequence[str]) -> int:
        """Delete runs with their params, metrics, tags and edges, in one transaction.

        Refuses (HasDependents) when a run outside the set depends on one inside it, checked in
        the same transaction, so a run that started consuming meanwhile is never orphaned.
        """
        ids = list(dict.fromkeys(run_ids))

        def work(conn: Connection) -> int:
            dependents = set(closure(conn, ids, dependents_step)) - set(ids)
            if dependents:
                listed = ", ".join(sorted(d[:8] for d in dependents))
                raise HasDependents(
                    f"runs {listed} now depend on the runs to remove: nothing was removed"
                )
            deleted = 0
            for chunk in chunks(ids, 500):
                for table in (PARAMS, METRICS, TAGS, OUTPUTS, INPUTS):
                    conn.execute(table.delete().where(table.c.run_id.in_(chunk)))
                conn.execute(
                    UPSTREAM.delete().where(
                        sa.or_(UPSTREAM.c.run_id.in_(chunk), UPSTREAM.c.upstream_id.in_(chunk))
                    )
                )
                deleted += conn.execute(RUNS.delete().where(RUNS.c.id.in_(chunk))).rowcount
            return deleted

        return self._write(work)

    def delete_unreferenced_artifacts(self, created_before: datetime) -> list[str]:
        """Delete artifact records no edge refers to, created before a time; return hashes.

        The time keeps a record just made (its edge not yet written) out of reach.
        """
        unreferenced = sa.and_(
            ~sa.exists().where(OUTPUTS.c.hash == ARTIFACTS.c.hash),
            ~sa.exists().where(INPUTS.c.hash == ARTIFACTS.c.hash),
            ARTIFACTS.c.created_at < created_before,
        )

        def work(conn: Connection) -> list[str]:
            hashes = list(conn.execute(sa.select(ARTIFACTS.c.hash).where(unreferenced)).scalars())
            for chunk in chunks(hashes, 500):
                conn.execute(ARTIFACTS.delete().where(ARTIFACTS.c.hash.in_(chunk), unreferenced))
            return hashes

        return self._write(work)

    def running_runs(self) -> list[RunInfo]:
        """Return the runs recorded as ``running`` (an index seek on status)."""
        query = sa.select(RUNS).where(RUNS.c.status == "running")
        return self._read(lambda conn: [run_from_row(r) for r in conn.execute(query).mappings()])

    def mark_killed(self, run_ids: Sequence[str], reason: str) -> int:
        """Mark runs that are still ``running`` as ``killed``; return how many changed."""
        if not run_ids:
            return 0

        def work(conn: Connection) -> int:
            changed = 0
            for chunk in chunks(list(run_ids), 500):
                changed += conn.execute(
                    RUNS.update()
                    .where(RUNS.c.id.in_(chunk), RUNS.c.status == "running")
                    .values(status="killed", error=reason, ended_at=times.now())
                ).rowcount
            return changed

        return self._write(work)

    def heartbeat(self, run_id: str) -> None:
        """Record that a run's process is alive now."""
        query = RUNS.update().where(RUNS.c.id == run_id).values(heartbeat_at=times.now())
        self._write(lambda conn: conn.execute(query))

    def run_count(self) -> int:
        """Return how many runs the catalog holds."""
        query = sa.select(sa.func.count()).select_from(RUNS)
        return self._read(lambda conn: conn.execute(query).scalar_one())

    def schema_version(self) -> int | None:
        """Return the schema version recorded in the catalog."""
        query = sa.select(META.c.value).where(META.c.name == "schema_version")
        value = self._read(lambda conn: conn.execute(query).scalar())
        return int(value) if value is not None else None


def current_revision(url: str) -> str | None:
    """Return the schema revision of the catalog at ``url``."""
    with Connected(url) as catalog:
        return catalog.read(schema.revision_of)


def upgrade(url: str) -> tuple[str | None, str]:
    """Upgrade the catalog at ``url`` in place to the head revision; return (before, after)."""
    with Connected(url) as catalog:
        return catalog.write(schema.migrate)
