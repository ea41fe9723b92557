"""Record and query runs, artifacts and edges. All the SQL of the catalog lives here.

Writes go through SQLAlchemy Core (one short transaction each); filters become SQL expressions,
never SQL text. On SQLite every connection gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` for
writes, so concurrent writers queue instead of failing with "database is locked".
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time as _time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from lineage import models, times
from lineage.errors import Ambiguous, CatalogError, NotFound, Refused
from lineage.pipeline import param_text
from lineage.urls import mask_url, shown_url

RUNS = models.Run.__table__
PARAMS = models.Param.__table__
METRICS = models.Metric.__table__
TAGS = models.Tag.__table__
ARTIFACTS = models.Artifact.__table__
OUTPUTS = models.Output.__table__
INPUTS = models.Input.__table__
UPSTREAM = models.Upstream.__table__
META = models.Meta.__table__
CLAIMS = models.Claim.__table__
# The run an edge points at; built once, since building an alias's columns is not free.
SOURCE = RUNS.alias("source")

# The write path's statements, built once: building a Core expression on every call cost
# about as much as executing it (benchmarks/bench_logging.py). An UPDATE without values()
# sets the columns named in its parameters.
_INSERT_RUN = RUNS.insert()
_INSERT_PARAMS = PARAMS.insert()
_INSERT_METRICS = METRICS.insert()
_INSERT_TAGS = TAGS.insert()
_INSERT_UPSTREAM = UPSTREAM.insert()
_UPDATE_RUN = RUNS.update().where(RUNS.c.id == sa.bindparam("b_run_id"))
_DELETE_PARAMS = PARAMS.delete().where(
    PARAMS.c.run_id == sa.bindparam("b_run_id"),
    PARAMS.c.name.in_(sa.bindparam("b_names", expanding=True)),
)
_DELETE_TAGS = TAGS.delete().where(
    TAGS.c.run_id == sa.bindparam("b_run_id"),
    TAGS.c.name.in_(sa.bindparam("b_names", expanding=True)),
)

# Is a step or key name known? LIMIT 1: the first match answers.
_HAS_STEP = sa.select(RUNS.c.id).where(RUNS.c.step == sa.bindparam("b_step")).limit(1)
_HAS_KEY = sa.select(RUNS.c.id).where(RUNS.c.key == sa.bindparam("b_key")).limit(1)
_HAS_STEP_KEY = (
    sa.select(RUNS.c.id)
    .where(RUNS.c.step == sa.bindparam("b_step"), RUNS.c.key == sa.bindparam("b_key"))
    .limit(1)
)


# The details of runs (params, metrics, tags), read after every search and get_run. The
# latest value of each metric (highest id) wins, as MLflow shows it.
def _detail_queries(run_ids: Callable[[sa.Table], Any]) -> tuple[sa.Select, ...]:
    return (
        # Names in a fixed order, so params and tags print the same on every backend.
        sa.select(PARAMS.c.run_id, PARAMS.c.name, PARAMS.c.value)
        .where(run_ids(PARAMS))
        .order_by(PARAMS.c.run_id, PARAMS.c.name),
        sa.select(METRICS.c.run_id, METRICS.c.name, METRICS.c.value)
        .where(run_ids(METRICS))
        .order_by(METRICS.c.id),
        sa.select(TAGS.c.run_id, TAGS.c.name, TAGS.c.value)
        .where(run_ids(TAGS))
        .order_by(TAGS.c.run_id, TAGS.c.name),
    )


_DETAILS_OF_MANY = _detail_queries(lambda t: t.c.run_id.in_(sa.bindparam("b_ids", expanding=True)))
# One run (get_run, a search with --limit 1) is the common case; an expanding IN (...) is
# rendered anew on every execution, a plain = is not (about 35 us of CPU a query).
_DETAILS_OF_ONE = _detail_queries(lambda t: t.c.run_id == sa.bindparam("b_id"))

STATUSES = ("running", "finished", "failed", "killed")
ID_MIN_PREFIX = 4
T = TypeVar("T")


@dataclass
class RunInfo:
    """A run as read from the catalog."""

    id: str
    step: str
    key: str
    value: str
    time: datetime
    status: str
    started_at: datetime
    ended_at: datetime | None = None
    error: str | None = None
    params_hash: str | None = None
    code_hash: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    command: str | None = None
    exit_code: int | None = None
    host: str | None = None
    user: str | None = None
    pid: int | None = None
    heartbeat_at: datetime | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # The params as values of their types (numbers as numbers), when the caller knows them.
    param_values: dict[str, Any] | None = None

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def ref(self) -> str:
        """The ref that names exactly this run: ``step:value@time``."""
        return f"{self.step}:{self.value}@{times.format_precise(self.time)}"

    @property
    def label(self) -> str:
        """A short human name: ``process:plain@2026-11-20T10:15:02Z``."""
        return f"{self.step}:{self.value}@{times.format_time(self.time)}"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form of a run, as ``runs --json`` prints it."""
        return {
            "run_id": self.id,
            "step": self.step,
            "key": self.key,
            "value": self.value,
            "time": times.format_precise(self.time),
            "status": self.status,
            "params": self.params if self.param_values is None else self.param_values,
            "metrics": self.metrics,
            "tags": self.tags,
            "started_at": times.format_precise(self.started_at),
            "ended_at": times.format_precise(self.ended_at) if self.ended_at else None,
            "exit_code": self.exit_code,
            "error": self.error,
            "code_hash": self.code_hash,
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "command": self.command,
            "host": self.host,
            "user": self.user,
            "pid": self.pid,
        }


@dataclass
class ArtifactInfo:
    """An artifact as one run produced or consumed it."""

    name: str
    hash: str
    size: int
    kind: str
    format: str | None = None
    rows: int | None = None
    schema: str | None = None
    run_id: str | None = None  # the producing run (outputs) or consuming run (inputs)
    source_run_id: str | None = None  # for inputs: the upstream run it was taken from

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "hash": self.hash,
            "size": self.size,
            "kind": self.kind,
        }
        if self.kind == "table":
            data["rows"] = self.rows
            data["schema"] = json.loads(self.schema) if self.schema else None
        if self.format:
            data["format"] = self.format
        if self.source_run_id:
            data["source_run_id"] = self.source_run_id
        return data


@dataclass
class Edges:
    """What one run consumed and which runs it was made from, each with its (step, value)."""

    # (hash, source run id, (source step, source value)); the source may be unknown.
    inputs: list[tuple[str, str | None, tuple[str, str] | None]] = field(default_factory=list)
    upstream: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Filters:
    """A search over runs; every field narrows it. Built by the CLI, turned into SQL here."""

    step: str | None = None
    keys: dict[str, str] = field(default_factory=dict)
    window: times.Window | None = None  # --on
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    status: str | None = None
    # (name, text) or (name, (text, ...)): any of the spellings of one typed value.
    params: list[tuple[str, str | tuple[str, ...]]] = field(default_factory=list)
    metrics: list[tuple[str, str, float]] = field(default_factory=list)
    limit: int | None = 50


_METRIC_OPS: dict[str, Callable[[Any, float], Any]] = {
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
    "=": lambda c, v: c == v,
    "==": lambda c, v: c == v,
    "!=": lambda c, v: c != v,
}
METRIC_OPERATORS = tuple(_METRIC_OPS)


def new_run_id() -> str:
    """Return a fresh run id: 32 lowercase hex digits."""
    return uuid.uuid4().hex


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_path(url: str) -> str | None:
    parsed = sa.engine.make_url(url)
    database = parsed.database
    if not database or database == ":memory:":
        return None
    return database


class Catalog:
    """The catalog of runs, artifacts and edges at one SQLAlchemy URL."""

    def __init__(
        self,
        url: str,
        *,
        create: bool = False,
        check_schema: bool = True,
        auto_upgrade: bool | None = None,
    ) -> None:
        """Open the catalog at ``url`` (``create``: make it if it is new).

        An older schema is upgraded in place when ``auto_upgrade`` is true; by default only a
        SQLite catalog is (one project's own file), and a shared one asks for
        ``lineage db upgrade``.
        """
        self.url = url
        self.masked_url = shown_url(url)
        self.is_sqlite = _is_sqlite(url)
        self.auto_upgrade = self.is_sqlite if auto_upgrade is None else auto_upgrade
        if self.is_sqlite:
            path = _sqlite_path(url)
            if path and not os.path.exists(path):
                if not create:
                    raise CatalogError(
                        f"no catalog at {self.masked_url}: run `lineage init` in the project folder"
                    )
                try:
                    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                except OSError as error:
                    raise CatalogError(
                        f"cannot create catalog {self.masked_url}: {error.strerror}"
                    ) from None
        self.engine = self._make_engine()
        # Per thread, since `resolve --jobs N` decides steps in several threads at once.
        self._local = threading.local()
        # Params and tags logged again replace their value: one upsert where the database has
        # one, else delete then insert (one statement less a flush on SQLite and PostgreSQL).
        dialect = self.engine.dialect.name
        self._replace_params = _replace_statement(dialect, PARAMS)
        self._replace_tags = _replace_statement(dialect, TAGS)
        if create:
            self.create()
        elif check_schema:
            self._check_schema()

    def _make_engine(self) -> Engine:
        try:
            if self.is_sqlite:
                engine = sa.create_engine(self.url, connect_args={"timeout": 30})
                _configure_sqlite(engine)
            else:
                # A server that does not answer fails the command in seconds, not minutes. No
                # pre-ping: it costs a round trip per transaction (measured: SDK logging 133 ->
                # 160-270 runs/s); a connection the server dropped is retried in _transact.
                engine = sa.create_engine(self.url, connect_args=_connect_args(self.url))
        except (ImportError, SQLAlchemyError, ValueError) as error:
            raise CatalogError(f"cannot open catalog {self.masked_url}: {_reason(error)}") from None
        return engine

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------

    def create(self) -> None:
        """Create the catalog if it is new; otherwise bring its schema to this version's."""
        self._write(lambda conn: self._settle(conn, create=True))

    def _check_schema(self) -> None:
        from lineage import schema

        # The common case costs one read: the catalog is at the head revision.
        if self._read(schema.revision_of) != schema.HEAD:
            self._write(lambda conn: self._settle(conn, create=False))

    def _settle(self, conn: Connection, *, create: bool) -> None:
        from lineage import schema

        if conn.dialect.name == "postgresql":
            # Processes that start at once would each see no tables and race to create them
            # (a duplicate pg_type row); a transaction lock makes them take turns.
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_CREATE_LOCK)))
        revision = schema.revision_of(conn)
        if revision is None:
            if not create:
                raise CatalogError(
                    f"no catalog tables in {self.masked_url}: run `lineage init` to create them"
                )
            schema.create(conn)
            return
        if revision == schema.HEAD:
            return
        schema.check_known(revision)
        if not self.auto_upgrade:
            # A shared catalog changes for everyone at once: a person decides when.
            raise CatalogError(
                f"the catalog {self.masked_url} has schema revision {revision}, this version "
                f"of lineage needs {schema.HEAD}: back it up, then run `lineage db upgrade`"
            )
        schema.migrate(conn)

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                if write:
                    conn = conn.execution_options(lineage_write=True)
                with conn.begin():
                    yield conn
        except DBAPIError as error:
            raise self._error("read", error) from None

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction, retrying with backoff while the DB is busy."""
        return self._transact(work, write=True)

    def _transact(self, work: Callable[[Connection], T], *, write: bool) -> T:
        # SQLite's busy timeout covers most waits, but a lock can still be refused at once (a
        # WAL recovery, a checkpoint); PostgreSQL aborts one side of a deadlock or a
        # serialization conflict. Both are safe to retry because ``work`` runs in a transaction
        # that was rolled back. Anything else is reported at once.
        delay = 0.02
        attempts = 14
        reconnected = False
        for attempt in range(attempts):
            try:
                with self.engine.connect() as raw:
                    conn = raw.execution_options(lineage_write=True) if write else raw
                    with conn.begin():
                        return work(conn)
            except DBAPIError as error:
                if error.connection_invalidated and not reconnected:
                    # A pooled connection the server closed (restart, idle timeout): the pool
                    # has dropped it; try once more on a fresh one.
                    reconnected = True
                    continue
                if not _is_busy(error) or attempt == attempts - 1:
                    raise self._error("write to" if write else "read", error) from None
            _time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    def _read(self, work: Callable[[Connection], T]) -> T:
        pinned = getattr(self._local, "conn", None)
        if pinned is not None:
            return work(pinned)
        return self._transact(work, write=False)

    def _error(self, verb: str, error: DBAPIError) -> CatalogError:
        reason = _reason(error)
        if _is_missing_schema(error):
            return CatalogError(
                f"catalog {self.masked_url} has no lineage tables ({reason}): run `lineage init` "
                "with this catalog URL"
            )
        if verb != "read":
            return CatalogError(f"cannot {verb} catalog {self.masked_url}: {reason}")
        # Not only OperationalError: a file that is not a database ("file is not a database")
        # is a DatabaseError, and must read as one line, not an internal error.
        hint = (
            "check the file, or point --catalog / LINEAGE_CATALOG_URL at a lineage catalog"
            if self.is_sqlite
            else "check that the server is up and the URL is right (--catalog, LINEAGE_CATALOG_URL)"
        )
        return CatalogError(f"cannot read catalog {self.masked_url}: {reason}: {hint}")

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Serve every read in the block from one connection and one consistent snapshot.

        The resolver decides a step with a handful of small queries; sharing one transaction
        saves a pool checkout and a BEGIN/COMMIT per query. Never hold it across a launch.
        """
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self._connect() as conn:
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one read transaction."""
        return self._read(work)

    # -- recording ------------------------------------------------------------------------

    def start_run(
        self,
        step: str,
        key: str,
        value: str,
        *,
        time: datetime | None = None,
        run_id: str | None = None,
        status: str = "running",
        params: dict[str, Any] | None = None,
        params_hash: str | None = None,
        code_hash: str | None = None,
        git_commit: str | None = None,
        git_dirty: bool | None = None,
        command: str | None = None,
        host: str | None = None,
        user: str | None = None,
        pid: int | None = None,
        upstream: Sequence[str] = (),
    ) -> RunInfo:
        """Record a new run (``running``) with its params and upstream runs; return it."""
        started = times.now()
        row = {
            "id": run_id or new_run_id(),
            "step": step,
            "key": key,
            "value": value,
            "time": times.to_utc(time) if time else started,
            "status": status,
            "params_hash": params_hash,
            "code_hash": code_hash,
            "git_commit": git_commit,
            "git_dirty": git_dirty,
            "command": command,
            "started_at": started,
            "heartbeat_at": started,
            "host": host,
            "user": user,
            "pid": pid,
        }

        def work(conn: Connection) -> None:
            conn.execute(_INSERT_RUN, row)
            if params:
                conn.execute(_INSERT_PARAMS, _param_rows(row["id"], params))
            if upstream:
                conn.execute(
                    _INSERT_UPSTREAM,
                    [{"run_id": row["id"], "upstream_id": up} for up in dict.fromkeys(upstream)],
                )

        self._write(work)
        info = RunInfo(**{k: v for k, v in row.items()})
        info.params = {k: param_text(v) for k, v in (params or {}).items()}
        return info

    def end_run(
        self,
        run_id: str,
        status: str,
        *,
        exit_code: int | None = None,
        error: str | None = None,
        params: dict[str, Any] | None = None,
        metrics: Sequence[tuple[str, float, int | None, datetime]] = (),
        tags: dict[str, str] | None = None,
    ) -> None:
        """Record the end of a run, with what it logged since its last flush."""

        def work(conn: Connection) -> None:
            self._flush(conn, run_id, params, metrics, tags)
            values: dict[str, Any] = {"status": status, "ended_at": times.now()}
            if exit_code is not None:
                values["exit_code"] = exit_code
            # Keep an error the step recorded itself when the launcher has nothing better.
            if error is not None:
                values["error"] = error
            conn.execute(RUNS.update().where(RUNS.c.id == run_id).values(**values))

        self._write(work)

    def set_pid(self, run_id: str, pid: int) -> None:
        """Record the process that executes a run (the launcher's child, not the launcher)."""
        self._write(
            lambda conn: conn.execute(
                RUNS.update().where(RUNS.c.id == run_id).values(pid=pid, heartbeat_at=times.now())
            )
        )

    def flush(
        self,
        run_id: str,
        *,
        params: dict[str, Any] | None = None,
        metrics: Sequence[tuple[str, float, int | None, datetime]] = (),
        tags: dict[str, str] | None = None,
    ) -> None:
        """Record params, metrics and tags logged by a run that is still going."""

        def work(conn: Connection) -> None:
            self._flush(conn, run_id, params, metrics, tags)
            conn.execute(_UPDATE_RUN, {"b_run_id": run_id, "heartbeat_at": times.now()})

        self._write(work)

    def _flush(
        self,
        conn: Connection,
        run_id: str,
        params: dict[str, Any] | None,
        metrics: Sequence[tuple[str, float, int | None, datetime]],
        tags: dict[str, str] | None,
    ) -> None:
        if params:
            if self._replace_params is not None:
                conn.execute(self._replace_params, _param_rows(run_id, params))
            else:
                conn.execute(_DELETE_PARAMS, {"b_run_id": run_id, "b_names": list(params)})
                conn.execute(_INSERT_PARAMS, _param_rows(run_id, params))
        if metrics:
            conn.execute(
                _INSERT_METRICS,
                [
                    {"run_id": run_id, "name": n, "value": float(v), "step": s, "time": t}
                    for n, v, s, t in metrics
                ],
            )
        if tags:
            rows = [{"run_id": run_id, "name": k, "value": v} for k, v in tags.items()]
            if self._replace_tags is not None:
                conn.execute(self._replace_tags, rows)
            else:
                conn.execute(_DELETE_TAGS, {"b_run_id": run_id, "b_names": list(tags)})
                conn.execute(_INSERT_TAGS, rows)

    def add_output(
        self,
        run_id: str,
        name: str,
        artifact: dict[str, Any],
    ) -> None:
        """Record an artifact (once per hash) and the edge run -> artifact under ``name``."""

        def work(conn: Connection) -> None:
            self._ensure_artifact(conn, artifact)
            conn.execute(OUTPUTS.delete().where(OUTPUTS.c.run_id == run_id, OUTPUTS.c.name == name))
            conn.execute(
                OUTPUTS.insert(), {"run_id": run_id, "name": name, "hash": artifact["hash"]}
            )

        self._write(work)

    def add_input(
        self,
        run_id: str,
        name: str,
        artifact: dict[str, Any],
        source_run_id: str | None = None,
    ) -> None:
        """Record the edge artifact -> run: the run consumed this exact hash under ``name``."""

        def work(conn: Connection) -> None:
            self._ensure_artifact(conn, artifact)
            conn.execute(INPUTS.delete().where(INPUTS.c.run_id == run_id, INPUTS.c.name == name))
            conn.execute(
                INPUTS.insert(),
                {
                    "run_id": run_id,
                    "name": name,
                    "hash": artifact["hash"],
                    "source_run_id": source_run_id,
                },
            )
            if source_run_id:
                _insert_ignore(conn, UPSTREAM, [{"run_id": run_id, "upstream_id": source_run_id}])

        self._write(work)

    def add_upstream(self, run_id: str, upstream_ids: Iterable[str]) -> None:
        """Record that ``run_id`` was made from the given upstream runs."""

        rows = [{"run_id": run_id, "upstream_id": up} for up in dict.fromkeys(upstream_ids)]

        def work(conn: Connection) -> None:
            _insert_ignore(conn, UPSTREAM, rows)

        self._write(work)

    def _ensure_artifact(self, conn: Connection, artifact: dict[str, Any]) -> None:
        # One statement, not check-then-insert: two processes logging the same content at once
        # would both see it missing and the second insert would fail on the primary key.
        row = {
            "hash": artifact["hash"],
            "size": artifact["size"],
            "kind": artifact["kind"],
            "format": artifact.get("format"),
            "rows": artifact.get("rows"),
            "schema": artifact.get("schema"),
            "created_at": times.now(),
        }
        _insert_ignore(conn, ARTIFACTS, [row])

    # -- reading runs ---------------------------------------------------------------------

    def get_run(self, run_id: str, *, details: bool = True) -> RunInfo:
        """Return the run with exactly this id."""

        def work(conn: Connection) -> RunInfo:
            row = conn.execute(sa.select(RUNS).where(RUNS.c.id == run_id)).mappings().first()
            if row is None:
                raise NotFound(f"no run with id {run_id}: list runs with `lineage runs`")
            runs = [_run_from_row(row)]
            if details:
                self._attach_details(conn, runs)
            return runs[0]

        return self._read(work)

    def get_runs(self, run_ids: Sequence[str], *, details: bool = True) -> list[RunInfo]:
        """Return the runs with these ids, in the order given (unknown ids are skipped)."""

        def work(conn: Connection) -> list[RunInfo]:
            found: dict[str, RunInfo] = {}
            for chunk in _chunks(list(dict.fromkeys(run_ids)), 500):
                for row in conn.execute(sa.select(RUNS).where(RUNS.c.id.in_(chunk))).mappings():
                    found[row["id"]] = _run_from_row(row)
            runs = [found[i] for i in run_ids if i in found]
            if details:
                self._attach_details(conn, runs)
            return runs

        return self._read(work)

    def search(self, filters: Filters) -> list[RunInfo]:
        """Return the runs matching ``filters``, newest first, with params and metrics.

        A key filter (``table=transactions``) selects the runs with that key value and every
        run made from them, so ``--table transactions`` lists the load runs of that table and
        the process and train runs downstream of them.
        """

        def work(conn: Connection) -> list[RunInfo]:
            query = sa.select(RUNS)
            for condition in self._conditions(filters, self._step_key(conn, filters.step)):
                query = query.where(condition)
            query = query.order_by(RUNS.c.time.desc(), RUNS.c.id.desc())
            if filters.limit:
                query = query.limit(filters.limit)
            runs = [_run_from_row(row) for row in conn.execute(query).mappings()]
            self._attach_details(conn, runs)
            return runs

        return self._read(work)

    def _step_key(self, conn: Connection, step: str | None) -> str | None:
        # One index seek: a step has one key, so any of its runs tells it.
        if not step:
            return None
        query = sa.select(RUNS.c.key).where(RUNS.c.step == step).limit(1)
        return conn.execute(query).scalar()

    def _conditions(self, filters: Filters, step_key: str | None = None) -> list[Any]:
        conditions: list[Any] = []
        if filters.step:
            conditions.append(RUNS.c.step == filters.step)
        for index, (key, value) in enumerate(filters.keys.items()):
            values = [v for v in value.split(",") if v] if "," in value else [value]
            matches = RUNS.c.value.in_(values) if len(values) > 1 else RUNS.c.value == value
            own = sa.and_(RUNS.c.key == key, matches)
            if key == step_key:
                # The step's own key: no run of it is made from another, so this stays an
                # index seek on (step, value, time).
                conditions.append(own)
                continue
            # Runs made, at any depth, from a run with this key value: walk the upstream edges.
            made_from = (
                sa.select(RUNS.c.id.label("id"))
                .where(own)
                .cte(f"made_from_{index}", recursive=True)
            )
            made_from = made_from.union(
                sa.select(UPSTREAM.c.run_id).where(UPSTREAM.c.upstream_id == made_from.c.id)
            )
            conditions.append(
                sa.or_(
                    own,
                    sa.and_(RUNS.c.key != key, RUNS.c.id.in_(sa.select(made_from.c.id))),
                )
            )
        if filters.window:
            conditions.append(RUNS.c.time >= filters.window.start)
            conditions.append(RUNS.c.time < filters.window.end)
        if filters.since:
            conditions.append(RUNS.c.time >= filters.since)
        if filters.until:
            conditions.append(RUNS.c.time < filters.until)
        if filters.status:
            conditions.append(RUNS.c.status == filters.status)
        for name, value in filters.params:
            same = (
                PARAMS.c.value.in_(value) if isinstance(value, tuple) else PARAMS.c.value == value
            )
            conditions.append(
                sa.exists().where(PARAMS.c.run_id == RUNS.c.id, PARAMS.c.name == name, same)
            )
        for name, op, number in filters.metrics:
            latest = (
                sa.select(METRICS.c.value)
                .where(METRICS.c.run_id == RUNS.c.id, METRICS.c.name == name)
                .order_by(METRICS.c.id.desc())
                .limit(1)
                .scalar_subquery()
            )
            conditions.append(_METRIC_OPS[op](latest, number))
        return conditions

    def newest(
        self,
        step: str,
        value: str | None = None,
        *,
        window: times.Window | None = None,
        status: str | None = "finished",
        before: datetime | None = None,
    ) -> RunInfo | None:
        """Return the newest run of ``(step, value)``, optionally in a window; an index seek."""
        query = _newest_query(value is not None, window is not None, before is not None, status)
        bound = {"b_step": step, "b_value": value, "b_before": before}
        if window is not None:
            bound.update(b_start=window.start, b_end=window.end)

        def work(conn: Connection) -> RunInfo | None:
            row = conn.execute(query, bound).mappings().first()
            return _run_from_row(row) if row else None

        return self._read(work)

    def candidates(
        self,
        step: str,
        value: str,
        *,
        hashes: Sequence[str],
        upstream_ids: Sequence[str],
        params_hash: str | None = None,
        code_hash: str | None = None,
        window: times.Window | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 50,
    ) -> list[RunInfo]:
        """Return finished runs of ``(step, value)`` that may be coherent with an upstream chain.

        A candidate consumed one of ``hashes`` or recorded one of ``upstream_ids``; both are
        found through the edge indexes, so the cost follows the few runs that touched this
        data, not the size of the catalog. ``before`` pages on ``(time, id)``, newest first.
        """
        # Two steps, so the planner cannot choose to walk every run of (step, value) and probe
        # the linked set: first the few runs linked by the edge indexes, then those by key.
        linked_query = sa.union(
            sa.select(INPUTS.c.run_id).where(INPUTS.c.hash.in_(list(hashes))),
            sa.select(UPSTREAM.c.run_id).where(UPSTREAM.c.upstream_id.in_(list(upstream_ids))),
        )

        def work(conn: Connection) -> list[RunInfo]:
            linked = list(conn.execute(linked_query).scalars())
            found: list[RunInfo] = []
            for chunk in _chunks(linked, 500):
                query = sa.select(RUNS).where(
                    RUNS.c.id.in_(chunk),
                    RUNS.c.step == step,
                    RUNS.c.value == value,
                    RUNS.c.status == "finished",
                )
                if params_hash is not None:
                    query = query.where(RUNS.c.params_hash == params_hash)
                if code_hash is not None:
                    query = query.where(RUNS.c.code_hash == code_hash)
                if window is not None:
                    query = query.where(RUNS.c.time >= window.start, RUNS.c.time < window.end)
                found.extend(_run_from_row(row) for row in conn.execute(query).mappings())
            found.sort(key=lambda r: (r.time, r.id), reverse=True)
            if before is not None:
                found = [r for r in found if (r.time, r.id) < before]
            return found[:limit]

        return self._read(work)

    def anchors(
        self,
        step: str,
        value: str,
        *,
        params_hash: str | None = None,
        window: times.Window | None = None,
        limit: int = 1,
    ) -> list[RunInfo]:
        """Return the newest finished runs of a root step's ``(step, value)``: an index seek."""
        query = sa.select(RUNS).where(
            RUNS.c.step == step, RUNS.c.value == value, RUNS.c.status == "finished"
        )
        if params_hash is not None:
            query = query.where(RUNS.c.params_hash == params_hash)
        if window is not None:
            query = query.where(RUNS.c.time >= window.start, RUNS.c.time < window.end)
        query = query.order_by(RUNS.c.time.desc(), RUNS.c.id.desc()).limit(limit)
        return self._read(
            lambda conn: [_run_from_row(row) for row in conn.execute(query).mappings()]
        )

    def edges(self, run_ids: Sequence[str]) -> dict[str, Edges]:
        """Return what each run consumed and was made from, with the sources' identities."""
        result = {run_id: Edges() for run_id in run_ids}
        if not run_ids:
            return result

        def work(conn: Connection) -> None:
            for chunk in _chunks(list(result), 500):
                # One round trip for both edge kinds: inputs carry a hash, upstream edges none.
                consumed = (
                    sa.select(
                        INPUTS.c.run_id,
                        INPUTS.c.hash,
                        INPUTS.c.source_run_id.label("other"),
                        SOURCE.c.step,
                        SOURCE.c.value,
                    )
                    .select_from(INPUTS.outerjoin(SOURCE, SOURCE.c.id == INPUTS.c.source_run_id))
                    .where(INPUTS.c.run_id.in_(chunk))
                )
                made_from = (
                    sa.select(
                        UPSTREAM.c.run_id,
                        sa.null().label("hash"),
                        UPSTREAM.c.upstream_id,
                        SOURCE.c.step,
                        SOURCE.c.value,
                    )
                    .select_from(UPSTREAM.join(SOURCE, SOURCE.c.id == UPSTREAM.c.upstream_id))
                    .where(UPSTREAM.c.run_id.in_(chunk))
                )
                for run_id, hash_, other, step, value in conn.execute(
                    sa.union_all(consumed, made_from)
                ):
                    identity = (step, value) if step is not None else None
                    if hash_ is None:
                        result[run_id].upstream[other] = identity
                    else:
                        result[run_id].inputs.append((hash_, other, identity))

        self._read(work)
        return result

    def output_hashes(self, run_ids: Sequence[str]) -> dict[str, set[str]]:
        """Return the hashes each of these runs produced."""
        result: dict[str, set[str]] = {run_id: set() for run_id in run_ids}

        def work(conn: Connection) -> None:
            for chunk in _chunks(list(result), 500):
                for run_id, hash_ in conn.execute(
                    sa.select(OUTPUTS.c.run_id, OUTPUTS.c.hash).where(OUTPUTS.c.run_id.in_(chunk))
                ):
                    result[run_id].add(hash_)

        if run_ids:
            self._read(work)
        return result

    def _attach_details(self, conn: Connection, runs: list[RunInfo]) -> None:
        if not runs:
            return
        by_id = {run.id: run for run in runs}
        for chunk in _chunks(list(by_id), 500):
            if len(chunk) == 1:
                queries, bound = _DETAILS_OF_ONE, {"b_id": chunk[0]}
            else:
                queries, bound = _DETAILS_OF_MANY, {"b_ids": chunk}
            params, metrics, tags = queries
            for run_id, name, value in conn.execute(params, bound):
                by_id[run_id].params[name] = value
            for run_id, name, value in conn.execute(metrics, bound):
                by_id[run_id].metrics[name] = value
            for run_id, name, value in conn.execute(tags, bound):
                by_id[run_id].tags[name] = value

    def metric_history(self, run_id: str, name: str) -> list[tuple[float, int | None, datetime]]:
        """Return every value logged for a metric of a run, oldest first."""
        query = (
            sa.select(METRICS.c.value, METRICS.c.step, METRICS.c.time)
            .where(METRICS.c.run_id == run_id, METRICS.c.name == name)
            .order_by(METRICS.c.id)
        )
        return self._read(lambda conn: [tuple(row) for row in conn.execute(query)])

    def key_names(self) -> dict[str, set[str]]:
        """Return each key name recorded in the catalog with the steps that use it."""
        query = sa.select(RUNS.c.key, RUNS.c.step).distinct()
        result: dict[str, set[str]] = {}
        for key, step in self._read(lambda conn: list(conn.execute(query))):
            result.setdefault(key, set()).add(step)
        return result

    def has_step(self, step: str) -> bool:
        """Return whether any run of ``step`` is recorded: an index seek, whatever the size."""
        return self._read(
            lambda conn: conn.execute(_HAS_STEP, {"b_step": step}).first() is not None
        )

    def has_key(self, key: str, step: str | None = None) -> bool:
        """Return whether any run (of ``step``) recorded the key ``key``; stops at the first."""
        if step is None:
            query, bound = _HAS_KEY, {"b_key": key}
        else:
            query, bound = _HAS_STEP_KEY, {"b_key": key, "b_step": step}
        return self._read(lambda conn: conn.execute(query, bound).first() is not None)

    def step_names(self) -> list[str]:
        """Return the step names recorded in the catalog."""
        query = sa.select(RUNS.c.step).distinct().order_by(RUNS.c.step)
        return self._read(lambda conn: list(conn.execute(query).scalars()))

    # -- edges ----------------------------------------------------------------------------

    def outputs(self, run_id: str) -> list[ArtifactInfo]:
        """Return the artifacts a run produced, by name."""
        query = (
            sa.select(OUTPUTS.c.name, OUTPUTS.c.run_id, ARTIFACTS)
            .join(ARTIFACTS, ARTIFACTS.c.hash == OUTPUTS.c.hash)
            .where(OUTPUTS.c.run_id == run_id)
            .order_by(OUTPUTS.c.name)
        )
        return self._read(lambda conn: [_artifact(row) for row in conn.execute(query).mappings()])

    def outputs_of(self, run_ids: Sequence[str]) -> dict[str, list[ArtifactInfo]]:
        """Return the outputs of many runs at once: ``{run_id: [artifact, ...]}``."""
        result: dict[str, list[ArtifactInfo]] = {run_id: [] for run_id in run_ids}
        if not run_ids:
            return result
        query = (
            sa.select(OUTPUTS.c.name, OUTPUTS.c.run_id, ARTIFACTS)
            .join(ARTIFACTS, ARTIFACTS.c.hash == OUTPUTS.c.hash)
            .where(OUTPUTS.c.run_id.in_(list(run_ids)))
            .order_by(OUTPUTS.c.run_id, OUTPUTS.c.name)
        )
        for row in self._read(lambda conn: list(conn.execute(query).mappings())):
            result[row["run_id"]].append(_artifact(row))
        return result

    def inputs(self, run_id: str) -> list[ArtifactInfo]:
        """Return the artifacts a run consumed, by name, with the hash it consumed."""
        query = (
            sa.select(INPUTS.c.name, INPUTS.c.run_id, INPUTS.c.source_run_id, ARTIFACTS)
            .join(ARTIFACTS, ARTIFACTS.c.hash == INPUTS.c.hash)
            .where(INPUTS.c.run_id == run_id)
            .order_by(INPUTS.c.name)
        )
        return self._read(lambda conn: [_artifact(row) for row in conn.execute(query).mappings()])

    def upstream_ids(self, run_id: str) -> list[str]:
        """Return the ids of the runs ``run_id`` was made from."""
        query = sa.select(UPSTREAM.c.upstream_id).where(UPSTREAM.c.run_id == run_id)
        return self._read(lambda conn: sorted(conn.execute(query).scalars()))

    def downstream_ids(self, run_id: str) -> list[str]:
        """Return the ids of the runs made from ``run_id``."""
        query = sa.select(UPSTREAM.c.run_id).where(UPSTREAM.c.upstream_id == run_id)
        return self._read(lambda conn: sorted(conn.execute(query).scalars()))

    def runs_with_hash(self, hash_: str) -> dict[str, list[str]]:
        """Return the runs that produced and consumed ``hash_``: an index seek on each edge."""

        def work(conn: Connection) -> dict[str, list[str]]:
            produced = conn.execute(
                sa.select(OUTPUTS.c.run_id).where(OUTPUTS.c.hash == hash_)
            ).scalars()
            consumed = conn.execute(
                sa.select(INPUTS.c.run_id).where(INPUTS.c.hash == hash_)
            ).scalars()
            return {"produced": sorted(set(produced)), "consumed": sorted(set(consumed))}

        return self._read(work)

    def get_artifact(self, hash_: str) -> ArtifactInfo | None:
        """Return the artifact with exactly this hash, or None."""
        query = sa.select(ARTIFACTS).where(ARTIFACTS.c.hash == hash_)
        row = self._read(lambda conn: conn.execute(query).mappings().first())
        return _artifact({**row, "name": ""}) if row else None

    def find_artifacts(self, prefix: str) -> list[ArtifactInfo]:
        """Return the artifacts whose hash starts with ``prefix`` (with or without algorithm)."""
        from lineage.hashing import ALGORITHM

        full = prefix if ":" in prefix else f"{ALGORITHM}:{prefix}"
        query = sa.select(ARTIFACTS).where(*_prefix_range(ARTIFACTS.c.hash, full)).limit(10)
        rows = self._read(lambda conn: list(conn.execute(query).mappings()))
        return [_artifact({**row, "name": ""}) for row in rows]

    # -- lineage walks --------------------------------------------------------------------

    def upstream_closure(self, run_ids: Sequence[str]) -> list[str]:
        """Return these runs and every run upstream of them: one recursive query, any depth."""
        if not run_ids:
            return []
        walk = (
            sa.select(RUNS.c.id.label("id"))
            .where(RUNS.c.id.in_(list(run_ids)))
            .cte("walk", recursive=True)
        )
        walk = walk.union(
            sa.select(UPSTREAM.c.upstream_id).join(walk, UPSTREAM.c.run_id == walk.c.id)
        )
        query = sa.select(walk.c.id)
        return self._read(lambda conn: sorted(conn.execute(query).scalars()))

    def downstream_closure(self, run_ids: Sequence[str], hashes: Sequence[str] = ()) -> list[str]:
        """Return these runs, the runs that consumed these hashes, and every run made from them.

        A run is downstream of another when it recorded it as upstream, or when it consumed a
        hash the other produced: a data version is its content, so a run made from an older
        load whose data hashes alike is derived from the newer load's data too.
        """
        if not run_ids and not hashes:
            return []
        # Seeds as a UNION of index seeks: an OR of the two made PostgreSQL scan every run.
        seeds = []
        if run_ids:
            seeds.append(sa.select(RUNS.c.id.label("id")).where(RUNS.c.id.in_(list(run_ids))))
        if hashes:
            seeds.append(
                sa.select(INPUTS.c.run_id.label("id")).where(INPUTS.c.hash.in_(list(hashes)))
            )
        if len(seeds) > 1:
            union = sa.union(*seeds).subquery("seeds")
            seeds = [sa.select(union.c.id)]
        walk = seeds[0].cte("walk", recursive=True)
        # Two kinds of edge, but PostgreSQL allows one reference to the recursive table and
        # SQLite materializes (scans) a UNION ALL of edge tables joined to it. So each walked
        # run fans out into two rows (n = 0: upstream edges, n = 1: its outputs' consumers)
        # and each row takes index seeks on one kind of edge.
        fan = sa.union_all(
            sa.select(sa.literal_column("0").label("n")),
            sa.select(sa.literal_column("1").label("n")),
        ).subquery("fan")
        child = sa.case((fan.c.n == 0, UPSTREAM.c.run_id), else_=INPUTS.c.run_id)
        step = (
            sa.select(child)
            .select_from(walk)
            .join(fan, sa.true())
            .outerjoin(UPSTREAM, sa.and_(fan.c.n == 0, UPSTREAM.c.upstream_id == walk.c.id))
            .outerjoin(OUTPUTS, sa.and_(fan.c.n == 1, OUTPUTS.c.run_id == walk.c.id))
            .outerjoin(INPUTS, sa.and_(fan.c.n == 1, INPUTS.c.hash == OUTPUTS.c.hash))
            .where(child.is_not(None))
        )
        walk = walk.union(step)
        query = sa.select(walk.c.id)
        return self._read(lambda conn: sorted(conn.execute(query).scalars()))

    def upstream_edges(self, run_ids: Sequence[str]) -> list[tuple[str, str]]:
        """Return the recorded edges ``(run_id, upstream_id)`` between these runs."""
        wanted = set(run_ids)
        edges: list[tuple[str, str]] = []
        for chunk in _chunks(sorted(wanted), 500):
            query = sa.select(UPSTREAM.c.run_id, UPSTREAM.c.upstream_id).where(
                UPSTREAM.c.run_id.in_(chunk)
            )
            rows = self._read(lambda conn, q=query: list(conn.execute(q)))
            edges.extend((run, up) for run, up in rows if up in wanted)
        return sorted(edges)

    def inputs_of(self, run_ids: Sequence[str]) -> dict[str, list[ArtifactInfo]]:
        """Return the inputs of many runs at once: ``{run_id: [artifact, ...]}``."""
        result: dict[str, list[ArtifactInfo]] = {run_id: [] for run_id in run_ids}
        for chunk in _chunks(list(result), 500):
            query = (
                sa.select(INPUTS.c.name, INPUTS.c.run_id, INPUTS.c.source_run_id, ARTIFACTS)
                .join(ARTIFACTS, ARTIFACTS.c.hash == INPUTS.c.hash)
                .where(INPUTS.c.run_id.in_(chunk))
                .order_by(INPUTS.c.run_id, INPUTS.c.name)
            )
            for row in self._read(lambda conn, q=query: list(conn.execute(q).mappings())):
                result[row["run_id"]].append(_artifact(row))
        return result

    def producers(self, hashes: Sequence[str]) -> list[str]:
        """Return the ids of the runs that produced any of these hashes."""
        if not hashes:
            return []
        query = sa.select(OUTPUTS.c.run_id).where(OUTPUTS.c.hash.in_(list(hashes))).distinct()
        return self._read(lambda conn: sorted(conn.execute(query).scalars()))

    def step_counts(self) -> dict[str, int]:
        """Return how many runs each step has."""
        query = sa.select(RUNS.c.step, sa.func.count()).group_by(RUNS.c.step).order_by(RUNS.c.step)
        return dict(self._read(lambda conn: list(conn.execute(query))))

    def step_edges(self) -> dict[tuple[str, str], int]:
        """Return ``{(upstream step, step): number of recorded run edges}`` over the catalog."""
        down = RUNS.alias("down")
        up = RUNS.alias("up")
        query = (
            sa.select(up.c.step, down.c.step, sa.func.count())
            .select_from(UPSTREAM)
            .join(down, down.c.id == UPSTREAM.c.run_id)
            .join(up, up.c.id == UPSTREAM.c.upstream_id)
            .group_by(up.c.step, down.c.step)
        )
        rows = self._read(lambda conn: list(conn.execute(query)))
        return {(a, b): n for a, b, n in rows}

    # -- refs -----------------------------------------------------------------------------

    def find_by_prefix(self, prefix: str, limit: int = 10) -> list[RunInfo]:
        """Return the runs whose id starts with ``prefix``: an index range, not a scan."""
        prefix = prefix.lower()
        query = (
            sa.select(RUNS)
            .where(*_prefix_range(RUNS.c.id, prefix))
            .order_by(RUNS.c.id)
            .limit(limit)
        )
        rows = self._read(lambda conn: list(conn.execute(query).mappings()))
        return [_run_from_row(row) for row in rows]

    def resolve(self, text: str) -> RunInfo:
        """Return the one run a ref names; raise NotFound or Ambiguous with what to do."""
        from lineage import refs

        ref = refs.parse_ref(text)
        if isinstance(ref, refs.IdRef):
            matches = self.find_by_prefix(ref.prefix, limit=5)
            if not matches and self.has_step(text.strip()):
                # An all-hex word such as "cafe" is also a step name: no id starts with it.
                ref = refs.IdentityRef(text.strip())
            elif not matches:
                raise NotFound(
                    f"no run matches {text!r}: give an id prefix from `lineage runs` or a ref "
                    "such as process:plain"
                )
            elif len(matches) > 1:
                listed = ", ".join(m.short_id for m in matches[:4])
                more = ", ..." if len(matches) > 4 else ""
                raise Ambiguous(
                    f"{text!r} matches more than one run ({listed}{more}): give more of the id"
                )
            else:
                return self.get_run(matches[0].id)
        run = self.newest(ref.step, ref.value, window=ref.window, status="finished") or self.newest(
            ref.step, ref.value, window=ref.window, status=None
        )
        if run is None:
            raise NotFound(self._no_match_message(text, ref))
        return self.get_run(run.id)

    def _no_match_message(self, text: str, ref: Any) -> str:
        from lineage import refs

        newest = self.newest(ref.step, ref.value, status=None)
        name = f"{ref.step}:{ref.value}" if ref.value is not None else ref.step
        if newest is not None:
            return f"no run matches {text!r} (newest {name} is {times.format_time(newest.time)})"
        steps = self.step_names()
        if ref.step not in steps:
            known = ", ".join(steps) if steps else "none yet"
            if ref.value is None and ref.window is None and _SHORT_HEX.match(ref.step):
                # "c7a" reads as a step name only because it is too short for an id prefix.
                return (
                    f"no run matches {text!r}: an id prefix needs at least {refs.MIN_PREFIX} "
                    f"characters (and there is no step {ref.step!r}; steps: {known})"
                )
            return f"no run matches {text!r}: there is no step {ref.step!r} (steps: {known})"
        return f"no run matches {text!r}: no {ref.step} run has the value {ref.value!r}"

    # -- claims ---------------------------------------------------------------------------

    def claim(self, key: str, label: str, host: str, pid: int) -> bool:
        """Take the claim ``key`` for this process; return False when another holds it."""
        now = times.now()
        row = {
            "key": key,
            "label": label,
            "host": host,
            "pid": pid,
            "created_at": now,
            "heartbeat_at": now,
        }

        def work(conn: Connection) -> bool:
            return _insert_ignore(conn, CLAIMS, [row]) == 1

        return self._write(work)

    def get_claim(self, key: str) -> dict[str, Any] | None:
        """Return the claim ``key`` as a dict, or None when nobody holds it."""
        query = sa.select(CLAIMS).where(CLAIMS.c.key == key)
        row = self._read(lambda conn: conn.execute(query).mappings().first())
        return dict(row) if row else None

    def update_claim(self, key: str, *, run_id: str | None = None) -> None:
        """Refresh a claim's heartbeat (and record the run it launched)."""
        values: dict[str, Any] = {"heartbeat_at": times.now()}
        if run_id is not None:
            values["run_id"] = run_id
        self._write(
            lambda conn: conn.execute(CLAIMS.update().where(CLAIMS.c.key == key).values(**values))
        )

    def release_claim(self, key: str, host: str, pid: int) -> bool:
        """Drop the claim ``key`` if this holder still has it; return whether it did."""

        def work(conn: Connection) -> bool:
            done = conn.execute(
                CLAIMS.delete().where(
                    CLAIMS.c.key == key, CLAIMS.c.host == host, CLAIMS.c.pid == pid
                )
            )
            return done.rowcount == 1

        return self._write(work)

    # -- integrity (verify, rm, gc, reaping) ----------------------------------------------

    def artifact_rows(self) -> list[ArtifactInfo]:
        """Return every artifact the catalog records (name empty), with its creation time."""
        query = sa.select(ARTIFACTS).order_by(ARTIFACTS.c.hash)
        rows = self._read(lambda conn: list(conn.execute(query).mappings()))
        return [_artifact({**row, "name": ""}) for row in rows]

    def artifact_referrers(self, hashes: Iterable[str] | None = None) -> dict[str, set[str]]:
        """Return ``{hash: run ids}`` of the runs that produced or consumed each artifact."""
        wanted = None if hashes is None else list(dict.fromkeys(hashes))

        def work(conn: Connection) -> dict[str, set[str]]:
            result: dict[str, set[str]] = {}
            for table in (OUTPUTS, INPUTS):
                query = sa.select(table.c.hash, table.c.run_id)
                batches = [None] if wanted is None else list(_chunks(wanted, 500))
                for chunk in batches:
                    q = query if chunk is None else query.where(table.c.hash.in_(chunk))
                    for hash_, run_id in conn.execute(q):
                        result.setdefault(hash_, set()).add(run_id)
            return result

        return self._read(work)

    def edges_of_runs(self, run_ids: Sequence[str]) -> list[ArtifactInfo]:
        """Return every output and input of the given runs (``run_id`` set on each)."""
        found: list[ArtifactInfo] = []
        for run_id in dict.fromkeys(run_ids):
            found.extend(self.outputs(run_id))
            found.extend(self.inputs(run_id))
        return found

    def dependents_closure(self, run_ids: Sequence[str]) -> list[str]:
        """Return the runs and every run whose records depend on them, transitively.

        A run depends on another when it lists it as upstream or consumed one of its outputs
        from it. Unlike ``downstream_closure`` this follows records only, not equal content:
        what ``rm`` must remove with a run, and no more.
        """
        return self._read(lambda conn: _closure(conn, list(run_ids), _dependents_step))

    def delete_runs(self, run_ids: Sequence[str]) -> int:
        """Delete runs with their params, metrics, tags and edges, in one transaction.

        Refuses (CatalogError) when a run outside the set depends on one inside it, checked in
        the same transaction, so a run that started consuming meanwhile is never orphaned.
        """
        ids = list(dict.fromkeys(run_ids))

        def work(conn: Connection) -> int:
            dependents = set(_closure(conn, ids, _dependents_step)) - set(ids)
            if dependents:
                listed = ", ".join(sorted(d[:8] for d in dependents))
                raise Refused(
                    f"runs {listed} now depend on the runs to remove: nothing was removed; "
                    "rerun with --cascade"
                )
            deleted = 0
            for chunk in _chunks(ids, 500):
                for table in (PARAMS, METRICS, TAGS, OUTPUTS, INPUTS):
                    conn.execute(table.delete().where(table.c.run_id.in_(chunk)))
                conn.execute(
                    UPSTREAM.delete().where(
                        sa.or_(UPSTREAM.c.run_id.in_(chunk), UPSTREAM.c.upstream_id.in_(chunk))
                    )
                )
                deleted += conn.execute(RUNS.delete().where(RUNS.c.id.in_(chunk))).rowcount
            return deleted

        return self._write(work)

    def referenced_hashes(self) -> set[str]:
        """Return every hash an edge (output or input) of a remaining run refers to."""

        def work(conn: Connection) -> set[str]:
            found = set(conn.execute(sa.select(OUTPUTS.c.hash).distinct()).scalars())
            found.update(conn.execute(sa.select(INPUTS.c.hash).distinct()).scalars())
            return found

        return self._read(work)

    def referenced_hashes_in(self, conn: Connection, hashes: Sequence[str]) -> set[str]:
        """Return which of ``hashes`` an edge refers to, inside the caller's transaction."""
        found: set[str] = set()
        for chunk in _chunks(list(hashes), 500):
            for table in (OUTPUTS, INPUTS):
                found.update(
                    conn.execute(sa.select(table.c.hash).where(table.c.hash.in_(chunk))).scalars()
                )
        return found

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction (SQLite: other writers wait for it)."""
        return self._write(work)

    def delete_unreferenced_artifacts(self, created_before: datetime) -> list[str]:
        """Delete artifact records no edge refers to, created before a time; return hashes.

        The time keeps a record just made (its edge not yet written) out of reach.
        """
        unreferenced = sa.and_(
            ~sa.exists().where(OUTPUTS.c.hash == ARTIFACTS.c.hash),
            ~sa.exists().where(INPUTS.c.hash == ARTIFACTS.c.hash),
            ARTIFACTS.c.created_at < created_before,
        )

        def work(conn: Connection) -> list[str]:
            hashes = list(conn.execute(sa.select(ARTIFACTS.c.hash).where(unreferenced)).scalars())
            for chunk in _chunks(hashes, 500):
                conn.execute(ARTIFACTS.delete().where(ARTIFACTS.c.hash.in_(chunk), unreferenced))
            return hashes

        return self._write(work)

    def running_runs(self) -> list[RunInfo]:
        """Return the runs recorded as ``running`` (an index seek on status)."""
        query = sa.select(RUNS).where(RUNS.c.status == "running")
        return self._read(lambda conn: [_run_from_row(r) for r in conn.execute(query).mappings()])

    def mark_killed(self, run_ids: Sequence[str], reason: str) -> int:
        """Mark runs that are still ``running`` as ``killed``; return how many changed."""
        if not run_ids:
            return 0

        def work(conn: Connection) -> int:
            changed = 0
            for chunk in _chunks(list(run_ids), 500):
                changed += conn.execute(
                    RUNS.update()
                    .where(RUNS.c.id.in_(chunk), RUNS.c.status == "running")
                    .values(status="killed", error=reason, ended_at=times.now())
                ).rowcount
            return changed

        return self._write(work)

    def heartbeat(self, run_id: str) -> None:
        """Record that a run's process is alive now."""
        query = RUNS.update().where(RUNS.c.id == run_id).values(heartbeat_at=times.now())
        self._write(lambda conn: conn.execute(query))

    def run_count(self) -> int:
        """Return how many runs the catalog holds."""
        query = sa.select(sa.func.count()).select_from(RUNS)
        return self._read(lambda conn: conn.execute(query).scalar_one())

    def schema_version(self) -> int | None:
        """Return the schema version recorded in the catalog."""
        query = sa.select(META.c.value).where(META.c.name == "schema_version")
        value = self._read(lambda conn: conn.execute(query).scalar())
        return int(value) if value is not None else None


def _replace_statement(dialect: str, table: sa.Table) -> Any | None:
    """Return an INSERT of (run_id, name, value) rows that replaces an existing value, if the
    dialect has ON CONFLICT; None otherwise."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        return None
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.run_id, table.c.name], set_={"value": statement.excluded.value}
    )


@cache
def _newest_query(value: bool, window: bool, before: bool, status: str | None) -> sa.Select:
    """Build once per shape the query behind ``Catalog.newest``.

    Refs, the resolver and searches ask it again and again; building the expression each time
    cost more than running it (benchmarks/bench_search.py).
    """
    time_type = RUNS.c.time.type
    query = sa.select(RUNS).where(RUNS.c.step == sa.bindparam("b_step"))
    if value:
        query = query.where(RUNS.c.value == sa.bindparam("b_value"))
    if window:
        query = query.where(
            RUNS.c.time >= sa.bindparam("b_start", type_=time_type),
            RUNS.c.time < sa.bindparam("b_end", type_=time_type),
        )
    if before:
        query = query.where(RUNS.c.time < sa.bindparam("b_before", type_=time_type))
    if status is not None:
        query = query.where(RUNS.c.status == status)
    return query.order_by(RUNS.c.time.desc(), RUNS.c.id.desc()).limit(1)


def _configure_sqlite(engine: Engine) -> None:
    driver_errors = engine.dialect.loaded_dbapi.Error

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        # Take transaction control away from the driver so BEGIN IMMEDIATE is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        # A write that starts as a read and upgrades its lock can fail at once with "database
        # is locked"; taking the write lock up front makes it wait its turn instead.
        # Straight to the driver: SQLAlchemy's execute machinery for a bare BEGIN was a quarter
        # of an empty transaction's CPU (benchmarks/bench_logging.py, bench_search.py). Errors
        # raised in this event escape SQLAlchemy's wrapping, so wrap them as it would: a busy
        # database must still reach _write's retry as an OperationalError.
        write = conn.get_execution_options().get("lineage_write")
        statement = "BEGIN IMMEDIATE" if write else "BEGIN"
        try:
            conn.connection.driver_connection.execute(statement)
        except driver_errors as error:
            raise DBAPIError.instance(statement, None, error, driver_errors) from None


# PostgreSQL's SQLSTATEs for "try again": serialization failure, deadlock, lock not available.
_RETRY_SQLSTATES = {"40001", "40P01", "55P03"}
# Any constant of our own: the advisory lock that serializes schema creation on PostgreSQL.
_CREATE_LOCK = 0x6C696E65


def _is_busy(error: DBAPIError) -> bool:
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    if not isinstance(error, OperationalError):
        return False
    text = str(orig if orig is not None else error).lower()
    return "locked" in text or "busy" in text or "deadlock" in text or "could not serialize" in text


def _is_missing_schema(error: DBAPIError) -> bool:
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlstate", None) == "42P01":  # undefined_table
        return True
    return "no such table" in str(orig if orig is not None else error).lower()


def _connect_args(url: str) -> dict[str, Any]:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        return {"connect_timeout": 10}
    return {}


def _insert_ignore(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> int:
    """Insert rows, skipping those whose primary key exists: one atomic statement.

    Returns how many rows went in (exact for one row, which is how a claim is taken).
    """
    if not rows:
        return 0
    name = conn.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # other databases: check, then insert (not atomic, but correct in one process)
        keys = [c.name for c in table.primary_key.columns]
        inserted = 0
        for row in rows:
            found = conn.execute(
                sa.select(*table.primary_key.columns).where(*[table.c[k] == row[k] for k in keys])
            ).first()
            if found is None:
                inserted += conn.execute(table.insert(), row).rowcount
        return inserted
    if len(rows) == 1:
        # RETURNING, not rowcount: psycopg reports -1 for this statement.
        key = next(iter(table.primary_key.columns))
        statement = insert(table).values(**rows[0]).on_conflict_do_nothing().returning(key)
        return len(conn.execute(statement).all())
    return conn.execute(insert(table).on_conflict_do_nothing(), rows).rowcount


_HEX_NEXT = {c: n for c, n in zip("0123456789abcdef", "123456789abcdefg", strict=True)}


def _prefix_range(column: Any, prefix: str) -> list[Any]:
    """Return conditions selecting values that start with ``prefix``, as an index range.

    The upper bound bumps the last character to the next letter or digit (never a control
    character), so the range holds under any collation, and the LIKE keeps it exact there too.
    """
    last = prefix[-1:] if prefix else ""
    upper = prefix[:-1] + _HEX_NEXT[last] if last in _HEX_NEXT else prefix + "\x7f"
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return [column >= prefix, column < upper, column.like(escaped + "%", escape="\\")]


_SHORT_HEX = re.compile(r"^[0-9a-fA-F]{1,3}$")


def _reason(error: BaseException) -> str:
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip().splitlines()
    return mask_url(text[0]) if text else type(error).__name__


def _param_rows(run_id: str, params: dict[str, Any]) -> list[dict[str, str]]:
    return [{"run_id": run_id, "name": k, "value": param_text(v)} for k, v in params.items()]


def _run_from_row(row: Any) -> RunInfo:
    return RunInfo(
        id=row["id"],
        step=row["step"],
        key=row["key"],
        value=row["value"],
        time=row["time"],
        status=row["status"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        error=row["error"],
        params_hash=row["params_hash"],
        code_hash=row["code_hash"],
        git_commit=row["git_commit"],
        git_dirty=row["git_dirty"],
        command=row["command"],
        exit_code=row["exit_code"],
        host=row["host"],
        user=row["user"],
        pid=row["pid"],
        heartbeat_at=row["heartbeat_at"],
    )


def _artifact(row: Any) -> ArtifactInfo:
    return ArtifactInfo(
        name=row["name"],
        hash=row["hash"],
        size=row["size"],
        kind=row["kind"],
        format=row["format"],
        rows=row["rows"],
        schema=row["schema"],
        run_id=row.get("run_id"),
        source_run_id=row.get("source_run_id"),
    )


def _dependents_step(conn: Connection, frontier: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(frontier, 500):
        found.update(
            conn.execute(
                sa.select(UPSTREAM.c.run_id).where(UPSTREAM.c.upstream_id.in_(chunk))
            ).scalars()
        )
        found.update(
            conn.execute(
                sa.select(INPUTS.c.run_id).where(INPUTS.c.source_run_id.in_(chunk))
            ).scalars()
        )
    return found


def _closure(
    conn: Connection, start: list[str], step: Callable[[Connection, list[str]], set[str]]
) -> list[str]:
    """Return ``start`` and everything ``step`` reaches from it, breadth first."""
    seen = list(dict.fromkeys(start))
    known = set(seen)
    frontier = list(seen)
    while frontier:
        frontier = sorted(step(conn, frontier) - known)
        known.update(frontier)
        seen.extend(frontier)
    return seen


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
