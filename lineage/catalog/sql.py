"""The catalog's tables as Core objects, and the SQL helpers every part of the catalog uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lineage import models

T = TypeVar("T")

# SQLModel sets __table__ on each table class when it is made; its stubs do not say so.
RUNS: sa.Table = models.Run.__table__  # type: ignore[attr-defined]
PARAMS: sa.Table = models.Param.__table__  # type: ignore[attr-defined]
METRICS: sa.Table = models.Metric.__table__  # type: ignore[attr-defined]
TAGS: sa.Table = models.Tag.__table__  # type: ignore[attr-defined]
ARTIFACTS: sa.Table = models.Artifact.__table__  # type: ignore[attr-defined]
OUTPUTS: sa.Table = models.Output.__table__  # type: ignore[attr-defined]
INPUTS: sa.Table = models.Input.__table__  # type: ignore[attr-defined]
UPSTREAM: sa.Table = models.Upstream.__table__  # type: ignore[attr-defined]
META: sa.Table = models.Meta.__table__  # type: ignore[attr-defined]
CLAIMS: sa.Table = models.Claim.__table__  # type: ignore[attr-defined]
# The run an edge points at; built once, since building an alias's columns is not free.
SOURCE = RUNS.alias("source")


def insert_ignore(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> int:
    """Insert rows, skipping those whose primary key exists: one atomic statement.

    Returns how many rows went in (exact for one row, which is how a claim is taken).
    """
    if not rows:
        return 0
    name = conn.dialect.name
    insert: Callable[[sa.Table], Any]
    if name == "postgresql":
        from sqlalchemy.dialects import postgresql

        insert = postgresql.insert
    elif name == "sqlite":
        from sqlalchemy.dialects import sqlite

        insert = sqlite.insert
    else:  # other databases: check, then insert (not atomic, but correct in one process)
        keys = [c.name for c in table.primary_key.columns]
        inserted = 0
        for row in rows:
            found = conn.execute(
                sa.select(*table.primary_key.columns).where(*[table.c[k] == row[k] for k in keys])
            ).first()
            if found is None:
                inserted += conn.execute(table.insert(), row).rowcount
        return inserted
    if len(rows) == 1:
        # RETURNING, not rowcount: psycopg reports -1 for this statement.
        key = next(iter(table.primary_key.columns))
        statement = insert(table).values(**rows[0]).on_conflict_do_nothing().returning(key)
        return len(conn.execute(statement).all())
    return conn.execute(insert(table).on_conflict_do_nothing(), rows).rowcount


_HEX_NEXT = {c: n for c, n in zip("0123456789abcdef", "123456789abcdefg", strict=True)}


def prefix_range(column: Any, prefix: str) -> list[Any]:
    """Return conditions selecting values that start with ``prefix``, as an index range.

    The upper bound bumps the last character to the next letter or digit (never a control
    character), so the range holds under any collation, and the LIKE keeps it exact there too.
    """
    last = prefix[-1:] if prefix else ""
    upper = prefix[:-1] + _HEX_NEXT[last] if last in _HEX_NEXT else prefix + "\x7f"
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return [column >= prefix, column < upper, column.like(escaped + "%", escape="\\")]


def chunks(items: list[T], size: int) -> Iterator[list[T]]:
    """Yield ``items`` in slices of ``size``: an IN list stays under every driver's limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
