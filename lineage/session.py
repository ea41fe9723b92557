"""Open the catalog and store a command works on, once per process.

A session is an open project: the commands, the SDK, the resolver and the launcher all work on
one, and a process that asks for the same project twice gets the same session back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lineage.catalog import Catalog
from lineage.project import Project, load_project
from lineage.store import Store


@dataclass
class Session:
    """An open project: its catalog and store, shared by the runs of one process."""

    project: Project
    catalog: Catalog
    _store: Store | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        """Return the project's store, opened on first use.

        Commands that only read the catalog (``lineage runs``) then never import fsspec.
        """
        if self._store is None:
            self._store = Store(self.project.store_url, **self.project.store_options)
        return self._store


_sessions: dict[tuple[str, str, str], Session] = {}


def open_session(
    catalog: str | None = None,
    store: str | None = None,
    *,
    start: Path | None = None,
    required: bool = False,
    create: bool = True,
) -> Session:
    """Open (once per process) the catalog and store of the project around ``start``."""
    project = load_project(catalog, store, start, required=required)
    cache_key = (str(project.root), project.catalog_url, project.store_url)
    session = _sessions.get(cache_key)
    if session is None:
        session = Session(project, Catalog(project.catalog_url, create=create))
        _sessions[cache_key] = session
    return session
