"""Runs in the order they started: ``ix_runs_started`` on (started_at, id).

``lineage export openlineage`` writes events sorted by event time and streams in constant
memory: it reads runs a page at a time in (started_at, id) order, each page one index range.
Without the index every page sorted the whole runs table.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_started", "runs", ["started_at", "id"])
    op.execute(sa.text("UPDATE lineage_meta SET value = '4' WHERE name = 'schema_version'"))


def downgrade() -> None:
    op.drop_index("ix_runs_started", table_name="runs")
    op.execute(sa.text("UPDATE lineage_meta SET value = '3' WHERE name = 'schema_version'"))
