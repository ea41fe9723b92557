"""Schema revisions: a catalog of the first schema opens with today's code, every row intact.

The backends are one parametrized fixture: a copy of the fixture file, the same rows rebuilt
into a fresh SQLite file, and the same rows in a fresh PostgreSQL database.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from lineage import models, schema
from lineage.catalog import Catalog, upgrade_schema
from lineage.errors import CatalogError
from tests.helpers import invoke

FIXTURE = Path(__file__).parent / "fixtures" / "catalog-v1.sqlite"
V1_TABLES = (
    "runs",
    "params",
    "metrics",
    "tags",
    "artifacts",
    "outputs",
    "inputs",
    "upstream",
    "lineage_meta",
)
BACKENDS = ["sqlite-file", "sqlite-rebuilt", "postgres"]


def fixture_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the v1 fixture, in a stable order."""
    with sqlite3.connect(FIXTURE) as conn:
        return {
            t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in V1_TABLES
        }


def rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            result = {}
            for table in V1_TABLES:
                found = conn.execute(sa.text(f"SELECT * FROM {table}")).fetchall()
                result[table] = sorted((tuple(_plain(v) for v in row) for row in found), key=repr)
            return result
    finally:
        engine.dispose()


def _plain(value: Any) -> Any:
    # SQLite hands back datetimes as text; other backends as datetime: compare as SQLite text.
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat(sep=" ", timespec="microseconds")
    return value


def alembic_config(conn: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(schema.MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def build_v1(url: str) -> None:
    """Make a pre-Alembic v1 catalog at ``url`` from migration 0001 and the fixture's rows."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0001")
            # lineage 0.1.0 knew nothing of Alembic: its catalogs have no version table.
            conn.execute(sa.text("DROP TABLE alembic_version"))
            conn.execute(sa.text("DELETE FROM lineage_meta"))
            for table, found in fixture_rows().items():
                if not found:
                    continue
                columns = [c["name"] for c in sa.inspect(conn).get_columns(table)]
                target = sa.table(table, *[sa.column(c) for c in columns])
                conn.execute(target.insert(), [dict(zip(columns, r, strict=True)) for r in found])
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def v1_catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a catalog of the first schema holding the fixture's rows."""
    if request.param == "sqlite-file":
        path = tmp_path / "catalog.db"
        shutil.copy(FIXTURE, path)
        yield f"sqlite:///{path}"
    elif request.param == "sqlite-rebuilt":
        url = f"sqlite:///{tmp_path / 'rebuilt.db'}"
        build_v1(url)
        yield url
    else:  # a server backend: an empty database from its fixture
        url = request.getfixturevalue(f"{request.param}_url")
        build_v1(url)
        yield url


def schema_of(url: str) -> dict[str, Any]:
    """Tables, columns, keys and indexes of a database, normalized for comparison."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        result = {}
        for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
            result[table] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
                ],
                "pk": inspector.get_pk_constraint(table)["constrained_columns"],
                "fks": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"])
                    for f in inspector.get_foreign_keys(table)
                ),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(table)
                ),
            }
        return result
    finally:
        engine.dispose()


def test_head_constant_is_the_head_of_the_migrations() -> None:
    script = ScriptDirectory(str(schema.MIGRATIONS))
    assert script.get_current_head() == schema.HEAD
    assert int(schema.HEAD) == models.SCHEMA_VERSION


def test_first_revision_is_exactly_the_first_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r0001.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    engine.dispose()
    assert schema_of(url) == schema_of(f"sqlite:///{FIXTURE}")


def test_v1_catalog_opens_upgraded_with_every_row_intact(v1_catalog: str) -> None:
    before = fixture_rows()
    if v1_catalog.startswith("sqlite"):
        catalog = Catalog(v1_catalog)  # upgraded in place on open
    else:
        with pytest.raises(CatalogError, match="run `lineage db upgrade`"):
            Catalog(v1_catalog)
        upgrade_schema(v1_catalog)
        catalog = Catalog(v1_catalog)
    with catalog:
        assert catalog.read(schema.revision_of) == schema.HEAD
        assert catalog.schema_version() == models.SCHEMA_VERSION
        after = rows(v1_catalog)
        expected = dict(before, lineage_meta=[("schema_version", str(models.SCHEMA_VERSION))])
        assert after == expected
        # The upgraded schema is exactly what the models describe.
        with catalog.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
        # And it works: the fixture's runs read back through today's code.
        runs = catalog.get_runs([r[0] for r in before["runs"]])
        assert sorted(r.status for r in runs) == ["failed", "finished", "finished", "finished"]
        process = next(r for r in runs if r.step == "process")
        assert process.params == {"fill": "mean"} and process.tags == {"owner": "ana"}
        assert catalog.metric_history(process.id, "loss")[-1][0] == 0.25
        assert [o.kind for o in catalog.outputs(process.id)] == ["folder"]
        assert [i.name for i in catalog.inputs(process.id)] == ["data"]
        catalog.start_run("load", "table", "new")  # and new runs record next to the old


def test_db_upgrade_command_says_what_it_did(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    shutil.copy(FIXTURE, path)
    url = f"sqlite:///{path}"
    status = invoke("--catalog", url, "db", "status")
    assert status.exit_code == 0, status.output
    assert "revision  0001\n" in status.stdout
    assert "current   no: run `lineage db upgrade`" in status.stdout
    result = invoke("--catalog", url, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"catalog schema upgraded from revision 0001 to {schema.HEAD}\n"
    again = invoke("--catalog", url, "db", "upgrade")
    assert again.stdout == f"catalog schema is current (revision {schema.HEAD})\n"
    assert len(rows(url)["runs"]) == 4


def test_new_catalog_is_stamped_at_head_and_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with Catalog(url, create=True) as catalog:
        assert catalog.read(schema.revision_of) == schema.HEAD
        with catalog.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    # Opening it again (create or not) changes nothing.
    Catalog(url, create=True).close()
    Catalog(url).close()


def test_catalog_from_a_newer_lineage_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'future.db'}"
    Catalog(url, create=True).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()
    with pytest.raises(CatalogError, match=r"schema revision '0999'.*upgrade lineage"):
        Catalog(url)


def test_catalog_that_is_not_upgraded_on_open_asks_for_db_upgrade(tmp_path: Path) -> None:
    # What a shared (server) catalog does by default, asked of a SQLite file explicitly.
    path = tmp_path / "catalog.db"
    shutil.copy(FIXTURE, path)
    url = f"sqlite:///{path}"
    with pytest.raises(
        CatalogError,
        match=rf"has schema revision 0001, this version of lineage needs {schema.HEAD}: "
        r"back it up, "
        r"then run `lineage db upgrade`",
    ):
        Catalog(url, auto_upgrade=False)
    assert rows(url) == fixture_rows()  # nothing changed
    upgrade_schema(url)
    Catalog(url, auto_upgrade=False).close()
