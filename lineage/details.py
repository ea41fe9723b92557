"""What ``lineage show`` shows of a run: its details, a metric's history, typed params.

Params are recorded as text; here they become values again, of the type lineage.toml declares
(or, for those logged through the SDK, the number or boolean the text spells), and a filter
value finds every text one value was recorded as.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage import times
from lineage.catalog import ArtifactInfo, Catalog, RunInfo
from lineage.errors import NotFound
from lineage.params import param_spellings, typed_params
from lineage.pipeline import Pipeline


@dataclass
class RunDetails:
    """A run with its inputs, outputs, and neighbouring runs, as ``lineage show`` prints it."""

    run: RunInfo
    inputs: list[ArtifactInfo]
    outputs: list[ArtifactInfo]
    upstream: list[RunInfo]
    downstream: list[RunInfo]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.run.to_dict()
        data["inputs"] = [a.to_dict() for a in self.inputs]
        data["outputs"] = [a.to_dict() for a in self.outputs]
        data["upstream"] = [r.id for r in self.upstream]
        data["downstream"] = [r.id for r in self.downstream]
        return data


def details(catalog: Catalog, ref: str, pipeline: Pipeline | None = None) -> RunDetails:
    """Return the run ``ref`` names with its inputs, outputs, upstream and downstream runs."""
    run = catalog.resolve(ref)
    with_values([run], pipeline)
    return RunDetails(
        run=run,
        inputs=catalog.inputs(run.id),
        outputs=catalog.outputs(run.id),
        upstream=catalog.get_runs(catalog.upstream_ids(run.id), details=False),
        downstream=catalog.get_runs(catalog.downstream_ids(run.id), details=False),
    )


@dataclass
class MetricHistory:
    """Every value logged for one metric of a run, oldest first."""

    run: RunInfo
    name: str
    points: list[tuple[int | None, float, datetime]]  # (step, value, time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run.id,
            "metric": self.name,
            "points": [
                {"step": step, "value": value, "time": times.format_precise(moment)}
                for step, value, moment in self.points
            ],
        }


def metric_history(catalog: Catalog, ref: str, name: str) -> MetricHistory:
    """Return every point (step, value, time) logged for metric ``name`` of the run ``ref``."""
    run = catalog.resolve(ref)
    points = catalog.metric_history(run.id, name)
    if not points:
        logged = ", ".join(sorted(run.metrics)) or "none"
        raise NotFound(f"run {run.label} has no metric {name!r} (its metrics: {logged})")
    return MetricHistory(run, name, [(step, value, moment) for value, step, moment in points])


def spelled(
    pair: tuple[str, str], pipeline: Pipeline | None, step: str | None
) -> tuple[str, tuple[str, ...]]:
    """Match a parameter by value: ``C=.5`` finds the runs recorded with ``C=0.5``."""
    name, text = pair
    steps = [] if pipeline is None else list(pipeline.steps.values())
    specs = [s.params[name] for s in steps if name in s.params and step in (None, s.name)]
    return name, param_spellings(text, specs)


def with_values(runs: list[RunInfo], pipeline: Pipeline | None) -> list[RunInfo]:
    """Give each run its params as typed values, by lineage.toml's types where it has them."""
    for run in runs:
        declared = pipeline.steps.get(run.step) if pipeline is not None else None
        run.param_values = typed_params(run.params, declared.params if declared else None)
    return runs
