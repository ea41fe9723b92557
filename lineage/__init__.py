"""lineage: a lineage-aware experiment catalog with data versioning.

Record runs under typed identities (step, key value, time) with the content hash of every
input and output, then find the newest coherent chain of runs and rebuild only what changed.

The functions here are the library behind each command (``lineage.api``); the SDK a step
script uses is ``start_run`` / ``current_run`` (``lineage.run``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The commands as functions, from lineage.api. `verify`, `gc` and `remove` are there too
# (lineage.api.verify ...) but not here: modules of those names would replace them on this
# package as soon as anything imported them.
_API = (
    "audit",
    "db_status",
    "db_upgrade",
    "export_openlineage",
    "flush_openlineage",
    "get_artifact",
    "graph",
    "impact",
    "import_mlflow",
    "info",
    "init",
    "plan_remove",
    "resolve",
    "rm",
    "run_step",
    "search",
    "show",
)

__all__ = [
    "ActiveRun",
    "Catalog",
    "Filters",
    "LineageError",
    "Store",
    "audit",
    "current_run",
    "db_status",
    "db_upgrade",
    "export_openlineage",
    "flush_openlineage",
    "get_artifact",
    "graph",
    "impact",
    "import_mlflow",
    "info",
    "init",
    "plan_remove",
    "resolve",
    "rm",
    "run_step",
    "search",
    "show",
    "start_run",
]

if TYPE_CHECKING:
    from lineage.api import (
        audit,
        db_status,
        db_upgrade,
        export_openlineage,
        flush_openlineage,
        get_artifact,
        graph,
        impact,
        import_mlflow,
        info,
        init,
        plan_remove,
        resolve,
        rm,
        run_step,
        search,
        show,
    )
    from lineage.catalog import Catalog, Filters
    from lineage.errors import LineageError
    from lineage.run import ActiveRun, current_run, start_run
    from lineage.store import Store

# Imported on first use, so `import lineage` (and the CLI's start) stays fast.
_LAZY = {
    "ActiveRun": "lineage.run",
    "current_run": "lineage.run",
    "start_run": "lineage.run",
    "Catalog": "lineage.catalog",
    "Filters": "lineage.catalog",
    "LineageError": "lineage.errors",
    "Store": "lineage.store",
    **dict.fromkeys(_API, "lineage.api"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lineage' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
