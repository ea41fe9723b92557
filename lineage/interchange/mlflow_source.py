"""Read an MLflow tracking store through MLflow's own client, and copy its artifacts in.

The one module that imports MLflow (the optional ``mlflow`` extra). It checks that the store
is there before MLflow touches it (MLflow would make an empty store at a wrong path, and
retry an unreachable server for minutes), and turns whatever MLflow raises into one line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from lineage.catalog import ArtifactRecord
from lineage.errors import InterchangeError, LineageError, NotFound, UsageError
from lineage.store import check_name
from lineage.urls import mask_url

if TYPE_CHECKING:
    from lineage.session import Session

INSTALL = "pip install 'lineage-catalog[mlflow]'"
PROBE_SECONDS = 10.0
PAGE = 1000


def open_source(uri: str) -> Source:
    """Check that the tracking store at ``uri`` is there and open MLflow's client on it."""
    if not uri or not uri.strip():
        raise UsageError("give the MLflow tracking URI, such as sqlite:///mlflow.db")
    uri = uri.strip()
    masked = mask_url(uri)
    # An import only reads: MLflow's usage reporting has nothing to say about it.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    scheme = urlsplit(uri).scheme
    if scheme == "sqlite":
        path = uri[len("sqlite:///") :] if uri.startswith("sqlite:///") else ""
        if not path or not os.path.isfile(path):
            raise InterchangeError(
                f"no MLflow store at {masked}: no such file; check the path "
                "(sqlite:///relative/mlflow.db or sqlite:////absolute/mlflow.db)"
            )
        # Recorded on every imported run: a path relative to where the import ran says nothing.
        uri = masked = f"sqlite:///{os.path.abspath(path)}"
    elif scheme in ("", "file"):
        folder = unquote(urlsplit(uri).path) if scheme == "file" else uri
        if not os.path.isdir(folder):
            raise InterchangeError(f"no MLflow store at {masked}: no such folder; check the path")
        # Old ./mlruns folders are what teams have; MLflow reads them only when allowed.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    elif scheme in ("http", "https"):
        _probe(uri, masked)
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise InterchangeError(f"importing from MLflow needs MLflow: {INSTALL}") from None
    # MLflow says at INFO level what it does with its database; only its problems matter here.
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    source = Source(uri, masked)
    with source.calling("open"):
        source.client = MlflowClient(tracking_uri=uri)
        source.client.search_experiments(max_results=1)
    return source


def _probe(uri: str, masked: str) -> None:
    """Ask the server one cheap question, once, with a timeout: MLflow would retry for minutes."""
    url = f"{uri.rstrip('/')}/api/2.0/mlflow/experiments/search?max_results=1"
    try:
        with urllib.request.urlopen(url, timeout=PROBE_SECONDS) as response:
            response.read(100)
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            raise InterchangeError(
                f"MLflow tracking server {masked} refused access (HTTP {error.code}): set "
                "MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD"
            ) from None
        raise InterchangeError(
            f"{masked} answered HTTP {error.code} to an MLflow request: is it an MLflow "
            "tracking server?"
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        text = getattr(reason, "strerror", None) or str(reason)
        raise InterchangeError(
            f"cannot reach MLflow tracking server {masked}: {text}: check that it is up and "
            "the URI is right"
        ) from None


class Source:
    """An MLflow tracking store, read through MLflow's client."""

    def __init__(self, uri: str, masked_uri: str) -> None:
        self.uri = uri
        self.masked_uri = masked_uri
        self.client: Any = None

    @contextlib.contextmanager
    def calling(self, what: str) -> Iterator[None]:
        """Turn anything MLflow raises while doing ``what`` into one InterchangeError line."""
        try:
            yield
        except LineageError:
            raise
        except Exception as error:
            text = str(error).strip().splitlines()
            reason = text[0] if text else type(error).__name__
            raise InterchangeError(
                f"cannot {what} MLflow store {self.masked_uri}: {reason}"
            ) from None

    def experiment_id(self, name: str) -> str:
        """Return the id of the experiment called ``name``; NotFound lists the ones there."""
        with self.calling("read"):
            experiment = self.client.get_experiment_by_name(name)
            if experiment is not None:
                return str(experiment.experiment_id)
            names = sorted(e.name for e in self.client.search_experiments(max_results=50))
        raise NotFound(
            f"no experiment {name!r} in MLflow store {self.masked_uri}: its experiments are "
            f"{', '.join(names) or 'none'}"
        )

    def runs(self, experiment_id: str) -> Iterator[Any]:
        """Yield the active runs of an experiment, oldest first, a page at a time."""
        token = None
        while True:
            with self.calling("read runs of"):
                page = self.client.search_runs(
                    [experiment_id],
                    order_by=["attributes.start_time ASC"],
                    max_results=PAGE,
                    page_token=token,
                )
            yield from page
            token = page.token
            if not token:
                return

    def artifacts(self, run_id: str) -> list[tuple[str, bool]]:
        """Return the top-level artifacts of a run: ``(path, is a folder)``."""
        with self.calling("list artifacts in"):
            return [(f.path, bool(f.is_dir)) for f in self.client.list_artifacts(run_id)]

    def metric_history(
        self, run_id: str, keys: list[str]
    ) -> list[tuple[str, float, int | None, datetime]]:
        """Return every value of every metric of a run: ``(name, value, step, time)``."""
        values = []
        with self.calling("read metrics from"):
            for key in keys:
                for m in self.client.get_metric_history(run_id, key):
                    moment = datetime.fromtimestamp(m.timestamp / 1000, UTC)
                    values.append((key, float(m.value), m.step, moment))
        return values

    def download(self, run_id: str, path: str, target: str) -> str:
        """Download one artifact (a file or a folder) of a run into ``target``."""
        with self.calling(f"download artifact {path!r} from"):
            return str(self.client.download_artifacts(run_id, path, target))


@dataclass(frozen=True)
class Fetch:
    """One artifact to copy in: which run records it, where MLflow keeps it."""

    run_id: str  # the lineage run that gets the output
    mlflow_run_id: str
    path: str
    is_dir: bool


def store_artifacts(
    session: Session,
    source: Source,
    fetches: list[Fetch],
    *,
    jobs: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, list[tuple[Fetch, str]]]:
    """Download artifacts, hash them into the store and record them as outputs of their runs.

    ``jobs`` downloads run at once; one that fails is returned with its error, the others go
    on. Returns how many were stored and the failures.
    """
    if not fetches:
        return 0, []
    downloads = session.project.state_dir / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    stored = done = 0
    failed: list[tuple[Fetch, str]] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_store_one, session, source, f, downloads): f for f in fetches}
        for future in as_completed(futures):
            try:
                future.result()
                stored += 1
            except LineageError as error:
                failed.append((futures[future], str(error)))
            done += 1
            if progress:
                progress(done, len(fetches))
    return stored, failed


def _store_one(session: Session, source: Source, fetch: Fetch, downloads: Path) -> None:
    name = check_name(fetch.path)
    target = tempfile.mkdtemp(prefix="mlflow-", dir=downloads)
    try:
        local = source.download(fetch.mlflow_run_id, fetch.path, target)
        artifact: ArtifactRecord
        if fetch.is_dir:
            folder, _ = session.store.put_folder(local)
            artifact = {
                "hash": folder.hash,
                "size": folder.size,
                "kind": "folder",
                "format": "manifest",
            }
        else:
            stored = session.store.put_file(local)
            artifact = {"hash": stored.hash, "size": stored.size, "kind": "file"}
        session.catalog.add_output(fetch.run_id, name, artifact)
    finally:
        shutil.rmtree(target, ignore_errors=True)
