"""Runs recorded whole (imports) and read back a page at a time in the order they started.

On SQLite and on a real PostgreSQL server, like tests/test_catalog.py.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lineage.catalog import Catalog, RunInfo

T0 = datetime(2026, 11, 20, 10, 0, 0, 250000, tzinfo=UTC)


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    with Catalog(catalog_url, create=True) as opened:
        yield opened


def made(n: int, started: datetime, **extra: object) -> RunInfo:
    fields: dict[str, object] = {
        "id": f"{n:032x}",
        "step": "load",
        "key": "table",
        "value": "transactions",
        "time": started - timedelta(hours=1),
        "status": "finished",
        "started_at": started,
        "ended_at": started + timedelta(seconds=30),
    }
    fields.update(extra)
    return RunInfo(**fields)  # type: ignore[arg-type]


def test_record_run_keeps_what_it_is_given_and_a_second_time_changes_nothing(
    catalog: Catalog,
) -> None:
    up = made(1, T0)
    assert catalog.record_run(up)
    run = made(
        2,
        T0 + timedelta(minutes=5),
        step="train",
        key="algorithm",
        value="LogisticRegression",
        status="failed",
        error="diverged",
        user="ana",
        git_commit="abc123",
        params={"C": "10", "trained_time": "1549793781"},
        tags={"lineage.origin": "import", "mlflow.user": "ana"},
    )
    history = [
        ("score", 0.5, 0, T0),
        ("score", 0.75, 1, T0 + timedelta(seconds=1)),
        ("loss", 1.25, None, T0),
    ]
    assert catalog.record_run(run, metrics=history, upstream=[up.id])

    got = catalog.get_run(run.id)
    assert (got.step, got.key, got.value, got.time) == (
        "train",
        "algorithm",
        "LogisticRegression",
        run.time,
    )
    assert (got.status, got.error, got.user, got.git_commit) == (
        "failed",
        "diverged",
        "ana",
        "abc123",
    )
    assert (got.started_at, got.ended_at) == (run.started_at, run.ended_at)
    assert got.params == {"C": "10", "trained_time": "1549793781"}
    assert got.tags == {"lineage.origin": "import", "mlflow.user": "ana"}
    assert got.metrics == {"score": 0.75, "loss": 1.25}
    assert [v for v, _, _ in catalog.metric_history(run.id, "score")] == [0.5, 0.75]
    assert catalog.upstream_ids(run.id) == [up.id]

    # The same run again, even with other values: nothing is added or changed.
    changed = made(2, T0, status="finished", params={"C": "1"}, tags={"x": "y"})
    assert not catalog.record_run(changed, metrics=history, upstream=[up.id])
    again = catalog.get_run(run.id)
    assert (again.status, again.params, again.tags) == ("failed", got.params, got.tags)
    assert len(catalog.metric_history(run.id, "score")) == 2


def test_start_run_records_tags_with_the_run(catalog: Catalog) -> None:
    run = catalog.start_run("load", "table", "t", tags={"lineage.resolve": "ab" * 16})
    assert run.tags == {"lineage.resolve": "ab" * 16}
    assert catalog.get_run(run.id).tags == {"lineage.resolve": "ab" * 16}


def test_runs_by_start_pages_through_every_run_once_in_start_order(catalog: Catalog) -> None:
    # Ties on started_at are broken by id; ids are given out of start order on purpose.
    starts = [T0 + timedelta(seconds=(7 * n) % 11) for n in range(23)]
    for n, started in enumerate(starts):
        catalog.record_run(made(1000 - n, started))
    expected = sorted(
        (made(1000 - n, s).started_at, f"{1000 - n:032x}") for n, s in enumerate(starts)
    )

    seen: list[tuple[datetime, str]] = []
    after = None
    pages = 0
    while True:
        page = catalog.runs_by_start(after=after, limit=4)
        if not page:
            break
        pages += 1
        assert len(page) <= 4
        seen.extend((r.started_at, r.id) for r in page)
        after = (page[-1].started_at, page[-1].id)
    assert seen == expected
    assert pages == math.ceil(23 / 4)
    assert catalog.count_runs() == 23


def test_runs_by_start_bounds_are_start_times_until_exclusive(catalog: Catalog) -> None:
    for n in range(6):
        catalog.record_run(made(n + 1, T0 + timedelta(hours=n), params={"n": str(n)}))
    since, until = T0 + timedelta(hours=2), T0 + timedelta(hours=4)
    page = catalog.runs_by_start(since=since, until=until)
    assert [r.params["n"] for r in page] == ["2", "3"]
    assert catalog.count_runs(since=since, until=until) == 2
    assert catalog.count_runs(since=since) == 4


def test_a_page_is_one_range_of_the_started_index(tmp_path: Path) -> None:
    Catalog(f"sqlite:///{tmp_path / 'catalog.db'}", create=True).close()
    with sqlite3.connect(tmp_path / "catalog.db") as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM runs WHERE (started_at, id) > (?, ?) "
            "ORDER BY started_at, id LIMIT 1000",
            ("2026-01-01 00:00:00", "0"),
        ).fetchall()
    text = " ".join(str(row[-1]) for row in plan)
    assert "ix_runs_started" in text and "TEMP B-TREE" not in text, text
