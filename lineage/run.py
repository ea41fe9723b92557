"""The SDK's run handle: ``start_run``, ``log_*`` and ``input_*``.

Inside a step launched by ``lineage run`` / ``lineage resolve``, ``start_run()`` attaches to the
run the launcher made (``LINEAGE_RUN_ID``) and the launcher records how it ended. Outside a
launcher, ``start_run("load", table="transactions")`` records a run of its own and marks it
``finished``, or ``failed`` with the error when the block raises.

Params, metrics and tags are buffered and written in one transaction when the block ends (and
at most a second after they were logged while it runs), so logging costs a dict insert, not a
database round trip. Artifacts are written to the store and recorded at once.
"""

from __future__ import annotations

import contextvars
import os
import socket
import threading
import time as _time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage import provenance, times
from lineage.catalog import ArtifactInfo, ArtifactRecord, Catalog, RunInfo, Status
from lineage.errors import Ambiguous, NotFound, UsageError
from lineage.interchange import spool
from lineage.project import RUN_ID_ENV as RUN_ID_ENV
from lineage.provenance import git_state as git_state
from lineage.session import Session as Session
from lineage.session import _sessions as _sessions
from lineage.session import open_session as open_session
from lineage.store import Store, check_name

if TYPE_CHECKING:
    import pyarrow as pa

FLUSH_SECONDS = 1.0
_current: contextvars.ContextVar[ActiveRun | None] = contextvars.ContextVar(
    "lineage_current_run", default=None
)


class ActiveRun:
    """A run being recorded; use it as a context manager."""

    def __init__(self, session: Session, info: RunInfo, *, launched: bool) -> None:
        self._session = session
        self.info = info
        self.launched = launched
        self._params: dict[str, Any] = {}
        self._metrics: list[tuple[str, float, int | None, datetime]] = []
        self._tags: dict[str, str] = {}
        self._last_flush = _time.monotonic()
        self._token: contextvars.Token[ActiveRun | None] | None = None
        self._upstream: list[RunInfo] | None = None
        self.ended = False
        self._beating = _start_heartbeat(session.catalog, info.id)

    # -- identity -------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def step(self) -> str:
        return self.info.step

    @property
    def key(self) -> str:
        return self.info.key

    @property
    def value(self) -> str:
        return self.info.value

    @property
    def time(self) -> datetime:
        return self.info.time

    @property
    def identity(self) -> tuple[str, str, datetime]:
        """The typed identity ``(step, key value, time)``."""
        return (self.info.step, self.info.value, self.info.time)

    @property
    def catalog(self) -> Catalog:
        return self._session.catalog

    @property
    def store(self) -> Store:
        return self._session.store

    def __repr__(self) -> str:
        return f"<Run {self.info.short_id} {self.info.label}>"

    # -- context --------------------------------------------------------------------------

    def __enter__(self) -> ActiveRun:
        self._token = _current.set(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: Any
    ) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None
        if kind is None:
            self.end("finished")
        elif issubclass(kind, KeyboardInterrupt):
            self.end("killed", error="interrupted")
        else:
            self.end("failed", error=f"{kind.__name__}: {error}")

    def end(self, status: Status = "finished", *, error: str | None = None) -> None:
        """Write what is buffered and record how the run ended (the launcher owns its runs)."""
        if self.ended:
            return
        self.ended = True
        self._beating.set()
        if self.launched and status == "finished":
            # The launcher records the end from the exit code; just flush what was logged.
            self.flush()
            return
        self.catalog.end_run(
            self.id,
            status,
            error=error,
            params=self._params,
            metrics=self._metrics,
            tags=self._tags,
        )
        self._clear()
        if not self.launched:  # the launcher emits the end of its own runs
            spool.emit(self._session, self.id, ended=True)

    def flush(self) -> None:
        """Write buffered params, metrics and tags now."""
        if self._params or self._metrics or self._tags:
            self.catalog.flush(self.id, params=self._params, metrics=self._metrics, tags=self._tags)
        self._clear()

    def _clear(self) -> None:
        self._params, self._metrics, self._tags = {}, [], {}
        self._last_flush = _time.monotonic()

    def _maybe_flush(self) -> None:
        if _time.monotonic() - self._last_flush > FLUSH_SECONDS:
            self.flush()

    # -- logging --------------------------------------------------------------------------

    def log_param(self, name: str, value: Any) -> None:
        """Record a parameter (kept as text)."""
        self._params[_check_key(name, "parameter")] = value
        self._maybe_flush()

    def log_params(self, params: dict[str, Any]) -> None:
        """Record several parameters."""
        for name, value in params.items():
            self._params[_check_key(name, "parameter")] = value
        self._maybe_flush()

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Record a metric value, optionally at a step (iteration)."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise UsageError(f"metric {name!r} must be a number, not {value!r}") from None
        self._metrics.append((_check_key(name, "metric"), number, step, times.now()))
        self._maybe_flush()

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Record several metric values at once."""
        for name, value in metrics.items():
            self.log_metric(name, value, step)

    def set_tag(self, name: str, value: Any) -> None:
        """Attach a free-form label to the run."""
        self._tags[_check_key(name, "tag")] = str(value)
        self._maybe_flush()

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> str:
        """Store a file or folder as an output of this run; return its hash."""
        source = Path(path)
        name = check_name(name if name is not None else source.name)
        if source.is_dir():
            stored, _ = self.store.put_folder(source)
            artifact: ArtifactRecord = {
                "hash": stored.hash,
                "size": stored.size,
                "kind": "folder",
                "format": "manifest",
            }
        elif source.is_file():
            stored = self.store.put_file(source)
            artifact = {"hash": stored.hash, "size": stored.size, "kind": "file"}
        else:
            raise NotFound(f"no file or folder to log at {os.fspath(path)!r}: check the path")
        self.catalog.add_output(self.id, name, artifact)
        return stored.hash

    def log_table(self, name: str, data: Any) -> str:
        """Store a pyarrow Table or pandas DataFrame as Parquet under ``name``; return its hash."""
        from lineage import tables

        check_name(name)
        table = tables.to_arrow(data)
        path = tables.write_parquet(table)
        try:
            stored = self.store.put_file(path)
        finally:
            os.unlink(path)
        artifact: ArtifactRecord = {
            "hash": stored.hash,
            "size": stored.size,
            "kind": "table",
            "format": tables.FORMAT,
            "rows": table.num_rows,
            "schema": tables.describe_schema(table),
        }
        self.catalog.add_output(self.id, name, artifact)
        return stored.hash

    # -- inputs ---------------------------------------------------------------------------

    def upstream_runs(self) -> list[RunInfo]:
        """Return the runs this run was made from."""
        if self._upstream is None:
            ids = self.catalog.upstream_ids(self.id)
            self._upstream = self.catalog.get_runs(ids, details=False)
        return self._upstream

    def _find_input(self, name: str) -> tuple[ArtifactInfo, RunInfo]:
        qualifier, slash, output = name.rpartition("/")
        if not slash:
            qualifier, output = "", name
        candidates = self.upstream_runs()
        if (qualifier and ":" in qualifier) or (
            qualifier and not _matches_any(qualifier, candidates)
        ):
            # A ref as qualifier ("load:transactions/data") names a run outside the recorded
            # upstream, as a notebook does; it becomes upstream from now on.
            source = self.catalog.resolve(qualifier)
            candidates = [source]
            qualifier = ""
        elif qualifier:
            candidates = [r for r in candidates if qualifier in (r.value, r.step, r.id)]
        if not candidates:
            raise NotFound(
                f"run {self.info.label} has no upstream run to take {name!r} from: pass "
                "upstream=['load:transactions'] to start_run, or name a ref "
                "('load:transactions/data')"
            )
        outputs = self.catalog.outputs_of([r.id for r in candidates])
        found = [
            (artifact, run)
            for run in candidates
            for artifact in outputs[run.id]
            if artifact.name == output
        ]
        if not found:
            offered = sorted({f"{r.value}/{a.name}" for r in candidates for a in outputs[r.id]})
            raise NotFound(
                f"no upstream run offers {output!r} (offered: {', '.join(offered) or 'nothing'})"
            )
        if len(found) > 1:
            options = ", ".join(sorted(f"'{run.value}/{output}'" for _, run in found))
            raise Ambiguous(
                f"{len(found)} upstream runs offer {output!r}: use a qualified name ({options})"
            )
        return found[0]

    def _record_input(self, name: str, artifact: ArtifactInfo, source: RunInfo) -> None:
        data: ArtifactRecord = {"hash": artifact.hash, "size": artifact.size, "kind": artifact.kind}
        self.catalog.add_input(self.id, name, data, source_run_id=source.id)
        if self._upstream is not None and source.id not in {r.id for r in self._upstream}:
            self._upstream.append(source)

    def input_table(self, name: str) -> pa.Table:
        """Return an upstream output table as a pyarrow Table; record the input edge."""
        from lineage import tables

        artifact, source = self._find_input(name)
        if artifact.kind != "table":
            raise UsageError(
                f"{name!r} is a {artifact.kind}, not a table: use input_artifact({name!r})"
            )
        local = self.store.local_path(artifact.hash)
        if local is not None:
            table = tables.read_parquet(local)
        else:
            with self.store.open(artifact.hash) as f:
                table = tables.read_parquet(f)
        self._record_input(name, artifact, source)
        return table

    def input_artifact(self, name: str, target: str | os.PathLike[str] | None = None) -> Path:
        """Fetch an upstream output file or folder; record the input edge; return its path."""
        artifact, source = self._find_input(name)
        output = name.rpartition("/")[2]
        if target is None:
            target = self._session.project.state_dir / "inputs" / self.id / output
        if artifact.kind == "folder":
            path = self.store.get_folder(artifact.hash, target)
        else:
            path = self.store.get_file(artifact.hash, target)
        self._record_input(name, artifact, source)
        return Path(path)


def _start_heartbeat(catalog: Catalog, run_id: str) -> threading.Event:
    """Touch the run's heartbeat until the returned event is set.

    Another host cannot see this process: it takes a run whose heartbeat went quiet for a
    while as killed (see lineage.liveness), so a long quiet step must keep beating.
    """
    from lineage.liveness import HEARTBEAT_SECONDS

    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                catalog.heartbeat(run_id)
            except Exception:  # a missed beat is retried; the run itself must not fail for it
                continue

    threading.Thread(target=beat, name=f"lineage-heartbeat-{run_id[:8]}", daemon=True).start()
    return stop


def _matches_any(qualifier: str, runs: list[RunInfo]) -> bool:
    return any(qualifier in (r.value, r.step, r.id) for r in runs)


def _check_key(name: str, what: str) -> str:
    if not isinstance(name, str) or not name or len(name) > 250:
        raise UsageError(f"{what} name {name!r} must be a non-empty string of at most 250 chars")
    return name


_seen_keys: set[tuple[str, str]] = set()  # (catalog URL, key name) known to be recorded


def _check_key_spelling(catalog: Catalog, declared: dict[str, list[str]], key: str) -> None:
    """Refuse a new key name that differs from a known one only by '-' and '_'.

    Both would be the same command-line option (``--target-env``), so one of them could never
    be searched for. Only a key never seen before costs the scan of the known names.
    """
    from lineage.pipeline import option_name

    if key in declared or (catalog.url, key) in _seen_keys:
        return
    if catalog.has_key(key):
        # Once per process and key: a key name stays recorded (benchmarks/bench_logging.py
        # lost a fifth of its runs/s to this query on every start_run).
        _seen_keys.add((catalog.url, key))
        return
    spelled = option_name(key)
    known = set(declared) | set(catalog.key_names())
    clash = sorted(k for k in known if k != key and option_name(k) == spelled)
    if clash:
        raise UsageError(
            f"key {key!r} and the recorded key {clash[0]!r} differ only by '-' and '_', so both "
            f"would be one option --{spelled}: use {clash[0]!r}"
        )


def start_run(
    step: str | None = None,
    /,
    *,
    time: datetime | str | None = None,
    params: dict[str, Any] | None = None,
    upstream: str | Sequence[str] | None = None,
    catalog: str | None = None,
    store: str | None = None,
    **key: str,
) -> ActiveRun:
    """Start (or, inside a launched step, attach to) a run; use it as a context manager.

    ``start_run()`` inside a step launched by lineage attaches to the launcher's run.
    ``start_run("load", table="transactions")`` records a new run of step ``load`` whose key
    ``table`` has the value ``transactions``; ``upstream="load:transactions"`` (or a list of
    refs) names the runs it is made from, ``params`` the step's declared parameters.
    """
    run_id = os.environ.get(RUN_ID_ENV)
    if step is None:
        if not run_id:
            raise UsageError(
                "start_run() without a step only works inside a step launched by `lineage run` "
                "or `lineage resolve`: call start_run('load', table='transactions')"
            )
        session = open_session(catalog, store, create=False)
        info = session.catalog.get_run(run_id)
        return ActiveRun(session, info, launched=True)
    if len(key) != 1:
        raise UsageError(
            f"start_run({step!r}, ...) needs exactly one key, such as table='transactions' "
            f"(got {', '.join(key) or 'none'})"
        )
    ((key_name, key_value),) = key.items()
    from lineage.refs import check_key_value

    check_key_value(key_name, str(key_value))
    # Outside a project, as the CLI does: never a stray .lineage/ wherever a notebook runs.
    session = open_session(catalog, store, required=True)
    from lineage.pipeline import load_pipeline, params_hash

    pipeline = load_pipeline(session.project.root)
    code_hash = None
    declared: dict[str, Any] = dict(params or {})
    p_hash = None
    if pipeline is not None and pipeline.steps:
        spec = pipeline.step(step)
        if spec.key != key_name:
            raise UsageError(
                f"step {step!r} is keyed by {spec.key!r}, not {key_name!r}: "
                f"call start_run({step!r}, {spec.key}=...)"
            )
        declared = spec.resolve_params(params)
        p_hash = params_hash(declared)
        code_hash = pipeline.code_hash(step)
    if pipeline is None or step not in pipeline.steps:
        _check_key_spelling(session.catalog, pipeline.keys() if pipeline else {}, key_name)
    # One ref or a list of them: a bare string is never taken one character at a time.
    refs = [upstream] if isinstance(upstream, str) else list(upstream or [])
    upstream_ids = [session.catalog.resolve(ref).id for ref in refs]
    moment = times.parse_time(time) if isinstance(time, str) else time
    declared_code = pipeline.code_files(step) if pipeline and step in pipeline.steps else []
    commit, dirty = git_state(provenance.code_paths(session.project.root, declared_code))
    info = session.catalog.start_run(
        step,
        key_name,
        str(key_value),
        time=moment,
        params=declared,
        params_hash=p_hash,
        code_hash=code_hash,
        git_commit=commit,
        git_dirty=dirty,
        host=socket.gethostname(),
        user=provenance.user(),
        pid=os.getpid(),
        upstream=upstream_ids,
    )
    spool.emit(session, info.id, ended=False)
    return ActiveRun(session, info, launched=False)


def current_run() -> ActiveRun | None:
    """Return the run whose ``with`` block is executing, if any."""
    return _current.get()
