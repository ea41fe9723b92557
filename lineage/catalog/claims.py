"""Claim rows: which process is launching what, so two resolvers launch a step once."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lineage import times
from lineage.catalog.connection import Connected
from lineage.catalog.records import ClaimRecord
from lineage.catalog.sql import CLAIMS, insert_ignore


class ClaimRows(Connected):
    """Taking, reading, refreshing and releasing claims (see lineage.claims for the protocol)."""

    def claim(self, key: str, label: str, host: str, pid: int) -> bool:
        """Take the claim ``key`` for this process; return False when another holds it."""
        now = times.now()
        row = {
            "key": key,
            "label": label,
            "host": host,
            "pid": pid,
            "created_at": now,
            "heartbeat_at": now,
        }

        def work(conn: Connection) -> bool:
            return insert_ignore(conn, CLAIMS, [row]) == 1

        return self._write(work)

    def get_claim(self, key: str) -> ClaimRecord | None:
        """Return the claim ``key``, or None when nobody holds it."""
        query = sa.select(CLAIMS).where(CLAIMS.c.key == key)
        row = self._read(lambda conn: conn.execute(query).mappings().first())
        return cast(ClaimRecord, dict(row)) if row else None

    def update_claim(self, key: str, *, run_id: str | None = None) -> None:
        """Refresh a claim's heartbeat (and record the run it launched)."""
        values: dict[str, Any] = {"heartbeat_at": times.now()}
        if run_id is not None:
            values["run_id"] = run_id
        self._write(
            lambda conn: conn.execute(CLAIMS.update().where(CLAIMS.c.key == key).values(**values))
        )

    def release_claim(self, key: str, host: str, pid: int) -> bool:
        """Drop the claim ``key`` if this holder still has it; return whether it did."""

        def work(conn: Connection) -> bool:
            done = conn.execute(
                CLAIMS.delete().where(
                    CLAIMS.c.key == key, CLAIMS.c.host == host, CLAIMS.c.pid == pid
                )
            )
            return done.rowcount == 1

        return self._write(work)
