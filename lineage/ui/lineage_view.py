"""The lineage pages: the graph around a run or artifact to a chosen depth, audit, impact.

The graph walks one level of edges per query (``Catalog.adjacent``) up from the starting point
and down from it, so its cost follows the runs drawn, never the size of the catalog; a cap on
the runs keeps a hub (one load that fed thousands of runs) drawable.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lineage import api, walks
from lineage.catalog import ArtifactInfo, RunInfo
from lineage.drawing import Node, run_graph
from lineage.launch import LOG_NAME
from lineage.ui import svg
from lineage.ui.page import Page, Query, Sources, ref_url, run_url

MAX_DEPTH = 10
MAX_RUNS = 200


def graph_page(src: Sources, ref: str, query: Query) -> Page:
    """Return the lineage around a run or an artifact, ``depth`` run-to-run edges each way."""
    depth = query.number("depth", 2, 1, MAX_DEPTH)
    logs = query.one("logs") in ("1", "yes", "true", "on")
    s = src.session()
    target = walks.find_target(s.catalog, ref)
    if isinstance(target, RunInfo):
        ups = downs = [target.id]
        title = f"lineage of {target.label}"
    else:
        ups = s.catalog.producers([target.hash])
        downs = s.catalog.runs_with_hash(target.hash)["consumed"]
        title = f"lineage of {target.hash}"
    seen = list(dict.fromkeys([*ups, *downs]))
    truncated = False
    for down, frontier in ((False, ups), (True, downs)):
        known = set(seen)
        # An artifact's producers and consumers are its first level already.
        levels = depth if isinstance(target, RunInfo) else depth - 1
        for _ in range(levels):
            if not frontier:
                break
            frontier = sorted(s.catalog.adjacent(frontier, down=down) - known)
            if len(known) + len(frontier) > MAX_RUNS:
                frontier = frontier[: max(MAX_RUNS - len(known), 0)]
                truncated = True
            known.update(frontier)
            seen.extend(frontier)
    lineage = walks.load_lineage(s.catalog, seen)
    if not logs:
        # Every launched run stores its log: drawn, they double the nodes and say little.
        lineage = replace(
            lineage,
            outputs={k: [a for a in v if a.name != LOG_NAME] for k, v in lineage.outputs.items()},
        )
    g = run_graph(lineage, title)
    focus = "r_" + target.id if isinstance(target, RunInfo) else _artifact_id(target)
    if focus in g.nodes:
        g.nodes[focus].focus = True
    data = g.to_dict()
    data.update(depth=depth, truncated=truncated, max_runs=MAX_RUNS, logs=logs)
    return Page(
        "graph.html",
        title,
        data,
        {
            "svg": svg.to_svg(g, node_link),
            "target": target,
            "ref": ref,
            "depths": list(range(1, MAX_DEPTH + 1)),
            "query": query,
            "runs": len(lineage.runs),
        },
    )


def _artifact_id(artifact: ArtifactInfo) -> str:
    algorithm, _, hexdigest = artifact.hash.partition(":")
    return f"a_{algorithm}_{hexdigest}"


def node_link(node: Node) -> str | None:
    """Return the page a drawn node links to: a run's page, an artifact's own graph."""
    if node.kind == "run":
        return run_url(node.id.removeprefix("r_"))
    if node.kind == "artifact":
        algorithm, _, hexdigest = node.id.removeprefix("a_").partition("_")
        return ref_url("graph", f"{algorithm}:{hexdigest}")
    return None


def audit_page(src: Sources, ref: str, query: Query) -> Page:
    """Return the audit of a run or artifact: upstream to its data versions."""
    verify = query.one("verify") in ("1", "yes", "true", "on")
    result = api.audit(ref, verify=verify, catalog=src.catalog, store=src.store)
    target = result.target
    label = target.label if isinstance(target, RunInfo) else target.hash
    data = result.to_dict()
    return Page(
        "audit.html",
        f"Audit of {label}",
        data,
        {
            "audit": result,
            "label": label,
            "ref": ref,
            "verify": verify,
            "runs": _by_id(data["runs"]),
        },
    )


def impact_page(src: Sources, ref: str) -> Page:
    """Return everything derived from a run or a data version."""
    result = api.impact(ref, catalog=src.catalog)
    label = result.target.label if isinstance(result.target, RunInfo) else result.target.hash
    data = result.to_dict()
    return Page(
        "impact.html",
        f"Impact of {label}",
        data,
        {"impact": result, "label": label, "ref": ref, "leaves": {r.id for r in result.leaves()}},
    )


def _by_id(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {run["run_id"]: run for run in runs}
