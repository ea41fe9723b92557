"""Record and query runs, artifacts and edges. All the SQL of the catalog lives in this package.

``Catalog`` is composed of one part per concern, each in its own module: the connection and
its transactions (connection.py), recording (recording.py), reading runs (queries.py), reading
edges (edges.py), lineage walks (closures.py), claims (claims.py) and upkeep (upkeep.py). The
records they return are in records.py, the tables in sql.py. Filters become SQL expressions,
never SQL text.
"""

from __future__ import annotations

from lineage.catalog.claims import ClaimRows
from lineage.catalog.closures import Closures
from lineage.catalog.connection import Connected
from lineage.catalog.edges import EdgeQueries
from lineage.catalog.queries import Queries
from lineage.catalog.recording import Recording
from lineage.catalog.records import (
    ID_MIN_PREFIX,
    LOG_NAME,
    METRIC_OPERATORS,
    RESOLVE_TAG,
    STATUSES,
    ArtifactInfo,
    ArtifactKind,
    ArtifactRecord,
    ClaimRecord,
    Edges,
    Filters,
    RunInfo,
    Status,
    new_run_id,
)
from lineage.catalog.sql import (
    ARTIFACTS,
    CLAIMS,
    INPUTS,
    META,
    METRICS,
    OUTPUTS,
    PARAMS,
    RUNS,
    SOURCE,
    TAGS,
    UPSTREAM,
)
from lineage.catalog.upkeep import Upkeep
from lineage.catalog.upkeep import current_revision as schema_revision
from lineage.catalog.upkeep import upgrade as upgrade_schema

__all__ = [
    "ARTIFACTS",
    "CLAIMS",
    "ID_MIN_PREFIX",
    "INPUTS",
    "LOG_NAME",
    "META",
    "METRICS",
    "METRIC_OPERATORS",
    "OUTPUTS",
    "PARAMS",
    "RESOLVE_TAG",
    "RUNS",
    "SOURCE",
    "STATUSES",
    "TAGS",
    "UPSTREAM",
    "ArtifactInfo",
    "ArtifactKind",
    "ArtifactRecord",
    "Catalog",
    "ClaimRecord",
    "Edges",
    "Filters",
    "RunInfo",
    "Status",
    "new_run_id",
    "schema_revision",
    "upgrade_schema",
]


class Catalog(Recording, Queries, EdgeQueries, Closures, ClaimRows, Upkeep, Connected):
    """The catalog of runs, artifacts and edges at one SQLAlchemy URL."""

    def __init__(
        self,
        url: str,
        *,
        create: bool = False,
        check_schema: bool = True,
        auto_upgrade: bool | None = None,
    ) -> None:
        """Open the catalog at ``url`` (``create``: make it if it is new).

        An older schema is upgraded in place when ``auto_upgrade`` is true; by default only a
        SQLite catalog is (one project's own file), and a shared one asks for
        ``lineage db upgrade``.
        """
        super().__init__(url, create=create, auto_upgrade=auto_upgrade)
        if create:
            self.create()
        elif check_schema:
            self._check_schema()
