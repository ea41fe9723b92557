"""The step and key names a project knows: declared in lineage.toml or recorded in the catalog.

A name typed as an option (``--target-env``) may spell a key recorded as ``target_env``;
``match_key`` treats '-' and '_' alike, as options do. The resolver and the search share it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lineage.catalog import Catalog
from lineage.errors import UsageError


def match_key(name: str, known: Iterable[str]) -> str:
    """Return the known key that ``name`` spells, treating '-' and '_' alike, as options do."""
    known = list(known)
    if name in known:
        return name
    wanted = name.replace("-", "_")
    return next((key for key in known if key.replace("-", "_") == wanted), name)


def known_keys(catalog: Catalog, root: Path | None) -> dict[str, list[str]]:
    """Return every key name declared in lineage.toml or recorded, with the steps using it."""
    from lineage.pipeline import load_pipeline

    keys: dict[str, set[str]] = {k: set(v) for k, v in catalog.key_names().items()}
    pipeline = load_pipeline(root, lenient=True) if root is not None else None
    if pipeline is not None:
        for key, steps in pipeline.keys().items():
            keys.setdefault(key, set()).update(steps)
    return {k: sorted(v) for k, v in sorted(keys.items())}


def check_names(catalog: Catalog, root: Path | None, step: str | None, keys: Iterable[str]) -> None:
    """Refuse a step or key that neither lineage.toml nor the catalog knows.

    A known name costs an index seek (or lineage.toml alone); only an unknown one lists every
    name the catalog holds, a scan that grew with the catalog when it ran on every search.
    """
    from lineage.pipeline import load_pipeline

    pipeline = load_pipeline(root, lenient=True) if root is not None else None
    declared_keys = pipeline.keys() if pipeline is not None else {}
    step_known = False
    for key in keys:
        if key in declared_keys:
            continue
        if catalog.has_key(key, step):
            step_known = step is not None  # a run of this step with this key: the step exists
            continue
        if step is not None and catalog.has_key(key):
            continue
        known = known_keys(catalog, root)
        if key not in known:
            listed = ", ".join(known) or "none yet"
            raise UsageError(f"unknown key {key!r}: known keys are {listed}")
    if step is not None:
        declared_steps = pipeline.steps if pipeline is not None else {}
        if step_known or step in declared_steps or catalog.has_step(step):
            return
        steps = set(catalog.step_names()) | set(declared_steps)
        raise UsageError(
            f"unknown step {step!r}: known steps are {', '.join(sorted(steps)) or 'none yet'}"
        )
