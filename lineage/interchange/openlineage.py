"""Runs as OpenLineage run events (spec 2-0-2), streamed in event-time order.

The mapping (docs/openlineage.md says it for people):

* job: ``namespace`` from ``[openlineage] namespace`` (default ``lineage.<project folder>``),
  ``name`` = ``STEP.VALUE`` (``process.plain``); facets ``jobType`` (BATCH) and, when the run
  knows its git commit, ``sourceCodeLocation``;
* run: ``runId`` is the run id itself written as a UUID (lineage's ids are 32 hex digits, a
  UUID's worth), so the same run always gets the same runId and a runId seen in another tool
  is a run id prefix here; an id that is not 32 hex digits gets ``uuid5`` of itself. ``START``
  at the run's start, then ``COMPLETE``, ``FAIL`` (with ``errorMessage``) or ``ABORT``
  (killed) at its end; a running run has ``START`` only. Run facets: ``nominalTime`` (the
  identity time), ``parent`` (the resolve that launched it), ``jobDependencies`` (upstream
  runs), ``executionParameters`` (params and code version) and ``tags``;
* datasets: one per named artifact slot, ``STEP.VALUE/NAME``, the same across versions (the
  launcher's ``log`` is none: it says how a step ran, not what it made); the
  ``version`` facet carries the content hash as lineage records it (``xxh128:<hex>``); an
  input names the slot it was taken from and the hash the run actually consumed; a table adds
  ``schema``; every output has ``outputStatistics`` (bytes, and rows for a table).

Export streams: runs are read a page at a time in start order; a START is written as its run
is read, the end event waits in a heap until no earlier event can still come, so memory holds
one page and the runs still going at that moment, whatever the catalog's size.
"""

from __future__ import annotations

import heapq
import json
import re
import subprocess
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import IO, Any

from lineage import times
from lineage.catalog import LOG_NAME, RESOLVE_TAG, ArtifactInfo, Catalog, RunInfo

SPEC_VERSION = "2-0-2"
SCHEMA_URL = f"https://openlineage.io/spec/{SPEC_VERSION}/OpenLineage.json#/$defs/RunEvent"
FACETS_URL = "https://openlineage.io/spec/facets"
# The newest published version of each facet we write.
FACET_VERSIONS = {
    "NominalTimeRunFacet": "1-0-1",
    "ParentRunFacet": "1-2-0",
    "JobDependenciesRunFacet": "1-0-1",
    "ErrorMessageRunFacet": "1-0-1",
    "ExecutionParametersRunFacet": "1-0-0",
    "TagsRunFacet": "1-0-0",
    "JobTypeJobFacet": "2-0-4",
    "SourceCodeLocationJobFacet": "1-1-0",
    "DatasetVersionDatasetFacet": "1-0-1",
    "SchemaDatasetFacet": "1-2-0",
    "OutputStatisticsOutputDatasetFacet": "1-0-2",
}
END_TYPES = {"finished": "COMPLETE", "failed": "FAIL", "killed": "ABORT"}
RESOLVE_JOB = "resolve"
PAGE = 1000
# Fixed, so ids that are not hex (none lineage makes) still map to the same UUID everywhere.
_RUN_NAMESPACE = uuid.UUID("8d6c2a3e-5b0f-5e4a-9c41-6c696e656167")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_NAMESPACE_CHARS = re.compile(r"[^A-Za-z0-9_.\-:/@=;+]+")

Progress = Callable[[int, int], None]  # (runs done, runs in all)


@cache
def producer() -> str:
    """Return the URI naming this producer in every event: the package and its version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("lineage-catalog")
    except PackageNotFoundError:  # run from a source tree that was never installed
        number = "unknown"
    return f"urn:lineage-catalog:{number}"


def facet_url(name: str) -> str:
    """Return the ``_schemaURL`` of a facet: its published schema file and definition."""
    return f"{FACETS_URL}/{FACET_VERSIONS[name]}/{name}.json#/$defs/{name}"


_FACET_URLS = {name: facet_url(name) for name in FACET_VERSIONS}


def run_uuid(run_id: str) -> str:
    """Return the OpenLineage runId of a run: its id as a UUID (uuid5 for a non-hex id)."""
    if _HEX32.match(run_id):
        # What str(uuid.UUID(hex=run_id)) gives, a tenth of the cost: it runs 4M times at 1M runs.
        h = run_id
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return str(uuid.uuid5(_RUN_NAMESPACE, run_id))


def job_name(step: str, value: str) -> str:
    """Return the job name of runs of ``step`` with key value ``value``: ``STEP.VALUE``."""
    return f"{step}.{value}"


@dataclass(frozen=True)
class Settings:
    """What every event of one project shares: the namespace and where the code lives."""

    namespace: str
    source_url: str | None = None  # a URL of the git repository, for sourceCodeLocation


def settings_for(root: Path, config: dict[str, Any]) -> Settings:
    """Read ``[openlineage]`` of lineage.toml; default the namespace from the project folder."""
    section = config.get("openlineage", {})
    namespace = section.get("namespace") if isinstance(section, dict) else None
    if not isinstance(namespace, str) or not namespace.strip():
        name = _NAMESPACE_CHARS.sub("-", root.name).strip("-") or "project"
        namespace = f"lineage.{name}"
    return Settings(namespace=namespace.strip(), source_url=_repository_url(str(root)))


@cache
def _repository_url(root: str) -> str | None:
    """Return the URL of the project's git remote ``origin`` (no credentials), or its folder."""
    try:
        done = subprocess.run(
            ["git", "remote", "get-url", "origin"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        done = None
    url = done.stdout.strip() if done is not None and done.returncode == 0 else ""
    if not url:
        return Path(root).as_uri()
    scp = re.match(r"^(?P<user>[^@/:]+@)?(?P<host>[^/:]+):(?P<path>[^/].*)$", url)
    if scp and "://" not in url:
        # git@host:org/repo.git is no URI; ssh://git@host/org/repo.git is the same remote.
        url = f"ssh://{scp['user'] or ''}{scp['host']}/{scp['path']}"
    # A remote may carry a token (https://user:token@host/...): keep the host, drop the rest.
    return re.sub(r"^(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@]*:[^/@]*@", r"\g<scheme>", url)


# -- what one run's events need ---------------------------------------------------------------


@dataclass
class RunRecord:
    """A run with what its events carry: inputs, outputs, and the identities around it."""

    run: RunInfo
    inputs: list[ArtifactInfo] = field(default_factory=list)
    outputs: list[ArtifactInfo] = field(default_factory=list)
    # run id -> (step, value) of the upstream runs and of the runs inputs were taken from
    upstream: dict[str, tuple[str, str]] = field(default_factory=dict)
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)


def load_records(catalog: Catalog, runs: Sequence[RunInfo]) -> list[RunRecord]:
    """Read the inputs, outputs and neighbours of a page of runs: a few batched queries."""
    ids = [run.id for run in runs]
    if not ids:
        return []
    inputs = catalog.inputs_of(ids)
    outputs = catalog.outputs_of(ids)
    edges = catalog.edges(ids)
    records = []
    for run in runs:
        found = edges[run.id]
        sources = {source: ident for _, source, ident in found.inputs if source and ident}
        records.append(
            RunRecord(
                run=run,
                inputs=inputs[run.id],
                outputs=outputs[run.id],
                upstream={k: v for k, v in found.upstream.items() if v is not None},
                sources=sources,
            )
        )
    return records


# -- events -----------------------------------------------------------------------------------


def start_event(record: RunRecord, settings: Settings) -> dict[str, Any]:
    """Return the START event of a run: its facets and the inputs it had recorded."""
    return run_events(record, settings)[0]


def end_event(record: RunRecord, settings: Settings) -> dict[str, Any] | None:
    """Return the COMPLETE, FAIL or ABORT event of a run that ended; None while it runs."""
    return run_events(record, settings)[1]


def end_time(run: RunInfo) -> datetime:
    """Return when a run ended, as well as the catalog knows it."""
    return run.ended_at or run.heartbeat_at or run.started_at


def run_events(
    record: RunRecord, settings: Settings
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Return a run's START event and its end event (None while it runs).

    Both share the run's facets, job and inputs (built once: an export makes two million
    events at a million runs); the end adds the outputs, and ``errorMessage`` on a FAIL.
    """
    run = record.run
    run_id = run_uuid(run.id)
    facets = _run_facets(record, settings)
    job = {
        "namespace": settings.namespace,
        "name": job_name(run.step, run.value),
        "facets": _job_facets(run, settings),
    }
    inputs = [_input(a, record, settings) for a in record.inputs]
    start = {
        "eventTime": times.format_precise(run.started_at),
        "producer": producer(),
        "schemaURL": SCHEMA_URL,
        "eventType": "START",
        "run": {"runId": run_id, "facets": facets},
        "job": job,
        "inputs": inputs,
        "outputs": [],
    }
    kind = END_TYPES.get(run.status)
    if kind is None:
        return start, None
    if kind == "FAIL":
        facets = {
            **facets,
            "errorMessage": _facet(
                "ErrorMessageRunFacet",
                message=run.error or f"run ended {run.status}",
                # A launched step is a shell command; a run of the SDK is Python.
                programmingLanguage="shell" if run.command else "python",
            ),
        }
    end = {
        "eventTime": times.format_precise(end_time(run)),
        "producer": producer(),
        "schemaURL": SCHEMA_URL,
        "eventType": kind,
        "run": {"runId": run_id, "facets": facets},
        "job": job,
        "inputs": inputs,
        # The launcher's log says how a step ran, not what it made: no dataset (as in audit).
        "outputs": [_output(a, run, settings) for a in record.outputs if a.name != LOG_NAME],
    }
    return start, end


def _facet(name: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": producer(), "_schemaURL": _FACET_URLS[name], **fields}


def _run_facets(record: RunRecord, settings: Settings) -> dict[str, Any]:
    run = record.run
    facets: dict[str, Any] = {
        "nominalTime": _facet(
            "NominalTimeRunFacet", nominalStartTime=times.format_precise(run.time)
        ),
    }
    resolve_id = run.tags.get(RESOLVE_TAG)
    if resolve_id:
        facets["parent"] = _facet(
            "ParentRunFacet",
            run={"runId": run_uuid(resolve_id)},
            job={"namespace": settings.namespace, "name": RESOLVE_JOB},
        )
    if record.upstream:
        facets["jobDependencies"] = _facet(
            "JobDependenciesRunFacet",
            upstream=[
                {
                    "job": {"namespace": settings.namespace, "name": job_name(*identity)},
                    "run": {"runId": run_uuid(up_id)},
                }
                for up_id, identity in sorted(record.upstream.items())
            ],
        )
    parameters = [{"key": name, "value": value} for name, value in sorted(run.params.items())]
    for name, value in (
        ("lineage.code_hash", run.code_hash),
        ("lineage.git_commit", run.git_commit),
        ("lineage.git_dirty", None if run.git_dirty is None else str(run.git_dirty).lower()),
        ("lineage.command", run.command),
    ):
        if value is not None:
            parameters.append({"key": name, "value": value})
    if parameters:
        facets["executionParameters"] = _facet("ExecutionParametersRunFacet", parameters=parameters)
    if run.tags:
        facets["tags"] = _facet(
            "TagsRunFacet",
            tags=[
                {"key": name, "value": value, "source": "lineage"}
                for name, value in sorted(run.tags.items())
            ],
        )
    return facets


def _job_facets(run: RunInfo, settings: Settings) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "jobType": _facet(
            "JobTypeJobFacet", processingType="BATCH", integration="LINEAGE", jobType="STEP"
        ),
    }
    if run.git_commit and settings.source_url:
        facets["sourceCodeLocation"] = _facet(
            "SourceCodeLocationJobFacet",
            type="git",
            url=settings.source_url,
            repoUrl=settings.source_url,
            version=run.git_commit,
        )
    return facets


def _dataset_facets(artifact: ArtifactInfo) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "version": _facet("DatasetVersionDatasetFacet", datasetVersion=artifact.hash)
    }
    if artifact.kind == "table" and artifact.schema:
        fields = json.loads(artifact.schema)
        facets["schema"] = _facet(
            "SchemaDatasetFacet",
            fields=[{"name": f["name"], "type": f["type"]} for f in fields],
        )
    return facets


def _input(artifact: ArtifactInfo, record: RunRecord, settings: Settings) -> dict[str, Any]:
    source = record.sources.get(artifact.source_run_id or "")
    # The slot it was taken from: the producing run's STEP.VALUE and the output's own name
    # (an input may be asked for qualified, "transactions/data"). No known producer: the hash.
    name = f"{job_name(*source)}/{artifact.name.rpartition('/')[2]}" if source else artifact.hash
    return {"namespace": settings.namespace, "name": name, "facets": _dataset_facets(artifact)}


def _output(artifact: ArtifactInfo, run: RunInfo, settings: Settings) -> dict[str, Any]:
    statistics: dict[str, Any] = {"size": artifact.size}
    if artifact.rows is not None:
        statistics["rowCount"] = artifact.rows
    return {
        "namespace": settings.namespace,
        "name": f"{job_name(run.step, run.value)}/{artifact.name}",
        "facets": _dataset_facets(artifact),
        "outputFacets": {
            "outputStatistics": _facet("OutputStatisticsOutputDatasetFacet", **statistics)
        },
    }


# -- streaming --------------------------------------------------------------------------------


def merge(records: Iterable[RunRecord], settings: Settings) -> Iterator[dict[str, Any]]:
    """Yield the events of runs given in start order, sorted by event time.

    A run's end waits in a heap until the next start is later, so only the runs still going
    at that moment are held; ties put an end before a later run's start (it happened first
    or at the same instant), and are broken by start time, then id, so output is stable.
    """
    ending: list[tuple[datetime, datetime, str, dict[str, Any]]] = []
    for record in records:
        started = record.run.started_at
        while ending and ending[0][0] <= started:
            yield heapq.heappop(ending)[3]
        start, end = run_events(record, settings)
        yield start
        if end is not None:
            heapq.heappush(ending, (end_time(record.run), started, record.run.id, end))
    while ending:
        yield heapq.heappop(ending)[3]


def iter_events(
    catalog: Catalog,
    settings: Settings,
    *,
    runs: Sequence[RunInfo] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = PAGE,
    progress: Progress | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the events of ``runs`` (default: every run started in ``[since, until)``).

    Without ``runs`` the catalog is read a page at a time in start order: memory stays flat
    whatever the number of runs. ``progress`` gets (runs done, runs in all) after each page.
    """
    total = len(runs) if runs is not None else catalog.count_runs(since=since, until=until)
    yield from merge(_records(catalog, runs, since, until, page, total, progress), settings)


def _records(
    catalog: Catalog,
    runs: Sequence[RunInfo] | None,
    since: datetime | None,
    until: datetime | None,
    page: int,
    total: int,
    progress: Progress | None,
) -> Iterator[RunRecord]:
    done = 0
    if runs is not None:
        ordered = sorted(runs, key=lambda r: (r.started_at, r.id))
        pages: Iterator[list[RunInfo]] = (
            ordered[i : i + page] for i in range(0, len(ordered), page)
        )
    else:
        pages = _pages(catalog, since, until, page)
    for batch in pages:
        yield from load_records(catalog, batch)
        done += len(batch)
        if progress:
            progress(done, total)


def _pages(
    catalog: Catalog, since: datetime | None, until: datetime | None, page: int
) -> Iterator[list[RunInfo]]:
    after: tuple[datetime, str] | None = None
    while True:
        batch = catalog.runs_by_start(after=after, since=since, until=until, limit=page)
        if not batch:
            return
        yield batch
        after = (batch[-1].started_at, batch[-1].id)


def dumps(event: dict[str, Any]) -> bytes:
    """Serialize one event as compact JSON (the same event always gives the same bytes)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def write_jsonl(events: Iterable[dict[str, Any]], out: IO[bytes]) -> int:
    """Write events as JSON lines to a binary file; return how many were written."""
    count = 0
    for event in events:
        out.write(dumps(event) + b"\n")
        count += 1
    return count
