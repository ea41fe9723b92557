"""Record runs as they start, log and end, and the artifacts they produce and consume.

Writes go through SQLAlchemy Core (one short transaction each), with the statements of the
write path built once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lineage import times
from lineage.catalog.connection import Connected
from lineage.catalog.records import ArtifactRecord, RunInfo, Status, new_run_id
from lineage.catalog.sql import (
    ARTIFACTS,
    INPUTS,
    METRICS,
    OUTPUTS,
    PARAMS,
    RUNS,
    TAGS,
    UPSTREAM,
    insert_ignore,
)
from lineage.hashing import param_text

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


class Recording(Connected):
    """Writing runs, their logged values and their edges."""

    # Params and tags logged again replace their value: one upsert where the database has
    # one, else delete then insert (one statement less a flush on SQLite and PostgreSQL).
    @cached_property
    def _replace_params(self) -> Any | None:
        return _replace_statement(self.engine.dialect.name, PARAMS)

    @cached_property
    def _replace_tags(self) -> Any | None:
        return _replace_statement(self.engine.dialect.name, TAGS)

    def start_run(
        self,
        step: str,
        key: str,
        value: str,
        *,
        time: datetime | None = None,
        run_id: str | None = None,
        status: Status = "running",
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
        tags: dict[str, str] | None = None,
    ) -> RunInfo:
        """Record a new run (``running``) with its params, tags and upstream runs; return it."""
        started = times.now()
        row: dict[str, Any] = {
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
            if tags:
                conn.execute(
                    _INSERT_TAGS,
                    [{"run_id": row["id"], "name": k, "value": v} for k, v in tags.items()],
                )

        self._write(work)
        info = RunInfo(**row)
        info.params = {k: param_text(v) for k, v in (params or {}).items()}
        info.tags = dict(tags or {})
        return info

    def record_run(
        self,
        run: RunInfo,
        *,
        metrics: Sequence[tuple[str, float, int | None, datetime]] = (),
        upstream: Sequence[str] = (),
    ) -> bool:
        """Record a whole run made elsewhere (an import) in one transaction; False if it exists.

        The run keeps the id, times and status it comes with; its params and tags are taken
        from ``run``, every value of every metric from ``metrics``. A run already recorded
        under that id is left as it is, so recording it again changes nothing.
        """
        row = {
            "id": run.id,
            "step": run.step,
            "key": run.key,
            "value": run.value,
            "time": times.to_utc(run.time),
            "status": run.status,
            "error": run.error,
            "params_hash": run.params_hash,
            "code_hash": run.code_hash,
            "git_commit": run.git_commit,
            "git_dirty": run.git_dirty,
            "command": run.command,
            "exit_code": run.exit_code,
            "started_at": times.to_utc(run.started_at),
            "ended_at": times.to_utc(run.ended_at) if run.ended_at else None,
            "heartbeat_at": times.to_utc(run.ended_at or run.started_at),
            "host": run.host,
            "user": run.user,
            "pid": run.pid,
        }

        def work(conn: Connection) -> bool:
            if insert_ignore(conn, RUNS, [row]) != 1:
                return False
            if run.params:
                conn.execute(_INSERT_PARAMS, _param_rows(run.id, run.params))
            if run.tags:
                conn.execute(
                    _INSERT_TAGS,
                    [{"run_id": run.id, "name": k, "value": v} for k, v in run.tags.items()],
                )
            if metrics:
                conn.execute(
                    _INSERT_METRICS,
                    [
                        {"run_id": run.id, "name": n, "value": float(v), "step": s, "time": t}
                        for n, v, s, t in metrics
                    ],
                )
            if upstream:
                insert_ignore(
                    conn, UPSTREAM, [{"run_id": run.id, "upstream_id": u} for u in upstream]
                )
            return True

        return self._write(work)

    def end_run(
        self,
        run_id: str,
        status: Status,
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
        artifact: ArtifactRecord,
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
        artifact: ArtifactRecord,
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
                insert_ignore(conn, UPSTREAM, [{"run_id": run_id, "upstream_id": source_run_id}])

        self._write(work)

    def add_upstream(self, run_id: str, upstream_ids: Iterable[str]) -> None:
        """Record that ``run_id`` was made from the given upstream runs."""

        rows = [{"run_id": run_id, "upstream_id": up} for up in dict.fromkeys(upstream_ids)]

        def work(conn: Connection) -> None:
            insert_ignore(conn, UPSTREAM, rows)

        self._write(work)

    def _ensure_artifact(self, conn: Connection, artifact: ArtifactRecord) -> None:
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
        insert_ignore(conn, ARTIFACTS, [row])


def _replace_statement(dialect: str, table: sa.Table) -> Any | None:
    """Return an INSERT of (run_id, name, value) rows that replaces an existing value, if the
    dialect has ON CONFLICT; None otherwise."""
    insert: Callable[[sa.Table], Any]
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        insert = sqlite.insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        insert = postgresql.insert
    else:
        return None
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.run_id, table.c.name], set_={"value": statement.excluded.value}
    )


def _param_rows(run_id: str, params: dict[str, Any]) -> list[dict[str, str]]:
    return [{"run_id": run_id, "name": k, "value": param_text(v)} for k, v in params.items()]
