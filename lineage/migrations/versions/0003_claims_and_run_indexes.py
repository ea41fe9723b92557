"""Claims for concurrent resolves; run indexes that keep a no-op resolve an index seek.

* ``claims``: one row per launch a resolver is making, so a second resolver waits for it
  instead of launching the same step again.
* ``ix_runs_identity`` now covers (step, value, status, time, id): "newest finished run of
  (step, value)" is one seek with the order the catalog sorts by. ``ix_runs_status`` goes: the
  planner preferred it and scanned every finished run.
* ``ix_runs_running``: a partial index of the runs still running, for the reaper.
* ``ix_runs_key_value``: ``lineage runs --table transactions`` seeds its walk on (key, value).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("key", sa.String(length=80), primary_key=True),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("label", sa.String(length=1200), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
    )
    op.drop_index("ix_runs_identity", table_name="runs")
    op.drop_index("ix_runs_status", table_name="runs")
    op.create_index("ix_runs_identity", "runs", ["step", "value", "status", "time", "id"])
    op.create_index("ix_runs_key_value", "runs", ["key", "value", "time"])
    running = sa.text("status = 'running'")
    op.create_index(
        "ix_runs_running", "runs", ["status"], sqlite_where=running, postgresql_where=running
    )
    op.execute(sa.text("UPDATE lineage_meta SET value = '3' WHERE name = 'schema_version'"))


def downgrade() -> None:
    op.drop_index("ix_runs_running", table_name="runs")
    op.drop_index("ix_runs_key_value", table_name="runs")
    op.drop_index("ix_runs_identity", table_name="runs")
    op.create_index("ix_runs_status", "runs", ["status", "time"])
    op.create_index("ix_runs_identity", "runs", ["step", "value", "time"])
    op.drop_table("claims")
    op.execute(sa.text("UPDATE lineage_meta SET value = '2' WHERE name = 'schema_version'"))
