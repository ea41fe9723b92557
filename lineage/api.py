"""The library behind the CLI: each command is one function here (``lineage.search`` ...).

Functions take the strings a person types (times, filters, refs), parse them, and return plain
values; they never print.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from lineage import times
from lineage.catalog import METRIC_OPERATORS, STATUSES, ArtifactInfo, Filters, RunInfo
from lineage.errors import InvalidFilter, LineageError, NotFound, UsageError
from lineage.run import Session, open_session

_METRIC = re.compile(
    r"^\s*(?P<name>[^<>=!\s][^<>=!]*?)\s*(?P<op>>=|<=|==|!=|>|<|=)\s*(?P<value>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*$"
)

# A LIMIT both SQLite and PostgreSQL take (a 64-bit one overflows SQLite's driver).
MAX_LIMIT = 2**31 - 1


def session(catalog: str | None = None, store: str | None = None) -> Session:
    """Open the project around the current folder; a missing project is a usage error."""
    return open_session(catalog, store, required=True, create=False)


def parse_metric_filter(text: str) -> tuple[str, str, float]:
    """Parse ``auc>0.9`` into ``("auc", ">", 0.9)``; anything else is an InvalidFilter."""
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


def known_keys(s: Session) -> dict[str, list[str]]:
    """Return every key name declared in lineage.toml or recorded, with the steps using it."""
    from lineage.pipeline import load_pipeline

    keys: dict[str, set[str]] = {k: set(v) for k, v in s.catalog.key_names().items()}
    pipeline = load_pipeline(s.project.root, lenient=True)
    if pipeline is not None:
        for key, steps in pipeline.keys().items():
            keys.setdefault(key, set()).update(steps)
    return {k: sorted(v) for k, v in sorted(keys.items())}


def match_key(name: str, known: dict[str, list[str]] | list[str]) -> str:
    """Return the known key that ``name`` spells, treating '-' and '_' alike, as options do."""
    if name in known:
        return name
    wanted = name.replace("-", "_")
    return next((key for key in known if key.replace("-", "_") == wanted), name)


def _check_search_names(s: Session, step: str | None, keys: dict[str, str]) -> None:
    """Refuse a step or key that neither lineage.toml nor the catalog knows.

    A known name costs an index seek (or lineage.toml alone); only an unknown one lists every
    name the catalog holds, a scan that grew with the catalog when it ran on every search.
    """
    from lineage.pipeline import load_pipeline

    pipeline = load_pipeline(s.project.root, lenient=True)
    declared_keys = pipeline.keys() if pipeline is not None else {}
    step_known = False
    for key in keys:
        if key in declared_keys:
            continue
        if s.catalog.has_key(key, step):
            step_known = step is not None  # a run of this step with this key: the step exists
            continue
        if step is not None and s.catalog.has_key(key):
            continue
        known = known_keys(s)
        if key not in known:
            listed = ", ".join(known) or "none yet"
            raise UsageError(f"unknown key {key!r}: known keys are {listed}")
    if step is not None:
        declared_steps = pipeline.steps if pipeline is not None else {}
        if step_known or step in declared_steps or s.catalog.has_step(step):
            return
        steps = set(s.catalog.step_names()) | set(declared_steps)
        raise UsageError(
            f"unknown step {step!r}: known steps are {', '.join(sorted(steps)) or 'none yet'}"
        )


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
    catalog: str | None = None,
) -> list[RunInfo]:
    """Search runs by type and date, newest first, as ``lineage runs`` does."""
    s = session(catalog)
    keys = dict(keys or {})
    named = bool(keys or step)
    from lineage import liveness
    from lineage.pipeline import load_pipeline

    pipeline = load_pipeline(s.project.root, lenient=True)
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
            params=[_typed_filter(parse_param_filter(p), pipeline, step) for p in params or []],
            metrics=[parse_metric_filter(m) for m in metrics or []],
            limit=limit or None,
        )
    except LineageError:
        if named:  # an unknown step or key is reported before any other bad input
            _check_search_names(s, step, keys)
        raise
    # A run whose process died is shown killed, not running forever.
    liveness.reap(s.catalog)
    found = s.catalog.search(filters)
    # A run found has this step and key (both are conditions of the search), so only an empty
    # result needs the names checked: a typo is then an error, not "no runs match". Checking
    # up front cost a read transaction per search (benchmarks/bench_search.py).
    if not found and named:
        # A key recorded only in the catalog may be spelled with '-' where the option had '_'.
        respelled = {match_key(key, known_keys(s)): value for key, value in keys.items()}
        if respelled != keys:
            filters.keys = keys = respelled
            found = s.catalog.search(filters)
        if not found:
            _check_search_names(s, step, keys)
    return _with_values(found, pipeline)


def _typed_filter(
    pair: tuple[str, str], pipeline: Any, step: str | None
) -> tuple[str, tuple[str, ...]]:
    """Match a parameter by value: ``C=.5`` finds the runs recorded with ``C=0.5``."""
    from lineage.pipeline import param_spellings

    name, text = pair
    steps = [] if pipeline is None else list(pipeline.steps.values())
    specs = [s.params[name] for s in steps if name in s.params and step in (None, s.name)]
    return name, param_spellings(text, specs)


def _with_values(runs: list[RunInfo], pipeline: Any) -> list[RunInfo]:
    """Give each run its params as typed values, by lineage.toml's types where it has them."""
    from lineage.pipeline import typed_params

    for run in runs:
        declared = pipeline.steps.get(run.step) if pipeline is not None else None
        run.param_values = typed_params(run.params, declared.params if declared else None)
    return runs


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


def show(ref: str, *, catalog: str | None = None) -> RunDetails:
    """Return a run named by a ref with its inputs, outputs, upstream and downstream runs."""
    from lineage import liveness

    s = session(catalog)
    liveness.reap(s.catalog)
    run = s.catalog.resolve(ref)
    from lineage.pipeline import load_pipeline

    _with_values([run], load_pipeline(s.project.root, lenient=True))
    return RunDetails(
        run=run,
        inputs=s.catalog.inputs(run.id),
        outputs=s.catalog.outputs(run.id),
        upstream=s.catalog.get_runs(s.catalog.upstream_ids(run.id), details=False),
        downstream=s.catalog.get_runs(s.catalog.downstream_ids(run.id), details=False),
    )


@dataclass
class MetricHistory:
    """Every value logged for one metric of a run, oldest first."""

    run: RunInfo
    name: str
    points: list[tuple[int | None, float, Any]]  # (step, value, time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run.id,
            "metric": self.name,
            "points": [
                {"step": step, "value": value, "time": times.format_precise(moment)}
                for step, value, moment in self.points
            ],
        }


def metric_history(ref: str, name: str, *, catalog: str | None = None) -> MetricHistory:
    """Return every point (step, value, time) logged for metric ``name`` of the run ``ref``."""
    s = session(catalog)
    run = s.catalog.resolve(ref)
    points = s.catalog.metric_history(run.id, name)
    if not points:
        logged = ", ".join(sorted(run.metrics)) or "none"
        raise NotFound(f"run {run.label} has no metric {name!r} (its metrics: {logged})")
    return MetricHistory(run, name, [(step, value, moment) for value, step, moment in points])


def find_artifact(spec: str, *, catalog: str | None = None) -> ArtifactInfo:
    """Return the artifact ``REF:NAME`` names, or a hash (``xxh128:9a4f...``, or a hex prefix)."""
    from lineage import refs
    from lineage.errors import Ambiguous

    s = session(catalog)
    if refs.is_hash(spec) or _HEX_PREFIX.match(spec):
        # A bare hex prefix names an artifact here, as it does for audit and impact: a run
        # alone (no :NAME) is no artifact.
        prefix = spec if refs.is_hash(spec) else f"xxh128:{spec.lower()}"
        matches = s.catalog.find_artifacts(prefix)
        if len(matches) > 1:
            raise Ambiguous(f"{spec!r} matches more than one artifact: give more of the hash")
        if not matches:
            # Without this, the hash fell through to REF:NAME and blamed a step named 'xxh128'.
            raise NotFound(
                f"no artifact has a hash starting with {spec!r}: copy one from `lineage show REF`"
            )
        return matches[0]
    ref, name = refs.split_artifact_ref(spec)
    run = s.catalog.resolve(ref)
    outputs = {a.name: a for a in s.catalog.outputs(run.id)}
    if name not in outputs:
        offered = ", ".join(sorted(outputs)) or "nothing"
        raise NotFound(f"run {run.label} has no output {name!r} (its outputs: {offered})")
    return outputs[name]


_HEX_PREFIX = re.compile(r"^[0-9a-fA-F]{4,32}$")


def get_artifact(
    spec: str,
    output: str | Path | BinaryIO,
    *,
    force: bool = False,
    catalog: str | None = None,
    store: str | None = None,
    progress: Any = None,
) -> tuple[ArtifactInfo, Path | None]:
    """Fetch the artifact ``REF:NAME`` (or a hash) to ``output``, verifying its hash.

    ``output`` is a path, or a binary stream (a file or a table; the bytes reach it only once
    they hashed right). An existing file or folder there is replaced only with ``force``; the
    folder that is to hold ``output`` must exist. Returns the artifact and the path written.
    """
    s = session(catalog, store)
    artifact = find_artifact(spec, catalog=catalog)
    if not isinstance(output, (str, os.PathLike)):
        _stream_artifact(s, artifact, output, progress)
        return artifact, None
    target = Path(output)
    _check_path_length(target)
    if artifact.kind != "folder" and target.is_dir():
        # `-o somewhere/` puts the file in that folder under its name, as cp does.
        target = target / (artifact.name or artifact.hash.partition(":")[2])
        _check_path_length(target)
    parent = target.absolute().parent
    if not parent.is_dir():
        from lineage.errors import FileError

        blocker = next((p for p in [parent, *parent.parents] if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise FileError(
                f"cannot write {str(target)!r}: {str(blocker)!r} is a file, not a folder"
            )
        # Never a folder made on the way: a typo in -o would leave a tree nobody asked for.
        raise FileError(
            f"cannot write {str(target)!r}: the folder {str(parent)!r} does not exist: create it "
            "first, or choose another path"
        )
    if os.path.lexists(target) and not force:
        from lineage.errors import OutputExists

        raise OutputExists(
            f"{str(target)!r} exists: choose another path, or overwrite it (force=True)",
            str(target),
        )
    try:
        if artifact.kind == "folder":
            s.store.get_folder(artifact.hash, target, progress)
        else:
            s.store.get_file(artifact.hash, target, progress)
    except OSError as error:
        raise LineageError(
            f"cannot write {str(target)!r}: {error.strerror or error}: choose another path"
        ) from None
    return artifact, target


def _check_path_length(target: Path) -> None:
    """Refuse a path the filesystem cannot hold, before anything is fetched."""
    limit = 255  # bytes in one name on every filesystem lineage runs on (ext4, xfs, apfs, tmpfs)
    whole = len(os.fsencode(str(target.absolute())))
    if whole >= 4096:
        raise UsageError(f"the output path is {whole} bytes long: a path holds at most 4095")
    for part in target.parts:
        if len(os.fsencode(part)) > limit:
            raise UsageError(
                f"the name {part[:40]!r}... in the output path is {len(os.fsencode(part))} "
                f"bytes long: a file name holds at most {limit}"
            )


def _stream_artifact(s: Session, artifact: ArtifactInfo, stream: BinaryIO, progress: Any) -> None:
    """Write an artifact's bytes to ``stream`` once they hashed right (a temp copy first)."""
    import shutil
    import tempfile

    if artifact.kind == "folder":
        raise UsageError(
            f"artifact {artifact.name or artifact.hash} is a folder: fetch it to a path"
        )
    state = s.project.state_dir if s.project.state_dir.is_dir() else None
    with tempfile.TemporaryDirectory(prefix="lineage-get-", dir=state) as folder:
        copy = s.store.get_file(artifact.hash, Path(folder) / "object", progress)
        with open(copy, "rb") as source:
            shutil.copyfileobj(source, stream)
        stream.flush()


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
    elif store_.protocol in ("s3", "s3a"):
        _warn_of_a_missing_bucket(store_)
    result.catalog_url = project.catalog_url
    result.store_url = project.store_url
    return result


def _warn_of_a_missing_bucket(store: Any) -> None:
    """Say at init, not at the first upload, that the store's bucket is not there.

    init creates no bucket (who may, and where, is the team's call), so it goes on.
    """
    import warnings

    from lineage.errors import LineageWarning
    from lineage.urls import mask_url

    bucket = store.root.split("/", 1)[0]
    try:
        there = store.fs.exists(bucket)
    except Exception as error:  # any fsspec backend's network or permission error
        reason = mask_url(str(error).strip().splitlines()[0] if str(error).strip() else "")
        warnings.warn(
            f"cannot reach the store {store.masked_url!r} ({reason or type(error).__name__}): "
            "check the endpoint and credentials before logging",
            LineageWarning,
            stacklevel=3,
        )
        return
    if not there:
        warnings.warn(
            f"bucket {mask_url(bucket)!r} of store {store.masked_url!r} does not exist: create "
            "it before logging (lineage does not create buckets)",
            LineageWarning,
            stacklevel=3,
        )


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
    on_output: Any = None,
    on_event: Any = None,
    catalog: str | None = None,
    store: str | None = None,
) -> Any:
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
    on_output: Any = None,
    catalog: str | None = None,
    store: str | None = None,
) -> RunInfo:
    """Launch one step now (``lineage run``); return its finished run."""
    from lineage import resolver

    return resolver.run_step(
        session(catalog, store), step, keys, params=params or [], on_output=on_output
    )
