"""The plan page: the resolver's dry run for chosen key values, each step with its reason.

It calls ``lineage.api.resolve`` with ``dry_run=True`` only: the UI never launches a step.
"""

from __future__ import annotations

from typing import Any

from lineage import api
from lineage.pipeline import load_pipeline
from lineage.ui.page import Page, Query, Sources

REUSE_REASON = "the newest finished run with these params and code, coherent by content"
ANCHOR_REASON = "the newest finished run of this key value"


def plan_page(src: Sources, query: Query) -> Page:
    """Return the form of the pipeline's keys and, when keys are given, the dry-run plan."""
    s = src.session()
    pipeline = load_pipeline(s.project.root)
    declared = pipeline.keys() if pipeline else {}
    keys = {name: value for name in declared if (value := query.one(name))}
    params = query.many("param")
    data: dict[str, object] = {"keys": keys, "params": params, "chain": None}
    if keys:
        chain = api.resolve(keys, params=params, dry_run=True, catalog=src.catalog, store=src.store)
        roots = set(pipeline.roots()) if pipeline else set()
        data["chain"] = [
            {**link.to_dict(), "reason": link.reason or _reuse_reason(link, roots)}
            for link in chain.links
        ]
        data["complete"] = all(link.action == "reuse" for link in chain.links)
    return Page(
        "plan.html",
        "Plan",
        data,
        {"declared": declared, "pipeline": pipeline, "query": query},
    )


def _reuse_reason(link: Any, roots: set[str]) -> str:
    if link.run is None:
        return ""
    return ANCHOR_REASON if link.step in roots else REUSE_REASON
