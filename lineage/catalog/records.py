"""The catalog's records: runs, artifacts, edges, claims, and the filters of a search."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict

from lineage import times

Status = Literal["running", "finished", "failed", "killed"]
STATUSES: tuple[Status, ...] = ("running", "finished", "failed", "killed")
ArtifactKind = Literal["file", "folder", "table"]
ID_MIN_PREFIX = 4
# Names lineage itself records: the output a launched step's log is kept under, and the tag
# on a launched run naming the resolve that launched it (one id per resolve). Here, below the
# launcher and the OpenLineage export, so both read the same names.
LOG_NAME = "log"
RESOLVE_TAG = "lineage.resolve"


class ArtifactRecord(TypedDict):
    """An artifact as a run records it: what ``add_output`` and ``add_input`` take."""

    hash: str
    size: int
    kind: ArtifactKind
    format: NotRequired[str | None]
    rows: NotRequired[int | None]
    schema: NotRequired[str | None]  # a table's schema, as tables.describe_schema writes it


class ClaimRecord(TypedDict):
    """A claim as the catalog holds it: who is launching what, and since when."""

    key: str
    label: str
    host: str
    pid: int
    run_id: str | None
    created_at: datetime
    heartbeat_at: datetime


@dataclass
class RunInfo:
    """A run as read from the catalog."""

    id: str
    step: str
    key: str
    value: str
    time: datetime
    status: Status
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
    kind: ArtifactKind
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
    status: Status | None = None
    # (name, text) or (name, (text, ...)): any of the spellings of one typed value.
    params: list[tuple[str, str | tuple[str, ...]]] = field(default_factory=list)
    metrics: list[tuple[str, str, float]] = field(default_factory=list)
    limit: int | None = 50
    # Keyset paging: only runs older than this (time, id), the last row of the page before.
    before: tuple[datetime, str] | None = None


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


def run_from_row(row: Any) -> RunInfo:
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


def artifact_from_row(row: Any) -> ArtifactInfo:
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
