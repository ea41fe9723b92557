"""lineage: a lineage-aware experiment catalog with data versioning.

Record runs under typed identities (step, key value, time) with the content hash of every
input and output, then find the newest coherent chain of runs and rebuild only what changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ActiveRun",
    "Catalog",
    "Filters",
    "LineageError",
    "Store",
    "audit",
    "current_run",
    "graph",
    "impact",
    "resolve",
    "run_step",
    "search",
    "show",
    "start_run",
]

if TYPE_CHECKING:
    from lineage.api import resolve, run_step, search, show
    from lineage.catalog import Catalog, Filters
    from lineage.errors import LineageError
    from lineage.graph import graph
    from lineage.run import ActiveRun, current_run, start_run
    from lineage.store import Store
    from lineage.walks import audit, impact

# Imported on first use, so `import lineage` (and the CLI's start) stays fast.
_LAZY = {
    "ActiveRun": "lineage.run",
    "current_run": "lineage.run",
    "start_run": "lineage.run",
    "Catalog": "lineage.catalog",
    "Filters": "lineage.catalog",
    "LineageError": "lineage.errors",
    "Store": "lineage.store",
    "resolve": "lineage.api",
    "run_step": "lineage.api",
    "search": "lineage.api",
    "show": "lineage.api",
    "audit": "lineage.walks",
    "impact": "lineage.walks",
    "graph": "lineage.graph",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lineage' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
