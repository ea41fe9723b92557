"""Open the catalog's database and run work in short transactions, retried while it is busy.

On SQLite every connection gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` for writes, so
concurrent writers queue instead of failing with "database is locked". Database errors become
one-line ``CatalogError`` messages, with any password masked.
"""

from __future__ import annotations

import os
import random
import threading
import time as _time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from lineage.catalog.sql import T
from lineage.errors import CatalogError, CatalogUnreadable
from lineage.urls import mask_url, shown_url


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_path(url: str) -> str | None:
    parsed = sa.engine.make_url(url)
    database = parsed.database
    if not database or database == ":memory:":
        return None
    return database


class Connected:
    """A catalog database at one SQLAlchemy URL, and the transactions every query runs in."""

    def __init__(self, url: str, *, create: bool = False, auto_upgrade: bool | None = None) -> None:
        """Open the database at ``url`` (``create``: a missing SQLite file may be made)."""
        self.url = url
        self.masked_url = shown_url(url)
        self.is_sqlite = _is_sqlite(url)
        self.auto_upgrade = self.is_sqlite if auto_upgrade is None else auto_upgrade
        if self.is_sqlite:
            path = _sqlite_path(url)
            if path and not os.path.exists(path):
                if not create:
                    raise CatalogError(
                        f"no catalog at {self.masked_url}: run `lineage init` in the project folder"
                    )
                try:
                    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                except OSError as error:
                    raise CatalogError(
                        f"cannot create catalog {self.masked_url}: {error.strerror}"
                    ) from None
        self.engine = self._make_engine()
        # Per thread, since `resolve --jobs N` decides steps in several threads at once.
        self._local = threading.local()

    def _make_engine(self) -> Engine:
        try:
            if self.is_sqlite:
                engine = sa.create_engine(self.url, connect_args={"timeout": 30})
                _configure_sqlite(engine)
            else:
                # A server that does not answer fails the command in seconds, not minutes. No
                # pre-ping: it costs a round trip per transaction (measured: SDK logging 133 ->
                # 160-270 runs/s); a connection the server dropped is retried in _transact.
                engine = sa.create_engine(self.url, connect_args=_connect_args(self.url))
        except (ImportError, SQLAlchemyError, ValueError) as error:
            raise CatalogError(f"cannot open catalog {self.masked_url}: {_reason(error)}") from None
        return engine

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                if write:
                    conn = conn.execution_options(lineage_write=True)
                with conn.begin():
                    yield conn
        except DBAPIError as error:
            raise self._error("read", error) from None

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction, retrying with backoff while the DB is busy."""
        return self._transact(work, write=True)

    def _transact(self, work: Callable[[Connection], T], *, write: bool) -> T:
        # SQLite's busy timeout covers most waits, but a lock can still be refused at once (a
        # WAL recovery, a checkpoint); PostgreSQL aborts one side of a deadlock or a
        # serialization conflict. Both are safe to retry because ``work`` runs in a transaction
        # that was rolled back. Anything else is reported at once.
        delay = 0.02
        attempts = 14
        reconnected = False
        for attempt in range(attempts):
            try:
                with self.engine.connect() as raw:
                    conn = raw.execution_options(lineage_write=True) if write else raw
                    with conn.begin():
                        return work(conn)
            except DBAPIError as error:
                if error.connection_invalidated and not reconnected:
                    # A pooled connection the server closed (restart, idle timeout): the pool
                    # has dropped it; try once more on a fresh one.
                    reconnected = True
                    continue
                if not _is_busy(error) or attempt == attempts - 1:
                    raise self._error("write to" if write else "read", error) from None
            _time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    def _read(self, work: Callable[[Connection], T]) -> T:
        pinned = getattr(self._local, "conn", None)
        if pinned is not None:
            return work(pinned)
        return self._transact(work, write=False)

    def _error(self, verb: str, error: DBAPIError) -> CatalogError:
        reason = _reason(error)
        if _is_missing_schema(error):
            return CatalogError(
                f"catalog {self.masked_url} has no lineage tables ({reason}): run `lineage init` "
                "with this catalog URL"
            )
        if verb != "read":
            return CatalogError(f"cannot {verb} catalog {self.masked_url}: {reason}")
        # Not only OperationalError: a file that is not a database ("file is not a database")
        # is a DatabaseError, and must read as one line, not an internal error.
        return CatalogUnreadable(
            f"cannot read catalog {self.masked_url}: {reason}", is_file=self.is_sqlite
        )

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Serve every read in the block from one connection and one consistent snapshot.

        The resolver decides a step with a handful of small queries; sharing one transaction
        saves a pool checkout and a BEGIN/COMMIT per query. Never hold it across a launch.
        """
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self._connect() as conn:
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one read transaction."""
        return self._read(work)

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction (SQLite: other writers wait for it)."""
        return self._write(work)


def _configure_sqlite(engine: Engine) -> None:
    driver_errors = engine.dialect.loaded_dbapi.Error

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        # Take transaction control away from the driver so BEGIN IMMEDIATE is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        # A write that starts as a read and upgrades its lock can fail at once with "database
        # is locked"; taking the write lock up front makes it wait its turn instead.
        # Straight to the driver: SQLAlchemy's execute machinery for a bare BEGIN was a quarter
        # of an empty transaction's CPU (benchmarks/bench_logging.py, bench_search.py). Errors
        # raised in this event escape SQLAlchemy's wrapping, so wrap them as it would: a busy
        # database must still reach _write's retry as an OperationalError.
        write = conn.get_execution_options().get("lineage_write")
        statement = "BEGIN IMMEDIATE" if write else "BEGIN"
        driver: Any = conn.connection.driver_connection
        try:
            driver.execute(statement)
        except driver_errors as error:
            raise DBAPIError.instance(statement, None, error, driver_errors) from None


# PostgreSQL's SQLSTATEs for "try again": serialization failure, deadlock, lock not available.
_RETRY_SQLSTATES = {"40001", "40P01", "55P03"}


def _is_busy(error: DBAPIError) -> bool:
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    if not isinstance(error, OperationalError):
        return False
    text = str(orig if orig is not None else error).lower()
    return "locked" in text or "busy" in text or "deadlock" in text or "could not serialize" in text


def _is_missing_schema(error: DBAPIError) -> bool:
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlstate", None) == "42P01":  # undefined_table
        return True
    return "no such table" in str(orig if orig is not None else error).lower()


def _connect_args(url: str) -> dict[str, Any]:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        return {"connect_timeout": 10}
    return {}


def _reason(error: BaseException) -> str:
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip().splitlines()
    return mask_url(text[0]) if text else type(error).__name__
