"""The library behind the CLI: one function here per command (``lineage.search`` ...).

Functions take the strings a person types (refs, times, filters, URLs), open the project, call
the module that does the work, and return values; they never print. The CLI is a thin face
over them, and a Python caller gets the same behaviour without it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from lineage import times
from lineage.errors import InvalidFilter, LineageError, UsageError

# Whatever reaches the database is imported where it is used: the CLI builds its options from
# this module, and `lineage --help` must not pay for SQLAlchemy (benchmarks/bench_cli.py).
if TYPE_CHECKING:
    from lineage.catalog import ArtifactInfo, RunInfo
    from lineage.configuration import Info
    from lineage.details import MetricHistory, RunDetails
    from lineage.drawing import Graph
    from lineage.gc import GcReport
    from lineage.remove import RemovePlan
    from lineage.resolver import Chain, Event
    from lineage.session import Session
    from lineage.verify import VerifyReport
    from lineage.walks import Audit, Impact

Progress = Callable[[int, int], None]  # (done, total)
# A LIMIT both SQLite and PostgreSQL take (a 64-bit one overflows SQLite's driver).
MAX_LIMIT = 2**31 - 1
OnOutput = Callable[[str, str], None]  # (run label, line of the step's output)

_METRIC = re.compile(
    r"^\s*(?P<name>[^<>=!\s][^<>=!]*?)\s*(?P<op>>=|<=|==|!=|>|<|=)\s*(?P<value>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*$"
)


def session(catalog: str | None = None, store: str | None = None) -> Session:
    """Open the project around the current folder; a missing project is a usage error."""
    # The one place above the SDK that opens a project. (At merge this import moves to
    # lineage.session; lineage.run keeps re-exporting open_session.)
    from lineage.session import open_session

    return open_session(catalog, store, required=True, create=False)


# -- init, info -------------------------------------------------------------------------------


@dataclass
class InitResult:
    """What ``lineage init`` made."""

    root: Path
    catalog_url: str
    store_url: str
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def init(
    path: str | Path = ".",
    *,
    example: bool = False,
    catalog: str | None = None,
    store: str | None = None,
) -> InitResult:
    """Create the catalog and store of a project at ``path`` (and an example pipeline)."""
    from lineage.catalog import Catalog
    from lineage.errors import FileError
    from lineage.project import STATE_DIR, load_project
    from lineage.store import Store

    root = Path(path).resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / STATE_DIR).mkdir(exist_ok=True)
    except OSError as error:
        raise FileError(
            f"cannot create the project in {str(root)!r}: {error.strerror}: choose a folder "
            "you can write to"
        ) from None
    result = InitResult(root, "", "")
    if example:
        from lineage.example import write_example

        result.written, result.kept = write_example(root)
    project = load_project(catalog, store, root, required=False)
    Catalog(project.catalog_url, create=True).close()
    store_ = Store(project.store_url, **project.store_options)
    if store_.local:
        try:
            Path(store_.root).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise FileError(f"cannot create the store {store_.root!r}: {error.strerror}") from None
    else:
        # init makes no bucket (who may, and where, is the team's call), but says so now
        # rather than at the first upload.
        import warnings

        from lineage.configuration import check_store
        from lineage.errors import LineageWarning

        found = check_store(project.store_url, project.store_options)
        if not found.reachable:
            warnings.warn(f"store {found.url}: {found.error}", LineageWarning, stacklevel=2)
    result.catalog_url = project.catalog_url
    result.store_url = project.store_url
    return result


def info(catalog: str | None = None, store: str | None = None) -> Info:
    """Return the configuration in effect around the current folder, checking both ends."""
    from lineage import configuration

    return configuration.check(catalog, store)


def declared_keys() -> dict[str, list[str]]:
    """Return the keys lineage.toml around the current folder declares, with their steps.

    Cheap (no database), so the CLI can offer them as options; a broken lineage.toml declares
    nothing here and is reported by whatever command then reads it.
    """
    pipeline = _declared_pipeline()
    return pipeline.keys() if pipeline else {}


def declared_times() -> dict[str, str]:
    """Return the time names lineage.toml around the current folder declares: ``{time: step}``."""
    pipeline = _declared_pipeline()
    return {pipeline.steps[n].time: n for n in pipeline.order} if pipeline else {}


def _declared_pipeline() -> Any:
    from lineage.pipeline import load_pipeline
    from lineage.project import find_root

    try:
        root = find_root()
        return load_pipeline(root) if root else None
    except Exception:  # a broken lineage.toml is reported by the command itself, not by --help
        return None


# -- runs, show, artifacts get ----------------------------------------------------------------


def parse_metric_filter(text: str) -> tuple[str, str, float]:
    """Parse ``auc>0.9`` into ``("auc", ">", 0.9)``; anything else is an InvalidFilter."""
    from lineage.catalog import METRIC_OPERATORS

    match = _METRIC.match(text)
    if not match:
        raise InvalidFilter(
            f"metric filter {text!r} is not a comparison: use NAME OP NUMBER with OP one of "
            f"{' '.join(METRIC_OPERATORS)}, such as 'auc>0.9'"
        )
    return match["name"].strip(), match["op"], float(match["value"])


def parse_param_filter(text: str) -> tuple[str, str]:
    """Parse ``name=value`` into a pair; anything else is an InvalidFilter."""
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise InvalidFilter(f"param filter {text!r} is not NAME=VALUE, such as 'fill=mean'")
    return name.strip(), value


def search(
    *,
    step: str | None = None,
    keys: dict[str, str] | None = None,
    on: str | None = None,
    since: str | None = None,
    until: str | None = None,
    status: str | None = None,
    params: list[str] | None = None,
    metrics: list[str] | None = None,
    limit: int | None = 50,
    before: tuple[datetime, str] | None = None,
    reap: bool = True,
    catalog: str | None = None,
) -> list[RunInfo]:
    """Search runs by type and date, newest first, as ``lineage runs`` does.

    ``before`` pages: only runs older than this ``(time, run id)``, the last run of a page.
    ``reap=False`` leaves runs whose process died as ``running`` (a reader that must not
    write, such as the web UI).
    """
    from lineage import liveness
    from lineage.catalog import STATUSES, Filters
    from lineage.details import spelled, with_values
    from lineage.names import check_names, known_keys, match_key
    from lineage.pipeline import load_pipeline

    s = session(catalog)
    root = s.project.root
    keys = dict(keys or {})
    named = bool(keys or step)
    # A broken lineage.toml warns and is left out: it must not hide what was recorded.
    pipeline = load_pipeline(root, lenient=True)
    if pipeline is not None:
        keys = {match_key(key, pipeline.keys()): value for key, value in keys.items()}
    try:
        if status is not None and status not in STATUSES:
            raise UsageError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
        if limit is not None and not 0 <= limit <= MAX_LIMIT:
            raise UsageError(f"limit must be 0 (no limit) or up to {MAX_LIMIT} runs, not {limit}")
        filters = Filters(
            step=step,
            keys=keys,
            window=times.parse_window(on) if on else None,
            since=times.parse_window(since).start if since else None,
            until=times.parse_window(until).end if until else None,
            status=status,
            params=[spelled(parse_param_filter(p), pipeline, step) for p in params or []],
            metrics=[parse_metric_filter(m) for m in metrics or []],
            limit=limit or None,
            before=before,
        )
    except LineageError:
        if named:  # an unknown step or key is reported before any other bad input
            check_names(s.catalog, root, step, keys)
        raise
    # A run whose process died is shown killed, not running forever.
    if reap:
        liveness.reap(s.catalog)
    found = s.catalog.search(filters)
    # A run found has this step and key (both are conditions of the search), so only an empty
    # result needs the names checked: a typo is then an error, not "no runs match". Checking
    # up front cost a read transaction per search (benchmarks/bench_search.py).
    if not found and named:
        # A key recorded only in the catalog may be spelled with '-' where the option had '_'.
        known = known_keys(s.catalog, root)
        respelled = {match_key(key, known): value for key, value in keys.items()}
        if respelled != keys:
            filters.keys = keys = respelled
            found = s.catalog.search(filters)
        if not found:
            check_names(s.catalog, root, step, keys)
    return with_values(found, pipeline)


def show(ref: str, *, reap: bool = True, catalog: str | None = None) -> RunDetails:
    """Return a run named by a ref with its inputs, outputs, upstream and downstream runs.

    ``reap=False`` reads only, as ``search`` does.
    """
    from lineage import details, liveness
    from lineage.pipeline import load_pipeline

    s = session(catalog)
    if reap:
        liveness.reap(s.catalog)
    return details.details(s.catalog, ref, load_pipeline(s.project.root, lenient=True))


def metric_history(ref: str, name: str, *, catalog: str | None = None) -> MetricHistory:
    """Return every point (step, value, time) logged for metric ``name`` of the run ``ref``."""
    from lineage import details

    return details.metric_history(session(catalog).catalog, ref, name)


def find_artifact(spec: str, *, catalog: str | None = None) -> ArtifactInfo:
    """Return the artifact ``REF:NAME`` names, or a hash (``xxh128:9a4f...``, or a hex prefix)."""
    from lineage import fetch

    return fetch.find_artifact(session(catalog).catalog, spec)


def get_artifact(
    spec: str,
    output: str | Path | BinaryIO,
    *,
    force: bool = False,
    catalog: str | None = None,
    store: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[ArtifactInfo, Path | None]:
    """Fetch the artifact ``REF:NAME`` (or a hash) to ``output``, verifying its hash.

    ``output`` is a path, or a binary stream (a file or a table; the bytes reach it only once
    they hashed right). An existing file or folder there is replaced only with ``force``; the
    folder that is to hold ``output`` must exist. Returns the artifact and the path written.
    """
    from lineage import fetch

    s = session(catalog, store)
    artifact = fetch.find_artifact(s.catalog, spec)
    if not isinstance(output, (str, os.PathLike)):
        fetch.stream(s.store, artifact, output, s.project.state_dir, progress)
        return artifact, None
    return artifact, fetch.fetch(s.store, artifact, Path(output), force=force, progress=progress)


# -- resolve, run -----------------------------------------------------------------------------


def resolve(
    keys: dict[str, str],
    *,
    params: list[str] | None = None,
    pins: dict[str, str] | None = None,
    rerun: list[str] | None = None,
    allow_stale_code: bool = False,
    dry_run: bool = False,
    no_launch: bool = False,
    jobs: int = 1,
    on_output: OnOutput | None = None,
    on_event: Event | None = None,
    catalog: str | None = None,
    store: str | None = None,
) -> Chain:
    """Resolve the newest coherent chain for ``keys`` (``{"table": "transactions", ...}``).

    Returns a ``lineage.resolver.Chain``; raises StepFailed / NoChain (carrying ``.chain``).
    """
    from lineage import resolver

    return resolver.resolve(
        session(catalog, store),
        keys,
        params=params or [],
        pins=pins,
        rerun=rerun or [],
        allow_stale_code=allow_stale_code,
        dry_run=dry_run,
        no_launch=no_launch,
        jobs=jobs,
        on_output=on_output,
        on_event=on_event,
    )


def run_step(
    step: str,
    keys: dict[str, str],
    *,
    params: list[str] | None = None,
    on_output: OnOutput | None = None,
    catalog: str | None = None,
    store: str | None = None,
) -> RunInfo:
    """Launch one step now (``lineage run``); return its finished run."""
    from lineage import resolver

    return resolver.run_step(
        session(catalog, store), step, keys, params=params or [], on_output=on_output
    )


# -- audit, impact, graph ---------------------------------------------------------------------


def audit(
    ref: str,
    *,
    verify: bool = False,
    catalog: str | None = None,
    store: str | None = None,
    progress: Progress | None = None,
) -> Audit:
    """Walk upstream from a run or an artifact to its data versions, as ``lineage audit`` does.

    ``verify`` re-hashes every stored object on the way; ``progress`` is called with the
    number of objects checked so far and the number to check.
    """
    from lineage import walks

    s = session(catalog, store)
    return walks.audit(s.catalog, ref, verify_in=s.store if verify else None, progress=progress)


def impact(ref: str, *, catalog: str | None = None) -> Impact:
    """Walk downstream from a run or a data version (a hash), as ``lineage impact`` does."""
    from lineage import walks

    return walks.impact(session(catalog).catalog, ref)


def graph(ref: str | None = None, *, catalog: str | None = None) -> Graph:
    """Return the lineage around a run or artifact, or without a ref the catalog's step graph."""
    from lineage import drawing

    s = session(catalog)
    if ref is None:
        return drawing.step_graph(s.catalog, s.project.root)
    return drawing.lineage_graph(s.catalog, ref)


# -- verify, rm, gc, db -----------------------------------------------------------------------


def verify(
    ref: str | None = None,
    *,
    catalog: str | None = None,
    store: str | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Re-hash every recorded object, or those of run ``ref`` and its upstream runs."""
    from lineage import verify as verifying

    s = session(catalog, store)
    run_id = s.catalog.resolve(ref).id if ref else None
    return verifying.verify(s.catalog, s.store, run_id, progress)


def plan_remove(
    ref: str, *, cascade: bool = False, catalog: str | None = None, store: str | None = None
) -> RemovePlan:
    """Return the runs ``lineage rm REF`` would delete; refuse when others depend on it."""
    from lineage import remove as removing

    return removing.plan_remove(session(catalog, store).catalog, ref, cascade=cascade)


def remove(plan: RemovePlan, *, catalog: str | None = None, store: str | None = None) -> int:
    """Delete the runs of a plan; return how many were deleted."""
    from lineage import remove as removing

    return removing.remove(session(catalog, store).catalog, plan)


def rm(
    ref: str, *, cascade: bool = False, catalog: str | None = None, store: str | None = None
) -> list[str]:
    """Delete run ``ref`` (and, with ``cascade``, the runs depending on it); return their ids."""
    plan = plan_remove(ref, cascade=cascade, catalog=catalog, store=store)
    remove(plan, catalog=catalog, store=store)
    return [r.id for r in plan.runs]


def gc(
    *,
    dry_run: bool = False,
    grace: str | float | None = None,
    catalog: str | None = None,
    store: str | None = None,
    progress: Progress | None = None,
) -> GcReport:
    """Remove the objects no remaining run refers to (older than ``grace``: 30s, 1h, ...)."""
    from lineage import gc as collecting

    s = session(catalog, store)
    if grace is None:
        seconds = float(collecting.GRACE_SECONDS)
    elif isinstance(grace, str):
        seconds = times.parse_duration(grace).total_seconds()
    else:
        seconds = float(grace)
    return collecting.gc(s.catalog, s.store, dry_run=dry_run, grace=seconds, progress=progress)


def db_upgrade(*, catalog: str | None = None) -> tuple[str | None, str]:
    """Upgrade the catalog's schema to this version's head; return (before, after)."""
    from lineage.catalog import upgrade_schema
    from lineage.project import load_project

    project = load_project(catalog, None, required=True)
    return upgrade_schema(project.catalog_url)


def db_status(*, catalog: str | None = None) -> dict[str, Any]:
    """Return the catalog's schema revision, the head revision, and whether it is current."""
    from lineage import schema
    from lineage.catalog import schema_revision
    from lineage.project import load_project
    from lineage.urls import shown_url

    project = load_project(catalog, None, required=True)
    revision = schema_revision(project.catalog_url)
    return {
        "catalog": shown_url(project.catalog_url),
        "revision": revision,
        "head": schema.HEAD,
        "current": revision == schema.HEAD,
    }


def export_openlineage(
    refs: Sequence[str] = (),
    *,
    upstream: bool = False,
    since: str | None = None,
    until: str | None = None,
    out: str | Path | IO[bytes] | None = None,
    url: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    catalog: str | None = None,
) -> Any:
    """Write OpenLineage run events (JSON lines, sorted by event time) or POST them to ``url``.

    ``refs`` name runs to export (with every run upstream of them when ``upstream``); none
    means every run that started in ``[since, until)``. ``out`` is a path or a binary stream
    (default: standard output). Returns an ``openlineage.ExportResult``.
    """
    from lineage.interchange import export, openlineage

    s = session(catalog)
    settings = openlineage.settings_for(s.project.root, s.project.config)
    start = times.parse_window(since).start if since else None
    end = times.parse_window(until).end if until else None
    runs = None
    if refs:
        ids = [s.catalog.resolve(ref).id for ref in refs]
        if upstream:
            ids = s.catalog.upstream_closure(ids)
        runs = [
            run
            for run in s.catalog.get_runs(list(dict.fromkeys(ids)))
            if (start is None or run.started_at >= start) and (end is None or run.started_at < end)
        ]
    elif upstream:
        raise UsageError("exporting the runs upstream needs the refs of the runs to start from")
    target = Path(out) if isinstance(out, str) and out != "-" else out
    if target == "-":
        target = None
    return export.export(
        s.catalog,
        settings,
        runs=runs,
        since=start,
        until=end,
        out=target,  # type: ignore[arg-type]
        url=url,
        progress=progress,
    )


def flush_openlineage(
    *,
    url: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    catalog: str | None = None,
) -> Any:
    """Send the events waiting in the project's OpenLineage spool now; return what was sent."""
    from lineage.interchange import spool

    s = session(catalog)
    return spool.flush(s.project.state_dir, s.project.config, url=url, progress=progress)


def import_mlflow(
    tracking_uri: str,
    steps: Sequence[str],
    *,
    after: Sequence[str] = (),
    artifacts: bool = False,
    dry_run: bool = False,
    jobs: int = 4,
    progress: Callable[[int, int], None] | None = None,
    catalog: str | None = None,
    store: str | None = None,
) -> Any:
    """Import the runs of MLflow experiments as runs of steps (``EXPERIMENT=STEP:KEY:TIME``).

    Returns an ``interchange.mlflow.ImportReport`` (runs imported or found, problems).
    """
    from lineage.interchange import mlflow

    if jobs < 1:
        raise UsageError(f"jobs must be 1 or more, not {jobs}")
    maps = [mlflow.StepMap.parse(text) for text in steps]
    return mlflow.import_mlflow(
        session(catalog, store),
        tracking_uri,
        maps,
        after=mlflow.parse_after(after, maps),
        artifacts=artifacts,
        dry_run=dry_run,
        jobs=jobs,
        progress=progress,
    )
