"""The catalog on SQLite and on a real PostgreSQL server: the same calls give the same results."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from lineage import models, times
from lineage.catalog import Catalog, Filters, RunInfo
from lineage.errors import Ambiguous, CatalogError, InvalidRef, NotFound
from tests import servers

T0 = datetime(2026, 11, 20, 10, 15, 2, 123456, tzinfo=UTC)


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    with Catalog(catalog_url, create=True) as opened:
        yield opened


def record(
    catalog: Catalog,
    step: str,
    key: str,
    value: str,
    at: datetime,
    *,
    status: str = "finished",
    params: dict[str, str] | None = None,
    metrics: dict[str, float] | None = None,
    run_id: str | None = None,
) -> RunInfo:
    run = catalog.start_run(step, key, value, time=at, params=params, run_id=run_id)
    if status != "running":
        catalog.end_run(
            run.id, status, metrics=[(k, v, None, at) for k, v in (metrics or {}).items()]
        )
    return run


def artifact(n: int, kind: str = "file", **extra: object) -> dict[str, object]:
    return {"hash": f"xxh128:{n:032x}", "size": 100 + n, "kind": kind, **extra}


@pytest.fixture
def history(catalog: Catalog) -> dict[str, RunInfo]:
    """Seven runs over three days, two steps, a failed and a running one."""
    day = timedelta(days=1)
    return {
        "t1": record(catalog, "load", "table", "transactions", T0 - day, metrics={"rows": 10}),
        "t2": record(catalog, "load", "table", "transactions", T0, metrics={"rows": 12}),
        "t3": record(catalog, "load", "table", "transactions", T0 + day, status="failed"),
        "c1": record(catalog, "load", "table", "customers", T0, metrics={"rows": 5}),
        "p1": record(
            catalog,
            "process",
            "logic",
            "plain",
            T0 + timedelta(hours=1),
            params={"fill": "mean", "C": "1.0"},
            metrics={"auc": 0.91},
        ),
        "p2": record(
            catalog,
            "process",
            "logic",
            "plain",
            T0 + timedelta(hours=2),
            params={"fill": "zero", "C": "1.0"},
            metrics={"auc": 0.85},
        ),
        "r1": record(catalog, "process", "logic", "fancy", T0 + 2 * day, status="running"),
    }


def ids(runs: list[RunInfo], history: dict[str, RunInfo]) -> list[str]:
    names = {run.id: name for name, run in history.items()}
    return [names[run.id] for run in runs]


# -- recording ------------------------------------------------------------------------------


def test_run_round_trips_with_params_metrics_tags(catalog: Catalog) -> None:
    run = catalog.start_run(
        "train",
        "algorithm",
        "LogisticRegression",
        time=T0,
        params={"C": 0.5, "balanced": True, "layers": [1, 2]},
        code_hash="xxh128:" + "c" * 32,
        git_commit="a" * 40,
        git_dirty=False,
        host="h",
        user="u",
        pid=42,
    )
    assert run.status == "running"
    catalog.flush(run.id, params={"seed": 7}, metrics=[("loss", 0.9, 0, T0)], tags={"a": "1"})
    catalog.end_run(
        run.id,
        "finished",
        exit_code=0,
        metrics=[("loss", 0.4, 1, T0), ("auc", 0.93, None, T0)],
        tags={"a": "2", "b": "x"},
    )
    got = catalog.get_run(run.id)
    assert (got.step, got.key, got.value, got.time) == (
        "train",
        "algorithm",
        "LogisticRegression",
        T0,
    )
    assert got.time.tzinfo is not None and got.time.microsecond == 123456
    assert got.status == "finished" and got.exit_code == 0 and got.ended_at is not None
    assert got.params == {"C": "0.5", "balanced": "true", "layers": "[1, 2]", "seed": "7"}
    assert list(got.params) == sorted(got.params)  # the same order on every backend
    assert got.metrics == {"loss": 0.4, "auc": 0.93}  # the latest value of each metric
    assert got.tags == {"a": "2", "b": "x"}
    assert (got.git_commit, got.git_dirty, got.host, got.user, got.pid) == (
        "a" * 40,
        False,
        "h",
        "u",
        42,
    )
    assert catalog.metric_history(run.id, "loss") == [(0.9, 0, T0), (0.4, 1, T0)]
    assert catalog.run_count() == 1
    assert catalog.schema_version() == models.SCHEMA_VERSION


def test_artifacts_and_edges(catalog: Catalog, history: dict[str, RunInfo]) -> None:
    load, process = history["t2"], history["p1"]
    table = artifact(1, "table", format="parquet", rows=12, schema='{"a": "int64"}')
    catalog.add_output(load.id, "data", table)
    catalog.add_output(load.id, "log", artifact(2))
    catalog.add_output(history["c1"].id, "data", table)  # the same content from another run
    catalog.add_input(process.id, "data", table, source_run_id=load.id)
    catalog.add_input(process.id, "data", table, source_run_id=load.id)  # recorded once
    catalog.add_output(process.id, "model", artifact(3, "folder", format="manifest"))

    outputs = catalog.outputs(load.id)
    assert [(a.name, a.hash, a.size, a.kind) for a in outputs] == [
        ("data", table["hash"], 101, "table"),
        ("log", artifact(2)["hash"], 102, "file"),
    ]
    assert outputs[0].to_dict()["rows"] == 12 and outputs[0].to_dict()["schema"] == {"a": "int64"}
    inputs = catalog.inputs(process.id)
    assert [(a.name, a.hash, a.source_run_id) for a in inputs] == [("data", table["hash"], load.id)]
    assert catalog.upstream_ids(process.id) == [load.id]
    assert catalog.downstream_ids(load.id) == [process.id]
    catalog.add_upstream(process.id, [load.id, history["c1"].id, load.id])
    assert catalog.upstream_ids(process.id) == sorted([load.id, history["c1"].id])

    assert catalog.runs_with_hash(str(table["hash"])) == {
        "produced": sorted([load.id, history["c1"].id]),
        "consumed": [process.id],
    }
    assert catalog.runs_with_hash("xxh128:" + "f" * 32) == {"produced": [], "consumed": []}
    by_run = catalog.outputs_of([load.id, process.id, history["t1"].id])
    assert [a.name for a in by_run[load.id]] == ["data", "log"]
    assert [a.kind for a in by_run[process.id]] == ["folder"]
    assert by_run[history["t1"].id] == []

    stored = catalog.get_artifact(str(table["hash"]))
    assert stored is not None and (stored.rows, stored.format) == (12, "parquet")
    assert catalog.get_artifact("xxh128:" + "e" * 32) is None
    assert [a.hash for a in catalog.find_artifacts("0" * 31)] == [
        artifact(1)["hash"],
        artifact(2)["hash"],
        artifact(3)["hash"],
    ]
    assert [a.hash for a in catalog.find_artifacts("xxh128:" + "0" * 31 + "2")] == [
        artifact(2)["hash"]
    ]
    count = sa.select(sa.func.count()).select_from(sa.table("artifacts"))
    with catalog.engine.connect() as conn:
        assert conn.execute(count).scalar_one() == 3


def test_same_artifact_recorded_by_many_connections_at_once(catalog_url: str) -> None:
    """The artifact row is written with one atomic statement, so racing writers both succeed."""
    catalogs = [Catalog(catalog_url, create=True) for _ in range(6)]
    runs = [c.start_run("load", "table", f"t{i}", time=T0) for i, c in enumerate(catalogs)]
    errors: list[BaseException] = []
    for n in range(10):
        barrier = threading.Barrier(len(catalogs))

        def log(c: Catalog, run: RunInfo, n: int = n, barrier: threading.Barrier = barrier) -> None:
            try:
                barrier.wait()
                c.add_output(run.id, "data", artifact(100 + n))
            except BaseException as error:  # collected and asserted below
                errors.append(error)

        threads = [
            threading.Thread(target=log, args=pair) for pair in zip(catalogs, runs, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    produced = catalogs[0].runs_with_hash(str(artifact(109)["hash"]))["produced"]
    assert produced == sorted(run.id for run in runs)
    for c in catalogs:
        c.close()


def test_schema_is_created_once_by_concurrent_creators(catalog_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def create() -> None:
        try:
            barrier.wait()
            Catalog(catalog_url, create=True).close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Catalog(catalog_url) as catalog:
        assert catalog.schema_version() == models.SCHEMA_VERSION


# -- searching ------------------------------------------------------------------------------


def search(catalog: Catalog, history: dict[str, RunInfo], **fields: object) -> list[str]:
    return ids(catalog.search(Filters(**fields)), history)  # type: ignore[arg-type]


def test_search_by_every_field(catalog: Catalog, history: dict[str, RunInfo]) -> None:
    everything = ["r1", "t3", "p2", "p1", "c1", "t2", "t1"]
    # c1 and t2 share a time; the id breaks the tie the same way on every backend.
    tied = sorted([history["c1"].id, history["t2"].id], reverse=True)
    assert [history[n].id for n in search(catalog, history)[4:6]] == tied
    assert sorted(search(catalog, history)) == sorted(everything)
    assert search(catalog, history, step="process") == ["r1", "p2", "p1"]
    assert search(catalog, history, keys={"table": "transactions"}) == ["t3", "t2", "t1"]
    assert search(catalog, history, keys={"table": "transactions,customers"}, limit=None) == [
        "t3",
        *[n for n in ("t2", "c1") if history[n].id == tied[0]],
        *[n for n in ("t2", "c1") if history[n].id == tied[1]],
        "t1",
    ]
    assert search(catalog, history, keys={"logic": "transactions"}) == []  # key and value agree
    assert search(catalog, history, window=times.parse_window("2026-11-20"), step="load") == [
        *sorted(["c1", "t2"], key=lambda n: history[n].id, reverse=True)
    ]
    assert search(catalog, history, since=T0 + timedelta(hours=1)) == ["r1", "t3", "p2", "p1"]
    assert search(catalog, history, until=T0, step="load") == ["t1"]  # exclusive
    assert search(catalog, history, since=T0, until=T0 + timedelta(hours=2)) == [
        "p1",
        *sorted(["c1", "t2"], key=lambda n: history[n].id, reverse=True),
    ]
    assert search(catalog, history, status="failed") == ["t3"]
    assert search(catalog, history, status="running") == ["r1"]
    assert search(catalog, history, params=[("fill", "mean")]) == ["p1"]
    assert search(catalog, history, params=[("C", "1.0"), ("fill", "zero")]) == ["p2"]
    assert search(catalog, history, params=[("C", "1")]) == []  # params compare as text
    assert search(catalog, history, metrics=[("auc", ">", 0.9)]) == ["p1"]
    assert search(catalog, history, metrics=[("auc", "<=", 0.91)]) == ["p2", "p1"]
    assert search(catalog, history, metrics=[("auc", "!=", 0.85)]) == ["p1"]
    assert search(catalog, history, metrics=[("rows", ">=", 10), ("rows", "<", 12)]) == ["t1"]
    assert search(catalog, history, metrics=[("rows", "==", 5)]) == ["c1"]
    assert search(catalog, history, limit=2) == ["r1", "t3"]
    found = catalog.search(Filters(step="process", keys={"logic": "plain"}))
    assert [r.params for r in found] == [{"C": "1.0", "fill": "zero"}, {"C": "1.0", "fill": "mean"}]
    assert [r.metrics for r in found] == [{"auc": 0.85}, {"auc": 0.91}]


def test_newest(catalog: Catalog, history: dict[str, RunInfo]) -> None:
    def newest(*args: object, **kwargs: object) -> str | None:
        run = catalog.newest(*args, **kwargs)  # type: ignore[arg-type]
        return ids([run], history)[0] if run else None

    assert newest("load", "transactions") == "t2"  # t3 failed
    assert newest("load", "transactions", status=None) == "t3"
    assert newest("load", "transactions", window=times.parse_window("2026-11-19")) == "t1"
    assert newest("load", "transactions", before=T0) == "t1"
    assert newest("load") in ("t2", "c1")
    assert newest("process", "fancy") is None
    assert newest("process", "fancy", status="running") == "r1"
    assert newest("nothing") is None
    assert catalog.step_names() == ["load", "process"]
    assert catalog.key_names() == {"table": {"load"}, "logic": {"process"}}


# -- refs -----------------------------------------------------------------------------------


def test_find_by_prefix_and_resolve_ids(catalog: Catalog) -> None:
    a = record(catalog, "load", "table", "a", T0, run_id="abcd0000" + "0" * 24)
    b = record(catalog, "load", "table", "b", T0, run_id="abcd9fff" + "0" * 24)
    c = record(catalog, "load", "table", "c", T0, run_id="abce0000" + "0" * 24)
    f = record(catalog, "load", "table", "f", T0, run_id="abcf" + "f" * 28)
    assert [r.id for r in catalog.find_by_prefix("abcd")] == [a.id, b.id]
    assert [r.id for r in catalog.find_by_prefix("ABCD9")] == [b.id]
    assert [r.id for r in catalog.find_by_prefix("abc")] == [a.id, b.id, c.id, f.id]
    assert [r.id for r in catalog.find_by_prefix("abcf")] == [f.id]
    assert [r.id for r in catalog.find_by_prefix("abc", limit=2)] == [a.id, b.id]
    assert catalog.find_by_prefix("0123") == []
    assert catalog.resolve("abce").id == c.id
    assert catalog.resolve("abcd9").id == b.id
    with pytest.raises(Ambiguous, match=r"'abcd' matches more than one run \(abcd0000, abcd9fff"):
        catalog.resolve("abcd")
    with pytest.raises(NotFound, match="no run matches '0123'"):
        catalog.resolve("0123")


def test_id_prefixes_under_a_language_collation(postgres_admin_url: str) -> None:
    """ICU en-US ignores control characters: a 'prefix + DEL' upper bound would match nothing."""
    url = servers.create_database(postgres_admin_url, icu_locale="en-US")
    try:
        with Catalog(url, create=True) as catalog:
            a = record(catalog, "load", "table", "a", T0, run_id="abcd0000" + "0" * 24)
            b = record(catalog, "load", "table", "b", T0, run_id="abcd9fff" + "0" * 24)
            record(catalog, "load", "table", "c", T0, run_id="abce0000" + "0" * 24)
            assert [r.id for r in catalog.find_by_prefix("abcd")] == [a.id, b.id]
            assert catalog.resolve("abcd9").id == b.id
            catalog.add_output(a.id, "data", artifact(0xABC))
            assert [x.hash for x in catalog.find_artifacts("0" * 29 + "abc")] == [
                artifact(0xABC)["hash"]
            ]
    finally:
        servers.drop_database(postgres_admin_url, url)


def test_resolve_identity_refs(catalog: Catalog, history: dict[str, RunInfo]) -> None:
    def resolve(text: str) -> str:
        return ids([catalog.resolve(text)], history)[0]

    assert resolve("load:transactions") == "t2"  # the newest finished one
    assert resolve("load:transactions@2026-11-19") == "t1"
    assert resolve("load:transactions@2026-11-21") == "t3"  # only a failed one that day
    assert resolve(f"load:transactions@{times.format_precise(T0)}") == "t2"
    assert resolve("process:plain") == "p2"
    assert resolve("process:fancy") == "r1"
    assert resolve("process") == "p2"
    resolved = catalog.resolve("process:plain@2026-11-20")
    assert resolved.params == {"C": "1.0", "fill": "zero"} and resolved.metrics == {"auc": 0.85}
    with pytest.raises(NotFound, match=r"newest load:transactions is 2026-11-21T10:15:02Z"):
        catalog.resolve("load:transactions@2026-11-01")
    with pytest.raises(NotFound, match="there is no step 'train' \\(steps: load, process\\)"):
        catalog.resolve("train:lr")
    with pytest.raises(NotFound, match="no load run has the value 'orders'"):
        catalog.resolve("load:orders")
    with pytest.raises(InvalidRef):
        catalog.resolve("load:")


# -- errors and indexes ---------------------------------------------------------------------


def test_catalog_without_tables_says_run_init(catalog_url: str) -> None:
    if catalog_url.startswith("sqlite"):
        sqlite3.connect(sa.engine.make_url(catalog_url).database).close()  # a file, no tables
    # Opening checks the schema, so the error comes at once, before any query.
    with pytest.raises(CatalogError, match="run `lineage init`"), Catalog(catalog_url) as catalog:
        catalog.run_count()


def test_missing_sqlite_catalog_says_run_init(tmp_path: object) -> None:
    with pytest.raises(CatalogError, match=r"no catalog at sqlite:///.*: run `lineage init`"):
        Catalog(f"sqlite:///{tmp_path}/nothing/catalog.db")


def explain(catalog: Catalog, query: sa.Select) -> str:
    with catalog.engine.connect() as conn:
        compiled = query.compile(conn)
        values = tuple(compiled.params[name] for name in compiled.positiontup or ())
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values).fetchall()
    return "\n".join(str(row[-1]) for row in rows)


def test_sqlite_queries_use_the_indexes(tmp_path: object) -> None:
    from lineage.catalog import sql as module

    with Catalog(f"sqlite:///{tmp_path}/c.db", create=True) as catalog:
        runs, outputs, inputs = module.RUNS, module.OUTPUTS, module.INPUTS
        newest = (
            sa.select(runs)
            .where(
                runs.c.step == "load",
                runs.c.value == "t",
                runs.c.status == "finished",
                runs.c.time < T0,
            )
            .order_by(runs.c.time.desc(), runs.c.id.desc())
            .limit(1)
        )
        plan = explain(catalog, newest)
        assert "USING INDEX ix_runs_identity" in plan and "TEMP B-TREE" not in plan
        by_hash = sa.select(outputs.c.run_id).where(outputs.c.hash == "xxh128:00")
        assert "USING INDEX ix_outputs_hash" in explain(catalog, by_hash)
        consumed = sa.select(inputs.c.run_id).where(inputs.c.hash == "xxh128:00")
        assert "USING COVERING INDEX ix_inputs_hash" in explain(
            catalog, consumed
        ) or "USING INDEX ix_inputs_hash" in explain(catalog, consumed)
        prefix = sa.select(runs).where(*module.prefix_range(runs.c.id, "abcd"))
        assert "USING INDEX sqlite_autoindex_runs_1" in explain(catalog, prefix)


def test_postgresql_connection_dropped_by_the_server_is_replaced(postgres_url: str) -> None:
    with Catalog(postgres_url, create=True) as catalog:
        record(catalog, "load", "table", "t", T0)
        pids = {
            catalog._read(lambda conn: conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
        }
        admin = sa.create_engine(postgres_url)
        with admin.begin() as conn:  # what a server restart or an idle timeout does
            for pid in pids:
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        assert catalog.run_count() == 1
        record(catalog, "load", "table", "t", T0 + timedelta(seconds=1))
        assert catalog.run_count() == 2


def test_write_retries_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    """A write that meets a locked SQLite catalog waits its turn instead of failing."""
    path = tmp_path / "catalog.db"
    catalog = Catalog(f"sqlite:///{path}", create=True)
    # A short busy timeout on the pooled connection, so the lock is met as an error at once
    # and the retry loop (not SQLite's own waiting) has to carry the write through.
    with catalog.engine.connect() as conn:
        conn.connection.driver_connection.execute("PRAGMA busy_timeout=20")
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    run = catalog.start_run("load", "table", "transactions")
    release.join()
    assert time.monotonic() - started >= 0.25
    assert catalog.get_run(run.id).status == "running"
    other.close()
    catalog.close()
