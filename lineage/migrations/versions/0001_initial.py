"""The first schema: runs, params, metrics, tags, artifacts, edges and lineage_meta.

Exactly what lineage 0.1.0 (commit 5d1978b) made with ``create_all``: a catalog of that version
has these tables and no ``alembic_version``; lineage.schema stamps it 0001 and upgrades it.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id(name: str = "id") -> sa.Column:
    return sa.Column(name, sa.String(32), nullable=False)


def upgrade() -> None:
    op.create_table(
        "runs",
        _id(),
        sa.Column("step", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", sa.String(1000), nullable=False),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("params_hash", sa.String(80), nullable=True),
        sa.Column("code_hash", sa.String(80), nullable=True),
        sa.Column("git_commit", sa.String(64), nullable=True),
        sa.Column("git_dirty", sa.Boolean(), nullable=True),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("user", sa.String(255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_runs_identity", "runs", ["step", "value", "time"])
    op.create_index("ix_runs_status", "runs", ["status", "time"])
    op.create_index("ix_runs_time", "runs", ["time"])
    op.create_table(
        "artifacts",
        sa.Column("hash", sa.String(80), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("format", sa.String(32), nullable=True),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("schema", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("hash"),
    )
    op.create_table(
        "lineage_meta",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", sa.String(1000), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    for table in ("params", "tags"):
        op.create_table(
            table,
            _id("run_id"),
            sa.Column("name", sa.String(250), nullable=False),
            sa.Column("value", sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
            sa.PrimaryKeyConstraint("run_id", "name"),
        )
    op.create_table(
        "metrics",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        _id("run_id"),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_metrics_run_name", "metrics", ["run_id", "name"])
    op.create_table(
        "outputs",
        _id("run_id"),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("hash", sa.String(80), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.ForeignKeyConstraint(["hash"], ["artifacts.hash"]),
        sa.PrimaryKeyConstraint("run_id", "name"),
    )
    op.create_index("ix_outputs_hash", "outputs", ["hash"])
    op.create_table(
        "inputs",
        _id("run_id"),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("hash", sa.String(80), nullable=False),
        sa.Column("source_run_id", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.ForeignKeyConstraint(["hash"], ["artifacts.hash"]),
        sa.PrimaryKeyConstraint("run_id", "name"),
    )
    op.create_index("ix_inputs_hash", "inputs", ["hash"])
    op.create_table(
        "upstream",
        _id("run_id"),
        _id("upstream_id"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.ForeignKeyConstraint(["upstream_id"], ["runs.id"]),
        sa.PrimaryKeyConstraint("run_id", "upstream_id"),
    )
    op.create_index("ix_upstream_upstream", "upstream", ["upstream_id"])
    op.execute(sa.text("INSERT INTO lineage_meta (name, value) VALUES ('schema_version', '1')"))


def downgrade() -> None:
    for table in (
        "upstream",
        "inputs",
        "outputs",
        "metrics",
        "tags",
        "params",
        "lineage_meta",
        "artifacts",
        "runs",
    ):
        op.drop_table(table)
