"""SQLModel tables of the catalog: runs, params, metrics, tags, artifacts and edges.

Times are stored as naive UTC (the same on SQLite and PostgreSQL) and come back aware.
The indexes serve the two questions asked most: the newest run of (step, key value) in a time
window, and which runs consumed or produced a content hash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, Text, TypeDecorator, text
from sqlmodel import Field, SQLModel

# The catalog's schema version (lineage_meta.schema_version); migration NNNN sets it to N.
SCHEMA_VERSION = 4


class UTCDateTime(TypeDecorator):
    """Store aware datetimes as naive UTC; return them aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def _time(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Run(SQLModel, table=True):
    """One execution of a step, named by its typed identity (step, key value, time)."""

    __tablename__ = "runs"
    __table_args__ = (
        # "newest finished run of (step, value) in a window": one index seek, newest first,
        # with the (time, id) order the catalog sorts by, so no sort step either.
        Index("ix_runs_identity", "step", "value", "status", "time", "id"),
        # `runs --table transactions` seeds its walk on (key, value) without knowing the step.
        Index("ix_runs_key_value", "key", "value", "time"),
        Index("ix_runs_time", "time"),
        # Runs in the order they started, paged by (started_at, id): an OpenLineage export
        # streams a million runs a page at a time without sorting them all (schema version 4).
        Index("ix_runs_started", "started_at", "id"),
        # The few runs still running, for the reaper: a partial index, so it never tempts the
        # planner away from the identity index for "newest finished run".
        Index(
            "ix_runs_running",
            "status",
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: str = Field(primary_key=True, max_length=32)
    step: str = Field(max_length=200)
    key: str = Field(max_length=200)
    value: str = Field(max_length=1000)
    time: datetime = _time()
    status: str = Field(max_length=16)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Hash of the step's declared parameters as resolved: the resolver matches runs on it.
    params_hash: str | None = Field(default=None, max_length=80)
    code_hash: str | None = Field(default=None, max_length=80)
    git_commit: str | None = Field(default=None, max_length=64)
    git_dirty: bool | None = None
    command: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    exit_code: int | None = None
    started_at: datetime = _time()
    ended_at: datetime | None = _time(nullable=True)
    heartbeat_at: datetime | None = _time(nullable=True)
    host: str | None = Field(default=None, max_length=255)
    user: str | None = Field(default=None, max_length=255)
    pid: int | None = None


class Param(SQLModel, table=True):
    """A parameter of a run, kept as text (as MLflow does: `--param C=1.0` compares text)."""

    __tablename__ = "params"

    run_id: str = Field(primary_key=True, foreign_key="runs.id", max_length=32)
    name: str = Field(primary_key=True, max_length=250)
    value: str = Field(sa_column=Column(Text, nullable=False))


class Metric(SQLModel, table=True):
    """A metric value of a run, optionally at a step (iteration)."""

    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_run_name", "run_id", "name"),)

    # INTEGER on SQLite so it is the rowid alias; BIGINT elsewhere.
    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    run_id: str = Field(foreign_key="runs.id", max_length=32)
    name: str = Field(max_length=250)
    value: float
    step: int | None = None
    time: datetime = _time()


class Tag(SQLModel, table=True):
    """A free-form label on a run."""

    __tablename__ = "tags"

    run_id: str = Field(primary_key=True, foreign_key="runs.id", max_length=32)
    name: str = Field(primary_key=True, max_length=250)
    value: str = Field(sa_column=Column(Text, nullable=False))


class Artifact(SQLModel, table=True):
    """Immutable content addressed by its hash: a file, a folder manifest, or a table."""

    __tablename__ = "artifacts"

    hash: str = Field(primary_key=True, max_length=80)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(max_length=16)  # file, folder, table
    format: str | None = Field(default=None, max_length=32)
    rows: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    schema_: str | None = Field(default=None, sa_column=Column("schema", Text, nullable=True))
    created_at: datetime = _time()


class Output(SQLModel, table=True):
    """Edge run -> artifact: the run produced the artifact under a name."""

    __tablename__ = "outputs"
    __table_args__ = (Index("ix_outputs_hash", "hash"),)

    run_id: str = Field(primary_key=True, foreign_key="runs.id", max_length=32)
    name: str = Field(primary_key=True, max_length=250)
    hash: str = Field(foreign_key="artifacts.hash", max_length=80)


class Input(SQLModel, table=True):
    """Edge artifact -> run: the run consumed the artifact (this exact hash) under a name."""

    __tablename__ = "inputs"
    __table_args__ = (
        Index("ix_inputs_hash", "hash"),
        # "which runs consumed this run's outputs?" (lineage rm): schema version 2.
        Index("ix_inputs_source", "source_run_id"),
    )

    run_id: str = Field(primary_key=True, foreign_key="runs.id", max_length=32)
    name: str = Field(primary_key=True, max_length=500)
    hash: str = Field(foreign_key="artifacts.hash", max_length=80)
    # The upstream run the artifact was taken from, when it came from one.
    source_run_id: str | None = Field(default=None, max_length=32)


class Upstream(SQLModel, table=True):
    """Edge run -> upstream run: the run was made from that run's outputs."""

    __tablename__ = "upstream"
    __table_args__ = (Index("ix_upstream_upstream", "upstream_id"),)

    run_id: str = Field(primary_key=True, foreign_key="runs.id", max_length=32)
    upstream_id: str = Field(primary_key=True, foreign_key="runs.id", max_length=32)


class Meta(SQLModel, table=True):
    """Key/value facts about the catalog itself, such as its schema version."""

    __tablename__ = "lineage_meta"

    name: str = Field(primary_key=True, max_length=100)
    value: str = Field(max_length=1000)


class Claim(SQLModel, table=True):
    """A resolver's claim to launch one step for one set of inputs, so no other launches it too.

    The key is a hash of (step, key value, params, code, input hashes); the primary key makes a
    second claim of the same launch fail, and the holder's host, pid and heartbeat tell whether
    it is still alive or its claim may be taken over.
    """

    __tablename__ = "claims"

    key: str = Field(primary_key=True, max_length=80)
    run_id: str | None = Field(default=None, max_length=32)
    label: str = Field(max_length=1200)
    host: str = Field(max_length=255)
    pid: int
    created_at: datetime = _time()
    heartbeat_at: datetime = _time()
