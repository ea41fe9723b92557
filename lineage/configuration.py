"""Check the configuration in effect: project root, catalog and store, versions, reachability.

Everything here goes through ``mask_url``: a password in a catalog or store URL never reaches
what ``lineage info`` prints, nor its errors.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from lineage.errors import LineageError
from lineage.project import find_root, load_project
from lineage.urls import mask_url, shown_url

# The distributions whose versions explain a team setup, in the order they are shown.
PACKAGES = ("lineage-catalog", "sqlalchemy", "sqlmodel", "pyarrow", "fsspec", "s3fs", "psycopg")


@dataclass
class Check:
    """Whether a catalog or store answered, and what it said."""

    url: str  # masked
    reachable: bool
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "reachable": self.reachable, "error": self.error, **self.details}


@dataclass
class Info:
    """The configuration ``lineage info`` shows."""

    root: Path | None
    catalog: Check
    store: Check
    versions: dict[str, str | None]

    @property
    def ok(self) -> bool:
        return self.catalog.reachable and self.store.reachable

    def to_dict(self) -> dict[str, Any]:
        return {
            "project_root": str(self.root) if self.root else None,
            "catalog": self.catalog.to_dict(),
            "store": self.store.to_dict(),
            "versions": self.versions,
        }


def versions() -> dict[str, str | None]:
    """Return the versions of lineage, Python and the libraries it stands on (None: missing)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found["lineage" if name == "lineage-catalog" else name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found["lineage" if name == "lineage-catalog" else name] = None
    return {"lineage": found.pop("lineage"), **found}


def check_catalog(url: str) -> Check:
    """Open the catalog at ``url`` and read its schema version and run count."""
    from lineage.catalog import Catalog

    masked = shown_url(url)
    try:
        with Catalog(url) as catalog:
            details = {"schema_version": catalog.schema_version(), "runs": catalog.run_count()}
    except LineageError as error:
        return Check(masked, False, mask_url(str(error)))
    except Exception as error:  # a driver's own error: still one masked line
        return Check(masked, False, _line(error))
    return Check(masked, True, details=details)


def check_store(url: str, options: dict[str, Any]) -> Check:
    """Open the store at ``url`` and look at its root (on S3: its bucket)."""
    from lineage.store import Store

    masked = shown_url(url)
    try:
        store = Store(url, **options)
        if store.local:
            if not os.path.isdir(store.root):
                return Check(
                    masked, False, f"no folder at {mask_url(store.root)}: run `lineage init`"
                )
        elif store.protocol in ("s3", "s3a"):
            bucket = store.root.split("/", 1)[0]
            if not store.fs.exists(bucket):
                return Check(
                    masked, False, f"bucket {mask_url(bucket)!r} does not exist: create it"
                )
        else:
            store.fs.exists(store.root)
    except LineageError as error:
        return Check(masked, False, mask_url(str(error)))
    except Exception as error:  # network errors of any fsspec backend
        return Check(masked, False, _line(error))
    return Check(masked, True)


def check(catalog: str | None = None, store: str | None = None) -> Info:
    """Return the configuration in effect around the current folder, checking both ends."""
    root = find_root()
    project = load_project(catalog, store, required=False)
    return Info(
        root=root,
        catalog=check_catalog(project.catalog_url),
        store=check_store(project.store_url, project.store_options),
        versions=versions(),
    )


def _line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return mask_url(lines[0]) if lines else type(error).__name__
