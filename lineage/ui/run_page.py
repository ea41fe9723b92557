"""The run page: identity, code version, params, metric curves, artifacts with table previews,
neighbouring runs, and whether the resolver would reuse the run today."""

from __future__ import annotations

from typing import Any

from lineage import api
from lineage.catalog import ArtifactInfo, RunInfo
from lineage.errors import LineageError
from lineage.pipeline import Pipeline, load_pipeline
from lineage.store import Store
from lineage.ui import charts
from lineage.ui.page import Page, Sources
from lineage.walks import load_lineage

PREVIEW_ROWS = 10
PREVIEW_COLUMNS = 12


def run_page(src: Sources, ref: str) -> Page:
    """Return everything known about one run."""
    details = api.show(ref, reap=False, catalog=src.catalog)
    run = details.run
    s = src.session()
    pipeline = _pipeline(s.project.root)
    curves = {}
    for name in run.metrics:
        history = s.catalog.metric_history(run.id, name)
        if len(history) > 1:
            points = [
                (float(step if step is not None else i), value)
                for i, (value, step, _) in enumerate(history)
            ]
            curves[name] = {
                "points": [[x, y] for x, y in points],
                "svg": charts.curve_svg(name, points),
            }
    previews: dict[str, dict[str, Any]] = {}
    for artifact in [*details.outputs, *details.inputs]:
        if artifact.kind == "table" and artifact.hash not in previews:
            previews[artifact.hash] = preview(s.store, artifact)
    data = details.to_dict()
    data["code"] = code_info(pipeline, run)
    data["metric_history"] = {name: c["points"] for name, c in curves.items()}
    data["previews"] = previews
    data["verdict"] = verdict(src, pipeline, run)
    step = pipeline.steps.get(run.step) if pipeline else None
    is_root = (not step.after) if step else not details.upstream
    return Page(
        "run.html",
        run.label,
        data,
        {
            "details": details,
            "run": run,
            "curves": {name: c["svg"] for name, c in curves.items()},
            "is_root": is_root,
            "duration": _duration(run),
        },
    )


def _pipeline(root: Any) -> Pipeline | None:
    try:
        return load_pipeline(root)
    except LineageError:
        return None  # a broken lineage.toml must not hide what the catalog recorded


def _duration(run: RunInfo) -> str | None:
    if run.ended_at is None:
        return None
    seconds = (run.ended_at - run.started_at).total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def code_info(pipeline: Pipeline | None, run: RunInfo) -> dict[str, Any]:
    """Return the run's code hash, what the step's code version covers, and today's hash."""
    info: dict[str, Any] = {"hash": run.code_hash, "git_commit": run.git_commit}
    step = pipeline.steps.get(run.step) if pipeline else None
    if step is None:
        info["covers"] = None
        return info
    info["covers"] = list(step.code)
    try:
        info["current"] = pipeline.code_hash(run.step) if pipeline else None
    except LineageError as error:
        info["current_error"] = str(error)
    return info


def preview(store: Store, artifact: ArtifactInfo) -> dict[str, Any]:
    """Return the first rows of a stored table (a few columns), or why they cannot be read."""
    import pyarrow.parquet as pq

    try:
        with store.open(artifact.hash) as f:
            table = pq.ParquetFile(f)
            names = table.schema_arrow.names
            columns = names[:PREVIEW_COLUMNS]
            batch = next(table.iter_batches(batch_size=PREVIEW_ROWS, columns=columns), None)
            rows = batch.to_pylist() if batch is not None else []
    except LineageError as error:
        return {"error": str(error)}
    except Exception as error:  # a corrupt or foreign file: say so, keep the page
        return {"error": f"cannot read the table: {error}".splitlines()[0]}
    return {
        "columns": columns,
        "hidden_columns": len(names) - len(columns),
        "rows": [[_cell(row[c]) for c in columns] for row in rows],
    }


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def verdict(src: Sources, pipeline: Pipeline | None, run: RunInfo) -> dict[str, Any]:
    """Say whether ``lineage resolve`` would reuse this run today, and why not.

    A dry run of the resolver for the chain the run belongs to (its key value and those of
    the runs it was made from, its params): nothing is launched or written.
    """
    if pipeline is None or run.step not in pipeline.steps:
        return {
            "reuse": False,
            "reason": f"step {run.step!r} is not in lineage.toml: the resolver does not make it",
        }
    if run.status != "finished":
        return {"reuse": False, "reason": f"the run is {run.status}: only finished runs are reused"}
    s = src.session()
    lineage = load_lineage(s.catalog, s.catalog.upstream_closure([run.id]))
    keys: dict[str, list[str]] = {}
    params: list[str] = []
    for other in lineage.runs.values():
        keys.setdefault(other.key, [])
        if other.value not in keys[other.key]:
            keys[other.key].append(other.value)
        declared = pipeline.steps.get(other.step)
        for name, value in other.params.items():
            if declared is not None and name in declared.params:
                params.append(f"{other.step}.{name}={value}")
    try:
        chain = api.resolve(
            {k: ",".join(v) for k, v in keys.items()},
            params=params,
            dry_run=True,
            catalog=src.catalog,
            store=src.store,
        )
    except LineageError as error:
        return {"reuse": False, "reason": f"the resolver cannot plan this chain: {error}"}
    link = next((x for x in chain.links if x.step == run.step and x.value == run.value), None)
    if link is None:
        return {"reuse": False, "reason": "the resolver's chain has no such step"}
    if link.run is not None and link.run.id == run.id:
        return {"reuse": True, "reason": "it is the newest coherent run of its chain"}
    if link.run is not None:
        return {
            "reuse": False,
            "reason": f"resolve reuses a newer coherent run, {link.run.label}",
            "instead": link.run.id,
        }
    return {"reuse": False, "reason": f"resolve would launch the step: {link.reason}"}
