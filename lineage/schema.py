"""The catalog's schema revision: check it on open, upgrade it in place with Alembic.

A new catalog is made from the models and stamped with the head revision (no migration runs,
so ``lineage init`` stays fast). An existing one is checked with one query on open: at head, it
is used as is; behind, a SQLite catalog (one project's own file) is upgraded in place at once,
and a shared server catalog asks for ``lineage db upgrade`` so that one person decides when
everyone's schema changes. A catalog from before Alembic (lineage 0.1.0) has no
``alembic_version`` table: its ``lineage_meta.schema_version`` of 1 means revision 0001.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lineage.errors import CatalogError

HEAD = "0004"
# lineage_meta.schema_version of catalogs made before Alembic -> their revision.
LEGACY_REVISIONS = {"1": "0001"}
VERSION_TABLE = "alembic_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

_version = sa.Table(
    VERSION_TABLE,
    sa.MetaData(),
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def revision_of(conn: Connection) -> str | None:
    """Return the schema revision of the catalog on ``conn``; None when it holds no catalog."""
    inspector = sa.inspect(conn)
    if inspector.has_table(VERSION_TABLE):
        return conn.execute(sa.select(_version.c.version_num)).scalar()
    if inspector.has_table("lineage_meta"):
        value = conn.execute(
            sa.text("SELECT value FROM lineage_meta WHERE name = 'schema_version'")
        ).scalar()
        return LEGACY_REVISIONS.get(str(value), f"schema_version {value}")
    return None


def create(conn: Connection) -> None:
    """Make a fresh catalog from the models and stamp it with the head revision."""
    from sqlmodel import SQLModel

    from lineage import models

    SQLModel.metadata.create_all(conn)
    _version.create(conn, checkfirst=True)
    conn.execute(_version.delete())
    conn.execute(_version.insert().values(version_num=HEAD))
    meta = models.Meta.__table__  # type: ignore[attr-defined]  # set by SQLModel
    conn.execute(meta.delete().where(meta.c.name == "schema_version"))
    conn.execute(meta.insert().values(name="schema_version", value=str(models.SCHEMA_VERSION)))


def migrate(conn: Connection, target: str = HEAD) -> tuple[str | None, str]:
    """Upgrade the catalog on ``conn`` to ``target`` inside the caller's transaction."""
    before = revision_of(conn)
    if before is None:
        raise CatalogError("no catalog tables here: run `lineage init` to create the catalog")
    if before == target:
        return before, target
    check_known(before)
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        command.stamp(config, before)
    command.upgrade(config, target)
    return before, target


def check_known(revision: str) -> None:
    """Refuse a revision this version of lineage does not know (a newer lineage made it)."""
    known = _known_revisions()
    if revision not in known:
        raise CatalogError(
            f"the catalog has schema revision {revision!r}, which this version of lineage does "
            f"not know (it knows up to {HEAD}): upgrade lineage (pip install -U lineage-catalog)"
        )


def _known_revisions() -> set[str]:
    return {p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py")}
