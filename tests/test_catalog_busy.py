"""A write that meets a locked SQLite catalog waits its turn instead of failing."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from lineage.catalog import Catalog


def test_write_retries_while_another_process_holds_the_lock(tmp_path: Path) -> None:
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
