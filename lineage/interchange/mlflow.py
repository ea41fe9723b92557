"""Import an MLflow tracking store: experiments become steps, runs become typed runs.

``--step load=load:table:retrieval_time`` says that the runs of MLflow experiment ``load`` are
runs of step ``load`` whose key value is their param ``table`` and whose identity time is their
param ``retrieval_time`` (Unix seconds, an ISO time or a date, as the typed-identity seed wrote
them). Each run comes with its params, every value of every metric, its tags, status, start
and end, user and git commit. MLflow is read through its own client (the ``mlflow`` extra).

* A run's lineage id is ``uuid5`` of its MLflow run id, so importing twice finds the runs it
  made and creates nothing new; the MLflow run id is kept as the tag `lineage.mlflow.run_id`.
* Upstream edges are rebuilt as the seed linked runs: a run is made from the run of an
  upstream step whose key and time values appear among its own params under the same names
  (the newest such run in the window the time names: a date is its whole day). Also from its
  ``mlflow.parentRunId`` and from datasets whose source names an imported run. Without
  ``after``, any other imported step whose key and time params a run carries is upstream.
* Artifacts: without ``artifacts`` each top-level artifact is recorded by path only (a tag
  "lineage.mlflow.artifact.<path>"), never as a data version; with it they are downloaded,
  hashed into the store (in parallel) and recorded as outputs. MLflow's dataset digests (a
  sampled MD5) are kept as tags, never as our hash.
* Imported runs are marked (``mark_imported``), so the resolver does not reuse them; they have
  no params hash or code version either, which the resolver's matches require.
* A run that lacks a param named in ``--step``, or whose time cannot be read, is reported and
  left out; the rest is imported. A run still running in MLflow is left for a later import.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lineage import times
from lineage.catalog import Catalog, RunInfo, Status
from lineage.errors import InvalidTime, LineageError, UsageError
from lineage.session import Session

if TYPE_CHECKING:
    from lineage.interchange.mlflow_source import Source

# Lineage ids of imported runs: uuid5 of the MLflow run id in this namespace.
_NAMESPACE = uuid.UUID("1e5b7c8a-6d1f-5a3e-8f2b-6d6c666c6f77")
_STATUS: dict[str, Status] = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}
_RUN_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
TAG = "lineage.mlflow."
ORIGIN_TAG = "lineage.origin"
JOBS = 4
Progress = Callable[[int, int], None]  # (artifacts stored, artifacts in all)


def mark_imported(run: RunInfo) -> None:
    """Mark a run as imported, so the resolver never reuses it for a pipeline.

    The one place the mark is made: a tag until the catalog records a run's origin itself,
    then the catalog field (issue 9's ``origin = 'import'``).
    """
    run.tags[ORIGIN_TAG] = "import"


def lineage_id(mlflow_run_id: str) -> str:
    """Return the lineage run id of an MLflow run: uuid5 of its id, 32 hex digits."""
    return uuid.uuid5(_NAMESPACE, mlflow_run_id).hex


@dataclass(frozen=True)
class StepMap:
    """``EXPERIMENT=STEP:KEYPARAM:TIMEPARAM``: which runs make which step, and how."""

    experiment: str
    step: str
    key: str
    time: str

    @classmethod
    def parse(cls, text: str) -> StepMap:
        experiment, eq, rest = text.partition("=")
        parts = rest.split(":")
        if not eq or not experiment.strip() or len(parts) != 3 or not all(p.strip() for p in parts):
            raise UsageError(
                f"step mapping {text!r} is not EXPERIMENT=STEP:KEYPARAM:TIMEPARAM, such as "
                "load=load:table:retrieval_time"
            )
        step, key, time = (p.strip() for p in parts)
        return cls(experiment.strip(), step, key, time)


def parse_after(texts: Sequence[str], steps: Sequence[StepMap]) -> dict[str, list[str]]:
    """Parse ``STEP=UPSTREAM[,UPSTREAM]`` pairs; both must be steps of the mapping."""
    known = {m.step for m in steps}
    after: dict[str, list[str]] = {}
    for text in texts:
        step, eq, upstream = text.partition("=")
        names = [u.strip() for u in upstream.split(",") if u.strip()]
        if not eq or not step.strip() or not names:
            raise UsageError(f"{text!r} is not STEP=UPSTREAM, such as process=load")
        for name in [step.strip(), *names]:
            if name not in known:
                raise UsageError(
                    f"{text!r} names step {name!r}, which no step mapping makes (steps: "
                    f"{', '.join(sorted(known))})"
                )
        after.setdefault(step.strip(), []).extend(names)
    return after


@dataclass
class Problem:
    """A run that was not imported (or not linked), and why."""

    experiment: str
    mlflow_run_id: str
    message: str

    def __str__(self) -> str:
        return f"run {self.mlflow_run_id} of experiment {self.experiment!r}: {self.message}"


@dataclass
class Imported:
    """One MLflow run as lineage records it, and what the import did with it."""

    run: RunInfo
    mlflow_run_id: str
    experiment: str
    action: str  # imported, exists, import (dry run)
    upstream: list[str] = field(default_factory=list)
    artifacts: list[tuple[str, bool]] = field(default_factory=list)  # (path, is a folder)
    metric_keys: list[str] = field(default_factory=list)
    parent: str | None = None
    dataset_sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mlflow_run_id": self.mlflow_run_id,
            "experiment": self.experiment,
            "run_id": self.run.id,
            "step": self.run.step,
            "key": self.run.key,
            "value": self.run.value,
            "time": times.format_precise(self.run.time),
            "status": self.run.status,
            "action": self.action,
            "upstream": self.upstream,
            "artifacts": [path for path, _ in self.artifacts],
        }


@dataclass
class ImportReport:
    """What an import read, recorded, linked and left out."""

    tracking_uri: str
    runs: list[Imported] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    still_running: list[str] = field(default_factory=list)
    stored: int = 0  # artifacts hashed into the store
    dry_run: bool = False

    def count(self, action: str) -> int:
        return sum(1 for r in self.runs if r.action == action)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tracking_uri": self.tracking_uri,
            "dry_run": self.dry_run,
            "imported": self.count("import" if self.dry_run else "imported"),
            "existing": self.count("exists"),
            "still_running": self.still_running,
            "artifacts_stored": self.stored,
            "runs": [r.to_dict() for r in self.runs],
            "problems": [
                {"experiment": p.experiment, "mlflow_run_id": p.mlflow_run_id, "error": p.message}
                for p in self.problems
            ],
        }


def import_mlflow(
    session: Session,
    tracking_uri: str,
    steps: Sequence[StepMap],
    *,
    after: dict[str, list[str]] | None = None,
    artifacts: bool = False,
    dry_run: bool = False,
    jobs: int = JOBS,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the runs of the mapped experiments; return what was done and what was not."""
    if not steps:
        raise UsageError("name at least one step mapping, such as load=load:table:retrieval_time")
    if len({m.step for m in steps}) != len(steps) or len({m.experiment for m in steps}) != len(
        steps
    ):
        raise UsageError("each experiment and each step may be mapped once")
    from lineage.interchange import mlflow_source

    source = mlflow_source.open_source(tracking_uri)
    report = ImportReport(source.masked_uri, dry_run=dry_run)
    experiments = {m.experiment: source.experiment_id(m.experiment) for m in steps}
    for mapping in steps:
        for raw in source.runs(experiments[mapping.experiment]):
            item = _prepare(raw, mapping, source, report)
            if item is not None:
                report.runs.append(item)
    existing = {
        r.id for r in session.catalog.get_runs([i.run.id for i in report.runs], details=False)
    }
    for item in report.runs:
        if item.run.id in existing:
            item.action = "exists"
        else:
            item.action = "import" if dry_run else "imported"
    _link(session, report, steps, after or {})
    if dry_run:
        return report
    _record(session, source, report, existing)
    if artifacts:
        _store_artifacts(session, source, report, jobs, progress)
    return report


def _store_artifacts(
    session: Session, source: Source, report: ImportReport, jobs: int, progress: Progress | None
) -> None:
    """Copy in the artifacts not yet recorded as outputs of their runs; report failures."""
    from lineage.interchange.mlflow_source import Fetch, store_artifacts

    items = [i for i in report.runs if i.action in ("imported", "exists") and i.artifacts]
    present = session.catalog.outputs_of([i.run.id for i in items])
    fetches, owners = [], {}
    for item in items:
        names = {a.name for a in present[item.run.id]}
        for path, is_dir in item.artifacts:
            if path not in names:
                fetches.append(Fetch(item.run.id, item.mlflow_run_id, path, is_dir))
                owners[item.mlflow_run_id] = item
    report.stored, failed = store_artifacts(session, source, fetches, jobs=jobs, progress=progress)
    for fetch, error in failed:
        item = owners[fetch.mlflow_run_id]
        report.problems.append(
            Problem(item.experiment, item.mlflow_run_id, f"artifact {fetch.path!r}: {error}")
        )


def _prepare(raw: Any, mapping: StepMap, source: Source, report: ImportReport) -> Imported | None:
    info, data = raw.info, raw.data
    mlflow_id = info.run_id
    status = _STATUS.get(info.status)
    if status is None:  # RUNNING, SCHEDULED: its end is not known yet
        report.still_running.append(mlflow_id)
        return None

    def problem(message: str) -> None:
        report.problems.append(Problem(mapping.experiment, mlflow_id, message))

    params: dict[str, str] = dict(data.params)
    missing = [name for name in (mapping.key, mapping.time) if name not in params]
    if missing:
        listed = ", ".join(sorted(params)) or "none"
        problem(f"no param {missing[0]!r} (its params: {listed}); not imported")
        return None
    try:
        moment = times.parse_time(params[mapping.time])
    except InvalidTime as error:
        problem(f"param {mapping.time}: {error}; not imported")
        return None
    tags: dict[str, str] = dict(data.tags)
    started = _from_ms(info.start_time) or moment
    run = RunInfo(
        id=lineage_id(mlflow_id),
        step=mapping.step,
        key=mapping.key,
        value=params[mapping.key],
        time=moment,
        status=status,
        started_at=started,
        ended_at=_from_ms(info.end_time),
        git_commit=tags.get("mlflow.source.git.commit"),
        user=info.user_id or tags.get("mlflow.user"),
        params=params,
        tags=tags,
    )
    run.tags[TAG + "run_id"] = mlflow_id
    run.tags[TAG + "experiment"] = mapping.experiment
    run.tags[TAG + "tracking_uri"] = report.tracking_uri
    mark_imported(run)
    item = Imported(run, mlflow_id, mapping.experiment, "", parent=tags.get("mlflow.parentRunId"))
    for dataset in getattr(getattr(raw, "inputs", None), "dataset_inputs", None) or []:
        ds = dataset.dataset
        run.tags[_tag_name(f"dataset.{ds.name}")] = ds.digest
        run.tags[_tag_name(f"dataset.{ds.name}.source")] = str(ds.source)[:1000]
        item.dataset_sources.append(str(ds.source))
    item.metric_keys = sorted(data.metrics)
    try:
        artifacts = source.artifacts(mlflow_id)
    except LineageError as error:
        # Artifacts in a bucket this machine cannot read: the run itself still comes along.
        problem(f"its artifacts could not be listed ({error}); imported without them")
        artifacts = []
    for path, is_dir in artifacts:
        item.artifacts.append((path, is_dir))
        run.tags[_tag_name(f"artifact.{path}")] = f"{info.artifact_uri.rstrip('/')}/{path}"
    return item


def _tag_name(suffix: str) -> str:
    return (TAG + suffix)[:250]


def _from_ms(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1000, UTC)


# -- linking ----------------------------------------------------------------------------------


def _link(
    session: Session, report: ImportReport, steps: Sequence[StepMap], after: dict[str, list[str]]
) -> None:
    """Find each run's upstream runs among the runs imported and those already recorded."""
    by_step = {m.step: m for m in steps}
    planned: dict[tuple[str, str], list[RunInfo]] = {}
    for item in report.runs:
        planned.setdefault((item.run.step, item.run.value), []).append(item.run)
    steps_of = {item.run.id: item.run.step for item in report.runs}
    catalog = session.catalog
    for item in report.runs:
        run = item.run
        upstream: list[str] = []
        names = after.get(run.step) or [s for s in by_step if s != run.step]
        linked: set[str] = set()
        for name in names:
            mapping = by_step[name]
            value, when = run.params.get(mapping.key), run.params.get(mapping.time)
            if value is None or when is None:
                continue
            try:
                window = times.parse_window(when)
            except InvalidTime as error:
                report.problems.append(
                    Problem(
                        item.experiment,
                        item.mlflow_run_id,
                        f"not linked to {name}: param {mapping.time}: {error}",
                    )
                )
                continue
            found = [r for r in planned.get((name, value), []) if r.time in window]
            recorded = catalog.newest(name, value, window=window, status=None)
            if recorded is not None:
                found.append(recorded)
            if found:
                upstream.append(max(found, key=lambda r: (r.time, r.id)).id)
                linked.add(name)
        # MLflow's own links, for steps the params did not link: a parent run, a dataset whose
        # source is another run's artifact. Params win: MLflow keeps one source per dataset
        # name and digest, so a dataset read again on a later day still names the first run.
        others = [item.parent] if item.parent else []
        for text in item.dataset_sources:
            others.extend(_RUN_ID.findall(text))
        for other in others:
            other_id = lineage_id(other)
            step = steps_of.get(other_id) or _step_of(catalog, other_id)
            if step is not None and step != run.step and step not in linked:
                upstream.append(other_id)
        item.upstream = list(dict.fromkeys(upstream))


def _step_of(catalog: Catalog, run_id: str) -> str | None:
    found = catalog.get_runs([run_id], details=False)
    return found[0].step if found else None


def _exists(catalog: Catalog, run_id: str) -> bool:
    return bool(catalog.get_runs([run_id], details=False))


# -- recording --------------------------------------------------------------------------------


def _record(session: Session, source: Source, report: ImportReport, existing: set[str]) -> None:
    """Record new runs, each whole in one transaction, upstream runs first where known."""
    catalog = session.catalog
    recorded = set(existing)
    deferred: list[tuple[str, list[str]]] = []
    for item in sorted(report.runs, key=lambda i: (i.run.started_at, i.run.id)):
        run = item.run
        ready = [u for u in item.upstream if u in recorded or _exists(catalog, u)]
        later = [u for u in item.upstream if u not in ready]
        if item.action == "exists":
            known = set(catalog.upstream_ids(run.id))
            missing = [u for u in ready if u not in known]
            if missing:
                catalog.add_upstream(run.id, missing)
        else:
            try:
                metrics = source.metric_history(item.mlflow_run_id, item.metric_keys)
                catalog.record_run(run, metrics=metrics, upstream=ready)
            except LineageError as error:
                report.problems.append(
                    Problem(item.experiment, item.mlflow_run_id, f"{error}; not imported")
                )
                item.action = "failed"
                continue
        recorded.add(run.id)
        if later:
            deferred.append((run.id, later))
    for run_id, ups in deferred:
        ready = [u for u in ups if u in recorded]
        if ready and run_id in recorded:
            catalog.add_upstream(run_id, ready)
