"""Read runs: by id, by search filters, the newest of a step, candidates and anchors, refs."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lineage import refs, times
from lineage.catalog.connection import Connected
from lineage.catalog.records import _METRIC_OPS, Filters, RunInfo, Status, run_from_row
from lineage.catalog.sql import (
    INPUTS,
    METRICS,
    PARAMS,
    RUNS,
    TAGS,
    UPSTREAM,
    chunks,
    prefix_range,
)
from lineage.errors import Ambiguous, NotFound
from lineage.models import UTCDateTime

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


class Queries(Connected):
    """Reading runs and their params, metrics and tags."""

    def get_run(self, run_id: str, *, details: bool = True) -> RunInfo:
        """Return the run with exactly this id."""

        def work(conn: Connection) -> RunInfo:
            row = conn.execute(sa.select(RUNS).where(RUNS.c.id == run_id)).mappings().first()
            if row is None:
                raise NotFound(f"no run with id {run_id}: list runs with `lineage runs`")
            runs = [run_from_row(row)]
            if details:
                self._attach_details(conn, runs)
            return runs[0]

        return self._read(work)

    def get_runs(self, run_ids: Sequence[str], *, details: bool = True) -> list[RunInfo]:
        """Return the runs with these ids, in the order given (unknown ids are skipped)."""

        def work(conn: Connection) -> list[RunInfo]:
            found: dict[str, RunInfo] = {}
            for chunk in chunks(list(dict.fromkeys(run_ids)), 500):
                for row in conn.execute(sa.select(RUNS).where(RUNS.c.id.in_(chunk))).mappings():
                    found[row["id"]] = run_from_row(row)
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
            runs = [run_from_row(row) for row in conn.execute(query).mappings()]
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
        if filters.before:
            moment, run_id = filters.before
            # The plain `time <=` lets the time index bound the scan; the OR breaks ties.
            conditions.append(RUNS.c.time <= moment)
            conditions.append(sa.or_(RUNS.c.time < moment, RUNS.c.id < run_id))
        for param, wanted in filters.params:
            same = (
                PARAMS.c.value.in_(wanted)
                if isinstance(wanted, tuple)
                else PARAMS.c.value == wanted
            )
            conditions.append(
                sa.exists().where(PARAMS.c.run_id == RUNS.c.id, PARAMS.c.name == param, same)
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
        status: Status | None = "finished",
        before: datetime | None = None,
    ) -> RunInfo | None:
        """Return the newest run of ``(step, value)``, optionally in a window; an index seek."""
        query = _newest_query(value is not None, window is not None, before is not None, status)
        bound = {"b_step": step, "b_value": value, "b_before": before}
        if window is not None:
            bound.update(b_start=window.start, b_end=window.end)

        def work(conn: Connection) -> RunInfo | None:
            row = conn.execute(query, bound).mappings().first()
            return run_from_row(row) if row else None

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
            for chunk in chunks(linked, 500):
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
                found.extend(run_from_row(row) for row in conn.execute(query).mappings())
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
            lambda conn: [run_from_row(row) for row in conn.execute(query).mappings()]
        )

    def _attach_details(self, conn: Connection, runs: list[RunInfo]) -> None:
        if not runs:
            return
        by_id = {run.id: run for run in runs}
        bound: dict[str, Any]
        for chunk in chunks(list(by_id), 500):
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

    def runs_by_start(
        self,
        *,
        after: tuple[datetime, str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[RunInfo]:
        """Return the next page of runs in the order they started, ``(started_at, id)``.

        ``after`` is the last ``(started_at, id)`` of the page before; ``since`` / ``until``
        bound the start time (``until`` exclusive). Each page is one range of the
        ``ix_runs_started`` index, so paging through a million runs never sorts them all.
        """
        query = sa.select(RUNS)
        if after is not None:
            query = query.where(
                sa.tuple_(RUNS.c.started_at, RUNS.c.id)
                > sa.tuple_(sa.literal(after[0], UTCDateTime()), sa.literal(after[1], sa.String()))
            )
        if since is not None:
            query = query.where(RUNS.c.started_at >= since)
        if until is not None:
            query = query.where(RUNS.c.started_at < until)
        query = query.order_by(RUNS.c.started_at, RUNS.c.id).limit(limit)

        def work(conn: Connection) -> list[RunInfo]:
            runs = [run_from_row(row) for row in conn.execute(query).mappings()]
            self._attach_details(conn, runs)
            return runs

        return self._read(work)

    def count_runs(self, *, since: datetime | None = None, until: datetime | None = None) -> int:
        """Return how many runs started in ``[since, until)`` (every run without bounds)."""
        query = sa.select(sa.func.count()).select_from(RUNS)
        if since is not None:
            query = query.where(RUNS.c.started_at >= since)
        if until is not None:
            query = query.where(RUNS.c.started_at < until)
        return self._read(lambda conn: conn.execute(query).scalar_one())

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

    def step_counts(self) -> dict[str, int]:
        """Return how many runs each step has."""
        query = sa.select(RUNS.c.step, sa.func.count()).group_by(RUNS.c.step).order_by(RUNS.c.step)
        return dict(self._read(lambda conn: list(conn.execute(query))))

    # -- refs -----------------------------------------------------------------------------

    def find_by_prefix(self, prefix: str, limit: int = 10) -> list[RunInfo]:
        """Return the runs whose id starts with ``prefix``: an index range, not a scan."""
        prefix = prefix.lower()
        query = (
            sa.select(RUNS).where(*prefix_range(RUNS.c.id, prefix)).order_by(RUNS.c.id).limit(limit)
        )
        rows = self._read(lambda conn: list(conn.execute(query).mappings()))
        return [run_from_row(row) for row in rows]

    def resolve(self, text: str) -> RunInfo:
        """Return the one run a ref names; raise NotFound or Ambiguous with what to do."""

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


_SHORT_HEX = re.compile(r"^[0-9a-fA-F]{1,3}$")


@cache
def _newest_query(value: bool, window: bool, before: bool, status: Status | None) -> sa.Select:
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
