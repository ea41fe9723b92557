"""The runs page (``lineage runs`` in a browser, paged by keyset) and the compare page."""

from __future__ import annotations

from typing import Any

from lineage import api, times
from lineage.catalog import STATUSES
from lineage.errors import UsageError
from lineage.pipeline import load_pipeline
from lineage.ui import charts
from lineage.ui.page import MAX_LIMIT, Page, Query, Sources, cursor, parse_cursor

# Query names that are not keys; any other name filters by a key (?table=transactions).
OPTIONS = ("step", "status", "on", "since", "until", "param", "metric", "limit", "before")
PAGE = 50


def runs_page(src: Sources, query: Query) -> Page:
    """Return one page of runs, newest first, filtered as ``lineage runs`` filters."""
    limit = query.number("limit", PAGE, 1, MAX_LIMIT)
    keys = {name: query.one(name) or "" for name in query.names() if name not in OPTIONS}
    keys = {name: value for name, value in keys.items() if value and name != "token"}
    status = query.one("status")
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
    # One run more than the page shows tells whether an older page exists, without a count
    # (a COUNT over a million runs costs more than the page itself).
    found = api.search(
        step=query.one("step"),
        keys=keys,
        on=query.one("on"),
        since=query.one("since"),
        until=query.one("until"),
        status=status,
        params=query.many("param"),
        metrics=query.many("metric"),
        limit=limit + 1,
        before=parse_cursor(query.one("before")),
        reap=False,
        catalog=src.catalog,
    )
    older = None
    if len(found) > limit:
        found = found[:limit]
        older = cursor(found[-1].time, found[-1].id)
    s = src.session()
    pipeline = load_pipeline(s.project.root)
    declared = list(pipeline.keys()) if pipeline else []
    filters = {name: query.one(name) for name in ("step", "status", "on", "since", "until")} | {
        "param": query.many("param"),
        "metric": query.many("metric"),
        "keys": keys,
    }
    return Page(
        "runs.html",
        "Runs",
        {
            "runs": [run.to_dict() for run in found],
            "filters": filters,
            "limit": limit,
            "next_before": older,
        },
        {
            "found": found,
            "key_fields": list(dict.fromkeys([*declared, *keys])),
            "steps": pipeline.order if pipeline else [],
            "roots": set(pipeline.roots()) if pipeline else set(),
            "statuses": STATUSES,
            "older_url": query.url("/runs", before=older) if older else None,
            "first_url": query.url("/runs", before=None) if query.one("before") else None,
            "query": query,
        },
    )


def compare_page(src: Sources, query: Query) -> Page:
    """Return runs side by side: identity, params, metrics, inputs; rows that differ marked."""
    refs = query.many("run")
    if len(refs) < 2:
        raise UsageError(
            "compare needs two or more runs: tick them on the runs page, or give ?run=ID&run=ID"
        )
    if len(refs) > 20:
        raise UsageError(f"compare takes at most 20 runs, not {len(refs)}")
    details = [api.show(ref, reap=False, catalog=src.catalog) for ref in refs]
    runs = [d.run for d in details]
    rows: list[dict[str, Any]] = []

    def add(section: str, name: str, values: list[Any]) -> None:
        shown = ["" if v is None else v for v in values]
        rows.append(
            {
                "section": section,
                "name": name,
                "values": values,
                "changed": len({str(v) for v in shown}) > 1,
            }
        )

    add("run", "step", [r.step for r in runs])
    add("run", "key", [f"{r.key}={r.value}" for r in runs])
    add("run", "time", [times.format_time(r.time) for r in runs])
    add("run", "status", [r.status for r in runs])
    add("run", "code", [r.code_hash for r in runs])
    for name in sorted({n for r in runs for n in r.params}):
        add("params", name, [r.params.get(name) for r in runs])
    metric_names = sorted({n for r in runs for n in r.metrics})
    for name in metric_names:
        add("metrics", name, [r.metrics.get(name) for r in runs])
    input_names = sorted({a.name for d in details for a in d.inputs})
    for name in input_names:
        add(
            "inputs",
            name,
            [next((a.hash for a in d.inputs if a.name == name), None) for d in details],
        )
    metric = query.one("metric") or next(
        (n for n in metric_names if all(n in r.metrics for r in runs)),
        metric_names[0] if metric_names else None,
    )
    if metric is not None and metric not in metric_names:
        offered = ", ".join(metric_names) or "none"
        raise UsageError(f"no compared run has a metric {metric!r} (metrics: {offered})")
    drawing = None
    if metric is not None:
        param_names = sorted({n for r in runs for n in r.params})
        axes = [
            charts.Axis(n, [charts.as_value(r.params.get(n)) for r in runs]) for n in param_names
        ]
        axes.append(charts.Axis(metric, [r.metrics.get(metric) for r in runs]))
        drawing = charts.parallel_svg([r.label for r in runs], axes)
    return Page(
        "compare.html",
        "Compare runs",
        {"runs": [d.to_dict() for d in details], "rows": rows, "metric": metric},
        {"runs": runs, "metric_names": metric_names, "parallel": drawing, "query": query},
    )
