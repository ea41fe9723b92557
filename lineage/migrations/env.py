"""Alembic environment: run migrations on the connection lineage hands over.

lineage runs Alembic from code (lineage/schema.py), inside its own write transaction, so this
environment never opens a connection of its own and needs no alembic.ini.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from lineage import models  # noqa: F401 (registers the tables on SQLModel.metadata)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run lineage migrations through lineage.schema, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    # SQLite cannot ALTER most things: batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
