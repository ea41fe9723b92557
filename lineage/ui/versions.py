"""The data versions of a root step's key value: a timeline of what each retrieval fetched.

A data version is the set of hashes a load run produced (its log aside). Retrievals that
fetched identical data share a version; each version lists what was made from it, found by
content (``downstream_closure`` from its hashes), as the resolver reuses by content.
"""

from __future__ import annotations

from typing import Any

from lineage import api, times
from lineage.errors import NotFound
from lineage.launch import LOG_NAME
from lineage.ui.page import MAX_LIMIT, Page, Query, Sources

MADE_FROM_LIMIT = 50


def versions_page(src: Sources, step: str, value: str, query: Query) -> Page:
    """Return the data versions of ``step`` with key value ``value``, newest retrieval first."""
    limit = query.number("limit", 100, 1, MAX_LIMIT)
    s = src.session()
    newest = s.catalog.newest(step, value, status=None)
    if newest is None:
        raise NotFound(
            f"no {step}:{value} run is recorded: pick a step and key value from the runs page"
        )
    found = api.search(
        step=step, keys={newest.key: value}, limit=limit, reap=False, catalog=src.catalog
    )
    outputs = s.catalog.outputs_of([run.id for run in found])
    versions: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    timeline: list[dict[str, Any]] = []
    # Oldest first, so version 1 is the first data ever fetched and numbers stay put.
    for run in reversed(found):
        data = [a for a in outputs[run.id] if a.name != LOG_NAME]
        signature = tuple(sorted((a.name, a.hash) for a in data))
        version = versions.get(signature)
        if version is None and data:
            version = versions[signature] = {
                "number": len(versions) + 1,
                "outputs": [
                    {"name": a.name, "hash": a.hash, "size": a.size, "rows": a.rows, "kind": a.kind}
                    for a in data
                ],
                "retrievals": [],
            }
        entry = {
            "run_id": run.id,
            "time": times.format_precise(run.time),
            "status": run.status,
            "version": version["number"] if version else None,
        }
        if version is not None:
            version["retrievals"].append(run.id)
            entry["same_as_before"] = (
                bool(timeline) and timeline[-1]["version"] == version["number"]
            )
        timeline.append(entry)
    timeline.reverse()
    by_id = {run.id: run for run in found}
    for version in versions.values():
        hashes = [o["hash"] for o in version["outputs"]]
        derived = [i for i in s.catalog.downstream_closure([], hashes) if i not in by_id]
        made = s.catalog.get_runs(derived[:MADE_FROM_LIMIT], details=False)
        made.sort(key=lambda r: (r.time, r.id))
        version["made_from_count"] = len(derived)
        version["made_from"] = [
            {
                "run_id": r.id,
                "step": r.step,
                "value": r.value,
                "time": times.format_precise(r.time),
                "status": r.status,
                "label": r.label,
            }
            for r in made
        ]
        version["first"] = times.format_precise(by_id[version["retrievals"][0]].time)
        version["last"] = times.format_precise(by_id[version["retrievals"][-1]].time)
    ordered = sorted(versions.values(), key=lambda v: v["number"], reverse=True)
    return Page(
        "versions.html",
        f"Data versions of {step}:{value}",
        {
            "step": step,
            "key": newest.key,
            "value": value,
            "versions": ordered,
            "timeline": timeline,
            "limit": limit,
            "more": len(found) == limit,
        },
        {"labels": {run.id: run.label for run in found}},
    )
