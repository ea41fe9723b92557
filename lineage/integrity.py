"""The library behind ``lineage verify``, ``rm``, ``gc`` and ``db``: strings in, values out.

Each function opens the project around the current folder (or the catalog and store given),
parses what a person typed, and calls the module that does the work (verify.py, remove.py,
gc.py, schema.py).
"""

from __future__ import annotations

from typing import Any

from lineage import gc as _gc
from lineage import remove as _remove
from lineage import times
from lineage import verify as _verify
from lineage.run import open_session


def verify(
    ref: str | None = None,
    *,
    catalog: str | None = None,
    store: str | None = None,
    progress: _verify.Progress | None = None,
) -> _verify.VerifyReport:
    """Re-hash every recorded object, or those of run ``ref`` and its upstream runs."""
    s = open_session(catalog, store, required=True, create=False)
    run_id = s.catalog.resolve(ref).id if ref else None
    return _verify.verify(s.catalog, s.store, run_id, progress)


def plan_remove(
    ref: str, *, cascade: bool = False, catalog: str | None = None, store: str | None = None
) -> _remove.RemovePlan:
    """Return the runs ``lineage rm REF`` would delete; refuse when others depend on it."""
    s = open_session(catalog, store, required=True, create=False)
    return _remove.plan_remove(s.catalog, ref, cascade=cascade)


def remove(
    plan: _remove.RemovePlan, *, catalog: str | None = None, store: str | None = None
) -> int:
    """Delete the runs of a plan; return how many were deleted."""
    s = open_session(catalog, store, required=True, create=False)
    return _remove.remove(s.catalog, plan)


def rm(
    ref: str, *, cascade: bool = False, catalog: str | None = None, store: str | None = None
) -> list[str]:
    """Delete run ``ref`` (and, with ``cascade``, the runs depending on it); return their ids."""
    plan = plan_remove(ref, cascade=cascade, catalog=catalog, store=store)
    remove(plan, catalog=catalog, store=store)
    return [r.id for r in plan.runs]


def gc(
    *,
    dry_run: bool = False,
    grace: str | float = _gc.GRACE_SECONDS,
    catalog: str | None = None,
    store: str | None = None,
    progress: _gc.Progress | None = None,
) -> _gc.GcReport:
    """Remove the objects no remaining run refers to (older than ``grace``: 30s, 1h, ...)."""
    s = open_session(catalog, store, required=True, create=False)
    seconds = (
        times.parse_duration(grace).total_seconds() if isinstance(grace, str) else float(grace)
    )
    return _gc.gc(s.catalog, s.store, dry_run=dry_run, grace=seconds, progress=progress)


def db_upgrade(*, catalog: str | None = None) -> tuple[str | None, str]:
    """Upgrade the catalog's schema to this version's head; return (before, after)."""
    from lineage import schema
    from lineage.project import load_project

    project = load_project(catalog, None, required=True)
    return schema.upgrade(project.catalog_url)


def db_status(*, catalog: str | None = None) -> dict[str, Any]:
    """Return the catalog's schema revision, the head revision, and whether it is current."""
    from lineage import schema
    from lineage.project import load_project
    from lineage.urls import shown_url

    project = load_project(catalog, None, required=True)
    revision = schema.current_revision(project.catalog_url)
    return {
        "catalog": shown_url(project.catalog_url),
        "revision": revision,
        "head": schema.HEAD,
        "current": revision == schema.HEAD,
    }
