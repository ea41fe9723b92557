"""Index inputs by the run they were taken from.

``lineage rm`` asks "which runs consumed this run's outputs?" (inputs.source_run_id): without
the index that is a scan of every input edge, once per run in a cascade.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_inputs_source", "inputs", ["source_run_id"])
    op.execute(sa.text("UPDATE lineage_meta SET value = '2' WHERE name = 'schema_version'"))


def downgrade() -> None:
    op.drop_index("ix_inputs_source", table_name="inputs")
    op.execute(sa.text("UPDATE lineage_meta SET value = '1' WHERE name = 'schema_version'"))
